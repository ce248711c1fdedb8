using System.Diagnostics;
using System.Globalization;
using Wendelin.Arrays;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;

namespace Wendelin.Benchmarks;

/// <summary>
/// shared/benchmarks.md workload 3: an 8-byte change at a random index of a float64 ZBigArray, then a commit with
/// fsync, 1,000 times per run and variant (block format × durability mode: the default two fsyncs, FS-D2/FS-D3, or the
/// opt-in FsyncAtVote = false, FS-D5), against 4 KiB append + fdatasync of a
/// plain file in the same run. The variants run interleaved in slices (raw, then each variant, slice after slice),
/// so the drift of this shared machine hits all of them alike; each run gives a rate ratio per variant, and the
/// report is the median of the runs with min and max, plus bytes appended per commit.
/// </summary>
internal static class ZodbCommitBenchmark
{
    [Benchmark("zodb-commit", "workload 3: 8-byte change + commit with fsync, 1,000 times per format, vs 4 KiB append + fdatasync")]
    public static int Run(BenchArgs args)
    {
        int commits = args.Int("commits", 1000);
        int runs = Math.Max(3, args.Runs);
        int slice = Math.Clamp(args.Int("slice", 100), 1, commits);
        long bytes = args.Long("mib", 128) << 20;
        string dir = args.Str("dir", Path.GetTempPath());
        bool fsync = args.Str("fsync", "yes") == "yes";
        var rnd = new Random(args.Int("seed", 1));
        ZBlkFormat[] formats = [.. args.Str("formats", "ZBlk0,ZBlk1,Auto").Split(',').Select(f => Enum.Parse<ZBlkFormat>(f, ignoreCase: true))];
        // The default durability (fsync at vote and finish, FS-D2/FS-D3) and, as a separate variant, the opt-in
        // FsyncAtVote = false (one fsync at finish, FS-D5); "--vote-fsync yes" measures only the default.
        bool[] voteFsync = [.. args.Str("vote-fsync", "yes,no").Split(',').Select(v => v == "yes")];
        if (!fsync)
        {
            voteFsync = [true];
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"array {bytes >> 20} MiB of float64 (full blocks); {runs} runs of {commits} commits per variant, interleaved in slices of {slice}; fsync {(fsync ? "yes" : "no (CPU cost only)")}"));

