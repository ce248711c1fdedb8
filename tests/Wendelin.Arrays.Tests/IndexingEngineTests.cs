using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests;

/// <summary>spec/arrays.md AR-8..AR-11: the indexing engine against the NumPy model, without any paging.</summary>
public sealed class IndexingEngineTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(10, null, null, 1, 0, 10)]
    [InlineData(10, 10, 5, 1, 10, 0)]
    [InlineData(10, 5, 10, -1, 4, 0)]
    [InlineData(10, 5, 5, 1, 5, 0)]
    [InlineData(10, 100, 200, 1, 10, 0)]
    [InlineData(10, null, null, -1, 9, 10)]
    [InlineData(10, -3, null, 1, 7, 3)]
    [InlineData(10, null, -3, -2, 9, 1)]
    [InlineData(10, 8, 1, -3, 8, 3)]
    [InlineData(10, -100, 100, 7, 0, 2)]
    [InlineData(10, 100, -100, -11, 9, 1)]
    [InlineData(0, null, null, 1, 0, 0)]
    [InlineData(0, null, null, -1, -1, 0)]
    public void Slices_normalise_like_numpy(long n, int? start, int? stop, long step, long first, long count)
    {
        Indexing.NormalizeSlice(start, stop, step, n, out long f, out long c);
        Assert.Equal(count, c);
        if (c > 0)
        {
            Assert.Equal(first, f);
        }
        Assert.Equal(NumpyModel.SliceIndices(new Ix[] { Ix.Slice(start, stop, step) }[0].ToString(), n).Length, c);
    }

    [Fact]
    public void Extreme_slice_bounds_do_not_overflow()
    {
        Indexing.NormalizeSlice(long.MinValue, long.MaxValue, long.MaxValue, 5, out _, out long c);
        Assert.Equal(1, c);
        Indexing.NormalizeSlice(long.MaxValue, long.MinValue, long.MinValue, 5, out long f, out c);
        Assert.Equal((4, 1L), (f, c));
        Indexing.NormalizeSlice(null, null, long.MinValue + 1, long.MaxValue, out f, out c);
        Assert.Equal((long.MaxValue - 1, 1L), (f, c));
    }

    [Fact]
    public void Errors_are_typed()
    {
        var r = new Region(0, [3, 4], [32, 8], 8);
        Assert.Throws<ArgumentOutOfRangeException>(() => Indexing.Apply(r, [3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Indexing.Apply(r, [0, -5]));
        Assert.Throws<ArgumentException>(() => Indexing.Apply(r, [0, 0, 0]));
        Assert.Throws<ArgumentException>(() => Indexing.Apply(r, [Ix.Ellipsis, 0, Ix.Ellipsis]));
        Assert.Throws<ArgumentException>(() => Ix.Slice(step: 0));
        // out-of-range slices are empty, not errors
        Assert.Equal(0, Indexing.Apply(r, [Ix.Slice(5, 9)]).Size);
        Assert.Equal(0, Indexing.Apply(r, [Ix.Slice(3, 4), Ix.Ellipsis]).Size);
    }

    [Fact]
    public void Ellipsis_follows_numpy()
    {
        var r = new Region(0, [2, 3, 4, 5], Layout.Strides([2, 3, 4, 5], 1, ArrayOrder.C), 1);
        Assert.Equal([2, 3, 4, 5], Indexing.Apply(r, [Ix.Ellipsis]).Shape);
        Assert.Equal([3, 4], Indexing.Apply(r, [0, Ix.Ellipsis, 1]).Shape);
        Assert.Equal([2, 3, 4, 1, 5], Indexing.Apply(r, [Ix.Ellipsis, Ix.NewAxis, Ix.All]).Shape);
        Assert.Equal([1, 2, 3, 4, 5, 1], Indexing.Apply(r, [Ix.NewAxis, Ix.Ellipsis, Ix.NewAxis]).Shape);
        Assert.Equal([3, 4, 5], Indexing.Apply(r, [1, Ix.Ellipsis]).Shape);
        Assert.Equal([2, 3, 4], Indexing.Apply(r, [Ix.Ellipsis, 4]).Shape);
        Assert.Equal(Array.Empty<long>(), Indexing.Apply(r, [1, 2, Ix.Ellipsis, 3, 4]).Shape);
    }

    [Fact]
    public void Parse_and_ranges_read_like_numpy()
    {
        Assert.Equal("[1:-1, ..., ::-2, None, 3]", Ix.Format(Ix.Parse("1:-1, ..., ::-2, None, 3")));
        Ix a = 1..^1, b = ^3.., c = .., d = ..5;
        Assert.Equal("1:-1", a.ToString());
        Assert.Equal("-3:", b.ToString());
        Assert.Equal(":", c.ToString());
        Assert.Equal(":5", d.ToString());
        Assert.Throws<ArgumentException>(() => Ix.Parse("1:2:3:4"));
        Assert.Throws<ArgumentException>(() => Ix.Parse("x"));
    }

    /// <summary>Random shapes, orders and basic indices: every selected item's byte offset matches the model's item.</summary>
    [Fact]
    public void Random_basic_indexing_matches_the_model()
    {
        int seed = Seeds.Announce(output, nameof(Random_basic_indexing_matches_the_model));
        Config config = Config.QuickThrowOnFailure.WithMaxTest(300)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd((ulong)seed), FSharpOption<int>.None)));
        Gen<(long[] Shape, ArrayOrder Order, Ix[] Index, Ix[] Index2)> gen =
            from shape in Generators.Shape(4, 6)
            from order in Gen.Elements(ArrayOrder.C, ArrayOrder.F)
            from index in Generators.Index(shape)
            from index2 in Generators.Index(shape)
            select (shape, order, index, index2);
        Prop.ForAll(gen.ToArbitrary(), t =>
        {
            int itemSize = 4;
            var model = new NumpyModel(t.Shape, t.Order, Enumerable.Range(0, (int)Layout.Size(t.Shape)).Select(i => (long)i + 1).ToList());
            var memory = new int[Math.Max(1, model.Storage.Count)];
            for (int i = 0; i < model.Storage.Count; i++)
            {
                memory[i] = (int)model.Storage[i];
            }
            var region = new Region(0, t.Shape, Layout.Strides(t.Shape, itemSize, t.Order), itemSize);
            CheckIndex(model, region, memory, t.Index);
        }).Check(config);
    }

    private static void CheckIndex(NumpyModel model, Region region, int[] memory, Ix[] index)
    {
        List<NumpyModel.Axis> axes;
        try
        {
            axes = model.Select(index);
        }
        catch (ArgumentOutOfRangeException)
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Indexing.Apply(region, index));
            return;
        }
        catch (ArgumentException)
        {
            var e = Record.Exception(() => Indexing.Apply(region, index));
            Assert.IsType<ArgumentException>(e);
            return;
        }
        Region view = Indexing.Apply(region, index);
        Assert.Equal(NumpyModel.ResultShape(axes), view.Shape);
        long lo = long.MaxValue, hi = long.MinValue;
        foreach (var (r, src) in model.Items(axes))
        {
            long off = view.OffsetOf(r);
            Assert.Equal(model.Get(src), memory[off / 4]);
            lo = Math.Min(lo, off);
            hi = Math.Max(hi, off + 4);
        }
        if (view.Size > 0)
        {
            // the mapped span is exactly the bytes of the first and last selected items (AR-9)
            Assert.Equal((lo, hi), (view.Lo, view.Hi));
        }
    }
}

