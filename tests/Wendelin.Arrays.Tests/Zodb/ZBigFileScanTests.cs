using System.Runtime.InteropServices;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;
using Xunit.Abstractions;
using static Wendelin.Arrays.Tests.Zodb.ZodbTestDb;

namespace Wendelin.Arrays.Tests.Zodb;

/// <summary>
/// A ZBigFile as a block source (spec/zbigfile.md ZB-48; spec/bigfile.md BF-50…BF-54): leases, partial reads, scans
/// and direct reads give what loading gives, in every block format, with ZBlk0's stripped tails as implied zeros,
/// and a scan that crosses a transaction boundary shows each block as of the snapshot current when it reaches it.
/// </summary>
public sealed class ZBigFileScanTests(ITestOutputHelper output)
{
    private const int Blocks = 12;

    [Theory]
    [InlineData(ZBlkFormat.ZBlk0)]
    [InlineData(ZBlkFormat.ZBlk1)]
    [InlineData(ZBlkFormat.Auto)]
    public void Leases_reads_and_scans_equal_the_loaded_blocks(ZBlkFormat format)
    {
        int seed = Seeds.Announce(output, $"{nameof(Leases_reads_and_scans_equal_the_loaded_blocks)}({format})");
        var rnd = new Random(seed);
        using var t = new ZodbTestDb();
        Connection c1 = t.Open();
        ZBigFile f = NewFile(c1, "f", format);
        var expect = new byte[Blocks * BlockSize];
        using (FileHandle w = f.Open())
        {
            for (int b = 0; b < Blocks; b++)
            {
                if (b % 4 == 3)
                {
                    continue; // a hole
                }
                int stored = rnd.Next(1, BlockSize + 1); // trailing zeros of any length, cut anywhere
                Span<byte> block = expect.AsSpan(b * BlockSize, stored);
                rnd.NextBytes(block);
                block[^1] = 1;
                if (b % 4 == 1)
                {
                    block[(stored / 3)..(stored / 2)].Clear(); // zeros inside too
                }
                using FileView v = w.Map((long)b * BlockSize, BlockSize);
                expect.AsSpan(b * BlockSize, BlockSize).CopyTo(v.Span);
            }
            c1.TransactionManager.Commit();
        }

        Connection c2 = t.Open();
        using FileHandle h = c2.Root.Get<ZBigFile>("f").Open(SmallBudget(2));
        var source = Assert.IsAssignableFrom<IBlockSource>(h.File);
        var loaded = new byte[BlockSize];
        for (int b = 0; b < Blocks + 2; b++)
        {
            ReadOnlySpan<byte> want = b < Blocks ? expect.AsSpan(b * BlockSize, BlockSize) : new byte[BlockSize];
            h.File.LoadBlock(b, loaded);
            Assert.True(want.SequenceEqual(loaded), $"LoadBlock({b})");
            bool leased = source.TryLease(b, out BlockLease lease);
            bool hole = b >= Blocks || b % 4 == 3;
            // over a FileStorage holes are handed over and every stored block is declined: LoadBlock reads a ZBlk0's
            // bytes straight into the caller's buffer (ZB-49), a ZBlk1 is assembled anyway
            Assert.Equal(hole, leased);
            if (leased)
            {
                using (lease)
                {
                    Assert.InRange(lease.Data.Length, 0, BlockSize);
                    Assert.True(want[..lease.Data.Length].SequenceEqual(lease.Data.Span), $"Lease({b}) data");
                    Assert.False(want[lease.Data.Length..].ContainsAnyExcept((byte)0), $"Lease({b}) tail");
                    Assert.Equal(want.LastIndexOfAnyExcept((byte)0) + 1, lease.Data.Length); // the payload itself, stripped
                }
            }
            int off = rnd.Next(BlockSize), len = rnd.Next(BlockSize - off + 1);
            var part = new byte[len];
            source.ReadAt(b, off, part);
            Assert.True(want.Slice(off, len).SequenceEqual(part), $"ReadAt({b}, {off}, {len})");
        }
        // the paging layer over it: scans and direct reads, nothing entering the cache
        var scanned = new byte[Blocks * BlockSize];
        using (BlockScan scan = h.Scan(0, scanned.Length))
        {
            while (scan.MoveNext())
            {
                scan.Current.CopyTo(scanned.AsSpan((int)scan.Offset));
            }
        }
        Assert.True(expect.AsSpan().SequenceEqual(scanned));
        var direct = new byte[3 * BlockSize + 77];
        h.Read(BlockSize - 5, direct);
        Assert.True(expect.AsSpan(BlockSize - 5, direct.Length).SequenceEqual(direct));
        Assert.Equal(0, h.GetStatistics().Loads);
        c1.Dispose();
        c2.Dispose();
    }

