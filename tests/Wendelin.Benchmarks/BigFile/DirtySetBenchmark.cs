using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Wendelin.Arrays.BigFile;

namespace Wendelin.Benchmarks.BigFile;

/// <summary>
/// shared/benchmarks.md workload 9: find the dirty set after changing 1 % of the 4 KiB pages of a 1 GiB view.
/// Goal ≤ 1 ms per GiB + ≤ 2 µs per dirty page. Measured with write-protect tracking (spec/bigfile.md BF-14) and,
/// for comparison in the same run, with hashing (BF-15); the baseline is the same query with nothing written.
/// </summary>
internal static class DirtySetBenchmark
{
    [Benchmark("bigfile-dirtyset", "workload 9: dirty set after changing 1% of the 4 KiB pages of a 1 GiB view (--gib, --percent)")]
    public static int Run(BenchArgs args)
    {
        long gib = args.Long("gib", 1);
        double percent = args.Long("permille", 10) / 10.0;
        long bytes = gib << 30;
        int page = Environment.SystemPageSize;
        long pages = bytes / page;
        int dirtyPages = (int)(pages * percent / 100);
        foreach (DirtyTracking tracking in new[] { DirtyTracking.WriteProtect, DirtyTracking.Hashing })
        {
            var file = new GeneratedBlockFile(2 << 20);
            using var h = new FileHandle(file, new FileHandleOptions
            {
                Backend = PagingBackend.Mapped,
                DirtyTracking = tracking,
                RamBudget = bytes + (64L << 20),
                ResidentViewLimit = bytes,
            });
            using FileView v = h.Map(0, bytes);
            var rnd = new Random(42);
            var h2 = new Harness(args.Runs);
            Samples clean = h2.Measure($"{tracking}: dirty set, nothing written", () => h.DirtyBlocks());
            long found = 0;
            Samples dirty = h2.Measure($"{tracking}: dirty set, {percent}% pages written", () => found = h.DirtyBlocks().Length, () =>
            {
                h.DiscardDirty();
                Touch(v, rnd, pages, dirtyPages, page);
            });
            double perGiBms = clean.Median * 1e3 / gib;
            double perPageUs = (dirty.Median - clean.Median) * 1e6 / dirtyPages;
            double goalMs = gib * 1.0 + dirtyPages * 2e-3;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{tracking}: {gib} GiB view, {dirtyPages} of {pages} pages written ({found} dirty blocks): {dirty.Median * 1e3:0.000} ms " +
                $"(min {dirty.Min * 1e3:0.000}, max {dirty.Max * 1e3:0.000}); nothing written {clean.Median * 1e3:0.000} ms = {perGiBms:0.000} ms/GiB; " +
                $"{perPageUs:0.000} us per dirty page; goal {goalMs:0.00} ms -> {(dirty.Median * 1e3 <= goalMs ? "met" : "missed")} ({dirty.Median * 1e3 / goalMs:0.00}x of goal)"));
        }
        return 0;
    }

    private static unsafe void Touch(FileView v, Random rnd, long pages, int count, int page)
    {
        byte* p = (byte*)v.Address;
        for (int i = 0; i < count; i++)
        {
            long at = rnd.NextInt64(pages) * page + rnd.Next(page);
            p[at] = (byte)(p[at] + 1);
        }
    }
}

/// <summary>A block file whose bytes are computed (fast to load, no memory of its own), optionally writable into a sink that forgets.</summary>
internal sealed class GeneratedBlockFile(int blockSize) : IBlockFile
{
    public int BlockSize => blockSize;

    public void LoadBlock(long block, Span<byte> buffer) => MemoryMarshal.Cast<byte, long>(buffer).Fill(block * 0x1E3779B97F4A7C15L);

    public void StoreBlock(long block, ReadOnlySpan<byte> buffer)
    {
    }
}
