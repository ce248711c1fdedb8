using System.IO.Hashing;

namespace Wendelin.Arrays.BigFile;

/// <summary>
/// Direct writes (spec/bigfile.md BF-55): bytes go into the cached page of their block — loaded, or brought back
/// from the scratch file, as for a writable view — under the lock, and the units they touched are rehashed at once
/// against the page's reference hashes, so the dirty set stays exact (BF-12) without any view, mapping or
/// write-protect registration.
/// </summary>
internal sealed unsafe partial class PageCache
{
    /// <summary>Copies <paramref name="source"/> into the handle's bytes at file offset <paramref name="offset"/>.</summary>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            long block = offset / _blockSize;
            int at = (int)(offset % _blockSize);
            int n = Math.Min(source.Length, _blockSize - at);
            WriteInBlock(block, at, source[..n]);
            source = source[n..];
            offset += n;
        }
    }

    private void WriteInBlock(long block, int at, ReadOnlySpan<byte> source)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            ThrowIfWriteout("A write");
        }
        Page page = GetPage(block, pin: true, prefetch: false, hash: true)!;
        lock (_lock)
        {
            try
            {
                ThrowIfDisposed();
                ThrowIfWriteout("A write");
                EnsureHashed(page);
                bool copies = !_memory.SharesViews && page.Pieces.Count > 0;
                if (copies)
                {
                    HarvestPage(page); // what the views' copies wrote reaches the slot first (BF-40)
                }
                byte* slot = _memory.Slot(page.Slot);
                source.CopyTo(new Span<byte>(slot + at, source.Length));
                UInt128[] clean = page.Clean!;
                int last = (at + source.Length - 1) / _unit;
                for (int u = at / _unit; u <= last; u++)
                {
                    var unit = new ReadOnlySpan<byte>(slot + (long)u * _unit, _unit);
                    // BF-55a: against a stored unit of zeros (a hole, a fresh block) the unit changed exactly when it
                    // holds a non-zero byte, which the first bytes of real data answer without hashing the unit
                    bool changed = clean[u] == _zeroUnitHash
                        ? unit.IndexOfAnyExcept((byte)0) >= 0
                        : XxHash128.HashToUInt128(unit) != clean[u];
                    page.SetChanged(u, changed);
                }
                if (copies)
                {
                    // the copies show the write at once, as shared memory does
                    foreach ((ViewMemory view, int index) in page.Pieces)
                    {
                        view.Show(index, page, slot, view.Writable[index]);
                    }
                }
            }
            finally
            {
                if (!_disposed)
                {
                    Unpin(page);
                }
            }
        }
    }
}
