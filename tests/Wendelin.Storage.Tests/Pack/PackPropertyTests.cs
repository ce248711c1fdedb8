using FsCheck;
using FsCheck.Fluent;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Pack;
using Wendelin.Storage.Tests.FileStorage;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pack;

/// <summary>
/// Random object-graph histories (creations, unlinks, re-links of unreachable objects, changes, undos) packed at
/// random times, with and without GC (spec/pack.md PK-G1..PK-G6). Against the unpacked original:
/// every object reachable at the pack time or at any later transaction loads the same from the packed file;
/// no reference that resolved before resolves no longer; with GC only the revisions the rule asks for survive
/// before the pack time; without GC every object's pack-time revision survives; the packed file verifies clean.
/// </summary>
public sealed class PackPropertyTests(ITestOutputHelper output)
{
    internal sealed record Op(int Kind, int A, int B, int C);

    private static Gen<Op> OpGen() =>
        Gen.Frequency(
            (4, Gen.Choose(0, 99).SelectMany(a => Gen.Choose(0, 99).Select(b => new Op(0, a, b, 0)))), // create under a
            (3, Gen.Choose(0, 99).SelectMany(a => Gen.Choose(0, 99).Select(b => new Op(1, a, b, 0)))), // unlink a's b-th ref
            (3, Gen.Choose(0, 99).SelectMany(a => Gen.Choose(0, 99).Select(b => new Op(2, a, b, 0)))), // a refs any object b
            (3, Gen.Choose(0, 99).SelectMany(a => Gen.Choose(0, 1000).Select(v => new Op(3, a, v, 0)))), // change a's value
            (2, Gen.Choose(0, 99).Select(a => new Op(4, a, 0, 0)))); // undo one of the recent transactions

    internal sealed record Case(Op[] Ops, int PackPick, bool Gc)
    {
        public override string ToString() => $"{Ops.Length} ops, pack pick {PackPick}, gc {Gc}: {string.Join(" ", Ops.Select(o => $"{o.Kind}:{o.A}/{o.B}"))}";
    }

