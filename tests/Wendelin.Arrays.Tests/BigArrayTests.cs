using System.Numerics;
using System.Numerics.Tensors;
using CommunityToolkit.HighPerformance;

namespace Wendelin.Arrays.Tests;

/// <summary>Behaviour of BigArray and ArrayView (spec/arrays.md), including upstream's test_basic checklist (WC-§6).</summary>
public sealed class BigArrayTests
{
    [Fact]
    public void Basic_attributes_C_order()
    {
        // test_bigarray_basic: C (10,3) int32: strides (12,4), size 30, len 10, itemsize 4, nbytes 120, ndim 2
        using RAMArray a = ArrayFactory.Create([10, 3], DType.Int32);
        Assert.Equal([12L, 4], a.Strides.ToArray());
        Assert.Equal((30L, 10L, 4, 120L, 2), (a.Size, a.Length, a.ItemSize, a.NBytes, a.NDim));
        Assert.Equal(0, a.MajorAxis);
    }

    [Fact]
    public void Basic_attributes_F_order_length_is_the_last_axis()
    {
        using RAMArray a = ArrayFactory.Create([10, 3], DType.Int32, ArrayOrder.F);
        Assert.Equal([4L, 40], a.Strides.ToArray());
        Assert.Equal(3, a.Length);
        Assert.Equal(1, a.MajorAxis);
    }

    [Fact]
    public void Major_axis_quirk_of_empty_and_unit_axes()
    {
        using RAMArray f = ArrayFactory.Create([2, 0, 3], DType.Int8, ArrayOrder.F);
        Assert.Equal([1L, 2, 0], f.Strides.ToArray());
        Assert.Equal(1, f.MajorAxis);
        Assert.Equal(0, f.Length);
        using RAMArray c = ArrayFactory.Create([3, 0], DType.Int8);
        Assert.Equal(1, c.MajorAxis);
    }

    [Fact]
    public void Bad_construction_is_refused()
    {
        Assert.Throws<ArgumentException>(() => ArrayFactory.Create([], DType.Int8));
        Assert.Throws<ArgumentException>(() => ArrayFactory.Create([-1], DType.Int8));
        Assert.Throws<ArgumentException>(() => ArrayFactory.Create([1L << 40, 1L << 40], DType.Int8));
        Assert.Throws<ArgumentException>(() => ArrayFactory.Create([3], DType.Int8, (ArrayOrder)7));
        Assert.Throws<ArgumentException>(() => DType.Parse("O"));
    }

    [Fact]
    public void Item_access_works_for_1d_and_checks_types_and_bounds()
    {
        using RAMArray a = ArrayFactory.Create([10], DType.Float64);
        a.SetItem(2.5, 3);
        a.SetItem(-1.0, -1);
        Assert.Equal(2.5, a.GetItem<double>(3));
        Assert.Equal(-1.0, a.GetItem<double>(9));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.GetItem<double>(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.GetItem<double>(-11));
        Assert.Throws<ArgumentException>(() => a.GetItem<float>(0));
        Assert.Throws<ArgumentException>(() => a.GetItem<double>(0, 0));
        using ArrayView v = a[2..5];
        Assert.Equal(2.5, v.GetItem<double>(1));
    }

    [Fact]
    public void Indexing_1d_edges_follow_upstream_checklist()
    {
        // test_bigarray_indexing_1d: index == length → error; slices beyond the end → empty (0,)
        using RAMArray a = ArrayFactory.Create([100], DType.UInt8);
        Assert.Throws<ArgumentOutOfRangeException>(() => a.View(100));
        foreach (Ix ix in new Ix[] { Ix.Slice(100, 101), Ix.Slice(10, 5), Ix.Slice(5, 10, -1), Ix.Slice(5, 5), Ix.Slice(1000, 2000) })
        {
            using ArrayView v = a.View(ix);
            Assert.Equal([0L], v.Shape.ToArray());
            Assert.Equal(0, v.Size);
            Assert.Empty(v.AsSpan<byte>().ToArray());
        }
    }

