using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.BTrees;

/// <summary>
/// Trees grown here are stored byte for byte as Python stores them (spec/objects.md OB-40..OB-45): the operations
/// of Golden/btree-golden.json, replayed through a Database, commit records equal in order, oid, length and sha256
/// to the ones Python's BTrees 4.3.1 and ZODB's writer produced (make_btree_golden.py beside it). This covers the
/// split points of all seven families, deletes that empty buckets and move first buckets, the separator update on
/// delete, the root split, inline single buckets and sets.
/// </summary>
public sealed class BTreeGoldenTests(ITestOutputHelper output)
{
    private static readonly Lazy<JsonObject> Golden = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "BTrees", "Golden", "btree-golden.json")))!.AsObject());

    public static TheoryData<string> Scenarios
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (JsonNode? s in Golden.Value["scenarios"]!.AsArray())
            {
                data.Add((string)s!["name"]!);
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Records_equal_pythons(string scenario)
    {
        JsonObject s = Golden.Value["scenarios"]!.AsArray().Single(x => (string)x!["name"]! == scenario)!.AsObject();
        string family = (string)s["family"]!;
        bool isSet = (string)s["kind"]! == "set";
        var storage = new MemoryStorage();
        using var db = new Database(storage);
        using Connection conn = db.Open();
        Persistent tree = NewTree(family, isSet);
        conn.Add(tree);
        Assert.Equal(new Oid(1), tree.PersistentOid);
        int txnIndex = 0;
        foreach (JsonNode? t in s["transactions"]!.AsArray())
        {
            foreach (JsonNode? op in t!["ops"]!.AsArray())
            {
                Apply(tree, op!.AsArray());
            }
            conn.TransactionManager.Commit();
            MemoryTransactionRecord last = storage.Transactions[^1];
            JsonArray expected = t["records"]!.AsArray();
            Assert.Equal(expected.Count, last.Oids.Count);
            for (int i = 0; i < expected.Count; i++)
            {
                JsonArray e = expected[i]!.AsArray();
                Oid oid = last.Oids[i];
                byte[] data = storage.LoadSerial(oid, last.Tid).ToArray();
                string where = $"{scenario} transaction {txnIndex} record {i}";
                Assert.True(Oid.Parse((string)e[0]!) == oid, $"{where}: oid {oid}, Python stored {(string)e[0]!}");
                string head = Convert.ToBase64String(data.AsSpan(0, Math.Min(64, data.Length)));
                Assert.True((string)e[3]! == head, $"{where} ({oid}): first bytes differ\n python {(string)e[3]!}\n ours   {head}");
                Assert.True((long)e[1]! == data.Length, $"{where} ({oid}): length {data.Length}, Python {(long)e[1]!}");
                Assert.True((string)e[2]! == Convert.ToHexStringLower(SHA256.HashData(data)), $"{where} ({oid}): sha256 differs");
            }
            CheckTree(tree, (int)t["items"]!);
            txnIndex++;
        }
        output.WriteLine($"{scenario}: {txnIndex} transactions, records equal Python's");
    }

    internal static Persistent NewTree(string family, bool isSet) => (family, isSet) switch
    {
        ("OO", false) => new OOBTree(),
        ("IO", false) => new IOBTree(),
        ("LO", false) => new LOBTree(),
        ("OI", false) => new OIBTree(),
        ("OL", false) => new OLBTree(),
        ("II", false) => new IIBTree(),
        ("LL", false) => new LLBTree(),
        ("OO", true) => new OOTreeSet(),
        ("LL", true) => new LLTreeSet(),
        ("II", true) => new IITreeSet(),
        _ => throw new ArgumentException(family),
    };

    private static void Apply(Persistent tree, JsonArray op)
    {
        string kind = (string)op[0]!;
        object key = Live(op[1])!;
        switch (tree, kind)
        {
            case (OOBTree t, "set"): t[key] = Live(op[2]); break;
            case (OOBTree t, "del"): Assert.True(t.Remove(key)); break;
            case (IOBTree t, "set"): t[checked((int)(long)key)] = Live(op[2]); break;
            case (IOBTree t, "del"): Assert.True(t.Remove(checked((int)(long)key))); break;
            case (LOBTree t, "set"): t[(long)key] = Live(op[2]); break;
            case (LOBTree t, "del"): Assert.True(t.Remove((long)key)); break;
            case (OIBTree t, "set"): t[key] = checked((int)(long)Live(op[2])!); break;
            case (OIBTree t, "del"): Assert.True(t.Remove(key)); break;
            case (OLBTree t, "set"): t[key] = (long)Live(op[2])!; break;
            case (OLBTree t, "del"): Assert.True(t.Remove(key)); break;
            case (IIBTree t, "set"): t[checked((int)(long)key)] = checked((int)(long)Live(op[2])!); break;
            case (IIBTree t, "del"): Assert.True(t.Remove(checked((int)(long)key))); break;
            case (LLBTree t, "set"): t[(long)key] = (long)Live(op[2])!; break;
            case (LLBTree t, "del"): Assert.True(t.Remove((long)key)); break;
            case (OOTreeSet t, "add"): Assert.True(t.Add(key)); break;
            case (OOTreeSet t, "remove"): Assert.True(t.Remove(key)); break;
            case (LLTreeSet t, "add"): Assert.True(t.Add((long)key)); break;
            case (LLTreeSet t, "remove"): Assert.True(t.Remove((long)key)); break;
            case (IITreeSet t, "add"): Assert.True(t.Add(checked((int)(long)key))); break;
            case (IITreeSet t, "remove"): Assert.True(t.Remove(checked((int)(long)key))); break;
            default: throw new ArgumentException($"{tree.GetType().Name} {kind}");
        }
    }

    private static void CheckTree(Persistent tree, int items)
    {
        switch (tree)
        {
            case OOBTree t: t.Check(); Assert.Equal(items, t.Count); break;
            case IOBTree t: t.Check(); Assert.Equal(items, t.Count); break;
            case LOBTree t: t.Check(); Assert.Equal(items, t.Count); break;
            case OIBTree t: t.Check(); Assert.Equal(items, t.Count); break;
            case OLBTree t: t.Check(); Assert.Equal(items, t.Count); break;
            case IIBTree t: t.Check(); Assert.Equal(items, t.Count); break;
            case LLBTree t: t.Check(); Assert.Equal(items, t.Count); break;
            case OOTreeSet t: t.Check(); Assert.Equal(items, t.Count); break;
            case LLTreeSet t: t.Check(); Assert.Equal(items, t.Count); break;
            case IITreeSet t: t.Check(); Assert.Equal(items, t.Count); break;
        }
    }

    /// <summary>A JSON value as a live value (ints as long, or BigInteger beyond 64 bits).</summary>
    internal static object? Live(JsonNode? n)
    {
        switch (n)
        {
            case null:
                return null;
            case JsonArray a:
                return a.Select(Live).ToList();
            case JsonValue v when v.TryGetValue(out string? s):
                return s;
            case JsonValue v when v.TryGetValue(out long l):
                return l;
            case JsonValue v when v.TryGetValue(out bool b):
                return b;
            case JsonValue v:
                return LiveValues.Normalize(System.Numerics.BigInteger.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture));
        }
        throw new ArgumentException(n.ToJsonString());
    }
}
