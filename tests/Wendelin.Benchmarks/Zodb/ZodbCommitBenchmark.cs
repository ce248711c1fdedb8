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
/// fsync, 1,000 times, per block format; bytes appended to the file per commit; against 4 KiB append + fdatasync
/// of a plain file in the same run.
/// </summary>
internal static class ZodbCommitBenchmark
{
    [Benchmark("zodb-commit", "workload 3: 8-byte change + commit with fsync, 1,000 times per format, vs 4 KiB append + fdatasync")]
    public static int Run(BenchArgs args)
    {
        int commits = args.Int("commits", 1000);
        long bytes = args.Long("mib", 128) << 20;
        string dir = args.Str("dir", Path.GetTempPath());
        var rnd = new Random(args.Int("seed", 1));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"array {bytes >> 20} MiB of float64 (full blocks), {commits} commits each"));

        // baseline: 4 KiB append + fdatasync
        string rawPath = Path.Combine(dir, "wendelin-bench-append.raw");
        File.Delete(rawPath);
        var raw = new List<double>(commits);
        using (var fs = new FileStream(rawPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
        {
            byte[] page = new byte[4096];
            long off = 0;
            for (int i = 0; i < commits; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                RandomAccess.Write(fs.SafeFileHandle, page, off);
                off += page.Length;
                fs.Flush(flushToDisk: true);
                raw.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
        }
        File.Delete(rawPath);
        string rawLine = ZodbBench.Percentiles(raw, out double rawP50);
        double rawRate = commits / raw.Sum();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"4 KiB append + fdatasync",-34} {rawRate,8:0} /s  {rawLine}"));

        foreach (ZBlkFormat format in new[] { ZBlkFormat.ZBlk0, ZBlkFormat.ZBlk1, ZBlkFormat.Auto })
        {
            string src = ZodbBench.EnsureArrayDb(dir, bytes, format == ZBlkFormat.Auto ? ZBlkFormat.ZBlk1 : format);
            string path = Path.Combine(dir, $"wendelin-bench-commit-{format}.fs");
            File.Copy(src, path, overwrite: true);
            File.Delete(path + ".index");
            using var db = new Database(FileStorage.Open(path));
            Connection c = db.Open();
            var a = c.Root.Get<ZBigArray>("a");
            a.BlockFormat = format;
            a.HandleOptions = new FileHandleOptions { RamBudget = args.Long("budget-mib", 256) << 20 };
            long n = a.Size;
            var times = new List<double>(commits);
            long size0 = new FileInfo(path).Length;
            for (int i = 0; i < commits; i++)
            {
                long index = rnd.NextInt64(n);
                double v = -i - 1;
                long t0 = Stopwatch.GetTimestamp();
                a.SetItem(v, index);
                c.TransactionManager.Commit();
                times.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
            a.ReleaseItemCache();
            long grown = new FileInfo(path).Length - size0;
            string line = ZodbBench.Percentiles(times, out double p50);
            double rate = commits / times.Sum();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{"ZBigArray 8 B + commit, " + format,-34} {rate,8:0} /s  {line}; {grown / commits:N0} bytes per commit; rate ratio {rate / rawRate:0.000}x, p50 ratio {rawP50 / p50:0.000}x"));
            c.Dispose();
            db.Dispose();
            File.Delete(path);
            File.Delete(path + ".index");
        }
        return 0;
    }
}
