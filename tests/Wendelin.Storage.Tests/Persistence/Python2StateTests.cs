using System.Text;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>
/// States written by Python 2 (spec/pickle.md PK-14, objects.md OB-10, OB-41): Python-2 str dict keys and O-family
/// BTree keys of ASCII bytes load as text, as Python-3 ZODB's unpickler gives them; a refused state is described in
/// Python's words, never with a .NET type name.
/// </summary>
public sealed class Python2StateTests
{
    private static PickleByteString Py2(string s) => new(Encoding.Latin1.GetBytes(s));

    private static PicklePersistentId Ref(ulong oid, string module, string name)
    {
        byte[] b = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(b, oid);
        return new PicklePersistentId(new PickleTuple(new PickleByteString(b), new PickleTuple(Py2(module), Py2(name))));
    }

    private static void StoreRaw(MemoryStorage storage, params (ulong Oid, string Module, string Name, PickleValue State)[] records)
    {
        StorageTransaction t = storage.TpcBegin(new TransactionMetadata());
        foreach ((ulong oid, string module, string name, PickleValue state) in records)
        {
            storage.Store(t, new Oid(oid), Tid.Zero, ZodbPickle.WriteRecord(new PickleGlobal(module, name), state));
        }
        storage.TpcVote(t);
        storage.TpcFinish(t);
    }

    private static PickleDict Dict(params (PickleValue Key, PickleValue Value)[] entries)
    {
        var d = new PickleDict();
        foreach ((PickleValue k, PickleValue v) in entries)
        {
            d.Set(k, v);
        }
        return d;
    }

    [Fact]
    public void Python2_mapping_list_and_OOBTree_states_load_with_text_keys()
    {
        var storage = new MemoryStorage();
        byte[] nonAscii = [0xC3, 0xA9];
        PickleDict rootData = Dict(
            (Py2("list"), Ref(1, "persistent.list", "PersistentList")),
            (Py2("tree"), Ref(2, "BTrees.OOBTree", "OOBTree")),
            (Py2("tuples"), Ref(3, "BTrees.OOBTree", "OOBTree")),
            (new PickleByteString(nonAscii), PickleInt.Of(7)),
            (Py2("payload"), Py2("raw\x00bytes")));
        var listData = new PickleList([Py2("x"), PickleInt.Of(1)]);
        var bucket = new PickleTuple(Py2("a"), PickleInt.Of(1), Py2("b"), Py2("two"));
        var tupleBucket = new PickleTuple(new PickleTuple(Py2("k"), PickleInt.Of(1)), PickleInt.Of(10), new PickleTuple(Py2("k"), PickleInt.Of(2)), PickleInt.Of(20));
        StoreRaw(storage,
            (0, "persistent.mapping", "PersistentMapping", Dict((Py2("data"), rootData))),
            (1, "persistent.list", "PersistentList", Dict((Py2("data"), listData))),
            (2, "BTrees.OOBTree", "OOBTree", new PickleTuple(new PickleTuple(new PickleTuple(bucket)))),
            (3, "BTrees.OOBTree", "OOBTree", new PickleTuple(new PickleTuple(new PickleTuple(tupleBucket)))));

        using var db = new Database(storage, new DatabaseOptions { OwnsStorage = false });
        using Connection conn = db.Open();
        PersistentMapping root = conn.Root;
        Assert.Equal(5, root.Count);
        var tuples = Assert.IsType<OOBTree>(root["tuples"]);
        Assert.Equal(20L, tuples[new PyTuple("k", 2L)]); // tuple keys holding Python-2 strs too
        tuples.Check();
        var list = Assert.IsType<PersistentList>(root["list"]);
        Assert.Equal(2, list.Count);
        Assert.Equal(1L, list[1]);
        var tree = Assert.IsType<OOBTree>(root["tree"]);
        Assert.Equal(1L, tree["a"]);
        Assert.True(tree.ContainsKey("b"));
        tree.Check();
        // values stay as read: a Python-2 str payload keeps its bytes
        var payload = Assert.IsType<PickleByteString>(root["payload"]);
        Assert.Equal(Encoding.Latin1.GetBytes("raw\x00bytes"), payload.Value.ToArray());
        Assert.Equal(7L, root[new PickleByteString(nonAscii)]);
    }

    [Theory]
    [InlineData("persistent.mapping", "PersistentMapping")]
    [InlineData("persistent.list", "PersistentList")]
    public void A_refused_state_names_Python_types_not_dotnet_ones(string module, string name)
    {
        var storage = new MemoryStorage();
        var bad = Dict((PickleInt.Of(1), new PickleList([Py2("x")])));
        StoreRaw(storage,
            (0, "persistent.mapping", "PersistentMapping", Dict((new PickleStr("data"), Dict((new PickleStr("o"), Ref(1, module, name)))))),
            (1, module, name, bad));
        using var db = new Database(storage, new DatabaseOptions { OwnsStorage = false });
        using Connection conn = db.Open();
        object o = conn.Root["o"]!;
        Exception ex = Assert.ThrowsAny<Exception>(() => o switch
        {
            PersistentMapping m => m.Count,
            PersistentList l => l.Count,
            _ => throw new InvalidOperationException("unexpected class"),
        });
        Assert.Contains($"cannot load object 0x0000000000000001 of class {module}.{name}: its state does not fit the class: ", ex.Message);
        Assert.Contains("{1: ['x']}", ex.Message);
        Assert.DoesNotContain("SetState", ex.Message);
        Assert.DoesNotContain("System.", ex.Message);
        Assert.DoesNotContain("`", ex.Message);
    }
}
