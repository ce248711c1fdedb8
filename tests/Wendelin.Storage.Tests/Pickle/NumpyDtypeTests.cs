using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>The numpy dtype inside ZBigArray's state decodes to a descriptor and encodes back byte-identically (PK-40..PK-42).</summary>
public sealed class NumpyDtypeTests
{
    public static TheoryData<string, string, string> Arrays => new()
    {
        { "zbigarray-zblk0.fs", "0x0000000000000001", "<f8" },
        { "zbigarray-zblk0.fs", "0x0000000000000008", "<i4" },
        { "zbigarray-zblk1.fs", "0x0000000000000001", "<f8" },
        { "zbigarray-zblk1.fs", "0x00000000000007ee", "<i4" },
    };

    [Theory]
    [MemberData(nameof(Arrays))]
    public void ZBigArray_dtype_decodes_and_reencodes_byte_identically(string file, string oid, string descr)
    {
        FsRecords fs = FsRecords.Open(file);
        FsRecords.Record r = fs.DataRecords.Last(x => x.Oid == Oid.Parse(oid));
        ZodbRecord rec = ZodbRecord.Read(r.Data);
        PickleTuple state = rec.State.AsTuple().ExpectCount(2);
        PickleDict dict = state[0].AsDict();
        NumpyDtype dtype = NumpyDtype.FromPickle(dict["_dtype"]);
        Assert.Equal(descr, dtype.Descr);
        Assert.True(dtype.IsSimple);
        Assert.Equal(descr == "<f8" ? typeof(double) : typeof(int), dtype.ScalarType);
        Assert.Equal(descr == "<f8" ? 8 : 4, dtype.ItemSize);
        Assert.Equal(3, dtype.Version);
        Assert.Equal(-1, dtype.ElementSize);

        // The descriptor's pickle equals the stored one, and a state rebuilt with it gives the stored bytes.
        Assert.Equal(dict["_dtype"], dtype.ToPickle());
        Assert.Equal(dict["_dtype"], NumpyDtype.FromDescr(descr).ToPickle());
        var rebuilt = new PickleDict();
        foreach (var e in dict)
        {
            rebuilt.Set(e.Key, e.Key.AsString() == "_dtype" ? NumpyDtype.FromDescr(descr).ToPickle() : e.Value);
        }
        byte[] bytes = ZodbPickle.WriteRecord(rec.ClassMetadata, new PickleTuple(rebuilt, state[1]));
        ReencodeTests.AssertSameBytes(r.Data.Span, bytes, $"{file} {oid}");
    }

    [Fact]
    public void Structured_dtype_round_trips_with_shared_names_and_subdtypes()
    {
        NumpyDtype f8 = NumpyDtype.FromDescr("<f8");
        NumpyDtype dtype = NumpyDtype.Structured(
        [
            new NumpyField("x", f8, 0, null),
            new NumpyField("y", f8, 8, null),
            new NumpyField("n", NumpyDtype.FromDescr("<i4"), 16, new PickleStr("count")),
        ], itemSize: 20);
        PickleObject pickled = dtype.ToPickle();
        byte[] bytes = PickleWriter.Write(pickled);
        PickleValue back = PickleReader.Read(bytes);
        Assert.Equal(pickled, back);
        NumpyDtype again = NumpyDtype.FromPickle(back);
        Assert.Equal("|V20", again.Descr);
        Assert.Null(again.ScalarType);
        Assert.Equal(["x", "y", "n"], again.Fields!.Select(f => f.Name));
        Assert.Equal([0L, 8L, 16L], again.Fields!.Select(f => f.Offset));
        Assert.Same(again.Fields![0].Dtype, again.Fields[1].Dtype);
        Assert.Equal("count", again.Fields[2].Title!.AsString());
        Assert.Equal(20, again.ItemSize);
        Assert.Equal(bytes, PickleWriter.Write(again.ToPickle()));
        // the title is also a key of the fields dict, mapping to the same tuple (numpy's layout)
        PickleDict fields = back.AsObject().State!.AsTuple()[4].AsDict();
        Assert.Same(fields["n"], fields["count"]);
    }

    [Fact]
    public void Subarray_and_metadata_round_trip()
    {
        PickleObject sub = NumpyDtype.FromDescr("<i2").ToPickle();
        var state = new PickleTuple(4, "|", new PickleTuple(sub, new PickleTuple(2, 3)), PickleValue.None, PickleValue.None,
            12, 2, 0, new PickleDict());
        var pickled = PickleObject.Reduce(new PickleGlobal("numpy", "dtype"), new PickleTuple("V12", 0, 1), state);
        NumpyDtype d = NumpyDtype.FromPickle(PickleReader.Read(PickleWriter.Write(pickled)));
        Assert.Equal("<i2", d.Subarray!.Value.Base.Descr);
        Assert.Equal(new PickleTuple(2, 3), d.Subarray.Value.Shape);
        Assert.Equal(4, d.Version);
        Assert.Equal(0, d.AlignArgument.AsInt64());
        Assert.Equal(PickleKind.Int, d.AlignArgument.Kind);
        Assert.Equal(PickleWriter.Write(pickled), PickleWriter.Write(d.ToPickle()));
    }

    [Fact]
    public void Other_values_are_refused_with_PickleException()
    {
        Assert.Throws<PickleException>(() => NumpyDtype.FromPickle(new PickleStr("f8")));
        Assert.Throws<PickleException>(() => NumpyDtype.FromPickle(PickleObject.Reduce(new PickleGlobal("numpy", "ndarray"), PickleTuple.Empty)));
        Assert.Throws<PickleException>(() => NumpyDtype.FromPickle(
            PickleObject.Reduce(new PickleGlobal("numpy", "dtype"), new PickleTuple("f8", false, true), new PickleTuple(3, "<"))));
        Assert.False(NumpyDtype.TryFromPickle(PickleValue.None, out _));
        Assert.Throws<ArgumentException>(() => NumpyDtype.FromDescr("f8"));
    }
}
