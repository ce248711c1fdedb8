namespace Wendelin.Arrays.BigFile;

/// <summary>
/// Bytes [<see cref="Offset"/>, Offset + <see cref="Length"/>) of a file, as real memory (spec/bigfile.md BF-5…BF-9).
/// A <em>resident</em> view is loaded when created and its memory (<see cref="Address"/>, <see cref="Span"/>,
/// <see cref="GetSpan"/>) is valid and writable until the view is disposed. A <em>windowed</em> view (larger than
/// the handle's ResidentViewLimit) costs only address space; its bytes are reached through
/// <see cref="Acquire"/>, which loads and pins a range until the window is disposed. With the mapped backend
/// every view of a handle shows the same memory for the same page, so writes are seen at once everywhere.
/// </summary>
public sealed class FileView : IDisposable
{
    private readonly PageCache _cache;
    private readonly long _firstBlock;
    private readonly int _blockCount;
    private readonly int _head;
    private readonly object _gate = new();
    private readonly ViewMemory? _memory;
    private readonly int[]? _refs;
    private readonly HashSet<ViewWindow> _windows = new();
    private bool _disposed;

    internal FileView(FileHandle handle, PageCache cache, long offset, long length, long firstBlock, int blockCount, bool resident, bool writable)
    {
        IsWritable = writable;
        Handle = handle;
        _cache = cache;
        Offset = offset;
        Length = length;
        IsResident = resident;
        _firstBlock = firstBlock;
        _blockCount = blockCount;
        _head = (int)(offset - firstBlock * cache.BlockSize);
        if (resident)
        {
            _memory = cache.CreateView(blockCount);
            try
            {
                if (blockCount > 1)
                {
                    _ = cache.Prefetch(firstBlock + 1, blockCount - 1, hash: writable); // the next blocks load while this thread loads the first
                }
                for (int i = 0; i < blockCount; i++)
                {
                    Page page = cache.Load(firstBlock + i, writable);
                    cache.Attach(_memory, i, page, writable);
                }
            }
            catch
            {
                cache.CloseView(_memory);
                throw;
            }
        }
        else if (cache.Memory.SharesViews)
        {
            _memory = cache.CreateView(blockCount);
            _refs = new int[blockCount];
        }
    }

    /// <summary>The handle this view belongs to.</summary>
    public FileHandle Handle { get; }

    /// <summary>File offset of the view's first byte.</summary>
    public long Offset { get; }

    /// <summary>Length of the view in bytes.</summary>
    public long Length { get; }

    /// <summary>True when the whole view is loaded and valid until disposed; false for a windowed view (use <see cref="Acquire(long, long)"/>).</summary>
    public bool IsResident { get; }

    /// <summary>False for a read-only view (only <see cref="ReadOnlySpan"/>, <see cref="GetReadOnlySpan"/> and read-only windows).</summary>
    public bool IsWritable { get; }

    /// <summary>
    /// Address of the view's first byte; the view's bytes follow contiguously. For a windowed view only the
    /// acquired ranges are accessible (touching the rest ends the process). 0 for a windowed view of the
    /// copying backend, whose windows have their own addresses.
    /// </summary>
    public nint Address => _memory is null || _memory.Base == 0 ? 0 : _memory.Base + _head;

    /// <summary>The whole view as a span (writable resident views of at most int.MaxValue bytes).</summary>
    /// <exception cref="InvalidOperationException">The view is windowed, read-only, or too long for a span.</exception>
    public Span<byte> Span => GetSpan(0, WholeLength());

    /// <summary>The whole view as a read-only span (resident views of at most int.MaxValue bytes).</summary>
    public ReadOnlySpan<byte> ReadOnlySpan => GetReadOnlySpan(0, WholeLength());

    /// <summary>Bytes [<paramref name="offset"/>, offset + <paramref name="length"/>) of a writable view; on a windowed view the range must lie in acquired windows.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the view.</exception>
    /// <exception cref="InvalidOperationException">The view is read-only or disposed, or the range of a windowed view is not acquired.</exception>
    public Span<byte> GetSpan(long offset, int length)
    {
        if (!IsWritable)
        {
            throw new InvalidOperationException("a read-only view: use GetReadOnlySpan");
        }
        return Bytes(offset, length);
    }

