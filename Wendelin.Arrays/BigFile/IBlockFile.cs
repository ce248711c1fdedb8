namespace Wendelin.Arrays.BigFile;

/// <summary>
/// A file of fixed-size blocks (upstream's BigFile): the paging layer calls <see cref="LoadBlock"/> when a page
/// is first touched and <see cref="StoreBlock"/> for each changed block at writeout (spec/bigfile.md).
/// ZBigFile implements it over ZODB; tests and RAMArray implement it in memory or over an OS file.
/// </summary>
public interface IBlockFile
{
    /// <summary>Block size in bytes (a multiple of the OS page size; 2 MiB by default).</summary>
    int BlockSize { get; }

    /// <summary>
    /// Fills <paramref name="buffer"/> (exactly <see cref="BlockSize"/> bytes, zeroed by the caller) with block
    /// <paramref name="block"/>; a hole leaves it zero. Called without any paging lock held.
    /// </summary>
    void LoadBlock(long block, Span<byte> buffer);

    /// <summary>
    /// Saves block <paramref name="block"/> (exactly <see cref="BlockSize"/> bytes). Called at writeout in
    /// ascending block order, only for blocks whose bytes changed; without any paging lock held.
    /// </summary>
    void StoreBlock(long block, ReadOnlySpan<byte> buffer);
}

/// <summary>
/// Marks a block file whose <see cref="IBlockFile.LoadBlock"/> writes every byte of the buffer (zeros included), so
/// the cache need not clear a recycled slot before loading into it.
/// </summary>
internal interface IWholeBlockLoader
{
}

/// <summary>
/// A block file that tells a hole apart when loading (spec/bigfile.md BF-10a): the cache then need not clear a slot
/// that is already zero, nor hash the units of a block it knows to be all zeros.
/// </summary>
internal interface IHoleAwareBlockFile : IBlockFile
{
    /// <summary>
    /// As <see cref="IBlockFile.LoadBlock"/>; returns false for a hole, leaving <paramref name="buffer"/> as it is
    /// when <paramref name="bufferIsZero"/> and clearing it otherwise.
    /// </summary>
    bool LoadBlockOrHole(long block, Span<byte> buffer, bool bufferIsZero);
}

/// <summary>
/// A block file that wants to know which units (OS pages) of a block changed when it is stored (the ZODB block
/// file rewrites only the changed 4 KiB chunks of a ZBlk1 without reading the others). The bitmap is exact in the
/// sense of BF-12: bit <c>u</c> is set when unit <c>u</c>'s bytes differ from the block's stored content.
/// </summary>
internal interface IUnitAwareBlockFile : IBlockFile
{
    /// <summary>
    /// As <see cref="IBlockFile.StoreBlock"/>, with <paramref name="changedUnits"/>: one bit per unit of
    /// <paramref name="unitSize"/> bytes, least significant bit first; valid only during the call.
    /// </summary>
    void StoreBlock(long block, ReadOnlySpan<byte> buffer, ReadOnlySpan<ulong> changedUnits, int unitSize);
}
