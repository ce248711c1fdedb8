namespace Wendelin.Arrays;

/// <summary>Memory order of a BigArray (spec/arrays.md AR-5): C (row-major, last index fastest) or F (column-major).</summary>
public enum ArrayOrder
{
    /// <summary>Row-major: stride_i = itemsize × product(shape[i+1:]).</summary>
    C,
    /// <summary>Column-major: stride_i = itemsize × product(shape[:i]).</summary>
    F,
}

/// <summary>Shape, stride and size arithmetic (AR-5..AR-7); every product is overflow-checked.</summary>
internal static class Layout
{
    /// <summary><paramref name="a"/> × <paramref name="b"/> for non-negative operands, or ArgumentException naming <paramref name="what"/>.</summary>
    public static long CheckedMul(long a, long b, string what)
    {
        long r;
        try
        {
            r = checked(a * b);
        }
        catch (OverflowException)
        {
            throw new ArgumentException($"{what} overflows 64 bits ({a} × {b})");
        }
        return r;
    }

    /// <summary>Validates a shape: at least one axis, every length ≥ 0, total bytes representable (AR-5).</summary>
    public static long[] CheckShape(ReadOnlySpan<long> shape, int itemSize)
    {
        if (shape.Length == 0)
        {
            throw new ArgumentException("a BigArray needs at least one axis (0-d arrays are not supported)", nameof(shape));
        }
        foreach (long n in shape)
        {
            if (n < 0)
            {
                throw new ArgumentException($"negative length {n} in shape ({Format(shape)})", nameof(shape));
            }
        }
        // the strides (and so every byte offset) must be representable even when some axis is empty
        _ = Strides(shape, itemSize, ArrayOrder.C);
        _ = Strides(shape, itemSize, ArrayOrder.F);
        _ = NBytes(shape, itemSize);
        return shape.ToArray();
    }

    /// <summary>Number of items: product of the shape, 0 when any axis is empty (never overflows then).</summary>
    public static long Size(ReadOnlySpan<long> shape)
    {
        foreach (long n in shape)
        {
            if (n == 0)
            {
                return 0;
            }
        }
        long size = 1;
        foreach (long n in shape)
        {
            size = CheckedMul(size, n, "array size");
        }
        return size;
    }

    /// <summary>Size in bytes: <see cref="Size"/> × itemsize.</summary>
    public static long NBytes(ReadOnlySpan<long> shape, int itemSize) => CheckedMul(Size(shape), itemSize, "array size in bytes");

    /// <summary>
    /// Byte strides of a contiguous array (AR-6, upstream's <c>_stridev</c>): C stride_i = itemsize × prod(shape[i+1:]),
    /// F stride_i = itemsize × prod(shape[:i]).
    /// </summary>
    public static long[] Strides(ReadOnlySpan<long> shape, int itemSize, ArrayOrder order)
    {
        var strides = new long[shape.Length];
        long s = itemSize;
        if (order == ArrayOrder.C)
        {
            for (int i = shape.Length - 1; i >= 0; i--)
            {
                strides[i] = s;
                s = CheckedMul(s, shape[i], "array stride");
            }
        }
        else
        {
            for (int i = 0; i < shape.Length; i++)
            {
                strides[i] = s;
                s = CheckedMul(s, shape[i], "array stride");
            }
        }
        return strides;
    }

    /// <summary>
    /// The major axis (AR-7): the first index of the largest stride. Axis 0 for C order and the last axis for F
    /// order, except that empty and length-1 axes can move it (upstream quirk kept for compatibility).
    /// </summary>
    public static int MajorAxis(ReadOnlySpan<long> strides)
    {
        int m = 0;
        for (int i = 1; i < strides.Length; i++)
        {
            if (strides[i] > strides[m])
            {
                m = i;
            }
        }
        return m;
    }

    /// <summary>The axis Append grows (AR-15): 0 for C order, the last axis for F order.</summary>
    public static int AppendAxis(int ndim, ArrayOrder order) => order == ArrayOrder.C ? 0 : ndim - 1;

    public static string Format(ReadOnlySpan<long> shape)
    {
        if (shape.Length == 1)
        {
            return shape[0].ToString(System.Globalization.CultureInfo.InvariantCulture) + ",";
        }
        var parts = new string[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            parts[i] = shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return string.Join(", ", parts);
    }
}
