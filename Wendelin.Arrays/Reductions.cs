using System.Numerics;

namespace Wendelin.Arrays;

/// <summary>A source of items for a reduction: a whole array streamed in chunks, or a mapped view.</summary>
internal interface IItemFeed
{
    DType DType { get; }

    long Size { get; }

    void Run<TReducer>(ref TReducer reducer) where TReducer : struct, IReducer;
}

/// <summary>Feeds a whole array chunk by chunk with prefetch (AR-20).</summary>
internal readonly struct StreamFeed(ArrayStore store, DType dtype, long size, long chunkBytes, long lookaheadBytes) : IItemFeed
{
    public DType DType => dtype;

    public long Size => size;

    public void Run<TReducer>(ref TReducer reducer) where TReducer : struct, IReducer =>
        Reduction.Stream(store, size * dtype.ItemSize, dtype.ItemSize, chunkBytes, lookaheadBytes, ref reducer);
}

/// <summary>Feeds the items of a mapped view.</summary>
internal readonly struct ViewFeed(ArrayView view) : IItemFeed
{
    public DType DType => view.DType;

    public long Size => view.Size;

    public void Run<TReducer>(ref TReducer reducer) where TReducer : struct, IReducer => Reduction.Over(view, ref reducer);
}

/// <summary>
/// The reductions (spec/arrays.md AR-22): per-dtype kernels over TensorPrimitives, chosen once per call.
/// Sum of integers and bools is exact (Int128); of floats it is accumulated in double; Min and Max propagate NaN.
/// </summary>
internal static class Reductions
{
    public static Int128 SumInteger<TFeed>(TFeed feed) where TFeed : struct, IItemFeed
    {
        DType d = feed.DType;
        CheckNative(d);
        switch (d.Kind, d.ItemSize)
        {
            case (DTypeKind.Bool, 1):
                var b = new Reduction.CountTrue();
                feed.Run(ref b);
                return b.Total;
            case (DTypeKind.Int, 1):
                return Small<TFeed, sbyte>(feed);
            case (DTypeKind.Int, 2):
                return Small<TFeed, short>(feed);
            case (DTypeKind.Int, 4):
                return Small<TFeed, int>(feed);
            case (DTypeKind.Int, 8):
                var i8 = new Reduction.SumInt64();
                feed.Run(ref i8);
                return i8.Total;
            case (DTypeKind.UInt, 1):
                return Small<TFeed, byte>(feed);
            case (DTypeKind.UInt, 2):
                return Small<TFeed, ushort>(feed);
            case (DTypeKind.UInt, 4):
                return Small<TFeed, uint>(feed);
            case (DTypeKind.UInt, 8):
                var u8 = new Reduction.SumUInt64();
                feed.Run(ref u8);
                return u8.Total;
            default:
                throw new NotSupportedException($"SumInteger needs a bool or integer dtype, not {d.Str}");
        }
    }

    private static Int128 Small<TFeed, T>(TFeed feed) where TFeed : struct, IItemFeed where T : unmanaged, IBinaryInteger<T>
    {
        var r = new Reduction.SumSmallInt<T>();
        feed.Run(ref r);
        return r.Total;
    }

    public static double Sum<TFeed>(TFeed feed) where TFeed : struct, IItemFeed
    {
        DType d = feed.DType;
        CheckNative(d);
        switch (d.Kind, d.ItemSize)
        {
            case (DTypeKind.Float, 8):
                var f8 = new Reduction.SumFloat64();
                feed.Run(ref f8);
                return f8.Total;
            case (DTypeKind.Float, 4):
                var f4 = new Reduction.SumFloat32();
                feed.Run(ref f4);
                return f4.Total;
            case (DTypeKind.Float, 2):
                var f2 = new Reduction.SumFloat16();
                feed.Run(ref f2);
                return f2.Total;
            case (DTypeKind.Bool or DTypeKind.Int or DTypeKind.UInt, _):
                return (double)SumInteger(feed);
            default:
                throw new NotSupportedException($"Sum needs a real number dtype, not {d.Str} (use SumComplex for complex dtypes)");
        }
    }

    public static Complex SumComplex<TFeed>(TFeed feed) where TFeed : struct, IItemFeed
    {
        DType d = feed.DType;
        CheckNative(d);
        switch (d.Kind, d.ItemSize)
        {
            case (DTypeKind.Complex, 8):
                var c8 = new Reduction.SumComplex64();
                feed.Run(ref c8);
                return new Complex(c8.Re, c8.Im);
            case (DTypeKind.Complex, 16):
                var c16 = new Reduction.SumComplex128();
                feed.Run(ref c16);
                return new Complex(c16.Re, c16.Im);
            case (DTypeKind.Bool or DTypeKind.Int or DTypeKind.UInt or DTypeKind.Float, _):
                return new Complex(Sum(feed), 0);
            default:
                throw new NotSupportedException($"SumComplex needs a number dtype, not {d.Str}");
        }
    }