        var variants = new List<Variant>();
        foreach (bool atVote in voteFsync)
        {
            foreach (ZBlkFormat format in formats)
            {
                variants.Add(Variant.Open(dir, bytes, format, fsync, atVote, args.Long("budget-mib", 256) << 20));
            }
        }
        string rawPath = Path.Combine(dir, "wendelin-bench-append.raw");
        var rawRates = new double[runs];
        var rawAll = new List<double>();
        var rawCpu = new List<double>();
        // The I/O floor of the default durability: a ZBlk1 commit's 4,344 bytes appended + fdatasync, then the one
        // status byte overwritten + fdatasync (FS-D2, FS-D3), with no CPU work around them.
        string floorPath = Path.Combine(dir, "wendelin-bench-floor.raw");
        var floorRatios = new double[runs];
        var floorAll = new List<double>();
        try
        {
            for (int run = 0; run < runs; run++)
            {
                File.Delete(rawPath);
                File.Delete(floorPath);
                using var fs = new FileStream(rawPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
                using var floor = new FileStream(floorPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
                byte[] page = new byte[4096];
                byte[] txn = new byte[4344];
                long off = 0;
                long floorOff = 0;
                double rawSeconds = 0;
                double floorSeconds = 0;
                foreach (Variant v in variants)
                {
                    v.BeginRun();
                }
                for (int done = 0; done < commits; done += slice)
                {
                    int n = Math.Min(slice, commits - done);
                    for (int i = 0; i < n; i++)
                    {
                        double c0 = ThreadCpuSeconds();
                        long t0 = Stopwatch.GetTimestamp();
                        RandomAccess.Write(fs.SafeFileHandle, page, off);
                        off += page.Length;
                        if (fsync)
                        {
                            FileStorageBenchmarks.DataSync(fs.SafeFileHandle);
                        }
                        double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                        rawCpu.Add(ThreadCpuSeconds() - c0);
                        rawSeconds += s;
                        rawAll.Add(s);
                    }
                    for (int i = 0; fsync && i < n; i++)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        RandomAccess.Write(floor.SafeFileHandle, txn, floorOff);
                        FileStorageBenchmarks.DataSync(floor.SafeFileHandle);
                        RandomAccess.Write(floor.SafeFileHandle, txn.AsSpan(0, 1), floorOff + 16);
                        FileStorageBenchmarks.DataSync(floor.SafeFileHandle);
                        floorOff += txn.Length;
                        double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                        floorSeconds += s;
                        floorAll.Add(s);
                    }
                    // the variants take turns going first: a ZBlk0 slice leaves the disk busy writing back for
                    // whichever follows it
                    int first = done / slice % variants.Count;
                    for (int k = 0; k < variants.Count; k++)
                    {
                        variants[(first + k) % variants.Count].Commits(n, rnd);
                    }
                }
                rawRates[run] = commits / rawSeconds;
                floorRatios[run] = rawSeconds / floorSeconds;
                foreach (Variant v in variants)
                {
                    v.EndRun(rawRates[run]);
                }
            }
        }
        finally
        {
            File.Delete(rawPath);
            File.Delete(floorPath);
            foreach (Variant v in variants)
            {
                v.Dispose();
            }
        }

        string rawLine = ZodbBench.Percentiles(rawAll, out double rawP50);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{"4 KiB append + fdatasync",-34} {Median(rawRates),7:0} /s (min {rawRates.Min():0}, max {rawRates.Max():0}); {rawLine}; thread CPU p50 {Median([.. rawCpu]) * 1e6:0.0} µs"));
        if (fsync)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{"floor: 4,344 B append+fdatasync, 1 B overwrite+fdatasync",-34} {ZodbBench.Percentiles(floorAll, out double floorP50)}; p50 ratio {rawP50 / floorP50:0.000}x; rate ratio {Median(floorRatios):0.000}x (min {floorRatios.Min():0.000}, max {floorRatios.Max():0.000})"));
        }
        foreach (Variant v in variants)
        {
            Console.WriteLine(v.Report(rawP50));
        }
        return 0;
    }

    /// <summary>CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID): what a commit costs, whoever else runs on the machine.</summary>
    private static double ThreadCpuSeconds()
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(3, out TimeSpec t) != 0)
        {
            return 0;
        }
        return t.Seconds + t.Nanoseconds * 1e-9;
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private static double Median(double[] values)
    {
        double[] s = [.. values.Order()];
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>One block format and durability mode: its own database, opened once for all runs.</summary>
    private sealed class Variant : IDisposable
    {
        private readonly string _name;
        private readonly string _path;
        private readonly Database _db;
        private readonly Connection _conn;
        private readonly ZBigArray _array;
        private readonly List<double> _all = [];
        private readonly List<double> _rates = [];
        private readonly List<double> _ratios = [];
        private double _runSeconds;
        private readonly List<double> _cpu = [];
        private readonly List<double> _allocated = [];
        private int _runCommits;
        private long _runStartSize;
        private long _grown;
        private long _committed;
        private long _value;

        private Variant(string name, string path, Database db)
        {
            _name = name;
            _path = path;
            _db = db;
            _conn = db.Open();
            _array = _conn.Root.Get<ZBigArray>("a");
        }

        public static Variant Open(string dir, long bytes, ZBlkFormat format, bool fsync, bool fsyncAtVote, long budget)
        {
            string src = ZodbBench.EnsureArrayDb(dir, bytes, format == ZBlkFormat.Auto ? ZBlkFormat.ZBlk1 : format);
            string mode = !fsync ? "" : fsyncAtVote ? ", 2 fsyncs" : ", finish fsync";
            string path = Path.Combine(dir, $"wendelin-bench-commit-{format}{(fsyncAtVote ? "" : "-finish")}.fs");
            File.Copy(src, path, overwrite: true);
            File.Delete(path + ".index");
            var db = new Database(FileStorage.Open(path, new FileStorageOptions { Fsync = fsync, FsyncAtVote = fsyncAtVote }));
            var v = new Variant($"8 B + commit, {format}{mode}", path, db);
            v._array.BlockFormat = format;
            v._array.HandleOptions = new FileHandleOptions { RamBudget = budget };
            return v;
        }

        public void BeginRun()
        {
            _runSeconds = 0;
            _runCommits = 0;
            _runStartSize = new FileInfo(_path).Length;
        }

        public void Commits(int n, Random rnd)
        {
            long items = _array.Size;
            for (int i = 0; i < n; i++)
            {
                long index = rnd.NextInt64(items);
                double value = -++_value;
                double c0 = ThreadCpuSeconds();
                long a0 = GC.GetAllocatedBytesForCurrentThread();
                long t0 = Stopwatch.GetTimestamp();
                _array.SetItem(value, index);
                _conn.TransactionManager.Commit();
                double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                _allocated.Add(GC.GetAllocatedBytesForCurrentThread() - a0);
                _cpu.Add(ThreadCpuSeconds() - c0);
                _runSeconds += s;
                _all.Add(s);
            }
            _runCommits += n;
        }

        public void EndRun(double rawRate)
        {
            double rate = _runCommits / _runSeconds;
            _rates.Add(rate);
            _ratios.Add(rate / rawRate);
            _grown += new FileInfo(_path).Length - _runStartSize;
            _committed += _runCommits;
        }

        /// <summary>The figures; besides the rate ratio (the goal's measure), the p50 latency ratio, which the other users of this shared disk disturb less.</summary>
        public string Report(double rawP50)
        {
            string line = ZodbBench.Percentiles(_all, out double p50);
            double[] rates = [.. _rates];
            double[] ratios = [.. _ratios];
            return string.Create(CultureInfo.InvariantCulture,
                $"{_name,-34} {Median(rates),7:0} /s (min {rates.Min():0}, max {rates.Max():0}); {line}; thread CPU p50 {Median([.. _cpu]) * 1e6:0.0} µs; allocated p50 {Median([.. _allocated]):N0} B; {_grown / _committed:N0} bytes per commit; p50 ratio {rawP50 / p50:0.000}x; "
                + $"rate ratio {Median(ratios):0.000}x (min {ratios.Min():0.000}, max {ratios.Max():0.000})");
        }

        public void Dispose()
        {
            _array.ReleaseItemCache();
            _conn.Dispose();
            _db.Dispose();
            File.Delete(_path);
            File.Delete(_path + ".index");
        }
    }
}
