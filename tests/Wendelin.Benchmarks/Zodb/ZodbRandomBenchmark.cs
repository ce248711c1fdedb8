using System.Diagnostics;
using System.Globalization;
using Wendelin.Arrays;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;

namespace Wendelin.Benchmarks;

/// <summary>
/// shared/benchmarks.md workload 2 on ZBigArrays: random 2 MiB blocks (ZBlk0 and ZBlk1) and random elements, cold
/// (OS cache dropped, small page cache) and warm, against raw reads of the same offsets of a plain file of the
/// same items; per-operation latency percentiles.
/// </summary>
internal static class ZodbRandomBenchmark
{
    [Benchmark("zodb-random", "workload 2 (ZODB): random block and element reads of ZBlk0/ZBlk1 arrays vs raw reads, cold and warm")]
    public static int Run(BenchArgs args)
    {
        long bytes = args.Long("mib", 1024) << 20;
        int blockReads = args.Int("blocks", 2000);
        int elementReads = args.Int("elements", 100_000);
        string dir = args.Str("dir", Path.GetTempPath());
        string raw = ZodbSumBenchmark.EnsureRawFile(dir, bytes);
        var rnd = new Random(args.Int("seed", 1));
        int bs = ZBigFile.DefaultBlockSize;
        long blocks = bytes / bs, items = bytes / 8;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"arrays of {bytes >> 20} MiB ({blocks} blocks); {blockReads} random block reads, {elementReads} random element reads"));
        var p50s = new Dictionary<string, double>();
        foreach (bool cold in new[] { true, false })
        {
            string state = cold ? "cold" : "warm";
            // raw baselines
            if (!cold)
            {
                ZodbSumBenchmark.RawSum(raw, bytes);
            }
            else
            {
                Harness.DropFileCache(raw);
            }
            var rawBlocks = new List<double>();
            var rawItems = new List<double>();
            using (var fs = new FileStream(raw, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.RandomAccess))
            {
                byte[] buf = GC.AllocateUninitializedArray<byte>(bs);
                for (int i = 0; i < blockReads; i++)
                {
                    long b = rnd.NextInt64(blocks);
                    long t0 = Stopwatch.GetTimestamp();
                    RandomAccess.Read(fs.SafeFileHandle, buf, b * bs);
                    rawBlocks.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }
                if (cold)
                {
                    Harness.DropFileCache(raw);
                }
                byte[] item = new byte[8];
                for (int i = 0; i < elementReads; i++)
                {
                    long k = rnd.NextInt64(items);
                    long t0 = Stopwatch.GetTimestamp();
                    RandomAccess.Read(fs.SafeFileHandle, item, k * 8);
                    rawItems.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }
            }
            Console.WriteLine($"raw 2 MiB block read ({state}): {ZodbBench.Percentiles(rawBlocks, out double rawBlockP50)}");
            Console.WriteLine($"raw 8-byte read ({state}):     {ZodbBench.Percentiles(rawItems, out double rawItemP50)}");
            foreach (ZBlkFormat format in new[] { ZBlkFormat.ZBlk0, ZBlkFormat.ZBlk1 })
            {
                string db = ZodbBench.EnsureArrayDb(dir, bytes, format);
                if (cold)
                {
                    Harness.DropFileCache(db);
                }
                else
                {
                    using FileStream warm = File.OpenRead(db);
                    warm.CopyTo(Stream.Null);
                }
                using var d = new Database(FileStorage.Open(db, new FileStorageOptions { ReadOnly = true }));
                Connection c = d.Open();
                var a = c.Root.Get<ZBigArray>("a");
                // a page cache of 64 MiB: most reads really load a block from the database (cold: from disk,
                // warm: from the OS page cache); --cached yes gives a cache that holds the whole array instead
                a.HandleOptions = new FileHandleOptions { RamBudget = args.Str("cached", "no") == "yes" ? bytes + (64L << 20) : 64L << 20 };
                FileHandle h = a.FileHandle;
                var ours = new List<double>();
                for (int i = 0; i < blockReads; i++)
                {
                    long b = rnd.NextInt64(blocks);
                    long t0 = Stopwatch.GetTimestamp();
                    using FileView v = h.Map(b * bs, bs, writable: false);
                    ours.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{format} block read ({state}): {ZodbBench.Percentiles(ours, out double p50)}; p50 {p50 / rawBlockP50:0.00}x raw"));
                p50s[$"{format} {state}"] = p50;
                // the same through the array without a view (AR-14, BF-54): the block read into a buffer, uncached
                if (cold)
                {
                    Harness.DropFileCache(db);
                }
                var copied = new List<double>();
                var into = new double[bs / 8];
                for (int i = 0; i < blockReads; i++)
                {
                    long b = rnd.NextInt64(blocks);
                    long t0 = Stopwatch.GetTimestamp();
                    a.CopyTo([Ix.Slice(b * (bs / 8), (b + 1) * (bs / 8))], into.AsSpan());
                    copied.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{format} block CopyTo, no view ({state}): {ZodbBench.Percentiles(copied, out double cp50)}; p50 {cp50 / rawBlockP50:0.00}x raw"));
                p50s[$"{format} {state} copy"] = cp50;
                if (cold)
                {
                    Harness.DropFileCache(db);
                }
                var itemTimes = new List<double>();
                for (int i = 0; i < elementReads; i++)
                {
                    long k = rnd.NextInt64(items);
                    long t0 = Stopwatch.GetTimestamp();
                    _ = a.GetItem<double>(k);
                    itemTimes.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }
                a.ReleaseItemCache();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{format} element read ({state}): {ZodbBench.Percentiles(itemTimes, out double ip50)}; p50 {ip50 / rawItemP50:0.00}x raw"));
                c.Dispose();
            }
        }
        foreach (string state in new[] { "cold", "warm" })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ZBlk1 / ZBlk0 block read p50 ({state}): view {p50s[$"ZBlk1 {state}"] / p50s[$"ZBlk0 {state}"]:0.00}x, CopyTo {p50s[$"ZBlk1 {state} copy"] / p50s[$"ZBlk0 {state} copy"]:0.00}x (upstream 6.9x; goal ≤ 2x)"));
        }
        return 0;
    }
}