    [Fact]
    public void Views_alias_each_other_both_ways()
    {
        using RAMArray a = ArrayFactory.Create([64], DType.Int32);
        using ArrayView all = a[..];
        using ArrayView rev = a[Ix.Slice(step: -1)];
        using ArrayView step = a[Ix.Slice(3, null, 7)];
        all.AsSpan<int>()[10] = 42;
        Assert.Equal(42, rev.GetItem<int>(53));
        Assert.Equal(42, step.GetItem<int>(1));
        step.SetItem(7, 2); // index 17
        Assert.Equal(7, all.AsSpan<int>()[17]);
        Assert.Equal(7, a.GetItem<int>(17));
        Assert.Equal([-4L], rev.Strides.ToArray());
        Assert.Equal([28L], step.Strides.ToArray());
    }

    [Fact]
    public void Slice_assignment_scalar_list_and_wrong_length()
    {
        using RAMArray a = ArrayFactory.Create([10], DType.Int64);
        a.Assign([2..5], 9L);
        a.Assign<long>([Ix.Slice(9, 4, -2)], [1L, 2, 3], [3]);
        Assert.Equal([0L, 0, 9, 9, 9, 3, 0, 2, 0, 1], a.ToArray<long>());
        Assert.Throws<ArgumentException>(() => a.Assign<long>([2..5], [1L, 2], [2]));
        Assert.Equal([0L, 0, 9, 9, 9, 3, 0, 2, 0, 1], a.ToArray<long>());
    }

    [Fact]
    public void Broadcasting_assignment_of_rows_and_columns()
    {
        using RAMArray a = ArrayFactory.Create([3, 4], DType.Int32, ArrayOrder.F);
        a.Assign<int>([], [1, 2, 3, 4], [4]);                 // a row broadcast to every row
        Assert.Equal([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4], a.ToArray<int>());
        a.Assign<int>([Ix.All, 1..3], [10, 20, 30], [3, 1]);  // a column broadcast across two columns
        Assert.Equal([1, 10, 10, 4, 1, 20, 20, 4, 1, 30, 30, 4], a.ToArray<int>());
        Assert.Equal([1, 1, 1, 10, 20, 30, 10, 20, 30, 4, 4, 4], a.ToArray<int>(ArrayOrder.F));
    }

    [Fact]
    public void Overlapping_view_assignment_reads_the_source_first()
    {
        using RAMArray a = ArrayFactory.Create([8], DType.Int32);
        a.CopyFrom<int>([1, 2, 3, 4, 5, 6, 7, 8]);
        using (ArrayView src = a[..^1])
        {
            a.Assign([1..], src); // numpy: a[1:] = a[:-1]
        }
        Assert.Equal([1, 1, 2, 3, 4, 5, 6, 7], a.ToArray<int>());
        using (ArrayView rev = a[Ix.Slice(step: -1)])
        {
            a.Assign([], rev);
        }
        Assert.Equal([7, 6, 5, 4, 3, 2, 1, 1], a.ToArray<int>());
    }

    [Fact]
    public void Typed_span_views()
    {
        using RAMArray a = ArrayFactory.Create([4, 5], DType.Float32);
        a.CopyFrom<float>(Enumerable.Range(0, 20).Select(i => (float)i).ToArray());
        using ArrayView whole = a[..];
        Assert.Equal(20, whole.AsSpan<float>().Length);
        Assert.Equal(80, whole.AsBytes().Length);

        using ArrayView cols = a[Ix.All, 1..4];
        Span2D<float> s2 = cols.AsSpan2D<float>();
        Assert.Equal((4, 3), (s2.Height, s2.Width));
        Assert.Equal(13f, s2[2, 2]);
        s2[0, 0] = -1;
        Assert.Equal(-1f, a.GetItem<float>(0, 1));
        Assert.Throws<InvalidOperationException>(() => cols.AsSpan<float>());

        using ArrayView strided = a[Ix.Slice(step: 2), Ix.Slice(step: 2), Ix.NewAxis];
        TensorSpan<float> t = strided.AsTensorSpan<float>();
        Assert.Equal([2, 3, 1], t.Lengths.ToArray().Select(x => (int)x));
        Assert.Equal(12f, t[1, 1, 0]);
        Assert.Equal(14f, t[[1, 2, 0]]);
        t[[1, 2, 0]] = 99;
        Assert.Equal(99f, a.GetItem<float>(2, 4));

        using ArrayView reversed = a[Ix.Slice(step: -1)];
        Assert.Throws<InvalidOperationException>(() => reversed.AsTensorSpan<float>());
        Assert.Throws<InvalidOperationException>(() => reversed.AsSpan2D<float>());
        using ArrayView empty = a[2..2];
        Assert.Throws<InvalidOperationException>(() => empty.AsTensorSpan<float>());
        Assert.True(empty.AsSpan2D<float>().IsEmpty);
    }

