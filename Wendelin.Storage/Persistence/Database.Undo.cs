namespace Wendelin.Storage.Persistence;

// Undo from the object layer (ZODB's DB.undo / DB.undoLog; spec/undo.md UN-9).
public sealed partial class Database
{
    /// <summary>
    /// The storage's undo log (spec/undo.md UN-1). <see cref="NotSupportedException"/> when the storage cannot undo.
    /// </summary>
    public IReadOnlyList<UndoLogEntry> UndoLog(int first = 0, int last = -20, Func<UndoLogEntry, bool>? filter = null) =>
        UndoStorage.UndoLog(first, last, filter);

    /// <summary>
    /// Undoes the transaction named by <paramref name="undoId"/> (an <see cref="UndoLogEntry.Id"/>) as part of the
    /// current transaction of <paramref name="transactionManager"/> (ZODB's <c>DB.undo(id, txn)</c>): a data manager
    /// joins it and writes the undo records when that transaction commits, with its user, description and
    /// extension. Several undos may join one transaction. After the commit every connection sees the restored state
    /// at its next transaction boundary (the undone objects are invalidated like any commit's). A refused undo
    /// (<see cref="UndoException"/>) fails the commit. The transaction must not also hold changes made through a
    /// connection to the same storage (the storage commits one transaction at a time): commit those first.
    /// </summary>
    public void Undo(string undoId, TransactionManager transactionManager)
    {
        ArgumentException.ThrowIfNullOrEmpty(undoId);
        ArgumentNullException.ThrowIfNull(transactionManager);
        IUndoStorage storage = UndoStorage;
        _ = UndoLogEntry.DecodeId(undoId); // a malformed id fails here, not at commit
        Transaction transaction = transactionManager.Current;
        UndoDataManager? manager = null;
        foreach (IDataManager dm in transaction.Resources)
        {
            if (dm is UndoDataManager u && ReferenceEquals(u.Database, this))
            {
                manager = u;
            }
        }
        if (manager is null)
        {
            manager = new UndoDataManager(this, storage);
            transaction.Join(manager);
        }
        manager.Add(undoId);
    }

    private IUndoStorage UndoStorage => Storage as IUndoStorage
        ?? throw new NotSupportedException($"{Storage.Name}: this storage ({Storage.GetType().Name}) cannot undo");
}

/// <summary>
/// The data manager of <see cref="Database.Undo"/> (ZODB's <c>TransactionalUndo</c>): begins a storage commit, undoes
/// its transactions in it, votes and finishes it, and tells the database which objects changed so that every
/// connection invalidates them.
/// </summary>
internal sealed class UndoDataManager(Database database, IUndoStorage storage) : IDataManager
{
    private readonly List<string> _ids = [];
    private StorageTransaction? _transaction;

    public Database Database { get; } = database;

    /// <summary>After the connections of the same storage, so that a clash is found (and refused) before waiting on the storage.</summary>
    public string SortKey => storage.Name + "\u0001undo";

    public void Add(string undoId) => _ids.Add(undoId);

    public void TpcBegin(Transaction transaction)
    {
        foreach (IDataManager dm in transaction.Resources)
        {
            if (dm is Connection c && ReferenceEquals(c.Database, Database) && !ReferenceEquals(dm, this))
            {
                throw new InvalidOperationException(
                    "an undo and changes made through a connection to the same database are in one transaction; commit the changes first, then undo in a transaction of its own");
            }
        }
        var metadata = new TransactionMetadata(transaction.User, transaction.Description, transaction.Extension)
        {
            ExtensionBytes = ObjectWriter.ExtensionBytes(transaction.Extension),
        };
        _transaction = storage.TpcBegin(metadata);
    }

    public void Commit(Transaction transaction)
    {
        StorageTransaction stxn = _transaction ?? throw new StorageTransactionException("undo before tpc_begin");
        foreach (string id in _ids)
        {
            storage.Undo(id, stxn);
        }
    }

    public void TpcVote(Transaction transaction) =>
        storage.TpcVote(_transaction ?? throw new StorageTransactionException("tpc_vote before tpc_begin"));

    public void TpcFinish(Transaction transaction)
    {
        StorageTransaction stxn = _transaction ?? throw new StorageTransactionException("tpc_finish before tpc_begin");
        storage.TpcFinish(stxn, (tid, oids) => Database.Invalidate(tid, oids, null));
        _transaction = null;
        _ids.Clear();
    }

    public void TpcAbort(Transaction transaction) => Abort(transaction);

    public void Abort(Transaction transaction)
    {
        if (_transaction is not null)
        {
            storage.TpcAbort(_transaction);
            _transaction = null;
        }
        _ids.Clear();
    }

    public IDataManagerSavepoint Savepoint(Transaction transaction) => new UndoSavepoint(this, _ids.Count);

    private sealed class UndoSavepoint(UndoDataManager manager, int count) : IDataManagerSavepoint
    {
        public void Rollback()
        {
            if (manager._ids.Count > count)
            {
                manager._ids.RemoveRange(count, manager._ids.Count - count);
            }
        }
    }
}
