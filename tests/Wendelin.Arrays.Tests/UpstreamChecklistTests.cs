using Wendelin.Arrays.BigFile;

namespace Wendelin.Arrays.Tests;

/// <summary>
/// wendelin.core's bigarray/tests/test_basic.py cases (WC-§6) that need real pages: rows crossing page edges,
/// the 4-D C/F indexing matrix, views of a huge array. Pages are 4 KiB here (PS = 4096).
/// </summary>
public sealed class UpstreamChecklistTests
{
    private const int PS = ArrayFactory.PageSize;

    [Theory]
    [InlineData(PS - 1)]
    [InlineData(PS + 1)]
    public void Page_edge_rows_read_like_numpy(int rowLen)
    {
        // test_bigarray_indexing_pageedge: rows of PS±1 bytes cross page boundaries
        const int rows = 9;
        using RAMArray a = ArrayFactory.Create([rows, rowLen], DType.UInt8);
        byte[] data = new byte[rows * rowLen];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i % 251);
        }
        a.CopyFrom<byte>(data);
        var model = new NumpyModel([rows, rowLen], ArrayOrder.C, data.Select(b => (long)b).ToList());
        string[] indices =
        [
            "0", "1", "4", "-1", "-2", "3, 0", "3, -1", "2:5", "-3:", "::-1", "::-2", "7:2:-1", "5:5", "8:3", "20:30",
            "1:-1, 1:-1", ":, -1", ":, 0", "..., " + (rowLen - 2) + ":", "::3, ::-1000", "None, 4, 1::7",
        ];
        foreach (string text in indices)
        {
            Ix[] index = Ix.Parse(text);
            using ArrayView v = a.View(index);
            Assert.Equal(NumpyModel.ResultShape(model.Select(index)), v.Shape.ToArray());
            Assert.Equal(model.Read(index), v.ToArray<byte>().Select(b => (long)b).ToArray());
        }
        // a row as a span: exactly its bytes, though it straddles two pages
        using ArrayView row = a[5];
        Assert.Equal(data.AsSpan(5 * rowLen, rowLen).ToArray(), row.AsSpan<byte>().ToArray());
    }

    [Theory]
    [InlineData(ArrayOrder.C)]
    [InlineData(ArrayOrder.F)]
    public void Indexing_4d_every_combination_like_numpy(ArrayOrder order)
    {
        // test_bigarray_indexing_Nd: 4-D uint32 (103,101,23,17); every combination of per-axis
        // ':', 0, -1, n//2, 1:-1, -1:0:-7 (6^4 = 1296 views) equals numpy; items hold their C-order linear index
        long[] shape = [103, 101, 23, 17];
        // upstream's 2 MiB pages: the 16 MiB array is 8 pages, so each of the 1296 views maps a few pages
        using var a = new RAMArray(shape, DType.UInt32, order, new FileHandleOptions { RamBudget = 64L << 20, ResidentViewLimit = 64L << 20 });
        int size = (int)Layout.Size(shape);
        a.CopyFrom<uint>(Enumerable.Range(0, size).Select(i => (uint)i).ToArray());
        long[] cstrides = [101 * 23 * 17, 23 * 17, 17, 1];
        var rng = new Random(103);
        string[] options = [":", "0", "-1", "half", "1:-1", "-1:0:-7"];
        foreach (string o0 in options)
        foreach (string o1 in options)
        foreach (string o2 in options)
        foreach (string o3 in options)
        {
            string[] os = [o0, o1, o2, o3];
            var index = new Ix[4];
            var lists = new long[4][];
            for (int k = 0; k < 4; k++)
            {
                string o = os[k] == "half" ? (shape[k] / 2).ToString(System.Globalization.CultureInfo.InvariantCulture) : os[k];
                index[k] = Ix.Parse(o)[0];
                lists[k] = o.Contains(':', StringComparison.Ordinal)
                    ? NumpyModel.SliceIndices(o, shape[k])
                    : [long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) is var i && i < 0 ? i + shape[k] : i];
            }
            using ArrayView v = a.View(index);
            long[] expectShape = Enumerable.Range(0, 4).Where(k => os[k].Contains(':', StringComparison.Ordinal)).Select(k => (long)lists[k].Length).ToArray();
            Assert.Equal(expectShape, v.Shape.ToArray());
            // the sum of the selected linear indices, computed per axis
            Int128 expectSum = 0;
            long count = lists.Aggregate(1L, (x, l) => x * l.Length);
            for (int k = 0; k < 4; k++)
            {
                expectSum += (Int128)cstrides[k] * lists[k].Sum() * (count / lists[k].Length);
            }
            Assert.Equal(expectSum, v.SumInteger());
            // sampled items at their exact positions
            for (int t = 0; t < 8 && count > 0; t++)
            {
                var pick = new long[4];
                long linear = 0;
                for (int k = 0; k < 4; k++)
                {
                    pick[k] = rng.Next(lists[k].Length);
                    linear += lists[k][pick[k]] * cstrides[k];
                }
                long[] at = Enumerable.Range(0, 4).Where(k => os[k].Contains(':', StringComparison.Ordinal)).Select(k => pick[k]).ToArray();
                Assert.Equal((uint)linear, v.GetItem<uint>(at));
            }
        }
        // per-axis: integer n is an error, slice n:n+1 is empty
        for (int k = 0; k < 4; k++)
        {
            var bad = new Ix[4];
            var empty = new Ix[4];
            for (int j = 0; j < 4; j++)
            {
                bad[j] = j == k ? Ix.At(shape[k]) : Ix.All;
                empty[j] = j == k ? Ix.Slice(shape[k], shape[k] + 1) : Ix.All;
            }
            Assert.Throws<ArgumentOutOfRangeException>(() => a.View(bad));
            using ArrayView e = a.View(empty);
            Assert.Equal(0, e.Size);
        }
    }

    [Fact]
    public void Whole_view_of_a_terabyte_array_maps_without_touching_pages()
    {
        // test_bigarray_to_ndarray: a 1 TiB array converts instantly (nothing is touched until used)
        using var a = new RAMArray([1L << 37], DType.Float64, ArrayOrder.C, new FileHandleOptions { RamBudget = 64L << 20 });
        Assert.Equal(1L << 40, a.NBytes);
        var started = System.Diagnostics.Stopwatch.StartNew();
        using (ArrayView all = a.View())
        {
            Assert.False(all.IsResident);
            Assert.Equal(1L << 37, all.Size);
            all.SetItem(3.5, (1L << 37) - 1);
            Assert.Equal(3.5, all.GetItem<double>(-1));
        }
        Assert.Equal(3.5, a.GetItem<double>(-1));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"took {started.Elapsed}");
    }
}
