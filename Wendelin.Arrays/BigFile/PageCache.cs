using System.IO.Hashing;
using System.Runtime.ExceptionServices;

namespace Wendelin.Arrays.BigFile;

/// <summary>
/// The engine behind <see cref="FileHandle"/> (spec/bigfile.md): pages of one block each, RAM slots under a
/// budget, LRU eviction of clean unpinned pages, spill of dirty ones, loads outside the lock with one loader per
/// block, and attaching pages to view memory. One lock guards all state; LoadBlock, StoreBlock and scratch-file
/// reads of unspilled pages run without it.
/// </summary>
internal sealed unsafe partial class PageCache : IHarvestSink, IDisposable
{
    private readonly object _lock = new();
    private readonly IBlockFile _file;
    private readonly PageMemory _memory;
    private readonly int _blockSize;
    private readonly int _unit;
    private readonly int _units;
    private readonly UInt128 _zeroUnitHash; // the hash of a unit of zeros (BF-10a)
    private readonly int _budgetSlots;
    private readonly string? _scratchDirectory;
    private readonly Dictionary<long, Page> _pages = new();
    private readonly HashSet<ViewMemory> _views = new();
    private readonly PriorityQueue<int, int> _freeSlots = new();
    private int _slotCount;
    private int _usedSlots;
    private int _pinnedPages;
    private readonly PageList _lru = new();   // unpinned pages used more than once, or loaded ahead and not used yet
    private readonly PageList _once = new();  // clean unpinned pages released after their first use (BF-4)
    private SpillFile? _spill;
    private long _loads, _stores, _evictions, _spills, _unspills, _prefetched;
    private long _harvestEpoch;
    private bool _writeoutInProgress;
    private bool _disposed;
    private int _busy; // threads using slot memory without the lock (loads, reloads, stores)

    private readonly bool _background;

    public PageCache(IBlockFile file, PageMemory memory, long budgetBytes, string? scratchDirectory, bool loadInBackground)
    {
        _background = loadInBackground;
        _file = file;
        _memory = memory;
        _blockSize = file.BlockSize;
        _unit = Environment.SystemPageSize;
        _units = _blockSize / _unit;
        _zeroUnitHash = XxHash128.HashToUInt128(new byte[_unit]);
        _budgetSlots = (int)Math.Clamp(budgetBytes / _blockSize, 1, int.MaxValue / 2);
        _scratchDirectory = scratchDirectory;
    }

    public PageMemory Memory => _memory;

    public int BlockSize => _blockSize;

    public long BudgetBytes => (long)_budgetSlots * _blockSize;

    // ---------------------------------------------------------------- slots and LRU (BF-3, BF-4)

    /// <summary>
    /// A free slot. Over budget it evicts a page (BF-4): the oldest page used once, else the least recently used
    /// clean page, else it spills the least recently used dirty one (BF-20). Below budget it still recycles the
    /// oldest page used once when more than a quarter of the budget holds such pages, so a stream of data read
    /// once does not fill the whole budget with fresh memory. Returns -1 for a prefetch that would need more than
    /// evicting a clean page.
    /// </summary>
    private int AllocateSlot(bool prefetch)
    {
        if (_usedSlots >= _budgetSlots)
        {
            if (!MakeRoom(prefetch) && prefetch)
            {
                return -1;
            }
        }
        else if (_once.Count > Math.Max(1, _budgetSlots / 4))
        {
            DropResident(_once.Oldest!);
            _evictions++;
        }
        int slot = _freeSlots.Count > 0 ? _freeSlots.Dequeue() : _slotCount++;
        _usedSlots++;
        return slot;
    }

