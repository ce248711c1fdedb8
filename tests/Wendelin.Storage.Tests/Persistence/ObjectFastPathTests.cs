using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>
/// The object layer's fast paths: loading without the sharing memo when a record shares nothing (OB-10) — shared and
/// cyclic values still load as one instance, unshared ones as distinct ones, and what is written back is the record
/// that was read; and writing the attribute dictionary without copying it (OB-3) — hidden names still left out,
/// overridden state hooks still used.
/// </summary>
public sealed class ObjectFastPathTests
{
    [Fact]
    public void Shared_and_cyclic_values_load_shared_and_plain_ones_load_apart()
    {
        var storage = new MemoryStorage();
        using var db = new Database(storage, new DatabaseOptions { OwnsStorage = false });
        var shared = new List<object?> { "x", 1L };
        var cycle = new List<object?>();
        cycle.Add(cycle);
        using (Connection conn = db.Open())
        {
            conn.Root["a"] = shared;
            conn.Root["b"] = shared;
            conn.Root["cycle"] = cycle;
            conn.Root["c"] = new List<object?> { "y" };
            conn.Root["d"] = new List<object?> { "y" };
            conn.Root["n"] = 7L;
            conn.Root["big"] = 1L << 40;
            conn.TransactionManager.Commit();
        }
        LoadResult before = storage.Load(Oid.Root);
        using (Connection conn = db.Open())
        {
            conn.CacheMinimize();
            PersistentMapping root = conn.Root;
            Assert.Same(root["a"], root["b"]);
            var c = (List<object?>)root["cycle"]!;
            Assert.Same(c, c[0]);
            Assert.NotSame(root["c"], root["d"]);
            Assert.Equal(root["c"], root["d"]);
            Assert.Equal(7L, root["n"]);
            Assert.Equal(1L << 40, root["big"]);
            root.MarkChanged(); // stored again unchanged: the same bytes
            conn.TransactionManager.Commit();
        }
        Assert.Equal(before.Data.ToArray(), storage.Load(Oid.Root).Data.ToArray());
    }

    [Fact]
    public void Attribute_names_of_loaded_objects_are_one_instance_and_write_back_unchanged()
    {
        var storage = new MemoryStorage();
        using var db = new Database(storage, new DatabaseOptions { Types = Model.Registry(), OwnsStorage = false });
        using (Connection conn = db.Open())
        {
            conn.Root["x"] = new Node("first", 1);
            conn.Root["y"] = new Node("second", 2);
            conn.TransactionManager.Commit();
        }
        using (Connection conn = db.Open())
        {
            var x = (Node)conn.Root["x"]!;
            var y = (Node)conn.Root["y"]!;
            Oid xo = x.PersistentOid!.Value;
            byte[] record = storage.Load(xo).Data.ToArray();
            Assert.Equal("first", x.Name);
            Assert.Equal("second", y.Name);
            x.Value = 1; // the same value: the record written must be the one read
            conn.TransactionManager.Commit();
            Assert.Equal(record, storage.Load(xo).Data.ToArray());
        }
    }

    private sealed class Plain : Persistent
    {
        public void Put(string name, object? value) => SetAttribute(name, value);

        public object? Attribute(string name) => GetAttribute<object?>(name);
    }

    private sealed class Extended : Persistent
    {
        public void Put(string name, object? value) => SetAttribute(name, value);

        protected override object? GetState()
        {
            var state = (OrderedDictionary<string, object?>)base.GetState()!;
            state["extra"] = 1L;
            return state;
        }
    }

    [Fact]
    public void The_attribute_dictionary_is_written_as_get_state_would_give_it()
    {
        var storage = new MemoryStorage();
        var types = new TypeRegistry();
        types.Register<Plain>("t", "C");
        types.Register<Extended>("t", "C2");
        using var db = new Database(storage, new DatabaseOptions { Types = types, OwnsStorage = false });
        using Connection conn = db.Open();
        var a = new Plain();
        a.Put("x", 1L);
        a.Put("y", "text");
        var b = new Plain();
        b.Put("x", 1L);
        b.Put("_v_cache", "volatile");
        b.Put("y", "text");
        b.Put("_p_hidden", 2L);
        var c = new Extended();
        c.Put("x", 1L);
        conn.Root["a"] = a;
        conn.Root["b"] = b;
        conn.Root["c"] = c;
        conn.TransactionManager.Commit();
        byte[] ra = storage.Load(a.PersistentOid!.Value).Data.ToArray();
        byte[] rb = storage.Load(b.PersistentOid!.Value).Data.ToArray();
        Assert.Equal(ra, rb); // hidden names are not stored
        var rc = Storage.Pickle.ZodbRecord.Read(storage.Load(c.PersistentOid!.Value).Data);
        Assert.Equal(1L, rc.State.AsDict()["extra"].AsInt64()); // the override is used
        Assert.Equal("volatile", b.Attribute("_v_cache")); // and kept in memory
    }
}
