using Wendelin.Storage.Pickle;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>
/// The object layer builds states from scratch, without the sharing a decoded value carries. For the record kinds
/// we write, the writer's own rules (a class is one object, a persistent object has one oid object, CPython's
/// singleton strings and bytes; PK-33, PK-38) must already give Python's bytes.
/// </summary>
public sealed class FreshValueEncodeTests(ITestOutputHelper output)
{
    private static readonly string[] Kinds =
    [
        "persistent.mapping.PersistentMapping", "persistent.list.PersistentList", "BTrees.OOBTree.OOBTree",
        "BTrees.LOBTree.LOBTree", "BTrees.IOBTree.IOBTree", "BTrees.IOBTree.IOBucket",
        "wendelin.bigarray.array_zodb.ZBigArray", "wendelin.bigfile.file_zodb.ZBigFile",
        "wendelin.bigfile.file_zodb.ZBlk0", "wendelin.bigfile.file_zodb.ZBlk1", "wendelin.bigfile.file_zodb.ZData",
    ];

    [Fact]
    public void Rebuilt_states_of_the_written_kinds_encode_to_Pythons_bytes()
    {
        int n = 0, sharedByPython = 0;
        foreach (string file in FsRecords.Fs30Files)
        {
            foreach (FsRecords.Record r in FsRecords.Open(file).DataRecords)
            {
                ZodbRecord rec = ZodbRecord.Read(r.Data);
                if (!Kinds.Contains(rec.ClassName))
                {
                    continue;
                }
                PickleValue state = Rebuild(rec.State);
                Assert.Equal(rec.State, state);
                byte[] bytes = ZodbPickle.WriteRecord(new PickleGlobal(rec.Module!, rec.Name!), state);
                if (SharesUserObjects(rec))
                {
                    // basic.fs' root holds the same Python str object twice (an interned constant): Python's bytes
                    // depend on object identity there, which a rebuilt value does not have (spec/pickle.md PK-33).
                    Assert.NotEqual(r.Data.ToArray(), bytes);
                    sharedByPython++;
                    continue;
                }
                ReencodeTests.AssertSameBytes(r.Data.Span, bytes, $"{file} at {r.Pos} ({rec.ClassName})");
                n++;
            }
        }
        output.WriteLine($"{n} rebuilt records byte-identical; {sharedByPython} root records with Python-side shared user strings");
        Assert.True(n > 2000);
    }

    /// <summary>True when the decoded state holds one str of 2+ characters twice (Python object identity for user data).</summary>
    private static bool SharesUserObjects(ZodbRecord rec)
    {
        var seen = new HashSet<PickleValue>(ReferenceEqualityComparer.Instance);
        return Walk(rec.State);

        bool Walk(PickleValue v)
        {
            if (v is PickleStr { Value.Length: > 1 } && !seen.Add(v))
            {
                return true;
            }
            return v switch
            {
                PickleTuple t => t.Any(Walk),
                PickleList l => l.Any(Walk),
                PickleDict d => d.Any(e => Walk(e.Key) || Walk(e.Value)),
                PickleObject o => Walk(o.Args) || (o.State is not null && Walk(o.State)),
                _ => false,
            };
        }
    }

    /// <summary>A structurally equal value in which nothing is shared: what code building a state from scratch makes.</summary>
    internal static PickleValue Rebuild(PickleValue v) => v switch
    {
        PickleStr s => new PickleStr(new string(s.Value)),
        PickleBytes b => new PickleBytes(b.Value.ToArray()),
        PickleByteString b => new PickleByteString(b.Value.ToArray()),
        PickleTuple t => PickleTuple.FromItems(t.Select(Rebuild)),
        PickleList l => new PickleList(l.Select(Rebuild)),
        PickleDict d => RebuildDict(d),
        PickleSet s => new PickleSet(s.Items.Select(Rebuild), s.IsFrozen),
        PickleGlobal g => new PickleGlobal(g.Module, g.Name),
        PicklePersistentId p => p.Reference.Kind == PersistentReferenceKind.Strong && p.Reference.ClassHint is PickleGlobal g
            ? PicklePersistentId.Strong(p.Reference.Oid, new PickleGlobal(g.Module, g.Name))
            : new PicklePersistentId(Rebuild(p.Pid)),
        PickleObject o => new PickleObject(o.Construction, Rebuild(o.Callable), Rebuild(o.Args),
            o.Kwargs is null ? null : Rebuild(o.Kwargs), o.State is null ? null : Rebuild(o.State)),
        _ => v,
    };

    private static PickleDict RebuildDict(PickleDict d)
    {
        var r = new PickleDict();
        foreach (var e in d)
        {
            r.Set(Rebuild(e.Key), Rebuild(e.Value));
        }
        return r;
    }
}
