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
