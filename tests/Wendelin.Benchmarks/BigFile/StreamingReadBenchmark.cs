using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Wendelin.Arrays.BigFile;
using Wendelin.TestSupport;

namespace Wendelin.Benchmarks.BigFile;

/// <summary>
/// Streaming sum of a large OS-file BigFile read by FileHandle.Scan (no views, spec/bigfile.md BF-50; leasing the
/// OS file's pages, BF-53, and through a plain IBlockFile that loads into the scan's ring) and through a windowed
/// view with read-ahead (BF-6, BF-11), against a raw RandomAccess read + the same sum of the same file, runs
/// interleaved, warm and cold: the paging cost ratio that array workloads 1, 2 and 7 inherit.
/// </summary>
internal static class StreamingReadBenchmark
{
    [Benchmark("bigfile-stream", "streaming float64 sum of an OS-file BigFile by FileHandle.Scan and through a view vs raw RandomAccess read + sum, interleaved, warm and cold (--gib, --budget-mib, --window-mib)")]
    public static int Run(BenchArgs args)
    {
        long size = args.Long("gib", 4) << 30;
        long budget = args.Long("budget-mib", 1024) << 20;
        int window = (int)(args.Long("window-mib", 8) << 20);
        const int bs = 2 << 20;
        using var dir = new TempDirectory("bench-stream");
        string path = dir.File("big.bin");
        WriteFile(path, size);
        var h = new Harness(args.Runs);
        double expected = RawSum(path, window);
        foreach (bool cold in new[] { false, true })
        {
            string mode = cold ? "cold" : "warm";
            Action? setup = cold ? () => Harness.DropFileCache(path) : null;
            if (!cold)
            {
                RawSum(path, window); // bring the file into the OS page cache
            }
            double got = 0;
            FileHandleStatistics stats = default;
            // steady state: one handle for all runs (its cache already filled to the budget by an untimed scan),
            // as an array that stays open pages through it; the first scan of a fresh handle also pays for
            // allocating the budget's memory (measured separately below)
            using var steadyFile = new OsBlockFile(path, bs, writable: false);
            using var steady = new FileHandle(steadyFile, new FileHandleOptions { RamBudget = budget });
            PagedSum(steady, size, window);
            Array.Clear(Prof);
            double scanned = 0;
            Samples[] m = h.MeasureInterleaved(
            [
                ($"{mode}: FileHandle.Scan + sum (fresh handle)", () =>
                {
                    using var file = new OsBlockFile(path, bs, writable: false);
                    using var handle = new FileHandle(file, new FileHandleOptions { RamBudget = budget });
                    scanned = ScanSum(handle, size);
                }),
                ($"{mode}: RandomAccess.Read + sum", () => RawSum(path, window)),
                ($"{mode}: FileHandle.Scan + sum, plain IBlockFile (ring)", () =>
                {
                    using var file = new OsBlockFile(path, bs, writable: false);
                    using var handle = new FileHandle(new PlainBlockFile(file), new FileHandleOptions { RamBudget = budget });
                    ScanSum(handle, size);
                }),
                ($"{mode}: view + prefetch + sum", () =>
                {
                    got = PagedSum(steady, size, window);
                    stats = steady.GetStatistics();
                }),
                ($"{mode}: same with a fresh handle", () =>
                {
                    using var file = new OsBlockFile(path, bs, writable: false);
                    using var handle = new FileHandle(file, new FileHandleOptions { RamBudget = budget });
                    PagedSum(handle, size, window);
                }),
            ], setup);
            Samples scan = m[0], raw = m[1], scanCopy = m[2], paged = m[3], fresh = m[4];
            long[] prof = (long[])Prof.Clone();
            if (Math.Abs(scanned - expected) > Math.Abs(expected) * 1e-9)
            {
                Console.Error.WriteLine($"scan sum mismatch: {scanned} vs {expected}");
                return 1;
            }
            Harness.Report(scan, raw, size, "B");
            Harness.Report(scanCopy, raw, size, "B");
            if (Math.Abs(got - expected) > Math.Abs(expected) * 1e-9)
            {
                Console.Error.WriteLine($"sum mismatch: {got} vs {expected}");
                return 1;
            }
            Harness.Report(paged, raw, size, "B");
            Harness.Report(fresh, raw, size, "B");
            Console.WriteLine($"  steady-state view runs, ms: acquire (waiting for loads) {prof[0] * 1000 / System.Diagnostics.Stopwatch.Frequency}, sum {prof[1] * 1000 / System.Diagnostics.Stopwatch.Frequency}, release {prof[2] * 1000 / System.Diagnostics.Stopwatch.Frequency}");
            Array.Clear(Prof);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  steady handle after all runs: loads {stats.Loads} (prefetched {stats.Prefetched}), evictions {stats.Evictions}, cache memory {stats.CacheMemoryBytes >> 20} MiB, budget {budget >> 20} MiB"));
        }
        return 0;
    }

    internal static readonly long[] Prof = new long[3];

    private static double PagedSum(FileHandle handle, long size, int window)
    {
        using FileView view = handle.Map(0, size, writable: false); // a reduction only reads (BF-12: no hashing)
        double sum = 0;
        _ = handle.Prefetch(0, 2L * window);
        for (long off = 0; off < size; off += window)
        {
            int n = (int)Math.Min(window, size - off);
            _ = handle.Prefetch(off + 2L * window, window);
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            ViewWindow w = view.Acquire(off, n);
            long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            sum += TensorPrimitives.Sum(MemoryMarshal.Cast<byte, double>(w.ReadOnlySpan));
            long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
            w.Dispose();
            long t3 = System.Diagnostics.Stopwatch.GetTimestamp();
            Prof[0] += t1 - t0; Prof[1] += t2 - t1; Prof[2] += t3 - t2;
        }
        return sum;
    }

    private static double ScanSum(FileHandle handle, long size)
    {
        double sum = 0;
        using BlockScan scan = handle.Scan(0, size);
        while (scan.MoveNext())
        {
            sum += TensorPrimitives.Sum(MemoryMarshal.Cast<byte, double>(scan.Current));
        }
        return sum;
    }

    private static double RawSum(string path, int window)
    {
        using SafeFileHandle fh = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.SequentialScan);
        long size = RandomAccess.GetLength(fh);
        byte[] buffer = GC.AllocateUninitializedArray<byte>(window, pinned: true);
        double sum = 0;
        for (long off = 0; off < size; off += window)
        {
            int n = (int)Math.Min(window, size - off);
            int done = 0;
            while (done < n)
            {
                done += RandomAccess.Read(fh, buffer.AsSpan(done, n - done), off + done);
            }
            sum += TensorPrimitives.Sum(MemoryMarshal.Cast<byte, double>(buffer.AsSpan(0, n)));
        }
        return sum;
    }

    private static void WriteFile(string path, long size)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var chunk = new double[1 << 17];
        var rnd = new Random(7);
        for (int i = 0; i < chunk.Length; i++)
        {
            chunk[i] = rnd.NextDouble();
        }
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(chunk.AsSpan());
        for (long written = 0; written < size; written += bytes.Length)
        {
            fs.Write(bytes[..(int)Math.Min(bytes.Length, size - written)]);
        }
    }
}
