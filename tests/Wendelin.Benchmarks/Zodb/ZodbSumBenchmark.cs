using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Wendelin.Arrays;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;

namespace Wendelin.Benchmarks;

/// <summary>
/// shared/benchmarks.md workloads 1 and 7 on a ZBigArray in a FileStorage: a streaming Sum over a float64 ZBlk0
/// array larger than its RAM budget, warm and cold, against a raw RandomAccess read plus TensorPrimitives.Sum of
/// the same items from a plain file in the same run; and (zodb-sum-peak, run alone) the process's peak memory
/// during a cold sum and a transaction dirtying 512 MiB.
/// </summary>
internal static class ZodbSumBenchmark
{
    /// <summary>A plain file holding the array's items (the raw baseline reads it).</summary>
    internal static string EnsureRawFile(string dir, long bytes)
    {
        string path = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"wendelin-bench-{bytes >> 20}m.f8"));
        if (File.Exists(path) && new FileInfo(path).Length == bytes)
        {
            return path;
        }
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
        var buf = new double[1 << 20];
        for (long i = 0; i < bytes / 8; i += buf.Length)
        {
            int n = (int)Math.Min(buf.Length, bytes / 8 - i);
            for (int k = 0; k < n; k++)
            {
                buf[k] = ZodbBench.Value(i + k);
            }
            fs.Write(MemoryMarshal.AsBytes(buf.AsSpan(0, n)));
        }
        return path;
    }

    internal static double RawSum(string path, long bytes)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        byte[] buffer = GC.AllocateUninitializedArray<byte>(4 << 20, pinned: true);
        double s = 0;
        for (long off = 0; off < bytes;)
        {
            int n = RandomAccess.Read(fs.SafeFileHandle, buffer, off);
            if (n <= 0)
            {
                throw new IOException("short read");
            }
            s += TensorPrimitives.Sum(MemoryMarshal.Cast<byte, double>(buffer.AsSpan(0, n)));
            off += n;
        }
        return s;
    }

    [Benchmark("zodb-sum", "workload 1 (ZODB): streaming ZBigArray.Sum (ZBlk0, FileStorage; scan without views) and the view path vs raw read + TensorPrimitives.Sum, interleaved, warm and cold (--views no)")]
    public static int Run(BenchArgs args)
    {
        long bytes = args.Long("gib", 4) << 30;
        long budget = args.Long("budget-mib", 1024) << 20;
        string dir = args.Str("dir", Path.GetTempPath());
        string db = ZodbBench.EnsureArrayDb(dir, bytes, ZBlkFormat.ZBlk0);
        string raw = EnsureRawFile(dir, bytes);
        var h = new Harness(args.Runs);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ZBigArray {bytes >> 20} MiB float64 (ZBlk0, 2 MiB blocks) in {db}, budget {budget >> 20} MiB"));
        double ours = 0, baseline = 0, viewSum = 0;
        long loads = 0, direct = 0;
        double Ours()
        {
            using var d = new Database(FileStorage.Open(db, new FileStorageOptions { ReadOnly = true }));
            Connection c = d.Open();
            var a = c.Root.Get<ZBigArray>("a");
            a.HandleOptions = new FileHandleOptions { RamBudget = budget };
            double s = a.Sum();
            loads = a.FileHandle.GetStatistics().Loads;
            direct = a.FileHandle.GetStatistics().DirectLoads;
            c.Dispose();
            return s;
        }
        // the view path the scan replaced (spec/arrays.md AR-20): each chunk mapped through the page cache, summed
        double Views()
        {
            using var d = new Database(FileStorage.Open(db, new FileStorageOptions { ReadOnly = true }));
            Connection c = d.Open();
            var a = c.Root.Get<ZBigArray>("a");
            a.HandleOptions = new FileHandleOptions { RamBudget = budget };
            double s = 0;
            foreach (ArrayView chunk in a.Chunks())
            {
                s += TensorPrimitives.Sum(chunk.AsSpan<double>());
            }
            c.Dispose();
            return s;
        }
        bool views = args.Str("views", "yes") == "yes";
        foreach (bool cold in new[] { false, true })
        {
            string state = cold ? "cold" : "warm";
            Action? setup = cold ? () =>
            {
                Harness.DropFileCache(db);
                Harness.DropFileCache(raw);
            }
            : null;
            if (!cold)
            {
                RawSum(raw, bytes);
                Ours();
            }
            var actions = new List<(string, Action)>
            {
                ($"ZBigArray.Sum ({state})", () => ours = Ours()),
                ($"RandomAccess + TensorPrimitives.Sum ({state})", () => baseline = RawSum(raw, bytes)),
            };
            Samples[] m = h.MeasureInterleaved(actions, setup);
            Harness.Report(m[0], m[1], bytes, "B");
            if (views)
            {
                // measured after the others, not in turns with them (a run through the page cache was seen to slow
                // the cold run that follows it)
                Samples v = h.Measure($"ZBigArray.Chunks (views) + Sum ({state})", () => viewSum = Views(), setup);
                Harness.Report(v, m[1], bytes, "B");
            }
            if (ours != baseline || (views && viewSum != baseline))
            {
                Console.Error.WriteLine($"MISMATCH: ZBigArray.Sum {ours}, views {viewSum} vs raw {baseline}");
                return 1;
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sum {ours}; per ZBigArray.Sum pass: cache loads {loads}, blocks read past the cache {direct}"));
        return 0;
    }

    [Benchmark("zodb-sum-peak", "workload 7 (ZODB): cold ZBigArray.Sum and one transaction dirtying 512 MiB within a 1 GiB budget; peak process memory (run alone)")]
    public static int Peak(BenchArgs args)
    {
        long idle = ZodbBench.Status("VmRSS:");
        long bytes = args.Long("gib", 4) << 30;
        long budget = args.Long("budget-mib", 1024) << 20;
        long dirty = args.Long("dirty-mib", 512) << 20;
        string dir = args.Str("dir", Path.GetTempPath());
        string src = ZodbBench.EnsureArrayDb(dir, bytes, ZBlkFormat.ZBlk0);
        string raw = EnsureRawFile(dir, bytes);
        string db = Path.Combine(dir, "wendelin-bench-peak.fs");
        File.Copy(src, db, overwrite: true);
        File.Delete(db + ".index");
        Harness.DropFileCache(db);
        Harness.DropFileCache(raw);
        long t0 = Stopwatch.GetTimestamp();
        double rawSum = RawSum(raw, bytes);
        double rawSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        Harness.DropFileCache(db);
        idle = Math.Max(idle, ZodbBench.Status("VmRSS:"));
        bool reset = ZodbBench.ResetPeak();

        using var d = new Database(FileStorage.Open(db));
        Connection c = d.Open();
        var a = c.Root.Get<ZBigArray>("a");
        a.HandleOptions = new FileHandleOptions { RamBudget = budget };
        t0 = Stopwatch.GetTimestamp();
        double sum = a.Sum();
        double sumSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        long afterSum = ZodbBench.Status("VmHWM:");

        t0 = Stopwatch.GetTimestamp();
        a.Assign([Ix.Slice(0, dirty / 8)], -1.0);
        FileHandleStatistics st = a.FileHandle.GetStatistics();
        c.TransactionManager.Commit();
        double writeSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        long peak = ZodbBench.Status("VmHWM:");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            ZBigArray {bytes >> 20} MiB float64 (ZBlk0), budget {budget >> 20} MiB, dirty transaction {dirty >> 20} MiB (VmHWM reset: {reset})
            cold raw read + sum: {rawSeconds:0.00} s ({Harness.Format(bytes / rawSeconds)}B/s); cold ZBigArray.Sum: {sumSeconds:0.00} s ({Harness.Format(bytes / sumSeconds)}B/s), ratio {rawSeconds / sumSeconds:0.000}x
            dirtying {dirty >> 20} MiB + commit (fsync): {writeSeconds:0.00} s; before commit: dirty {st.DirtyBytes >> 20} MiB, spilled {st.SpilledBytes >> 20} MiB, spills {st.Spills}
            process memory: idle {idle >> 20} MiB, peak after sum {afterSum >> 20} MiB, peak after the write {peak >> 20} MiB
            goal ≤ 1.25 × budget + idle = {(1.25 * budget + idle) / (1 << 20):0} MiB: peak / (budget + idle) = {(double)peak / (budget + idle):0.000}
            """));
        c.Dispose();
        d.Dispose();
        File.Delete(db);
        File.Delete(db + ".index");
        if (sum != rawSum)
        {
            Console.Error.WriteLine($"MISMATCH: {sum} vs {rawSum}");
            return 1;
        }
        return 0;
    }
}
