using System.Diagnostics;
using System.Globalization;
using Wendelin.Arrays;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;

namespace Wendelin.Benchmarks;

/// <summary>
/// shared/benchmarks.md workload 4: append 64 KiB to a float64 ZBigArray and commit (with fsync), 200 times, to
/// arrays of 1, 8 and 32 GiB, against a raw append of the same 64 KiB + fdatasync of a plain file, interleaved in
/// the same run. An append must cost O(δ): the time per commit at 32 GiB should stay within 1.1× of the time at
/// 1 GiB and the bytes written within 1.1× of the appended bytes plus one block.
/// <para>
/// The big arrays are real: a ZBigFile whose LOBTree holds one ZBlk0 entry per 2 MiB block (16,384 for 32 GiB).
/// They are built cheaply, once, through the public API: every block gets one non-zero item (its first), so each
/// ZBlk0 record holds 8 bytes (trailing zeros are stripped, ZB-3) and the database stays a few MiB. Each run
/// appends to a fresh copy of that database. A second connection follows the array (its page cache open) and
/// moves to each new transaction, so the invalidation path is timed too ("follower sync").
/// </para>
/// </summary>
internal static class ZodbAppendScaleBenchmark
{
    private const int AppendBytes = 64 << 10;

    [Benchmark("zodb-append-scale", "workload 4: append 64 KiB + commit (fsync), 200 times, to ZBigArrays of 1, 8, 32 GiB (--sizes, --formats ZBlk0,ZBlk1,Auto) vs raw 64 KiB append + fdatasync")]
    public static int Run(BenchArgs args)
    {
        int commits = args.Int("commits", 200);
        int warmup = args.Int("warmup", 5);
        bool fsync = args.Str("fsync", "yes") == "yes";
        string dir = args.Str("dir", Path.GetTempPath());
        long[] sizes = [.. args.Str("sizes", "1,8,32").Split(',').Select(s => long.Parse(s, CultureInfo.InvariantCulture))];
        ZBlkFormat[] formats = [.. args.Str("formats", "ZBlk0").Split(',').Select(Enum.Parse<ZBlkFormat>)];
        int runs = Math.Max(3, args.Runs);
        var bases = new Dictionary<long, string>();
        foreach (long gib in sizes)
        {
            bases[gib] = EnsureSparseDb(dir, gib);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{commits} × (append 64 KiB of float64 + commit, fsync {fsync}) after {warmup} untimed; arrays of {string.Join(", ", sizes)} GiB (one 8-byte ZBlk0 record per 2 MiB block); {runs} runs interleaved"));

        var items = new List<(string Name, Func<Result> Run)> { ("raw 64 KiB append + fdatasync", () => Raw(dir, commits, fsync)) };
        foreach (ZBlkFormat format in formats)
        {
            foreach (long gib in sizes)
            {
                long g = gib;
                items.Add(($"{format} {gib} GiB", () => Append(dir, bases[g], format, commits, warmup, fsync)));
            }
        }
        var results = new List<Result>[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            results[i] = [];
        }
        for (int r = 0; r < runs; r++)
        {
            for (int k = 0; k < items.Count; k++)
            {
                int i = (r + k) % items.Count; // rotate: no item always runs first
                results[i].Add(items[i].Run());
            }
        }

        double rawMs = Median(results[0].Select(x => x.Seconds)) * 1e3 / commits;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{items[0].Name,-30} {rawMs,7:0.000} ms/commit (min {results[0].Min(x => x.Seconds) * 1e3 / commits:0.000}, max {results[0].Max(x => x.Seconds) * 1e3 / commits:0.000}); {AppendBytes:N0} bytes per commit"));
        for (int i = 1; i < items.Count; i++)
        {
            List<Result> rs = results[i];
            double ms = Median(rs.Select(x => x.Seconds)) * 1e3 / commits;
            int first = 1 + ((i - 1) / sizes.Length * sizes.Length);
            double ms1 = Median(results[first].Select(x => x.Seconds)) * 1e3 / commits;
            double bytes = Median(rs.Select(x => (double)x.Bytes)) / commits;
            double follow = Median(rs.Select(x => x.FollowerSeconds)) * 1e3 / commits;
            double p50 = Median(rs.Select(x => x.P50)) * 1e3;
            double p50First = Median(results[first].Select(x => x.P50)) * 1e3;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{items[i].Name,-30} {ms,7:0.000} ms/commit (min {rs.Min(x => x.Seconds) * 1e3 / commits:0.000}, max {rs.Max(x => x.Seconds) * 1e3 / commits:0.000}, p50 {p50:0.000}); rate ratio to raw {rawMs / ms:0.000}x; time / smallest size {ms / ms1:0.000}x (p50 {p50 / p50First:0.000}x); {bytes:N0} bytes per commit ({bytes / (AppendBytes + ZBigFile.DefaultBlockSize):0.000} of appended + one block); follower sync {follow:0.000} ms; gen-2 GCs {Median(rs.Select(x => (double)x.Gen2)):0}, GC pauses {Median(rs.Select(x => x.GcPause)) * 1e3 / commits:0.000} ms/commit"));
        }
        foreach (string b in bases.Values)
        {
            if (args.Str("keep", "no") != "yes")
            {
                File.Delete(b);
                File.Delete(b + ".index");
                File.Delete(b + ".lock");
            }
        }
        return 0;
    }

    private sealed record Result(double Seconds, long Bytes, double FollowerSeconds, double P50, int Gen2 = 0, double GcPause = 0);

    private static double Median(IEnumerable<double> values)
    {
        double[] s = [.. values.Order()];
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static Result Raw(string dir, int commits, bool fsync)
    {
        string path = Path.Combine(dir, "wendelin-bench-append-scale.raw");
        File.Delete(path);
        byte[] data = new byte[AppendBytes];
        data.AsSpan().Fill(0x3f);
        var times = new List<double>(commits);
        long t = Stopwatch.GetTimestamp();
        using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
        {
            long off = 0;
            for (int i = 0; i < commits; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                RandomAccess.Write(fs.SafeFileHandle, data, off);
                off += data.Length;
                if (fsync)
                {
                    fs.Flush(flushToDisk: true);
                }
                times.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
        }
        double seconds = Stopwatch.GetElapsedTime(t).TotalSeconds;
        File.Delete(path);
        return new Result(seconds, (long)AppendBytes * commits, 0, Median(times));
    }

    private static Result Append(string dir, string source, ZBlkFormat format, int commits, int warmup, bool fsync)
    {
        string path = Path.Combine(dir, "wendelin-bench-append-scale.fs");
        File.Copy(source, path, overwrite: true);
        File.Copy(source + ".index", path + ".index", overwrite: true);
        try
        {
            using var db = new Database(FileStorage.Open(path, new FileStorageOptions { Fsync = fsync }));
            Connection c = db.Open();
            var a = c.Root.Get<ZBigArray>("a");
            a.BlockFormat = format;
            _ = a.FileHandle; // opening the page cache reads the block table once: not part of an append
            var tm2 = new TransactionManager();
            Connection follower = db.Open(tm2);
            var b = follower.Root.Get<ZBigArray>("a");
            _ = b.FileHandle;
            var values = new double[AppendBytes / 8];
            long n0 = a.Size;
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = ZodbBench.Value(n0 + i);
            }
            var times = new List<double>(commits);
            long size0 = 0;
            double seconds = 0, followSeconds = 0;
            int gen2 = 0;
            TimeSpan pause = TimeSpan.Zero;
            for (int i = 0; i < warmup + commits; i++)
            {
                if (i == warmup)
                {
                    size0 = new FileInfo(path).Length;
                    gen2 = GC.CollectionCount(2);
                    pause = GC.GetTotalPauseDuration();
                }
                long t0 = Stopwatch.GetTimestamp();
                a.Append<double>(values);
                c.TransactionManager.Commit();
                double dt = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                t0 = Stopwatch.GetTimestamp();
                tm2.Begin(); // the follower moves to the new transaction: invalidation
                if (b.Size != a.Size)
                {
                    throw new InvalidOperationException($"the follower sees {b.Size} items, not {a.Size}");
                }
                double ft = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                if (i >= warmup)
                {
                    times.Add(dt);
                    seconds += dt;
                    followSeconds += ft;
                }
            }
            long grown = new FileInfo(path).Length - size0;
            gen2 = GC.CollectionCount(2) - gen2;
            pause = GC.GetTotalPauseDuration() - pause;
            double last = b.GetItem<double>(b.Size - 1);
            if (last != values[^1])
            {
                throw new InvalidOperationException($"the follower reads {last} as the last item, not {values[^1]}");
            }
            tm2.Abort();
            follower.Dispose();
            c.Dispose();
            return new Result(seconds, grown, followSeconds, Median(times), gen2, pause.TotalSeconds);
        }
        finally
        {
            File.Delete(path);
            File.Delete(path + ".index");
            File.Delete(path + ".lock");
            File.Delete(path + ".tmp");
        }
    }

    /// <summary>
    /// A database holding root["a"] = a float64 ZBigArray of <paramref name="gib"/> GiB whose every 2 MiB block
    /// holds one non-zero item (its first): a full block table of small ZBlk0 records (built once, then kept).
    /// </summary>
    private static string EnsureSparseDb(string dir, long gib)
    {
        string path = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"wendelin-bench-sparse-{gib}g.fs"));
        if (File.Exists(path) && File.Exists(path + ".index"))
        {
            return path;
        }
        string tmp = path + ".building";
        File.Delete(tmp);
        var clock = Stopwatch.StartNew();
        long items = (gib << 30) / 8;
        const long blockItems = ZBigFile.DefaultBlockSize / 8;
        using (var db = new Database(FileStorage.Open(tmp, new FileStorageOptions { Create = true, Fsync = false })))
        {
            Connection c = db.Open();
            var a = new ZBigArray([items], DType.Float64) { BlockFormat = ZBlkFormat.ZBlk0, HandleOptions = new FileHandleOptions { RamBudget = 256L << 20 } };
            c.Root["a"] = a;
            c.TransactionManager.Commit();
            for (long b = 0; b * blockItems < items; b++)
            {
                a.SetItem(ZodbBench.Value(b * blockItems), b * blockItems);
                if (b % 64 == 63)
                {
                    a.ReleaseItemCache();
                    c.TransactionManager.Commit();
                }
            }
            a.ReleaseItemCache();
            c.TransactionManager.Commit();
            if (a.File.Blocks().Count() != items / blockItems)
            {
                throw new InvalidOperationException("the sparse array's block table is not full");
            }
            c.Dispose();
        }
        File.Move(tmp, path, overwrite: true);
        File.Move(tmp + ".index", path + ".index", overwrite: true);
        File.Delete(tmp + ".lock");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"built {path} ({gib} GiB array, {items / blockItems:N0} ZBlk0 blocks, {new FileInfo(path).Length >> 20} MiB) in {clock.Elapsed.TotalSeconds:0.0} s"));
        return path;
    }
}
