using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>Connection details (spec/objects.md OB-1..OB-6, OB-9, OB-23, OB-31, OB-37).</summary>
public sealed class ConnectionTests
{
    private static Database NewDb(MemoryStorage? storage = null) =>
        new(storage ?? new MemoryStorage(), new DatabaseOptions { Types = Model.Registry() });

    [Fact]
    public void Savepoint_rollback_restores_changed_objects_and_forgets_later_ones()
    {
        using Database db = NewDb();
        using Connection conn = db.Open();
        var a = new Node("a", 1);
        var b = new Node("b", 2);
        conn.Root["a"] = a;
        conn.Root["b"] = b;
        conn.TransactionManager.Commit();

        a.Value = 10;
        var fresh = new Node("fresh", 3);
        conn.Root["fresh"] = fresh;
        Savepoint sp = conn.TransactionManager.Savepoint();
        Assert.NotNull(fresh.PersistentOid);
        a.Value = 11;
        b.Value = 20;
        var later = new Item("later");
        conn.Add(later);
        conn.Root["later"] = later;
        sp.Rollback();
        Assert.Equal(10, a.Value);
        Assert.Equal(PersistentState.Changed, a.PersistentState);
        Assert.Equal(2, b.Value);
        Assert.Equal(PersistentState.UpToDate, b.PersistentState);
        Assert.Equal(PersistentState.Unsaved, later.PersistentState);
        Assert.False(conn.Root.ContainsKey("later"));
        Assert.Same(fresh, conn.Root["fresh"]);
        conn.TransactionManager.Commit();

        using Connection other = db.Open();
        Assert.Equal(10, ((Node)other.Root["a"]!).Value);
        Assert.Equal(3, ((Node)other.Root["fresh"]!).Value);
        Assert.False(other.Root.ContainsKey("later"));
    }

    [Fact]
    public void Unknown_classes_can_be_inspected_changed_and_are_written_back_unchanged()
    {
        var storage = new MemoryStorage();
        Oid oid;
        byte[] original;
        using (var db = new Database(storage, new DatabaseOptions { Types = Model.Registry(), OwnsStorage = false }))
        using (Connection conn = db.Open())
        {
            var item = new Item("x");
            item["n"] = 5L;
            conn.Root["item"] = item;
            conn.TransactionManager.Commit();
            oid = item.PersistentOid!.Value;
            original = storage.Load(oid).Data.ToArray();
        }
        using (var db = new Database(storage, new DatabaseOptions { Types = new TypeRegistry(), OwnsStorage = false }))
        using (Connection conn = db.Open())
        {
            var g = Assert.IsType<GenericPersistent>(conn.Root["item"]);
            Assert.Equal("fixturemodel.Item", g.ClassName);
            Assert.Equal(5L, g.GetAttributeValue("n"));
            // re-stored as it is: the same bytes
            g.MarkChanged();
            conn.TransactionManager.Commit();
            Assert.Equal(original, storage.Load(oid).Data.ToArray());
            var state = (OrderedDictionary<string, object?>)g.State!;
            state["n"] = 6L;
            g.ReplaceState(state);
            conn.TransactionManager.Commit();
        }
        using (var db = new Database(storage, new DatabaseOptions { Types = Model.Registry(), OwnsStorage = false }))
        using (Connection conn = db.Open())
        {
            Assert.Equal(6L, ((Item)conn.Root["item"]!)["n"]);
        }
    }

    private sealed class Watched : Persistent
    {
        public int Invalidations;

        public bool Live { get; set; }

        protected override bool KeepInCache => Live;

        protected override void OnInvalidate() => Invalidations++;

        public long Value
        {
            get => GetAttribute<long>("value");
            set => SetAttribute("value", value);
        }
    }

    [Fact]
    public void Invalidation_calls_the_hook_and_cache_trimming_spares_live_objects()
    {
        var types = Model.Registry();
        types.Register<Watched>("wendelin_tests", "Watched");
        using var db = new Database(new MemoryStorage(), new DatabaseOptions { Types = types, CacheSize = 0 });
        using Connection a = db.Open();
        using Connection b = db.Open();
        a.Root["w"] = new Watched { Value = 1 };
        a.Root["live"] = new Watched { Value = 1 };
        a.TransactionManager.Commit();
        b.TransactionManager.Abort();
        var wb = (Watched)b.Root["w"]!;
        var live = (Watched)b.Root["live"]!;
        live.Live = true;
        Assert.Equal(1, wb.Value);
        Assert.Equal(1, live.Value);
        b.CacheGC();
        Assert.Equal(PersistentState.Ghost, wb.PersistentState);
        Assert.Equal(PersistentState.UpToDate, live.PersistentState);
        Assert.Equal(0, wb.Invalidations);
        ((Watched)a.Root["live"]!).Value = 2;
        a.TransactionManager.Commit();
        b.TransactionManager.Abort();
        Assert.Equal(1, live.Invalidations);
        Assert.Equal(PersistentState.Ghost, live.PersistentState);
        Assert.Equal(2, live.Value);
        // aborting one's own change is an invalidation too
        live.Value = 3;
        b.TransactionManager.Abort();
        Assert.Equal(2, live.Invalidations);
        Assert.Equal(2, live.Value);
        // a ghost hears about a change too
        b.CacheMinimize();
        Assert.Equal(PersistentState.Ghost, wb.PersistentState);
        ((Watched)a.Root["w"]!).Value = 9;
        a.TransactionManager.Commit();
        b.TransactionManager.Abort();
        Assert.Equal(1, wb.Invalidations);
        Assert.Equal(9, wb.Value);
    }

