namespace Wendelin.Arrays;

public partial class BigArray
{
    /// <summary>
    /// The default chunk size for streaming (AR-20): a quarter of the RAM budget in whole blocks (and no more than
    /// the handle keeps resident), at least one block, at most 1 GiB, so the chunk being processed and the next one
    /// being prefetched fit the budget twice over.
    /// </summary>
    public long DefaultChunkBytes
    {
        get
        {
            ArrayStore s = Store;
            long block = s.BlockSize;
            long quarter = Math.Min(s.RamBudget / 4, s.ResidentLimit) / block * block;
            return Math.Clamp(quarter, block, Math.Max(block, 1L << 30));
        }
    }

    /// <summary>
    /// Chunked iteration along the major axis (AR-20): views of consecutive major rows (all axes kept, the major
    /// one sliced), each spanning at most <paramref name="maxChunkBytes"/> bytes (default
    /// <see cref="DefaultChunkBytes"/>); when a single major row is larger, that row is cut the same way along its
    /// own major axis. While a chunk is being processed the next one is prefetched. Each chunk is disposed by the
    /// enumeration when it moves on: do not keep it.
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

    /// <summary>The chunks of a region (AR-20): boxes of at most <paramref name="maxBytes"/> bytes, as regions.</summary>
    internal static IEnumerable<Region> ChunkRegions(Region r, long maxBytes)
    {
        foreach (Box box in Boxes.Split(r, maxBytes))
        {
            yield return Boxes.Apply(r, box);
        }
    }
}
