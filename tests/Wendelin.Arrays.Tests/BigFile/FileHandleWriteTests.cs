using Wendelin.Arrays.BigFile;
using Wendelin.TestSupport;

namespace Wendelin.Arrays.Tests.BigFile;

/// <summary>Direct writes without views (spec/bigfile.md BF-55); the random mix with views is in <see cref="FileHandleModelTests"/>.</summary>
public sealed class FileHandleWriteTests
{
    private const int Bs = 64 << 10;

    private static RecordingBlockFile Filled(int blocks, int seed = 1)
    {
        var f = new RecordingBlockFile(Bs);
        var bytes = new byte[(long)blocks * Bs];
        new Random(seed).NextBytes(bytes);
        f.Inner.Write(0, bytes);
        return f;
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_direct_write_dirties_exactly_its_block_and_maps_nothing(string kind)
    {
        var f = Filled(8);
        using var h = new FileHandle(f, Backends.Options(kind));
        var old = new byte[8];
        f.Inner.Read(5L * Bs + 100, old);
        byte[] value = [.. old.Select(b => (byte)~b)];
        h.Write(5L * Bs + 100, value);
        Assert.Equal([5L], h.DirtyBlocks());
        FileHandleStatistics st = h.GetStatistics();
        Assert.Equal(0, st.Views);
        Assert.Equal(0, st.PinnedBytes);
        var read = new byte[8];
        h.Read(5L * Bs + 100, read);
        Assert.Equal(value, read);
        h.Writeout();
        Assert.Equal([5L], f.TakeStores());
        h.MarkStored();
        Assert.False(h.IsDirty);
        var stored = new byte[8];
        f.Inner.Read(5L * Bs + 100, stored);
        Assert.Equal(value, stored);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Writing_the_old_bytes_back_directly_makes_the_block_clean(string kind)
    {
        var f = Filled(4);
        using var h = new FileHandle(f, Backends.Options(kind));
        var old = new byte[3];
        f.Inner.Read(2L * Bs - 1, old); // straddles blocks 1 and 2
        h.Write(2L * Bs - 1, [(byte)~old[0], (byte)~old[1], (byte)~old[2]]);
        Assert.Equal([1L, 2L], h.DirtyBlocks());
        h.Write(2L * Bs - 1, old.AsSpan(0, 1));
        Assert.Equal([2L], h.DirtyBlocks());
        h.Write(2L * Bs, old.AsSpan(1));
        Assert.False(h.IsDirty);
        h.Write(3L * Bs, old.AsSpan(0, 0)); // nothing
        Assert.False(h.IsDirty);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Views_show_a_direct_write_at_once_and_keep_their_own_writes(string kind)
    {
        var f = Filled(4);
        using var h = new FileHandle(f, Backends.Options(kind));
        using FileView v = h.Map(Bs, 2L * Bs);
        v.Span[10] = 0x5A; // a write through the view, not harvested yet
        h.Write(Bs + 20, [1, 2, 3]);
        Assert.Equal(new byte[] { 1, 2, 3 }, v.Span.Slice(20, 3).ToArray());
        Assert.Equal(0x5A, v.Span[10]);
        var read = new byte[30];
        h.Read(Bs, read);
        Assert.Equal(0x5A, read[10]);
        Assert.Equal(new byte[] { 1, 2, 3 }, read[20..23]);
        h.Writeout();
        h.MarkStored();
        var stored = new byte[30];
        f.Inner.Read(Bs, stored);
        Assert.Equal(read, stored);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Direct_writes_to_more_blocks_than_the_budget_spill_and_come_back(string kind)
    {
        using var scratch = new TempDirectory("bigfile-write");
        var f = Filled(6);
        using var h = new FileHandle(f, Backends.Options(kind, budget: 2L * Bs, scratch: scratch.Path));
        for (int round = 0; round < 2; round++)
        {
            for (long b = 0; b < 6; b++)
            {
                h.Write(b * Bs + 7 + round, [(byte)(b + 10 * round), 0xEE]);
            }
        }
        FileHandleStatistics st = h.GetStatistics();
        Assert.True(st.Spills > 0, "dirty pages over the budget spill");
        Assert.True(st.ResidentBytes <= st.RamBudget);
        Assert.Equal([0L, 1L, 2L, 3L, 4L, 5L], h.DirtyBlocks());
        h.Writeout();
        h.MarkStored();
        for (long b = 0; b < 6; b++)
        {
            var got = new byte[3];
            f.Inner.Read(b * Bs + 7, got);
            Assert.Equal((byte)b, got[0]);
            Assert.Equal((byte)(b + 10), got[1]);
            Assert.Equal(0xEE, got[2]);
        }
    }

    [Fact]
    public void A_direct_write_during_writeout_is_refused()
    {
        var f = new WritingBlockFile(Bs);
        using var h = new FileHandle(f);
        f.Handle = h;
        h.Write(0, [1]);
        h.Writeout();
        Assert.IsType<InvalidOperationException>(f.Error);
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Write(-1, [1]));
    }

    [Fact]
    public void The_block_file_hears_only_the_units_a_direct_write_changed()
    {
        var f = new UnitRecordingBlockFile(Bs);
        using var h = new FileHandle(f);
        int unit = Environment.SystemPageSize;
        h.Write(3L * unit + 5, [9, 9]);
        h.Write(7L * unit - 1, [9, 9]); // units 6 and 7
        h.Writeout();
        Assert.Equal([3, 6, 7], f.Units);
    }

    private sealed class WritingBlockFile(int blockSize) : IBlockFile
    {
        public FileHandle? Handle { get; set; }

        public Exception? Error { get; private set; }

        public int BlockSize => blockSize;

        public void LoadBlock(long block, Span<byte> buffer) => buffer.Clear();

        public void StoreBlock(long block, ReadOnlySpan<byte> buffer)
        {
            try
            {
                Handle!.Write(Bs + 1, [2]);
            }
            catch (InvalidOperationException e)
            {
                Error = e;
            }
        }
    }

    private sealed class UnitRecordingBlockFile(int blockSize) : IUnitAwareBlockFile
    {
        public List<int> Units { get; } = [];

        public int BlockSize => blockSize;

        public void LoadBlock(long block, Span<byte> buffer) => buffer.Clear();

        public void StoreBlock(long block, ReadOnlySpan<byte> buffer) => throw new InvalidOperationException("the unit-aware store is called");

        public void StoreBlock(long block, ReadOnlySpan<byte> buffer, ReadOnlySpan<ulong> changedUnits, int unitSize)
        {
            for (int u = 0; u < blockSize / unitSize; u++)
            {
                if ((changedUnits[u >> 6] & (1UL << (u & 63))) != 0)
                {
                    Units.Add(u);
                }
            }
        }
    }
}
