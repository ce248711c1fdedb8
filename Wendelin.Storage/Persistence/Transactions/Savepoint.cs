namespace Wendelin.Storage.Persistence;

/// <summary>
/// A point inside a transaction to roll back to (ZODB's transaction savepoint, spec/objects.md OB-23). Rolling
/// back restores every participant's state as of the savepoint, aborts participants that joined after it, and
/// invalidates the savepoints taken after it; the savepoint itself stays usable. Savepoints end with their
/// transaction.
/// </summary>
public sealed class Savepoint
{
    private readonly Transaction _transaction;
    private readonly List<(IDataManager DataManager, IDataManagerSavepoint? Part)> _parts;
    private bool _valid = true;

    internal Savepoint(Transaction transaction, List<(IDataManager, IDataManagerSavepoint?)> parts)
    {
        _transaction = transaction;
        _parts = parts;
    }

    /// <summary>False once the transaction ended or an earlier savepoint was rolled back.</summary>
    public bool IsValid => _valid;

    public void Rollback()
    {
        if (!_valid)
        {
            throw new InvalidOperationException("the savepoint is no longer valid (its transaction ended or an earlier savepoint was rolled back)");
        }
        int index = _transaction.IndexOf(this);
        _transaction.InvalidateSavepoints(index + 1);
        try
        {
            foreach ((IDataManager dm, IDataManagerSavepoint? part) in _parts)
            {
                if (part is null)
                {
                    // joined after this savepoint: back to "never joined"
                    dm.Abort(_transaction);
                    _transaction.Unjoin(dm);
                }
                else
                {
                    part.Rollback();
                }
            }
        }
        catch
        {
            _transaction.DoomAfterFailedRollback();
            throw;
        }
        _parts.RemoveAll(static p => p.Part is null);
    }

    internal void AddAbortOnRollback(IDataManager dataManager) => _parts.Add((dataManager, null));

    internal void Invalidate() => _valid = false;
}
