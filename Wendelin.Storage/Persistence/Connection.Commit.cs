using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Persistence;

// The connection as a data manager (spec/objects.md OB-21, OB-33): stores its changed and new objects in the
// two-phase commit, ZODB's way — each registered object in registration order with a writer whose new-object
// stack is last-in first-out, so oids are given and records stored in the order Python's ZODB gives them.
public sealed partial class Connection
{
    private StorageTransaction? _storageTransaction;
    private readonly List<Persistent> _stored = [];
    private readonly List<Persistent> _creating = [];
    private Action<Tid, IReadOnlyList<Oid>>? _invalidateOthers; // the commit callback, made once
    private PooledBufferWriter? _recordBuffer;

    void IDataManager.TpcBegin(Transaction transaction)
    {
        EnsureWritable();
        foreach (IDataManager dm in transaction.Resources)
        {
            if (dm is Connection other && !ReferenceEquals(other, this) && ReferenceEquals(other._storage, _storage) && other._storageTransaction is not null)
            {
                // the storage commits one transaction at a time: a second TpcBegin would wait for ever
                throw new InvalidOperationException(
                    "two connections to the same storage take part in one transaction; use one connection per database and transaction manager");
            }
        }
        TransactionMetadata metadata = transaction.HasExtension
            ? new TransactionMetadata(transaction.User, transaction.Description, transaction.Extension)
            {
                ExtensionBytes = ObjectWriter.ExtensionBytes(transaction.Extension),
            }
            : new TransactionMetadata(transaction.User, transaction.Description);
        _storageTransaction = _storage.TpcBegin(metadata);
    }

    void IDataManager.Commit(Transaction transaction)
    {
        StorageTransaction stxn = _storageTransaction ?? throw new StorageTransactionException("commit before tpc_begin");
        // the list can grow while we store (an object's GetState may change or add others)
        for (int i = 0; i < _registered.Count; i++)
        {
            Persistent obj = _registered[i];
            if (!ReferenceEquals(obj._jar, this))
            {
                throw new InvalidObjectReferenceException($"{obj} was registered with a connection it does not belong to");
            }
            if (obj._state != PersistentState.Changed)
            {
                continue;
            }
            var writer = new ObjectWriter(this, obj, addNewObjects: false);
            while (writer.TryPop(out Persistent? next))
            {
                Store(stxn, writer, next);
            }
        }
        // after the stores, as ZODB does
        foreach ((Oid oid, Tid serial) in _readCurrent)
        {
            try
            {
                _storage.CheckCurrentSerial(stxn, oid, serial);
            }
            catch (ReadConflictException ex) when (ex.ClassName is null)
            {
                Persistent? obj = _cache.Get(oid);
                throw new ReadConflictException(ex.Oid, ex.CommittedSerial, ex.GivenSerial, obj is null ? null : ClassNameOf(obj),
                    "an object this transaction relied on was changed by another transaction");
            }
        }
    }

    private void Store(StorageTransaction stxn, ObjectWriter writer, Persistent obj)
    {
        // one record buffer per connection, reused record after record (storages copy what they are given)
        PooledBufferWriter record = _recordBuffer ??= new PooledBufferWriter(4096 + 256);
        record.Reset();
        try
        {
            if (_storage is IPayloadStorage parts)
            {
                // OB-33a: a large payload (a block) goes to the storage from its owner's memory, not through the record buffer
                writer.Serialize(obj, record, parts.DirectPayloadBytes, out long at, out ReadOnlyMemory<byte> payload);
                if (at >= 0)
                {
                    ReadOnlySpan<byte> bytes = record.WrittenSpan;
                    parts.Store(stxn, obj._oid, obj._serial, bytes[..(int)at], payload.Span, bytes[(int)at..]);
                }
                else
                {
                    _storage.Store(stxn, obj._oid, obj._serial, record.WrittenMemory);
                }
            }
            else
            {
                writer.Serialize(obj, record);
                _storage.Store(stxn, obj._oid, obj._serial, record.WrittenMemory);
            }
        }
        catch (ConflictException ex) when (ex.ClassName is null && ex is not ReadConflictException)
        {
            throw new ConflictException(ex.Oid, ex.CommittedSerial, ex.GivenSerial, ClassNameOf(obj),
                "another transaction changed the object after this one read it");
        }
        _stored.Add(obj);
    }

    /// <summary>The record buffer is kept between transactions up to this size.</summary>
    private const int RecordBufferKept = 64 << 10;

    void IDataManager.TpcVote(Transaction transaction) =>
        _storage.TpcVote(_storageTransaction ?? throw new StorageTransactionException("tpc_vote before tpc_begin"));

    void IDataManager.TpcFinish(Transaction transaction)
    {
        StorageTransaction stxn = _storageTransaction ?? throw new StorageTransactionException("tpc_finish before tpc_begin");
        Tid tid = _storage.TpcFinish(stxn, _invalidateOthers ??= (t, oids) => _db.Invalidate(t, oids, this));
        foreach (Persistent obj in _stored)
        {
            obj._serial = tid;
            if (obj._state == PersistentState.Changed)
            {
                obj._state = PersistentState.UpToDate;
            }
        }
        foreach (Persistent obj in _registered)
        {
            obj._registered = false;
            if (obj._state == PersistentState.Changed)
            {
                // every changed registered object was stored by Commit
                obj._state = PersistentState.UpToDate;
            }
        }
        ResetTransactionState();
    }

    void IDataManager.TpcAbort(Transaction transaction) => AbortChanges();

    void IDataManager.Abort(Transaction transaction) => AbortChanges();

