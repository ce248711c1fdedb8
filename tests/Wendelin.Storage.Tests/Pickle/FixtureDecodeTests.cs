using System.Globalization;
using System.Text.Json.Nodes;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>
/// Every record of every fixture decodes, and class names and rendered states equal the JSON that Python's ZODB
/// produced for them (spec/pickle.md §7, PK-3, PK-14).
/// </summary>
public sealed class FixtureDecodeTests(ITestOutputHelper output)
{
    public static TheoryData<string> AllFiles => new(FsRecords.AllFiles);

    public static TheoryData<string> DumpFiles => new("basic", "undo", "packed");

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Every_record_of_every_fixture_decodes(string file)
    {
        FsRecords fs = FsRecords.Open(file);
        int n = 0;
        foreach (FsRecords.Record r in fs.DataRecords)
        {
            ZodbRecord rec = ZodbRecord.Read(r.Data);
            Assert.Equal(r.Data.Length, rec.Length);
            Assert.NotNull(rec.ClassName);
            Assert.Equal(ZodbPickle.GetClassName(r.Data), rec.ClassName);
            n++;
        }
        output.WriteLine($"{file}: {n} records decoded");
        Assert.True(n > 0);
    }

    [Theory]
    [MemberData(nameof(DumpFiles))]
    public void Dump_objects_have_the_fixture_class_state_and_refs(string name)
    {
        FsRecords fs = FsRecords.Open(name + ".fs");
        JsonObject dump = LoadJson(name + ".dump.json");
        int checkedObjects = 0;
        foreach (var (oidText, node) in dump["objects"]!.AsObject())
        {
            JsonObject o = node!.AsObject();
            ReadOnlyMemory<byte> data = fs.Resolve((long)o["record_pos"]!);
            if (o["creation_undone"] is not null)
            {
                Assert.Equal(0, data.Length);
                continue;
            }
            ZodbRecord rec = ZodbRecord.Read(data);
            Assert.Equal((string)o["class"]!, rec.ClassName);
            AssertSameJson(o["state"], PickleJson.ToJsonNode(rec.State), $"{name} {oidText}");
            string[] refs = ZodbPickle.StrongReferences(data).Select(x => x.ToString()).Distinct().ToArray();
            Assert.Equal(o["refs"]!.AsArray().Select(x => (string)x!).ToArray(), refs);
            checkedObjects++;
        }
        output.WriteLine($"{name}: {checkedObjects} object states equal the fixture's");
        Assert.True(checkedObjects >= 9);
    }

    [Theory]
    [MemberData(nameof(DumpFiles))]
    public void Dump_records_have_the_fixture_class_and_extensions_decode(string name)
    {
        FsRecords fs = FsRecords.Open(name + ".fs");
        JsonObject dump = LoadJson(name + ".dump.json");
        int records = 0;
        foreach (JsonNode? t in dump["transactions"]!.AsArray())
        {
            long tpos = (long)t!["pos"]!;
            FsRecords.Txn txn = fs.Transactions.Single(x => x.Pos == tpos);
            PickleDict ext = ZodbPickle.ReadExtension(txn.Extension);
            AssertSameJson(t["extension"], PickleJson.ToJsonNode(ext), $"{name} extension at {tpos}");
            foreach (JsonNode? r in t["records"]!.AsArray())
            {
                ReadOnlyMemory<byte> data = fs.Resolve((long)r!["pos"]!);
                if (r["class"] is JsonNode cls)
                {
                    Assert.Equal((string)cls!, ZodbPickle.GetClassName(data));
                    Assert.Equal((string)cls!, ZodbRecord.Read(data).ClassName);
                    records++;
                }
            }
        }
        Assert.True(records >= 18);
    }

