using System.Runtime.InteropServices;
using Wendelin.Arrays.BigFile;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests.BigFile;

/// <summary>
/// The RAM budget, spill, prefetch and windowed views over files far larger than RAM (spec/bigfile.md BF-3, BF-6,
/// BF-11, BF-20). In the "process memory" collection: run alone, so the process peak they assert is their own.
/// </summary>
[Collection("process memory")]
public sealed class FileHandleMemoryTests(ITestOutputHelper output)
{
    private const int MiB = 1 << 20;

    /// <summary>What the process may grow by besides the budget while paging a file (BF-3): the window being read, the read-ahead in flight, GC and runtime noise.</summary>
    private const long FixedOverhead = 16L * MiB;

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Scanning_a_file_eight_times_the_budget_stays_within_the_budget(string kind)
    {
        const int bs = MiB, blocks = 256, window = 4 * MiB;
        const long budget = 32L * MiB;
        var file = new PatternBlockFile(bs);
        using var h = new FileHandle(file, Backends.Options(kind, budget: budget));
        ProcessMemory.Meter process = ProcessMemory.Start();
        using FileView v = h.Map(0, (long)blocks * bs);
        Assert.False(v.IsResident);
        long maxCache = 0, maxResident = 0;
        for (long off = 0; off < v.Length; off += window)
        {
            _ = h.Prefetch(off + window, window);
            using ViewWindow w = v.Acquire(off, window);
            ReadOnlySpan<long> words = MemoryMarshal.Cast<byte, long>(w.Span);
            for (int k = 0; k < window / bs; k++)
            {
                long block = off / bs + k;
                int wordsPerBlock = bs / 8;
                Assert.Equal(PatternBlockFile.Word(block, 0), words[k * wordsPerBlock]);
                Assert.Equal(PatternBlockFile.Word(block, wordsPerBlock - 1), words[(k + 1) * wordsPerBlock - 1]);
            }
            FileHandleStatistics st = h.GetStatistics();
            maxCache = Math.Max(maxCache, st.CacheMemoryBytes);
            maxResident = Math.Max(maxResident, st.ResidentBytes);
        }
        process.Stop();
        FileHandleStatistics end = h.GetStatistics();
        output.WriteLine($"{kind}: scanned {(long)blocks * bs / MiB} MiB with budget {budget / MiB} MiB: peak cache memory {maxCache / MiB} MiB " +
            $"(OS-held), peak resident {maxResident / MiB} MiB, loads {end.Loads} (prefetched {end.Prefetched}), evictions {end.Evictions}; " +
            $"process {process}, overhead allowed {FixedOverhead / MiB} MiB");
        Assert.True(maxCache <= budget, $"cache memory {maxCache} over budget {budget}");
        Assert.True(maxResident <= budget);
        Assert.True(end.Loads >= blocks);
        Assert.True(end.Evictions >= blocks - budget / bs);
        Assert.True(process.Growth <= budget + FixedOverhead,
            $"the process grew by {process.Growth / MiB} MiB, more than the budget {budget / MiB} MiB + {FixedOverhead / MiB} MiB");
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public async Task Data_read_once_does_not_fill_the_budget_and_data_read_twice_stays(string kind)
    {
        const int bs = MiB, blocks = 256, window = 4 * MiB;
        const long budget = 64L * MiB;
        var file = new PatternBlockFile(bs);
        using var h = new FileHandle(file, Backends.Options(kind, budget: budget));
        using FileView v = h.Map(0, (long)blocks * bs, writable: false);
        for (int i = 0; i < 2; i++)
        {
            using ViewWindow hot = v.Acquire(0, 2L * bs); // used twice: kept in the LRU proper
        }
        long maxCache = 0;
        var prefetches = new List<Task>();
        for (long off = 2L * bs; off < v.Length; off += window)
        {
            prefetches.Add(h.Prefetch(off + window, window));
            using ViewWindow w = v.Acquire(off, Math.Min(window, v.Length - off));
            Assert.Equal(PatternBlockFile.Word(off / bs, 0), MemoryMarshal.Read<long>(w.ReadOnlySpan));
            maxCache = Math.Max(maxCache, h.GetStatistics().CacheMemoryBytes);
        }
        await Task.WhenAll(prefetches); // (the last ones read past the view: let them finish before counting loads)
        int loadsBefore = file.Loads;
        using (ViewWindow again = v.Acquire(0, 2L * bs))
        {
            Assert.Equal(PatternBlockFile.Word(1, 0), MemoryMarshal.Read<long>(again.ReadOnlySpan[bs..]));
        }
        output.WriteLine($"{kind}: streamed {blocks} MiB read once with a {budget / MiB} MiB budget: peak cache memory {maxCache / MiB} MiB; the twice-read blocks were still cached: {file.Loads == loadsBefore}");
        Assert.Equal(loadsBefore, file.Loads);
        // a quarter of the budget for pages used once, plus the pinned window and two windows of read-ahead
        Assert.True(maxCache <= budget / 4 + 3L * window + 4L * bs, $"peak cache memory {maxCache}");
    }

    [Theory]
    [MemberData(nameof(Backends.Mapped), MemberType = typeof(Backends))]
    public void A_one_terabyte_sparse_view_costs_only_what_is_touched(string kind)
    {
        const int bs = 2 * MiB;
        var file = new MemoryBlockFile(bs);
        using var h = new FileHandle(file, Backends.Options(kind, budget: 16L * MiB));
        using FileView v = h.Map(0, 1L << 40);
        Assert.False(v.IsResident);
        Assert.NotEqual(0, v.Address);
        long far = 700L << 30;
        using (ViewWindow w = v.Acquire(far, 3 * MiB))
        {
            Assert.False(w.Span.ContainsAnyExcept((byte)0));
            w.Span[MiB * 2 + 1] = 5;
        }
        using (ViewWindow w = v.Acquire(5, 10))
        {
            w.Span[0] = 6;
        }
        Assert.Equal([0L, far / bs + 1], h.DirtyBlocks());
        FileHandleStatistics st = h.GetStatistics();
        output.WriteLine($"1 TiB view: cache memory {st.CacheMemoryBytes / MiB} MiB, resident {st.ResidentBytes / MiB} MiB, loads {st.Loads}");
        Assert.True(st.CacheMemoryBytes <= 16L * MiB);
        h.Writeout();
        Assert.Equal(2, file.StoredBlockCount);
        var b = new byte[1];
        file.Read(far + 2 * MiB + 1, b);
        Assert.Equal(5, b[0]);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Dirty_pages_beyond_the_budget_spill_and_write_out_correctly(string kind)
    {
        const int bs = 256 << 10, blocks = 32;
        const long budget = 4L * bs;
        using var scratch = new TempDirectory("spill");
        var f = new RecordingBlockFile(bs);
        using var h = new FileHandle(f, Backends.Options(kind, budget: budget, scratch: scratch.Path));
        using FileView v = h.Map(0, (long)blocks * bs);
        var model = new byte[blocks * bs];
        var rnd = new Random(Seeds.Announce(output, "spill"));
        for (int b = 0; b < blocks; b++)
        {
            using ViewWindow w = v.Acquire((long)b * bs, bs);
            int at = rnd.Next(bs - 100);
            rnd.NextBytes(w.Span.Slice(at, 100));
            w.Span.Slice(at, 100).CopyTo(model.AsSpan(b * bs + at));
            Assert.True(h.GetStatistics().CacheMemoryBytes <= budget);
        }
        FileHandleStatistics st = h.GetStatistics();
        output.WriteLine($"{kind}: {blocks} dirty blocks of {bs / 1024} KiB with a budget of {budget / bs} blocks: spills {st.Spills}, spilled {st.SpilledBytes / 1024} KiB, cache memory {st.CacheMemoryBytes / 1024} KiB");
        Assert.True(st.Spills >= blocks - budget / bs);
        Assert.Equal(Enumerable.Range(0, blocks).Select(b => (long)b), h.DirtyBlocks());
        using (ViewWindow back = v.Acquire(3L * bs, 2L * bs)) // spilled pages come back on access
        {
            Assert.True(back.Span.SequenceEqual(model.AsSpan(3 * bs, 2 * bs)));
        }
        Assert.True(h.GetStatistics().Unspills >= 2);
        h.Writeout();
        Assert.Equal(Enumerable.Range(0, blocks).Select(b => (long)b), f.TakeStores());
        var stored = new byte[blocks * bs];
        f.Inner.Read(0, stored);
        Assert.True(stored.AsSpan().SequenceEqual(model));
        h.MarkStored();
        Assert.Equal(0, h.GetStatistics().SpilledBytes);
        Assert.False(h.IsDirty);
        using (ViewWindow again = v.Acquire(20L * bs, bs))
        {
            Assert.True(again.Span.SequenceEqual(model.AsSpan(20 * bs, bs)));
        }
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public async Task Prefetch_loads_ahead_and_the_view_finds_the_pages(string kind)
    {
        const int bs = 64 << 10;
        var f = new RecordingBlockFile(bs);
        using var h = new FileHandle(f, Backends.Options(kind, budget: 64L * bs));
        await h.Prefetch(bs * 2L + 5, 8L * bs);
        FileHandleStatistics st = h.GetStatistics();
        Assert.Equal(9, st.Loads);
        Assert.Equal(9, st.Prefetched);
        Assert.Equal(0, st.PinnedBytes);
        using FileView v = h.Map(2L * bs, 9L * bs);
        Assert.Equal(9, h.GetStatistics().Loads);
        Assert.All(f.LoadsPerBlock.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task Prefetch_never_goes_over_budget()
    {
        const int bs = 64 << 10;
        using var h = new FileHandle(new RecordingBlockFile(bs), new FileHandleOptions { RamBudget = 4L * bs });
        await h.Prefetch(0, 100L * bs);
        Assert.True(h.GetStatistics().ResidentBytes <= 4L * bs);
    }

    [Fact]
    public async Task Without_background_loads_the_block_file_is_called_only_from_the_callers_thread()
    {
        const int bs = 64 << 10;
        var file = new ThreadRecordingBlockFile(bs);
        using var h = new FileHandle(file, new FileHandleOptions { LoadInBackground = false, RamBudget = 64L * bs });
        await h.Prefetch(0, 8L * bs);
        Assert.Equal(0, h.GetStatistics().Loads);
        using (FileView v = h.Map(0, 8L * bs))
        {
            Assert.Equal(8, h.GetStatistics().Loads);
        }
        Assert.Equal([Environment.CurrentManagedThreadId], file.Threads.Distinct());
    }

    private sealed class ThreadRecordingBlockFile(int blockSize) : IBlockFile
    {
        public List<int> Threads { get; } = new();

        public int BlockSize => blockSize;

        public void LoadBlock(long block, Span<byte> buffer)
        {
            lock (Threads)
            {
                Threads.Add(Environment.CurrentManagedThreadId);
            }
        }

        public void StoreBlock(long block, ReadOnlySpan<byte> buffer)
        {
        }
    }

    [Fact]
    public void Os_block_file_loads_and_stores_blocks_at_their_offsets()
    {
        const int bs = 64 << 10;
        using var dir = new TempDirectory("osfile");
        string path = dir.File("big.bin");
        var content = new byte[3 * bs + 1000];
        new Random(5).NextBytes(content);
        File.WriteAllBytes(path, content);
        using (var file = new OsBlockFile(path, bs))
        using (var h = new FileHandle(file))
        using (FileView v = h.Map(0, 5L * bs))
        {
            Assert.True(v.Span[..content.Length].SequenceEqual(content));
            Assert.False(v.Span[content.Length..].ContainsAnyExcept((byte)0)); // past the end reads zeros
            v.Span[4 * bs + 1] = 1;
            v.Span[10] ^= 0x55;
            Assert.Equal([0L, 4L], h.DirtyBlocks());
            h.Writeout();
            h.MarkStored();
            file.Flush();
            Assert.Equal(5L * bs, file.Length);
        }
        byte[] back = File.ReadAllBytes(path);
        content[10] ^= 0x55;
        Assert.True(back.AsSpan(0, content.Length).SequenceEqual(content));
        Assert.Equal(1, back[4 * bs + 1]);
    }
}
