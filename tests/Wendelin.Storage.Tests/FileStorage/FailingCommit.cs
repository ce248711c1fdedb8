using System.Text;
using Wendelin.Storage.Fs;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// The shared frame of the "a failed write leaves nothing of the transaction" tests (FS-C7): a committed base
/// transaction (the root reads "base"), then a transaction whose records <c>store</c> adds while the faulty file
/// system fails its <c>failAt</c>-th call from there on. A failure must be an injected <see cref="StorageException"/>;
/// unless the storage closed itself, it stays at the base and oid 1 does not exist.
/// </summary>
internal static class FailingCommit
{
    public static (bool Committed, bool Closed) Run(FaultyFileSystem faulty, string path, FileStorageOptions options,
        int failAt, Action<Fs.FileStorage, StorageTransaction, Tid> store)
    {
        bool committed = false, closed = false;
        using (var fs = Fs.FileStorage.Open(path, options, faulty))
        {
            StorageTransaction b = fs.TpcBegin(new TransactionMetadata());
            fs.Store(b, Oid.Root, Tid.Zero, Encoding.UTF8.GetBytes("base"));
            fs.TpcVote(b);
            Tid baseTid = fs.TpcFinish(b);
            faulty.FailAt = faulty.Calls + failAt;
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
            try
            {
                store(fs, t, baseTid);
                fs.TpcVote(t);
                fs.TpcFinish(t);
                committed = true;
            }
            catch (StorageException e)
            {
                Assert.Contains("injected failure", e.ToString(), StringComparison.Ordinal);
                fs.TpcAbort(t);
                closed = e.Message.Contains("closed", StringComparison.Ordinal);
            }
            if (!committed && !closed)
            {
                Assert.Equal(baseTid, fs.LastTransaction);
                Assert.Throws<PosKeyException>(() => fs.Load(new Oid(1)));
            }
        }
        faulty.FailAt = 0;
        return (committed, closed);
    }
}
