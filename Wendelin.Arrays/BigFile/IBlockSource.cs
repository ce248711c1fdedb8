namespace Wendelin.Arrays.BigFile;

/// <summary>
/// An optional extension of <see cref="IBlockFile"/> for the read paths that bypass the page cache
/// (<see cref="FileHandle.Scan"/>, <see cref="FileHandle.Read"/>; spec/bigfile.md BF-52): a block file that can
/// read part of a block without loading the whole of it, and hand over a block's stored bytes without copying
/// them into a buffer of the handle where it holds them in memory. Both are called without any paging lock, possibly from a background
/// thread (unless the handle was opened with <c>LoadInBackground = false</c>), like
/// <see cref="IBlockFile.LoadBlock"/>, and must return the same bytes <see cref="IBlockFile.LoadBlock"/> would.
/// </summary>
/// <remarks>
/// A ZODB block file implements <see cref="TryLease"/> over the loaded block record: a ZBlk0 record's payload is
/// a slice of the record's bytes, shorter than the block when trailing zeros were stripped; the lease hands
/// that slice over as <see cref="BlockLease.Data"/> and the stripped tail is implied.
/// </remarks>
public interface IBlockSource : IBlockFile
{
    /// <summary>
    /// Copies bytes [<paramref name="offset"/>, offset + <paramref name="destination"/>.Length) of block
    /// <paramref name="block"/> into <paramref name="destination"/> (a hole, or bytes past the stored content,
    /// read as zeros). The range lies inside the block.
    /// </summary>
    void ReadAt(long block, int offset, Span<byte> destination);

    /// <summary>
    /// The stored bytes of block <paramref name="block"/> without copying them, when the file holds them in memory
    /// it can hand over: <see cref="BlockLease.Data"/> holds the block's first <c>Data.Length</c> bytes (at most
    /// <see cref="IBlockFile.BlockSize"/>), every byte after them is zero (a hole is empty data). The memory stays
    /// valid and unchanged until the lease is disposed, whatever is stored meanwhile. False when the file has
    /// nothing better than <see cref="IBlockFile.LoadBlock"/> for this block: the caller then loads it into a
    /// buffer of its own.
    /// </summary>
    bool TryLease(long block, out BlockLease lease);

    /// <summary>
    /// True when loads of consecutive blocks make the file ask the OS to read the bytes that follow in the
    /// background (a ZBigFile over a FileStorage, spec/zbigfile.md ZB-49): a scan then loads each block on the
    /// consumer's thread when it gets there, as a plain sequential read does, instead of through a read-ahead
    /// thread (BF-50), so no block waits for a hand-over between threads.
    /// </summary>
    bool ReadsAhead => false;
}

/// <summary>
/// Bytes of a block handed over by an <see cref="IBlockSource"/>: a prefix of the block (the rest is zeros),
/// valid until disposed. <see cref="Owner"/>, when set, is disposed to release the memory (a pooled buffer,
/// a mapping); a lease over a managed array that the source never changes needs none.
/// </summary>
public readonly struct BlockLease : IDisposable
{
    /// <summary>A lease of <paramref name="data"/>, released by disposing <paramref name="owner"/> (if any).</summary>
    public BlockLease(ReadOnlyMemory<byte> data, IDisposable? owner = null)
    {
        Data = data;
        Owner = owner;
    }

    /// <summary>The block's first bytes; the block's remaining bytes are zeros.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>What releases <see cref="Data"/>, or null.</summary>
    public IDisposable? Owner { get; }

    /// <summary>Releases the memory; <see cref="Data"/> must not be used afterwards.</summary>
    public void Dispose() => Owner?.Dispose();
}
