using Wendelin.Arrays.BigFile;

namespace Wendelin.Arrays.Tests;

/// <summary>
/// spec/arrays.md AR-13a: bulk writes whose dense source lies in the same order as the selection's file bytes go to
/// the store's direct write (no view); the others still go chunk by chunk through views. Contents are checked
/// against plain .NET arrays either way.
/// </summary>
public sealed class DirectWriteTests
{
    private static BigArray Over(TestStore store, long[] shape, DType dtype, ArrayOrder order = ArrayOrder.C) =>
        new(shape, dtype, order, store);

    [Fact]
    public void Append_of_a_span_to_a_C_array_is_one_direct_write_of_the_tail()
    {
        var store = new TestStore(1 << 20) { DirectWrites = true };
        BigArray a = Over(store, [0, 3], DType.Float64);
        double[] first = [.. Enumerable.Range(0, 30).Select(i => (double)i)];
        double[] second = [.. Enumerable.Range(100, 12).Select(i => (double)i)];
        a.Append<double>(first, [10, 3]);
        a.Append<double>(second, [4, 3]);
        Assert.Equal(0, store.Maps);
        Assert.Equal([("write", 0L, 240L), ("write", 240L, 96L)], store.Events);
        Assert.Equal([.. first, .. second], a.ToArray<double>());
    }

    [Fact]
    public void Append_of_a_rectangular_array_and_CopyFrom_and_Assign_of_rows_write_directly()
    {
        var store = new TestStore(1 << 20) { DirectWrites = true };
        BigArray a = Over(store, [0, 2], DType.Int32);
        a.Append(new int[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } });
        a.Assign<int>([Ix.Slice(1, 3)], [30, 40, 50, 60], [2, 2]);
        Assert.Equal(0, store.Maps);
        a.CopyFrom<int>([7, 8, 9, 10, 11, 12]);
        Assert.Equal(0, store.Maps);
        Assert.Equal([("write", 0L, 24L), ("write", 8L, 16L), ("write", 0L, 24L)], store.Events);
        Assert.Equal([7, 8, 9, 10, 11, 12], a.ToArray<int>());
    }

    [Fact]
    public void Broadcasts_strided_selections_and_F_appends_of_C_values_go_through_views()
    {
        var store = new TestStore(1 << 20) { DirectWrites = true };
        BigArray a = Over(store, [4, 3], DType.Int64);
        a.Assign<long>([Ix.Slice(0, 4)], [1, 2, 3], [3]); // a row broadcast to 4 rows
        Assert.True(store.Maps > 0);
        Assert.DoesNotContain(store.Events, e => e.Kind == "write");
        int maps = store.Maps;
        a.Assign<long>([Ix.Slice(null, null, 2)], [9, 9, 9, 8, 8, 8], [2, 3]); // every other row: not contiguous
        Assert.True(store.Maps > maps);
        Assert.Equal([9L, 9, 9, 1, 2, 3, 8, 8, 8, 1, 2, 3], a.ToArray<long>());

        var fs = new TestStore(1 << 20) { DirectWrites = true };
        BigArray f = Over(fs, [2, 0], DType.Int64, ArrayOrder.F);
        f.Append<long>([1, 2, 3, 4], [2, 2]); // C-order values of an F-order tail: not the file's order
        Assert.True(fs.Maps > 0);
        Assert.DoesNotContain(fs.Events, e => e.Kind == "write");
        Assert.Equal([1L, 2, 3, 4], f.ToArray<long>());
        f.Append<long>([5, 6], [2, 1]); // one column: C and F order agree
        Assert.Contains(fs.Events, e => e.Kind == "write");
        Assert.Equal([1L, 2, 5, 3, 4, 6], f.ToArray<long>());
    }

    [Fact]
    public void Over_a_file_handle_an_append_maps_no_view_and_dirties_exactly_the_tail_blocks()
    {
        const int bs = 64 << 10;
        using var h = new FileHandle(new MemoryBlockFile(bs), new FileHandleOptions { RamBudget = 16 * bs });
        var a = new BigArray([0], DType.Float64, h);
        double[] values = [.. Enumerable.Range(1, (3 * bs / 8) + 5).Select(i => (double)i)];
        a.Append<double>(values);
        FileHandleStatistics st = h.GetStatistics();
        Assert.Equal(0, st.Views);
        Assert.Equal(0, st.PinnedBytes);
        Assert.Equal([0L, 1, 2, 3], h.DirtyBlocks());
        Assert.Equal(values, a.ToArray<double>());
    }
}
