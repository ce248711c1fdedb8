using Wendelin.Arrays.BigFile.Linux;

namespace Wendelin.Arrays.BigFile;

/// <summary>
/// A transactional window on an <see cref="IBlockFile"/> (upstream's BigFileH, spec/bigfile.md): a page cache of
/// block-sized pages within a RAM budget, views that are real memory, exact tracking of the blocks whose bytes
/// changed, writeout of exactly those blocks in ascending order, discard (abort) and invalidation (another
/// writer changed blocks). Thread-safe; the block file is called without the handle's lock held.
/// </summary>
public sealed class FileHandle : IDisposable
{
    private readonly PageCache _cache;
    private readonly long _residentViewLimit;
    private readonly object _viewsLock = new();
    private readonly HashSet<FileView> _views = new();
    private bool _disposed;

    /// <summary>Opens a handle on <paramref name="file"/> with <paramref name="options"/> (defaults when null).</summary>
    /// <exception cref="ArgumentException">The block size is not a positive multiple of the OS page size.</exception>
    /// <exception cref="PlatformNotSupportedException">A backend or tracking mode was asked for that this system lacks.</exception>
    public FileHandle(IBlockFile file, FileHandleOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        options ??= new FileHandleOptions();
        int blockSize = file.BlockSize;
        int osPage = Environment.SystemPageSize;
        if (blockSize <= 0 || blockSize % osPage != 0)
        {
            throw new ArgumentException($"block size {blockSize} is not a positive multiple of the OS page size {osPage}", nameof(file));
        }
        if (options.RamBudget < 0 || options.ResidentViewLimit < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "RamBudget and ResidentViewLimit must not be negative");
        }
        File = file;
        BlockSize = blockSize;
        long budget = options.RamBudget == 0 ? DefaultRamBudget : options.RamBudget;
        budget = Math.Max(blockSize, budget / blockSize * blockSize);
        (PageMemory memory, PagingBackend backend, DirtyTracking tracking) = CreateMemory(blockSize, options);
        Backend = backend;
        DirtyTracking = tracking;
        _cache = new PageCache(file, memory, budget, options.ScratchDirectory, options.LoadInBackground);
        RamBudget = _cache.BudgetBytes;
        _residentViewLimit = options.ResidentViewLimit == 0 ? Math.Max(blockSize, RamBudget / 2) : options.ResidentViewLimit;
    }

    /// <summary>
    /// The default RAM budget: an eighth of the memory available to the process (cgroup limits included), at
    /// least 64 MiB (spec/bigfile.md BF-3).
    /// </summary>
    public static long DefaultRamBudget
    {
        get
        {
            long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
            return Math.Max(64L << 20, total / 8);
        }
    }

    /// <summary>The file this handle caches.</summary>
    public IBlockFile File { get; }

    /// <summary>Block (= page) size in bytes.</summary>
    public int BlockSize { get; }

    /// <summary>The RAM budget in bytes (whole blocks).</summary>
    public long RamBudget { get; }

    /// <summary>Views up to this many bytes of whole blocks are resident (BF-6).</summary>
    public long ResidentViewLimit => _residentViewLimit;

    /// <summary>The memory backend in use (never Auto).</summary>
    public PagingBackend Backend { get; }

    /// <summary>The dirty tracking in use (never Auto).</summary>
    public DirtyTracking DirtyTracking { get; }

    private static (PageMemory, PagingBackend, DirtyTracking) CreateMemory(int blockSize, FileHandleOptions options)
    {
        if (options.Backend != PagingBackend.Copying && OperatingSystem.IsLinux())
        {
            WriteTracker? tracker = null;
            if (options.DirtyTracking != DirtyTracking.Hashing)
            {
                tracker = WriteTracker.TryCreate();
                if (tracker is null && options.DirtyTracking == DirtyTracking.WriteProtect)
                {
                    throw new PlatformNotSupportedException($"write-protect dirty tracking is unavailable: {WriteTracker.UnavailableReason}");
                }
            }
            if (MemfdPageMemory.TryCreate(blockSize, tracker) is { } memfd)
            {
                return (memfd, PagingBackend.Mapped, tracker is null ? DirtyTracking.Hashing : DirtyTracking.WriteProtect);
            }
            tracker?.Dispose();
        }
        if (options.Backend == PagingBackend.Mapped)
        {
            throw new PlatformNotSupportedException("the mapped paging backend needs Linux with memfd_create");
        }
        if (options.DirtyTracking == DirtyTracking.WriteProtect)
        {
            throw new PlatformNotSupportedException("write-protect dirty tracking needs the mapped backend");
        }
        return (new NativePageMemory(blockSize), PagingBackend.Copying, DirtyTracking.Hashing);
    }

    /// <summary>
    /// A view of file bytes [<paramref name="offset"/>, offset + <paramref name="length"/>). A resident view (at
    /// most <see cref="ResidentViewLimit"/>) is loaded now and stays valid until disposed; a larger, windowed
    /// view only reserves address space and is reached through <see cref="FileView.Acquire"/> (BF-6).
    /// </summary>
    /// <param name="offset">File offset of the view's first byte (any byte offset).</param>
    /// <param name="length">Length in bytes.</param>
    /// <param name="writable">False for a read-only view: its memory is mapped read-only (a store through its
    /// address ends the process) and pages loaded for it are neither hashed nor tracked (BF-12), which makes
    /// reading cheaper.</param>
    /// <exception cref="ArgumentOutOfRangeException">Negative offset or length, or a range past 2^63.</exception>
    public FileView Map(long offset, long length, bool writable = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length > long.MaxValue - offset - BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "the view ends beyond the largest file offset");
        }
        long firstBlock = offset / BlockSize;
        long endBlock = length == 0 ? firstBlock : (offset + length + BlockSize - 1) / BlockSize;
        long blocks = endBlock - firstBlock;
        if (blocks > int.MaxValue / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "a view spans at most 2^30 blocks");
        }
        bool resident = blocks * BlockSize <= _residentViewLimit;
        lock (_viewsLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
        }
        var view = new FileView(this, _cache, offset, length, firstBlock, (int)blocks, resident, writable);
        lock (_viewsLock)
        {
            if (_disposed)
            {
                view.Dispose();
                ObjectDisposedException.ThrowIf(true, this);
            }
            _views.Add(view);
        }
        return view;
    }

    internal void Forget(FileView view)
    {
        lock (_viewsLock)
        {
            _views.Remove(view);
        }
    }

    /// <summary>True when some block's bytes differ from what was last loaded or marked stored (BF-12).</summary>
    public bool IsDirty => _cache.IsDirty;

    /// <summary>The blocks whose bytes really changed, ascending (BF-12).</summary>
    public long[] DirtyBlocks() => _cache.DirtyBlocks();

    /// <summary>
    /// Calls <see cref="IBlockFile.StoreBlock"/> for every block whose bytes changed, in ascending order, without
    /// the handle's lock. The blocks stay dirty until <see cref="MarkStored"/> (upstream's WRITEOUT_STORE, BF-16).
    /// No view may be written while it runs.
    /// </summary>
    public void Writeout() => _cache.Writeout();

    /// <summary>The bytes last written out are now the stored state: every block becomes clean (WRITEOUT_MARKSTORED, BF-17).</summary>
    public void MarkStored() => _cache.MarkStored();

    /// <summary>Abort: every change since the last <see cref="MarkStored"/> is gone, in all views (BF-18).</summary>
    public void DiscardDirty() => _cache.DiscardDirty();

    /// <summary>Another writer changed <paramref name="block"/>: the cached copy (even a dirty one) is dropped; views showing it reload it (BF-19).</summary>
    public void InvalidateBlock(long block)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(block);
        _cache.Invalidate([block]);
    }

    /// <summary>Invalidates every block of <paramref name="blocks"/> (BF-19).</summary>
    public void InvalidateBlocks(IEnumerable<long> blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        var list = new List<long>(blocks);
        foreach (long b in list)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(b, nameof(blocks));
        }
        _cache.Invalidate(list);
    }

    /// <summary>
    /// Starts loading the blocks of file bytes [<paramref name="offset"/>, offset + <paramref name="length"/>) in
    /// the background so that a later access finds them in RAM (read-ahead for streaming, BF-11). It never goes
    /// over budget except by evicting clean pages, and never fails: the returned task completes when done.
    /// </summary>
    public Task Prefetch(long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0)
        {
            return Task.CompletedTask;
        }
        long first = offset / BlockSize;
        long end = (Math.Min(offset, long.MaxValue - length) + length + BlockSize - 1) / BlockSize;
        return _cache.Prefetch(first, end - first);
    }

    /// <summary>
    /// A one-pass read-only walk over file bytes [<paramref name="offset"/>, offset + <paramref name="length"/>)
    /// without views (BF-50): piece by piece, each block as the handle holds it when the scan reaches it (cached
    /// blocks, dirty ones included, from the cache's memory; the others from the block file through a small
    /// read-ahead ring). Nothing enters or leaves the cache. Dispose the scan when done.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative offset or length, or a range past 2^63.</exception>
    public BlockScan Scan(long offset, long length)
    {
        CheckRange(offset, length);
        lock (_viewsLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
        }
        return new BlockScan(this, _cache, offset, length);
    }

    /// <summary>
    /// Copies file bytes [<paramref name="offset"/>, offset + destination.Length) as the handle holds them into
    /// <paramref name="destination"/> without a view (BF-54): cached blocks from the cache, the others straight
    /// from the block file (a whole block with one load into the destination, part of one with
    /// <see cref="IBlockSource.ReadAt"/> where the block file offers it). Nothing enters the cache. Runs the
    /// block file on the calling thread.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative offset, or a range past 2^63.</exception>
    public void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        _cache.Read(offset, destination);
    }

    /// <summary>
    /// Copies <paramref name="source"/> into the handle's bytes at file offset <paramref name="offset"/> without a
    /// view (BF-55): each block touched is loaded into the cache as for a writable view (or found there), the bytes
    /// are written into its page and the units they touched are compared with the stored content at once, so the
    /// block is dirty exactly when its bytes changed (BF-12). Views of the block show the write at once. Not
    /// allowed while a writeout runs (<see cref="InvalidOperationException"/>, as for any write, BF-16).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative offset, or a range past 2^63.</exception>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        CheckRange(offset, source.Length);
        _cache.Write(offset, source);
    }

    /// <summary>A loan of resident blocks' memory without copies (BF-56), for the ZODB glue's commit.</summary>
    internal PageLoan CreateLoan() => new(_cache);

    private void CheckRange(long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length > long.MaxValue - offset - BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "the range ends beyond the largest file offset");
        }
    }

    /// <summary>Counters and sizes of the cache right now (BF-27).</summary>
    public FileHandleStatistics GetStatistics() => _cache.Statistics();

    /// <summary>Disposes every view still open (their memory becomes inaccessible) and frees the cache. Unsaved changes are lost.</summary>
    public void Dispose()
    {
        FileView[] views;
        lock (_viewsLock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            views = [.. _views];
            _views.Clear();
        }
        foreach (FileView v in views)
        {
            v.Dispose();
        }
        _cache.Dispose();
        Disposed?.Invoke();
    }

    /// <summary>True once <see cref="Dispose"/> ran.</summary>
    internal bool IsDisposedInternal
    {
        get
        {
            lock (_viewsLock)
            {
                return _disposed;
            }
        }
    }

    /// <summary>Raised once the handle is disposed (the ZODB glue then leaves its transactions).</summary>
    internal event Action? Disposed;
}
