using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Persistence;

/// <summary>
/// A view of a <see cref="Database"/> for one unit of work at a time (ZODB's <c>Connection</c>, spec/objects.md
/// OB-30..OB-37). It loads objects as of its snapshot — the last transaction committed when its current
/// transaction began — keeps them in its cache, and stores the new and changed ones when its
/// <see cref="TransactionManager"/> commits. Other connections' commits reach it at its next transaction boundary
/// (commit, abort or begin), when the objects they changed become ghosts. A connection and its objects are used
/// by one thread at a time; <see cref="Dispose"/> returns it to the database's pool.
/// </summary>
public sealed partial class Connection : IDataManager, ISynchronizer, IDisposable
{
    private readonly Database _db;
    private readonly IStorage _storage;
    private readonly TypeRegistry _types;
    private readonly ObjectCache _cache;
    private readonly ObjectReader _reader;
    private readonly Tid? _at;
    private TransactionManager _tm;
    private Tid _before;
    private bool _open;
    private readonly List<Persistent> _registered = [];
    private readonly Dictionary<Oid, Persistent> _added = [];
    private readonly OrderedDictionary<Oid, Tid> _readCurrent = [];
    private Transaction? _joinedTo;
    private readonly List<ISynchronizer> _followers = [];

    // invalidations queued by other connections' commits (guarded by the database lock)
    internal HashSet<Oid> _pendingInvalidations = [];

    internal Connection(Database db, TransactionManager tm, Tid? at, int cacheSize)
    {
        _db = db;
        _storage = db.Storage;
        _types = db.Types;
        _tm = tm;
        _at = at;
        _cache = new ObjectCache(cacheSize);
        _reader = new ObjectReader(this);
    }

    public Database Database => _db;

    /// <summary>The transaction manager whose transactions this connection takes part in.</summary>
    public TransactionManager TransactionManager => _tm;

    /// <summary>True for a historical connection (opened at a past tid): it cannot change anything.</summary>
    public bool IsReadOnly => _at is not null;

    /// <summary>For a historical connection, the tid it views; null otherwise.</summary>
    public Tid? At => _at;

    /// <summary>The last transaction this connection sees (its snapshot).</summary>
    public Tid SnapshotTid => new(_before.Value - 1);

    /// <summary>The database root, a <see cref="PersistentMapping"/> at oid 0.</summary>
    public PersistentMapping Root => Get(Oid.Root) as PersistentMapping
        ?? throw new ObjectStateException(Oid.Root, null, "the root object is not a PersistentMapping");

