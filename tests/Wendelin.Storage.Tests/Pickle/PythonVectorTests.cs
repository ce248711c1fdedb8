using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>
/// Golden vectors written by CPython's C pickler (Vectors/make_vectors.py): our writer gives the same protocol-3
/// bytes for the same values (batching, ints, floats, text, sharing, cycles, sets, objects, persistent ids; PK-30..PK-38),
/// and our reader gives the same value for a pickle of protocols 0 to 5 (PK-1..PK-8).
/// </summary>
public sealed class PythonVectorTests
{
    private static readonly Lazy<JsonObject> Vectors = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Pickle", "Vectors", "python-vectors.json")))!.AsObject());

    public static TheoryData<string> WriterNames => new(Vectors.Value["writer"]!.AsObject().Select(p => p.Key));

    public static TheoryData<string> ReaderNames => new(Vectors.Value["reader"]!.AsObject().Select(p => p.Key));

    [Theory]
    [MemberData(nameof(WriterNames))]
    public void Writer_matches_CPython(string name)
    {
        JsonObject v = Vectors.Value["writer"]![name]!.AsObject();
        PickleValue value = Build(name);
        byte[] ours = PickleWriter.Write(value);
        if (v["hex"] is JsonNode hex)
        {
            ReencodeTests.AssertSameBytes(Convert.FromHexString((string)hex!), ours, name);
        }
        Assert.Equal((int)v["len"]!, ours.Length);
        Assert.Equal((string)v["sha256"]!, Convert.ToHexStringLower(SHA256.HashData(ours)));
        // and it reads back to an equal value
        Assert.Equal(value, PickleReader.Read(ours));
    }

    [Theory]
    [MemberData(nameof(ReaderNames))]
    public void Reader_gives_the_same_value_for_every_protocol(string name)
    {
        JsonObject v = Vectors.Value["reader"]![name]!.AsObject();
        PickleValue reference = PickleReader.Read(Convert.FromHexString((string)v["3"]!));
        foreach (var (protocol, hex) in v)
        {
            var reader = new PickleReader(Convert.FromHexString((string)hex!));
            PickleValue value = reader.ReadPickle();
            Assert.True(reader.AtEnd);
            Assert.True(reference.Equals(value), $"{name} protocol {protocol}: {value} != {reference}");
            Assert.Equal(int.Parse(protocol, System.Globalization.CultureInfo.InvariantCulture) >= 2 ? int.Parse(protocol, System.Globalization.CultureInfo.InvariantCulture) : 0, reader.Protocol);
        }
    }

    [Fact]
    public void Reader_vectors_hold_the_values_python_pickled()
    {
        JsonObject r = Vectors.Value["reader"]!.AsObject();
        PickleTuple scalars = PickleTuple.FromItems(PickleReader.Read(Convert.FromHexString((string)r["scalars"]!["0"]!)).AsList());
        Assert.True(scalars[0].IsNone);
        Assert.True(scalars[1].AsBoolean());
        Assert.Equal(BigInteger.Pow(2, 70), scalars[9].AsBigInteger());
        Assert.Equal(double.PositiveInfinity, scalars[14].AsDouble());
        Assert.Equal("\u00e9\u20ac\U0001F600", scalars[16].AsString());
        Assert.Equal("back\\slash\nnew line", scalars[17].AsString());
        PickleList shared = PickleReader.Read(Convert.FromHexString((string)r["shared"]!["0"]!)).AsList();
        Assert.Same(shared[0], shared[1]);
        PickleList recursive = PickleReader.Read(Convert.FromHexString((string)r["recursive_list"]!["4"]!)).AsList();
        Assert.Same(recursive, recursive[0]);
        PickleDict keys = PickleReader.Read(Convert.FromHexString((string)r["containers"]!["1"]!)).AsList()[5].AsDict();
        Assert.Equal("tuple key", keys[new PickleTuple(2, 3)].AsString());
        Assert.Equal("one", keys[PickleValue.FromDouble(1.0)].AsString());
    }

    [Fact]
    public void Fast_mode_matches_CPython()
    {
        var value = new PickleTuple(new PickleBytes(new byte[6]), new PickleBytes(Convert.FromHexString("00010000000000" + "64")));
        byte[] expected = Convert.FromHexString((string)Vectors.Value["fast"]!["index_like"]!);
        Assert.Equal(expected, PickleWriter.Write(value, fast: true));
    }

