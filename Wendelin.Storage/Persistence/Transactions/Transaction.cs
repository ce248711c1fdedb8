namespace Wendelin.Storage.Persistence;

/// <summary>Where a <see cref="Transaction"/> is in its life.</summary>
public enum TransactionStatus
{
    /// <summary>Open: data managers may join, changes are being made.</summary>
    Active,

    /// <summary>Open but can only be aborted (<see cref="Transaction.Doom"/>).</summary>
    Doomed,

    /// <summary>In the two-phase commit.</summary>
    Committing,

    /// <summary>Committed.</summary>
    Committed,

    /// <summary>The commit failed; every participant was aborted.</summary>
    CommitFailed,

    /// <summary>Aborted.</summary>
    Aborted,
}

/// <summary>
/// One unit of work across every data manager that joined it (ZODB's <c>transaction.Transaction</c>,
/// spec/objects.md OB-20..OB-25): metadata stored with the commit, savepoints, and the two-phase commit in which
/// a failure of any participant aborts all of them. A transaction whose commit fails is over: the error is
/// rethrown after every participant was aborted, and the manager begins a fresh transaction on next use.
/// </summary>
public sealed partial class Transaction
{
    private readonly TransactionManager _manager;
    private readonly List<IDataManager> _resources = [];
    // Created when first needed: most transactions take no savepoint and have no hooks.
    private List<Savepoint>? _savepoints;
    private List<Action>? _beforeCommitHooks;
    private List<Action<bool>>? _afterCommitHooks;
    private OrderedDictionary<string, object?>? _extension;
    private int _votedCount; // participants vote in order: the first _votedCount of the ordered list have voted
    private List<IDataManager>? _lateJoiners;
    private bool _inCommitStep;

    internal Transaction(TransactionManager manager) => _manager = manager;

    public TransactionManager Manager => _manager;

    public TransactionStatus Status { get; private set; } = TransactionStatus.Active;

    /// <summary>The user stored with the commit (ZODB writes <c>"path name"</c>, see <see cref="SetUser"/>); UTF-8, at most 65535 bytes.</summary>
    public string User { get; set; } = "";

    /// <summary>The description stored with the commit; UTF-8, at most 65535 bytes.</summary>
    public string Description { get; set; } = "";

    /// <summary>The extension dictionary, pickled with the commit in insertion order (empty: nothing stored).</summary>
    public OrderedDictionary<string, object?> Extension => _extension ??= new(StringComparer.Ordinal);

    /// <summary>True when <see cref="Extension"/> has entries (without creating it).</summary>
    internal bool HasExtension => _extension is { Count: > 0 };

    /// <summary>The data managers that joined, in joining order.</summary>
    public IReadOnlyList<IDataManager> Resources => _resources;

    public bool IsDoomed => Status == TransactionStatus.Doomed;

    /// <summary>Appends a line to <see cref="Description"/> (ZODB <c>note</c>: trimmed, newline-separated).</summary>
    public void Note(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        Description = Description.Length == 0 ? text : Description + "\n" + text;
    }

