using Wendelin.Storage;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;
using Wendelin.Storage.Pickle;

namespace Wendelin.Fuzz;

/// <summary>
/// Fuzz target "objects" (fuzz/README.md): bytes in as the record of one object, loaded through a Database and
/// Connection with the built-in classes (mappings, lists, BTrees; anything else generic), used, checked and written
/// back. Loading may only fail with <see cref="ObjectStateException"/> (or the storage family for a reference
/// without class to a missing object); using a loaded object with the storage
/// family (a reference to a missing object) or <see cref="BTreeInvariantException"/> (a damaged tree); writing a
/// loaded object back must succeed and load again to the same state (spec/objects.md OB-6, OB-9, OB-44).
/// </summary>
internal static class ObjectsTarget
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        var storage = new MemoryStorage();
        using var db = new Database(storage);
        Oid oid = storage.NewOid();
        StorageTransaction t = storage.TpcBegin(new TransactionMetadata());
        storage.Store(t, oid, Tid.Zero, input.ToArray());
        storage.TpcVote(t);
        storage.TpcFinish(t);
        using Connection conn = db.Open();
        Persistent obj;
        try
        {
            obj = conn.Get(oid);
        }
        catch (StorageException)
        {
            // ObjectStateException, or a reference without class to a missing object (PosKeyException)
            return;
        }
        try
        {
            switch (obj)
            {
                case ICheckedTree tree:
                    tree.CheckTree();
                    _ = tree.CountItems();
                    break;
                case PersistentMapping m:
                    _ = m.Count;
                    break;
                case PersistentList l:
                    _ = l.Count;
                    break;
                case GenericPersistent g:
                    _ = g.State;
                    break;
            }
        }
        catch (StorageException)
        {
        }
        catch (BTreeInvariantException)
        {
        }
        PickleValue before = ObjectWriter.StateAsPickle(conn, obj);
        byte[] again = new ObjectWriter(conn, null, addNewObjects: false).Serialize(obj);
        ZodbRecord back = ZodbRecord.Read(again);
        if (!back.State.Equals(before))
        {
            throw new InvalidOperationException("a loaded object's state changed through write + read");
        }
    }
}
