using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>MVCC, invalidation and conflicts between connections (spec/objects.md OB-31..OB-36).</summary>
public sealed class InvalidationTests
{
    private static Database NewDb() => new(new MemoryStorage(), new DatabaseOptions { Types = Model.Registry() });

    [Fact]
    public void B_sees_As_change_after_its_next_boundary_and_not_before()
    {
        using Database db = NewDb();
        using Connection a = db.Open();
        using Connection b = db.Open();
        var node = new Node("n", 1);
        a.Root["n"] = node;
        a.TransactionManager.Commit();
        b.TransactionManager.Abort();
        var nb = (Node)b.Root["n"]!;
        Assert.Equal(1, nb.Value);

        var invalidated = new List<Oid>();
        b.Invalidated += (_, oids) => invalidated.AddRange(oids);
        node.Value = 2;
        a.TransactionManager.Commit();
        // before B's boundary: B keeps its snapshot, even for objects it had not loaded yet
        Assert.Equal(1, nb.Value);
        nb.Deactivate();
        Assert.Equal(1, nb.Value);
        Assert.Empty(invalidated);
        // the boundary (abort, commit or begin)
        b.TransactionManager.Abort();
        Assert.Equal([node.PersistentOid!.Value], invalidated);
        Assert.Equal(PersistentState.Ghost, nb.PersistentState);
        Assert.Equal(2, nb.Value);
        Assert.Equal(a.SnapshotTid, b.SnapshotTid);
    }

    [Fact]
    public void A_conflict_fails_the_second_commit_names_the_object_and_leaves_both_usable()
    {
        using Database db = NewDb();
        using Connection a = db.Open();
        using Connection b = db.Open();
        a.Root["item"] = new Item("x");
        a.TransactionManager.Commit();
        b.TransactionManager.Begin();
        var ia = (Item)a.Root["item"]!;
        var ib = (Item)b.Root["item"]!;
        ia["v"] = 1L;
        ib["v"] = 2L;
        a.TransactionManager.Commit();
        ConflictException ex = Assert.Throws<ConflictException>(b.TransactionManager.Commit);
        Assert.Equal(ia.PersistentOid, ex.Oid);
        Assert.Equal("fixturemodel.Item", ex.ClassName);
        Assert.Contains("fixturemodel.Item", ex.Message, StringComparison.Ordinal);
        // B's transaction was aborted: its change is gone, it now sees A's commit, and it can commit again
        Assert.False(b.TransactionManager.HasCurrent);
        Assert.Equal(1L, ib["v"]);
        ib["v"] = 3L;
        b.TransactionManager.Commit();
        a.TransactionManager.Abort();
        Assert.Equal(3L, ia["v"]);
        ia["w"] = 4L;
        a.TransactionManager.Commit();
    }

    [Fact]
    public void A_btree_split_by_one_connection_conflicts_with_an_insert_below_the_same_node_by_another()
    {
        using Database db = NewDb();
        using Connection a = db.Open();
        using Connection b = db.Open();
        var t = new LOBTree();
        for (long k = 0; k < 200; k++)
        {
            t[k] = k;
        }
        a.Root["t"] = t;
        a.TransactionManager.Commit();
        b.TransactionManager.Abort();
        var tb = (LOBTree)b.Root["t"]!;
        // A changes the tree node (a bucket splits); B only changes a bucket under it
        for (long k = 1000; k < 1100; k++)
        {
            t[k] = k;
        }
        tb[5] = -5L;
        a.TransactionManager.Commit();
        Assert.Throws<ReadConflictException>(b.TransactionManager.Commit);
        Assert.Equal(5L, tb[5]);
        tb.Check();
    }

    [Fact]
    public void New_objects_of_a_failed_commit_become_unsaved_again()
    {
        using Database db = NewDb();
        using Connection a = db.Open();
        using Connection b = db.Open();
        a.Root["k"] = 1L;
        b.Root["k"] = 2L;
        var fresh = new Node("fresh", 0);
        b.Root["fresh"] = fresh;
        a.TransactionManager.Commit();
        Assert.Throws<ConflictException>(b.TransactionManager.Commit);
        Assert.Equal(PersistentState.Unsaved, fresh.PersistentState);
        Assert.Null(fresh.PersistentOid);
        Assert.Equal("fresh", fresh.Name);
        b.Root["fresh"] = fresh;
        b.TransactionManager.Commit();
        Assert.NotNull(fresh.PersistentOid);
    }