    /// <summary>The C# twin of each Python value in make_vectors.py (same sharing as the Python objects).</summary>
    private static PickleValue Build(string name)
    {
        switch (name)
        {
            case "list_0":
                return new PickleList();
            case "list_1":
                return new PickleList([7]);
            case "list_1000":
            case "list_1001":
            case "list_2000":
                return new PickleList(Enumerable.Range(0, int.Parse(name[5..], System.Globalization.CultureInfo.InvariantCulture)).Select(i => (PickleValue)i));
            case "dict_1":
                {
                    var d = new PickleDict();
                    d.Set("k", 1);
                    return d;
                }
            case "dict_2":
                {
                    var d = new PickleDict();
                    d.Set(1, 2);
                    d.Set(3, 4);
                    return d;
                }
            case "dict_1000":
            case "dict_1001":
                {
                    var d = new PickleDict();
                    for (int i = 0; i < int.Parse(name[5..], System.Globalization.CultureInfo.InvariantCulture); i++)
                    {
                        d.Set(i, i);
                    }
                    return d;
                }
            case "dict_2000":
                {
                    var d = new PickleDict();
                    for (int i = 0; i < 2000; i++)
                    {
                        d.Set(i, -i);
                    }
                    return d;
                }
            case "ints":
                {
                    BigInteger two = 2;
                    BigInteger[] v =
                    [
                        0, 1, 255, 256, 65535, 65536, -1, -129, int.MaxValue, int.MinValue, 1L << 31, -(1L << 31) - 1,
                        long.MaxValue, BigInteger.Pow(two, 63), long.MinValue, (BigInteger)long.MinValue - 1, BigInteger.Pow(two, 64),
                        -(1L << 39), -(1L << 40), BigInteger.Pow(two, 100), -BigInteger.Pow(two, 100),
                        BigInteger.Pow(10, 1000), -BigInteger.Pow(10, 1000),
                    ];
                    return new PickleList(v.Select(x => (PickleValue)x));
                }
            case "floats":
                return new PickleList([0.0, -0.0, 1.5, double.PositiveInfinity, double.NegativeInfinity, 1e300, double.Epsilon, 3.14159]);
            case "strings":
                return new PickleList(["", "", "a", "a", "\u00e9", "\u20ac", "\U0001F600", "\ud800", "ab", "ab", new string('x', 300)]);
            case "bytes":
                return new PickleList([Array.Empty<byte>(), Array.Empty<byte>(), new byte[1], new byte[1], new byte[300], "abc"u8.ToArray()]);
            case "tuples":
                return new PickleList([PickleTuple.Empty, new PickleTuple(1), new PickleTuple(1, 2), new PickleTuple(1, 2, 3),
                    new PickleTuple(1, 2, 3, 4), new PickleTuple(PickleTuple.Empty), new PickleTuple(PickleValue.None, true, false)]);
            case "shared":
                {
                    var s = new PickleList([1]);
                    return new PickleList([s, s, new PickleTuple([s])]);
                }
            case "recursive_list":
                {
                    var l = new PickleList();
                    l.Add(l);
                    return l;
                }
            case "recursive_tuple":
                {
                    var l = new PickleList();
                    var t = new PickleTuple([l]);
                    l.Add(t);
                    return t;
                }
            case "sets":
                return new PickleList([new PickleSet([1, 2, 3]), new PickleSet([4], frozen: true), new PickleSet()]);
            case "nested":
                {
                    var inner = new PickleDict();
                    inner.Set("c", PickleValue.None);
                    var b = new PickleDict();
                    b.Set("b", new PickleList([1, inner]));
                    var d = new PickleDict();
                    d.Set("a", b);
                    d.Set("d", true);
                    d.Set("e", false);
                    return d;
                }
            case "ordered_dict_1":
            case "ordered_dict_3":
                {
                    var o = PickleObject.Reduce(new PickleGlobal("collections", "OrderedDict"), PickleTuple.Empty);
                    string[] keys = name.EndsWith('1') ? ["a"] : ["a", "b", "c"];
                    for (int i = 0; i < keys.Length; i++)
                    {
                        o.AddDictItem(keys[i], i + 1);
                    }
                    return o;
                }
            case "namespace":
                {
                    var state = new PickleDict();
                    state.Set("a", 1);
                    return PickleObject.NewObj(new PickleGlobal("argparse", "Namespace"), PickleTuple.Empty, state);
                }
            case "date":
                return PickleObject.Reduce(new PickleGlobal("datetime", "date"), new PickleTuple(new byte[] { 0x07, 0xe4, 1, 2 }));
            case "complex":
                return PickleObject.Reduce(new PickleGlobal("builtins", "complex"), new PickleTuple(1.0, 2.0));
            case "global":
                return new PickleGlobal("collections", "OrderedDict");
            case "pers":
                {
                    // Each reference built afresh, as the object layer does: oid and class sharing come from the writer.
                    var p = new PickleGlobal("__main__", "P");
                    return new PickleList([
                        PicklePersistentId.Strong(new Oid(1), p), PicklePersistentId.Strong(new Oid(2), new PickleGlobal("__main__", "P")),
                        PicklePersistentId.Strong(new Oid(1), new PickleGlobal("__main__", "P")),
                        PicklePersistentId.OidOnly(new Oid(3)), PicklePersistentId.OidOnly(new Oid(3)),
                    ]);
                }
            default:
                throw new ArgumentException(name);
        }
    }
}
