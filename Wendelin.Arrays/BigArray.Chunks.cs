namespace Wendelin.Arrays;

public partial class BigArray
{
    /// <summary>
    /// The default chunk size for streaming (AR-19): a quarter of the RAM budget in whole blocks, at least one
    /// block, at most 1 GiB, so the chunk being processed and the next one being prefetched fit the budget twice over.
    /// </summary>
    public long DefaultChunkBytes
    {
        get
        {
            ArrayStore s = Store;
            long block = s.BlockSize;
            long quarter = s.RamBudget / 4 / block * block;
            return Math.Clamp(quarter, block, Math.Max(block, 1L << 30));
        }
    }

    /// <summary>
    /// Chunked iteration along the major axis (AR-19): views of consecutive major rows, each spanning at most
    /// <paramref name="maxChunkBytes"/> bytes (default <see cref="DefaultChunkBytes"/>); when a single major row
    /// is larger, that row is split the same way along its own major axis. While a chunk is being processed the
    /// next one is prefetched. Each chunk is disposed by the enumeration when it moves on: do not keep it.
    /// </summary>
    public IEnumerable<ArrayView> Chunks(long maxChunkBytes = 0)
    {
        long max = maxChunkBytes > 0 ? maxChunkBytes : DefaultChunkBytes;
        return Enumerate(ChunkRegions(WholeRegion, Math.Max(max, ItemSize)));
    }

    /// <summary>
    /// The rows along axis 0 (<c>list(A)</c> in NumPy: <c>A[0]</c>, <c>A[1]</c>, …), ending after
    /// <c>Shape[0]</c> rows. Each row view is disposed by the enumeration when it moves on.
    /// </summary>
    public IEnumerable<ArrayView> Rows()
    {
        long n = _shape[0];
        for (long i = 0; i < n; i++)
        {
            ArrayView row = View(i);
            try
            {
                yield return row;
            }
            finally
            {
                row.Dispose();
            }
        }
    }

    private IEnumerable<ArrayView> Enumerate(IEnumerable<Region> regions)
    {
        using IEnumerator<Region> e = regions.GetEnumerator();
        if (!e.MoveNext())
        {
            yield break;
        }
        Region current = e.Current;
        while (true)
        {
            bool more = e.MoveNext();
            Region? next = more ? e.Current : null;
            if (next is not null)
            {
                Store.Prefetch(next.Lo, next.Hi - next.Lo);
            }
            ArrayView view = MapRegion(current);
            try
            {
                yield return view;
            }
            finally
            {
                view.Dispose();
            }
            if (next is null)
            {
                yield break;
            }
            current = next;
        }
    }

    /// <summary>Splits a region into pieces of at most <paramref name="maxBytes"/> bytes along major axes (AR-19).</summary>
    internal static IEnumerable<Region> ChunkRegions(Region r, long maxBytes)
    {
        if (r.Size == 0)
        {
            yield break;
        }
        if (r.Hi - r.Lo <= maxBytes || r.NDim == 0)
        {
            yield return r;
            yield break;
        }
        int m = MajorAxisOf(r);
        long n = r.Shape[m];
        long stride = r.Strides[m];
        // bytes spanned by one major row (all other axes)
        long rowSpan = (r.Hi - r.Lo) - (n - 1) * Math.Abs(stride);
        if (rowSpan <= maxBytes && n > 1)
        {
            long rows = Math.Max(1, (maxBytes - rowSpan) / Math.Max(1, Math.Abs(stride)) + 1);
            for (long i = 0; i < n; i += rows)
            {
                long count = Math.Min(rows, n - i);
                long[] shape = (long[])r.Shape.Clone();
                shape[m] = count;
                yield return new Region(r.Offset + i * stride, shape, r.Strides, r.ItemSize);
            }
            yield break;
        }
        for (long i = 0; i < n; i++)
        {
            var shape = new List<long>(r.Shape);
            var strides = new List<long>(r.Strides);
            shape.RemoveAt(m);
            strides.RemoveAt(m);
            var row = new Region(r.Offset + i * stride, shape.ToArray(), strides.ToArray(), r.ItemSize);
            foreach (Region piece in ChunkRegions(row, maxBytes))
            {
                yield return piece;
            }
        }
    }

    private static int MajorAxisOf(Region r)
    {
        int m = 0;
        for (int k = 1; k < r.NDim; k++)
        {
            if (Math.Abs(r.Strides[k]) * (r.Shape[k] > 1 ? 1 : 0) > Math.Abs(r.Strides[m]) * (r.Shape[m] > 1 ? 1 : 0))
            {
                m = k;
            }
        }
        return m;
    }
}