    [Fact]
    public void A_corrupt_record_raises_an_object_state_exception_naming_the_object()
    {
        var storage = new MemoryStorage();
        using Database db = NewDb(storage);
        Oid oid = storage.NewOid();
        StorageTransaction t = storage.TpcBegin(new TransactionMetadata());
        storage.Store(t, oid, Tid.Zero, ZodbPickle.WriteRecord(new PickleGlobal("fixturemodel", "Node"), PickleInt.Of(3)));
        Oid bad = storage.NewOid();
        storage.Store(t, bad, Tid.Zero, new byte[] { 0x80, 0x03, 0x63 });
        Oid tree = storage.NewOid();
        storage.Store(t, tree, Tid.Zero, ZodbPickle.WriteRecord(new PickleGlobal("BTrees.LOBTree", "LOBTree"), new PickleStr("nonsense")));
        storage.TpcVote(t);
        storage.TpcFinish(t);
        using Connection conn = db.Open();
        var node = (Node)conn.Get(oid);
        Assert.Equal(PersistentState.UpToDate, node.PersistentState);
        Assert.Equal(3L, node.StateForWrite());
        ObjectStateException e1 = Assert.Throws<ObjectStateException>(() => conn.Get(bad));
        Assert.Equal(bad, e1.Oid);
        ObjectStateException e2 = Assert.Throws<ObjectStateException>(() => conn.Get(tree));
        Assert.Equal("BTrees.LOBTree.LOBTree", e2.ClassName);
    }

    [Fact]
    public void Objects_created_after_the_snapshot_and_foreign_objects_are_refused()
    {
        using Database db = NewDb();
        using Connection a = db.Open();
        using Connection b = db.Open();
        b.TransactionManager.Begin();
        var n = new Node("n", 1);
        a.Root["n"] = n;
        a.TransactionManager.Commit();
        Assert.Throws<ReadConflictException>(() => b.Get(n.PersistentOid!.Value));
        b.TransactionManager.Abort();
        Assert.Equal(1, b.Get<Node>(n.PersistentOid!.Value).Value);
        b.Root["stolen"] = n;
        Assert.Throws<InvalidObjectReferenceException>(b.TransactionManager.Commit);
        Assert.Throws<InvalidObjectReferenceException>(() => b.Add(n));
        Assert.Throws<PosKeyException>(() => a.Get(new Oid(999)));
    }

    [Fact]
    public void ReadCurrent_makes_a_commit_fail_when_the_object_changed()
    {
        using Database db = NewDb();
        using Connection a = db.Open();
        using Connection b = db.Open();
        a.Root["n"] = new Node("n", 1);
        a.Root["other"] = new Node("o", 1);
        a.TransactionManager.Commit();
        b.TransactionManager.Abort();
        var nb = (Node)b.Root["n"]!;
        b.ReadCurrent(nb);
        ((Node)b.Root["other"]!).Value = 5;
        ((Node)a.Root["n"]!).Value = 2;
        a.TransactionManager.Commit();
        ReadConflictException e = Assert.Throws<ReadConflictException>(b.TransactionManager.Commit);
        Assert.Equal(nb.PersistentOid, e.Oid);
    }

    [Fact]
    public void Tuples_states_and_new_args_round_trip()
    {
        using Database db = NewDb();
        using Connection conn = db.Open();
        var target = new Node("t", 0);
        var pair = new Pair { Size = 7, Target = target };
        conn.Root["pair"] = pair;
        conn.Root["set"] = new OOTreeSet { };
        conn.TransactionManager.Commit();
        using Connection other = db.Open();
        var p = (Pair)other.Root["pair"]!;
        Assert.Equal(7, p.Size);
        Assert.Equal("t", ((Node)p.Target!).Name);
    }
}