    private bool MakeRoom(bool cleanOnly)
    {
        // freeing a slot lowers _usedSlots; AllocateSlot takes it again right after
        if (_once.Oldest is { } once)
        {
            DropResident(once);
            _evictions++;
            return true;
        }
        for (Page? p = _lru.Oldest; p is not null; p = p.Newer)
        {
            if (!p.IsDirty)
            {
                DropResident(p);
                _evictions++;
                return true;
            }
        }
        if (cleanOnly || _lru.Oldest is null)
        {
            return false;
        }
        Page victim = _lru.Oldest;
        RemoveLru(victim);
        _spill ??= new SpillFile(_scratchDirectory, _blockSize);
        victim.SpillSlot = _spill.Write(new ReadOnlySpan<byte>(_memory.Slot(victim.Slot), _blockSize));
        FreeSlot(victim.Slot);
        victim.Slot = -1;
        victim.State = PageState.Spilled;
        _spills++;
        return true;
    }

    private void FreeSlot(int slot)
    {
        _usedSlots--;
        if (_slotLeases.Count > 0 && _slotLeases.ContainsKey(slot))
        {
            _leasedFreeSlots.Add(slot); // a scan or read is still reading it: reused only when it is done (BF-51)
            return;
        }
        ReturnSlot(slot);
    }

    private void ReturnSlot(int slot)
    {
        if (slot >= _budgetSlots)
        {
            _memory.Release(slot); // memory beyond the budget goes back to the OS at once (BF-3)
        }
        _freeSlots.Enqueue(slot, slot);
    }

    /// <summary>Forgets a resident, unattached page (its changes, if any, are lost).</summary>
    private void DropResident(Page p)
    {
        if (p.InLru)
        {
            RemoveLru(p);
        }
        FreeSlot(p.Slot);
        p.Slot = -1;
        RemovePage(p);
    }

    private void DropSpilled(Page p)
    {
        _spill!.Free(p.SpillSlot);
        p.SpillSlot = -1;
        RemovePage(p);
    }

    private void RemovePage(Page p)
    {
        if (_pages.TryGetValue(p.Block, out Page? current) && ReferenceEquals(current, p))
        {
            _pages.Remove(p.Block);
        }
    }

    private void AddLruNewest(Page p) => _lru.AddNewest(p);

    private static void RemoveLru(Page p) => p.List?.Remove(p);

    private void Pin(Page p)
    {
        if (p.InLru)
        {
            RemoveLru(p);
        }
        if (p.Pins++ == 0)
        {
            _pinnedPages++;
            p.Uses++;
        }
    }

    private void Unpin(Page p)
    {
        if (--p.Pins == 0)
        {
            _pinnedPages--;
            if (p.State == PageState.Resident)
            {
                (p.Uses == 1 && !p.IsDirty ? _once : _lru).AddNewest(p);
            }
            // pins may have pushed RAM over budget: back within it as soon as pages are unpinned (BF-3)
            while (_usedSlots > _budgetSlots && MakeRoom(cleanOnly: false))
            {
            }
        }
    }

    // ---------------------------------------------------------------- loading (BF-10, BF-11)