    /// <summary>Forgets this transaction's changes: changed objects become ghosts, new ones become unsaved again.</summary>
    private void AbortChanges()
    {
        if (_storageTransaction is not null)
        {
            // releases the storage's commit lock (ignored once finished)
            _storage.TpcAbort(_storageTransaction);
            _storageTransaction = null;
        }
        foreach (Persistent obj in _registered)
        {
            obj._registered = false;
            if (_added.ContainsKey(obj._oid) && ReferenceEquals(_added[obj._oid], obj))
            {
                continue;
            }
            if (obj._state == PersistentState.Changed && ReferenceEquals(obj._jar, this))
            {
                obj.NotifyInvalidate();
                Ghostify(obj);
            }
        }
        foreach (Persistent obj in _added.Values)
        {
            Detach(obj);
        }
        foreach (Persistent obj in _creating)
        {
            if (ReferenceEquals(obj._jar, this))
            {
                Detach(obj);
            }
        }
        ResetTransactionState();
    }

    private void ResetTransactionState()
    {
        if (_recordBuffer is { Capacity: > RecordBufferKept })
        {
            _recordBuffer.Dispose(); // a large record (a ZBlk0 block) is not held between transactions
            _recordBuffer = null;
        }
        _registered.Clear();
        _added.Clear();
        _stored.Clear();
        _creating.Clear();
        _readCurrent.Clear();
        _storageTransaction = null;
        _joinedTo = null;
    }

    /// <summary>Gives an oid to a new object found while storing another (ZODB's implicit add); stored by the same writer.</summary>
    internal void AddImplicitly(Persistent obj, bool register)
    {
        if (register)
        {
            AddNew(obj, _storage.NewOid());
            return;
        }
        obj._jar = this;
        obj._oid = _storage.NewOid();
        obj._hasOid = true;
        obj._serial = Tid.Zero;
        obj._state = PersistentState.Changed;
        obj._pidOid = null;
        _cache.Add(obj);
        _creating.Add(obj);
    }

    /// <summary>The class part of <paramref name="obj"/>'s record: its registered class (with new-args when it has them), or a generic object's own.</summary>
    internal PickleValue ClassMetadataOf(Persistent obj)
    {
        if (obj is GenericPersistent g)
        {
            if (g.ClassMetadata is { } raw)
            {
                return raw;
            }
            if (g.Module.Length == 0)
            {
                throw new InvalidOperationException("a GenericPersistent needs a class name to be stored");
            }
            return new PickleGlobal(g.Module, g.Name);
        }
        PythonClass cls = _types.ClassOf(obj.GetType());
        PickleGlobal global = cls.Global;
        PyTuple? newArgs = obj.NewArgs();
        return newArgs is null ? global : new PickleTuple(global, ObjectWriter.ToPickleStandalone(newArgs));
    }

    internal string ClassNameOf(Persistent obj) => obj is GenericPersistent g ? g.ClassName : _types.ClassOf(obj.GetType()).FullName;

    // ---- savepoints (OB-23) ----

    IDataManagerSavepoint IDataManager.Savepoint(Transaction transaction)
    {
        var writer = new ObjectWriter(this, null, addNewObjects: true);
        var saved = new List<(Persistent Obj, byte[]? Record)>(_registered.Count);
        for (int i = 0; i < _registered.Count; i++)
        {
            Persistent obj = _registered[i];
            saved.Add((obj, obj._state == PersistentState.Changed ? writer.Serialize(obj) : null));
        }
        return new ConnectionSavepoint(this, saved, [.. _added.Values], _readCurrent.Count);
    }

    private sealed class ConnectionSavepoint(Connection conn, List<(Persistent Obj, byte[]? Record)> saved, Persistent[] added, int readCurrentCount)
        : IDataManagerSavepoint
    {
        public void Rollback() => conn.RollbackTo(saved, added, readCurrentCount);
    }

    private void RollbackTo(List<(Persistent Obj, byte[]? Record)> saved, Persistent[] added, int readCurrentCount)
    {
        var keep = new HashSet<Persistent>(ReferenceEqualityComparer.Instance);
        foreach ((Persistent obj, _) in saved)
        {
            keep.Add(obj);
        }
        var addedThen = new HashSet<Persistent>(added, ReferenceEqualityComparer.Instance);
        foreach (Persistent obj in _registered)
        {
            if (keep.Contains(obj))
            {
                continue;
            }
            obj._registered = false;
            if (addedThen.Contains(obj))
            {
                continue;
            }
            if (_added.TryGetValue(obj._oid, out Persistent? a) && ReferenceEquals(a, obj))
            {
                _added.Remove(obj._oid);
                Detach(obj);
            }
            else if (obj._state == PersistentState.Changed)
            {
                obj.NotifyInvalidate();
                Ghostify(obj);
            }
        }
        _registered.Clear();
        foreach ((Persistent obj, byte[]? record) in saved)
        {
            obj._registered = true;
            _registered.Add(obj);
            if (record is null)
            {
                continue;
            }
            ZodbRecord rec = _reader.ReadRecord(obj._oid, record);
            object? state = _reader.StateToLive(obj._oid, rec.ClassName, rec.State);
            obj._inSetState = true;
            try
            {
                obj.DropState();
                obj.LoadStateFrom(state);
            }
            finally
            {
                obj._inSetState = false;
            }
            obj._state = PersistentState.Changed;
            _cache.Activated(obj);
        }
        _added.Clear();
        foreach (Persistent obj in added)
        {
            _added[obj._oid] = obj;
        }
        while (_readCurrent.Count > readCurrentCount)
        {
            _readCurrent.RemoveAt(_readCurrent.Count - 1);
        }
    }
}
