using FsCheck;
using FsCheck.Fluent;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Tests.FileStorage;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Undo;

/// <summary>
/// Model-based property (style.md habit 8): random sequences of commits, undos and several undos in one commit
/// against a FileStorage and an in-memory model of undo's rule (spec/undo.md UN-3..UN-5): an undo is allowed iff
/// every object it touches is, as of the undo, in the state the undone transaction gave it (byte-equal, or both
/// "no such object"); it then returns each object to the state before that transaction (no object, for one that
/// transaction created). Loads, refusals and the undo log must agree with the model after every step, and the
/// file must pass verify afterwards.
/// </summary>
public sealed class UndoModelTests(ITestOutputHelper output)
{
    private const int Oids = 4;

    internal sealed record Step(int Kind, int[] Oids, int[] Values, int[] Picks)
    {
        public override string ToString() => Kind switch
        {
            0 => $"commit[{string.Join(",", Oids.Zip(Values, (o, v) => $"{o}={v}"))}]",
            _ => $"undo[{string.Join(",", Picks)}]",
        };
    }

    private static Gen<Step> StepGen() =>
        Gen.Frequency(
            (3, Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Gen.Choose(1, Oids), n).SelectMany(o =>
                Gen.ArrayOf(Gen.Choose(0, 2), n).Select(v => new Step(0, o, v, []))))),
            (3, Gen.Choose(1, 2).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 6), n).Select(p => new Step(1, [], [], p)))));

    /// <summary>One record of a model transaction: the state it wrote and the state before its transaction.</summary>
    private sealed record ModelRecord(int Oid, byte[]? State, bool HasPre, byte[]? PreState);

    private sealed record ModelTxn(Tid Tid, List<ModelRecord> Records);

    private static bool Same(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    [Fact]
    public void Random_undo_sequences_agree_with_the_model()
    {
        PropertyRun.Check(output, "undo model", Gen.Choose(3, 30).SelectMany(n => Gen.ArrayOf(StepGen(), n)), steps =>
        {
            using var dir = new TestSupport.TempDirectory("undo-model");
            string path = dir.File("m.fs");
            var current = new Dictionary<int, byte[]?>(); // absent key: never written; null: no such object now
            var serial = new Dictionary<int, Tid>();
            var undoable = new List<ModelTxn>();
            using (var fs = Fs.FileStorage.Open(path))
            {
                foreach (Step step in steps)
                {
                    if (step.Kind == 0)
                    {
                        StorageTransaction t = fs.TpcBegin(new TransactionMetadata("m", step.ToString()));
                        var records = new List<ModelRecord>();
                        var written = new Dictionary<int, byte[]>();
                        for (int i = 0; i < step.Oids.Length; i++)
                        {
                            int o = step.Oids[i];
                            byte[] value = Pack.Graph.Node(step.Values[i], []);
                            fs.Store(t, new Oid((ulong)o), serial.GetValueOrDefault(o), value);
                            records.Add(new ModelRecord(o, value, current.ContainsKey(o), current.GetValueOrDefault(o)));
                            written[o] = value;
                        }
                        fs.TpcVote(t);
                        Tid tid = fs.TpcFinish(t);
                        foreach ((int o, byte[] v) in written)
                        {
                            current[o] = v;
                            serial[o] = tid;
                        }
                        undoable.Add(new ModelTxn(tid, records));
                    }
                    else
                    {
                        RunUndos(fs, step, current, serial, undoable);
                    }
                    Compare(fs, current, undoable);
                }
            }
            using (var reopened = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }))
            {
                Compare(reopened, current, undoable);
            }
            VerifyAssert.Clean(path);
        }, maxTest: 60);
    }

    private static void RunUndos(Fs.FileStorage fs, Step step, Dictionary<int, byte[]?> current, Dictionary<int, Tid> serial,
        List<ModelTxn> undoable)
    {
        if (undoable.Count == 0)
        {
            return;
        }
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata("m", step.ToString()));
        var working = new Dictionary<int, byte[]?>(current);
        var records = new List<ModelRecord>();
        foreach (int pick in step.Picks)
        {
            ModelTxn target = undoable[undoable.Count - 1 - (pick % undoable.Count)];
            // The model's decision (UN-3, UN-4): per object, the last record decides; decided states chain.
            var planned = new Dictionary<int, byte[]?>();
            var order = new List<int>();
            var failed = new HashSet<int>();
            foreach (ModelRecord r in target.Records)
            {
                byte[]? now = planned.TryGetValue(r.Oid, out byte[]? p) ? p : working.GetValueOrDefault(r.Oid);
                if (!Same(now, r.State))
                {
                    failed.Add(r.Oid);
                    continue;
                }
                failed.Remove(r.Oid);
                if (!planned.ContainsKey(r.Oid))
                {
                    order.Add(r.Oid);
                }
                planned[r.Oid] = r.HasPre ? r.PreState : null;
            }
            if (failed.Count > 0)
            {
                var e = Assert.ThrowsAny<UndoException>(() => fs.Undo(UndoLogEntry.EncodeId(target.Tid), t));
                Assert.Contains(e.Oid!.Value, failed.Select(o => new Oid((ulong)o)));
                continue;
            }
            UndoResult result = fs.Undo(UndoLogEntry.EncodeId(target.Tid), t);
            Assert.Equal(order.Select(o => new Oid((ulong)o)), result.Oids);
            foreach (int o in order)
            {
                records.Add(new ModelRecord(o, planned[o], true, current[o]));
                working[o] = planned[o];
            }
        }
        fs.TpcVote(t);
        Tid tid = fs.TpcFinish(t);
        foreach (ModelRecord r in records)
        {
            current[r.Oid] = working[r.Oid];
            serial[r.Oid] = tid;
        }
        // Each record's state is what it wrote; the later record of an object wins for the object (FS-4).
        undoable.Add(new ModelTxn(tid, records));
    }

    private static void Compare(Fs.FileStorage fs, Dictionary<int, byte[]?> current, List<ModelTxn> undoable)
    {
        for (int o = 1; o <= Oids; o++)
        {
            var oid = new Oid((ulong)o);
            if (current.GetValueOrDefault(o) is byte[] expected)
            {
                Assert.Equal(expected, fs.Load(oid).Data.ToArray());
            }
            else
            {
                Assert.Throws<PosKeyException>(() => fs.Load(oid));
            }
        }
        IReadOnlyList<UndoLogEntry> log = fs.UndoLog(0, 1000);
        Assert.Equal(undoable.Select(t => t.Tid).Reverse(), log.Select(e => e.Tid));
    }
}
