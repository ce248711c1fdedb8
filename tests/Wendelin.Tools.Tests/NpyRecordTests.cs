using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Wendelin.Arrays;
using Wendelin.TestSupport;
using static Wendelin.Tools.Tests.DemoTests;

namespace Wendelin.Tools.Tests;

/// <summary>
/// Record dtypes in .npy headers (spec/arrays.md AR-1a): export writes numpy's list form (padding entries, titles,
/// nested records, subarray fields) and import reads everything numpy writes. The descr texts below are what
/// numpy 1.26 / 2.x <c>numpy.save</c> writes for the dtype named in each comment.
/// </summary>
public sealed class NpyRecordTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public static TheoryData<string, int> NumpyDescrs => new()
    {
        // np.dtype([('a','|u1'),('','|V3'),('b','<i4')])
        { "[('a', '|u1'), ('', '|V3'), ('b', '<i4')]", 8 },
        // np.dtype([('a','u1'),('b','<f8')], align=True)
        { "[('a', '|u1'), ('', '|V7'), ('b', '<f8')]", 16 },
        // np.dtype({'names':['a','b'],'formats':['u1','<i4'],'offsets':[0,4],'itemsize':12,'titles':['Alpha',None]})
        { "[(('Alpha', 'a'), '|u1'), ('', '|V3'), ('b', '<i4'), ('', '|V4')]", 12 },
        // np.dtype([('p', {'names':['x','y'],'formats':['<i2','<f4'],'offsets':[0,4],'itemsize':8}),
        //           ('m','<f8',(2,3)), ('r', {'names':['c'],'formats':['S3'],'offsets':[0],'itemsize':4}, (2,))])
        { "[('p', [('x', '<i2'), ('', '|V2'), ('y', '<f4')]), ('m', '<f8', (2, 3)), ('r', [('c', '|S3'), ('', '|V1')], (2,))]", 64 },
        // np.dtype({'names':['b'],'formats':['>u2'],'offsets':[2],'itemsize':4,'titles':["it's"]})
        { "[('', '|V2'), ((\"it's\", 'b'), '>u2')]", 4 },
    };

    [Theory]
    [MemberData(nameof(NumpyDescrs))]
    public void Import_reads_what_numpy_writes_and_export_gives_the_same_file_back(string descr, int itemSize)
    {
        using var dir = new TempDirectory("npy-rec");
        byte[] file = NumpyFile(descr, 3, itemSize, seed: itemSize);
        string npy = dir.File("in.npy"), db = dir.File("r.fs"), back = dir.File("back.npy");
        File.WriteAllBytes(npy, file);
        (int code, string output, string error) = Run("array", "import", db, "R", npy);
        Assert.True(code == 0, error);
        Assert.Contains("R", output, StringComparison.Ordinal);
        (code, _, error) = Run("array", "export", db, "R", back);
        Assert.True(code == 0, error);
        byte[] again = File.ReadAllBytes(back);
        Assert.Equal(Encoding.Latin1.GetString(file, 0, 10 + BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(8))),
            Encoding.Latin1.GetString(again, 0, 10 + BinaryPrimitives.ReadUInt16LittleEndian(again.AsSpan(8))));
        Assert.Equal(file, again);
    }

    [Fact]
    public void Header_of_a_padded_titled_nested_record_is_numpys_list_form_and_reads_back_with_titles()
    {
        DType inner = DType.Record([new DTypeField("x", DType.Int16, 0), new DTypeField("y", DType.Float32, 4)], 8);
        DType rec = DType.Record(
        [
            new DTypeField("a", DType.UInt8, 0, "Alpha"),
            new DTypeField("b", DType.Int32, 4),
            new DTypeField("p", inner, 8),
            new DTypeField("m", DType.SubArray(inner, 2), 16),
        ], 40);
        byte[] h = NpyHeader.Encode(rec, [5], ArrayOrder.C);
        string text = Encoding.Latin1.GetString(h);
        Assert.Contains("{'descr': [(('Alpha', 'a'), '|u1'), ('', '|V3'), ('b', '<i4'), "
            + "('p', [('x', '<i2'), ('', '|V2'), ('y', '<f4')]), ('m', [('x', '<i2'), ('', '|V2'), ('y', '<f4')], (2,)), ('', '|V8')], ",
            text, StringComparison.Ordinal);
        NpyHeader back = NpyHeader.Read(new MemoryStream(h), "mem");
        Assert.Equal(rec, back.DType);
        Assert.Equal("Alpha", back.DType.Field("a").Title);
        Assert.Equal(40, back.DType.ItemSize);
        Assert.Equal(16, back.DType.Field("m").Offset);
    }

    [Fact]
    public void Array_with_a_padded_record_dtype_exports_as_a_file_import_takes_back()
    {
        using var dir = new TempDirectory("npy-rec2");
        string db = dir.File("p.fs"), a = dir.File("a.npy"), b = dir.File("b.npy");
        // numpy's aligned record, imported from numpy's file, then exported, imported again and compared by info
        File.WriteAllBytes(a, NumpyFile("[('a', '|u1'), ('', '|V7'), ('b', '<f8')]", 4, 16, seed: 7));
        Assert.Equal(0, Run("array", "import", db, "P", a).Code);
        Assert.Equal(0, Run("array", "export", db, "P", b).Code);
        (int code, _, string error) = Run("array", "import", db, "Q", b);
        Assert.True(code == 0, error);
        JsonObject p = JsonNode.Parse(Run("array", "info", "--json", db, "P").Output)!.AsObject();
        JsonObject q = JsonNode.Parse(Run("array", "info", "--json", db, "Q").Output)!.AsObject();
        Assert.Equal((string)p["sha256_c_order"]!, (string)q["sha256_c_order"]!);
        Assert.Equal(p["dtype"]!.ToJsonString(), q["dtype"]!.ToJsonString());
    }

    [Fact]
    public void Nameless_fields_that_are_not_padding_and_overlapping_fields_are_refused()
    {
        using var dir = new TempDirectory("npy-rec3");
        File.WriteAllBytes(dir.File("bad.npy"), NumpyFile("[('', '<i4'), ('b', '<i4')]", 1, 8, seed: 1));
        (int code, _, string error) = Run("array", "import", dir.File("n.fs"), "A", dir.File("bad.npy"));
        Assert.Equal(2, code);
        Assert.Contains("padding", error, StringComparison.Ordinal);
        // fields out of order: numpy.save refuses such a dtype, and so does export
        DType overlapping = DType.Record([new DTypeField("b", DType.Int32, 4), new DTypeField("a", DType.Int32, 0)], 8);
        ToolException e = Assert.Throws<ToolException>(() => NpyHeader.Encode(overlapping, [1], ArrayOrder.C));
        Assert.Contains("--format raw", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Field_names_are_written_as_python_reprs()
    {
        DType d = DType.Record([new DTypeField("it's", DType.UInt8, 0), new DTypeField("both ' and \"", DType.UInt8, 1),
            new DTypeField("nb\u00a0\u0007\u2028\U0001F600", DType.UInt8, 2, "caf\u00e9")], 3);
        Assert.Equal("[(\"it's\", '|u1'), ('both \\' and \"', '|u1'), (('caf\u00e9', 'nb\\xa0\\x07\\u2028\U0001F600'), '|u1')]", d.ToString());
    }

    [Fact]
    public void Random_records_with_gaps_titles_nesting_and_subarrays_round_trip_through_the_header()
    {
        int seed = Seeds.Announce(output, "npy descr round trip");
        var random = new Random(seed);
        for (int i = 0; i < 300; i++)
        {
            DType d = RandomType(random, 0);
            byte[] h = NpyHeader.Encode(d, [3], ArrayOrder.C);
            NpyHeader back = NpyHeader.Read(new MemoryStream(h), "mem");
            Assert.True(d == back.DType, $"{d} came back as {back.DType}");
            Assert.Equal(h, NpyHeader.Encode(back.DType, [3], ArrayOrder.C));
        }
    }

    private static readonly string[] Plain = ["<f8", ">i4", "|u1", "|S3", "<U2", "|b1", "<c16", ">f4", "|V5", "<i2", ">u8"];

    private static readonly string[] Names =
        ["x", "it's", "say \"hi\"", "both ' and \"", "caf\u00e9", "\u540d", "back\\slash", "tab\there", "nb\u00a0sp", "bell\u0007", "ls\u2028", "emoji\U0001F600", "pua\U000F0000"];

    private static DType RandomType(Random r, int depth)
    {
        if (depth >= 3 || r.Next(3) == 0)
        {
            return DType.Parse(Plain[r.Next(Plain.Length)]);
        }
        int n = r.Next(1, 5);
        var fields = new List<DTypeField>();
        int offset = 0;
        for (int k = 0; k < n; k++)
        {
            offset += r.Next(3) == 0 ? r.Next(1, 4) : 0; // a gap: padding in the descr
            DType t = RandomType(r, depth + 1);
            if (r.Next(4) == 0)
            {
                t = r.Next(2) == 0 ? DType.SubArray(t, r.Next(1, 4)) : DType.SubArray(t, r.Next(1, 3), r.Next(1, 3));
            }
            string name = Names[r.Next(Names.Length)] + k.ToString(System.Globalization.CultureInfo.InvariantCulture);
            string? title = r.Next(4) == 0 ? "T" + name : null;
            fields.Add(new DTypeField(name, t, offset, title));
            offset += t.ItemSize;
        }
        return DType.Record(fields, offset + (r.Next(3) == 0 ? r.Next(1, 5) : 0));
    }

    /// <summary>A version 1.0 .npy file as numpy writes it: the header dict padded to 64 bytes, then <paramref name="count"/> random items.</summary>
    internal static byte[] NumpyFile(string descr, int count, int itemSize, int seed)
    {
        string text = $"{{'descr': {descr}, 'fortran_order': False, 'shape': ({count},), }}";
        byte[] body = Encoding.Latin1.GetBytes(text);
        int total = (10 + body.Length + 1 + 63) / 64 * 64;
        byte[] file = new byte[total + count * itemSize];
        NpyHeader.Magic.CopyTo(file, 0);
        file[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), (ushort)(total - 10));
        body.CopyTo(file, 10);
        file.AsSpan(10 + body.Length, total - 10 - body.Length - 1).Fill((byte)' ');
        file[total - 1] = (byte)'\n';
        new Random(seed).NextBytes(file.AsSpan(total));
        return file;
    }
}