    [Fact]
    public void Disposed_views_refuse_access_and_sub_views_keep_the_mapping()
    {
        var store = new TestStore(1 << 16);
        var a = new BigArray([100], DType.Int16, ArrayOrder.C, store);
        ArrayView v = a[10..20];
        ArrayView sub = v[2..4];
        v.Dispose();
        Assert.Equal(1, store.LiveMappings); // the sub-view still holds it
        sub.SetItem<short>(5, 0);
        Assert.Equal(5, a.GetItem<short>(12));
        sub.Dispose();
        Assert.Equal(1, store.LiveMappings); // item access keeps its block mapped
        a.ReleaseItemCache();
        Assert.Equal(0, store.LiveMappings);
        Assert.Throws<ObjectDisposedException>(() => sub.GetItem<short>(0));
        Assert.Throws<ObjectDisposedException>(() => v[1..2]);
        sub.Dispose(); // idempotent
    }

    [Fact]
    public void Rectangular_dotnet_arrays_copy_both_ways()
    {
        using RAMArray a = ArrayFactory.Create([2, 3], DType.Float64, ArrayOrder.F);
        using (ArrayView v = a[..])
        {
            v.CopyFrom(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
            var back = new double[2, 3];
            v.CopyTo(back);
            Assert.Equal(5.0, back[1, 1]);
            Assert.Throws<ArgumentException>(() => v.CopyTo(new double[3, 2]));
            Assert.Throws<ArgumentException>(() => v.CopyTo(new float[2, 3]));
        }
        Assert.Equal([1.0, 4, 2, 5, 3, 6], a.ToArray<double>(ArrayOrder.F));
        a.Append(new double[,] { { 7 }, { 8 } });
        Assert.Equal([2L, 4], a.Shape.ToArray());
        Assert.Equal([1.0, 2, 3, 7, 4, 5, 6, 8], a.ToArray<double>());
    }

    [Fact]
    public void Resize_keeps_old_views_and_aliases_them()
    {
        // test_bigarray_resize: (10,3)→(11,3): old view keeps shape and data; new view has a zero tail row; they alias
        using RAMArray a = ArrayFactory.Create([10, 3], DType.Int32);
        a.CopyFrom<int>(Enumerable.Range(1, 30).ToArray());
        using ArrayView old = a[..];
        a.Resize(11, 3);
        using ArrayView now = a[..];
        Assert.Equal([10L, 3], old.Shape.ToArray());
        Assert.Equal([11L, 3], now.Shape.ToArray());
        Assert.Equal(Enumerable.Range(1, 30).Concat([0, 0, 0]).ToArray(), now.ToArray<int>());
        now.SetItem(-5, 0, 0);
        Assert.Equal(-5, old.GetItem<int>(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => old.GetItem<int>(10, 0));
        // shrinking does not clear: growing again shows the old items (upstream semantics)
        a.Resize(2, 3);
        a.Resize(10, 3);
        Assert.Equal(30, a.GetItem<int>(9, 2));
        a.Resize(30); // any number of axes: the same bytes read 1-D
        Assert.Equal(30, a.GetItem<int>(29));
        Assert.Throws<ArgumentException>(() => a.Resize());
    }

    [Fact]
    public void Append_C_and_F_and_errors_leave_the_array_unchanged()
    {
        // test_bigarray_append: C (0,3,2) int64 grows axis 0; F (2,3,0) grows the last axis
        using RAMArray c = ArrayFactory.Create([0, 3, 2], DType.Int64);
        c.Append<long>(Enumerable.Range(0, 6).Select(i => (long)i).ToArray(), [1, 3, 2]);
        c.Append<long>(Enumerable.Range(6, 12).Select(i => (long)i).ToArray(), [2, 3, 2]);
        Assert.Equal([3L, 3, 2], c.Shape.ToArray());
        Assert.Equal(Enumerable.Range(0, 18).Select(i => (long)i).ToArray(), c.ToArray<long>());

        using RAMArray f = ArrayFactory.Create([2, 3, 0], DType.Int64, ArrayOrder.F);
        f.Append<long>(Enumerable.Range(0, 6).Select(i => (long)i).ToArray(), [2, 3, 1]);
        f.Append<long>(Enumerable.Range(6, 12).Select(i => (long)i).ToArray(), [2, 3, 2]);
        Assert.Equal([2L, 3, 3], f.Shape.ToArray());
        Assert.Equal(5L, f.GetItem<long>(1, 2, 0));
        Assert.Equal(6 + 5 * 2 + 1, f.GetItem<long>(1, 2, 2));

        // wrong minor shape → ArgumentException, array unchanged
        long[] before = c.ToArray<long>();
        Assert.Throws<ArgumentException>(() => c.Append<long>(new long[8], [1, 4, 2]));
        Assert.Throws<ArgumentException>(() => c.Append<long>(new long[6], [3, 2]));
        Assert.Throws<ArgumentException>(() => c.Append<int>(new int[6], [1, 3, 2])); // incompatible dtype
        Assert.Throws<ArgumentException>(() => f.Append<long>(new long[6], [3, 2, 1]));
        // a failure after the array grew (the values' element type is checked by the copy): resized back
        Assert.Throws<ArgumentException>(() => c.Append(new float[1, 3, 2]));
        Assert.Equal([3L, 3, 2], c.Shape.ToArray());
        Assert.Equal(before, c.ToArray<long>());

        // an empty append is a no-op (upstream raised)
        c.Append<long>([], [0, 3, 2]);
        Assert.Equal([3L, 3, 2], c.Shape.ToArray());
    }

    [Fact]
    public void Append_that_fails_after_growing_resizes_back()
    {
        var store = new TestStore(1 << 20);
        var a = new BigArray([4, 2], DType.Int32, ArrayOrder.C, store);
        a.CopyFrom<int>([1, 2, 3, 4, 5, 6, 7, 8]);
        store.FailAfterMaps = 0; // the write of the new rows fails (as a failing block load would)
        Assert.Throws<IOException>(() => a.Append<int>([9, 10], [1, 2]));
        store.FailAfterMaps = null;
        Assert.Equal([4L, 2], a.Shape.ToArray());
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], a.ToArray<int>());
    }