    /// <summary>How many loaded objects the cache keeps at a transaction boundary (older up-to-date ones become ghosts).</summary>
    public int CacheSize
    {
        get => _cache.TargetSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _cache.TargetSize = value;
        }
    }

    /// <summary>Number of loaded (non-ghost) objects in the cache.</summary>
    public int CachedObjectCount => _cache.ActiveCount;

    /// <summary>
    /// Raised on this connection's thread at a transaction boundary with the oids other connections changed
    /// since the previous one (after those objects became ghosts). Array files use it to drop stale pages.
    /// </summary>
    public event Action<Connection, IReadOnlyCollection<Oid>>? Invalidated;

    /// <summary>Orders this connection among the participants of a commit: the storage name (ZODB <c>sortKey</c>).</summary>
    public string SortKey => _storage.Name;

    internal TypeRegistry Types => _types;

    internal IStorage Storage => _storage;

    /// <summary>
    /// The object with <paramref name="oid"/>: the cached one, or loaded as of this connection's snapshot.
    /// <see cref="PosKeyException"/> when there is no such object; <see cref="ReadConflictException"/> when it
    /// was created after the snapshot.
    /// </summary>
    public Persistent Get(Oid oid)
    {
        EnsureOpen();
        Persistent? obj = _cache.Get(oid);
        if (obj is not null)
        {
            return obj;
        }
        (ReadOnlyMemory<byte> data, Tid serial) = LoadRecord(oid);
        ZodbRecord record = _reader.ReadRecord(oid, data);
        obj = Instantiate(oid, record.Module, record.Name);
        _cache.Add(obj);
        ApplyState(obj, record, serial);
        return obj;
    }

    /// <summary>The object with <paramref name="oid"/> as <typeparamref name="T"/>.</summary>
    public T Get<T>(Oid oid)
        where T : Persistent =>
        Get(oid) as T ?? throw new InvalidCastException($"object {oid} is not a {typeof(T).Name}");

    /// <summary>
    /// Adds a new object: it gets an oid now and is stored at the next commit (objects reachable from stored
    /// objects are added implicitly at commit; this is for objects to be found by oid).
    /// </summary>
    public void Add(Persistent obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        EnsureOpen();
        if (ReferenceEquals(obj._jar, this))
        {
            return;
        }
        if (obj._jar is not null)
        {
            throw new InvalidObjectReferenceException($"{obj} belongs to another connection");
        }
        EnsureWritable();
        _ = ClassMetadataOf(obj);
        AddNew(obj, _storage.NewOid());
    }

    /// <summary>
    /// Insists that <paramref name="obj"/> is unchanged by others when this transaction commits (ZODB
    /// <c>readCurrent</c>): the commit fails with <see cref="ReadConflictException"/> otherwise.
    /// </summary>
    public void ReadCurrent(Persistent obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        EnsureOpen();
        if (!ReferenceEquals(obj._jar, this) || !obj._hasOid)
        {
            return;
        }
        obj.Activate();
        if (obj._serial == Tid.Zero)
        {
            return;
        }
        EnsureWritable();
        _readCurrent[obj._oid] = obj._serial;
        JoinTransaction();
    }

    /// <summary>
    /// A BTree walked this up-to-date interior node to change something below it (persistent's <c>readCurrent</c>):
    /// the commit checks the node is still current, so two transactions cannot split one node two ways.
    /// </summary>
    internal void NoteReadCurrent(Persistent obj)
    {
        if (_at is null && obj._serial != Tid.Zero)
        {
            _readCurrent.TryAdd(obj._oid, obj._serial);
        }
    }

    /// <summary>Turns every up-to-date object into a ghost (ZODB <c>cacheMinimize</c>).</summary>
    public void CacheMinimize()
    {
        EnsureOpen();
        _cache.Collect(0, Ghostify);
    }

    /// <summary>Trims the cache to <see cref="CacheSize"/> now (ZODB <c>cacheGC</c>); this also happens at every transaction boundary.</summary>
    public void CacheGC()
    {
        EnsureOpen();
        _cache.Collect(_cache.TargetSize, Ghostify);
    }

    /// <summary>Returns the connection to the database's pool. Throws when it has uncommitted changes.</summary>
    public void Dispose()
    {
        if (!_open)
        {
            return;
        }
        if (_joinedTo is not null && _joinedTo.Status is TransactionStatus.Active or TransactionStatus.Doomed or TransactionStatus.Committing)
        {
            throw new InvalidOperationException("cannot close a connection that takes part in a transaction: commit or abort first");
        }
        _tm.UnregisterSynchronizer(this);
        foreach (ISynchronizer f in _followers)
        {
            _tm.UnregisterSynchronizer(f);
        }
        _open = false;
        Closing?.Invoke(this);
        _db.Release(this);
    }

    // ---- followers: helpers that live with the connection (wendelin's on-open/on-close hooks, WC §1.3) ----

    /// <summary>
    /// Registers <paramref name="synchronizer"/> with whatever transaction manager this connection is opened with,
    /// now and at every reopen from the pool, always after the connection itself (so it hears a boundary after
    /// the connection moved its snapshot). Array file handles use it to join commits and to drop aborted pages.
    /// </summary>
    internal void Follow(ISynchronizer synchronizer)
    {
        if (_followers.Contains(synchronizer))
        {
            return;
        }
        _followers.Add(synchronizer);
        if (_open)
        {
            _tm.RegisterSynchronizer(synchronizer);
        }
    }

    /// <summary>Undoes <see cref="Follow"/>.</summary>
    internal void Unfollow(ISynchronizer synchronizer)
    {
        _followers.Remove(synchronizer);
        _tm.UnregisterSynchronizer(synchronizer);
    }

    /// <summary>Raised when the connection is returned to the pool (<see cref="Dispose"/>), before it is pooled.</summary>
    internal event Action<Connection>? Closing;

    /// <summary>Raised when the connection is closed for good (dropped from a full pool, historical, or the database disposed).</summary>
    internal event Action<Connection>? ClosedForGood;

    public override string ToString() => $"<Connection to {_storage.Name}{(_at is { } at ? $" at {at}" : "")}>";

    // ---- lifecycle (called by the database) ----

    internal void Open(TransactionManager tm)
    {
        _tm = tm;
        _open = true;
        tm.RegisterSynchronizer(this);
        Sync();
        foreach (ISynchronizer f in _followers)
        {
            tm.RegisterSynchronizer(f);
        }
    }

    internal void CloseForGood()
    {
        ClosedForGood?.Invoke(this);
        foreach (Persistent obj in _cache.LiveObjects())
        {
            if (obj._state is PersistentState.UpToDate)
            {
                Ghostify(obj);
            }
        }
        _cache.Clear();
    }

    private void EnsureOpen()
    {
        if (!_open)
        {
            throw new InvalidOperationException("the connection is closed");
        }
    }

    private void EnsureWritable()
    {
        if (_at is not null)
        {
            throw new ReadOnlyException($"the connection is a read-only view of the database at {_at}");
        }
    }

    // ---- changes ----

    /// <summary>An up-to-date object is about to change (called by <see cref="Persistent.WriteAccess"/>).</summary>
    internal void RegisterChanged(Persistent obj)
    {
        EnsureOpen();
        EnsureWritable();
        obj._state = PersistentState.Changed;
        Register(obj);
    }

    private void Register(Persistent obj)
    {
        if (!obj._registered)
        {
            obj._registered = true;
            _registered.Add(obj);
        }
        JoinTransaction();
    }

    private void JoinTransaction()
    {
        Transaction txn = _tm.Current;
        if (!ReferenceEquals(_joinedTo, txn))
        {
            txn.Join(this);
            _joinedTo = txn;
        }
    }

    /// <summary>Makes <paramref name="obj"/> a new object of this connection with <paramref name="oid"/>, to be stored at commit.</summary>
    internal void AddNew(Persistent obj, Oid oid)
    {
        obj._jar = this;
        obj._oid = oid;
        obj._hasOid = true;
        obj._serial = Tid.Zero;
        obj._state = PersistentState.Changed;
        obj._pidOid = null;
        _cache.Add(obj);
        _added[oid] = obj;
        Register(obj);
    }

    /// <summary>Undoes <see cref="AddNew"/> or an implicit add: the object is a plain unsaved object again (its state kept).</summary>
    private void Detach(Persistent obj)
    {
        _cache.Remove(obj);
        obj._jar = null;
        obj._hasOid = false;
        obj._oid = default;
        obj._serial = Tid.Zero;
        obj._state = PersistentState.Unsaved;
        obj._registered = false;
        obj._pidOid = null;
    }

    // ---- transaction boundaries (ISynchronizer) ----

    void ISynchronizer.BeforeCompletion(Transaction transaction)
    {
    }

    void ISynchronizer.AfterCompletion(Transaction transaction) => Sync();

    void ISynchronizer.NewTransaction(Transaction transaction) => Sync();

    /// <summary>
    /// A transaction boundary: takes in the oids other connections changed (their objects become ghosts), moves the
    /// snapshot to the database's last transaction, trims the cache.
    /// </summary>
    private void Sync()
    {
        if (!_open)
        {
            return;
        }
        if (_at is not null)
        {
            _before = new Tid(_at.Value.Value + 1);
            _cache.Collect(_cache.TargetSize, Ghostify);
            return;
        }
        _readCurrent.Clear();
        (HashSet<Oid> oids, Tid last) = _db.TakeInvalidations(this);
        foreach (Oid oid in oids)
        {
            Persistent? obj = _cache.Get(oid);
            if (obj is not null)
            {
                // ghosts hear it too: an array handle may hold pages of a block whose object is a ghost
                obj.NotifyInvalidate();
                Ghostify(obj);
            }
        }
        _before = new Tid(last.Value + 1);
        if (oids.Count > 0)
        {
            Invalidated?.Invoke(this, oids);
        }
        _cache.Collect(_cache.TargetSize, Ghostify);
    }
}
