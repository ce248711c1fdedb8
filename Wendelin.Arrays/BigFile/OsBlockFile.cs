using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Wendelin.Arrays.BigFile.Linux;

namespace Wendelin.Arrays.BigFile;

/// <summary>
/// A block file over an OS file (upstream's BigFile_File, spec/bigfile.md BF-42): block <c>b</c> is the bytes at
/// <c>b × BlockSize</c>. Loading past the end of the file reads zeros (upstream fails on a short read); storing
/// writes the block back, growing the file. Not transactional: for tests and benchmarks. Thread-safe
/// (positional I/O). Opened without an access-pattern hint so the kernel's read-ahead serves streaming scans.
/// As an <see cref="IBlockSource"/> it reads byte ranges with one positional read, and on Linux leases a block
/// that is all in the OS page cache as a read-only mapping of those pages (no copy, BF-53; a block not all
/// cached is read into a pooled buffer); the file must then not shrink while a lease is held (touching a mapped
/// page past the end of a file ends the process).
/// </summary>
public sealed class OsBlockFile : IBlockSource, IWholeBlockLoader, IDisposable
{
    private readonly FileStream _stream;
    private readonly SafeFileHandle _handle;
    private readonly bool _mapLeases;

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
        _mapLeases = OperatingSystem.IsLinux() && blockSize % Environment.SystemPageSize == 0;
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
    public BlockLease Lease(long block)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(block);
        long at = checked(block * BlockSize);
        int stored = (int)Math.Clamp(Length - at, 0, BlockSize); // bytes past the end of the file read as zeros
        if (stored == 0)
        {
            return default;
        }
        if (_mapLeases && MappedLease.TryCreate(_handle, at, stored) is { } mapped)
        {
            return new BlockLease(mapped.Memory, mapped);
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(stored);
        try
        {
            ReadFully(at, buffer.AsSpan(0, stored));
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        return new BlockLease(buffer.AsMemory(0, stored), new PooledLease(buffer));
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

    /// <summary>A block's bytes in an array rented from the shared pool, returned when the lease ends.</summary>
    private sealed class PooledLease(byte[] buffer) : IDisposable
    {
        private byte[]? _buffer = buffer;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _buffer, null) is { } b)
            {
                ArrayPool<byte>.Shared.Return(b);
            }
        }
    }

    /// <summary>
    /// A read-only shared mapping of the OS file's pages holding a block (Linux): the bytes are the kernel's page
    /// cache itself, faulted in at once by MADV_POPULATE_READ (on the thread that takes the lease, which is the
    /// read-ahead thread of a scan) and unmapped when the lease ends.
    /// </summary>
    private sealed unsafe class MappedLease : MemoryManager<byte>
    {
        private nint _address;
        private readonly nuint _mapped;
        private readonly int _length;

        private MappedLease(nint address, nuint mapped, int length)
        {
            _address = address;
            _mapped = mapped;
            _length = length;
        }

        public static MappedLease? TryCreate(SafeFileHandle handle, long offset, int length)
        {
            int page = Environment.SystemPageSize;
            nuint mapped = (nuint)((length + page - 1) / page * page); // the last page's bytes past the end read as zeros
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                nint p = Libc.Mmap(0, mapped, Libc.PROT_READ, Libc.MAP_SHARED, (int)handle.DangerousGetHandle(), offset);
                if (p == Libc.MapFailed)
                {
                    return null; // e.g. a file system without mmap: the lease falls back to a read into a buffer
                }
                if (!Resident(p, mapped, page))
                {
                    // not all in the OS page cache: a positional read into a buffer is faster (the kernel's
                    // sequential read-ahead serves it, where faults on a fresh mapping read around each page)
                    _ = Libc.Munmap(p, mapped);
                    return null;
                }
                _ = Libc.Madvise(p, mapped, Libc.MADV_POPULATE_READ);
                return new MappedLease(p, mapped, length);
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }

        /// <summary>True when every page of the mapping is in the OS page cache (mincore).</summary>
        private static bool Resident(nint address, nuint length, int page)
        {
            int pages = (int)(length / (nuint)page);
            byte[]? rented = pages > 1024 ? ArrayPool<byte>.Shared.Rent(pages) : null;
            try
            {
                Span<byte> vec = rented is null ? stackalloc byte[pages] : rented.AsSpan(0, pages);
                fixed (byte* v = vec)
                {
                    if (Libc.Mincore(address, length, v) != 0)
                    {
                        return false;
                    }
                }
                foreach (byte b in vec)
                {
                    if ((b & 1) == 0)
                    {
                        return false;
                    }
                }
                return true;
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }
        }

        public override Span<byte> GetSpan() => _address == 0 ? throw new ObjectDisposedException(nameof(MappedLease)) : new Span<byte>((void*)_address, _length);

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            if (_address == 0 || (uint)elementIndex > (uint)_length)
            {
                throw new ArgumentOutOfRangeException(nameof(elementIndex));
            }
            return new MemoryHandle((byte*)_address + elementIndex);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
            nint p = Interlocked.Exchange(ref _address, 0);
            if (p != 0)
            {
                _ = Libc.Munmap(p, _mapped);
            }
        }
    }
}