    [Fact]
    public void Append_of_a_view_of_the_same_array()
    {
        using RAMArray a = ArrayFactory.Create([4], DType.Int32);
        a.CopyFrom<int>([1, 2, 3, 4]);
        using (ArrayView v = a[Ix.Slice(step: -1)])
        {
            a.Append(v);
        }
        Assert.Equal([1, 2, 3, 4, 4, 3, 2, 1], a.ToArray<int>());
        a.Append<int>([9]);
        Assert.Equal(9, a.GetItem<int>(-1));
    }

    [Fact]
    public void Rows_iteration_terminates()
    {
        // test_bigarray_list: list(A) of 10 zeros terminates and returns 10 zeros
        using RAMArray a = ArrayFactory.Create([10], DType.Float64);
        var values = new List<double>();
        foreach (ArrayView row in a.Rows())
        {
            values.Add(row.GetItem<double>());
        }
        Assert.Equal(new double[10], values);
        using RAMArray m = ArrayFactory.Create([3, 2], DType.Int8, ArrayOrder.F);
        Assert.Equal(3, m.Rows().Count());
        Assert.All(m.Rows(), r => Assert.Equal([2L], r.Shape.ToArray()));
    }

    [Fact]
    public void Record_fields_and_structured_views()
    {
        DType rec = DType.Record([("id", DType.Int32), ("xyz", DType.SubArray(DType.Float32, 3))]);
        using RAMArray a = ArrayFactory.Create([5], rec);
        using ArrayView all = a[..];
        using ArrayView ids = all.Field("id");
        using ArrayView xyz = all.Field("xyz");
        Assert.Equal([5L], ids.Shape.ToArray());
        Assert.Equal([16L], ids.Strides.ToArray());
        Assert.Equal([5L, 3], xyz.Shape.ToArray());
        ids.CopyFrom<int>([10, 11, 12, 13, 14]);
        xyz.Fill(1.5f);
        xyz.SetItem(-2f, 3, 2);
        Assert.Equal(13, ids.GetItem<int>(3));
        Assert.Equal(-2f, xyz.GetItem<float>(3, 2));
        Assert.Equal(1.5 + 1.5 - 2, xyz[3].Sum());

        // structured: a (5, 4) uint32 array's rows read as records of four uint32
        using RAMArray b = ArrayFactory.Create([5, 4], DType.UInt32);
        b.CopyFrom<uint>(Enumerable.Range(0, 20).Select(i => (uint)i).ToArray());
        DType quad = DType.Record([("a", DType.UInt32), ("b", DType.UInt32), ("c", DType.UInt32), ("d", DType.UInt32)]);
        using ArrayView bv = b[..];
        using ArrayView s = bv.Structured(quad);
        Assert.Equal([5L], s.Shape.ToArray());
        using ArrayView c = s.Field("c");
        Assert.Equal([2u, 6, 10, 14, 18], c.ToArray<uint>());
        Assert.Throws<ArgumentException>(() => bv.Structured(DType.Void(12)));
        using ArrayView rev = b[Ix.All, Ix.Slice(step: -1)];
        Assert.Throws<ArgumentException>(() => rev.Structured(quad));
        using ArrayView every2 = b[Ix.All, Ix.Slice(step: 2)];
        Assert.Throws<ArgumentException>(() => every2.Structured(DType.Void(8)));
    }

