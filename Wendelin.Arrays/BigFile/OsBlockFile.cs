using Microsoft.Win32.SafeHandles;

namespace Wendelin.Arrays.BigFile;

/// <summary>
/// A block file over an OS file (upstream's BigFile_File, spec/bigfile.md BF-42): block <c>b</c> is the bytes at
/// <c>b × BlockSize</c>. Loading past the end of the file reads zeros (upstream fails on a short read); storing
/// writes the block back, growing the file. Not transactional: for tests and benchmarks. Thread-safe
/// (positional I/O). Opened without an access-pattern hint so the kernel's read-ahead serves streaming scans.
/// </summary>
public sealed class OsBlockFile : IBlockFile, IWholeBlockLoader, IDisposable
{
    private readonly FileStream _stream;
    private readonly SafeFileHandle _handle;

    /// <summary>Opens (or creates, when <paramref name="writable"/>) the file at <paramref name="path"/>.</summary>
    public OsBlockFile(string path, int blockSize = 2 << 20, bool writable = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        BlockSize = blockSize;
        Path = path;
        _stream = writable
            ? new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite, 1, FileOptions.None)
            : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
        _handle = _stream.SafeFileHandle;
    }

    /// <inheritdoc/>
    public int BlockSize { get; }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>The file's length in bytes.</summary>
    public long Length => RandomAccess.GetLength(_handle);

    /// <inheritdoc/>
    public void LoadBlock(long block, Span<byte> buffer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(block);
        long at = checked(block * BlockSize);
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(_handle, buffer[done..], at + done);
            if (n <= 0)
            {
                buffer[done..].Clear(); // past the end: zeros (a hole)
                break;
            }
            done += n;
        }
    }

    /// <inheritdoc/>
    public void StoreBlock(long block, ReadOnlySpan<byte> buffer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(block);
        RandomAccess.Write(_handle, buffer, checked(block * BlockSize));
    }

    /// <summary>Makes the stored blocks durable (fsync).</summary>
    public void Flush() => _stream.Flush(flushToDisk: true);

    /// <inheritdoc/>
    public void Dispose() => _stream.Dispose();
}
