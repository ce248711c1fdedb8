namespace Wendelin.Arrays;

/// <summary>
/// A strided set of items inside a byte range (spec/arrays.md AR-9): item [i0, i1, …] lives at byte
/// <c>Offset + Σ i_k × Strides[k]</c>. Strides may be negative (reversed slices) or 0 (new axes).
/// </summary>
internal sealed class Region
{
    public Region(long offset, long[] shape, long[] strides, int itemSize)
    {
        Offset = offset;
        Shape = shape;
        Strides = strides;
        ItemSize = itemSize;
        Size = Layout.Size(shape);
        if (Size > 0)
        {
            long lo = offset, hi = offset;
            for (int k = 0; k < shape.Length; k++)
            {
                long reach = (shape[k] - 1) * strides[k];
                if (reach < 0)
                {
                    lo += reach;
                }
                else
                {
                    hi += reach;
                }
            }
            Lo = lo;
            Hi = hi + itemSize;
        }
        else
        {
            Lo = Hi = offset;
        }
    }

    /// <summary>Byte offset of the first item (all indices 0).</summary>
    public long Offset { get; }

    public long[] Shape { get; }

    public long[] Strides { get; }

    public int ItemSize { get; }

    /// <summary>Number of items.</summary>
    public long Size { get; }

    /// <summary>Lowest byte any item occupies (equal to <see cref="Hi"/> when empty).</summary>
    public long Lo { get; }

    /// <summary>One past the highest byte any item occupies.</summary>
    public long Hi { get; }

    public int NDim => Shape.Length;

    /// <summary>The same items with every offset moved by <paramref name="delta"/> bytes.</summary>
    public Region Shift(long delta) => new(Offset + delta, Shape, Strides, ItemSize);

    /// <summary>True when the items are laid out one after another in C order (a flat span of Size items).</summary>
    public bool IsCContiguous
    {
        get
        {
            long expect = ItemSize;
            for (int k = Shape.Length - 1; k >= 0; k--)
            {
                if (Shape[k] != 1 && Strides[k] != expect)
                {
                    return Size == 0;
                }
                expect *= Shape[k];
            }
            return true;
        }
    }

    /// <summary>True when the items are laid out one after another in F order.</summary>
    public bool IsFContiguous
    {
        get
        {
            long expect = ItemSize;
            for (int k = 0; k < Shape.Length; k++)
            {
                if (Shape[k] != 1 && Strides[k] != expect)
                {
                    return Size == 0;
                }
                expect *= Shape[k];
            }
            return true;
        }
    }

    /// <summary>Byte offset of the item at <paramref name="index"/> (each entry already in range).</summary>
    public long OffsetOf(ReadOnlySpan<long> index)
    {
        long o = Offset;
        for (int k = 0; k < index.Length; k++)
        {
            o += index[k] * Strides[k];
        }
        return o;
    }

    /// <summary>Checks an all-integer index (negatives count from the end) and returns the item's byte offset (AR-10).</summary>
    public long OffsetOfItem(ReadOnlySpan<long> index)
    {
        if (index.Length != Shape.Length)
        {
            throw new ArgumentException($"an item index needs {Shape.Length} integers, got {index.Length}", nameof(index));
        }
        long o = Offset;
        for (int k = 0; k < index.Length; k++)
        {
            long i = Indexing.ResolveInt(index[k], Shape[k], k);
            o += i * Strides[k];
        }
        return o;
    }
}

