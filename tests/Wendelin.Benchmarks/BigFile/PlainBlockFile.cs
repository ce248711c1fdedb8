using Wendelin.Arrays.BigFile;

namespace Wendelin.Benchmarks.BigFile;

/// <summary>
/// An <see cref="OsBlockFile"/> seen only through <see cref="IBlockFile"/> (no <see cref="IBlockSource"/>, no
/// whole-block marker): what the paging layer does for a block file that offers nothing more, e.g. one that
/// copies a database record into the buffer. Scans then load each block into their own ring of buffers.
/// </summary>
internal sealed class PlainBlockFile(IBlockFile file) : IBlockFile
{
    public int BlockSize => file.BlockSize;

    public void LoadBlock(long block, Span<byte> buffer) => file.LoadBlock(block, buffer);

    public void StoreBlock(long block, ReadOnlySpan<byte> buffer) => file.StoreBlock(block, buffer);
}
