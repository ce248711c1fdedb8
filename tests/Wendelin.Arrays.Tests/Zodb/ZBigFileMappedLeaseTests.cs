using System.Buffers;
using System.Runtime.InteropServices;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;
using Xunit.Abstractions;
using static Wendelin.Arrays.Tests.Zodb.ZodbTestDb;

namespace Wendelin.Arrays.Tests.Zodb;

/// <summary>
/// Leases out of a FileStorage's data file (spec/zbigfile.md ZB-50): over a FileStorage in an OS file whose pages are
/// in the OS page cache (just written), a canonical ZBlk0 block is leased as a slice of a mapping of the data file
/// equal to what <see cref="IBlockFile.LoadBlock"/> gives (stripped tail, short payload, hole, an older snapshot), a
/// ZBlk1 block is declined, and a lease keeps its bytes after a later commit and after a pack replaced the file.
/// </summary>
public sealed class ZBigFileMappedLeaseTests(ITestOutputHelper output)
{
    private const int Blocks = 6;

    private static bool Mapped(BlockLease lease) =>
        MemoryMarshal.TryGetMemoryManager(lease.Data, out MemoryManager<byte>? manager)
        && manager.GetType().DeclaringType == typeof(MappedFileLeases);

    /// <summary>Checks block <paramref name="b"/>'s lease against <paramref name="want"/>: leased out of the mapping, or declined.</summary>
    private static void AssertLease(IBlockSource source, long b, ReadOnlySpan<byte> want, bool expectMapped, string what)
    {
        var loaded = new byte[BlockSize];
        source.LoadBlock(b, loaded);
        Assert.True(want.SequenceEqual(loaded), $"{what}: LoadBlock({b})");
        bool leased = source.TryLease(b, out BlockLease lease);
        bool empty = !want.ContainsAnyExcept((byte)0);
        if (!expectMapped && !empty)
        {
            Assert.False(leased, $"{what}: block {b} is declined");
            return;
        }
        Assert.True(leased, $"{what}: block {b} is leased");
        using (lease)
        {
            Assert.Equal(want.LastIndexOfAnyExcept((byte)0) + 1, lease.Data.Length); // the stored bytes, stripped
            Assert.True(want[..lease.Data.Length].SequenceEqual(lease.Data.Span), $"{what}: lease of block {b}");
            Assert.True(lease.Data.Length == 0 || Mapped(lease), $"{what}: block {b} is a slice of the mapping");
        }
    }

    private static byte[] Fill(Random rnd, FileHandle w, int b, int stored)
    {
        var block = new byte[BlockSize];
        rnd.NextBytes(block.AsSpan(0, stored));
        if (stored > 0)
        {
            block[stored - 1] = 1;
        }
        using FileView v = w.Map((long)b * BlockSize, BlockSize);
        block.CopyTo(v.Span);
        return block;
    }

    [Theory]
    [InlineData(ZBlkFormat.ZBlk0)]
    [InlineData(ZBlkFormat.ZBlk1)]
    public void A_lease_equals_the_loaded_block_and_outlives_commits_and_a_pack(ZBlkFormat format)
    {
        int seed = Seeds.Announce(output, $"{nameof(A_lease_equals_the_loaded_block_and_outlives_commits_and_a_pack)}({format})");
        var rnd = new Random(seed);
        bool mapped = format == ZBlkFormat.ZBlk0 && MappedFileLeases.Supported; // elsewhere every stored block is declined
        using var dir = new TempDirectory("zb-lease");
        using var t = new ZodbTestDb(FileStorage.Open(dir.File("data.fs"), new FileStorageOptions { Create = true, Fsync = false }));
        Connection c1 = t.Open();
        ZBigFile f = NewFile(c1, "f", format);
        var first = new byte[Blocks][];
        using (FileHandle w = f.Open())
        {
            first[0] = Fill(rnd, w, 0, BlockSize); // every byte stored
            first[1] = Fill(rnd, w, 1, rnd.Next(1, 5000)); // a short payload, its tail stripped
            first[2] = Fill(rnd, w, 2, 0); // all zeros
            first[3] = new byte[BlockSize]; // a hole
            first[4] = Fill(rnd, w, 4, rnd.Next(BlockSize / 2, BlockSize)); // a stripped tail, not page aligned
            first[5] = Fill(rnd, w, 5, BlockSize - 1);
            c1.TransactionManager.Commit();
        }
        Tid firstTid = t.Db.LastTransaction;
        var second = (byte[][])first.Clone();
        using (FileHandle w = f.Open())
        {
            second[0] = Fill(rnd, w, 0, rnd.Next(1, BlockSize));
            second[4] = Fill(rnd, w, 4, BlockSize);
            c1.TransactionManager.Commit();
        }

        // an older snapshot leases the older revisions; the current one the newer
        Connection past = t.Db.OpenAt(firstTid);
        using (FileHandle hp = past.Root.Get<ZBigFile>("f").Open(SmallBudget(2)))
        {
            var source = Assert.IsAssignableFrom<IBlockSource>(hp.File);
            for (int b = 0; b < Blocks; b++)
            {
                AssertLease(source, b, first[b], mapped, "at the first tid");
            }
        }
        Connection c2 = t.Open();
        using FileHandle h = c2.Root.Get<ZBigFile>("f").Open(SmallBudget(2));
        var current = Assert.IsAssignableFrom<IBlockSource>(h.File);
        for (int b = 0; b < Blocks; b++)
        {
            AssertLease(current, b, second[b], mapped, "current");
        }
        if (!mapped)
        {
            past.Dispose();
            c1.Dispose();
            c2.Dispose();
            return;
        }

        // leases held across a later commit and across a pack that replaces the data file keep their bytes
        Assert.True(current.TryLease(0, out BlockLease held0));
        Assert.True(current.TryLease(4, out BlockLease held4));
        using (held0)
        using (held4)
        {
            var third = (byte[][])second.Clone();
            using (FileHandle w = f.Open())
            {
                third[0] = Fill(rnd, w, 0, BlockSize);
                third[4] = Fill(rnd, w, 4, 3);
                c1.TransactionManager.Commit();
            }
            Assert.True(second[0].AsSpan(0, held0.Data.Length).SequenceEqual(held0.Data.Span), "block 0 after a commit");
            Assert.True(second[4].AsSpan().SequenceEqual(held4.Data.Span), "block 4 after a commit");
            Assert.True(((FileStorage)c1.Storage).Pack(t.Db.LastTransaction).Packed);
            Assert.True(second[0].AsSpan(0, held0.Data.Length).SequenceEqual(held0.Data.Span), "block 0 after the pack");
            Assert.True(second[4].AsSpan().SequenceEqual(held4.Data.Span), "block 4 after the pack");

            // the handle moves to the new snapshot and leases out of the packed file
            c2.TransactionManager.Abort();
            for (int b = 0; b < Blocks; b++)
            {
                AssertLease(current, b, third[b], expectMapped: true, "after the pack");
            }
            Assert.True(second[4].AsSpan().SequenceEqual(held4.Data.Span), "block 4 while newer leases are made");
        }
        past.Dispose();
        c1.Dispose();
        c2.Dispose();
    }
}
