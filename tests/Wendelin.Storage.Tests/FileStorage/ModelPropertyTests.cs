using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Wendelin.Storage.Fs;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// Model-based property (style.md habit 8): three threads run random sequences of commits (stores with current
/// or stale serials, read-current checks, aborts before and after vote), loads and MVCC loads against one
/// FileStorage; every answer must agree with an in-memory model of the committed versions, and so must the file
/// after a reopen. Conflicts are exactly the stores the model says are stale (FS-C3); a load returns a state
/// the object had at some moment during the call; <c>LoadBefore</c> of a past tid is exact (FS-L3).
/// </summary>
public sealed class ModelPropertyTests(ITestOutputHelper output)
{
    private const int Oids = 5;

    internal abstract record Op;

    internal sealed record CommitOp(int[] Oids, bool[] Stale, int Ending, int CheckOid, bool CheckStale) : Op
    {
        public override string ToString() =>
            $"Commit[{string.Join(",", Oids.Select((o, i) => Stale[i] ? $"{o}!" : $"{o}"))}; end {Ending}; check {CheckOid}{(CheckStale ? "!" : "")}]";
    }

    internal sealed record LoadOp(int Oid) : Op;

    internal sealed record LoadBeforeOp(int Oid, int VersionPick) : Op;

    internal sealed record IterateOp : Op;