    [Fact]
    public void A_historical_connection_sees_the_past_and_cannot_change_it()
    {
        using Database db = NewDb();
        using Connection a = db.Open();
        a.Root["v"] = 1L;
        a.TransactionManager.Commit();
        Tid t1 = db.LastTransaction;
        a.Root["v"] = 2L;
        a.Root["later"] = new Item("later");
        a.TransactionManager.Commit();
        using Connection h = db.OpenAt(t1);
        Assert.True(h.IsReadOnly);
        Assert.Equal(1L, h.Root["v"]);
        Assert.False(h.Root.ContainsKey("later"));
        Assert.Throws<ReadOnlyException>(() => h.Root["v"] = 3L);
        Oid later = ((Item)a.Root["later"]!).PersistentOid!.Value;
        Assert.Throws<PosKeyException>(() => h.Get(later));
        // unaffected by later commits
        a.Root["v"] = 4L;
        a.TransactionManager.Commit();
        h.TransactionManager.Abort();
        Assert.Equal(1L, h.Root["v"]);
    }

    [Fact]
    public void The_cache_keeps_its_target_size_at_boundaries()
    {
        using Database db = new(new MemoryStorage(), new DatabaseOptions { Types = Model.Registry(), CacheSize = 50 });
        using Connection a = db.Open();
        var list = new PersistentList();
        for (int i = 0; i < 300; i++)
        {
            list.Add(new Node("n" + i, i));
        }
        a.Root["list"] = list;
        a.TransactionManager.Commit();
        Assert.True(a.CachedObjectCount <= 50, $"{a.CachedObjectCount} loaded objects after the boundary");
        long sum = 0;
        foreach (Node n in list.Cast<Node>())
        {
            sum += n.Value;
        }
        Assert.Equal(300 * 299 / 2, sum);
        Assert.True(a.CachedObjectCount > 250);
        a.TransactionManager.Abort();
        Assert.True(a.CachedObjectCount <= 50);
        a.CacheMinimize();
        Assert.Equal(0, a.CachedObjectCount);
        Assert.Equal(PersistentState.Ghost, list.PersistentState);
        Assert.Equal(300, list.Count);
    }

    [Fact]
    public void Pooled_connections_are_reused_and_catch_up()
    {
        using Database db = NewDb();
        Connection a = db.Open();
        a.Root["x"] = 1L;
        a.TransactionManager.Commit();
        Assert.Equal(1L, a.Root["x"]);
        a.Dispose();
        using Connection b = db.Open();
        Assert.Same(a, b);
        using Connection c = db.Open();
        c.Root["x"] = 2L;
        c.TransactionManager.Commit();
        b.TransactionManager.Abort();
        Assert.Equal(2L, b.Root["x"]);
        Assert.Equal(2, db.OpenConnectionCount);
    }

    [Fact]
    public void One_manager_can_commit_two_databases_but_not_two_connections_of_one()
    {
        using Database db1 = NewDb();
        using Database db2 = NewDb();
        var tm = new TransactionManager();
        using Connection c1 = db1.Open(tm);
        using Connection c2 = db2.Open(tm);
        c1.Root["x"] = 1L;
        c2.Root["x"] = 2L;
        tm.Commit();
        Assert.Equal(db1.LastTransaction, c1.SnapshotTid);
        Assert.Equal(db2.LastTransaction, c2.SnapshotTid);
        using Connection same = db1.Open(tm);
        c1.Root["y"] = 1L;
        same.Root["z"] = 1L;
        Assert.Throws<InvalidOperationException>(tm.Commit);
        c1.Root["y"] = 2L;
        tm.Commit();
        Assert.Equal(2L, c1.Root["y"]);
    }

    [Fact]
    public void Closing_a_connection_with_changes_is_refused()
    {
        using Database db = NewDb();
        Connection a = db.Open();
        a.Root["x"] = 1L;
        Assert.Throws<InvalidOperationException>(a.Dispose);
        a.TransactionManager.Abort();
        a.Dispose();
    }
}
