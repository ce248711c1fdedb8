using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Persistence;

namespace Wendelin.Arrays.Tests.Zodb;

/// <summary>
/// spec/bigfile.md BF-10a: holes of a ZBigFile are not loaded, not cleared when their slot is already zero and not
/// hashed (their reference hashes are those of zeros). They must still read as zeros in a recycled slot, and a
/// write into a hole must be seen exactly: dirty when bytes changed, clean when zeros were written, and stored
/// as exactly the changed chunks (ZBlk1).
/// </summary>
public sealed class HoleLoadTests
{
    private const int Bs = ZodbTestDb.BlockSize;

    [Theory]
    [InlineData(PagingBackend.Auto)]
    [InlineData(PagingBackend.Copying)]
    public void Holes_read_as_zeros_in_recycled_slots_and_writes_into_them_are_exact(PagingBackend backend)
    {
        using var t = new ZodbTestDb();
        Connection c = t.Open();
        ZBigFile f = ZodbTestDb.NewFile(c, "f", ZBlkFormat.ZBlk1);
        FileHandle h = f.Open(new FileHandleOptions { RamBudget = 2L * Bs, Backend = backend });
        // blocks 0..3 full of non-zero bytes, committed: their slots are recycled for the holes below
        for (long b = 0; b < 4; b++)
        {
            using FileView v = h.Map(b * Bs, Bs);
            v.Span.Fill((byte)(b + 1));
        }
        c.TransactionManager.Commit();
        for (long b = 0; b < 4; b++)
        {
            Assert.Equal((byte)(b + 1), ZodbTestDb.ReadBlock(h, b)[Bs - 1]);
        }

        // holes past the end and between blocks read as zeros, whatever the slot held
        foreach (long hole in new long[] { 10, 4, 7 })
        {
            Assert.True(ZodbTestDb.ReadBlock(h, hole).AsSpan().IndexOfAnyExcept((byte)0) < 0, $"hole {hole} is not zeros");
        }

        // zeros written over a hole change nothing
        using (FileView v = h.Map(12 * Bs, Bs))
        {
            v.Span[..8192].Clear();
        }
        Assert.False(h.IsDirty);

        // one byte in one 4 KiB unit of a hole: one dirty block, stored as one chunk
        using (FileView v = h.Map(13 * Bs, Bs))
        {
            v.Span[5000] = 42;
        }
        Assert.Equal([13L], h.DirtyBlocks());
        long stores = h.GetStatistics().Stores;
        c.TransactionManager.Commit();
        Assert.Equal(stores + 1, h.GetStatistics().Stores);
        var z = (ZBlk1)f.BlockTable[13]!;
        Assert.Equal([4096], z.ChunkTable.Keys);
        Assert.Equal(42, ZodbTestDb.ReadBlock(h, 13)[5000]);

        // another connection sees the same bytes
        Connection other = t.Db.Open(new TransactionManager());
        FileHandle h2 = other.Root.Get<ZBigFile>("f").Open();
        byte[] block = ZodbTestDb.ReadBlock(h2, 13);
        Assert.Equal(42, block[5000]);
        Assert.Equal(1, block.Count(x => x != 0));
        h2.Dispose();
        other.Dispose();
        h.Dispose();
        c.Dispose();
    }
}
