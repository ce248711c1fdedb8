using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Wendelin.Arrays;
using Wendelin.Arrays.BigFile;
using Wendelin.Benchmarks.BigFile;

namespace Wendelin.Benchmarks;

/// <summary>
/// shared/benchmarks.md workloads 1 and 7, array level (spec/arrays.md AR-20, AR-22): a streaming Sum over a
/// float64 BigArray on an OS-file block file, against a raw positional read plus TensorPrimitives.Sum of the same
/// file in the same run, warm (file in the OS page cache) and cold (page cache dropped before each run). The
/// ZODB-backed versions come with ZBigArray.
/// </summary>
internal static class ArraySumBenchmark
{
    [Benchmark("array-sum", "workload 1 (array level): BigArray.Sum (read-only scan, no views) over an OS file vs RandomAccess read + TensorPrimitives.Sum, interleaved, warm and cold (--gib, --budget-mib, --runs, --cold no, --warm no, --paging no)")]
    public static int Run(BenchArgs args)
    {
        long bytes = args.Long("gib", 8) << 30;
        long budget = args.Long("budget-mib", 1024) << 20;
        int block = (int)(args.Long("block-mib", 2) << 20);
        int rawBuffer = (int)(args.Long("raw-mib", 4) << 20);
        long chunk = args.Long("chunk-mib", 0) << 20;
        bool skipCold = args.Str("cold", "yes") == "no";
        bool paging = args.Str("paging", "yes") == "yes";
        string dir = args.Str("dir", Path.GetTempPath());
        string path = EnsureFile(dir, bytes);
        long items = bytes / 8;
        var h = new Harness(args.Runs);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"file {path}: {bytes >> 20} MiB of float64, block {block >> 10} KiB, budget {budget >> 20} MiB, raw buffer {rawBuffer >> 20} MiB; runs interleaved"));

        long maxResident = 0, directLoads = 0;
        double Ours(bool plain)
        {
            using var file = new OsBlockFile(path, block, writable: false);
            using var handle = new FileHandle(plain ? new PlainBlockFile(file) : file, new FileHandleOptions { RamBudget = budget });
            var a = new BigArray([items], DType.Float64, handle);
            double s = a.Sum(chunk);
            FileHandleStatistics st = handle.GetStatistics();
            maxResident = Math.Max(maxResident, st.ResidentBytes);
            directLoads = st.DirectLoads;
            return s;
        }

        // the array through views, as before the scan path: Chunks() maps each chunk (prefetching ahead) and sums it
        double Views()
        {
            using var file = new OsBlockFile(path, block, writable: false);
            using var handle = new FileHandle(file, new FileHandleOptions { RamBudget = budget });
            var a = new BigArray([items], DType.Float64, handle);
            double s = 0;
            foreach (ArrayView c in a.Chunks())
            {
                s += TensorPrimitives.Sum(c.AsSpan<double>());
            }
            return s;
        }

        double Raw()
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
            byte[] buffer = GC.AllocateUninitializedArray<byte>(rawBuffer, pinned: true);
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

        bool skipWarm = args.Str("warm", "yes") == "no";
        foreach (bool cold in new[] { false, true })
        {
            if ((cold && skipCold) || (!cold && skipWarm))
            {
                continue;
            }
            string state = cold ? "cold" : "warm";
            Action? setup = cold ? () => Harness.DropFileCache(path) : null;
            if (!cold)
            {
                Raw(); // warm the OS page cache
            }
            double ours = 0, plainSum = 0, raw = 0, viewSum = 0;
            var actions = new List<(string, Action)>
            {
                ($"BigArray.Sum ({state})", () => ours = Ours(plain: false)),
                ($"RandomAccess + TensorPrimitives.Sum ({state})", () => raw = Raw()),
                ($"BigArray.Sum, plain IBlockFile ({state})", () => plainSum = Ours(plain: true)),
            };
            Samples[] m = h.MeasureInterleaved(actions, setup);
            Harness.Report(m[0], m[1], bytes, "B");
            Harness.Report(m[2], m[1], bytes, "B");
            if (paging)
            {
                // measured after the others, not in turns with them: a run through the page cache (1 GiB of memfd
                // pages allocated and freed) was seen to slow the cold run that follows it
                Samples v = h.Measure($"BigArray.Chunks (views) + Sum ({state})", () => viewSum = Views(), setup);
                Harness.Report(v, m[1], bytes, "B");
            }
            // integer-valued items: every summation order gives the exact sum
            if (ours != raw || plainSum != raw || (paging && viewSum != raw))
            {
                Console.Error.WriteLine($"MISMATCH: BigArray.Sum {ours}, plain {plainSum}, views {viewSum} vs raw {raw}");
                return 1;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sum {raw}; cache pages resident at most {maxResident >> 20} MiB (budget {budget >> 20} MiB); blocks read past the cache {directLoads}"));
        }
        return 0;
    }

    [Benchmark("array-sum-peak", "workload 7 (array level): cold streaming Sum and a 512 MiB dirtying write within a 1 GiB budget; peak process memory (run alone)")]
    public static int Peak(BenchArgs args)
    {
        long bytes = args.Long("gib", 8) << 30;
        long budget = args.Long("budget-mib", 1024) << 20;
        int block = (int)(args.Long("block-mib", 2) << 20);
        long dirty = args.Long("dirty-mib", 512) << 20;
        string dir = args.Str("dir", Path.GetTempPath());
        string path = EnsureFile(dir, bytes);
        long items = bytes / 8;
        long idle = Process.GetCurrentProcess().PeakWorkingSet64;
        Harness.DropFileCache(path);

        using var file = new OsBlockFile(path, block, writable: true);
        using var handle = new FileHandle(file, new FileHandleOptions { RamBudget = budget });
        var a = new BigArray([items], DType.Float64, handle);
        long start = Stopwatch.GetTimestamp();
        double sum = a.Sum();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long afterSum = Process.GetCurrentProcess().PeakWorkingSet64;

        // one "transaction" dirtying 512 MiB: assign a slice, write the changed blocks out
        start = Stopwatch.GetTimestamp();
        long n = dirty / 8;
        a.Assign([Ix.Slice(0, n)], 1.0);
        handle.Writeout();
        handle.MarkStored();
        double writeSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        FileHandleStatistics st = handle.GetStatistics();
        long peak = Process.GetCurrentProcess().PeakWorkingSet64;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            array {bytes >> 20} MiB, budget {budget >> 20} MiB, block {block >> 10} KiB, backend {handle.Backend}
            cold Sum {sum}: {seconds:0.00} s, {Harness.Format(bytes / seconds)}B/s
            dirtying {dirty >> 20} MiB + writeout: {writeSeconds:0.00} s (stores {st.Stores}, spills {st.Spills})
            peak working set: idle {idle >> 20} MiB, after sum {afterSum >> 20} MiB, after write {peak >> 20} MiB
            peak / (budget + idle) = {(double)peak / (budget + idle):0.000} (goal ≤ 1.25 × budget + idle: {1.25 * budget / (1 << 20) + (idle >> 20):0} MiB)
            """));
        // restore the file's first part for later runs
        for (long i = 0; i < n; i += 1 << 20)
        {
            long count = Math.Min(1 << 20, n - i);
            using ArrayView v = a.View(Ix.Slice(i, i + count));
            Span<double> s = v.AsSpan<double>();
            for (int j = 0; j < s.Length; j++)
            {
                s[j] = Value(i + j);
            }
        }
        handle.Writeout();
        handle.MarkStored();
        return 0;
    }

    internal static double Value(long i) => (i % 1000) - 300;

    /// <summary>The benchmark file (item i = (i mod 1000) − 300), created once and reused.</summary>
    internal static string EnsureFile(string dir, long bytes)
    {
        string path = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"wendelin-array-sum-{bytes >> 20}m.f8"));
        if (File.Exists(path) && new FileInfo(path).Length == bytes)
        {
            return path;
        }
        Console.WriteLine($"writing {path} ...");
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        byte[] buffer = new byte[8 << 20];
        for (long i = 0, total = bytes / 8; i < total;)
        {
            int n = (int)Math.Min(buffer.Length / 8, total - i);
            for (int j = 0; j < n; j++, i++)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(buffer.AsSpan(j * 8), Value(i));
            }
            fs.Write(buffer, 0, n * 8);
        }
        return path;
    }
}