    private static Gen<Op> OpGen()
    {
        Gen<Op> commit = Gen.Choose(0, 3).SelectMany(n =>
            Gen.ArrayOf(Gen.Choose(0, Oids - 1), n).SelectMany(oids =>
            Gen.ArrayOf(Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true))), n).SelectMany(stale =>
            Gen.Frequency((6, Gen.Constant(0)), (1, Gen.Constant(1)), (1, Gen.Constant(2))).SelectMany(ending =>
            Gen.Choose(-1, Oids - 1).SelectMany(check =>
            Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true))).Select(checkStale =>
                (Op)new CommitOp(oids, stale, ending, check, checkStale)))))));
        Gen<Op> load = Gen.Choose(0, Oids - 1).Select(o => (Op)new LoadOp(o));
        Gen<Op> before = Gen.Choose(0, Oids - 1).SelectMany(o => Gen.Choose(0, 1000).Select(v => (Op)new LoadBeforeOp(o, v)));
        return Gen.Frequency((5, commit), (3, load), (3, before), (1, Gen.Constant((Op)new IterateOp())));
    }

    private static Gen<Op[][]> Programs() =>
        Gen.ArrayOf(Gen.Choose(5, 25).SelectMany(n => Gen.ArrayOf(OpGen(), n)), 3);

    /// <summary>One committed version: its tid and the state of every object (data, serial).</summary>
    private sealed record Version(Tid Tid, Dictionary<int, (byte[] Data, Tid Serial)> State);

    private sealed class Model
    {
        private readonly List<Version> _versions = [new Version(Tid.Zero, [])];
        private readonly Lock _gate = new();

        public int Count
        {
            get
            {
                lock (_gate)
                {
                    return _versions.Count;
                }
            }
        }

        public Version this[int i]
        {
            get
            {
                lock (_gate)
                {
                    return _versions[i];
                }
            }
        }

        public Version Last => this[Count - 1];

        public void Add(Version v)
        {
            lock (_gate)
            {
                _versions.Add(v);
            }
        }
    }

    [Fact]
    public void Concurrent_random_operations_agree_with_the_model()
    {
        PropertyRun.Check(output, nameof(Concurrent_random_operations_agree_with_the_model), Programs(), Run, maxTest: 15);
    }

    private static void Run(Op[][] programs)
    {
        using var dir = new TempDirectory("model");
        string path = dir.File("model.fs");
        var model = new Model();
        int payloadCounter = 0;
        var errors = new List<Exception>();
        using (var fs = Fs.FileStorage.Open(path, new FileStorageOptions { Fsync = false }))
        {
            var threads = programs.Select((program, ti) => new Thread(() =>
            {
                try
                {
                    foreach (Op op in program)
                    {
                        Execute(fs, model, op, ti, ref payloadCounter);
                    }
                }
                catch (Exception e)
                {
                    lock (errors)
                    {
                        errors.Add(e);
                    }
                }
            })).ToArray();
            foreach (Thread t in threads)
            {
                t.Start();
            }
            foreach (Thread t in threads)
            {
                Assert.True(t.Join(TimeSpan.FromMinutes(1)), "a thread hung");
            }
            if (errors.Count > 0)
            {
                throw new AggregateException(errors);
            }
            CheckWhole(fs, model);
        }
        using var reopened = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        CheckWhole(reopened, model);
    }

    private static void Execute(Fs.FileStorage fs, Model model, Op op, int thread, ref int payloadCounter)
    {
        switch (op)
        {
            case CommitOp c:
                Commit(fs, model, c, thread, ref payloadCounter);
                break;
            case LoadOp l:
            {
                int v0 = model.Count - 1;
                Exception? error = null;
                LoadResult r = default;
                try
                {
                    r = fs.Load(new Oid((ulong)l.Oid));
                }
                catch (PosKeyException e)
                {
                    error = e;
                }
                int v1 = model.Count - 1;
                bool matched = false;
                for (int v = Math.Max(0, v0 - 1); v <= v1 && !matched; v++)
                {
                    Version ver = model[v];
                    matched = ver.State.TryGetValue(l.Oid, out var s)
                        ? error is null && s.Serial == r.Serial && s.Data.AsSpan().SequenceEqual(r.Data.Span)
                        : error is not null;
                }
                Assert.True(matched, $"Load({l.Oid}) gave {(error is null ? r.Serial.ToString() : "no such object")}, matching no version in {v0 - 1}..{v1}");
                break;
            }
            case LoadBeforeOp b:
            {
                int v0 = model.Count - 1;
                int k = b.VersionPick % (v0 + 1);
                Version at = model[k];
                Tid before = new(at.Tid.Value + 1);
                Exception? error = null;
                LoadBeforeResult? r = null;
                try
                {
                    r = fs.LoadBefore(new Oid((ulong)b.Oid), before);
                }
                catch (PosKeyException e)
                {
                    error = e;
                }
                int v1 = model.Count - 1;
                if (!at.State.TryGetValue(b.Oid, out var expected))
                {
                    // absent then: null, or "no such object" if it was absent at some point of the call
                    bool absentDuringCall = Enumerable.Range(Math.Max(0, v0 - 1), v1 - Math.Max(0, v0 - 1) + 1)
                        .Any(v => !model[v].State.ContainsKey(b.Oid));
                    Assert.True(r is null && (error is null || absentDuringCall), $"LoadBefore({b.Oid}, {before}) of an object absent then");
                    break;
                }
                Assert.Null(error);
                Assert.NotNull(r);
                Assert.Equal(expected.Serial, r.Value.Serial);
                Assert.True(expected.Data.AsSpan().SequenceEqual(r.Value.Data.Span));
                int next = -1;
                for (int j = k + 1; j <= v1; j++)
                {
                    if (model[j].State[b.Oid].Serial != expected.Serial)
                    {
                        next = j;
                        break;
                    }
                }
                if (r.Value.NextSerial is Tid n)
                {
                    Assert.True(next >= 0 && model[next].Tid == n, $"LoadBefore next serial {n}");
                }
                else
                {
                    Assert.True(next < 0 || next > v0 - 1, "LoadBefore missed a next revision that was visible before the call");
                }
                break;
            }
            case IterateOp:
            {
                int v0 = model.Count - 1;
                Tid[] tids = fs.Iterator().Select(t => t.Tid).ToArray();
                int v1 = model.Count - 1;
                Assert.InRange(tids.Length, Math.Max(0, v0 - 1), v1);
                for (int i = 0; i < tids.Length; i++)
                {
                    Assert.Equal(model[i + 1].Tid, tids[i]);
                }
                break;
            }
        }
    }

    private static void Commit(Fs.FileStorage fs, Model model, CommitOp c, int thread, ref int payloadCounter)
    {
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata($"thread {thread}", c.ToString()));
        // The commit gate is ours: the committed state cannot change until we finish or abort.
        Version current = model.Last;
        var changes = new Dictionary<int, byte[]>();
        for (int i = 0; i < c.Oids.Length; i++)
        {
            int oid = c.Oids[i];
            bool exists = current.State.TryGetValue(oid, out var s);
            Tid serial = exists ? s.Serial : Tid.Zero;
            if (c.Stale[i])
            {
                serial = exists ? new Tid(s.Serial.Value - 1) : new Tid(12345);
            }
            byte[] data = Encoding.UTF8.GetBytes($"oid {oid} payload {Interlocked.Increment(ref payloadCounter)} from {thread}");
            if (c.Stale[i] && exists)
            {
                var e = Assert.Throws<ConflictException>(() => fs.Store(t, new Oid((ulong)oid), serial, data));
                Assert.Equal((s.Serial, serial), (e.CommittedSerial, e.GivenSerial));
                fs.TpcAbort(t);
                return;
            }
            fs.Store(t, new Oid((ulong)oid), serial, data);
            changes[oid] = data;
        }
        if (c.CheckOid >= 0)
        {
            bool exists = current.State.TryGetValue(c.CheckOid, out var s);
            if (!exists)
            {
                Assert.Throws<PosKeyException>(() => fs.CheckCurrentSerial(t, new Oid((ulong)c.CheckOid), Tid.Zero));
            }
            else if (c.CheckStale)
            {
                Assert.Throws<ReadConflictException>(() => fs.CheckCurrentSerial(t, new Oid((ulong)c.CheckOid), Tid.Zero));
                fs.TpcAbort(t);
                return;
            }
            else
            {
                fs.CheckCurrentSerial(t, new Oid((ulong)c.CheckOid), s.Serial);
            }
        }
        if (c.Ending == 1)
        {
            fs.TpcAbort(t);
            return;
        }
        fs.TpcVote(t);
        if (c.Ending == 2)
        {
            fs.TpcAbort(t);
            return;
        }
        Tid committed = Tid.Zero;
        Tid tid = fs.TpcFinish(t, (tid, oids) =>
        {
            committed = tid;
            var state = new Dictionary<int, (byte[], Tid)>(current.State);
            foreach ((int oid, byte[] data) in changes)
            {
                state[oid] = (data, tid);
            }
            model.Add(new Version(tid, state));
        });
        // the callback saw the tid TpcFinish returns (another thread may have committed since, so not model.Last)
        Assert.Equal(committed, tid);
    }

    private static void CheckWhole(Fs.FileStorage fs, Model model)
    {
        int count = model.Count;
        Assert.Equal(Enumerable.Range(1, count - 1).Select(i => model[i].Tid), fs.Iterator().Select(t => t.Tid));
        Version last = model.Last;
        Assert.Equal(last.Tid, fs.LastTransaction);
        Assert.Equal(last.State.Count, fs.ObjectCount);
        foreach ((int oid, var s) in last.State)
        {
            LoadResult r = fs.Load(new Oid((ulong)oid));
            Assert.Equal(s.Serial, r.Serial);
            Assert.True(s.Data.AsSpan().SequenceEqual(r.Data.Span));
        }
        for (int v = 1; v < count; v++)
        {
            foreach ((int oid, var s) in model[v].State)
            {
                LoadBeforeResult r = fs.LoadBefore(new Oid((ulong)oid), new Tid(model[v].Tid.Value + 1))!.Value;
                Assert.Equal(s.Serial, r.Serial);
            }
        }
    }
}
