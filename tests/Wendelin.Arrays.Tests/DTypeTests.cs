using System.Numerics;

namespace Wendelin.Arrays.Tests;

/// <summary>spec/arrays.md AR-1..AR-4: dtypes, type strings, .NET element types, NumPy's pickled form.</summary>
public sealed class DTypeTests
{
    [Theory]
    [InlineData("<f8", DTypeKind.Float, 8, '<', typeof(double))]
    [InlineData(">f4", DTypeKind.Float, 4, '>', typeof(float))]
    [InlineData("<f2", DTypeKind.Float, 2, '<', typeof(Half))]
    [InlineData("|u1", DTypeKind.UInt, 1, '|', typeof(byte))]
    [InlineData("u1", DTypeKind.UInt, 1, '|', typeof(byte))]
    [InlineData("<u2", DTypeKind.UInt, 2, '<', typeof(ushort))]
    [InlineData("<u4", DTypeKind.UInt, 4, '<', typeof(uint))]
    [InlineData("<u8", DTypeKind.UInt, 8, '<', typeof(ulong))]
    [InlineData("|i1", DTypeKind.Int, 1, '|', typeof(sbyte))]
    [InlineData("<i2", DTypeKind.Int, 2, '<', typeof(short))]
    [InlineData("<i4", DTypeKind.Int, 4, '<', typeof(int))]
    [InlineData("=i8", DTypeKind.Int, 8, '<', typeof(long))]
    [InlineData("|b1", DTypeKind.Bool, 1, '|', typeof(bool))]
    [InlineData("?", DTypeKind.Bool, 1, '|', typeof(bool))]
    [InlineData("<c8", DTypeKind.Complex, 8, '<', typeof(Complex64))]
    [InlineData("<c16", DTypeKind.Complex, 16, '<', typeof(Complex))]
    [InlineData("|S10", DTypeKind.Bytes, 10, '|', null)]
    [InlineData("a3", DTypeKind.Bytes, 3, '|', null)]
    [InlineData("<U5", DTypeKind.Unicode, 20, '<', null)]
    [InlineData("|V12", DTypeKind.Void, 12, '|', null)]
    [InlineData("float64", DTypeKind.Float, 8, '<', typeof(double))]
    [InlineData("uint8", DTypeKind.UInt, 1, '|', typeof(byte))]
    [InlineData("complex128", DTypeKind.Complex, 16, '<', typeof(Complex))]
    public void Parses_numpy_type_strings(string text, DTypeKind kind, int size, char order, Type? element)
    {
        Assert.True(BitConverter.IsLittleEndian);
        DType d = DType.Parse(text);
        Assert.Equal(kind, d.Kind);
        Assert.Equal(size, d.ItemSize);
        Assert.Equal(order, d.ByteOrder);
        Assert.Equal(element, d.ElementType);
        Assert.Equal(d, DType.Parse(d.Str)); // Str round-trips
    }

    [Theory]
    [InlineData(DTypeKind.Float, 8, "<f8")]
    [InlineData(DTypeKind.UInt, 1, "|u1")]
    [InlineData(DTypeKind.Bool, 1, "|b1")]
    [InlineData(DTypeKind.Complex, 16, "<c16")]
    public void Str_is_numpys(DTypeKind kind, int size, string str) => Assert.Equal(str, DType.Number(kind, size).Str);

    [Fact]
    public void Unicode_str_counts_characters_and_itemsize_bytes()
    {
        DType u = DType.Parse("<U5");
        Assert.Equal("<U5", u.Str);
        Assert.Equal(20, u.ItemSize);
    }

    [Theory]
    [InlineData("O")]
    [InlineData("|O8")]
    [InlineData("object")]
    public void Object_dtype_is_refused_with_a_clear_error(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => DType.Parse(text));
        Assert.Contains("Python objects", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("<")]
    [InlineData("f")]
    [InlineData("f0")]
    [InlineData("i3")]
    [InlineData("u16")]
    [InlineData("b2")]
    [InlineData("x4")]
    [InlineData("<M8")]
    [InlineData("f8x")]
    [InlineData("!f8")]
    public void Malformed_type_strings_throw_ArgumentException(string text)
    {
        Assert.Throws<ArgumentException>(() => DType.Parse(text));
        Assert.False(DType.TryParse(text, out _));
    }