    [Fact]
    public void Non_native_byte_order_is_bytes_only()
    {
        using RAMArray a = ArrayFactory.Create([4], DType.Parse(">f8"));
        Assert.Throws<NotSupportedException>(() => a.GetItem<double>(0));
        Assert.Throws<NotSupportedException>(() => a.Sum());
        using ArrayView v = a[..];
        Assert.Equal(32, v.NBytes);
    }

    [Theory]
    [InlineData("<f8")]
    [InlineData("<f4")]
    [InlineData("<f2")]
    [InlineData("<i8")]
    [InlineData("<i4")]
    [InlineData("<i2")]
    [InlineData("|i1")]
    [InlineData("<u8")]
    [InlineData("<u4")]
    [InlineData("<u2")]
    [InlineData("|u1")]
    [InlineData("|b1")]
    public void Reductions_per_dtype_match_a_straightforward_loop(string dtype)
    {
        DType d = DType.Parse(dtype);
        using RAMArray a = ArrayFactory.Create([10007], d);
        var values = new long[10007];
        var rng = new Random(5);
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = d.Kind == DTypeKind.Bool ? rng.Next(2) : d.Kind == DTypeKind.UInt || d.ItemSize == 1 ? rng.Next(0, 100) : rng.Next(-1000, 1000);
        }
        Fill(a, d, values);
        long exact = values.Sum();
        // small chunks force many chunks and partial last pieces
        if (d.Kind != DTypeKind.Float)
        {
            Assert.Equal(exact, (long)a.SumInteger(chunkBytes: 4096 * 3));
        }
        Assert.Equal(exact, a.Sum(chunkBytes: 4096 * 3));
        Assert.Equal(exact / 10007.0, a.Mean(), 9);
        Assert.Equal(new Complex(exact, 0), a.SumComplex());
        using ArrayView odd = a[Ix.Slice(1, null, 3)];
        Assert.Equal(values.Where((_, i) => i % 3 == 1).Sum(), odd.Sum());
        if (d.Kind != DTypeKind.Bool)
        {
            Assert.Equal(values.Min(), MinAsLong(a, d));
            Assert.Equal(values.Max(), MaxAsLong(a, d));
        }
    }

    [Fact]
    public void Integer_sums_are_exact_beyond_64_bits()
    {
        using RAMArray a = ArrayFactory.Create([1000], DType.UInt64);
        a.Assign([], ulong.MaxValue);
        Assert.Equal((Int128)ulong.MaxValue * 1000, a.SumInteger());
        using RAMArray b = ArrayFactory.Create([1000], DType.Int64);
        b.Assign([], long.MinValue);
        Assert.Equal((Int128)long.MinValue * 1000, b.SumInteger());
    }

    [Fact]
    public void Float_reductions_propagate_nan_and_refuse_empty()
    {
        using RAMArray a = ArrayFactory.Create([100], DType.Float64);
        a.Assign([Ix.All], 1.0);
        a.SetItem(double.NaN, 77);
        Assert.True(double.IsNaN(a.Min<double>()));
        Assert.True(double.IsNaN(a.Max<double>()));
        Assert.True(double.IsNaN(a.Sum()));
        using RAMArray e = ArrayFactory.Create([0], DType.Float64);
        Assert.Equal(0.0, e.Sum());
        Assert.True(double.IsNaN(e.Mean()));
        Assert.Throws<InvalidOperationException>(() => e.Min<double>());
        Assert.Throws<ArgumentException>(() => a.Min<float>());
        using RAMArray c = ArrayFactory.Create([3], DType.Complex128);
        c.CopyFrom<Complex>([new(1, 2), new(3, 4), new(5, 6)]);
        Assert.Equal(new Complex(9, 12), c.SumComplex());
        Assert.Throws<NotSupportedException>(() => c.Sum());
        using RAMArray c8 = ArrayFactory.Create([2], DType.Complex64);
        c8.CopyFrom<Complex64>([new(1, 2), new(3, 4)]);
        Assert.Equal(new Complex(4, 6), c8.SumComplex());
    }

    [Fact]
    public void Chunks_cover_every_item_once_within_the_limit()
    {
        using RAMArray a = ArrayFactory.Create([37, 11, 3], DType.Int16);
        a.CopyFrom<short>(Enumerable.Range(0, 37 * 11 * 3).Select(i => (short)i).ToArray());
        foreach (long limit in new long[] { 2, 7, 66, 100, 1000, 1 << 20 })
        {
            var seen = new List<short>();
            foreach (ArrayView chunk in a.Chunks(limit))
            {
                Assert.Equal(3, chunk.NDim);
                long span = 2;
                for (int k = 0; k < 3; k++)
                {
                    span += (chunk.Shape[k] - 1) * chunk.Strides[k];
                }
                Assert.True(span <= Math.Max(limit, 2), $"chunk {chunk} spans {span} > {limit}");
                seen.AddRange(chunk.ToArray<short>());
            }
            Assert.Equal(Enumerable.Range(0, 37 * 11 * 3).Select(i => (short)i), seen);
        }
        using RAMArray f = ArrayFactory.Create([5, 7], DType.Int32, ArrayOrder.F);
        Assert.All(f.Chunks(28), c => Assert.Equal([5L, 1], c.Shape.ToArray())); // F: whole columns
    }

    [Fact]
    public void Streaming_prefetches_ahead_of_every_chunk()
    {
        // budget 1 MiB: chunks of 64 KiB, read-ahead of 256 KiB
        var store = new TestStore(1 << 20, ramBudget: 1 << 20);
        var a = new BigArray([100_000], DType.Float64, ArrayOrder.C, store);
        a.Assign([], 1.0);
        Assert.Equal(64 << 10, a.DefaultChunkBytes);
        foreach (Action pass in new Action[] { () => Assert.Equal(100_000.0, a.Sum()), () => Assert.Equal(13, a.Chunks().Count()) })
        {
            store.Events.Clear();
            pass();
            var maps = store.Events.Where(e => e.Kind == "map").ToList();
            Assert.Equal(13, maps.Count); // 800,000 bytes in 64 KiB chunks
            for (int m = 1; m < maps.Count; m++)
            {
                // every later chunk was asked for before it was mapped
                int at = store.Events.IndexOf(maps[m]);
                Assert.Contains(store.Events.Take(at), e => e.Kind == "prefetch" && e.Offset <= maps[m].Offset && e.Offset + e.Length >= maps[m].Offset + maps[m].Length);
            }
            long asked = store.Events.Where(e => e.Kind == "prefetch").Sum(e => e.Length);
            Assert.Equal(800_000 - (64 << 10), asked); // each byte after the first chunk asked for once
            Assert.Equal(0, store.LiveMappings);
        }
    }

    private readonly record struct Rec24(long A, long B, long C);

    [Fact]
    public void Items_straddling_pages_and_record_structs()
    {
        // 24-byte records over 4 KiB pages: item 170 occupies bytes 4080..4103, across the first page edge
        DType rec = DType.Record([("a", DType.Int64), ("b", DType.Int64), ("c", DType.Int64)]);
        using RAMArray a = ArrayFactory.Create([1000], rec);
        for (long i = 165; i < 175; i++)
        {
            a.SetItem(new Rec24(i, -i, i * i), i);
        }
        Assert.Equal(new Rec24(170, -170, 28900), a.GetItem<Rec24>(170));
        Assert.Equal(new Rec24(171, -171, 29241), a.GetItem<Rec24>(171));
        using ArrayView b = a[..].Field("b");
        Assert.Equal(-170L, b.GetItem<long>(170));
        Assert.Equal(Enumerable.Range(165, 10).Sum(i => -(long)i), (long)b.SumInteger());
        Assert.Throws<ArgumentException>(() => a.GetItem<long>(0));
    }

    private static void Fill(BigArray a, DType d, long[] values)
    {
        switch (d.Kind, d.ItemSize)
        {
            case (DTypeKind.Float, 8): a.CopyFrom<double>(values.Select(v => (double)v).ToArray()); break;
            case (DTypeKind.Float, 4): a.CopyFrom<float>(values.Select(v => (float)v).ToArray()); break;
            case (DTypeKind.Float, 2): a.CopyFrom<Half>(values.Select(v => (Half)v).ToArray()); break;
            case (DTypeKind.Int, 8): a.CopyFrom<long>(values); break;
            case (DTypeKind.Int, 4): a.CopyFrom<int>(values.Select(v => (int)v).ToArray()); break;
            case (DTypeKind.Int, 2): a.CopyFrom<short>(values.Select(v => (short)v).ToArray()); break;
            case (DTypeKind.Int, 1): a.CopyFrom<sbyte>(values.Select(v => (sbyte)v).ToArray()); break;
            case (DTypeKind.UInt, 8): a.CopyFrom<ulong>(values.Select(v => (ulong)v).ToArray()); break;
            case (DTypeKind.UInt, 4): a.CopyFrom<uint>(values.Select(v => (uint)v).ToArray()); break;
            case (DTypeKind.UInt, 2): a.CopyFrom<ushort>(values.Select(v => (ushort)v).ToArray()); break;
            case (DTypeKind.UInt, 1): a.CopyFrom<byte>(values.Select(v => (byte)v).ToArray()); break;
            default: a.CopyFrom<bool>(values.Select(v => v != 0).ToArray()); break;
        }
    }

    private static long MinAsLong(BigArray a, DType d) => (d.Kind, d.ItemSize) switch
    {
        (DTypeKind.Float, 8) => (long)a.Min<double>(),
        (DTypeKind.Float, 4) => (long)a.Min<float>(),
        (DTypeKind.Float, 2) => (long)a.Min<Half>(),
        (DTypeKind.Int, 8) => a.Min<long>(),
        (DTypeKind.Int, 4) => a.Min<int>(),
        (DTypeKind.Int, 2) => a.Min<short>(),
        (DTypeKind.Int, 1) => a.Min<sbyte>(),
        (DTypeKind.UInt, 8) => (long)a.Min<ulong>(),
        (DTypeKind.UInt, 4) => a.Min<uint>(),
        (DTypeKind.UInt, 2) => a.Min<ushort>(),
        _ => a.Min<byte>(),
    };

    private static long MaxAsLong(BigArray a, DType d) => (d.Kind, d.ItemSize) switch
    {
        (DTypeKind.Float, 8) => (long)a.Max<double>(),
        (DTypeKind.Float, 4) => (long)a.Max<float>(),
        (DTypeKind.Float, 2) => (long)a.Max<Half>(),
        (DTypeKind.Int, 8) => a.Max<long>(),
        (DTypeKind.Int, 4) => a.Max<int>(),
        (DTypeKind.Int, 2) => a.Max<short>(),
        (DTypeKind.Int, 1) => a.Max<sbyte>(),
        (DTypeKind.UInt, 8) => (long)a.Max<ulong>(),
        (DTypeKind.UInt, 4) => a.Max<uint>(),
        (DTypeKind.UInt, 2) => a.Max<ushort>(),
        _ => a.Max<byte>(),
    };
}
