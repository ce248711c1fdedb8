using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;

namespace Wendelin.Arrays.Tests.Zodb;

/// <summary>ZBigArray (spec/zbigfile.md ZB-10..ZB-13), following upstream's test_arrayzodb checklist.</summary>
public sealed class ZBigArrayTests
{
    private const int Bs = ZodbTestDb.BlockSize;

    [Fact]
    public void A_new_array_reads_zeros_after_reopen_and_keeps_shape_and_dtype()
    {
        using var dir = new TempDirectory("zba");
        string path = dir.File("a.fs");
        using (var db = new Database(FileStorage.Open(path, new FileStorageOptions { Create = true, Fsync = false })))
        {
            Connection c = db.Open();
            c.Root["a"] = new ZBigArray([16 * Bs], DType.UInt8, blockSize: Bs);
            c.TransactionManager.Commit();
            c.Dispose();
        }
        using (var db = new Database(FileStorage.Open(path)))
        {
            Connection c = db.Open();
            var a = c.Root.Get<ZBigArray>("a");
            Assert.Equal([16L * Bs], a.Shape.ToArray());
            Assert.Equal(DType.UInt8, a.DType);
            Assert.Equal(0, a.SumInteger());
            // aborted writes vanish from existing views; committed ones persist
            using ArrayView v = a[..];
            a.Assign([Ix.Slice(5, 8)], (byte)7);
            Assert.Equal(7, v.GetItem<byte>(6));
            c.TransactionManager.Abort();
            Assert.Equal(0, v.GetItem<byte>(6));
            a.Assign([Ix.Slice(5, 8)], (byte)7);
            c.TransactionManager.Commit();
            c.CacheMinimize(); // the array survives it and later writes still commit
            a.SetItem((byte)9, 100);
            c.TransactionManager.Commit();
            // resize 16 → 24 blocks keeps the data, the new area is writable; then append 4 bytes
            a.Resize(24 * Bs);
            a.SetItem((byte)5, 24 * Bs - 1);
            a.Append<byte>([1, 2, 3, 4]);
            c.TransactionManager.Commit();
            c.Dispose();
        }
        using (var db = new Database(FileStorage.Open(path)))
        {
            Connection c = db.Open();
            var a = c.Root.Get<ZBigArray>("a");
            Assert.Equal([24L * Bs + 4], a.Shape.ToArray());
            Assert.Equal(7 * 3 + 9 + 5 + 1 + 2 + 3 + 4, a.SumInteger());
            Assert.Equal(4, a.GetItem<byte>(24 * Bs + 3));
            c.Dispose();
        }
    }

    [Fact]
    public void Order_persists_and_a_state_without_order_loads_as_C()
    {
        using var t = new ZodbTestDb();
        Connection c = t.Open();
        c.Root["c"] = new ZBigArray([10, 3], DType.Int32, ArrayOrder.C, Bs);
        c.Root["f"] = new ZBigArray([10, 3], DType.Int32, ArrayOrder.F, Bs);
        c.TransactionManager.Commit();
        Connection d = t.Open();
        Assert.Equal(ArrayOrder.C, d.Root.Get<ZBigArray>("c").Order);
        Assert.Equal(ArrayOrder.F, d.Root.Get<ZBigArray>("f").Order);
        Assert.Equal([4L, 40], d.Root.Get<ZBigArray>("f").Strides.ToArray());
        Assert.Equal(3, d.Root.Get<ZBigArray>("f").Length); // upstream's len(): the major axis
        // an old record: a plain dict, no _order, numpy-scalar shape, Python-2 keys
        var old = new ZBigArray();
        var file = new ZBigFile(Bs);
        PickleValue i8 = NumpyDTypeCodec.ToPickle(DType.Int64);
        var scalar = PickleObject.Reduce(new PickleGlobal("numpy.core.multiarray", "scalar"), new PickleTuple(i8, new PickleBytes(BitConverter.GetBytes(7L))));
        var state = new OrderedDictionary<object, object?>
        {
            [new PickleByteString("_dtype"u8.ToArray())] = NumpyDTypeCodec.ToPickle(DType.Float64),
            [new PickleByteString("_shape"u8.ToArray())] = new PyTuple(scalar, 2L),
            ["zfile"] = file,
        };
        old.LoadStateFrom(state);
        Assert.Equal(ArrayOrder.C, old.Order);
        Assert.Equal([7L, 2], old.Shape.ToArray());
        Assert.Equal([16L, 8], old.Strides.ToArray());
        Assert.Same(file, old.File);
        c.Dispose();
        d.Dispose();
    }

