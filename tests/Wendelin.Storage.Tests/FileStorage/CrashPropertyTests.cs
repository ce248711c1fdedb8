using FsCheck;
using FsCheck.Fluent;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// Crash property (style.md habit 8, spec/filestorage.md FS-D1..FS-D4, FS-R1..FS-R3): for random workloads of
/// commits and aborts, the file image after every operation (in particular at every durability point), with any
/// write torn, and the final file cut at every byte of its last transaction, reopens to exactly a prefix of the
/// committed transactions that holds every acknowledged one, with the data the model says.
/// </summary>
public sealed class CrashPropertyTests(ITestOutputHelper output)
{
    private const string DataPath = "/crash/data.fs";

    internal enum Ending
    {
        Commit,
        AbortBeforeVote,
        AbortAfterVote,
    }

    internal sealed record StoreSpec(int Oid, int Size);

    internal sealed record TxnSpec(Ending Ending, StoreSpec[] Stores)
    {
        public override string ToString() => $"{Ending}[{string.Join(",", Stores.Select(s => $"{s.Oid}:{s.Size}"))}]";
    }

    private static Gen<TxnSpec[]> Workloads()
    {
        Gen<int> size = Gen.Frequency((6, Gen.Choose(1, 200)), (2, Gen.Choose(200, 3000)), (1, Gen.Choose(3000, 9000)));
        Gen<StoreSpec> store = Gen.Choose(0, 5).SelectMany(oid => size.Select(s => new StoreSpec(oid, s)));
        Gen<Ending> ending = Gen.Frequency((7, Gen.Constant(Ending.Commit)), (1, Gen.Constant(Ending.AbortBeforeVote)), (2, Gen.Constant(Ending.AbortAfterVote)));
        Gen<TxnSpec> txn = ending.SelectMany(e => Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(store, n)).Select(s => new TxnSpec(e, s)));
        return Gen.Choose(1, 7).SelectMany(n => Gen.ArrayOf(txn, n));
    }

    private sealed record Committed(Tid Tid, int AckMark, Dictionary<Oid, byte[]> State);

    [Fact]
    public void Every_crash_image_reopens_to_a_prefix_of_the_committed_transactions()
    {
        PropertyRun.Check(output, nameof(Every_crash_image_reopens_to_a_prefix_of_the_committed_transactions),
            Workloads(), w => Run(w, fsyncAtVote: true), maxTest: 25);
    }

    /// <summary>FS-D5: with the vote fsync skipped, one durability point per commit (at finish), and the same property.</summary>
    [Fact]
    public void Without_the_vote_fsync_every_crash_image_still_reopens_to_a_prefix_holding_every_acknowledged_commit()
    {
        PropertyRun.Check(output, nameof(Without_the_vote_fsync_every_crash_image_still_reopens_to_a_prefix_holding_every_acknowledged_commit),
            Workloads(), w => Run(w, fsyncAtVote: false), maxTest: 25);
    }

    /// <summary>
    /// FS-D2, FS-D3, FS-D5: the operations of one commit, in order. By default the transaction's write, a durability
    /// point, the status flip, a durability point; with <c>FsyncAtVote = false</c> the first durability point goes;
    /// with <c>Fsync = false</c> both do.
    /// </summary>
    [Theory]
    [InlineData(true, true, "W D W D")]
    [InlineData(true, false, "W W D")]
    [InlineData(false, true, "W W")]
    public void A_commit_makes_its_writes_durable_at_vote_and_finish_or_as_configured(bool fsync, bool fsyncAtVote, string expected)
    {
        var recorder = new CrashRecorder(DataPath);
        using var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions { SaveIndex = false, Fsync = fsync, FsyncAtVote = fsyncAtVote }, recorder);
        int before = recorder.Mark;
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata("crash", "one"));
        fs.Store(t, new Oid(0), Tid.Zero, Payload(0, 0, 100));
        fs.TpcVote(t);
        int voted = recorder.Mark;
        Tid tid = fs.TpcFinish(t);
        IReadOnlyList<FileOp> ops = recorder.Ops;
        string seen = string.Join(" ", ops.Skip(before).Select(o => o.Kind switch
        {
            FileOpKind.Write => "W",
            FileOpKind.Durable => "D",
            _ => "L",
        }));
        Assert.Equal(expected, seen);
        Assert.Equal(TransactionStatus.Checkpoint, (TransactionStatus)ops[before].Data![TxnHeader.StatusOffset]);
        FileOp flip = ops[voted];
        Assert.Equal(ops[before].Position + TxnHeader.StatusOffset, flip.Position);
        Assert.Equal((byte)' ', Assert.Single(flip.Data!));
        Assert.Equal(tid, fs.LastTransaction);
    }

    private static void Run(TxnSpec[] workload, bool fsyncAtVote)
    {
        var recorder = new CrashRecorder(DataPath);
        var committed = new List<Committed>();
        var state = new Dictionary<Oid, byte[]>();
        var serials = new Dictionary<Oid, Tid>();
        var options = new FileStorageOptions { SpillThreshold = 4096, SaveIndex = false, FsyncAtVote = fsyncAtVote };
        using (var fs = Fs.FileStorage.Open(DataPath, options, recorder))
        {
            for (int i = 0; i < workload.Length; i++)
            {
                TxnSpec spec = workload[i];
                StorageTransaction t = fs.TpcBegin(new TransactionMetadata("crash", $"txn {i}"));
                var pending = new Dictionary<Oid, byte[]>();
                for (int j = 0; j < spec.Stores.Length; j++)
                {
                    var oid = new Oid((ulong)spec.Stores[j].Oid);
                    byte[] data = Payload(i, j, spec.Stores[j].Size);
                    fs.Store(t, oid, serials.GetValueOrDefault(oid, Tid.Zero), data);
                    pending[oid] = data;
                }
                if (spec.Ending == Ending.AbortBeforeVote)
                {
                    fs.TpcAbort(t);
                    continue;
                }
                fs.TpcVote(t);
                if (spec.Ending == Ending.AbortAfterVote)
                {
                    fs.TpcAbort(t);
                    continue;
                }
                Tid tid = fs.TpcFinish(t);
                foreach ((Oid oid, byte[] data) in pending)
                {
                    state[oid] = data;
                    serials[oid] = tid;
                }
                committed.Add(new Committed(tid, recorder.Mark, new Dictionary<Oid, byte[]>(state)));
            }
        }

        IReadOnlyList<FileOp> ops = recorder.Ops;
        int opCount = ops.Count;
        for (int i = 0; i <= opCount; i++)
        {
            CheckImage(recorder.Image(i), Acknowledged(committed, i), committed, $"after op {i} of {opCount}");
        }
        for (int i = 0; i < opCount; i++)
        {
            if (ops[i].Kind != FileOpKind.Write || ops[i].Data!.Length < 2)
            {
                continue;
            }
            int len = ops[i].Data!.Length;
            bool lastVote = i >= opCount - 4;
            int step = lastVote ? 1 : Math.Max(1, len / 7);
            for (int cut = 1; cut < len; cut += step)
            {
                CheckImage(recorder.Image(i, cut), Acknowledged(committed, i), committed, $"op {i} torn after {cut} of {len} bytes");
            }
        }
        // Between two durability points the disk may hold any subset of the writes issued since the first one.
        int durable = 0;
        for (int i = 0; i < opCount; i++)
        {
            if (ops[i].Kind == FileOpKind.Durable)
            {
                durable = i + 1;
                continue;
            }
            var pendingWrites = new List<int>();
            for (int k = durable; k <= i; k++)
            {
                if (ops[k].Kind == FileOpKind.Write)
                {
                    pendingWrites.Add(k);
                }
            }
            if (ops[i].Kind != FileOpKind.Write || pendingWrites.Count < 2 || pendingWrites.Count > 6)
            {
                continue;
            }
            for (int mask = 1; mask < (1 << pendingWrites.Count) - 1; mask++)
            {
                IEnumerable<int> subset = pendingWrites.Where((_, bit) => (mask & (1 << bit)) != 0);
                CheckImage(recorder.Image(durable, subset), Acknowledged(committed, durable), committed, $"writes {mask:b} of {string.Join(",", pendingWrites)} after durable op {durable}");
            }
        }
        byte[] final = recorder.Image(opCount);
        if (committed.Count > 0)
        {
            long lastStart = LastTransactionStart(final);
            for (long cut = lastStart; cut < final.Length; cut++)
            {
                CheckImage(final.AsSpan(0, (int)cut).ToArray(), committed.Count - 1, committed, $"final image cut at {cut}");
            }
        }
    }

    private static int Acknowledged(List<Committed> committed, int mark) => committed.Count(c => c.AckMark <= mark);

    private static long LastTransactionStart(byte[] image)
    {
        ulong tlen = TxnHeader.ReadTrailer(image.AsSpan(image.Length - TxnHeader.TrailerSize));
        return image.Length - TxnHeader.TrailerSize - (long)tlen;
    }

    private static void CheckImage(byte[] image, int acknowledged, List<Committed> committed, string where)
    {
        var mem = new MemoryFileSystem();
        mem.WriteAllBytes(DataPath, image);
        int m;
        try
        {
            using (var ro = Fs.FileStorage.Open(DataPath, new FileStorageOptions { ReadOnly = true }, mem))
            {
                m = CheckPrefix(ro, acknowledged, committed, where);
            }
            Assert.True(image.AsSpan().SequenceEqual(mem.ReadAllBytes(DataPath)), $"{where}: a read-only open changed the file");
            using (var rw = Fs.FileStorage.Open(DataPath, new FileStorageOptions { SaveIndex = false }, mem))
            {
                Assert.Equal(m, CheckPrefix(rw, acknowledged, committed, where));
            }
            using (var again = Fs.FileStorage.Open(DataPath, new FileStorageOptions { ReadOnly = true }, mem))
            {
                Assert.Equal(m, CheckPrefix(again, acknowledged, committed, where));
                Assert.Empty(again.OpenLog);
            }
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException($"{where}: {e}");
        }
    }

    private static int CheckPrefix(Fs.FileStorage fs, int acknowledged, List<Committed> committed, string where)
    {
        Tid[] tids = fs.Iterator().Select(t => t.Tid).ToArray();
        int m = tids.Length;
        Assert.True(m >= acknowledged, $"{where}: {m} transactions after reopen, {acknowledged} were acknowledged");
        Assert.True(m <= committed.Count, $"{where}: {m} transactions after reopen, only {committed.Count} committed");
        for (int k = 0; k < m; k++)
        {
            Assert.True(committed[k].Tid == tids[k], $"{where}: transaction {k} is {tids[k]}, expected {committed[k].Tid}");
        }
        Assert.Equal(m == 0 ? Tid.Zero : committed[m - 1].Tid, fs.LastTransaction);
        Dictionary<Oid, byte[]> expected = m == 0 ? [] : committed[m - 1].State;
        Assert.Equal(expected.Count, fs.ObjectCount);
        foreach ((Oid oid, byte[] data) in expected)
        {
            Assert.True(fs.Load(oid).Data.Span.SequenceEqual(data), $"{where}: data of {oid}");
        }
        return m;
    }

    internal static byte[] Payload(int txn, int store, int size)
    {
        byte[] b = new byte[size];
        var rng = new Random(txn * 1000 + store);
        rng.NextBytes(b);
        return b;
    }
}