    [Fact]
    public void Of_maps_dotnet_types_back()
    {
        Assert.Equal(DType.Float64, DType.Of<double>());
        Assert.Equal(DType.Complex64, DType.Of<Complex64>());
        Assert.Equal(DType.Bool, DType.Of<bool>());
        Assert.Throws<ArgumentException>(() => DType.Of<decimal>());
        Assert.Equal(typeof(int), DType.Of<int>().ElementType);
    }

    [Fact]
    public void Packed_record_has_offsets_itemsize_and_numpy_descr()
    {
        DType r = DType.Record([("x", DType.Int32), ("y", DType.Float64), ("v", DType.SubArray(DType.Float32, 3))]);
        Assert.True(r.IsRecord);
        Assert.Equal(4 + 8 + 12, r.ItemSize);
        Assert.Equal(DTypeKind.Void, r.Kind);
        Assert.Equal("|V24", r.Str);
        Assert.Equal(4, r.Field("y").Offset);
        Assert.Equal(12, r.Field("v").Offset);
        Assert.Equal("[('x', '<i4'), ('y', '<f8'), ('v', '<f4', (3,))]", r.ToString());
        Assert.Null(r.ElementType);
        Assert.Throws<ArgumentException>(() => r.Field("nope"));
    }

    [Fact]
    public void Aligned_record_pads_fields_and_size()
    {
        DType r = DType.Record([("a", DType.UInt8), ("b", DType.Float64)], align: true);
        Assert.Equal(8, r.Field("b").Offset);
        Assert.Equal(16, r.ItemSize);
        Assert.Equal(8, r.Alignment);
        Assert.True(r.IsAlignedStruct);
        Assert.Equal("[('a', '|u1'), ('', '|V7'), ('b', '<f8')]", r.ToString()); // numpy's dtype.descr (AR-1a)
        DType overlapping = DType.Record([new DTypeField("b", DType.Int32, 4), new DTypeField("a", DType.Int32, 0)], 8);
        Assert.Equal("{'names': ['b', 'a'], 'formats': ['<i4', '<i4'], 'offsets': [4, 0], 'itemsize': 8}", overlapping.ToString());
        Assert.False(overlapping.HasNumpyDescr);
        Assert.True(r.HasNumpyDescr);
    }

    [Fact]
    public void Record_rejects_bad_fields()
    {
        Assert.Throws<ArgumentException>(() => DType.Record([new DTypeField("a", DType.Float64, 4)], 8));
        Assert.Throws<ArgumentException>(() => DType.Record([new DTypeField("a", DType.Int8, 0), new DTypeField("a", DType.Int8, 1)], 2));
        Assert.Throws<ArgumentException>(() => DType.Record(Array.Empty<DTypeField>(), 2));
    }

    [Fact]
    public void Numpy_pickled_form_of_plain_dtypes_is_numpys()
    {
        // wendelin-core.md 2.7: uint8 → args ('u1', False, True), state (3, '|', None, None, None, -1, -1, 0)
        NumpyDTypeState u1 = DType.UInt8.ToNumpy();
        Assert.Equal(new NumpyDTypeState("u1", false, 3, '|', null, null, null, -1, -1, 0), u1);
        NumpyDTypeState f8 = DType.Float64.ToNumpy();
        Assert.Equal(("f8", '<', -1, -1, 0L), (f8.TypeStr, f8.ByteOrder, f8.ElSize, f8.Alignment, f8.Flags));
        NumpyDTypeState s = DType.Bytes(10).ToNumpy();
        Assert.Equal(("S10", '|', 10, 1), (s.TypeStr, s.ByteOrder, s.ElSize, s.Alignment));
        NumpyDTypeState u = DType.Unicode(5).ToNumpy();
        Assert.Equal(("U5", '<', 20, 4), (u.TypeStr, u.ByteOrder, u.ElSize, u.Alignment));
    }