    [Fact]
    public void Inconsistent_states_are_refused()
    {
        var file = new ZBigFile(Bs);
        var good = new OrderedDictionary<string, object?>
        {
            ["_dtype"] = NumpyDTypeCodec.ToPickle(DType.Int32),
            ["_shape"] = new PyTuple(10L, 3L),
            ["_order"] = "C",
            ["_stridev"] = new PyTuple(4L, 40L), // F strides under C order
        };
        var slots = new OrderedDictionary<string, object?> { ["zfile"] = file };
        Assert.ThrowsAny<FormatException>(() => new ZBigArray().LoadStateFrom(new PyTuple(good, slots)));
        good["_stridev"] = new PyTuple(12L, 4L);
        good["_order"] = "K";
        Assert.ThrowsAny<FormatException>(() => new ZBigArray().LoadStateFrom(new PyTuple(good, slots)));
        good["_order"] = "C";
        var ok = new ZBigArray();
        ok.LoadStateFrom(new PyTuple(good, slots));
        Assert.Equal(10, ok.Length);
        good["_dtype"] = NumpyDTypeCodec.ToPickle(DType.Int32).ToString(); // not a dtype
        Assert.ThrowsAny<FormatException>(() => new ZBigArray().LoadStateFrom(new PyTuple(good, slots)));
    }

    [Fact]
    public void Concurrent_resizes_conflict_and_the_loser_recovers()
    {
        using var t = new ZodbTestDb();
        Connection c1 = t.Open();
        c1.Root["a"] = new ZBigArray([10], DType.Int64, blockSize: Bs);
        c1.TransactionManager.Commit();
        Connection c2 = t.Open();
        var a1 = c1.Root.Get<ZBigArray>("a");
        var a2 = c2.Root.Get<ZBigArray>("a");
        a1.Resize(11);
        a2.Resize(12);
        c1.TransactionManager.Commit();
        Assert.ThrowsAny<ConflictException>(() => c2.TransactionManager.Commit());
        Assert.Equal([11L], a2.Shape.ToArray());
        a2.Resize(13);
        c2.TransactionManager.Commit();
        c1.TransactionManager.Abort();
        Assert.Equal([13L], a1.Shape.ToArray());
        c1.Dispose();
        c2.Dispose();
    }

    [Fact]
    public void Same_element_from_two_connections_conflicts()
    {
        using var t = new ZodbTestDb();
        Connection c1 = t.Open();
        c1.Root["a"] = new ZBigArray([100], DType.Int64, blockSize: Bs);
        c1.TransactionManager.Commit();
        Connection c2 = t.Open();
        var a1 = c1.Root.Get<ZBigArray>("a");
        var a2 = c2.Root.Get<ZBigArray>("a");
        a1.SetItem(1L, 5);
        a2.SetItem(2L, 5);
        c1.TransactionManager.Commit();
        Assert.ThrowsAny<ConflictException>(() => c2.TransactionManager.Commit());
        Assert.Equal(1L, a2.GetItem<long>(5));
        a2.SetItem(2L, 5);
        c2.TransactionManager.Commit();
        c1.TransactionManager.Abort();
        Assert.Equal(2L, a1.GetItem<long>(5));
        c1.Dispose();
        c2.Dispose();
    }

    [Fact]
    public void An_append_elsewhere_shows_the_new_shape_at_the_boundary_and_keeps_the_page_cache()
    {
        using var t = new ZodbTestDb();
        Connection c1 = t.Open();
        var a1 = new ZBigArray([10], DType.Float64, blockSize: Bs);
        c1.Root["a"] = a1;
        c1.TransactionManager.Commit();
        a1.Assign([Ix.All], 1.5);
        c1.TransactionManager.Commit();

        Connection c2 = t.Open();
        var a2 = c2.Root.Get<ZBigArray>("a");
        using (ArrayView warm = a2.View(Ix.All))
        {
            // through a view, so the block enters the page cache (a Sum would stream past the cache, BF-50)
            Assert.Equal(15.0, warm.AsSpan<double>().ToArray().Sum());
        }
        FileHandle handle = a2.FileHandle;
        FileHandleStatistics before = handle.GetStatistics();

        a1.Append<double>([42.0]);
        c1.TransactionManager.Commit();
        Assert.Equal([10L], a2.Shape.ToArray()); // not before the boundary
        c2.TransactionManager.Abort();
        Assert.Equal([11L], a2.Shape.ToArray());
        Assert.Equal(42.0, a2.GetItem<double>(10));
        Assert.Same(handle, a2.FileHandle); // the page cache stayed
        FileHandleStatistics after = handle.GetStatistics();
        // only the changed block was loaded again (into the cache or by a direct read, BF-54)
        Assert.Equal(before.Loads + before.DirectLoads + 1, after.Loads + after.DirectLoads);
        c1.Dispose();
        c2.Dispose();
    }