    private static Gen<Case> CaseGen() =>
        Gen.Choose(4, 40).SelectMany(n => Gen.ArrayOf(OpGen(), n)).SelectMany(ops =>
            Gen.Choose(0, 1000).SelectMany(pick =>
                Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false))).Select(gc => new Case(ops, pick, gc))));

    /// <summary>Builds the history; returns the tids of its transactions in order.</summary>
    internal static List<Tid> Build(Fs.FileStorage fs, Op[] ops)
    {
        var tids = new List<Tid> { Graph.Commit(fs, "root", (Oid.Root, Graph.Node(0, []))) };
        var created = new List<Oid> { Oid.Root };
        foreach (Op op in ops)
        {
            List<Oid> live = created.Where(o => Graph.At(fs, o, fs.LastTransaction) is not null).ToList();
            if (live.Count == 0)
            {
                continue; // the root's creation was undone: nothing left to change
            }
            Oid a = live[op.A % live.Count];
            (long value, List<Oid> refs) = Graph.Read(fs.Load(a).Data);
            switch (op.Kind)
            {
                case 0:
                    Oid x = fs.NewOid();
                    created.Add(x);
                    refs.Add(x);
                    tids.Add(Graph.Commit(fs, "create", (x, Graph.Node(op.B, [])), (a, Graph.Node(value, refs))));
                    break;
                case 1 when refs.Count > 0:
                    refs.RemoveAt(op.B % refs.Count);
                    tids.Add(Graph.Commit(fs, "unlink", (a, Graph.Node(value, refs))));
                    break;
                case 2:
                    refs.Add(live[op.B % live.Count]); // possibly an object no longer reachable
                    tids.Add(Graph.Commit(fs, "link", (a, Graph.Node(value, refs))));
                    break;
                case 3:
                    tids.Add(Graph.Commit(fs, "change", (a, Graph.Node(op.B, refs))));
                    break;
                case 4:
                    IReadOnlyList<UndoLogEntry> log = fs.UndoLog(0, 10);
                    StorageTransaction t = fs.TpcBegin(new TransactionMetadata("graph", "undo"));
                    try
                    {
                        fs.Undo(log[op.A % log.Count].Id, t);
                        fs.TpcVote(t);
                        tids.Add(fs.TpcFinish(t));
                    }
                    catch (UndoException)
                    {
                        fs.TpcAbort(t);
                    }
                    break;
            }
        }
        return tids;
    }

    [Fact]
    public void Packing_random_histories_keeps_what_is_reachable_and_makes_nothing_dangle()
    {
        PropertyRun.Check(output, "pack graphs", CaseGen(), c =>
        {
            using var dir = new TempDirectory("pack-prop");
            string path = dir.File("g.fs");
            List<Tid> tids;
            using (var fs = Fs.FileStorage.Open(path, new FileStorageOptions { Fsync = false }))
            {
                tids = Build(fs, c.Ops);
            }
            string original = dir.File("original.fs");
            File.Copy(path, original);
            int k = c.PackPick % (tids.Count + 2);
            Tid packTid = k == 0 ? new Tid(tids[0].Value - 1) : k > tids.Count ? new Tid(tids[^1].Value + 1)
                : c.PackPick % 3 == 0 ? tids[k - 1] : new Tid(tids[k - 1].Value + 1);

            PackResult result;
            using (var fs = Fs.FileStorage.Open(path, new FileStorageOptions { Fsync = false }))
            {
                try
                {
                    result = fs.Pack(packTid, new PackOptions { Gc = c.Gc });
                }
                catch (PackException e) when (e.Message.Contains("dangling", StringComparison.Ordinal))
                {
                    using var orig = Fs.FileStorage.Open(original, new FileStorageOptions { ReadOnly = true });
                    Assert.True(HasDanglingReference(orig, packTid, tids), "the pack reported a dangling reference the original does not have: " + e.Message);
                    Assert.Equal(File.ReadAllBytes(original), File.ReadAllBytes(path));
                    return;
                }
            }
            if (!result.Packed)
            {
                Assert.Equal(File.ReadAllBytes(original), File.ReadAllBytes(path)); // PK-A3, PK-C3: untouched
                return;
            }
            using var before = Fs.FileStorage.Open(original, new FileStorageOptions { ReadOnly = true });
            using var after = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
            List<Tid> checkedTimes = [packTid, .. tids.Where(t => t > packTid)];

            // PK-G6 (1): what is reachable at the pack time and later loads the same.
            foreach (Tid t in checkedTimes)
            {
                foreach ((Oid oid, byte[] data) in Graph.Reachable(before, t))
                {
                    Assert.Equal(data, Graph.At(after, oid, t));
                }
            }
            // PK-G6 (2): no reference that resolved before resolves no longer.
            foreach (TransactionRecord txn in after.Iterator())
            {
                foreach (DataRecord r in txn.Records)
                {
                    if (r.ReadData() is not { } data)
                    {
                        continue;
                    }
                    Tid at = r.Tid > packTid ? r.Tid : packTid;
                    foreach (Oid target in Graph.Read(data).Refs)
                    {
                        if (Graph.At(before, target, at) is not null)
                        {
                            Assert.NotNull(Graph.At(after, target, at));
                        }
                    }
                }
            }
            // PK-G1/PK-G5: with GC only revisions of objects the rule reaches survive before the pack time; without
            // GC, every object's pack-time revision.
            var packedRegion = after.Iterator(null, packTid).SelectMany(t => t.Records).ToList();
            if (c.Gc)
            {
                HashSet<Oid> allowed = AllowedBeforePackTime(before, packTid, tids);
                Assert.All(packedRegion, r => Assert.Contains(r.Oid, allowed));
            }
            else
            {
                foreach (Oid oid in before.CurrentRecords().Select(x => x.Oid))
                {
                    if (Graph.At(before, oid, packTid) is byte[] data)
                    {
                        Assert.Equal(data, Graph.At(after, oid, packTid));
                    }
                }
            }
            Assert.All(packedRegion, r => Assert.Equal(0L, r.Prev));
            Assert.True(after.LastTransaction <= before.LastTransaction); // trailing transactions may all be packed away
            Assert.Equal(tids.Count(t => t > packTid), after.Iterator(new Tid(packTid.Value + 1)).Count());
            VerifyAssert.NoNewFindings(original, path); // undos can leave references to undone creations: kept as they were
        }, maxTest: 120);
    }

    /// <summary>
    /// The oracle for PK-G1: objects the root reaches at the pack time, or that a record written after it reaches
    /// (through the pack-time revisions), or whose older revision a later record points back at.
    /// </summary>
    private static HashSet<Oid> AllowedBeforePackTime(Fs.FileStorage fs, Tid packTid, List<Tid> tids)
    {
        var roots = new List<Oid> { Oid.Root };
        var pinned = new HashSet<Oid>();
        foreach (TransactionRecord t in fs.Iterator(new Tid(packTid.Value + 1)))
        {
            foreach (DataRecord r in t.Records)
            {
                if (r.DataTxn is Tid dt && dt <= packTid)
                {
                    pinned.Add(r.Oid);
                    roots.Add(r.Oid); // its pack-time revision stays too (PK-G3)
                    try
                    {
                        roots.AddRange(Graph.Read(fs.LoadSerial(r.Oid, dt)).Refs);
                    }
                    catch (PosKeyException)
                    {
                        // a revision that says "no such object"
                    }
                }
                if (r.ReadData() is { } data)
                {
                    roots.AddRange(Graph.Read(data).Refs);
                }
            }
        }
        var allowed = new HashSet<Oid>(Graph.Reachable(fs, packTid, roots).Keys);
        allowed.UnionWith(pinned);
        return allowed;
    }

    /// <summary>Does some object reachable (as the pack's rule walks) at the pack time or later reference an object without data then?</summary>
    private static bool HasDanglingReference(Fs.FileStorage fs, Tid packTid, List<Tid> tids)
    {
        foreach (Tid t in tids.Where(t => t >= packTid).Prepend(packTid))
        {
            foreach ((Oid _, byte[] data) in Graph.Reachable(fs, t, AllowedBeforePackTime(fs, packTid, tids)))
            {
                foreach (Oid target in Graph.Read(data).Refs)
                {
                    if (Graph.At(fs, target, t) is null)
                    {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
