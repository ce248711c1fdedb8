using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Wendelin.Arrays;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;

namespace Wendelin.Benchmarks;

/// <summary>
/// shared/benchmarks.md workload 8: write a fresh float64 ZBigArray (ZBlk0, 2 MiB blocks) of 8 GiB (--gib) in
/// commits of 1 GiB (--commit-mib), appending 8 MiB pieces, each commit with fsync, under a RAM budget of 1 GiB
/// (--budget-mib; dirty pages beyond it spill to the scratch file, spec/bigfile.md); against a sequential write of
/// the same bytes to a plain file with an fsync after every 1 GiB, interleaved in the same run. Both files are
/// deleted between runs, untimed.
/// </summary>
internal static class ZodbWriteBenchmark
{
    private const int PieceBytes = 8 << 20;

    [Benchmark("zodb-write", "workload 8: write a fresh 8 GiB float64 ZBigArray in 8 commits of 1 GiB (--gib, --commit-mib, --budget-mib, --format) vs sequential write + fsync")]
    public static int Run(BenchArgs args)
    {
        long bytes = args.Long("gib", 8) << 30;
        long perCommit = args.Long("commit-mib", 1024) << 20;
        long budget = args.Long("budget-mib", 1024) << 20;
        ZBlkFormat format = Enum.Parse<ZBlkFormat>(args.Str("format", "ZBlk0"));
        string dir = args.Str("dir", Path.GetTempPath());
        int runs = args.Runs;
        var piece = new double[PieceBytes / 8];
        for (int i = 0; i < piece.Length; i++)
        {
            piece[i] = ZodbBench.Value(i);
        }
        string db = Path.Combine(dir, "wendelin-bench-write.fs");
        string raw = Path.Combine(dir, "wendelin-bench-write.raw");
        long dbBytes = 0, peak = 0, spilled = 0;
        var appendSeconds = new List<double>();
        var commitSeconds = new List<double>();
        var appendCpuSeconds = new List<double>();
        var commitCpuSeconds = new List<double>();
        var rawCpuSeconds = new List<double>();
        bool reset = false;
        void Cleanup()
        {
            File.Delete(db);
            File.Delete(db + ".index");
            File.Delete(db + ".lock");
            File.Delete(db + ".tmp");
            File.Delete(raw);
        }

        void Ours()
        {
            reset = ZodbBench.ResetPeak();
            using (var d = new Database(FileStorage.Open(db, new FileStorageOptions { Create = true })))
            {
                Connection c = d.Open();
                var a = new ZBigArray([0], DType.Float64) { BlockFormat = format, HandleOptions = new FileHandleOptions { RamBudget = budget, ScratchDirectory = dir } };
                c.Root["a"] = a;
                c.TransactionManager.Commit();
                long written = 0;
                double appending = 0, committing = 0, appendCpu = 0, commitCpu = 0;
                long t0 = Stopwatch.GetTimestamp();
                TimeSpan cpu0 = Environment.CpuUsage.TotalTime;
                while (written < bytes)
                {
                    a.Append<double>(piece);
                    written += PieceBytes;
                    if (written % perCommit == 0 || written >= bytes)
                    {
                        spilled = Math.Max(spilled, a.FileHandle.GetStatistics().SpilledBytes);
                        appending += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                        appendCpu += (Environment.CpuUsage.TotalTime - cpu0).TotalSeconds;
                        t0 = Stopwatch.GetTimestamp();
                        cpu0 = Environment.CpuUsage.TotalTime;
                        c.TransactionManager.Commit();
                        committing += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                        commitCpu += (Environment.CpuUsage.TotalTime - cpu0).TotalSeconds;
                        t0 = Stopwatch.GetTimestamp();
                        cpu0 = Environment.CpuUsage.TotalTime;
                    }
                }
                appendSeconds.Add(appending);
                commitSeconds.Add(committing);
                appendCpuSeconds.Add(appendCpu);
                commitCpuSeconds.Add(commitCpu);
                c.Dispose();
            }
            peak = Math.Max(peak, ZodbBench.Status("VmHWM:"));
            dbBytes = new FileInfo(db).Length;
        }

        void Raw()
        {
            TimeSpan rawCpu0 = Environment.CpuUsage.TotalTime;
            ReadOnlySpan<byte> data = MemoryMarshal.AsBytes(piece.AsSpan());
            using (var fs = new FileStream(raw, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
            {
                long off = 0;
                while (off < bytes)
                {
                    RandomAccess.Write(fs.SafeFileHandle, data, off);
                    off += data.Length;
                    if (off % perCommit == 0 || off >= bytes)
                    {
                        fs.Flush(flushToDisk: true);
                    }
                }
            }
            rawCpuSeconds.Add((Environment.CpuUsage.TotalTime - rawCpu0).TotalSeconds);
        }

        long idle = ZodbBench.Status("VmRSS:");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fresh float64 ZBigArray of {bytes >> 20} MiB ({format}, 2 MiB blocks), appended in 8 MiB pieces, a commit (fsync) every {perCommit >> 20} MiB, RAM budget {budget >> 20} MiB; {runs} runs interleaved"));
        Samples[] m = new Harness(runs).MeasureInterleaved([("ZBigArray append + commit", Ours), ("sequential write + fsync", Raw)], setup: Cleanup);
        Cleanup(); // the files are deleted outside the timed runs (unlinking a file of gigabytes takes a while)
        Harness.Report(m[0], m[1], bytes, "B");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"database {dbBytes / (double)bytes:0.0000}× the array's bytes; dirty bytes spilled before a commit: max {spilled >> 20} MiB; process memory: idle {idle >> 20} MiB, peak {peak >> 20} MiB (VmHWM reset: {reset})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"per run (wall / process CPU), appending into the page cache: {Pairs(appendSeconds, appendCpuSeconds)} s; committing: {Pairs(commitSeconds, commitCpuSeconds)} s; raw write + fsync CPU {Pairs(rawCpuSeconds, rawCpuSeconds)} s"));
        return 0;
    }

    private static string Pairs(List<double> wall, List<double> cpu) =>
        string.Join(", ", wall.Select((w, i) => string.Create(CultureInfo.InvariantCulture, $"{w:0.00}/{cpu[i]:0.00}")));
}
