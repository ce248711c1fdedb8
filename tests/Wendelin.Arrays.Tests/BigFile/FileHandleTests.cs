using Wendelin.Arrays.BigFile;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests.BigFile;

/// <summary>FileHandle and FileView behaviour (spec/bigfile.md), on every backend.</summary>
public sealed class FileHandleTests(ITestOutputHelper output)
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

    [Fact]
    public void Auto_picks_mapped_with_write_protect_on_this_machine()
    {
        using var h = new FileHandle(new MemoryBlockFile(Bs));
        output.WriteLine($"{h.Backend} {h.DirtyTracking} budget {h.RamBudget}");
        Assert.Equal(PagingBackend.Mapped, h.Backend);
        Assert.Equal(DirtyTracking.WriteProtect, h.DirtyTracking);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void View_shows_the_file_bytes_at_any_offset(string kind)
    {
        var f = Filled(6);
        using var h = new FileHandle(f, Backends.Options(kind));
        var expect = new byte[3 * Bs + 100];
        f.Inner.Read(Bs / 2 + 7, expect);
        using FileView v = h.Map(Bs / 2 + 7, expect.Length);
        Assert.True(v.IsResident);
        Assert.True(v.Span.SequenceEqual(expect));
        Assert.Equal(expect[200..300], v.GetSpan(200, 100).ToArray());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void One_changed_byte_of_a_hundred_block_view_writes_one_block(string kind)
    {
        var f = Filled(100);
        using var h = new FileHandle(f, Backends.Options(kind, budget: 200L * Bs, residentLimit: 200L * Bs));
        using FileView v = h.Map(0, 100L * Bs);
        Assert.False(h.IsDirty);
        v.Span[57 * Bs + 1234] ^= 0xFF;
        v.Span[3 * Bs] = v.Span[3 * Bs]; // a store of the same value is not a change
        Assert.True(h.IsDirty);
        Assert.Equal([57L], h.DirtyBlocks());
        h.Writeout();
        Assert.Equal([57L], f.TakeStores());
        h.MarkStored();
        Assert.False(h.IsDirty);
        Assert.Empty(h.DirtyBlocks());
        var stored = new byte[1];
        f.Inner.Read(57 * Bs + 1234, stored);
        Assert.Equal(v.Span[57 * Bs + 1234], stored[0]);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Writing_a_page_back_to_its_old_bytes_makes_it_clean_again(string kind)
    {
        var f = Filled(4);
        using var h = new FileHandle(f, Backends.Options(kind));
        using FileView v = h.Map(0, 4L * Bs);
        byte old = v.Span[Bs + 5];
        v.Span[Bs + 5] = (byte)(old + 1);
        v.Span[3 * Bs + 5] = (byte)(v.Span[3 * Bs + 5] + 1);
        Assert.Equal([1L, 3L], h.DirtyBlocks());
        v.Span[Bs + 5] = old;
        Assert.Equal([3L], h.DirtyBlocks());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Discard_brings_back_the_stored_bytes_in_every_view(string kind)
    {
        var f = Filled(4);
        using var h = new FileHandle(f, Backends.Options(kind));
        var original = new byte[4 * Bs];
        f.Inner.Read(0, original);
        using FileView a = h.Map(0, 4L * Bs);
        a.Span.Slice(Bs - 10, 20).Fill(7);
        using (FileView closed = h.Map(2L * Bs, Bs))
        {
            closed.Span[9] = 9; // a change made through a view that is already gone
        }
        Assert.Equal([0L, 1L, 2L], h.DirtyBlocks());
        h.DiscardDirty();
        Assert.False(h.IsDirty);
        Assert.True(a.Span.SequenceEqual(original));
        using FileView b = h.Map(2L * Bs, Bs);
        Assert.True(b.Span.SequenceEqual(original.AsSpan(2 * Bs, Bs)));
        h.Writeout();
        Assert.Empty(f.TakeStores());
    }

    [Theory]
    [MemberData(nameof(Backends.Mapped), MemberType = typeof(Backends))]
    public void Overlapping_views_share_one_copy_of_each_page(string kind)
    {
        var f = Filled(4);
        using var h = new FileHandle(f, Backends.Options(kind));
        using FileView a = h.Map(0, 3L * Bs);
        using FileView b = h.Map(Bs + 100, 2L * Bs);
        a.Span[2 * Bs] = 42;
        Assert.Equal(42, b.Span[Bs - 100]);
        b.Span[0] = 43;
        Assert.Equal(43, a.Span[Bs + 100]);
        Assert.Equal(4L * Bs, h.GetStatistics().ResidentBytes); // blocks 0..3, each once
        Assert.Equal([1L, 2L], h.DirtyBlocks());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Changes_survive_disposing_the_view_until_writeout(string kind)
    {
        var f = Filled(2);
        using var h = new FileHandle(f, Backends.Options(kind));
        using (FileView v = h.Map(Bs, Bs))
        {
            v.Span[17] = (byte)~v.Span[17];
        }
        Assert.Equal([1L], h.DirtyBlocks());
        using FileView again = h.Map(0, 2L * Bs);
        var stored = new byte[1];
        f.Inner.Read(Bs + 17, stored);
        Assert.Equal((byte)~stored[0], again.Span[Bs + 17]);
        h.Writeout();
        h.MarkStored();
        f.Inner.Read(Bs + 17, stored);
        Assert.Equal(again.Span[Bs + 17], stored[0]);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Invalidation_shows_the_other_writers_bytes_and_keeps_the_rest(string kind)
    {
        var f = Filled(4);
        using var h = new FileHandle(f, Backends.Options(kind));
        using FileView v = h.Map(0, 4L * Bs);
        v.Span[3 * Bs + 1] = (byte)(v.Span[3 * Bs + 1] + 1); // our own uncommitted change elsewhere
        byte[] mine = v.Span.ToArray();
        var theirs = new byte[Bs];
        new Random(99).NextBytes(theirs);
        f.Inner.Write(Bs, theirs); // another connection commits block 1
        Assert.Equal(mine, v.Span.ToArray()); // not seen before the invalidation
        h.InvalidateBlock(1);
        Assert.True(v.Span.Slice(Bs, Bs).SequenceEqual(theirs));
        Assert.True(v.Span[..Bs].SequenceEqual(mine.AsSpan(0, Bs)));
        Assert.True(v.Span[(2 * Bs)..].SequenceEqual(mine.AsSpan(2 * Bs)));
        Assert.Equal([3L], h.DirtyBlocks());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Windowed_view_is_reached_through_windows(string kind)
    {
        var f = Filled(16);
        using var h = new FileHandle(f, Backends.Options(kind, budget: 4L * Bs));
        using FileView v = h.Map(100, 15L * Bs);
        Assert.False(v.IsResident);
        Assert.Equal(0, h.GetStatistics().Loads);
        Assert.Throws<InvalidOperationException>(() => v.GetSpan(0, 10).ToArray());
        var expect = new byte[Bs + 10];
        f.Inner.Read(100 + 5L * Bs, expect);
        using (ViewWindow w = v.Acquire(5L * Bs, Bs + 10))
        {
            Assert.True(w.Span.SequenceEqual(expect));
            w.Span[3] = (byte)(w.Span[3] + 1);
            if (h.Backend == PagingBackend.Mapped)
            {
                Assert.Equal(v.Address + 5 * Bs, w.Address);
                Assert.Equal(w.Span[3], v.GetSpan(5L * Bs + 3, 1)[0]);
            }
        }
        Assert.Equal([5L], h.DirtyBlocks());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Read_only_views_and_windows_read_and_refuse_spans_for_writing(string kind)
    {
        var f = Filled(8);
        using var h = new FileHandle(f, Backends.Options(kind, budget: 16L * Bs, residentLimit: 2L * Bs));
        var expect = new byte[2 * Bs];
        f.Inner.Read(Bs, expect);
        using FileView ro = h.Map(Bs, 2L * Bs, writable: false);
        Assert.False(ro.IsWritable);
        Assert.True(ro.ReadOnlySpan.SequenceEqual(expect));
        Assert.Throws<InvalidOperationException>(() => ro.GetSpan(0, 1).Length);
        Assert.Throws<InvalidOperationException>(() => ro.Acquire(0, 1, writable: true));
        using FileView big = h.Map(0, 8L * Bs); // windowed
        using (ViewWindow w = big.Acquire(Bs, 2L * Bs, writable: false))
        {
            Assert.False(w.IsWritable);
            Assert.True(w.ReadOnlySpan.SequenceEqual(expect));
            Assert.Throws<InvalidOperationException>(() => w.Span.Length);
            // the same pieces made writable by a second window: the page is hashed first, so a store of the
            // same value is still no change, and a real change is found
            using ViewWindow rw = big.Acquire(Bs, 2L * Bs, writable: true);
            rw.Span[10] = rw.Span[10];
            Assert.Empty(h.DirtyBlocks());
            rw.Span[Bs + 10] ^= 1;
            Assert.Equal([2L], h.DirtyBlocks());
            if (h.Backend == PagingBackend.Mapped)
            {
                Assert.Equal(rw.Span[Bs + 10], ro.ReadOnlySpan[Bs + 10]); // one copy of each page
            }
        }
        Assert.Equal([2L], h.DirtyBlocks());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Load_errors_reach_the_caller_and_leave_no_trace(string kind)
    {
        var failing = new FailingBlockFile(Bs) { FailBlock = 2 };
        using var h = new FileHandle(failing, Backends.Options(kind));
        Assert.Throws<IOException>(() => h.Map(0, 4L * Bs));
        Assert.Equal(0, h.GetStatistics().PinnedBytes);
        failing.FailBlock = -1;
        using FileView v = h.Map(0, 4L * Bs);
        Assert.Equal(0, v.Span[2 * Bs]);
    }

    [Fact]
    public void Misuse_is_an_argument_error()
    {
        using var h = new FileHandle(new MemoryBlockFile(Bs));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Map(-1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Map(0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Map(long.MaxValue - 5, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.InvalidateBlock(-2));
        using FileView v = h.Map(0, 100);
        Assert.Throws<ArgumentOutOfRangeException>(() => v.GetSpan(90, 11));
        Assert.Throws<ArgumentException>(() => new FileHandle(new MemoryBlockFile(1000)));
        Assert.Empty(h.Map(5, 0).Span.ToArray());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_disposed_handle_leaves_no_file_descriptor_open(string kind)
    {
        int Fds() => Directory.GetFiles("/proc/self/fd").Length;
        using (var warm = new FileHandle(new MemoryBlockFile(Bs), Backends.Options(kind)))
        {
            warm.Map(0, Bs).Dispose();
        }
        int before = Fds();
        for (int i = 0; i < 20; i++)
        {
            using var h = new FileHandle(new MemoryBlockFile(Bs), Backends.Options(kind, budget: Bs, residentLimit: 4L * Bs));
            using FileView v = h.Map(0, 3L * Bs); // over budget: pinned
            v.Span[0] = 1;
        }
        Assert.InRange(Fds(), 0, before + 5); // other tests run in parallel and open files too
    }

    [Fact]
    public void Disposing_the_handle_disposes_its_views()
    {
        var h = new FileHandle(new MemoryBlockFile(Bs));
        FileView v = h.Map(0, Bs);
        v.Span[0] = 1;
        h.Dispose();
        Assert.Throws<ObjectDisposedException>(() => v.GetSpan(0, 1).ToArray());
        Assert.Throws<ObjectDisposedException>(() => h.Map(0, 1));
    }

    private sealed class FailingBlockFile(int blockSize) : IBlockFile
    {
        public long FailBlock { get; set; } = -1;

        public int BlockSize => blockSize;

        public void LoadBlock(long block, Span<byte> buffer)
        {
            if (block == FailBlock)
            {
                throw new IOException($"block {block} unreadable");
            }
        }

        public void StoreBlock(long block, ReadOnlySpan<byte> buffer)
        {
        }
    }
}