/// <summary>FsCheck generators shared by the array properties.</summary>
internal static class Generators
{
    /// <summary>Shapes of 1..maxNDim axes with lengths 0..maxLen (mostly non-empty).</summary>
    public static Gen<long[]> Shape(int maxNDim, int maxLen) =>
        from nd in Gen.Choose(1, maxNDim)
        from dims in Gen.ArrayOf(Gen.Frequency((1, Gen.Constant(0)), (12, Gen.Choose(1, maxLen))), nd)
        select dims.Select(d => (long)d).ToArray();

    /// <summary>One index entry for an axis of length n: ints (also out of range), slices with any step, None.</summary>
    public static Gen<Ix> Entry(long n)
    {
        int m = (int)n;
        Gen<int?> bound = Gen.Frequency(
            (2, Gen.Constant<int?>(null)),
            (6, Gen.Choose(-m - 2, m + 2).Select(x => (int?)x)));
        Gen<Ix> slice =
            from s in bound
            from e in bound
            from step in Gen.Frequency((4, Gen.Constant(1)), (3, Gen.Choose(-4, 4).Where(x => x != 0)), (1, Gen.Elements(7, -11, 100, -100)))
            select Ix.Slice(s, e, step);
        Gen<Ix> integer = Gen.Frequency((12, Gen.Choose(-m, Math.Max(0, m - 1))), (1, Gen.Elements(m, -m - 1))).Select(i => (Ix)i);
        return Gen.Frequency((5, slice), (3, integer), (1, Gen.Constant(Ix.NewAxis)));
    }

    /// <summary>A basic index for <paramref name="shape"/>: entries for a prefix of the axes, sometimes an Ellipsis.</summary>
    public static Gen<Ix[]> Index(long[] shape) =>
        from count in Gen.Choose(0, shape.Length)
        from entries in Gen.CollectToArray(shape.Take(count), n => Entry(n))
        from ellipsis in Gen.Frequency((3, Gen.Constant(-1)), (1, Gen.Choose(0, count)))
        from extra in Gen.Frequency((12, Gen.Constant(0)), (1, Gen.Constant(1)))
        select Build(shape, entries, ellipsis, extra);

    private static Ix[] Build(long[] shape, Ix[] entries, int ellipsis, int extra)
    {
        var list = new List<Ix>(entries);
        if (ellipsis >= 0)
        {
            list.Insert(ellipsis, Ix.Ellipsis);
        }
        if (extra == 1)
        {
            list.Add(0); // sometimes one index too many
        }
        return list.ToArray();
    }
}
