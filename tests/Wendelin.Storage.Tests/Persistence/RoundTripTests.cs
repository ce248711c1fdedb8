using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>A database written here with every kind of content, reopened from its file, loads equal (spec/objects.md OB-10, OB-42).</summary>
public sealed class RoundTripTests(ITestOutputHelper output)
{
    [Fact]
    public void Maps_lists_big_btrees_custom_classes_and_unicode_metadata_reload_equal()
    {
        using var dir = new TempDirectory("persist");
        string path = dir.File("data.fs");
        const int N = 100_000;
        Tid tid;
        using (var db = new Database(Fs.FileStorage.Open(path, new Fs.FileStorageOptions { Create = true, Fsync = false }),
            new DatabaseOptions { Types = Model.Registry() }))
        using (Connection conn = db.Open())
        {
            PersistentMapping root = conn.Root;
            root["text"] = "Grüße 😀 \uffff \ud800";
            root["map"] = new PersistentMapping { ["a"] = 1L, ["b"] = new List<object?> { 1L, "two", 3.5, null } };
            root["list"] = new PersistentList([new PyTuple(1L, "x"), new byte[] { 0, 255 }, System.Numerics.BigInteger.Pow(2, 70)]);
            var lo = new LOBTree();
            var oo = new OOBTree();
            var rng = new Random(7);
            foreach (int k in Enumerable.Range(0, N).OrderBy(_ => rng.Next()))
            {
                lo[k * 3L] = "v" + k;
                oo["k" + k.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)] = (long)k;
            }
            root["lo"] = lo;
            root["oo"] = oo;
            var top = new Node("top", 1);
            top.AddChild(new Node("child", 2));
            root["node"] = top;
            root["pair"] = new Pair { Size = 42, Target = top };
            Transaction txn = conn.TransactionManager.Current;
            txn.SetUser("zoë");
            txn.Note("Ünïcödé ✓\nsecond line");
            txn.Extension["note"] = "non-ASCII ✓";
            txn.Extension["n"] = 7L;
            conn.TransactionManager.Commit();
            tid = db.LastTransaction;
            lo.Check();
            oo.Check();
        }
        using (var db = new Database(Fs.FileStorage.Open(path, new Fs.FileStorageOptions { ReadOnly = true }),
            new DatabaseOptions { Types = Model.Registry() }))
        using (Connection conn = db.Open())
        {
            PersistentMapping root = conn.Root;
            Assert.Equal("Grüße 😀 \uffff \ud800", root["text"]);
            var map = (PersistentMapping)root["map"]!;
            Assert.Equal(1L, map["a"]);
            Assert.True(PythonValues.Equal(new List<object?> { 1L, "two", 3.5, null }, map["b"]));
            var list = (PersistentList)root["list"]!;
            Assert.Equal(new PyTuple(1L, "x"), list[0]);
            Assert.Equal(new byte[] { 0, 255 }, list[1]);
            Assert.Equal(System.Numerics.BigInteger.Pow(2, 70), list[2]);
            var lo = (LOBTree)root["lo"]!;
            var oo = (OOBTree)root["oo"]!;
            lo.Check();
            oo.Check();
            Assert.Equal(N, lo.Count);
            Assert.Equal(N, oo.Count);
            long expectKey = 0;
            foreach (KeyValuePair<long, object?> kv in lo)
            {
                Assert.Equal(expectKey, kv.Key);
                Assert.Equal("v" + (expectKey / 3), kv.Value);
                expectKey += 3;
            }
            Assert.Equal(12345L, oo["k012345"]);
            Assert.Equal(["k099998", "k099999"], oo.ItemsFrom("k099998").Select(kv => (string)kv.Key).ToArray());
            int depth = Depth(lo);
            output.WriteLine($"LOBTree of {N} keys: depth {depth}; OOBTree depth {Depth(oo)}");
            Assert.True(depth >= 3, "100,000 keys give a tree of several levels");
            var top = (Node)root["node"]!;
            Assert.Equal("child", ((Node)top.Children[0]!).Name);
            var pair = (Pair)root["pair"]!;
            Assert.Equal(42, pair.Size);
            Assert.Same(top, pair.Target);
            var fs = (Fs.FileStorage)db.Storage;
            Fs.TransactionRecord t = fs.Iterator().Last();
            Assert.Equal(tid, t.Tid);
            Assert.Equal("/ zoë", System.Text.Encoding.UTF8.GetString(t.User.Span));
            Assert.Equal("Ünïcödé ✓\nsecond line", System.Text.Encoding.UTF8.GetString(t.Description.Span));
            Storage.Pickle.PickleDict ext = Storage.Pickle.ZodbPickle.ReadExtension(t.ExtensionBytes);
            Assert.Equal("non-ASCII ✓", ext["note"].AsString());
            Assert.Equal(7L, ext["n"].AsInt64());
        }
    }

    private static int Depth<TKey, TValue>(TreeBase<TKey, TValue> tree)
    {
        tree.Activate();
        int depth = 1;
        Persistent child = tree._children[0];
        while (child is TreeBase<TKey, TValue> sub)
        {
            sub.Activate();
            depth++;
            child = sub._children[0];
        }
        return depth + 1;
    }
}