    /// <summary>
    /// The resident page of <paramref name="block"/>, loading it (or bringing it back from the scratch file) if
    /// needed; pinned when <paramref name="pin"/>, else made most recently used. Concurrent callers for one block
    /// share one load. For a prefetch returns null instead of waiting or of going over budget.
    /// </summary>
    public Page? GetPage(long block, bool pin, bool prefetch, bool hash)
    {
        while (true)
        {
            Page page;
            TaskCompletionSource? wait = null;
            bool unspill = false, zero = false;
            byte* slot = null;
            lock (_lock)
            {
                ThrowIfDisposed();
                if (_pages.TryGetValue(block, out Page? existing))
                {
                    page = existing;
                    switch (page.State)
                    {
                        case PageState.Resident:
                            if (pin)
                            {
                                Pin(page);
                            }
                            else if (page.List == _lru)
                            {
                                // read-ahead of a cached page keeps it; a page already used once stays where it
                                // is (a late read-ahead must not rescue what a stream consumed, BF-4)
                                RemoveLru(page);
                                AddLruNewest(page);
                            }
                            return page;
                        case PageState.Loading:
                            if (prefetch)
                            {
                                return null;
                            }
                            wait = page.LoadDone;
                            break;
                        default: // Spilled
                            int s = AllocateSlot(prefetch);
                            if (s < 0)
                            {
                                return null;
                            }
                            page.Slot = s;
                            page.State = PageState.Loading;
                            page.LoadDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                            unspill = true;
                            break;
                    }
                }
                else
                {
                    int s = AllocateSlot(prefetch);
                    if (s < 0)
                    {
                        return null;
                    }
                    page = new Page(block)
                    {
                        State = PageState.Loading,
                        Slot = s,
                        LoadDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously),
                    };
                    _pages.Add(block, page);
                }
                if (wait is null)
                {
                    _busy++;
                    slot = _memory.Slot(page.Slot);
                    zero = _memory.IsZero(page.Slot);
                    _memory.Touched(page.Slot);
                }
            }
            if (wait is not null)
            {
                wait.Task.Wait();
                continue;
            }
            if (Fill(page, slot, zero, unspill, pin, prefetch, hash) is { } done)
            {
                return done;
            }
        }
    }

    /// <summary>Fills a Loading page's slot without the lock, then publishes it; null means "invalidated meanwhile, retry".</summary>
    private Page? Fill(Page page, byte* slot, bool zero, bool unspill, bool pin, bool prefetch, bool hash)
    {
        UInt128[]? hashes = null;
        ExceptionDispatchInfo? error = null;
        var span = new Span<byte>(slot, _blockSize);
        try
        {
            if (unspill)
            {
                long spillSlot;
                lock (_lock)
                {
                    spillSlot = page.SpillSlot;
                }
                ReadSpill(spillSlot, span);
            }
            else
            {
                if (zero)
                {
                    _memory.PrepareFresh(page.Slot, slot); // Slot does not change while the page is Loading
                }
                else if (_file is not IWholeBlockLoader)
                {
                    span.Clear();
                }
                bool hole = false;
                if (_file is IHoleAwareBlockFile holes)
                {
                    // BF-10a: a hole in a slot already zero is left as it is, and its units are not hashed
                    hole = !holes.LoadBlockOrHole(page.Block, span, bufferIsZero: zero || _file is not IWholeBlockLoader);
                }
                else
                {
                    _file.LoadBlock(page.Block, span);
                }
                if (hash)
                {
                    hashes = hole ? ZeroUnitHashes() : HashUnits(slot); // still invisible to views: nothing can have written it
                }
            }
        }
#pragma warning disable CA1031 // not swallowed: rethrown below once the page is cleaned up
        catch (Exception e)
        {
            error = ExceptionDispatchInfo.Capture(e);
        }
#pragma warning restore CA1031
        lock (_lock)
        {
            TaskCompletionSource done = page.LoadDone!;
            page.LoadDone = null;
            try
            {
                if (error is not null || page.Invalidated || _disposed)
                {
                    FreeSlot(page.Slot);
                    page.Slot = -1;
                    if (unspill && error is not null && !page.Invalidated && !_disposed)
                    {
                        page.State = PageState.Spilled; // keep the dirty bytes; the caller sees the error
                    }
                    else
                    {
                        if (unspill && page.SpillSlot >= 0)
                        {
                            _spill!.Free(page.SpillSlot);
                            page.SpillSlot = -1;
                        }
                        RemovePage(page);
                    }
                    page.Invalidated = false;
                    if (error is not null)
                    {
                        error.Throw();
                    }
                    ThrowIfDisposed();
                    return null;
                }
                if (unspill)
                {
                    _spill!.Free(page.SpillSlot);
                    page.SpillSlot = -1;
                    _unspills++;
                }
                else
                {
                    page.Clean = hashes; // null for a page loaded only for reading: hashed at its first writable attach
                    _loads++;
                    if (prefetch)
                    {
                        _prefetched++;
                    }
                }
                page.State = PageState.Resident;
                if (pin)
                {
                    Pin(page);
                }
                else
                {
                    AddLruNewest(page);
                }
                return page;
            }
            finally
            {
                ExitBusy();
                done.SetResult();
            }
        }
    }

    /// <summary>Ends a use of slot memory outside the lock (call under the lock).</summary>
    private void ExitBusy()
    {
        if (--_busy == 0 && _disposed)
        {
            Monitor.PulseAll(_lock);
        }
    }

    private void ReadSpill(long spillSlot, Span<byte> into)
    {
        SpillFile spill;
        lock (_lock)
        {
            spill = _spill!;
        }
        spill.Read(spillSlot, into);
    }

    /// <summary>The reference hashes of a block of zeros (BF-10a): each unit's is the hash of a zero unit.</summary>
    private UInt128[] ZeroUnitHashes()
    {
        var hashes = new UInt128[_units];
        Array.Fill(hashes, _zeroUnitHash);
        return hashes;
    }

    private UInt128[] HashUnits(byte* slot)
    {
        var hashes = new UInt128[_units];
        for (int u = 0; u < _units; u++)
        {
            hashes[u] = XxHash128.HashToUInt128(new ReadOnlySpan<byte>(slot + (long)u * _unit, _unit));
        }
        return hashes;
    }

    /// <summary>
    /// Queues a background load of the blocks, without pinning and without going over budget except by evicting
    /// clean pages (BF-11). One worker serves the queue in order; when more than <see cref="MaxPendingPrefetches"/>
    /// requests wait, the oldest are dropped: a reader that outran its read-ahead no longer needs them, and
    /// loading them late would only evict pages it is about to use.
    /// </summary>
    public Task Prefetch(long firstBlock, long blockCount, bool hash = false)
    {
        if (!_background)
        {
            lock (_lock)
            {
                ThrowIfDisposed();
            }
            return Task.CompletedTask;
        }
        var request = (firstBlock, blockCount, hash, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_lock)
        {
            ThrowIfDisposed();
            _prefetchQueue.Enqueue(request);
            while (_prefetchQueue.Count > MaxPendingPrefetches)
            {
                _prefetchQueue.Dequeue().Done.SetResult();
            }
            start = !_prefetchRunning;
            _prefetchRunning = true;
        }
        if (start)
        {
            _ = Task.Run(PrefetchWorker);
        }
        return request.Item4.Task;
    }

    private const int MaxPendingPrefetches = 4;

    private readonly Queue<(long First, long Count, bool Hash, TaskCompletionSource Done)> _prefetchQueue = new();
    private bool _prefetchRunning;

    private static readonly ParallelOptions PrefetchParallelism = new() { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) };

    private void PrefetchOne(long block, bool hash)
    {
        try
        {
            GetPage(block, pin: false, prefetch: true, hash);
        }
#pragma warning disable CA1031 // a prefetch never fails: the access that needs the block loads it again and sees the error
        catch (Exception)
        {
        }
#pragma warning restore CA1031
    }

    private void PrefetchWorker()
    {
        while (true)
        {
            (long First, long Count, bool Hash, TaskCompletionSource Done) request;
            lock (_lock)
            {
                if (_disposed || _prefetchQueue.Count == 0)
                {
                    while (_prefetchQueue.Count > 0)
                    {
                        _prefetchQueue.Dequeue().Done.SetResult();
                    }
                    _prefetchRunning = false;
                    return;
                }
                request = _prefetchQueue.Dequeue();
            }
            try
            {
                // the blocks of one request load in parallel, one per core (a load is I/O plus hashing)
                bool hash = request.Hash;
                Parallel.For(request.First, request.First + request.Count, PrefetchParallelism, b => PrefetchOne(b, hash));
            }
            finally
            {
                request.Done.SetResult();
            }
        }
    }

    // ---------------------------------------------------------------- views (BF-5…BF-9)

    public ViewMemory CreateView(int blockCount)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            ViewMemory vm = _memory.CreateView(blockCount);
            _views.Add(vm);
            return vm;
        }
    }

    /// <summary>Loads <paramref name="block"/> if needed and pins it (for <see cref="Attach"/>, or <see cref="Release"/> on failure); <paramref name="writable"/> lets the loader take the page's hashes.</summary>
    public Page Load(long block, bool writable) => GetPage(block, pin: true, prefetch: false, hash: writable)!;

    /// <summary>Drops a pin taken by <see cref="Load"/>.</summary>
    public void Release(Page page)
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                Unpin(page);
            }
        }
    }

    /// <summary>
    /// Shows pinned <paramref name="page"/> as piece <paramref name="index"/> of <paramref name="view"/>; the pin now
    /// belongs to the piece (or is dropped if the piece already shows the page, which is then made writable if
    /// asked). A page is hashed before it is first shown writable (BF-12).
    /// </summary>
    public void Attach(ViewMemory view, int index, Page page, bool writable)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            if (!_views.Contains(view))
            {
                Unpin(page);
                return;
            }
            if (view.Pieces[index] is not null)
            {
                Unpin(page);
                if (writable && !view.Writable[index])
                {
                    EnsureHashed(page);
                    view.Show(index, page, _memory.Slot(page.Slot), writable: true);
                }
                return;
            }
            if (writable)
            {
                EnsureHashed(page);
            }
            if (!_memory.SharesViews)
            {
                // a copy must include what other copies wrote so far (BF-40)
                HarvestPage(page);
            }
            view.Show(index, page, _memory.Slot(page.Slot), writable);
            page.Pieces.Add((view, index));
        }
    }

    /// <summary>Takes the reference hashes of a page loaded only for reading (no writable piece has shown it, so its bytes are still the stored ones).</summary>
    private void EnsureHashed(Page page) => page.Clean ??= HashUnits(_memory.Slot(page.Slot));

    /// <summary>Harvests piece <paramref name="index"/>, hides it and unpins its page.</summary>
    public void Hide(ViewMemory view, int index)
    {
        lock (_lock)
        {
            if (_disposed || view.Pieces[index] is not { } page)
            {
                return;
            }
            if (view.Writable[index])
            {
                _harvestEpoch++;
                view.Harvest(index, this);
            }
            view.Hide(index);
            page.Pieces.Remove((view, index));
            Unpin(page);
        }
    }

    /// <summary>Harvests the whole view, releases its pages and its memory.</summary>
    public void CloseView(ViewMemory view)
    {
        lock (_lock)
        {
            if (!_views.Remove(view))
            {
                return;
            }
            if (!_disposed)
            {
                _harvestEpoch++;
                view.HarvestAll(this);
                for (int i = 0; i < view.BlockCount; i++)
                {
                    if (view.Pieces[i] is { } page)
                    {
                        page.Pieces.Remove((view, i));
                        view.Pieces[i] = null;
                        Unpin(page);
                    }
                }
            }
            view.Dispose();
        }
    }

    // ---------------------------------------------------------------- statistics and disposal

    public FileHandleStatistics Statistics()
    {
        lock (_lock)
        {
            long dirty = 0;
            foreach (Page p in _pages.Values)
            {
                if (p.IsDirty)
                {
                    dirty++;
                }
            }
            return new FileHandleStatistics(
                ResidentBytes: (long)_usedSlots * _blockSize,
                PinnedBytes: (long)_pinnedPages * _blockSize,
                DirtyBytes: dirty * _blockSize,
                SpilledBytes: (_spill?.UsedSlots ?? 0) * _blockSize,
                CacheMemoryBytes: _disposed ? 0 : _memory.AllocatedBytes,
                RamBudget: BudgetBytes,
                Loads: _loads,
                Prefetched: _prefetched,
                Stores: _stores,
                Evictions: _evictions,
                Spills: _spills,
                Unspills: _unspills,
                Views: _views.Count,
                DirectLoads: Interlocked.Read(ref _directLoads));
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, typeof(FileHandle));

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            while (_busy > 0)
            {
                Monitor.Wait(_lock); // a load or store is using slot memory: let it finish first
            }
            foreach (ViewMemory view in _views)
            {
                view.Dispose();
            }
            _views.Clear();
            _pages.Clear();
            _memory.Dispose();
            _spill?.Dispose();
            FreeScanBuffers();
        }
    }
}
