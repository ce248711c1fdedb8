using System.Transactions;

namespace Wendelin.Storage.Persistence;

// System.Transactions integration (spec/objects.md OB-25): a transaction that a data manager joins while a
// TransactionScope is active enlists as a volatile participant of the ambient transaction. Completing the scope
// runs our phase one in Prepare (vote) and phase two in Commit; disposing it without Complete() aborts.
public sealed partial class Transaction
{
    private System.Transactions.Transaction? _ambient;

    /// <summary>The System.Transactions transaction this one is enlisted in, if any.</summary>
    public System.Transactions.Transaction? AmbientTransaction => _ambient;

    private void EnlistInAmbientIfAny()
    {
        if (_ambient is not null || !_manager.EnlistInAmbientTransactions)
        {
            return;
        }
        System.Transactions.Transaction? ambient = System.Transactions.Transaction.Current;
        if (ambient is null || ambient.TransactionInformation.Status != System.Transactions.TransactionStatus.Active)
        {
            return;
        }
        _ambient = ambient;
        ambient.EnlistVolatile(new AmbientEnlistment(this), EnlistmentOptions.None);
    }

    private sealed class AmbientEnlistment(Transaction owner) : IEnlistmentNotification
    {
        public void Prepare(PreparingEnlistment preparingEnlistment)
        {
            try
            {
                if (owner.Status is TransactionStatus.Active or TransactionStatus.Doomed)
                {
                    owner.PrepareAndVote();
                }
                preparingEnlistment.Prepared();
            }
            catch (Exception ex)
            {
                preparingEnlistment.ForceRollback(ex);
            }
        }

        public void Commit(Enlistment enlistment)
        {
            try
            {
                if (owner.Status == TransactionStatus.Committing)
                {
                    owner.FinishCommit();
                }
            }
            finally
            {
                enlistment.Done();
            }
        }

        public void Rollback(Enlistment enlistment)
        {
            try
            {
                owner.RollbackFromAmbient();
            }
            finally
            {
                enlistment.Done();
            }
        }

        public void InDoubt(Enlistment enlistment) => Rollback(enlistment);
    }

    private void RollbackFromAmbient()
    {
        switch (Status)
        {
            case TransactionStatus.Committing:
                FailCommit(_ordered ?? [.. _resources]);
                break;
            case TransactionStatus.Active or TransactionStatus.Doomed:
                Abort();
                break;
            default:
                break;
        }
    }
}