    [Fact]
    public void Reductions_of_a_ZBigArray_count_the_stripped_zeros()
    {
        using var t = new ZodbTestDb();
        Connection c = t.Open();
        const long n = 5 * BlockSize / 8;
        var a = new ZBigArray([n], DType.Float64, blockSize: BlockSize);
        c.Root["a"] = a;
        c.TransactionManager.Commit();
        var values = new double[n];
        for (long i = 0; i < n; i++)
        {
            // negative items, but the last quarter of every block is zeros (stripped from the ZBlk0 records)
            values[i] = i % (BlockSize / 8) < BlockSize / 8 * 3 / 4 ? -1 - (i % 97) : 0;
        }
        a.CopyFrom<double>(values);
        c.TransactionManager.Commit();
        Connection d = t.Open();
        var b = d.Root.Get<ZBigArray>("a");
        Assert.Equal(values.Sum(), b.Sum());
        Assert.Equal(0.0, b.Max<double>());
        Assert.Equal(values.Min(), b.Min<double>());
        Assert.Equal(values, b.ToArray<double>());
        Assert.Equal(values[12345], b.GetItem<double>(12345));
        Assert.Equal(0, b.FileHandle.GetStatistics().Loads); // all of it read past the cache
        c.Dispose();
        d.Dispose();
    }

    [Fact]
    public void A_scan_across_a_transaction_boundary_shows_each_block_as_of_when_it_gets_there()
    {
        using var t = new ZodbTestDb();
        Connection c1 = t.Open();
        ZBigFile f = NewFile(c1, "f");
        using FileHandle w = f.Open();
        for (long b = 0; b < Blocks; b++)
        {
            Write(w, b, 100 + b);
        }
        c1.TransactionManager.Commit();

        Connection c2 = t.Open();
        using FileHandle h = c2.Root.Get<ZBigFile>("f").Open(SmallBudget(2));
        using BlockScan scan = h.Scan(0, (long)Blocks * BlockSize);
        var all = new byte[Blocks * BlockSize];
        while (scan.MoveNext() && scan.Offset < 2L * BlockSize)
        {
            scan.Current.CopyTo(all.AsSpan((int)scan.Offset)); // blocks 0 and 1 (a block may come in several pieces)
        }
        Thread.Sleep(50); // the read-ahead has loaded the next blocks from the old snapshot by now
        for (long b = 0; b < Blocks; b++)
        {
            Write(w, b, 200 + b); // another connection changes every block
        }
        c1.TransactionManager.Commit();
        c2.TransactionManager.Abort(); // c2's boundary: its snapshot moves, the changed blocks are invalidated
        do
        {
            scan.Current.CopyTo(all.AsSpan((int)scan.Offset)); // block 2 was reached before the boundary
        }
        while (scan.MoveNext());
        long[] firsts = Enumerable.Range(0, Blocks).Select(b => MemoryMarshal.Read<long>(all.AsSpan(b * BlockSize))).ToArray();
        Assert.Equal([100L, 101, 102], firsts[..3]); // reached before the boundary
        Assert.Equal(Enumerable.Range(3, Blocks - 3).Select(b => 200L + b), firsts[3..]); // the new snapshot, though read ahead from the old one
        c1.Dispose();
        c2.Dispose();
    }
}
