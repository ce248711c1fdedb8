using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>
/// End to end, our bytes are Python's (spec/objects.md OB-11, OB-12, OB-33): the program that wrote basic.fs
/// (tests/fixtures/README.md), replayed through Database/Connection, stores every transaction's records in the same
/// order, under the same oids, with the same bytes (sha256) as ZODB did, and the same metadata.
/// </summary>
public sealed class ScenarioReplayTests(ITestOutputHelper output)
{
    [Fact]
    public void Replaying_the_basic_fs_program_writes_zodbs_records()
    {
        var storage = new MemoryStorage();
        using var db = new Database(storage, new DatabaseOptions { Types = Model.Registry() });
        using Connection conn = db.Open();
        TransactionManager tm = conn.TransactionManager;
        PersistentMapping root = conn.Root;

        void Commit(string user, string description, params (string Key, object? Value)[] extension)
        {
            Transaction t = tm.Current;
            t.User = user;
            t.Description = description;
            foreach ((string k, object? v) in extension)
            {
                t.Extension[k] = v;
            }
            tm.Commit();
        }

        // T1 plain values
        root["int_small"] = 42L;
        root["int_neg"] = -7L;
        root["int_big"] = (1L << 40) + 3;
        root["int_huge"] = BigInteger.Pow(2, 70) + 1;
        root["str_ascii"] = "hello";
        root["str_unicode"] = "h\u00e9llo w\u00f6rld \u2013 \u2713 \u65e5\u672c\u8a9e \U0001F600";
        root["bytes"] = new byte[] { 0, 1, 2, 0xfe, 0xff };
        root["float"] = 3.14159;
        root["float_neg_small"] = -2.5e-10;
        root["list"] = new List<object?> { 1L, "two", 3.0, null, new List<object?> { 4L, 5L } };
        root["dict"] = new OrderedDictionary<string, object?> { ["a"] = 1L, ["b"] = new List<object?> { 1L, 2L }, ["c"] = new OrderedDictionary<string, object?> { ["nested"] = true } };
        root["dict_intkeys"] = new OrderedDictionary<object, object?>(PythonValues.KeyEquality) { [1L] = "one", [2L] = "two" };
        root["tuple"] = new PyTuple(1L, "x", new PyTuple(2L, 3L));
        root["none"] = null;
        root["true"] = true;
        root["false"] = false;
        Commit("alice", "populate plain values", ("app", "fixturegen"), ("step", 1L));

        // T2 persistent objects
        var top = new Node("top", 0);
        var a = new Node("a", 1);
        var b = new Node("b", 2);
        var b1 = new Node("b1", 21);
        b.AddChild(b1);
        top.AddChild(a);
        top.AddChild(b);
        var counter = new Item("counter") { ["value"] = 0L };
        var doomed = new Item("doomed") { ["payload"] = new string('x', 100) };
        var item = new Item("plain") { ["tags"] = new List<object?> { "red", "green" }, ["size"] = 3L };
        root["tree"] = top;
        root["counter"] = counter;
        root["doomed"] = doomed;
        root["item"] = item;
        Commit("bob", "add persistent objects", ("app", "fixturegen"), ("step", 2L));

        counter["value"] = 1L;
        Commit("alice", "counter=1", ("step", 3L));

        counter["value"] = 2L;
        root.Remove("doomed");
        a.Value = 10;
        Commit("bob", "counter=2; drop doomed; a.value=10", ("step", 4L));

        counter["value"] = 3L;
        root["plist"] = new PersistentList([1L, 2L, 3L]);
        Commit("alice", "counter=3; add plist", ("step", 5L));

        counter["value"] = 4L;
        var oo = new OOBTree { ["apple"] = 5L, ["banana"] = 6L, ["kiwi"] = 4L, ["mango"] = 5L };
        var lo = new LOBTree { [-3] = "v-3", [5] = "v5", [1L << 40] = "v1099511627776" };
        root["btree"] = oo;
        root["lobtree"] = lo;
        Commit("/ admin", "counter=4; add OOBTree and LOBTree", ("step", 6L));

        counter["value"] = 5L;
        root["str_unicode2"] = "Gr\u00fc\u00dfe, \u041f\u0440\u0438\u0432\u0435\u0442";
        Commit("zo\u00eb", "\u00dcn\u00efc\u00f6d\u00e9 description \u2713", ("note", "non-ASCII \u2713"), ("n", 7L),
            ("nested", new OrderedDictionary<string, object?> { ["k"] = new List<object?> { 1L, 2L } }));

        byte[] blob = new byte[10240];
        for (int i = 0; i < blob.Length; i++)
        {
            blob[i] = (byte)i;
        }
        root["blob_bytes"] = blob;
        Commit("alice", "line one\nline two", ("step", 8L));

        counter["value"] = 6L;
        root.Remove("item");
        Commit("bob", "counter=6; drop item", ("step", 9L));

        root["int_small"] = 43L;
        Commit("", "");

        JsonArray expected = FixtureLoadTests.LoadJson("basic.dump.json")["transactions"]!.AsArray();
        IReadOnlyList<MemoryTransactionRecord> ours = storage.Transactions;
        Assert.Equal(expected.Count, ours.Count);
        int records = 0;
        for (int i = 0; i < ours.Count; i++)
        {
            JsonObject e = expected[i]!.AsObject();
            MemoryTransactionRecord t = ours[i];
            Assert.Equal((string)e["user"]!["text"]!, t.Metadata.User);
            Assert.Equal((string)e["description"]!["text"]!, t.Metadata.Description);
            Assert.Equal((int)e["extension_bytes_len"]!, t.Metadata.ExtensionBytes.Length);
            JsonArray recs = e["records"]!.AsArray();
            Assert.Equal(recs.Select(r => (string)r!["oid"]!), t.Oids.Select(o => o.ToString()));
            for (int j = 0; j < recs.Count; j++)
            {
                byte[] data = storage.LoadSerial(t.Oids[j], t.Tid).ToArray();
                Assert.True((long)recs[j]!["plen"]! == data.Length, $"transaction {i} record {j} ({t.Oids[j]}): {data.Length} bytes, ZODB wrote {(long)recs[j]!["plen"]!}");
                Assert.True((string)recs[j]!["data_sha256"]! == Convert.ToHexStringLower(SHA256.HashData(data)), $"transaction {i} record {j} ({t.Oids[j]}): bytes differ");
                records++;
            }
        }
        output.WriteLine($"{ours.Count} transactions, {records} records equal ZODB's");
    }
}
