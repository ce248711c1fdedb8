namespace Wendelin.Arrays;

/// <summary>
/// The paging operations an array uses (spec/arrays.md AR-21): map a byte range of the array's file, pin parts
/// of a large mapping, prefetch, and the sizes that bound chunked processing. The product implementation is
/// <see cref="HandleStore"/> over a <c>BigFile.FileHandle</c>; tests may supply others.
/// </summary>
internal abstract class ArrayStore
{
    /// <summary>Page (block) size in bytes.</summary>
    public abstract int BlockSize { get; }

    /// <summary>Bytes of page cache the handle may hold.</summary>
    public abstract long RamBudget { get; }

    /// <summary>Mappings up to this many bytes (in whole blocks) are resident: loaded at once and directly addressable.</summary>
    public abstract long ResidentLimit { get; }

    /// <summary>
    /// Maps file bytes [<paramref name="offset"/>, offset + <paramref name="length"/>) (length ≥ 1). Mappings of one
    /// store share pages: a write through one is seen through all.
    /// </summary>
    public abstract ArrayMapping Map(long offset, long length);

    /// <summary>Starts loading file bytes [offset, offset+length) in the background; a hint.</summary>
    public abstract void Prefetch(long offset, long length);

    /// <summary>Identity of the page cache (views over one identity alias each other).</summary>
    public abstract object Identity { get; }

    /// <summary>
    /// True when <see cref="Read"/> reads without mapping (a file handle's direct read, spec/bigfile.md BF-54):
    /// item access and copies then read instead of mapping (AR-10, AR-14).
    /// </summary>
    public virtual bool HasDirectRead => false;

    /// <summary>Copies file bytes [offset, offset + destination.Length) into <paramref name="destination"/>; this default maps them.</summary>
    public virtual void Read(long offset, Span<byte> destination)
    {
        long max = Math.Max(BlockSize, ResidentLimit / BlockSize * BlockSize);
        while (!destination.IsEmpty)
        {
            int n = (int)Math.Min(destination.Length, max);
            using ArrayMapping m = Map(offset, n);
            System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(ref m.Start, n).CopyTo(destination);
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>
    /// True when <see cref="Write"/> writes without mapping (a file handle's direct write, spec/bigfile.md BF-55):
    /// item writes then write instead of mapping (AR-10).
    /// </summary>
    public virtual bool HasDirectWrite => false;

    /// <summary>Copies <paramref name="source"/> to file bytes at <paramref name="offset"/>; this default maps them.</summary>
    public virtual void Write(long offset, ReadOnlySpan<byte> source)
    {
        long max = Math.Max(BlockSize, ResidentLimit / BlockSize * BlockSize);
        while (!source.IsEmpty)
        {
            int n = (int)Math.Min(source.Length, max);
            using ArrayMapping m = Map(offset, n);
            source[..n].CopyTo(System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref m.Start, n));
            source = source[n..];
            offset += n;
        }
    }

    /// <summary>
    /// Feeds file bytes [<paramref name="offset"/>, offset + <paramref name="length"/>) to <paramref name="sink"/>
    /// in order, read-only (AR-22). This default maps chunks of whole items of at most <paramref name="chunkBytes"/>
    /// (and at most the resident limit), keeping the next <paramref name="lookaheadBytes"/> prefetched while a chunk
    /// is consumed (AR-20); a file handle's store scans without views instead.
    /// </summary>
    public virtual void Scan<TSink>(long offset, long length, int itemSize, long chunkBytes, long lookaheadBytes, ref TSink sink)
        where TSink : struct, IByteSink
    {
        // a chunk must be resident to be read through one span (AR-17)
        long chunk = Math.Max(itemSize, Math.Min(chunkBytes, ResidentLimit) / itemSize * itemSize);
        chunk = Math.Min(chunk, (long)(int.MaxValue / itemSize) * itemSize);
        long end = offset + length;
        long prefetched = offset; // file bytes [offset, prefetched) have been asked for
        for (long off = offset; off < end; off += chunk)
        {
            long len = Math.Min(chunk, end - off);
            long want = Math.Min(end, off + len + Math.Max(lookaheadBytes, chunk));
            if (want > prefetched && want > off + len)
            {
                long from = Math.Max(prefetched, off + len);
                Prefetch(from, want - from);
                prefetched = want;
            }
            using ArrayMapping m = Map(off, len);
            sink.Add(System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(ref m.Start, (int)len));
        }
    }
}

/// <summary>
/// One mapped byte range of a store, valid until disposed. A resident mapping is addressable from
/// <see cref="Start"/>; a windowed one only through <see cref="Acquire"/>.
/// </summary>
internal abstract class ArrayMapping : IDisposable
{
    protected ArrayMapping(long fileOffset, long length)
    {
        FileOffset = fileOffset;
        Length = length;
    }

    /// <summary>File offset of the first mapped byte.</summary>
    public long FileOffset { get; }

    /// <summary>Number of mapped bytes.</summary>
    public long Length { get; }

    /// <summary>True when all <see cref="Length"/> bytes are addressable from <see cref="Start"/> until disposal.</summary>
    public abstract bool IsResident { get; }

    /// <summary>The first mapped byte of a resident mapping.</summary>
    public abstract ref byte Start { get; }

    /// <summary>Pins bytes [offset, offset+length) of the mapping (offsets relative to it) until the window is disposed.</summary>
    public abstract ArrayWindow Acquire(long offset, long length);

    public abstract void Dispose();
}

/// <summary>A pinned, addressable part of a mapping.</summary>
internal abstract class ArrayWindow : IDisposable
{
    /// <summary>Offset of the window's first byte in its mapping.</summary>
    public abstract long Offset { get; }

    /// <summary>The window's first byte.</summary>
    public abstract ref byte Start { get; }

    public abstract void Dispose();
}

/// <summary>The window of a resident mapping: the mapping itself, nothing to pin or release.</summary>
internal sealed class ResidentWindow(ArrayMapping mapping) : ArrayWindow
{
    public override long Offset => 0;

    public override ref byte Start => ref mapping.Start;

    public override void Dispose()
    {
    }
}

/// <summary>
/// Shared ownership of one mapping by a view and the sub-views taken from it (AR-17): the mapping is released
/// when the last of them is disposed.
/// </summary>
internal sealed class MappingLease
{
    private int _refs = 1;

    public MappingLease(ArrayMapping mapping, ArrayStore store)
    {
        Mapping = mapping;
        Store = store;
    }

    public ArrayMapping Mapping { get; }

    public ArrayStore Store { get; }

    public void AddRef()
    {
        while (true)
        {
            int r = Volatile.Read(ref _refs);
            ObjectDisposedException.ThrowIf(r <= 0, this);
            if (Interlocked.CompareExchange(ref _refs, r + 1, r) == r)
            {
                return;
            }
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            Mapping.Dispose();
        }
    }
}
