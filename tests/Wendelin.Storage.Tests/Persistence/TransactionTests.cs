using TransactionScope = System.Transactions.TransactionScope;
using Wendelin.Storage.Persistence;
using PTransaction = Wendelin.Storage.Persistence.Transaction;
using PTransactionStatus = Wendelin.Storage.Persistence.TransactionStatus;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>The transaction manager (spec/objects.md OB-20..OB-25): two-phase commit over every data manager, failure aborts all, savepoints, hooks, metadata, System.Transactions.</summary>
public sealed class TransactionTests
{
    /// <summary>A data manager that logs every call and can fail at one step.</summary>
    private sealed class LoggingDm(string name, List<string> log, string? failAt = null) : IDataManager
    {
        public int Value { get; set; }

        public int Committed { get; private set; }

        private int _saved;

        public string SortKey => name;

        public void Abort(PTransaction transaction)
        {
            log.Add(name + ".abort");
            Value = Committed;
        }

        public void TpcBegin(PTransaction transaction) => Step("tpc_begin");

        public void Commit(PTransaction transaction) => Step("commit");

        public void TpcVote(PTransaction transaction) => Step("tpc_vote");

        public void TpcFinish(PTransaction transaction)
        {
            Step("tpc_finish");
            Committed = Value;
        }

        public void TpcAbort(PTransaction transaction)
        {
            log.Add(name + ".tpc_abort");
            Value = Committed;
        }

        public IDataManagerSavepoint Savepoint(PTransaction transaction)
        {
            _saved = Value;
            int saved = _saved;
            return new Sp(() => Value = saved);
        }

        private void Step(string step)
        {
            log.Add(name + "." + step);
            if (step == failAt)
            {
                throw new InvalidOperationException($"{name} fails at {step}");
            }
        }

        private sealed class Sp(Action rollback) : IDataManagerSavepoint
        {
            public void Rollback() => rollback();
        }
    }

    [Fact]
    public void Commit_runs_the_two_phases_in_sort_key_order()
    {
        var log = new List<string>();
        var tm = new TransactionManager();
        var b = new LoggingDm("b", log);
        var a = new LoggingDm("a", log);
        tm.Current.Join(b);
        tm.Current.Join(a);
        tm.Current.Join(a);
        tm.Commit();
        Assert.Equal(["a.tpc_begin", "b.tpc_begin", "a.commit", "b.commit", "a.tpc_vote", "b.tpc_vote", "a.tpc_finish", "b.tpc_finish"], log);
        Assert.False(tm.HasCurrent);
    }

    [Theory]
    [InlineData("tpc_begin")]
    [InlineData("commit")]
    [InlineData("tpc_vote")]
    public void A_failure_in_one_data_manager_aborts_all(string step)
    {
        var log = new List<string>();
        var tm = new TransactionManager();
        var a = new LoggingDm("a", log) { Value = 1 };
        var b = new LoggingDm("b", log, failAt: step) { Value = 2 };
        var c = new LoggingDm("c", log) { Value = 3 };
        PTransaction txn = tm.Current;
        txn.Join(a);
        txn.Join(b);
        txn.Join(c);
        bool? hook = null;
        txn.AddAfterCommitHook(ok => hook = ok);
        Assert.Throws<InvalidOperationException>(tm.Commit);
        Assert.Equal(PTransactionStatus.CommitFailed, txn.Status);
        Assert.False(hook);
        Assert.Equal(0, a.Value + b.Value + c.Value);
        foreach (string dm in new[] { "a", "b", "c" })
        {
            Assert.Contains(dm + ".tpc_abort", log);
        }
        // OB-22: only participants that had not voted get Abort (a voted before b failed its vote)
        Assert.Equal(step != "tpc_vote", log.Contains("a.abort"));
        Assert.Contains("b.abort", log);
        Assert.Contains("c.abort", log);
        // the manager is usable at once
        Assert.NotSame(txn, tm.Current);
        Assert.Equal(PTransactionStatus.Active, tm.Current.Status);
    }

