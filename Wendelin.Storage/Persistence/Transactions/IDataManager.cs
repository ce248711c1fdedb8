namespace Wendelin.Storage.Persistence;

/// <summary>
/// A participant in a <see cref="Transaction"/> (ZODB's <c>IDataManager</c>, spec/objects.md OB-20). Connections
/// are data managers; so are array file handles, which join to write their dirty blocks at commit. A data manager
/// joins with <see cref="Transaction.Join"/> the first time it has something to commit, and then takes part in
/// the two-phase commit: <see cref="TpcBegin"/>, <see cref="Commit"/>, <see cref="TpcVote"/>,
/// <see cref="TpcFinish"/> (in ascending <see cref="SortKey"/> order), or <see cref="TpcAbort"/> when any
/// participant failed. <see cref="Abort"/> discards the changes of a transaction that is abandoned before vote.
/// </summary>
public interface IDataManager
{
    /// <summary>
    /// Orders the participants of a commit (ordinal string order, ascending). Array file handles use a key that
    /// sorts before their connection's, so their blocks are written through the connection before it stores.
    /// </summary>
    string SortKey { get; }

    /// <summary>Discards this transaction's changes (the transaction is abandoned before or instead of voting).</summary>
    void Abort(Transaction transaction);

    /// <summary>First step of the commit: start a storage commit.</summary>
    void TpcBegin(Transaction transaction);

    /// <summary>Second step: write the changes (a connection stores its changed and new objects here).</summary>
    void Commit(Transaction transaction);

    /// <summary>Third step: make sure the commit can succeed; after a successful vote only a crash can stop it.</summary>
    void TpcVote(Transaction transaction);

    /// <summary>Commit point: make the changes durable and visible.</summary>
    void TpcFinish(Transaction transaction);

    /// <summary>Undoes whatever <see cref="TpcBegin"/>..<see cref="TpcVote"/> did (called for every participant when any step failed).</summary>
    void TpcAbort(Transaction transaction);

    /// <summary>
    /// Records the current state so that it can be rolled back to (<see cref="Transaction.Savepoint"/>). A data
    /// manager that cannot roll back throws <see cref="NotSupportedException"/>; the transaction's savepoint
    /// then fails and nothing changes.
    /// </summary>
    IDataManagerSavepoint Savepoint(Transaction transaction);
}

/// <summary>One data manager's part of a savepoint.</summary>
public interface IDataManagerSavepoint
{
    /// <summary>Restores the data manager's state as of the savepoint (may be called more than once).</summary>
    void Rollback();
}

/// <summary>
/// Hears about transaction boundaries of a <see cref="TransactionManager"/> (ZODB's <c>ISynchronizer</c>).
/// Connections use it to take in other connections' commits at the next boundary (spec/objects.md OB-31).
/// </summary>
public interface ISynchronizer
{
    /// <summary>Just before a commit starts (after the before-commit hooks).</summary>
    void BeforeCompletion(Transaction transaction);

    /// <summary>After a commit (successful or not) or an abort.</summary>
    void AfterCompletion(Transaction transaction);

    /// <summary>When <see cref="TransactionManager.Begin"/> starts a transaction explicitly.</summary>
    void NewTransaction(Transaction transaction);
}

/// <summary>
/// A synchronizer that must take part in every savepoint (array file handles: their page changes are not
/// registered anywhere until they join, so they join when a savepoint is taken, spec/objects.md OB-23).
/// </summary>
internal interface ISavepointListener
{
    /// <summary>Called by <see cref="Transaction.Savepoint"/> before the participants are asked; may join the transaction.</summary>
    void BeforeSavepoint(Transaction transaction);
}