/// <summary>NumPy basic indexing (AR-8..AR-11), applied to a <see cref="Region"/>.</summary>
internal static class Indexing
{
    /// <summary>
    /// Applies a basic index to <paramref name="region"/>: integers drop their axis, slices keep it with NumPy's
    /// clamping, <c>None</c> inserts a length-1 axis (stride 0), one <c>...</c> expands to the axes not indexed
    /// otherwise, and missing trailing axes are taken whole.
    /// </summary>
    public static Region Apply(Region region, ReadOnlySpan<Ix> index)
    {
        int ndim = region.NDim;
        int real = 0, ellipses = 0;
        foreach (Ix ix in index)
        {
            if (ix.Kind is Ix.IxKind.Int or Ix.IxKind.Slice)
            {
                real++;
            }
            else if (ix.Kind == Ix.IxKind.Ellipsis)
            {
                ellipses++;
            }
        }
        if (ellipses > 1)
        {
            throw new ArgumentException($"an index can only have a single ellipsis ('...'): {Ix.Format(index)}", nameof(index));
        }
        if (real > ndim)
        {
            throw new ArgumentException($"too many indices: the array is {ndim}-dimensional, but {real} were indexed in {Ix.Format(index)}", nameof(index));
        }

        var shape = new List<long>(ndim + index.Length);
        var strides = new List<long>(ndim + index.Length);
        long offset = region.Offset;
        int axis = 0;
        foreach (Ix ix in index)
        {
            switch (ix.Kind)
            {
                case Ix.IxKind.Int:
                {
                    long i = ResolveInt(ix.Value, region.Shape[axis], axis);
                    offset += i * region.Strides[axis];
                    axis++;
                    break;
                }
                case Ix.IxKind.Slice:
                {
                    long n = region.Shape[axis];
                    NormalizeSlice(ix.Start, ix.Stop, ix.Step, n, out long first, out long count);
                    long stride = region.Strides[axis];
                    if (count > 0)
                    {
                        offset += first * stride;
                    }
                    shape.Add(count);
                    strides.Add(SliceStride(stride, ix.Step, count));
                    axis++;
                    break;
                }
                case Ix.IxKind.NewAxis:
                    shape.Add(1);
                    strides.Add(0);
                    break;
                default: // Ellipsis
                    for (int e = 0; e < ndim - real; e++, axis++)
                    {
                        shape.Add(region.Shape[axis]);
                        strides.Add(region.Strides[axis]);
                    }
                    break;
            }
        }
        for (; axis < ndim; axis++)
        {
            shape.Add(region.Shape[axis]);
            strides.Add(region.Strides[axis]);
        }
        long[] sh = shape.ToArray();
        if (Layout.Size(sh) == 0)
        {
            offset = region.Offset; // nothing is addressed; keep the offset inside the parent
        }
        return new Region(offset, sh, strides.ToArray(), region.ItemSize);
    }

    /// <summary>An integer index against an axis of length <paramref name="n"/>: negatives wrap once; out of range throws (AR-10).</summary>
    public static long ResolveInt(long i, long n, int axis)
    {
        long j = i < 0 ? i + n : i;
        if (j < 0 || j >= n)
        {
            throw new ArgumentOutOfRangeException(nameof(i), i, $"index {i} is out of bounds for axis {axis} with size {n}");
        }
        return j;
    }

    /// <summary>
    /// NumPy/CPython slice normalisation (AR-11): the first selected index and the count of selected items for
    /// <c>start:stop:step</c> over an axis of length <paramref name="n"/>. Out-of-range bounds clamp; an empty
    /// selection has count 0.
    /// </summary>
    public static void NormalizeSlice(long? start, long? stop, long step, long n, out long first, out long count)
    {
        if (step == 0)
        {
            throw new ArgumentException("slice step cannot be zero", nameof(step));
        }
        long lower = step < 0 ? -1 : 0;
        long upper = step < 0 ? n - 1 : n;
        long s = start is { } a ? Clamp(a < 0 ? a + n : a, lower, upper) : (step < 0 ? upper : lower);
        long e = stop is { } b ? Clamp(b < 0 ? b + n : b, lower, upper) : (step < 0 ? lower : upper);
        first = s;
        if (step > 0)
        {
            count = e > s ? (e - s - 1) / step + 1 : 0;
        }
        else
        {
            // -step may overflow for long.MinValue; (s - e - 1) / -step is 0 for any |step| > s - e - 1
            count = s > e ? (step == long.MinValue ? 1 : (s - e - 1) / -step + 1) : 0;
        }
    }

    private static long Clamp(long v, long lo, long hi) => v < lo ? lo : v > hi ? hi : v;

    private static long SliceStride(long stride, long step, long count)
    {
        if (count >= 2)
        {
            return stride * step; // bounded by the array's byte size, cannot overflow
        }
        // a stride that is never applied: keep NumPy's value when it is representable
        try
        {
            return checked(stride * step);
        }
        catch (OverflowException)
        {
            return stride;
        }
    }
}
