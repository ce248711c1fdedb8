using Microsoft.Win32.SafeHandles;

namespace Wendelin.Arrays.BigFile;

/// <summary>
/// A block file over an OS file (upstream's BigFile_File, spec/bigfile.md BF-42): block <c>b</c> is the bytes at
/// <c>b × BlockSize</c>. Loading past the end of the file reads zeros (upstream fails on a short read); storing
/// writes the block back, growing the file. Not transactional: for tests and benchmarks. Thread-safe
/// (positional I/O). Opened without an access-pattern hint so the kernel's read-ahead serves streaming scans.
/// As an <see cref="IBlockSource"/> it reads byte ranges with one positional read, and on Linux leases blocks of
/// windows of the file that are all in the OS page cache as slices of a read-only mapping (32 MiB windows; no
/// copy, BF-53; other blocks are declined and loaded by the caller); the file must then not shrink while a lease
/// is held (touching a mapped page past the end of a file ends the process).
/// </summary>
public sealed class OsBlockFile : IBlockSource, IWholeBlockLoader, IDisposable
{
    private readonly FileStream _stream;
    private readonly SafeFileHandle _handle;
    private readonly MappedFileLeases? _leases;

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
        // windows of whole blocks: a block never straddles two
        _leases = MappedFileLeases.Supported && blockSize % Environment.SystemPageSize == 0
            ? new MappedFileLeases(_handle, Math.Max(blockSize, MappedFileLeases.WindowBytes / blockSize * blockSize))
            : null;
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
        ReadFully(checked(block * BlockSize), buffer);
    }

    /// <inheritdoc/>
    public void ReadAt(long block, int offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(block);
        if (offset < 0 || destination.Length > BlockSize - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}+{destination.Length} are not inside a block of {BlockSize}");
        }
        ReadFully(checked(block * BlockSize) + offset, destination);
    }

    private void ReadFully(long at, Span<byte> buffer)
    {
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
    /// <remarks>
    /// On Linux a block of a window of the file that is all in the OS page cache is leased as a slice of a mapping
    /// of it (BF-53); any other block is declined (false), so the caller reads it with <see cref="LoadBlock"/>.
    /// </remarks>
    public bool TryLease(long block, out BlockLease lease)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(block);
        long at = checked(block * BlockSize);
        int stored = (int)Math.Clamp(Length - at, 0, BlockSize); // bytes past the end of the file read as zeros
        if (stored == 0)
        {
            lease = default;
            return true;
        }
        if (_leases?.TryLease(at, stored) is { } mapped)
        {
            lease = mapped;
            return true;
        }
        lease = default;
        return false;
    }

    /// <inheritdoc/>
    public void StoreBlock(long block, ReadOnlySpan<byte> buffer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(block);
        RandomAccess.Write(_handle, buffer, checked(block * BlockSize));
    }

    /// <summary>Makes the stored blocks durable (fsync).</summary>
    public void Flush() => _stream.Flush(flushToDisk: true);

    /// <summary>Closes the file; a mapping still leased is unmapped when its last lease ends.</summary>
    public void Dispose()
    {
        _leases?.Dispose();
        _stream.Dispose();
    }
}