    [Fact]
    public void Numpy_pickled_form_round_trips()
    {
        DType[] all =
        [
            DType.Bool, DType.Int8, DType.Int16, DType.Int32, DType.Int64, DType.UInt8, DType.UInt16, DType.UInt32,
            DType.UInt64, DType.Float16, DType.Float32, DType.Float64, DType.Complex64, DType.Complex128,
            DType.Parse(">f8"), DType.Parse(">i2"), DType.Bytes(7), DType.Unicode(3), DType.Parse(">U2"), DType.Void(12),
            DType.Record([("x", DType.Int32), ("y", DType.Parse(">f8")), ("v", DType.SubArray(DType.UInt16, 2, 3))]),
            DType.Record([("a", DType.UInt8), ("b", DType.Record([("c", DType.Float32)]))], align: true),
            DType.Record([new DTypeField("p", DType.Int16, 6, "title"), new DTypeField("q", DType.Int8, 0)], 9),
        ];
        foreach (DType d in all)
        {
            NumpyDTypeState st = d.ToNumpy();
            DType back = DType.FromNumpy(st);
            Assert.Equal(d, back);
            Assert.Equal(st.Flags, back.Flags);
            Assert.Equal(st.Alignment, back.ToNumpy().Alignment);
        }
    }

    [Fact]
    public void Numpy_record_state_maps_names_fields_offsets()
    {
        var i4 = new NumpyDTypeState("i4", false, 3, '<', null, null, null, -1, -1, 0);
        var f8 = new NumpyDTypeState("f8", false, 3, '>', null, null, null, -1, -1, 0);
        var rec = new NumpyDTypeState("V16", false, 3, '|', null, null,
            [new NumpyDTypeField("a", i4, 0, null), new NumpyDTypeField("b", f8, 8, null)], 16, 1, 16);
        DType d = DType.FromNumpy(rec);
        Assert.Equal(16, d.ItemSize);
        Assert.Equal(DType.Int32, d.Field("a").Type);
        Assert.Equal(DType.Parse(">f8"), d.Field("b").Type);
        Assert.Equal(8, d.Field("b").Offset);
        Assert.Equal(16, d.Flags);
        Assert.Equal(rec.Fields!.Count, d.ToNumpy().Fields!.Count);
    }

    [Fact]
    public void Numpy_state_inconsistencies_and_objects_are_refused()
    {
        var o8 = new NumpyDTypeState("O8", false, 3, '|', null, null, null, -1, -1, 63);
        Assert.Contains("Python objects", Assert.Throws<ArgumentException>(() => DType.FromNumpy(o8)).Message, StringComparison.Ordinal);
        var recWithObject = new NumpyDTypeState("V16", false, 3, '|', null, null,
            [new NumpyDTypeField("a", o8, 0, null)], 16, 1, 63);
        Assert.Throws<ArgumentException>(() => DType.FromNumpy(recWithObject));
        Assert.Throws<ArgumentException>(() => DType.FromNumpy(new NumpyDTypeState("S10", false, 3, '|', null, null, null, 11, 1, 0)));
        Assert.Throws<ArgumentException>(() => DType.FromNumpy(new NumpyDTypeState("f8", false, 2, '<', null, null, null, -1, -1, 0)));
        Assert.Throws<ArgumentException>(() => DType.FromNumpy(new NumpyDTypeState("f8", false, 3, 'x', null, null, null, -1, -1, 0)));
        Assert.Throws<ArgumentException>(() => DType.FromNumpy(new NumpyDTypeState("V8", false, 3, '|', null, null,
            [new NumpyDTypeField("a", new NumpyDTypeState("f8", false, 3, '<', null, null, null, -1, -1, 0), 4, null)], 8, 1, 16)));
    }
}
