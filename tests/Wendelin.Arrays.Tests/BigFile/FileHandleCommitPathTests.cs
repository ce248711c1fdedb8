using Wendelin.Arrays.BigFile;

namespace Wendelin.Arrays.Tests.BigFile;

/// <summary>
/// The write path of a fresh array (spec/bigfile.md BF-55a, BF-17a, BF-56): direct writes into units stored as
/// zeros, pages left unhashed after MarkStored, and loans of a resident page's memory.
/// </summary>
public sealed class FileHandleCommitPathTests
{
    private const int Bs = 64 << 10;

    private static byte[] Random(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_unit_stored_as_zeros_is_dirty_exactly_while_it_holds_a_non_zero_byte(string kind)
    {
        var f = new RecordingBlockFile(Bs); // nothing stored: every block reads as zeros
        using var h = new FileHandle(f, Backends.Options(kind));
        h.Write(3L * Bs + 10, new byte[5000]); // zeros over zeros
        Assert.False(h.IsDirty);
        h.Write(3L * Bs + 4095, [0, 0, 7]); // the non-zero byte is in the second unit, not at its start
        Assert.Equal([3L], h.DirtyBlocks());
        h.Write(3L * Bs + 4097, [0]);
        Assert.False(h.IsDirty);
        byte[] data = Random(2 * Bs, 1);
        h.Write(Bs, data); // whole blocks 1 and 2
        Assert.Equal([1L, 2L], h.DirtyBlocks());
        h.Write(Bs, new byte[2 * Bs]);
        Assert.False(h.IsDirty);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_unit_stored_with_data_is_dirty_when_zeros_replace_it(string kind)
    {
        var f = new RecordingBlockFile(Bs);
        f.Inner.Write(0, Random(Bs, 2));
        using var h = new FileHandle(f, Backends.Options(kind));
        h.Write(100, new byte[10]);
        Assert.Equal([0L], h.DirtyBlocks());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void After_MarkStored_the_next_writer_of_a_page_no_view_showed_finds_the_exact_dirty_set(string kind)
    {
        var f = new RecordingBlockFile(Bs);
        using var h = new FileHandle(f, Backends.Options(kind));
        byte[] data = Random(2 * Bs, 3);
        h.Write(0, data);
        h.Writeout();
        h.MarkStored();
        Assert.False(h.IsDirty);
        Assert.Equal(2, h.GetStatistics().ResidentBytes / Bs); // the pages stay cached, now clean

        h.Write(100, data.AsSpan(100, 50)); // the stored bytes again
        Assert.False(h.IsDirty);
        h.Write(100, [(byte)~data[100]]);
        Assert.Equal([0L], h.DirtyBlocks());
        h.Write(100, [data[100]]);
        Assert.False(h.IsDirty);

        using (FileView v = h.Map(Bs, Bs)) // a view shown after MarkStored compares with the stored bytes too
        {
            Span<byte> s = v.GetSpan(0, Bs);
            s[7] = data[Bs + 7];
            Assert.False(h.IsDirty);
            s[7] = (byte)~data[Bs + 7];
            Assert.Equal([1L], h.DirtyBlocks());
        }
        h.Writeout();
        h.MarkStored();
        h.Write(Bs + 7, [data[Bs + 7]]); // back to the first content: a change against the second
        Assert.Equal([1L], h.DirtyBlocks());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_loan_shows_the_page_and_keeps_its_slot_from_reuse_until_returned(string kind)
    {
        var f = new RecordingBlockFile(Bs);
        using var h = new FileHandle(f, Backends.Options(kind, budget: 2 * Bs));
        byte[] first = Random(Bs, 4);
        h.Write(0, first);
        using PageLoan loan = h.CreateLoan();
        Assert.False(loan.TryBorrow(5, 0, Bs)); // not cached
        Assert.True(loan.TryBorrow(0, 100, 1000));
        Assert.Equal(first.AsSpan(100, 1000).ToArray(), loan.Memory.ToArray());
        Assert.True(loan.TryBorrow(0, 0, Bs));
        h.Writeout();
        h.MarkStored();
        for (int b = 1; b <= 4; b++)
        {
            h.Write((long)b * Bs, Random(Bs, 10 + b)); // evicts block 0 and spills: its slot stays lent
        }
        Assert.Equal(first, loan.Memory.ToArray());
        loan.Return();
        Assert.False(loan.IsLent);
        Assert.Throws<ObjectDisposedException>(() => loan.Memory.Span.Length);
        Assert.True(h.GetStatistics().SpilledBytes > 0);
        long spilled = -1;
        for (long b = 1; b <= 4 && spilled < 0; b++)
        {
            if (!loan.TryBorrow(b, 0, Bs))
            {
                spilled = b; // a spilled block is not lent
            }
        }
        Assert.True(spilled > 0);
        var read = new byte[8];
        h.Read(0, read);
        Assert.Equal(first.AsSpan(0, 8).ToArray(), read);
    }
}