    /// <summary>Sets <see cref="User"/> as ZODB does: <c>path + " " + name</c> (path <c>"/"</c> by default).</summary>
    public void SetUser(string name, string path = "/")
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(path);
        User = path + " " + name;
    }

    /// <summary>Marks the transaction so that it can only be aborted; <see cref="Commit"/> then throws.</summary>
    public void Doom()
    {
        if (Status == TransactionStatus.Active)
        {
            Status = TransactionStatus.Doomed;
        }
        else if (Status != TransactionStatus.Doomed)
        {
            throw new InvalidOperationException($"cannot doom a transaction that is {Status}");
        }
    }

    /// <summary>Runs just before the commit (it may still change objects); hooks added by hooks run too.</summary>
    public void AddBeforeCommitHook(Action hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        (_beforeCommitHooks ??= []).Add(hook);
    }

    /// <summary>Runs after the commit ended, with true when it succeeded; a hook's exception is swallowed.</summary>
    public void AddAfterCommitHook(Action<bool> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        (_afterCommitHooks ??= []).Add(hook);
    }

    /// <summary>
    /// Adds a participant (idempotent). Allowed while the transaction is open, and also while the participants
    /// run their commit step: a data manager that joins then (for example a connection that one of the array
    /// handles writes blocks through) gets its own <c>TpcBegin</c> and <c>Commit</c> after that round.
    /// </summary>
    public void Join(IDataManager dataManager)
    {
        ArgumentNullException.ThrowIfNull(dataManager);
        if (_resources.Contains(dataManager))
        {
            return;
        }
        if (Status == TransactionStatus.Committing && _inCommitStep)
        {
            _resources.Add(dataManager);
            (_lateJoiners ??= []).Add(dataManager);
            return;
        }
        if (Status is not (TransactionStatus.Active or TransactionStatus.Doomed))
        {
            throw new InvalidOperationException($"cannot join a transaction that is {Status}");
        }
        _resources.Add(dataManager);
        foreach (Savepoint sp in _savepoints ?? [])
        {
            sp.AddAbortOnRollback(dataManager);
        }
        EnlistInAmbientIfAny();
    }

    /// <summary>
    /// A savepoint of every participant's state. Rolling it back restores them and aborts participants that
    /// joined after it. Throws <see cref="NotSupportedException"/> when a participant cannot roll back.
    /// </summary>
    public Savepoint Savepoint()
    {
        if (Status is not (TransactionStatus.Active or TransactionStatus.Doomed))
        {
            throw new InvalidOperationException($"cannot take a savepoint of a transaction that is {Status}");
        }
        foreach (ISynchronizer s in _manager.Synchronizers())
        {
            (s as ISavepointListener)?.BeforeSavepoint(this);
        }
        var parts = new List<(IDataManager, IDataManagerSavepoint?)>(_resources.Count);
        foreach (IDataManager dm in _resources)
        {
            parts.Add((dm, dm.Savepoint(this)));
        }
        var sp = new Savepoint(this, parts);
        (_savepoints ??= []).Add(sp);
        return sp;
    }

    /// <summary>
    /// Two-phase commit over every participant, in <see cref="IDataManager.SortKey"/> order: TpcBegin all,
    /// Commit all, TpcVote all, TpcFinish all. When any step fails, participants that had not voted are
    /// aborted, every participant gets TpcAbort, the transaction ends as <see cref="TransactionStatus.CommitFailed"/>
    /// and the error is rethrown.
    /// </summary>
    public void Commit()
    {
        if (_ambient is not null)
        {
            throw new InvalidOperationException(
                "this transaction is enlisted in a System.Transactions transaction: complete the TransactionScope instead of committing");
        }
        PrepareAndVote();
        FinishCommit();
    }

    /// <summary>Abandons every change: each participant's <see cref="IDataManager.Abort"/>, then the synchronizers.</summary>
    public void Abort()
    {
        if (Status is TransactionStatus.Committed or TransactionStatus.Aborted or TransactionStatus.CommitFailed)
        {
            _manager.Free(this);
            return;
        }
        if (Status == TransactionStatus.Committing)
        {
            throw new InvalidOperationException("cannot abort a transaction while it commits");
        }
        InvalidateSavepoints(0);
        Exception? first = null;
        foreach (IDataManager dm in _resources)
        {
            try
            {
                dm.Abort(this);
            }
            catch (Exception ex) when (first is null)
            {
                first = ex;
            }
        }
        Status = TransactionStatus.Aborted;
        End(success: false, runAfterCommitHooks: false);
        if (first is not null)
        {
            throw new InvalidOperationException("a data manager failed to abort", first);
        }
    }

    /// <summary>Phase one: hooks, synchronizers, TpcBegin, Commit and TpcVote of every participant.</summary>
    private void PrepareAndVote()
    {
        switch (Status)
        {
            case TransactionStatus.Doomed:
                throw new InvalidOperationException("the transaction is doomed: it can only be aborted");
            case TransactionStatus.Active:
                break;
            default:
                throw new InvalidOperationException($"cannot commit a transaction that is {Status}");
        }
        InvalidateSavepoints(0);
        try
        {
            for (int i = 0; _beforeCommitHooks is not null && i < _beforeCommitHooks.Count; i++)
            {
                _beforeCommitHooks[i]();
            }
        }
        catch
        {
            Abort();
            throw;
        }
        foreach (ISynchronizer s in _manager.Synchronizers())
        {
            s.BeforeCompletion(this);
        }
        Status = TransactionStatus.Committing;
        List<IDataManager> ordered = Sorted(_resources);
        try
        {
            foreach (IDataManager dm in ordered)
            {
                dm.TpcBegin(this);
            }
            CommitStep(ordered);
            while (_lateJoiners is { Count: > 0 } late)
            {
                _lateJoiners = null;
                List<IDataManager> round = Sorted(late);
                foreach (IDataManager dm in round)
                {
                    ordered.Add(dm);
                    dm.TpcBegin(this);
                }
                CommitStep(round);
            }
            foreach (IDataManager dm in ordered)
            {
                dm.TpcVote(this);
                _votedCount++;
            }
        }
        catch
        {
            FailCommit(ordered);
            throw;
        }
        _ordered = ordered;
    }

    private List<IDataManager>? _ordered;

    /// <summary>Phase two: TpcFinish of every participant, then the synchronizers and after-commit hooks.</summary>
    private void FinishCommit()
    {
        List<IDataManager> ordered = _ordered ?? throw new InvalidOperationException("the transaction has not voted");
        try
        {
            foreach (IDataManager dm in ordered)
            {
                dm.TpcFinish(this);
            }
        }
        catch
        {
            FailCommit(ordered);
            throw;
        }
        Status = TransactionStatus.Committed;
        End(success: true, runAfterCommitHooks: true);
    }

    private void CommitStep(List<IDataManager> round)
    {
        _inCommitStep = true;
        try
        {
            foreach (IDataManager dm in round)
            {
                dm.Commit(this);
            }
        }
        finally
        {
            _inCommitStep = false;
        }
    }

    /// <summary>After a failed step: abort the participants that had not voted, TpcAbort all, end the transaction.</summary>
    private void FailCommit(List<IDataManager> ordered)
    {
        if (_lateJoiners is { Count: > 0 } late)
        {
            ordered.AddRange(late);
            _lateJoiners = null;
        }
        for (int i = _votedCount; i < ordered.Count; i++)
        {
            IDataManager dm = ordered[i];
            {
                try
                {
                    dm.Abort(this);
                }
                catch (Exception)
                {
                    // the commit error is what the caller must see; every participant still gets its TpcAbort
                }
            }
        }
        foreach (IDataManager dm in ordered)
        {
            try
            {
                dm.TpcAbort(this);
            }
            catch (Exception)
            {
                // as above
            }
        }
        Status = TransactionStatus.CommitFailed;
        End(success: false, runAfterCommitHooks: true);
    }

    private void End(bool success, bool runAfterCommitHooks)
    {
        InvalidateSavepoints(0);
        try
        {
            foreach (ISynchronizer s in _manager.Synchronizers())
            {
                s.AfterCompletion(this);
            }
        }
        finally
        {
            _manager.Free(this);
            if (runAfterCommitHooks)
            {
                foreach (Action<bool> hook in _afterCommitHooks ?? [])
                {
                    try
                    {
                        hook(success);
                    }
                    catch (Exception)
                    {
                        // after-commit hooks cannot change the outcome (ZODB logs and ignores them too)
                    }
                }
            }
        }
    }

    private static List<IDataManager> Sorted(List<IDataManager> managers)
    {
        var list = new List<IDataManager>(managers);
        if (list.Count <= 1)
        {
            return list;
        }
        // stable: equal keys keep their joining order
        var keyed = new List<(string Key, int Index, IDataManager Dm)>(list.Count);
        for (int i = 0; i < list.Count; i++)
        {
            keyed.Add((list[i].SortKey, i, list[i]));
        }
        keyed.Sort(static (a, b) =>
        {
            int c = string.CompareOrdinal(a.Key, b.Key);
            return c != 0 ? c : a.Index.CompareTo(b.Index);
        });
        for (int i = 0; i < keyed.Count; i++)
        {
            list[i] = keyed[i].Dm;
        }
        return list;
    }

    /// <summary>Drops savepoints from index <paramref name="from"/> on (they can no longer be rolled back).</summary>
    internal void InvalidateSavepoints(int from)
    {
        if (_savepoints is null)
        {
            return;
        }
        for (int i = from; i < _savepoints.Count; i++)
        {
            _savepoints[i].Invalidate();
        }
        _savepoints.RemoveRange(from, _savepoints.Count - from);
    }

    internal int IndexOf(Savepoint savepoint) => _savepoints?.IndexOf(savepoint) ?? -1;

    /// <summary>A participant that joined after a savepoint is aborted and leaves when that savepoint is rolled back.</summary>
    internal void Unjoin(IDataManager dataManager) => _resources.Remove(dataManager);

    internal void DoomAfterFailedRollback()
    {
        if (Status == TransactionStatus.Active)
        {
            Status = TransactionStatus.Doomed;
        }
    }
}
