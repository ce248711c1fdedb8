using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;

namespace Wendelin.Benchmarks;

/// <summary>The object layer against the storage it runs on (spec/objects.md): loads from a cold cache and small commits.</summary>
internal static class PersistenceBenchmarks
{
    /// <summary>A small persistent class with a dict state, like most application objects.</summary>
    private sealed class Thing : Persistent
    {
        public long Value
        {
            get => GetAttribute<long>("value");
            set => SetAttribute("value", value);
        }

        public void Init(long i)
        {
            SetAttribute("name", "thing" + i);
            SetAttribute("value", i);
            SetAttribute("tags", new List<object?> { "a", "b" });
        }
    }

    private static TypeRegistry Types()
    {
        var t = new TypeRegistry();
        t.Register<Thing>("bench", "Thing");
        return t;
    }

    [Benchmark("objects-load", "objects loaded per second from a cold cache (Connection.Get + activate) vs raw FileStorage LoadBefore of the same records")]
    public static int Load(BenchArgs args)
    {
        int n = args.Int("objects", 50_000);
        using var dir = new TempDirectory("bench-load");
        string path = dir.File("load.fs");
        var oids = new List<Oid>(n);
        using (var db = new Database(FileStorage.Open(path, new FileStorageOptions { Create = true, Fsync = false }), new DatabaseOptions { Types = Types() }))
        using (Connection conn = db.Open())
        {
            var list = new PersistentList();
            for (int i = 0; i < n; i++)
            {
                var t = new Thing();
                t.Init(i);
                conn.Add(t);
                list.Add(t);
                oids.Add(t.PersistentOid!.Value);
            }
            conn.Root["things"] = list;
            conn.TransactionManager.Commit();
        }
        using var storage = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        using var database = new Database(storage, new DatabaseOptions { Types = Types(), PoolSize = 0, OwnsStorage = false });
        Tid before = new(storage.LastTransaction.Value + 1);
        long sink = 0;
        // Interleaved after one untimed round of each, so JIT tiering and drift hit the three alike.
        Samples[] s = Harness.Interleaved(Math.Max(5, args.Runs), warmup: true,
            ("Connection.Get + activate (cold cache)", () =>
            {
                using Connection conn = database.Open();
                foreach (Oid oid in oids)
                {
                    var t = (Thing)conn.Get(oid);
                    sink += t.Value;
                }
            }),
            ("FileStorage.LoadBefore (bytes only)", () =>
            {
                foreach (Oid oid in oids)
                {
                    sink += storage.LoadBefore(oid, before)!.Value.Data.Length;
                }
            }),
            ("LoadBefore + ZodbRecord.Read (pickle decode)", () =>
            {
                foreach (Oid oid in oids)
                {
                    sink += ZodbRecord.Read(storage.LoadBefore(oid, before)!.Value.Data).PersistentIds.Count;
                }
            }));
        (Samples objects, Samples raw, Samples decode) = (s[0], s[1], s[2]);
        Harness.Report(objects, raw, n, "objects");
        Harness.Report(decode, raw, n, "records");
        Harness.Report(objects, decode, n, "objects");
        GC.KeepAlive(sink);
        return 0;
    }

    [Benchmark("commit-attr", "commits per second of a one-attribute change vs raw FileStorage commits of the same record (--fsync 1 to include fsync)")]
    public static int Commit(BenchArgs args)
    {
        int commits = args.Int("commits", 20_000); // runs long enough to reach the JIT's steady state (2,000 measure its tier-up)
        bool fsync = args.Int("fsync", 0) != 0;
        using var dir = new TempDirectory("bench-commit");
        int run = 0;
        // Interleaved after one untimed round of each, so JIT tiering and drift hit both alike.
        Samples[] s = Harness.Interleaved(Math.Max(5, args.Runs), warmup: true, ("Connection commit of one changed attribute", () =>
        {
            using var db = new Database(FileStorage.Open(dir.File($"obj{run++}.fs"), new FileStorageOptions { Create = true, Fsync = fsync }), new DatabaseOptions { Types = Types() });
            using Connection conn = db.Open();
            var t = new Thing();
            t.Init(0);
            conn.Root["t"] = t;
            conn.TransactionManager.Commit();
            for (int i = 0; i < commits; i++)
            {
                t.Value = i;
                conn.TransactionManager.Commit();
            }
        }),
        ("FileStorage TpcBegin/Store/TpcVote/TpcFinish", () =>
        {
            using var fs = FileStorage.Open(dir.File($"raw{run++}.fs"), new FileStorageOptions { Create = true, Fsync = fsync });
            var thing = new Thing();
            thing.Init(0);
            byte[] record = ZodbPickle.WriteRecord(new PickleGlobal("bench", "Thing"),
                PickleJsonFreeState());
            Oid oid = fs.NewOid();
            Tid serial = Tid.Zero;
            for (int i = 0; i <= commits; i++)
            {
                StorageTransaction txn = fs.TpcBegin(new TransactionMetadata());
                fs.Store(txn, oid, serial, record);
                fs.TpcVote(txn);
                serial = fs.TpcFinish(txn);
            }
        }));
        (Samples objects, Samples raw) = (s[0], s[1]);
        Harness.Report(objects, raw, commits, "commits");
        return 0;
    }

    private static PickleValue PickleJsonFreeState()
    {
        var d = new PickleDict();
        d.Set("name", new PickleStr("thing0"));
        d.Set("value", PickleInt.Of(12345));
        d.Set("tags", new PickleList([new PickleStr("a"), new PickleStr("b")]));
        return d;
    }
}