    [Fact]
    public void At_the_boundary_exactly_the_changed_blocks_of_a_many_block_array_are_reloaded()
    {
        // ZB-43 on a ZBigArray of 100 blocks: connection A has every block in its page cache; B changes two of them —
        // block 5 rewritten in the other format (ZBlk0 → a new ZBlk1 object) and hole 70 filled, whose new entry
        // splits the block table's only bucket. At A's boundary exactly those two pages are reloaded.
        const int blocks = 100, perBlock = Bs / 8, filled = 60;
        using var t = new ZodbTestDb();
        Connection ca = t.Open();
        var aw = new ZBigArray([(long)blocks * perBlock], DType.Int64, blockSize: Bs) { BlockFormat = ZBlkFormat.ZBlk0 };
        ca.Root["a"] = aw;
        ca.TransactionManager.Commit();
        for (long b = 0; b < filled; b++)
        {
            aw.SetItem(b + 1, b * perBlock); // blocks 0..59 stored, 60..99 holes
        }
        ca.TransactionManager.Commit();
        Assert.Equal(1, aw.File.BlockTable._len); // one bucket holds the 60 entries

        FileHandle ha = aw.FileHandle;
        long[] before = Snapshot(aw);
        FileHandleStatistics warm = ha.GetStatistics();
        Assert.Equal(before, Snapshot(aw)); // all 100 blocks are cached: reading again loads nothing
        Assert.Equal(warm.Loads + warm.DirectLoads, Loads(ha));

        Connection cb = t.Open();
        var ab = cb.Root.Get<ZBigArray>("a");
        ab.BlockFormat = ZBlkFormat.ZBlk1;
        ab.SetItem(-5L, 5 * perBlock + 1);
        ab.SetItem(-70L, 70 * perBlock + 3);
        cb.TransactionManager.Commit();
        Assert.Equal("wendelin.bigfile.file_zodb.ZBlk1", t.Db.Types.PythonNameOf(ab.File.BlockTable[5]!.GetType()));
        Assert.Equal(2, ab.File.BlockTable._len); // the bucket split

        Assert.Equal(before, Snapshot(aw)); // before A's boundary: its snapshot, from its cache
        Assert.Equal(warm.Loads + warm.DirectLoads, Loads(ha));
        ca.TransactionManager.Abort(); // the boundary
        long[] now = Snapshot(aw);
        Assert.Equal(2, Loads(ha) - warm.Loads - warm.DirectLoads); // blocks 5 and 70, nothing else
        Assert.Equal(-5L, aw.GetItem<long>(5 * perBlock + 1));
        Assert.Equal(-70L, aw.GetItem<long>(70 * perBlock + 3));
        for (int b = 0; b < blocks; b++)
        {
            Assert.Equal(b switch { 5 => before[b] - 5, 70 => -70, _ => before[b] }, now[b]);
        }
        Assert.Equal(2, Loads(ha) - warm.Loads - warm.DirectLoads);
        ca.Dispose();
        cb.Dispose();

        // the sum of each block's items, read through one view (pages enter the cache, BF-7)
        static long[] Snapshot(ZBigArray a)
        {
            var sums = new long[blocks];
            using ArrayView v = a.View(Ix.All);
            ReadOnlySpan<long> items = v.AsSpan<long>();
            for (int b = 0; b < blocks; b++)
            {
                long s = 0;
                foreach (long x in items.Slice(b * perBlock, perBlock))
                {
                    s += x;
                }
                sums[b] = s;
            }
            return sums;
        }

        static long Loads(FileHandle h)
        {
            FileHandleStatistics st = h.GetStatistics();
            return st.Loads + st.DirectLoads;
        }
    }

    [Fact]
    public void An_added_array_is_usable_before_its_first_commit_and_a_detached_one_says_so()
    {
        using var t = new ZodbTestDb();
        Connection c = t.Open();
        var a = new ZBigArray([1000], DType.Int32, blockSize: Bs);
        Assert.Throws<InvalidOperationException>(() => a.SetItem(1, 0));
        c.Add(a);
        a.SetItem(5, 999);
        Assert.Equal(5, a.GetItem<int>(999));
        c.Root["a"] = a;
        c.TransactionManager.Commit();
        Connection d = t.Open();
        Assert.Equal(5, d.Root.Get<ZBigArray>("a").GetItem<int>(999));
        c.Dispose();
        d.Dispose();
    }

    [Fact]
    public void Reading_at_an_older_tid_sees_the_old_shape_and_data()
    {
        using var t = new ZodbTestDb();
        Connection c = t.Open();
        var a = new ZBigArray([4], DType.Int64, blockSize: Bs);
        c.Root["a"] = a;
        c.TransactionManager.Commit();
        a.Assign([Ix.All], 3L);
        c.TransactionManager.Commit();
        Tid then = t.Db.LastTransaction;
        a.Append<long>([9, 9]);
        a.Assign([Ix.Slice(0, 1)], 8L);
        c.TransactionManager.Commit();
        Connection past = t.Db.OpenAt(then);
        var old = past.Root.Get<ZBigArray>("a");
        Assert.Equal([4L], old.Shape.ToArray());
        Assert.Equal([3L, 3, 3, 3], old.ToArray<long>());
        Assert.Throws<ReadOnlyException>(() => old.Append<long>([1]));
        Assert.Equal([4L], old.Shape.ToArray());
        c.Dispose();
        past.Dispose();
    }
}
