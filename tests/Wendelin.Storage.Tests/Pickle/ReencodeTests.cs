using System.Text.Json.Nodes;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>
/// Decoding a record Python's ZODB wrote and encoding the value again gives Python's bytes exactly
/// (spec/pickle.md §6, PK-30..PK-38).
/// </summary>
public sealed class ReencodeTests(ITestOutputHelper output)
{
    /// <summary>The record kinds the issue names: our writer must equal Python's for these.</summary>
    private static readonly HashSet<string> WrittenKinds =
    [
        "persistent.mapping.PersistentMapping", "persistent.list.PersistentList",
        "BTrees.OOBTree.OOBTree", "BTrees.OOBTree.OOBucket", "BTrees.LOBTree.LOBTree", "BTrees.LOBTree.LOBucket",
        "BTrees.IOBTree.IOBTree", "BTrees.IOBTree.IOBucket", "BTrees.OIBTree.OIBTree", "BTrees.OIBTree.OIBucket",
        "BTrees.IIBTree.IIBTree", "BTrees.IIBTree.IIBucket", "BTrees.LLBTree.LLBTree", "BTrees.LLBTree.LLBucket",
        "BTrees.OLBTree.OLBTree", "BTrees.OLBTree.OLBucket",
        "wendelin.bigarray.array_zodb.ZBigArray", "wendelin.bigfile.file_zodb.ZBigFile",
        "wendelin.bigfile.file_zodb.ZBlk0", "wendelin.bigfile.file_zodb.ZBlk1", "wendelin.bigfile.file_zodb.ZData",
    ];

    public static TheoryData<string> Fs30Files => new(FsRecords.Fs30Files);

    [Theory]
    [MemberData(nameof(Fs30Files))]
    public void Every_record_of_an_FS30_file_reencodes_to_the_same_bytes(string file)
    {
        FsRecords fs = FsRecords.Open(file);
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int n = 0;
        foreach (FsRecords.Record r in fs.DataRecords)
        {
            ZodbRecord rec = ZodbRecord.Read(r.Data);
            byte[] again = ZodbPickle.WriteRecord(rec.ClassMetadata, rec.State);
            AssertSameBytes(r.Data.Span, again, $"{file} record at {r.Pos} ({rec.ClassName})");
            kinds[rec.ClassName!] = kinds.GetValueOrDefault(rec.ClassName!) + 1;
            n++;
        }
        output.WriteLine($"{file}: {n} records byte-identical: " + string.Join(", ", kinds.Select(k => $"{k.Key} ×{k.Value}")));
        Assert.Contains(kinds.Keys, WrittenKinds.Contains);
    }

    [Fact]
    public void Every_written_kind_present_in_the_fixtures_is_covered()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string file in FsRecords.Fs30Files)
        {
            foreach (FsRecords.Record r in FsRecords.Open(file).DataRecords)
            {
                seen.Add(ZodbPickle.GetClassName(r.Data)!);
            }
        }
        string[] expected =
        [
            "persistent.mapping.PersistentMapping", "persistent.list.PersistentList", "BTrees.OOBTree.OOBTree",
            "BTrees.LOBTree.LOBTree", "BTrees.IOBTree.IOBTree", "BTrees.IOBTree.IOBucket",
            "wendelin.bigarray.array_zodb.ZBigArray", "wendelin.bigfile.file_zodb.ZBigFile",
            "wendelin.bigfile.file_zodb.ZBlk0", "wendelin.bigfile.file_zodb.ZBlk1", "wendelin.bigfile.file_zodb.ZData",
        ];
        foreach (string k in expected)
        {
            Assert.Contains(k, seen);
        }
    }

    [Theory]
    [InlineData("basic.fs")]
    [InlineData("undo.fs")]
    [InlineData("packed.fs")]
    public void Transaction_extensions_reencode_to_the_same_bytes(string file)
    {
        int n = 0;
        foreach (FsRecords.Txn t in FsRecords.Open(file).Transactions)
        {
            PickleDict ext = ZodbPickle.ReadExtension(t.Extension);
            AssertSameBytes(t.Extension.Span, ZodbPickle.WriteExtension(ext), $"{file} extension of txn at {t.Pos}");
            n += t.Extension.Length > 0 ? 1 : 0;
        }
        Assert.True(n >= 5);
    }

    [Fact]
    public void The_py3_index_file_reencodes_in_fast_mode()
    {
        // .index: concatenated fast-mode protocol-3 pickles (filestorage-format §3.5, PK-37).
        byte[] index = Fixtures.Bytes("upstream-zblk/py3_pickle3/zblk.fs.index");
        var reader = new PickleReader(index);
        var writer = new PickleWriter(fast: true);
        var values = new List<PickleValue>();
        while (!reader.AtEnd)
        {
            PickleValue v = reader.ReadPickle();
            values.Add(v);
            writer.Dump(v);
        }
        Assert.Equal(index, writer.ToArray());
        Assert.True(values[0].AsInt64() >= 100);
        Assert.True(values[^1].IsNone);
        PickleTuple first = values[1].AsTuple().ExpectCount(2);
        Assert.Equal(6, first[0].AsBytes().Length);
        Assert.Equal(0, first[1].AsBytes().Length % 8);
    }

    [Theory]
    [InlineData("py2_pickle1")]
    [InlineData("py2_pickle2")]
    [InlineData("py2_pickle3")]
    public void The_py2_index_files_decode(string dialect)
    {
        byte[] index = Fixtures.Bytes($"upstream-zblk/{dialect}/zblk.fs.index");
        var reader = new PickleReader(index);
        var values = new List<PickleValue>();
        while (!reader.AtEnd)
        {
            values.Add(reader.ReadPickle());
        }
        Assert.True(values[0].AsInt64() >= 100);
        Assert.True(values[^1].IsNone);
        long oids = values.Skip(1).SkipLast(1).Sum(v => v.AsTuple()[1].AsBytes().Length / 8);
        Assert.Equal(73 - 1, oids);
    }

    internal static void AssertSameBytes(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        if (expected.SequenceEqual(actual))
        {
            return;
        }
        int i = 0;
        while (i < Math.Min(expected.Length, actual.Length) && expected[i] == actual[i])
        {
            i++;
        }
        int from = Math.Max(0, i - 16);
        Assert.Fail($"{what}: lengths {expected.Length}/{actual.Length}, first difference at {i}\n" +
            $" expected {Convert.ToHexString(expected[from..Math.Min(expected.Length, i + 24)])}\n" +
            $" actual   {Convert.ToHexString(actual[from..Math.Min(actual.Length, i + 24)])}");
    }
}
