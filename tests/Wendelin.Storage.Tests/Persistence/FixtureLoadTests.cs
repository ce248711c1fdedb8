using System.Text.Json.Nodes;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>
/// Every object of basic.fs, undo.fs and packed.fs loads through Database/Connection with the class and state the
/// fixture's dump gives (spec/objects.md OB-7..OB-11); the BTrees there iterate in order.
/// </summary>
public sealed class FixtureLoadTests(ITestOutputHelper output)
{
    public static TheoryData<string> DumpFiles => new("basic", "undo", "packed");

    [Theory]
    [MemberData(nameof(DumpFiles))]
    public void Every_object_loads_with_the_dump_class_and_state(string name)
    {
        using Database db = OpenFixture(name, Model.Registry());
        using Connection conn = db.Open();
        JsonObject dump = LoadJson(name + ".dump.json");
        int n = 0;
        foreach ((string oidText, JsonNode? node) in dump["objects"]!.AsObject())
        {
            Oid oid = Oid.Parse(oidText);
            JsonObject o = node!.AsObject();
            if (o["creation_undone"] is not null)
            {
                Assert.Throws<PosKeyException>(() => conn.Get(oid));
                continue;
            }
            Persistent obj = conn.Get(oid);
            obj.Activate();
            Assert.Equal(PersistentState.UpToDate, obj.PersistentState);
            Assert.Equal((string)o["class"]!, db.Types.PythonNameOf(obj.GetType()));
            Assert.Equal(Tid.Parse((string)o["serial"]!), obj.PersistentSerial);
            AssertSameJson(o["state"], PickleJson.ToJsonNode(ObjectWriter.StateAsPickle(conn, obj)), $"{name} {oidText}");
            n++;
        }
        output.WriteLine($"{name}: {n} objects load as the dump says");
        Assert.True(n >= 9);
    }

    [Theory]
    [MemberData(nameof(DumpFiles))]
    public void Unregistered_classes_load_as_generic_objects_with_the_same_state(string name)
    {
        using Database db = OpenFixture(name, new TypeRegistry());
        using Connection conn = db.Open();
        JsonObject dump = LoadJson(name + ".dump.json");
        int generic = 0;
        foreach ((string oidText, JsonNode? node) in dump["objects"]!.AsObject())
        {
            JsonObject o = node!.AsObject();
            if (o["creation_undone"] is not null)
            {
                continue;
            }
            Persistent obj = conn.Get(Oid.Parse(oidText));
            if (obj is GenericPersistent g)
            {
                Assert.Equal((string)o["class"]!, g.ClassName);
                generic++;
            }
            AssertSameJson(o["state"], PickleJson.ToJsonNode(ObjectWriter.StateAsPickle(conn, obj)), $"{name} {oidText}");
        }
        Assert.True(generic >= 5);
    }

    [Theory]
    [MemberData(nameof(DumpFiles))]
    public void The_fixture_btrees_iterate_in_order(string name)
    {
        using Database db = OpenFixture(name, Model.Registry());
        using Connection conn = db.Open();
        PersistentMapping root = conn.Root;
        var oo = (OOBTree)root["btree"]!;
        Assert.Equal(["apple", "banana", "kiwi", "mango"], oo.Keys.Cast<string>().ToArray());
        Assert.Equal([5L, 6L, 4L, 5L], oo.Values.Cast<long>().ToArray());
        Assert.Equal(5L, oo["mango"]);
        Assert.Equal(["banana", "kiwi"], oo.Items("b", "l").Select(kv => (string)kv.Key).ToArray());
        oo.Check();
        var lo = (LOBTree)root["lobtree"]!;
        Assert.Equal([-3L, 5L, 1099511627776L], lo.Keys.ToArray());
        Assert.Equal(["v-3", "v5", "v1099511627776"], lo.Values.Cast<string>().ToArray());
        Assert.Equal("v5", lo[5]);
        Assert.Equal(1099511627776L, lo.MaxKey());
        lo.Check();
    }

    [Fact]
    public void The_fixture_model_objects_read_naturally()
    {
        using Database db = OpenFixture("basic", Model.Registry());
        using Connection conn = db.Open();
        PersistentMapping root = conn.Root;
        var top = (Node)root["tree"]!;
        Assert.Equal(PersistentState.Ghost, top.PersistentState);
        Assert.Equal("top", top.Name);
        Assert.Equal(PersistentState.UpToDate, top.PersistentState);
        Assert.Equal(["a", "b"], top.Children.Cast<Node>().Select(c => c.Name).ToArray());
        var b = (Node)top.Children[1]!;
        Assert.Equal("b1", ((Node)b.Children[0]!).Name);
        Assert.Equal(6L, (long)((Item)root["counter"]!)["value"]!);
        Assert.Equal("h\u00e9llo w\u00f6rld \u2013 \u2713 \u65e5\u672c\u8a9e \ud83d\ude00", root.Get<string>("str_unicode"));
        Assert.Equal(System.Numerics.BigInteger.Parse("1180591620717411303425", System.Globalization.CultureInfo.InvariantCulture), root["int_huge"]);
        Assert.Equal(new PyTuple(1L, "x", new PyTuple(2L, 3L)), root["tuple"]);
        Assert.Equal([1L, 2L, 3L], ((PersistentList)root["plist"]!).Cast<long>().ToArray());
    }

    internal static Database OpenFixture(string name, TypeRegistry types)
    {
        Fs.FileStorage fs = Fs.FileStorage.Open(Fixtures.Path(name + ".fs"), new FileStorageOptions { ReadOnly = true });
        return new Database(fs, new DatabaseOptions { Types = types });
    }

    internal static JsonObject LoadJson(string fixture) =>
        JsonNode.Parse(File.ReadAllText(Fixtures.Path(fixture)))!.AsObject();

    internal static void AssertSameJson(JsonNode? expected, JsonNode? actual, string what)
    {
        string e = PythonJson.Serialize(expected), a = PythonJson.Serialize(actual);
        if (e != a)
        {
            int i = 0;
            while (i < Math.Min(e.Length, a.Length) && e[i] == a[i])
            {
                i++;
            }
            int from = Math.Max(0, i - 60);
            Assert.Fail($"{what}: JSON differs at char {i}:\n expected …{e[from..Math.Min(e.Length, from + 160)]}\n actual   …{a[from..Math.Min(a.Length, from + 160)]}");
        }
    }
}
