namespace Wendelin.Storage.Persistence;

/// <summary>
/// Holds the current <see cref="Transaction"/> of one unit of work (ZODB's <c>transaction.TransactionManager</c>,
/// spec/objects.md OB-20). A transaction begins implicitly the first time <see cref="Current"/> is used after
/// the previous one ended, or explicitly with <see cref="Begin"/>. A manager is used by one thread at a time,
/// like the connections bound to it; <see cref="Database.Open(TransactionManager?)"/> gives every connection
/// its own manager unless one is passed (pass the same manager to several connections, of one or several
/// databases, to commit them together).
/// </summary>
public sealed class TransactionManager
{
    private readonly Lock _lock = new();
    private readonly List<ISynchronizer> _synchronizers = [];
    private ISynchronizer[]? _synchronizerSnapshot; // what Synchronizers() hands out until the list changes
    private Transaction? _current;

    /// <summary>
    /// When true (the default), a transaction that a data manager joins while a
    /// <see cref="System.Transactions.TransactionScope"/> is active enlists in it and completes with it
    /// (spec/objects.md OB-25).
    /// </summary>
    public bool EnlistInAmbientTransactions { get; set; } = true;

    /// <summary>The transaction in progress, begun implicitly when there is none (ZODB <c>get()</c>).</summary>
    public Transaction Current
    {
        get
        {
            lock (_lock)
            {
                return _current ??= new Transaction(this);
            }
        }
    }

    /// <summary>Whether a transaction has been begun and not yet ended.</summary>
    public bool HasCurrent
    {
        get
        {
            lock (_lock)
            {
                return _current is not null;
            }
        }
    }

    /// <summary>
    /// Begins a new transaction, aborting the current one if any, and tells the synchronizers (connections then
    /// take in other connections' commits).
    /// </summary>
    public Transaction Begin()
    {
        Transaction? old;
        lock (_lock)
        {
            old = _current;
        }
        old?.Abort();
        var txn = new Transaction(this);
        lock (_lock)
        {
            _current = txn;
        }
        foreach (ISynchronizer s in Synchronizers())
        {
            s.NewTransaction(txn);
        }
        return txn;
    }

    /// <summary>Commits the current transaction (<see cref="Transaction.Commit"/>).</summary>
    public void Commit() => Current.Commit();

    /// <summary>Aborts the current transaction (<see cref="Transaction.Abort"/>); with none in progress this is still a transaction boundary.</summary>
    public void Abort() => Current.Abort();

    /// <summary>A savepoint of the current transaction (<see cref="Transaction.Savepoint"/>).</summary>
    public Savepoint Savepoint() => Current.Savepoint();

    /// <summary>Adds a synchronizer (a connection registers itself when it is opened with this manager).</summary>
    public void RegisterSynchronizer(ISynchronizer synchronizer)
    {
        ArgumentNullException.ThrowIfNull(synchronizer);
        lock (_lock)
        {
            if (!_synchronizers.Contains(synchronizer))
            {
                _synchronizers.Add(synchronizer);
                _synchronizerSnapshot = null;
            }
        }
    }

    public void UnregisterSynchronizer(ISynchronizer synchronizer)
    {
        lock (_lock)
        {
            if (_synchronizers.Remove(synchronizer))
            {
                _synchronizerSnapshot = null;
            }
        }
    }

    internal ISynchronizer[] Synchronizers()
    {
        lock (_lock)
        {
            return _synchronizerSnapshot ??= [.. _synchronizers]; // never changed once handed out
        }
    }

    /// <summary>Called by a transaction when it ends: the next use of <see cref="Current"/> begins a new one.</summary>
    internal void Free(Transaction transaction)
    {
        lock (_lock)
        {
            if (ReferenceEquals(_current, transaction))
            {
                _current = null;
            }
        }
    }
}
