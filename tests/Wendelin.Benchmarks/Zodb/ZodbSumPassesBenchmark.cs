using System.Diagnostics;
using System.Globalization;
using Wendelin.Arrays;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;

namespace Wendelin.Benchmarks;

/// <summary>
/// Workload 1, warm, pass by pass: the same pair as zodb-sum (a fresh database opened read-only and ZBigArray.Sum,
/// then the raw read + TensorPrimitives.Sum of the plain file) repeated, printing each pass's ratio. It shows how
/// the first passes (code not yet optimized by the JIT, caches filling) differ from the steady state, which the
/// median of a few interleaved runs mixes.
/// </summary>
internal static class ZodbSumPassesBenchmark
{
    [Benchmark("zodb-sum-passes", "workload 1 (ZODB), warm: ZBigArray.Sum then raw read + sum, pass by pass (--gib, --passes)")]
    public static int Run(BenchArgs args)
    {
        long bytes = args.Long("gib", 2) << 30;
        long budget = args.Long("budget-mib", 1024) << 20;
        int passes = args.Int("passes", 10);
        string dir = args.Str("dir", Path.GetTempPath());
        string db = ZodbBench.EnsureArrayDb(dir, bytes, ZBlkFormat.ZBlk0);
        string raw = ZodbSumBenchmark.EnsureRawFile(dir, bytes);
        var ratios = new List<double>();
        for (int i = 0; i < passes; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            double ours;
            using (var d = new Database(FileStorage.Open(db, new FileStorageOptions { ReadOnly = true })))
            {
                Connection c = d.Open();
                var a = c.Root.Get<ZBigArray>("a");
                a.HandleOptions = new FileHandleOptions { RamBudget = budget };
                ours = a.Sum();
                c.Dispose();
            }
            double t = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            t0 = Stopwatch.GetTimestamp();
            double baseline = ZodbSumBenchmark.RawSum(raw, bytes);
            double r = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (ours != baseline)
            {
                Console.Error.WriteLine($"MISMATCH: ZBigArray.Sum {ours} vs raw {baseline}");
                return 1;
            }
            ratios.Add(r / t);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"pass {i}: ZBigArray.Sum {bytes / t / 1e9:0.00} GB/s, raw {bytes / r / 1e9:0.00} GB/s, ratio {r / t:0.00}x"));
        }
        double[] steady = [.. ratios.Skip(passes / 3).Order()];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ratio over passes {passes / 3}..{passes - 1}: median {steady[steady.Length / 2]:0.00}x (min {steady[0]:0.00}x, max {steady[^1]:0.00}x)"));
        return 0;
    }
}
