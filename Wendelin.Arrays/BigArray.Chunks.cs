namespace Wendelin.Arrays;

public partial class BigArray
{
    /// <summary>
    /// The default chunk size for streaming (AR-20): a sixteenth of the RAM budget in whole blocks (and no more
    /// than the handle keeps resident), between one block and 64 MiB. Small chunks keep the memory pinned by the
    /// chunk being processed small; the read-ahead (<see cref="PrefetchBytes"/>) keeps the pipeline full.
    /// </summary>
    public long DefaultChunkBytes
    {
        get
        {
            ArrayStore s = Store;
            long block = s.BlockSize;
            long piece = Math.Min(s.RamBudget / 16, s.ResidentLimit) / block * block;
            return Math.Clamp(piece, block, Math.Max(block, 64L << 20));
        }
    }

    /// <summary>How far ahead of the chunk being processed streaming keeps blocks prefetched: a quarter of the budget (AR-20).</summary>
    internal long PrefetchBytes => Math.Max(Store.BlockSize, Store.RamBudget / 4);

    /// <summary>
    /// Chunked iteration along the major axis (AR-20): views of consecutive major rows (all axes kept, the major
    /// one sliced), each spanning at most <paramref name="maxChunkBytes"/> bytes (default
    /// <see cref="DefaultChunkBytes"/>); when a single major row is larger, that row is cut the same way along its
    /// own major axis. While a chunk is being processed the following <see cref="PrefetchBytes"/> of the file are
    /// prefetched. Each chunk is disposed by the enumeration when it moves on: do not keep it.
    /// </summary>
    public IEnumerable<ArrayView> Chunks(long maxChunkBytes = 0)
    {
        // chunks stay resident (directly addressable) whatever the caller asks for
        long max = maxChunkBytes > 0 ? Math.Min(maxChunkBytes, Store.ResidentLimit) : DefaultChunkBytes;
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

    /// <summary>Maps each chunk in turn, keeping the file bytes after it prefetched (chunks of the whole array ascend in the file).</summary>
    private IEnumerable<ArrayView> Enumerate(IEnumerable<Region> regions)
    {
        long end = NBytes;
        long lookahead = PrefetchBytes;
        long prefetched = 0;
        foreach (Region current in regions)
        {
            long want = Math.Min(end, current.Hi + lookahead);
            if (want > prefetched && want > current.Hi)
            {
                long from = Math.Max(prefetched, current.Hi);
                Store.Prefetch(from, want - from);
                prefetched = want;
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
