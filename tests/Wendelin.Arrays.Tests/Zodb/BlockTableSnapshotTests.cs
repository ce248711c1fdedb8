using FsCheck;
using FsCheck.Fluent;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests.Zodb;

/// <summary>
/// spec/zbigfile.md ZB-41a: a handle's block-table snapshot is updated from the changed table objects only, after
/// its own commits and at boundaries where other transactions changed the table; it must always equal a full
/// walk of the table, and every block whose entry changed must be invalidated. Random steps: blocks written
/// through the handle (appends past the end, holes filled anywhere: bucket and tree-node splits), and entries
/// replaced or removed by a third connection directly in the table (bucket merges); two handles follow.
/// </summary>
public sealed class BlockTableSnapshotTests(ITestOutputHelper output)
{
    private const int Bs = 4096;

    [Fact]
    public void Updated_snapshots_equal_a_full_walk_and_changed_blocks_are_reloaded()
    {
        int seed = Seeds.Announce(output, nameof(Updated_snapshots_equal_a_full_walk_and_changed_blocks_are_reloaded));
        Gen<(int Seed, int Steps)> cases = from s in Gen.Choose(0, int.MaxValue) from n in Gen.Choose(5, 30) select (s, n);
        Prop.ForAll(cases.ToArbitrary(), c => Run(c.Seed, c.Steps, 0)).Check(ZBigArrayModelTests.SeededConfig(seed, 20));
    }

    [Fact]
    public void A_table_of_thousands_of_blocks_splits_tree_nodes_and_stays_exact()
    {
        int seed = Seeds.Announce(output, nameof(A_table_of_thousands_of_blocks_splits_tree_nodes_and_stays_exact));
        // 30,000 entries of 60-entry buckets: more than the 500 children of one LOBTree node, so the root splits
        Run(seed, 25, 30_000);
    }

    [Fact]
    public void An_append_after_commit_reads_only_the_changed_objects()
    {
        using var t = new ZodbTestDb();
        Connection c = t.Open();
        var f = new ZBigFile(Bs);
        c.Root["f"] = f;
        for (long b = 0; b < 5000; b++)
        {
            f.BlockTable[b] = new ZBlk0();
        }
        c.TransactionManager.Commit();
        FileHandle h = f.Open();
        ZBigFileHandle glue = f.OpenHandles()[0];
        c.CacheMinimize(); // every bucket of the table a ghost: a full walk would load them all again
        ZodbTestDb.Write(h, 5000, 42); // a new block: the table changes
        c.TransactionManager.Commit();
        BlockTableSnapshot after = glue.Snapshot;
        Assert.Equal(5001, after.Blocks.Count);
        Assert.True(after.TryGetBlockOf(after.Blocks[5000], out long owner) && owner == 5000);
        LOBTree root = f.BlockTable;
        int loaded = 0, buckets = 0;
        for (int i = 0; i < root._len; i++)
        {
            buckets++;
            loaded += root._children[i].PersistentState == PersistentState.Ghost ? 0 : 1;
        }
        Assert.True(buckets > 80, $"{buckets} buckets");
        Assert.True(loaded <= 2, $"{loaded} of {buckets} buckets were loaded to update the snapshot");
        AssertSame(BlockTableSnapshot.Build(f, after.Before), after);
        h.Dispose();
        c.Dispose();
    }

    [Fact]
    public void A_follower_hearing_of_an_append_reads_only_the_changed_objects()
    {
        using var t = new ZodbTestDb();
        Connection c = t.Open();
        var f = new ZBigFile(Bs);
        c.Root["f"] = f;
        for (long b = 0; b < 5000; b++)
        {
            f.BlockTable[b] = new ZBlk0();
        }
        c.TransactionManager.Commit();
        FileHandle h = f.Open();
        var tm = new TransactionManager();
        Connection follower = t.Db.Open(tm);
        var ff = follower.Root.Get<ZBigFile>("f");
        FileHandle hf = ff.Open();
        ZBigFileHandle glue = ff.OpenHandles()[0];
        follower.CacheMinimize(); // the follower's buckets are ghosts: a full walk would load them all again
        for (long b = 5000; b < 5003; b++)
        {
            ZodbTestDb.Write(h, b, b); // new blocks: the last bucket changes (and may split)
            c.TransactionManager.Commit();
        }
        tm.Begin();
        BlockTableSnapshot after = glue.Snapshot;
        Assert.Equal(5003, after.Blocks.Count);
        LOBTree root = ff.BlockTable;
        int loaded = 0, buckets = 0;
        for (int i = 0; i < root._len; i++)
        {
            buckets++;
            loaded += root._children[i].PersistentState == PersistentState.Ghost ? 0 : 1;
        }
        Assert.True(buckets > 80, $"{buckets} buckets");
        Assert.True(loaded <= 3, $"{loaded} of {buckets} buckets were loaded to update the follower's snapshot");
        AssertSame(BlockTableSnapshot.Build(ff, after.Before), after);
        Assert.Equal(5002, ZodbTestDb.Read(hf, 5002));
        hf.Dispose();
        tm.Abort();
        follower.Dispose();
        h.Dispose();
        c.Dispose();
    }

