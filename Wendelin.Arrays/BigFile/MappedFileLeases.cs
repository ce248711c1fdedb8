using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Wendelin.Arrays.BigFile.Linux;

namespace Wendelin.Arrays.BigFile;

/// <summary>
/// Leases of byte ranges of one OS file as slices of read-only shared mappings of it (spec/bigfile.md BF-53), for
/// the block files that hand over stored bytes without copying them (<see cref="OsBlockFile"/>, and a ZBigFile over
/// a FileStorage, spec/zbigfile.md ZB-50): the file is mapped <see cref="WindowBytes"/> at a time, and a range is
/// leased only when its window was all in the OS page cache when it was mapped and its pages still are
/// (<c>mincore</c>); else null, and the caller reads the bytes with positional reads. Linux only (elsewhere every
/// range is declined). The caller guarantees that the leased bytes of the file are not rewritten and the file does
/// not shrink below them while a lease is held (touching a mapped page past the end of a file ends the process).
/// Thread-safe.
/// </summary>
internal sealed class MappedFileLeases : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly long _windowBytes;
    private readonly object _gate = new();
    private MappedWindow? _window;
    private bool _disposed;

    /// <summary>
    /// Leases of <paramref name="handle"/>'s bytes (the handle stays the caller's: once it is closed, no new window
    /// is mapped). Windows start at multiples of <paramref name="windowBytes"/> (a multiple of the page size).
    /// </summary>
    public MappedFileLeases(SafeFileHandle handle, long windowBytes = WindowBytes)
    {
        if (windowBytes <= 0 || windowBytes % Environment.SystemPageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(windowBytes), $"{windowBytes} is not a positive multiple of the page size");
        }
        _handle = handle;
        _windowBytes = windowBytes;
    }

    /// <summary>Bytes of an OS file mapped at a time for leases (BF-53).</summary>
    public const long WindowBytes = 32L << 20;

    /// <summary>True where leases can be made (Linux).</summary>
    public static bool Supported => OperatingSystem.IsLinux();

    /// <summary>
    /// How the mapped pages are faulted in (for measurement, WENDELIN_LEASE_POPULATE): by <c>MADV_POPULATE_READ</c>
    /// of each lease's pages on the leasing thread (default), of the whole window when it is mapped ("window"), or
    /// one page fault at a time by the reader ("0").
    /// </summary>
    internal static PopulateMode Populate { get; set; } = Environment.GetEnvironmentVariable("WENDELIN_LEASE_POPULATE") switch
    {
        "0" => PopulateMode.None,
        "window" => PopulateMode.Window,
        _ => PopulateMode.Lease,
    };

    internal enum PopulateMode
    {
        Lease,
        Window,
        None,
    }

    /// <summary>
    /// A lease of file bytes [<paramref name="at"/>, at + <paramref name="length"/>) (length &gt; 0) out of the
    /// current window (a new window when the range is outside it), or null when the range is not all in the OS page
    /// cache, lies past the end of the file, the handle was closed, or mmap fails.
    /// </summary>
    public BlockLease? TryLease(long at, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(at);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (!Supported)
        {
            return null;
        }
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            MappedWindow? w = _window;
            if (w is null || at < w.Offset || at + length > w.End)
            {
                w?.Retire();
                _window = null;
                int page = Environment.SystemPageSize;
                long fileLength;
                try
                {
                    fileLength = RandomAccess.GetLength(_handle);
                }
                catch (ObjectDisposedException)
                {
                    return null; // the file was closed (e.g. a pack replaced it)
                }
                long start = at / _windowBytes * _windowBytes;
                long fileEnd = (fileLength + page - 1) / page * page;
                long rangeEnd = (at + length + page - 1) / page * page;
                long end = Math.Min(Math.Max(start + _windowBytes, rangeEnd), fileEnd);
                if (at + length > fileLength)
                {
                    return null; // past the end of the file (it shrank meanwhile)
                }
                _window = w = MappedWindow.Create(_gate, _handle, start, end - start);
            }
            return w.TryLease(at, length);
        }
    }

    /// <summary>No new leases; a window still leased is unmapped when its last lease ends.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _window?.Retire();
            _window = null;
        }
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
                try
                {
                    handle.DangerousAddRef(ref added);
                }
                catch (ObjectDisposedException)
                {
                    return new MappedWindow(gate, offset, 0, (nuint)length); // the file was closed meanwhile
                }
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
                if (Populate == PopulateMode.Window)
                {
                    _ = Libc.Madvise(p, (nuint)length, Libc.MADV_POPULATE_READ);
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
            long first = (offset - Offset) / page * page; // mincore and madvise take whole pages
            long end = (offset - Offset + length + page - 1) / page * page; // the last page's bytes past the end read as zeros
            nint start = _address + (nint)first;
            nuint span = (nuint)(end - first);
            if (!Resident(start, span, page))
            {
                return null;
            }
            if (Populate == PopulateMode.Lease)
            {
                _ = Libc.Madvise(start, span, Libc.MADV_POPULATE_READ);
            }
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
