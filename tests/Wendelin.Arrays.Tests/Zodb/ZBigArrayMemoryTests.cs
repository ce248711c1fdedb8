using System.Globalization;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;
using Xunit.Abstractions;
using static Wendelin.Arrays.Tests.ProcessMemory;

namespace Wendelin.Arrays.Tests.Zodb;

[CollectionDefinition("process memory", DisableParallelization = true)]
public sealed class ProcessMemoryCollection
{
}

/// <summary>
/// A ZBigArray eight times larger than its RAM budget, read through both paths, keeps the whole process's peak
/// memory within the budget plus a fixed overhead (spec/bigfile.md BF-3, spec/zbigfile.md ZB-42): the reductions'
/// direct scan (blocks read straight from the storage, nothing kept) and the paging path (chunk views whose pages
/// the handle loads into its cache and evicts). The array is written first and everything the write left behind
/// is released before the baseline is taken, so the write phase cannot hide growth. Runs alone so that other
/// tests do not disturb the numbers.
/// </summary>
[Collection("process memory")]
public sealed class ZBigArrayMemoryTests(ITestOutputHelper output)
{
    private const long Budget = 16L * MiB;
    private const long Items = 16L << 20; // 128 MiB of float64: 8 × the budget

    /// <summary>
    /// What the process may grow by besides the budget: the GC's allocation budget between collections (the
    /// block records' bytes and pickles are garbage as soon as a block is decoded), a block being read and
    /// decoded outside the cache, the read-ahead in flight and the runtime's own thread stacks and arenas.
    /// </summary>
    private const long FixedOverhead = 24L * MiB;

    [Fact]
    public void Scanning_and_paging_an_array_eight_times_the_budget_keep_the_process_peak_within_budget_plus_overhead()
    {
        using var dir = new TempDirectory("zba-mem");
        string path = dir.File("big.fs");
        double expectedSum = Write(path);
        using var db = new Database(FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }));
        Connection c = db.Open();
        var a = c.Root.Get<ZBigArray>("a");
        a.HandleOptions = new FileHandleOptions { RamBudget = Budget };
        Assert.Equal(Items, a.Size);
        long blksize = a.File.BlockSize;
        long blocks = (a.NBytes + blksize - 1) / blksize;

        // the direct scan of the reductions (BF-50): blocks stream through, the cache stays empty
        Meter scan = Start();
        double sum = a.Sum();
        double min = a.Min<double>();
        double max = a.Max<double>();
        scan.Stop();
        FileHandleStatistics afterScan = a.FileHandle.GetStatistics();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"array {a.NBytes / MiB} MiB in {blocks} blocks of {blksize / MiB} MiB, budget {Budget / MiB} MiB, overhead allowed {FixedOverhead / MiB} MiB"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"direct scan (sum, min, max): {scan}; direct loads {afterScan.DirectLoads}, cache loads {afterScan.Loads}"));
        Assert.Equal(expectedSum, sum);
        Assert.Equal(-300, min);
        Assert.Equal(699, max);
        Assert.True(afterScan.DirectLoads >= 3 * blocks, $"the scans took {afterScan.DirectLoads} blocks directly, expected 3 × {blocks}");

        // the paging path: chunk views through the page cache, then windows in a stride that revisits nothing
        Meter paging = Start();
        double pagedSum = 0;
        foreach (ArrayView chunk in a.Chunks())
        {
            foreach (double v in chunk.AsSpan<double>())
            {
                pagedSum += v;
            }
        }
        long window = blksize / 8; // items in a block
        double stridedSum = 0;
        for (long b = blocks - 1; b >= 0; b -= 3) // backwards, every third block: pages loaded against the read-ahead
        {
            using ArrayView w = a[Ix.Slice(b * window, (b + 1) * window)];
            stridedSum += w.GetItem<double>(0) + w.GetItem<double>(window - 1);
        }
        paging.Stop();
        FileHandleStatistics afterPaging = a.FileHandle.GetStatistics();
        long loads = afterPaging.Loads - afterScan.Loads, evictions = afterPaging.Evictions - afterScan.Evictions;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"paging (chunks, then every third block backwards): {paging}; cache loads {loads} (prefetched {afterPaging.Prefetched}), evictions {evictions}, cache memory now {afterPaging.CacheMemoryBytes / MiB} MiB"));
        Assert.Equal(expectedSum, pagedSum);
        Assert.Equal(ExpectedStrided(blocks, window), stridedSum);
        long strided = (blocks + 2) / 3;
        Assert.True(loads >= blocks + strided - Budget / blksize, $"{loads} pages loaded, expected every block once and the strided ones again");
        Assert.True(evictions >= blocks - Budget / blksize, $"{evictions} evictions: the budget of {Budget / blksize} blocks was not enforced");
        Assert.True(afterPaging.CacheMemoryBytes <= Budget);

        Assert.True(scan.Growth <= Budget + FixedOverhead,
            $"the direct scan grew the process by {scan.Growth / MiB} MiB, more than the budget {Budget / MiB} MiB + {FixedOverhead / MiB} MiB");
        Assert.True(paging.Growth <= Budget + FixedOverhead,
            $"paging grew the process by {paging.Growth / MiB} MiB, more than the budget {Budget / MiB} MiB + {FixedOverhead / MiB} MiB");
        c.Dispose();
    }

    /// <summary>Writes the array (32 MiB per commit) in a database closed before returning; gives the sum of its items.</summary>
    private static double Write(string path)
    {
        double expectedSum = 0;
        using var db = new Database(FileStorage.Open(path, new FileStorageOptions { Create = true, Fsync = false }));
        Connection c = db.Open();
        var a = new ZBigArray([0], DType.Float64) { HandleOptions = new FileHandleOptions { RamBudget = Budget } };
        c.Root["a"] = a;
        c.TransactionManager.Commit();
        var piece = new double[1 << 20];
        for (long i = 0; i < Items; i += piece.Length)
        {
            for (int k = 0; k < piece.Length; k++)
            {
                piece[k] = Item(i + k);
                expectedSum += piece[k];
            }
            a.Append<double>(piece);
            if ((i + piece.Length) % (4L << 20) == 0)
            {
                c.TransactionManager.Commit();
            }
        }
        c.TransactionManager.Commit();
        c.Dispose();
        return expectedSum;
    }

    private static double Item(long i) => (i % 1000) - 300;

    private static double ExpectedStrided(long blocks, long window)
    {
        double s = 0;
        for (long b = blocks - 1; b >= 0; b -= 3)
        {
            s += Item(b * window) + Item((b + 1) * window - 1);
        }
        return s;
    }
}
