using Wendelin.Storage.BTrees;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests.Pack;

/// <summary>
/// Garbage collection follows every strong reference kind through every structure (spec/pack.md PK-G1): objects
/// reachable only through a BTree's separate buckets, a ZBigFile's block table, ZBlk1 chunk trees and their
/// buckets, or an oid-only reference survive; weak references are not followed (ZODB's referencesf), so an object
/// reachable only through one goes, as does anything unreachable.
/// </summary>
public sealed class PackReachabilityTests
{
    private static bool Exists(Fs.FileStorage fs, Oid oid)
    {
        try
        {
            fs.Load(oid);
            return true;
        }
        catch (PosKeyException)
        {
            return false;
        }
    }

    private static HashSet<Oid> Oids(Fs.FileStorage fs)
    {
        var oids = new HashSet<Oid>();
        foreach (TransactionRecord t in fs.Iterator())
        {
            foreach (DataRecord r in t.Records)
            {
                oids.Add(r.Oid);
            }
        }
        return oids;
    }

    [Fact]
    public void Values_reachable_only_through_separate_BTree_buckets_survive()
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        using var db = new Database(fs, new DatabaseOptions { OwnsStorage = false });
        var values = new List<Oid>();
        Oid garbage;
        using (Connection conn = db.Open())
        {
            var tree = new OOBTree();
            conn.Root["tree"] = tree;
            for (long k = 0; k < 200; k++)
            {
                var v = new PersistentMapping { ["k"] = k };
                tree[k] = v;
            }
            var doomed = new PersistentMapping { ["doomed"] = true };
            conn.Root["doomed"] = doomed;
            conn.TransactionManager.Commit();
            foreach (KeyValuePair<object, object?> kv in tree)
            {
                values.Add(((Persistent)kv.Value!).PersistentOid!.Value);
            }
            garbage = doomed.PersistentOid!.Value;
            conn.Root.Remove("doomed");
            conn.TransactionManager.Commit();
        }
        int buckets = 0;
        foreach (TransactionRecord t in fs.Iterator())
        {
            foreach (DataRecord r in t.Records)
            {
                if (r.ReadData() is { } d && ZodbPickle.GetClassName(d) == "BTrees.OOBTree.OOBucket")
                {
                    buckets++;
                }
            }
        }
        Assert.True(buckets >= 2, $"the tree has {buckets} bucket records; the test needs separate buckets");
        Assert.True(fs.Pack(fs.LastTransaction).Packed);
        Assert.False(Exists(fs, garbage));
        Assert.All(values, v => Assert.True(Exists(fs, v), $"{v}, reachable through a bucket, was collected"));
        using Connection check = db.Open();
        var packed = (OOBTree)check.Root["tree"]!;
        packed.Check();
        Assert.Equal(200, packed.Count);
        Assert.Equal(199L, ((PersistentMapping)packed[199L]!)["k"]);
    }

    [Fact]
    public void A_ZBigFile_keeps_its_ZBlk0_and_its_ZBlk1_chunk_tree_buckets_and_ZData()
    {
        // upstream-zblk: ZBigFile (1) → LOBTree (0x47) → ZBlk0 (2) and ZBlk1 (3) → IOBTree (4) → 2 IOBuckets → 64 ZData.
        // The root is rewritten to name only the ZBigFile, so everything else is reachable only through it.
        using var dir = new TempDirectory("pack-zbig");
        string path = Fixtures.CopyTo("upstream-zblk/py3_pickle3/zblk.fs", dir);
        using var fs = Fs.FileStorage.Open(path, new FileStorageOptions { Fsync = false });
        HashSet<Oid> all = Oids(fs);
        Assert.Equal(72, all.Count); // the root and 71 objects
        ZodbRecord root = ZodbPickle.ReadRecord(fs.Load(Oid.Root).Data);
        PickleValue zbigf = root.State.AsDict()["data"].AsDict()["zbigf"];
        var data = new PickleDict();
        data.Set("zbigf", zbigf);
        var state = new PickleDict();
        state.Set("data", data);
        Oid garbage = fs.NewOid();
        Graph.Commit(fs, "root names only the file; one unreachable object",
            (Oid.Root, ZodbPickle.WriteRecord(root.ClassMetadata, state)), (garbage, Graph.Node(7, [])));
        Assert.True(fs.Pack(fs.LastTransaction).Packed);
        Assert.False(Exists(fs, garbage));
        Assert.All(all, oid => Assert.True(Exists(fs, oid), $"{oid}, reachable through the ZBigFile, was collected"));
    }

    [Fact]
    public void An_oid_only_reference_keeps_its_target_and_a_weak_one_does_not()
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        Oid a = fs.NewOid(), viaOid = fs.NewOid(), viaWeak = fs.NewOid(), unreachable = fs.NewOid();
        var cls = new PickleGlobal("tests", "Node");
        var refs = new PickleList([PicklePersistentId.OidOnly(viaOid), PicklePersistentId.Weak(viaWeak)]);
        byte[] aRecord = ZodbPickle.WriteRecord(cls, new PickleTuple(PickleInt.Of(1), refs));
        Graph.Commit(fs, "create",
            (Oid.Root, Graph.Node(0, [a])), (a, aRecord),
            (viaOid, Graph.Node(2, [])), (viaWeak, Graph.Node(3, [])), (unreachable, Graph.Node(4, [])));
        Assert.True(fs.Pack(fs.LastTransaction).Packed);
        Assert.True(Exists(fs, a));
        Assert.True(Exists(fs, viaOid), "an object reachable through an oid-only reference was collected");
        Assert.False(Exists(fs, viaWeak), "a weak reference kept its target (ZODB's pack does not follow them)");
        Assert.False(Exists(fs, unreachable));
        Assert.Equal(aRecord, fs.Load(a).Data.ToArray()); // the weak reference itself stays as written
    }
}
