using System.Globalization;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests.Zodb;

[CollectionDefinition("process memory", DisableParallelization = true)]
public sealed class ProcessMemoryCollection
{
}

/// <summary>
/// A scan of a ZBigArray eight times larger than its RAM budget keeps the whole process's peak memory within the
/// budget plus a small fixed overhead (spec/zbigfile.md ZB-42: blocks are read straight from the storage, nothing
/// of them stays in the connection's object cache). Runs alone so that other tests do not disturb the numbers.
/// </summary>
[Collection("process memory")]
public sealed class ZBigArrayMemoryTests(ITestOutputHelper output)
{
    private const int MiB = 1 << 20;
    private const long Budget = 16L * MiB;
    private const long Items = 16L << 20; // 128 MiB of float64: 8 × the budget
    private const long FixedOverhead = 48L * MiB;

    [Fact]
    public void Scanning_an_array_eight_times_the_budget_keeps_the_process_peak_within_budget_plus_overhead()
    {
        using var dir = new TempDirectory("zba-mem");
        string path = dir.File("big.fs");
        double expectedSum = 0;
        using (var db = new Database(FileStorage.Open(path, new FileStorageOptions { Create = true, Fsync = false })))
        {
            Connection c = db.Open();
            var a = new ZBigArray([0], DType.Float64) { HandleOptions = new FileHandleOptions { RamBudget = Budget } };
            c.Root["a"] = a;
            c.TransactionManager.Commit();
            var piece = new double[1 << 20];
            for (long i = 0; i < Items; i += piece.Length)
            {
                for (int k = 0; k < piece.Length; k++)
                {
                    piece[k] = ((i + k) % 1000) - 300;
                    expectedSum += piece[k];
                }
                a.Append<double>(piece);
                if ((i + piece.Length) % (4L << 20) == 0)
                {
                    c.TransactionManager.Commit(); // 32 MiB per commit bounds the dirty data
                }
            }
            c.TransactionManager.Commit();
            c.Dispose();
        }
        using (var db = new Database(FileStorage.Open(path, new FileStorageOptions { ReadOnly = true })))
        {
            Connection c = db.Open();
            var a = c.Root.Get<ZBigArray>("a");
            a.HandleOptions = new FileHandleOptions { RamBudget = Budget };
            Assert.Equal(Items, a.Size);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long baseline = Rss();
            bool reset = ResetPeak();
            long sampledPeak = baseline;
            bool stop = false;
            var sampler = new Thread(() =>
            {
                while (!Volatile.Read(ref stop))
                {
                    sampledPeak = Math.Max(sampledPeak, Rss());
                    Thread.Sleep(2);
                }
            });
            sampler.Start();
            double sum = a.Sum();
            double min = a.Min<double>();
            double max = a.Max<double>();
            Volatile.Write(ref stop, true);
            sampler.Join();
            long peak = reset ? Math.Max(Peak(), sampledPeak) : sampledPeak;
            FileHandleStatistics st = a.FileHandle.GetStatistics();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"array {a.NBytes / MiB} MiB, budget {Budget / MiB} MiB: process RSS {baseline / MiB} MiB before the scan, peak {peak / MiB} MiB " +
                $"(+{(peak - baseline) / MiB} MiB; VmHWM reset: {reset}); handle loads {st.Loads}, evictions {st.Evictions}, cache memory now {st.CacheMemoryBytes / MiB} MiB"));
            Assert.Equal(expectedSum, sum);
            Assert.Equal(-300, min);
            Assert.Equal(699, max);
            Assert.True(peak - baseline <= Budget + FixedOverhead, $"peak grew by {(peak - baseline) / MiB} MiB, more than the budget {Budget / MiB} MiB + {FixedOverhead / MiB} MiB");
            c.Dispose();
        }
    }

    private static long Rss() => Status("VmRSS:");

    private static long Peak() => Status("VmHWM:");

    private static long Status(string key)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    /// <summary>Resets the kernel's peak-RSS mark (Linux: write 5 to /proc/self/clear_refs).</summary>
    private static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
