using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Wendelin.Arrays.BigFile.Linux;

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
    private readonly bool _mapLeases;
    private readonly object _mapGate = new();
    private MappedWindow? _window;
    private bool _disposed;

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
        if (_mapLeases && LeaseMapped(at, stored) is { } mapped)
        {
            lease = mapped;
            return true;
        }
        lease = default;
        return false;
    }

    /// <summary>A lease out of the current window (a new window when the block is outside it), or null when the block is not all in the OS page cache or mmap fails.</summary>
    private BlockLease? LeaseMapped(long at, int stored)
    {
        lock (_mapGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            MappedWindow? w = _window;
            if (w is null || at < w.Offset || at + stored > w.End)
            {
                w?.Retire();
                _window = null;
                int page = Environment.SystemPageSize;
                long window = Math.Max(BlockSize, WindowBytes / BlockSize * BlockSize);
                long start = at / window * window;
                long fileEnd = (Length + page - 1) / page * page;
                long length = Math.Min(window, fileEnd - start);
                if (length < at + stored - start)
                {
                    return null; // the file shrank meanwhile
                }
                _window = w = MappedWindow.Create(_mapGate, _handle, start, length);
            }
            return w.TryLease(at, stored);
        }
    }

    /// <summary>Bytes of the OS file mapped at a time for leases (BF-53).</summary>
    internal const long WindowBytes = 32L << 20;

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
        lock (_mapGate)
        {
            _disposed = true;
            _window?.Retire();
            _window = null;
        }
        _stream.Dispose();
    }

    /// <summary>
    /// A read-only shared mapping of a window of the OS file (Linux, <see cref="WindowBytes"/> at a time): leases
    /// are slices of it, so a sequential scan maps and unmaps once per window rather than once per block (each
    /// unmap must flush the other processors' TLBs, which costs most on a busy virtual machine). A lease's pages
    /// are faulted in at once by MADV_POPULATE_READ on the leasing thread (the read-ahead thread of a scan). The
    /// window is unmapped when a later one replaced it and its last lease ended (or the file is disposed).
    /// </summary>
    private sealed unsafe class MappedWindow : MemoryManager<byte>
    {
        private readonly object _gate;
        private nint _address;
        private readonly nuint _mapped;
        private int _refs;
        private bool _retired;

        private MappedWindow(object gate, long offset, nint address, nuint mapped)
        {
            _gate = gate;
            Offset = offset;
            _address = address;
            _mapped = mapped;
        }

        /// <summary>File offset of the window's first byte.</summary>
        public long Offset { get; }

        public long End => Offset + (long)_mapped;

        /// <summary>
        /// Maps file bytes [offset, offset + length) (length a multiple of the page size) when all of them are in
        /// the OS page cache; else (or when mmap fails) a window of that range that leases nothing, so every block
        /// of it is read with positional reads: mixing mapped blocks and reads would break the kernel's detection
        /// of a sequential reader, and with it the read-ahead a cold scan lives on.
        /// </summary>
        public static MappedWindow Create(object gate, SafeFileHandle handle, long offset, long length)
        {
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                nint p = Libc.Mmap(0, (nuint)length, Libc.PROT_READ, Libc.MAP_SHARED, (int)handle.DangerousGetHandle(), offset);
                if (p == Libc.MapFailed)
                {
                    return new MappedWindow(gate, offset, 0, (nuint)length); // e.g. a file system without mmap
                }
                if (!Resident(p, (nuint)length, Environment.SystemPageSize))
                {
                    _ = Libc.Munmap(p, (nuint)length);
                    return new MappedWindow(gate, offset, 0, (nuint)length);
                }
                return new MappedWindow(gate, offset, p, (nuint)length);
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }

        /// <summary>
        /// A lease of file bytes [offset, offset + length) when the window is mapped and every page of them is
        /// (still) in the OS page cache (mincore), else null (under the file's gate).
        /// </summary>
        public BlockLease? TryLease(long offset, int length)
        {
            if (_address == 0)
            {
                return null; // a window that was not all cached when it was made
            }
            int page = Environment.SystemPageSize;
            nint start = _address + (nint)(offset - Offset);
            nuint span = (nuint)((length + page - 1) / page * page); // the last page's bytes past the end read as zeros
            if (!Resident(start, span, page))
            {
                return null;
            }
            _ = Libc.Madvise(start, span, Libc.MADV_POPULATE_READ);
            _refs++;
            return new BlockLease(Memory.Slice((int)(offset - Offset), length), new Release(this));
        }

        /// <summary>No more leases come from this window: unmap it once the last one ends (under the file's gate).</summary>
        public void Retire()
        {
            _retired = true;
            if (_refs == 0)
            {
                Unmap();
            }
        }

        private void Unmap()
        {
            if (_address != 0)
            {
                _ = Libc.Munmap(_address, _mapped);
                _address = 0;
            }
        }

        /// <summary>True when every page of the range is in the OS page cache (mincore).</summary>
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

        public override Span<byte> GetSpan() => _address == 0 ? throw new ObjectDisposedException(nameof(MappedWindow)) : new Span<byte>((void*)_address, (int)_mapped);

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            if (_address == 0 || (uint)elementIndex > (uint)_mapped)
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
            lock (_gate)
            {
                Retire();
            }
        }

        /// <summary>Ends one lease of the window.</summary>
        private sealed class Release(MappedWindow window) : IDisposable
        {
            private int _done;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _done, 1) != 0)
                {
                    return;
                }
                lock (window._gate)
                {
                    if (--window._refs == 0 && window._retired)
                    {
                        window.Unmap();
                    }
                }
            }
        }
    }
}