    private static int Run(int seed, int steps, int bulk)
    {
        var rnd = new Random(seed);
        using var t = new ZodbTestDb();
        Connection writer = t.Open();
        var f = new ZBigFile(Bs) { BlockFormat = ZBlkFormat.ZBlk0 };
        writer.Root["f"] = f;
        for (long b = 0; b < bulk; b++)
        {
            f.BlockTable[b] = new ZBlk0(); // an empty record: a block of zeros
        }
        writer.TransactionManager.Commit();
        var model = new Dictionary<long, long>();
        long end = bulk;

        var tmF = new TransactionManager();
        Connection follower = t.Db.Open(tmF);
        var ff = follower.Root.Get<ZBigFile>("f");
        var tmE = new TransactionManager();
        Connection editor = t.Db.Open(tmE);
        var fe = editor.Root.Get<ZBigFile>("f");

        FileHandle hw = f.Open(new FileHandleOptions { RamBudget = 64 * Bs });
        FileHandle hf = ff.Open(new FileHandleOptions { RamBudget = 256 * Bs });
        ZBigFileHandle gw = f.OpenHandles()[0], gf = ff.OpenHandles()[0];
        long value = 1;
        for (int step = 0; step < steps; step++)
        {
            // the follower reads some blocks now, so that changes to them must invalidate its pages
            foreach (long b in Sample(rnd, end + 4, 40))
            {
                Assert.Equal(model.GetValueOrDefault(b), ZodbTestDb.Read(hf, b));
            }
            tmE.Begin();
            if (rnd.Next(3) > 0)
            {
                // writes through the handle: appends past the end and holes or blocks anywhere
                int n = rnd.Next(1, 80);
                for (int i = 0; i < n; i++)
                {
                    long b = rnd.Next(4) == 0 ? end++ : rnd.NextInt64(end + 200);
                    end = Math.Max(end, b + 1);
                    ZodbTestDb.Write(hw, b, value);
                    model[b] = value++;
                }
                writer.TransactionManager.Commit();
            }
            else
            {
                // another connection replaces or removes entries in the table itself (buckets shrink and merge)
                LOBTree table = fe.BlockTable;
                long[] keys = [.. table.Keys];
                int n = Math.Min(keys.Length, rnd.Next(1, 150));
                foreach (long b in Sample(rnd, keys.Length, n))
                {
                    long key = keys[b];
                    if (rnd.Next(4) == 0)
                    {
                        table[key] = new ZBlk0();
                    }
                    else
                    {
                        table.Remove(key);
                    }
                    model.Remove(key);
                }
                tmE.Commit();
                writer.TransactionManager.Begin(); // the writer hears it at its next boundary
            }
            tmF.Begin();
            AssertSame(BlockTableSnapshot.Build(f, gw.Snapshot.Before), gw.Snapshot);
            AssertSame(BlockTableSnapshot.Build(ff, gf.Snapshot.Before), gf.Snapshot);
            foreach (long b in Sample(rnd, end + 4, 60))
            {
                Assert.Equal(model.GetValueOrDefault(b), ZodbTestDb.Read(hf, b));
                Assert.Equal(model.GetValueOrDefault(b), ZodbTestDb.Read(hw, b));
            }
        }
        hw.Dispose();
        hf.Dispose();
        tmE.Abort();
        editor.Dispose();
        tmF.Abort();
        follower.Dispose();
        writer.Dispose();
        return steps;
    }

    private static IEnumerable<long> Sample(Random rnd, long range, int n)
    {
        var seen = new HashSet<long>();
        for (int i = 0; i < n && seen.Count < range; i++)
        {
            long b = rnd.NextInt64(range);
            if (seen.Add(b))
            {
                yield return b;
            }
        }
    }

    private static void AssertSame(BlockTableSnapshot expected, BlockTableSnapshot actual)
    {
        Assert.Equal(expected.Before, actual.Before);
        Assert.Equal(expected.Blocks.Count, actual.Blocks.Count);
        foreach ((long b, Oid oid) in expected.Blocks)
        {
            Assert.True(actual.Blocks.TryGetValue(b, out Oid got), $"block {b} missing from the updated snapshot");
            Assert.Equal(oid, got);
            Assert.True(actual.TryGetBlockOf(oid, out long owner) && owner == b, $"ZBlk {oid} does not map back to block {b}");
        }
        foreach (Oid oid in expected.TableObjects)
        {
            // every table object of a full walk is known to the updated snapshot, so no invalidation is missed
            Assert.True(actual.IsTableObject(oid), $"table object {oid} unknown to the updated snapshot");
        }
    }
}
