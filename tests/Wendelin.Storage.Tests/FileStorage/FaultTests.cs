using System.Text;
using Wendelin.Storage.Fs;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// I/O failures during a commit (the faulty file system fails the Nth write, set-length or durable flush):
/// the storage either reports the commit failed and stays usable with nothing of it visible, or — when the
/// failure comes after the commit point — closes itself; a reopen then shows a consistent file (FS-C7).
/// </summary>
public sealed class FaultTests
{
    private const string DataPath = "/fault/data.fs";

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public void A_failure_at_any_call_of_a_commit_leaves_a_consistent_storage(int failAt)
    {
        var faulty = new FaultyFileSystem(DataPath);
        Tid baseTid;
        bool committed = false, storageClosed = false;
        byte[] big = new byte[10_000];
        new Random(failAt).NextBytes(big);
        var options = new FileStorageOptions { SpillThreshold = 4096, SaveIndex = false };
        using (var fs = Fs.FileStorage.Open(DataPath, options, faulty))
        {
            StorageTransaction b = fs.TpcBegin(new TransactionMetadata());
            fs.Store(b, Oid.Root, Tid.Zero, Encoding.UTF8.GetBytes("base"));
            fs.TpcVote(b);
            baseTid = fs.TpcFinish(b);
            faulty.FailAt = faulty.Calls + failAt;

            StorageTransaction t = fs.TpcBegin(new TransactionMetadata("f", "faulty"));
            try
            {
                fs.Store(t, Oid.Root, baseTid, Encoding.UTF8.GetBytes("changed"));
                fs.Store(t, new Oid(1), Tid.Zero, big); // spills: one more write before vote
                fs.TpcVote(t);
                fs.TpcFinish(t);
                committed = true;
            }
            catch (StorageException e)
            {
                Assert.Contains("injected failure", e.ToString(), StringComparison.Ordinal);
                fs.TpcAbort(t);
                storageClosed = e.Message.Contains("closed", StringComparison.Ordinal);
            }
            if (!committed && !storageClosed)
            {
                // usable, and nothing of the failed transaction is visible
                Assert.Equal(baseTid, fs.LastTransaction);
                Assert.Equal("base", Encoding.UTF8.GetString(fs.Load(Oid.Root).Data.Span));
                Assert.Throws<PosKeyException>(() => fs.Load(new Oid(1)));
                faulty.FailAt = 0;
                StorageTransaction again = fs.TpcBegin(new TransactionMetadata());
                fs.Store(again, new Oid(2), Tid.Zero, Encoding.UTF8.GetBytes("after"));
                fs.TpcVote(again);
                fs.TpcFinish(again);
            }
            if (storageClosed)
            {
                Assert.Throws<FileStorageException>(() => fs.Load(Oid.Root));
            }
        }
        faulty.FailAt = 0;
        using var reopened = Fs.FileStorage.Open(DataPath, options, faulty);
        Tid[] tids = reopened.Iterator().Select(x => x.Tid).ToArray();
        Assert.Equal(baseTid, tids[0]);
        string root = Encoding.UTF8.GetString(reopened.Load(Oid.Root).Data.Span);
        if (committed)
        {
            Assert.Equal("changed", root);
        }
        else if (storageClosed)
        {
            // the failure came after the status flip was issued: committed or not, but whole
            Assert.True(root == "base" || reopened.Load(new Oid(1)).Data.Span.SequenceEqual(big));
        }
        else
        {
            Assert.Equal("base", root);
            Assert.Equal(2, tids.Length);
            Assert.Equal("after", Encoding.UTF8.GetString(reopened.Load(new Oid(2)).Data.Span));
        }
    }
}