    [Fact]
    public void Savepoints_roll_back_and_later_ones_become_invalid()
    {
        var log = new List<string>();
        var tm = new TransactionManager();
        var a = new LoggingDm("a", log);
        tm.Current.Join(a);
        a.Value = 1;
        Savepoint s1 = tm.Savepoint();
        a.Value = 2;
        Savepoint s2 = tm.Savepoint();
        a.Value = 3;
        var late = new LoggingDm("late", log) { Value = 7 };
        tm.Current.Join(late);
        s1.Rollback();
        Assert.Equal(1, a.Value);
        Assert.Contains("late.abort", log);
        Assert.DoesNotContain(late, tm.Current.Resources);
        Assert.False(s2.IsValid);
        Assert.Throws<InvalidOperationException>(s2.Rollback);
        a.Value = 5;
        s1.Rollback();
        Assert.Equal(1, a.Value);
        tm.Commit();
        Assert.Equal(1, a.Committed);
        Assert.False(s1.IsValid);
    }

    [Fact]
    public void Metadata_hooks_and_doom()
    {
        var tm = new TransactionManager();
        PTransaction t = tm.Current;
        t.SetUser("zoë");
        Assert.Equal("/ zoë", t.User);
        t.Note("first");
        t.Note("  second  ");
        Assert.Equal("first\nsecond", t.Description);
        var order = new List<string>();
        t.AddBeforeCommitHook(() => order.Add("before"));
        t.AddAfterCommitHook(ok => order.Add("after " + ok));
        t.Commit();
        Assert.Equal(["before", "after True"], order);
        PTransaction d = tm.Current;
        d.Doom();
        Assert.True(d.IsDoomed);
        Assert.Throws<InvalidOperationException>(d.Commit);
        d.Abort();
        Assert.Equal(PTransactionStatus.Aborted, d.Status);
    }

    [Fact]
    public void A_data_manager_joining_during_the_commit_step_is_committed_too()
    {
        var log = new List<string>();
        var tm = new TransactionManager();
        var late = new LoggingDm("z-late", log);
        var first = new JoinsOnCommit("a", log, late);
        tm.Current.Join(first);
        tm.Commit();
        Assert.Equal(["a.tpc_begin", "a.commit", "z-late.tpc_begin", "z-late.commit", "a.tpc_vote", "z-late.tpc_vote", "a.tpc_finish", "z-late.tpc_finish"], log);
    }

    private sealed class JoinsOnCommit(string name, List<string> log, IDataManager other) : IDataManager
    {
        public string SortKey => name;

        public void Abort(PTransaction transaction) => log.Add(name + ".abort");

        public void TpcBegin(PTransaction transaction) => log.Add(name + ".tpc_begin");

        public void Commit(PTransaction transaction)
        {
            log.Add(name + ".commit");
            transaction.Join(other);
        }

        public void TpcVote(PTransaction transaction) => log.Add(name + ".tpc_vote");

        public void TpcFinish(PTransaction transaction) => log.Add(name + ".tpc_finish");

        public void TpcAbort(PTransaction transaction) => log.Add(name + ".tpc_abort");

        public IDataManagerSavepoint Savepoint(PTransaction transaction) => throw new NotSupportedException();
    }

    [Fact]
    public void A_transaction_scope_commits_or_aborts_the_database_changes()
    {
        using var db = new Database(new MemoryStorage());
        using Connection conn = db.Open();
        using (var scope = new TransactionScope())
        {
            conn.Root["x"] = 1L;
            scope.Complete();
        }
        Assert.Equal(PersistentState.UpToDate, conn.Root.PersistentState);
        using (new TransactionScope())
        {
            conn.Root["x"] = 2L;
            Assert.Throws<InvalidOperationException>(conn.TransactionManager.Commit);
        }
        Assert.Equal(1L, conn.Root["x"]);
        using Connection other = db.Open();
        Assert.Equal(1L, other.Root["x"]);
    }
}