    [Theory]
    [InlineData("zbigarray-zblk0")]
    [InlineData("zbigarray-zblk1")]
    public void ZBigArray_sample_records_equal_the_fixture(string name)
    {
        FsRecords fs = FsRecords.Open(name + ".fs");
        JsonObject doc = LoadJson(name + ".json");
        var options = new PickleJsonOptions { SummarizeBytesLongerThan = 64 };
        int n = 0;
        foreach (JsonNode? s in doc["sample_records"]!.AsArray())
        {
            Oid oid = Oid.Parse((string)s!["oid"]!);
            ulong serial = ulong.Parse((string)s["serial"]!, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            FsRecords.Record r = fs.Find(oid, serial);
            Assert.Equal((int)s["pickle_len"]!, r.Data.Length);
            ZodbRecord rec = ZodbRecord.Read(r.Data);
            Assert.Equal((string)s["class"]!, rec.ClassName);
            AssertSameJson(s["state"], PickleJson.ToJsonNode(rec.State, options), $"{name} {oid} ({s["why"]})");
            n++;
        }
        Assert.True(n >= 9);
    }

    [Fact]
    public void The_four_upstream_dialects_decode_to_the_same_values()
    {
        // Python-2 8-bit strings stay bytes (PK-14), so compare through the accessors the object layer uses.
        var summaries = new List<string>();
        foreach (string dialect in new[] { "py2_pickle1", "py2_pickle2", "py2_pickle3", "py3_pickle3" })
        {
            FsRecords fs = FsRecords.Open($"upstream-zblk/{dialect}/zblk.fs");
            var current = new Dictionary<Oid, ZodbRecord>();
            foreach (FsRecords.Record r in fs.DataRecords)
            {
                current[r.Oid] = ZodbRecord.Read(r.Data);
            }
            ZodbRecord file = current[new Oid(1)];
            Assert.Equal("wendelin.bigfile.file_zodb.ZBigFile", file.ClassName);
            PickleTuple st = file.State.AsTuple().ExpectCount(2);
            Assert.Equal(2097152, st[0].AsInt64());
            PersistentReference blktab = st[1].AsPersistentId().Reference;
            Assert.Equal("BTrees.LOBTree.LOBTree", current[blktab.Oid].ClassName);
            ZodbRecord zblk0 = current[new Oid(2)];
            Assert.Equal("wendelin.bigfile.file_zodb.ZBlk0", zblk0.ClassName);
            ReadOnlyMemory<byte> block = zblk0.State.AsBytes();
            Assert.Equal(16384, block.Length);
            for (int i = 0; i < 4096; i++)
            {
                Assert.Equal((uint)i, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(block.Span[(4 * i)..]));
            }
            ZodbRecord zblk1 = current[new Oid(3)];
            Assert.Equal("wendelin.bigfile.file_zodb.ZBlk1", zblk1.ClassName);
            Oid chunktab = zblk1.State.AsPersistentId().Reference.Oid;
            Assert.Equal("BTrees.IOBTree.IOBTree", current[chunktab].ClassName);
            int zdata = current.Values.Count(r => r.ClassName == "wendelin.bigfile.file_zodb.ZData");
            Assert.Equal(64, zdata);
            Assert.Equal(73, fs.DataRecords.Count());
            summaries.Add($"{dialect}: blktab {blktab.Oid}, chunktab {chunktab}, {zdata} ZData");
        }
        Assert.Single(summaries.Select(s => s[s.IndexOf(':', StringComparison.Ordinal)..]).Distinct());
    }

    internal static JsonObject LoadJson(string fixture) =>
        JsonNode.Parse(File.ReadAllText(Fixtures.Path(fixture)))!.AsObject();

    /// <summary>Compares two JSON trees by their Python json.dumps text (order, number text and kinds all count).</summary>
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
            Assert.Fail($"{what}: JSON differs at char {i}:\n expected …{e.Substring(Math.Max(0, i - 60), Math.Min(160, e.Length - Math.Max(0, i - 60)))}\n actual   …{a.Substring(Math.Max(0, i - 60), Math.Min(160, a.Length - Math.Max(0, i - 60)))}");
        }
    }
}