    /// <summary>Bytes [<paramref name="offset"/>, offset + <paramref name="length"/>) of the view, read-only; on a windowed view the range must lie in acquired windows.</summary>
    public ReadOnlySpan<byte> GetReadOnlySpan(long offset, int length) => Bytes(offset, length);

    private int WholeLength()
    {
        if (Length > int.MaxValue)
        {
            throw new InvalidOperationException($"a view of {Length} bytes is too long for one span: use GetSpan or Acquire");
        }
        return (int)Length;
    }

    private unsafe Span<byte> Bytes(long offset, int length)
    {
        CheckRange(offset, length);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!IsResident)
            {
                if (_refs is null)
                {
                    throw new InvalidOperationException("a windowed view of the copying backend has no memory of its own: use the span of an acquired window");
                }
                (int first, int end) = Blocks(offset, length);
                for (int i = first; i < end; i++)
                {
                    if (_refs[i] == 0)
                    {
                        throw new InvalidOperationException($"bytes {offset}..{offset + length} of a windowed view are not acquired: use Acquire");
                    }
                }
            }
            return length == 0 ? [] : new Span<byte>((void*)(Address + (nint)offset), length);
        }
    }

    /// <summary>Like <see cref="Acquire(long, long, bool)"/>, writable when the view is.</summary>
    public ViewWindow Acquire(long offset, long length) => Acquire(offset, length, IsWritable);

    /// <summary>
    /// Loads bytes [<paramref name="offset"/>, offset + <paramref name="length"/>) of the view and keeps them in
    /// memory until the returned window is disposed (BF-7). On a resident view this only returns a window on
    /// memory that is there anyway. A read-only window (<paramref name="writable"/> false) maps its pages
    /// read-only and does not make the handle hash them (BF-12): the cheap way to stream through data.
    /// </summary>
    /// <exception cref="InvalidOperationException">A writable window of a read-only view.</exception>
    public ViewWindow Acquire(long offset, long length, bool writable)
    {
        CheckRange(offset, length);
        if (writable && !IsWritable)
        {
            throw new InvalidOperationException("a writable window of a read-only view");
        }
        if (IsResident)
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return new ViewWindow(this, offset, length, Address + (nint)offset, writable, null, 0, 0);
            }
        }
        (int first, int end) = Blocks(offset, length);
        var pages = new List<Page>(end - first);
        try
        {
            for (int i = first; i < end; i++)
            {
                pages.Add(_cache.Load(_firstBlock + i, writable));
            }
        }
        catch
        {
            foreach (Page p in pages)
            {
                _cache.Release(p);
            }
            throw;
        }
        lock (_gate)
        {
            if (_disposed)
            {
                foreach (Page p in pages)
                {
                    _cache.Release(p);
                }
                ObjectDisposedException.ThrowIf(true, this);
            }
            ViewWindow window;
            if (_refs is not null)
            {
                for (int i = first; i < end; i++)
                {
                    _refs[i]++;
                    _cache.Attach(_memory!, i, pages[i - first], writable); // drops the extra pin when the piece is already shown
                }
                window = new ViewWindow(this, offset, length, Address + (nint)offset, writable, null, first, end);
            }
            else
            {
                ViewMemory own = _cache.CreateView(end - first);
                for (int i = first; i < end; i++)
                {
                    _cache.Attach(own, i - first, pages[i - first], writable);
                }
                long start = _head + offset - (long)first * _cache.BlockSize;
                window = new ViewWindow(this, offset, length, own.Base + (nint)start, writable, own, first, end);
            }
            _windows.Add(window);
            return window;
        }
    }

    internal void Release(ViewWindow window)
    {
        lock (_gate)
        {
            if (!_windows.Remove(window))
            {
                return;
            }
            ReleaseLocked(window);
        }
    }

    private void ReleaseLocked(ViewWindow window)
    {
        if (window.OwnMemory is { } own)
        {
            _cache.CloseView(own);
        }
        else if (_refs is not null)
        {
            for (int i = window.FirstBlock; i < window.EndBlock; i++)
            {
                if (--_refs[i] == 0)
                {
                    _cache.Hide(_memory!, i);
                }
            }
        }
    }

    private (int First, int End) Blocks(long offset, long length)
    {
        long start = _head + offset;
        int first = (int)(start / _cache.BlockSize);
        int end = length == 0 ? first : (int)((start + length + _cache.BlockSize - 1) / _cache.BlockSize);
        return (first, Math.Min(end, _blockCount));
    }

    private void CheckRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length || length > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"range {offset}+{length} is not inside a view of {Length} bytes");
        }
    }

    /// <summary>Releases the view's memory and pins (its changes stay in the handle until writeout or discard).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            foreach (ViewWindow w in _windows)
            {
                if (w.OwnMemory is { } own)
                {
                    _cache.CloseView(own);
                }
            }
            _windows.Clear();
            if (_memory is not null)
            {
                _cache.CloseView(_memory);
            }
        }
        Handle.Forget(this);
    }
}

