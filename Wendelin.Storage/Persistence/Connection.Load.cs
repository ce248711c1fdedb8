using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Persistence;

// Loading objects as of the connection's snapshot (spec/objects.md OB-6, OB-31, OB-37).
public sealed partial class Connection
{
    // ---- loading ----

    private (ReadOnlyMemory<byte> Data, Tid Serial) LoadRecord(Oid oid)
    {
        LoadBeforeResult? r = _storage.LoadBefore(oid, _before);
        if (r is null)
        {
            if (_at is not null)
            {
                throw new PosKeyException(oid, $"the object did not exist at {_at}");
            }
            throw new ReadConflictException(oid, Tid.Zero, Tid.Zero, null,
                $"the object does not exist in this connection's snapshot (last transaction {SnapshotTid}); it was created later or removed by a pack");
        }
        return (r.Value.Data, r.Value.Serial);
    }

    /// <summary>Loads a ghost's state (called by <see cref="Persistent.Activate"/>).</summary>
    internal void LoadState(Persistent obj)
    {
        EnsureOpen();
        (ReadOnlyMemory<byte> data, Tid serial) = LoadRecord(obj._oid);
        ZodbRecord record = _reader.ReadRecord(obj._oid, data);
        ApplyState(obj, record, serial);
    }

    private void ApplyState(Persistent obj, ZodbRecord record, Tid serial)
    {
        string? className = record.ClassName;
        if (obj is GenericPersistent g)
        {
            if (record.Module is not null)
            {
                g.Module = record.Module;
                g.Name = record.Name!;
            }
            g.ClassMetadata = record.ClassMetadata;
            g.HadNewArgs = record.Form is ClassMetadataForm.ClassWithArgs or ClassMetadataForm.NameWithArgs;
        }
        object? state = _reader.StateToLive(obj._oid, className, record.State, record.SharesContainers);
        obj._inSetState = true;
        try
        {
            obj.LoadStateFrom(state);
        }
        catch (Exception ex) when (ex is not StorageException)
        {
            obj.DropState();
            throw new ObjectStateException(obj._oid, className, $"its state does not fit the class: {ex.Message}", ex);
        }
        finally
        {
            obj._inSetState = false;
        }
        obj._serial = serial;
        obj._state = PersistentState.UpToDate;
        _cache.Activated(obj);
    }

    /// <summary>An empty instance for a record of class <paramref name="module"/>.<paramref name="name"/> (generic when unregistered).</summary>
    private Persistent Instantiate(Oid oid, string? module, string? name)
    {
        Persistent obj;
        PythonClass? cls = module is null ? null : _types.Find(module, name!);
        obj = cls is not null ? cls.Factory() : new GenericPersistent(module ?? "", name ?? "");
        obj._jar = this;
        obj._oid = oid;
        obj._hasOid = true;
        obj._serial = Tid.Zero;
        obj._state = PersistentState.Ghost;
        return obj;
    }

    /// <summary>The object a persistent reference denotes: cached, else a ghost of the hinted class, else loaded to learn its class.</summary>
    internal Persistent Referenced(Oid oid, string? module, string? name)
    {
        Persistent? obj = _cache.Get(oid);
        if (obj is not null)
        {
            return obj;
        }
        if (module is null)
        {
            // a reference without class (the target's class has new-args): read the class from its record and
            // make a ghost, as ZODB does; the state is loaded on first use (no recursion through references)
            (ReadOnlyMemory<byte> data, _) = LoadRecord(oid);
            ZodbRecord record = _reader.ReadRecord(oid, data);
            module = record.Module ?? "";
            name = record.Name ?? "";
        }
        obj = Instantiate(oid, module, name);
        _cache.Add(obj);
        return obj;
    }

    internal void Touch(Persistent obj) => _cache.Touch(obj);

    /// <summary>
    /// For a caller about to replace the whole state of the ghost <paramref name="obj"/> (array block objects): marks
    /// it up to date at <paramref name="serial"/> — the revision the caller knows is current in this connection's
    /// snapshot — without loading the record it would overwrite anyway. The caller then changes it.
    /// </summary>
    internal void AdoptGhostAt(Persistent obj, Tid serial)
    {
        if (!ReferenceEquals(obj._jar, this) || obj._state != PersistentState.Ghost)
        {
            return;
        }
        obj._serial = serial;
        obj._state = PersistentState.UpToDate;
        _cache.Activated(obj);
    }

    /// <summary>Drops an object's state: it becomes a ghost.</summary>
    internal void Ghostify(Persistent obj)
    {
        if (!obj._hasOid || obj._state == PersistentState.Ghost)
        {
            return;
        }
        obj.DropState();
        obj._state = PersistentState.Ghost;
        _cache.Unlink(obj);
    }
}
