namespace Wendelin.Arrays;

/// <summary>
/// The paging operations an array uses (spec/arrays.md AR-20): map a byte range of the array's file as memory,
/// prefetch a range, and the page size and RAM budget that bound chunked processing. The product implementation
/// is <see cref="HandleStore"/> over a <c>BigFile.FileHandle</c>; tests may supply others.
/// </summary>
internal abstract class ArrayStore
{
    /// <summary>Page (block) size in bytes.</summary>
    public abstract int BlockSize { get; }

    /// <summary>Bytes of page cache the handle may hold; chunked iteration keeps each chunk well under it.</summary>
    public abstract long RamBudget { get; }

    /// <summary>
    /// Maps file bytes [<paramref name="offset"/>, offset + <paramref name="length"/>) as one contiguous writable
    /// range (length ≥ 1). Mappings of one store share pages: a write through one is seen through all.
    /// </summary>
    public abstract ArrayMapping Map(long offset, long length);

    /// <summary>Starts loading file bytes [offset, offset+length) in the background; a hint, never required.</summary>
    public abstract void Prefetch(long offset, long length);

    /// <summary>Identity of the page cache (two stores over one handle alias each other).</summary>
    public abstract object Identity { get; }
}

/// <summary>One mapped byte range of a store; valid until disposed.</summary>
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

    /// <summary>The first mapped byte; the following <see cref="Length"/> bytes are addressable from it.</summary>
    public abstract ref byte Start { get; }

    public abstract void Dispose();
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

    public bool IsReleased => Volatile.Read(ref _refs) <= 0;

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