/// <summary>
/// A pinned range of a view (spec/bigfile.md BF-7): its bytes are loaded and stay in memory, at
/// <see cref="Address"/>, until disposed.
/// </summary>
public sealed class ViewWindow : IDisposable
{
    internal ViewWindow(FileView view, long offset, long length, nint address, bool writable, ViewMemory? own, int firstBlock, int endBlock)
    {
        View = view;
        Offset = offset;
        Length = length;
        Address = address;
        IsWritable = writable;
        OwnMemory = own;
        FirstBlock = firstBlock;
        EndBlock = endBlock;
    }

    /// <summary>The view this window belongs to.</summary>
    public FileView View { get; }

    /// <summary>Offset of the window in its view.</summary>
    public long Offset { get; }

    /// <summary>Length in bytes.</summary>
    public long Length { get; }

    /// <summary>Address of the window's first byte (inside the view's range with the mapped backend).</summary>
    public nint Address { get; }

    /// <summary>False for a read-only window.</summary>
    public bool IsWritable { get; }

    internal ViewMemory? OwnMemory { get; }

    internal int FirstBlock { get; }

    internal int EndBlock { get; }

    /// <summary>The whole window as a span (writable windows of at most int.MaxValue bytes).</summary>
    public Span<byte> Span => GetSpan(0, WholeLength());

    /// <summary>The whole window as a read-only span (at most int.MaxValue bytes).</summary>
    public ReadOnlySpan<byte> ReadOnlySpan => GetReadOnlySpan(0, WholeLength());

    /// <summary>Bytes [<paramref name="offset"/>, offset + <paramref name="length"/>) of a writable window.</summary>
    /// <exception cref="InvalidOperationException">The window is read-only.</exception>
    public Span<byte> GetSpan(long offset, int length)
    {
        if (!IsWritable)
        {
            throw new InvalidOperationException("a read-only window: use GetReadOnlySpan");
        }
        return Bytes(offset, length);
    }

    /// <summary>Bytes [<paramref name="offset"/>, offset + <paramref name="length"/>) of the window, read-only.</summary>
    public ReadOnlySpan<byte> GetReadOnlySpan(long offset, int length) => Bytes(offset, length);

    private int WholeLength()
    {
        if (Length > int.MaxValue)
        {
            throw new InvalidOperationException($"a window of {Length} bytes is too long for one span: use GetSpan");
        }
        return (int)Length;
    }

    private unsafe Span<byte> Bytes(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset > Length || length > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"range {offset}+{length} is not inside a window of {Length} bytes");
        }
        return length == 0 ? [] : new Span<byte>((void*)(Address + (nint)offset), length);
    }

    /// <summary>Unpins the window's pages (they may be evicted afterwards).</summary>
    public void Dispose() => View.Release(this);
}