    public static double Mean<TFeed>(TFeed feed) where TFeed : struct, IItemFeed =>
        feed.Size == 0 ? double.NaN : Sum(feed) / feed.Size;

    public static T Min<TFeed, T>(TFeed feed) where TFeed : struct, IItemFeed where T : unmanaged, INumber<T>
    {
        ArrayView.CheckElementType<T>(feed.DType);
        var r = new Reduction.MinOf<T>();
        feed.Run(ref r);
        return r.Any ? r.Value : throw EmptyReduction("minimum");
    }

    public static T Max<TFeed, T>(TFeed feed) where TFeed : struct, IItemFeed where T : unmanaged, INumber<T>
    {
        ArrayView.CheckElementType<T>(feed.DType);
        var r = new Reduction.MaxOf<T>();
        feed.Run(ref r);
        return r.Any ? r.Value : throw EmptyReduction("maximum");
    }

    private static InvalidOperationException EmptyReduction(string what) =>
        new($"zero-size array to reduction operation {what} which has no identity");

    private static void CheckNative(DType d)
    {
        if (!d.IsNativeByteOrder)
        {
            throw new NotSupportedException($"dtype {d.Str} is not in this machine's byte order; reductions read items natively");
        }
    }
}

public partial class BigArray
{
    private StreamFeed Feed(long chunkBytes) => new(Store, DType, Size, chunkBytes > 0 ? chunkBytes : DefaultChunkBytes, PrefetchBytes);

    /// <summary>
    /// Sum of all items of a real dtype (bool, integers, floats), streamed in chunks within the RAM budget with
    /// prefetch (AR-22). Integers are summed exactly and rounded once; floats are accumulated in double.
    /// </summary>
    public double Sum(long chunkBytes = 0) => Reductions.Sum(Feed(chunkBytes));

    /// <summary>Exact sum of a bool or integer array (bools count as 0/1), streamed (AR-22).</summary>
    public Int128 SumInteger(long chunkBytes = 0) => Reductions.SumInteger(Feed(chunkBytes));

    /// <summary>Sum of a complex (or real) array, streamed (AR-22).</summary>
    public Complex SumComplex(long chunkBytes = 0) => Reductions.SumComplex(Feed(chunkBytes));

    /// <summary>Mean of a real array (<see cref="Sum"/> / <see cref="Size"/>; NaN when empty), streamed (AR-22).</summary>
    public double Mean(long chunkBytes = 0) => Reductions.Mean(Feed(chunkBytes));

    /// <summary>Smallest item; <typeparamref name="T"/> is the dtype's element type; NaN if any item is NaN; empty throws (AR-22).</summary>
    public T Min<T>(long chunkBytes = 0) where T : unmanaged, INumber<T> => Reductions.Min<StreamFeed, T>(Feed(chunkBytes));

    /// <summary>Largest item, like <see cref="Min{T}"/>.</summary>
    public T Max<T>(long chunkBytes = 0) where T : unmanaged, INumber<T> => Reductions.Max<StreamFeed, T>(Feed(chunkBytes));
}

public sealed partial class ArrayView
{
    /// <summary>Sum of the view's items (real dtypes), like <see cref="BigArray.Sum"/> (AR-22).</summary>
    public double Sum() => Reductions.Sum(new ViewFeed(this));

    /// <summary>Exact sum of a bool or integer view.</summary>
    public Int128 SumInteger() => Reductions.SumInteger(new ViewFeed(this));

    /// <summary>Sum of a complex (or real) view.</summary>
    public Complex SumComplex() => Reductions.SumComplex(new ViewFeed(this));

    /// <summary>Mean of the view's items; NaN when empty.</summary>
    public double Mean() => Reductions.Mean(new ViewFeed(this));

    /// <summary>Smallest item (NaN-propagating); empty throws.</summary>
    public T Min<T>() where T : unmanaged, INumber<T> => Reductions.Min<ViewFeed, T>(new ViewFeed(this));

    /// <summary>Largest item (NaN-propagating); empty throws.</summary>
    public T Max<T>() where T : unmanaged, INumber<T> => Reductions.Max<ViewFeed, T>(new ViewFeed(this));
}
