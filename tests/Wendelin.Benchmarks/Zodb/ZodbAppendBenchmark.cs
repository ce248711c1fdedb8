using System.Diagnostics;
using System.Globalization;
using Wendelin.Arrays;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;

namespace Wendelin.Benchmarks;

/// <summary>
/// shared/benchmarks.md workload 10, upstream's bench_zblkfmt "Append": 500 commits each appending 3,670 int64
/// (1.4 % of a 2 MiB block) to a 1-D ZBigArray, per format; the database size, then the time to read each block
/// once from a fresh connection, against a raw read of 2 MiB at the same number of places of the file.
/// </summary>
internal static class ZodbAppendBenchmark
{
    [Benchmark("zodb-append", "workload 10: upstream's append workload (500 commits of 3,670 int64) per format: DB size and block read time")]
    public static int Run(BenchArgs args)
    {
        int commits = args.Int("commits", 500);
        int per = args.Int("items", 3670);
        bool fsync = args.Str("fsync", "yes") == "yes";
        string dir = args.Str("dir", Path.GetTempPath());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{commits} commits of {per} int64 each (fsync {fsync}); upstream (d662842): ZBlk0 513 MiB / 2.09 ms, ZBlk1 16 MiB / 14.5 ms, auto 28 MiB / 2.17 ms (with 0.2 ms injected per object load)"));
        foreach (ZBlkFormat format in new[] { ZBlkFormat.ZBlk0, ZBlkFormat.ZBlk1, ZBlkFormat.Auto })
        {
            string path = Path.Combine(dir, $"wendelin-bench-append-{format}.fs");
            File.Delete(path);
            File.Delete(path + ".index");
            var clock = Stopwatch.StartNew();
            using (var db = new Database(FileStorage.Open(path, new FileStorageOptions { Create = true, Fsync = fsync })))
            {
                Connection c = db.Open();
                var a = new ZBigArray([0], DType.Int64) { BlockFormat = format };
                c.Root["a"] = a;
                c.TransactionManager.Commit();
                var values = new long[per];
                long next = 0;
                for (int i = 0; i < commits; i++)
                {
                    for (int k = 0; k < per; k++)
                    {
                        values[k] = 1 + (next++ % 1000); // small positive values, like upstream's 1…1000
                    }
                    a.Append<long>(values);
                    c.TransactionManager.Commit();
                }
                c.Dispose();
            }
            double writeSeconds = clock.Elapsed.TotalSeconds;
            long size = new FileInfo(path).Length;

            // reads: every block in random order, round after round, through a page cache of one block, so each read
            // really loads the block from the database (the first round, which also sets the cache up, is not counted)
            var times = new List<double>();
            int blocks = 0;
            using (var db = new Database(FileStorage.Open(path, new FileStorageOptions { ReadOnly = true })))
            {
                Connection c = db.Open();
                var a = c.Root.Get<ZBigArray>("a");
                a.HandleOptions = new FileHandleOptions { RamBudget = ZBigFile.DefaultBlockSize, LoadInBackground = false };
                FileHandle h = a.FileHandle;
                blocks = (int)((a.NBytes + h.BlockSize - 1) / h.BlockSize);
                int rounds = args.Int("rounds", 20);
                for (int round = 0; round <= rounds; round++)
                {
                    foreach (int b in Enumerable.Range(0, blocks).OrderBy(_ => Random.Shared.Next()))
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        using FileView v = h.Map((long)b * h.BlockSize, h.BlockSize, writable: false);
                        if (round > 0)
                        {
                            times.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                        }
                    }
                }
                c.Dispose();
            }
            string ours = ZodbBench.Percentiles(times, out double p50);
            // baseline: raw 2 MiB reads at block-aligned places of the same file
            var raw = new List<double>();
            using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1))
            {
                byte[] buf = GC.AllocateUninitializedArray<byte>(2 << 20);
                long max = Math.Max(1, fs.Length - buf.Length);
                for (int i = 0; i < times.Count; i++)
                {
                    long off = Random.Shared.NextInt64(max) / 4096 * 4096;
                    long t0 = Stopwatch.GetTimestamp();
                    RandomAccess.Read(fs.SafeFileHandle, buf, off);
                    raw.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }
            }
            string rawLine = ZodbBench.Percentiles(raw, out double rawP50);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{format,-6} DB {size / (double)(1 << 20):0.0} MiB (written in {writeSeconds:0.0} s); block read ({blocks} blocks × {times.Count / Math.Max(1, blocks)} rounds): {ours}; raw 2 MiB read {rawLine}; p50 ratio {p50 / rawP50:0.00}x raw"));
            File.Delete(path);
            File.Delete(path + ".index");
        }
        return 0;
    }
}
