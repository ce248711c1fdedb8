namespace Wendelin.Arrays;

/// <summary>A rectangular part of an index space: indices [Start[k], Start[k] + Count[k]) on every axis.</summary>
internal readonly record struct Box(long[] Start, long[] Count);

/// <summary>
/// Splitting a region into boxes whose byte span fits a limit (AR-20): consecutive rows along the major axis
/// (largest |stride| among axes longer than 1), and when one row is larger than the limit, that row is split the
/// same way. The same box applies to any layout of the same shape (a view and a dense buffer), so bulk copies
/// walk both in lockstep.
/// </summary>
internal static class Boxes
{
    /// <summary>The region's items restricted to <paramref name="box"/>.</summary>
    public static Region Apply(Region r, Box box)
    {
        long offset = r.Offset;
        for (int k = 0; k < r.NDim; k++)
        {
            offset += box.Start[k] * r.Strides[k];
        }
        return new Region(offset, box.Count, r.Strides, r.ItemSize);
    }

    /// <summary>Boxes covering every item of <paramref name="r"/> once, in order, each spanning at most <paramref name="maxBytes"/> bytes.</summary>
    public static IEnumerable<Box> Split(Region r, long maxBytes)
    {
        if (r.Size == 0)
        {
            return [];
        }
        return SplitBox(r, new Box(new long[r.NDim], (long[])r.Shape.Clone()), Math.Max(maxBytes, r.ItemSize));
    }

    private static long Span(Region r, long[] count)
    {
        long span = r.ItemSize;
        for (int k = 0; k < count.Length; k++)
        {
            span += (count[k] - 1) * Math.Abs(r.Strides[k]);
        }
        return span;
    }

    private static IEnumerable<Box> SplitBox(Region r, Box box, long maxBytes)
    {
        if (Span(r, box.Count) <= maxBytes)
        {
            yield return box;
            yield break;
        }
        int m = -1;
        for (int k = 0; k < box.Count.Length; k++)
        {
            if (box.Count[k] > 1 && (m < 0 || Math.Abs(r.Strides[k]) > Math.Abs(r.Strides[m])))
            {
                m = k;
            }
        }
        // m ≥ 0: a box whose axes all have count 1 spans one item, which fits
        long n = box.Count[m];
        long stride = Math.Abs(r.Strides[m]);
        long[] rowCount = (long[])box.Count.Clone();
        rowCount[m] = 1;
        long rowSpan = Span(r, rowCount);
        if (rowSpan <= maxBytes)
        {
            long rows = Math.Max(1, (maxBytes - rowSpan) / Math.Max(1, stride) + 1);
            for (long i = 0; i < n; i += rows)
            {
                long[] start = (long[])box.Start.Clone();
                long[] count = (long[])box.Count.Clone();
                start[m] += i;
                count[m] = Math.Min(rows, n - i);
                yield return new Box(start, count);
            }
            yield break;
        }
        for (long i = 0; i < n; i++)
        {
            long[] start = (long[])box.Start.Clone();
            start[m] += i;
            foreach (Box piece in SplitBox(r, new Box(start, rowCount), maxBytes))
            {
                yield return piece;
            }
        }
    }
}
