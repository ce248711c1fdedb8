using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;
using Wendelin.Storage.Tests.Persistence;

namespace Wendelin.Storage.Tests.Undo;

/// <summary>Undo from the object layer (ZODB's DB.undo; spec/undo.md UN-9): connections see the restored state after invalidation.</summary>
public sealed class DatabaseUndoTests
{
    private static Database NewDb() => new(Fs.FileStorage.OpenInMemory(), new DatabaseOptions { Types = Model.Registry() });

    [Fact]
    public void Undo_in_a_transaction_restores_the_state_and_every_connection_sees_it_after_its_boundary()
    {
        using Database db = NewDb();
        using Connection a = db.Open();
        using Connection b = db.Open();
        var node = new Node("n", 1);
        a.Root["n"] = node;
        a.TransactionManager.Commit();
        node.Value = 2;
        a.TransactionManager.Current.Description = "set 2";
        a.TransactionManager.Commit();
        b.TransactionManager.Abort();
        var nb = (Node)b.Root["n"]!;
        Assert.Equal(2, nb.Value);

        UndoLogEntry last = db.UndoLog(0, 1).Single();
        Assert.Equal("set 2", last.DescriptionText);
        var manager = new TransactionManager();
        manager.Current.Description = "undo set 2";
        manager.Current.User = "op";
        db.Undo(last.Id, manager);
        manager.Commit();

        Assert.Equal(2, nb.Value); // b keeps its snapshot until its next boundary
        var invalidated = new List<Oid>();
        b.Invalidated += (_, oids) => invalidated.AddRange(oids);
        b.TransactionManager.Abort();
        Assert.Contains(node.PersistentOid!.Value, invalidated);
        Assert.Equal(1, nb.Value);
        a.TransactionManager.Abort();
        Assert.Equal(1, node.Value); // the connection that made the change sees the undo too
        Assert.Equal("undo set 2", db.UndoLog(0, 1).Single().DescriptionText);
    }

    [Fact]
    public void Undoing_a_creation_and_redoing_it()
    {
        using Database db = NewDb();
        using Connection a = db.Open();
        a.Root["item"] = new Item("x");
        a.TransactionManager.Commit();
        Oid oid = ((Item)a.Root["item"]!).PersistentOid!.Value;
        var m = new TransactionManager();
        db.Undo(db.UndoLog(0, 1)[0].Id, m);
        m.Commit();
        a.TransactionManager.Abort();
        Assert.False(a.Root.ContainsKey("item"));
        Assert.Throws<PosKeyException>(() => db.Storage.Load(oid));
        db.Undo(db.UndoLog(0, 1)[0].Id, m); // undo the undo
        m.Commit();
        a.TransactionManager.Abort();
        Assert.True(a.Root.ContainsKey("item"));
        Assert.NotNull(db.Storage.Load(oid).Data.ToArray());
    }

    [Fact]
    public void A_refused_undo_fails_the_commit_and_everything_stays_usable()
    {
        using Database db = NewDb();
        using Connection a = db.Open();
        var node = new Node("n", 1);
        a.Root["n"] = node;
        a.TransactionManager.Commit();
        node.Value = 2;
        a.TransactionManager.Commit();
        string older = db.UndoLog(0, 1)[0].Id;
        node.Value = 3;
        a.TransactionManager.Commit();
        var m = new TransactionManager();
        db.Undo(older, m);
        var e = Assert.Throws<UndoException>(() => m.Commit());
        Assert.Equal(node.PersistentOid, e.Oid);
        Assert.Equal(3, node.Value);
        node.Value = 4;
        a.TransactionManager.Commit(); // the storage's commit lock was released
        Assert.Throws<UndoException>(() => db.Undo("not an id", m));
    }

    [Fact]
    public void An_undo_beside_changes_through_a_connection_is_refused_without_deadlock()
    {
        using Database db = NewDb();
        using Connection a = db.Open();
        a.Root["x"] = 1L;
        a.TransactionManager.Commit();
        a.Root["x"] = 2L;
        db.Undo(db.UndoLog(0, 1)[0].Id, a.TransactionManager);
        Assert.Throws<InvalidOperationException>(() => a.TransactionManager.Commit());
        Assert.Equal(1L, a.Root["x"]);
        a.Root["x"] = 3L;
        a.TransactionManager.Commit();
        Assert.Equal(3L, a.Root["x"]);
    }

    [Fact]
    public void Undo_rolled_back_with_a_savepoint_writes_nothing()
    {
        using Database db = NewDb();
        using Connection a = db.Open();
        a.Root["x"] = 1L;
        a.TransactionManager.Commit();
        var m = new TransactionManager();
        Savepoint sp = m.Savepoint();
        db.Undo(db.UndoLog(0, 1)[0].Id, m);
        sp.Rollback();
        long size = db.Storage.Size;
        m.Commit();
        Assert.Equal(size, db.Storage.Size);
    }

    [Fact]
    public void A_storage_without_undo_says_so()
    {
        using var db = new Database(new MemoryStorage());
        Assert.Throws<NotSupportedException>(() => db.UndoLog());
        Assert.Throws<NotSupportedException>(() => db.Undo("A9gSNFZ4mrw=", new TransactionManager()));
    }
}
