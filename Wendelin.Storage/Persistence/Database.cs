namespace Wendelin.Storage.Persistence;

/// <summary>Settings of a <see cref="Database"/>.</summary>
public sealed record DatabaseOptions
{
    /// <summary>Loaded objects each connection's cache keeps at a transaction boundary (ZODB <c>cache_size</c>).</summary>
    public int CacheSize { get; init; } = 10_000;

    /// <summary>Closed connections kept for reuse, caches warm (ZODB <c>pool_size</c>).</summary>
    public int PoolSize { get; init; } = 7;

    /// <summary>The class registry; <see cref="TypeRegistry.Default"/> when null.</summary>
    public TypeRegistry? Types { get; init; }

    /// <summary>Whether disposing the database disposes the storage (default true, as ZODB's <c>DB.close</c>).</summary>
    public bool OwnsStorage { get; init; } = true;
}

/// <summary>
/// A database over any <see cref="IStorage"/> (ZODB's <c>DB</c>, spec/objects.md OB-30..OB-36): hands out
/// <see cref="Connection"/>s from a thread-safe pool and tells every open connection which objects each commit
/// changed. Opening a database whose storage has no root object creates one — an empty
/// <see cref="PersistentMapping"/> at oid 0 in a transaction described <c>initial database creation</c>, as ZODB
/// does.
/// </summary>
public sealed partial class Database : IDisposable
{
    private readonly Lock _lock = new();
    private readonly DatabaseOptions _options;
    private readonly Stack<Connection> _pool = new();
    private readonly HashSet<Connection> _open = new(ReferenceEqualityComparer.Instance);
    private static readonly HashSet<Oid> NoOids = [];
    private Tid _lastTid;
    private bool _disposed;

    public Database(IStorage storage, DatabaseOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        Storage = storage;
        _options = options ?? new DatabaseOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.CacheSize);
        ArgumentOutOfRangeException.ThrowIfNegative(_options.PoolSize);
        Types = _options.Types ?? TypeRegistry.Default;
        _lastTid = storage.LastTransaction;
        storage.Committed += OnStorageCommitted;
        if (!storage.IsReadOnly)
        {
            EnsureRoot();
        }
    }

    public IStorage Storage { get; }

    public TypeRegistry Types { get; }

    /// <summary>The last transaction this database knows of (what a connection's snapshot moves to at a boundary).</summary>
    public Tid LastTransaction
    {
        get
        {
            lock (_lock)
            {
                return _lastTid;
            }
        }
    }

    /// <summary>Connections currently open (not in the pool).</summary>
    public int OpenConnectionCount
    {
        get
        {
            lock (_lock)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>
    /// Opens a connection (from the pool when one is free). It takes part in the transactions of
    /// <paramref name="transactionManager"/>, or of a new manager of its own when null. Dispose it to return it.
    /// </summary>
    public Connection Open(TransactionManager? transactionManager = null)
    {
        Connection? conn = null;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_pool.Count > 0)
            {
                conn = _pool.Pop();
            }
            conn ??= new Connection(this, transactionManager ?? new TransactionManager(), null, _options.CacheSize);
            _open.Add(conn);
            // invalidations are queued from now on: a pooled connection already has those since it was closed
        }
        conn.Open(transactionManager ?? new TransactionManager());
        return conn;
    }

    /// <summary>
    /// Opens a read-only view of the database as it was right after transaction <paramref name="at"/> (ZODB
    /// <c>open(at=…)</c>). Objects that did not exist then raise <see cref="PosKeyException"/>; changing an object
    /// raises <see cref="ReadOnlyException"/>.
    /// </summary>
    public Connection OpenAt(Tid at, TransactionManager? transactionManager = null)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
        }
        var conn = new Connection(this, transactionManager ?? new TransactionManager(), at, _options.CacheSize);
        conn.Open(transactionManager ?? new TransactionManager());
        return conn;
    }

    /// <summary>Disposes every pooled connection and, when the database owns it, the storage.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            while (_pool.Count > 0)
            {
                _pool.Pop().CloseForGood();
            }
        }
        Storage.Committed -= OnStorageCommitted;
        if (_options.OwnsStorage)
        {
            Storage.Dispose();
        }
    }

    // ---- called by connections ----

    internal void Release(Connection conn)
    {
        lock (_lock)
        {
            _open.Remove(conn);
            if (conn.IsReadOnly || _disposed || _pool.Count >= _options.PoolSize)
            {
                conn.CloseForGood();
                return;
            }
            _pool.Push(conn);
        }
    }

    /// <summary>A commit of <paramref name="committer"/> (under the storage's commit, before readers see it): queue its oids for everyone else.</summary>
    internal void Invalidate(Tid tid, IReadOnlyList<Oid> oids, Connection? committer)
    {
        lock (_lock)
        {
            if (tid <= _lastTid)
            {
                return;
            }
            _lastTid = tid;
            foreach (Connection c in _open)
            {
                if (!ReferenceEquals(c, committer))
                {
                    Queue(c, oids);
                }
            }
            foreach (Connection c in _pool)
            {
                Queue(c, oids);
            }
        }
    }

    private static void Queue(Connection c, IReadOnlyList<Oid> oids)
    {
        if (c.IsReadOnly)
        {
            return;
        }
        foreach (Oid oid in oids)
        {
            c._pendingInvalidations.Add(oid);
        }
    }

    /// <summary>A connection's boundary: its queued oids and the tid its new snapshot ends at, taken together.</summary>
    internal (HashSet<Oid> Oids, Tid Last) TakeInvalidations(Connection conn)
    {
        lock (_lock)
        {
            HashSet<Oid> oids = conn._pendingInvalidations;
            if (oids.Count == 0)
            {
                return (NoOids, _lastTid);
            }
            conn._pendingInvalidations = [];
            return (oids, _lastTid);
        }
    }

    /// <summary>Commits made through another database object over the same storage.</summary>
    private void OnStorageCommitted(Tid tid, IReadOnlyList<Oid> oids) => Invalidate(tid, oids, null);

    private void EnsureRoot()
    {
        try
        {
            Storage.Load(Oid.Root);
            return;
        }
        catch (PosKeyException)
        {
        }
        var tm = new TransactionManager { EnlistInAmbientTransactions = false };
        Connection conn = Open(tm);
        try
        {
            tm.Current.Note("initial database creation");
            conn.AddNew(new PersistentMapping(), Oid.Root);
            tm.Commit();
        }
        finally
        {
            if (tm.HasCurrent)
            {
                tm.Abort();
            }
            conn.Dispose();
        }
    }
}
