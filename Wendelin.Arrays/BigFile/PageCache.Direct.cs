using System.Buffers;
using System.Runtime.InteropServices;
using Wendelin.Arrays.BigFile.Linux;

namespace Wendelin.Arrays.BigFile;

/// <summary>What <see cref="PageCache.TakeForScan"/> found for a block.</summary>
internal enum ScanTake
{
    /// <summary>The block is resident: its slot is leased to the caller (release with <see cref="PageCache.EndSlotLease"/>).</summary>
    Slot,

    /// <summary>The block is spilled: its bytes were copied into the caller's buffer.</summary>
    Copied,

    /// <summary>The block is spilled and the caller gave no buffer: call again with one.</summary>
    NeedBuffer,

    /// <summary>Not cached, and not changed in the block file since the caller's load began: the load is good.</summary>
    Unchanged,

    /// <summary>Not cached, and the caller has no good load: load it now (from the returned epoch) and ask again.</summary>
    Absent,
}

/// <summary>
/// The read paths that bypass the cache (spec/bigfile.md BF-50…BF-54): blocks the cache holds are read from
/// their slots (leased so they cannot be reused meanwhile) or from the scratch file, the others straight from
/// the block file into the caller's memory or a scan's buffers, checked against a log of the blocks that
/// changed in the block file meanwhile (invalidation, writeout) so a read never returns a torn block.
/// </summary>
internal sealed unsafe partial class PageCache
{
    /// <summary>Entries of the change log; a read that began more changes ago than this assumes its block changed.</summary>
    private const int ChangeLogSize = 256;

    /// <summary>Reads this short are copied from a resident slot under the lock instead of leasing the slot.</summary>
    private const int CopyUnderLockBytes = 16 << 10;

    /// <summary>Scan buffers the cache keeps for the next scan (more are freed when returned).</summary>
    private const int PooledScanBuffers = 8;

    private readonly long[] _changeLog = new long[ChangeLogSize];
    private long _changeEpoch;
    private readonly Dictionary<int, int> _slotLeases = new();
    private readonly HashSet<int> _leasedFreeSlots = new();
    private readonly Stack<nint> _scanBuffers = new();
    private long _directLoads;

    public IBlockFile File => _file;

    public bool LoadsInBackground => _background;

    // ---------------------------------------------------------------- the change log (BF-51)

    /// <summary>Records that the block file's bytes of <paramref name="block"/> changed (under the lock).</summary>
    private void NoteChanged(long block)
    {
        _changeLog[(int)(_changeEpoch % ChangeLogSize)] = block;
        _changeEpoch++;
    }

    /// <summary>True when <paramref name="block"/> may have changed in the block file since <paramref name="epoch"/> (under the lock).</summary>
    private bool ChangedSince(long epoch, long block)
    {
        if (_changeEpoch - epoch > ChangeLogSize)
        {
            return true; // the log no longer reaches back that far
        }
        for (long e = epoch; e < _changeEpoch; e++)
        {
            if (_changeLog[(int)(e % ChangeLogSize)] == block)
            {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- slot leases

    private void LeaseSlot(int slot) => _slotLeases[slot] = _slotLeases.GetValueOrDefault(slot) + 1;

    /// <summary>Ends a lease taken by <see cref="TakeForScan"/> or a direct read; a slot freed meanwhile is reused from now on.</summary>
    public void EndSlotLease(int slot)
    {
        lock (_lock)
        {
            if (--_slotLeases[slot] > 0)
            {
                return;
            }
            _slotLeases.Remove(slot);
            if (_leasedFreeSlots.Remove(slot) && !_disposed)
            {
                ReturnSlot(slot);
            }
        }
    }

    /// <summary>Waits (without the lock) for a page being loaded, then lets the caller look again.</summary>
    private void WaitLoaded(Page page)
    {
        TaskCompletionSource wait = page.LoadDone!;
        Monitor.Exit(_lock);
        try
        {
            wait.Task.Wait();
        }
        finally
        {
            Monitor.Enter(_lock);
        }
    }

    /// <summary>The page of <paramref name="block"/> once no load is in progress, harvested on the copying backend (under the lock).</summary>
    private Page? SettledPage(long block)
    {
        while (true)
        {
            ThrowIfDisposed();
            if (!_pages.TryGetValue(block, out Page? page))
            {
                return null;
            }
            if (page.State == PageState.Loading)
            {
                WaitLoaded(page);
                continue;
            }
            if (page.State == PageState.Resident && !_memory.SharesViews && page.Pieces.Count > 0)
            {
                HarvestPage(page); // the copies' writes reach the slot as they would for a new view (BF-40)
            }
            return page;
        }
    }

    // ---------------------------------------------------------------- scans (BF-50)

    /// <summary>
    /// For a scan's read-ahead: true when the cache holds <paramref name="block"/> (the scan reads it from the
    /// cache when it gets there); else the change epoch a load from the block file starts at.
    /// </summary>
    public bool IsCached(long block, out long epoch)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            epoch = _changeEpoch;
            return _pages.ContainsKey(block);
        }
    }

    /// <summary>
    /// The handle's bytes of <paramref name="block"/> right now, for a scan that has a load of it from the block
    /// file begun at change epoch <paramref name="since"/> (or -1 for none): the resident slot (leased), the
    /// spilled bytes (copied into <paramref name="buffer"/>), or whether the caller's load is good.
    /// </summary>
    public ScanTake TakeForScan(long block, long since, byte* buffer, out byte* slotMemory, out int slot, out long epoch)
    {
        slotMemory = null;
        slot = -1;
        lock (_lock)
        {
            Page? page = SettledPage(block);
            epoch = _changeEpoch;
            if (page is null)
            {
                return since >= 0 && !ChangedSince(since, block) ? ScanTake.Unchanged : ScanTake.Absent;
            }
            if (page.State == PageState.Resident)
            {
                slot = page.Slot;
                slotMemory = _memory.Slot(slot);
                LeaseSlot(slot);
                return ScanTake.Slot;
            }
            if (buffer is null)
            {
                return ScanTake.NeedBuffer;
            }
            _spill!.Read(page.SpillSlot, new Span<byte>(buffer, _blockSize)); // rare; spill I/O runs under the lock (BF-22)
            return ScanTake.Copied;
        }
    }

    /// <summary>
    /// For a loan (BF-56): when <paramref name="block"/> is resident, leases its slot (release with
    /// <see cref="EndSlotLease"/>) and gives its memory; false for a block that is spilled or not cached.
    /// </summary>
    public bool TryLeaseResident(long block, out byte* memory, out int slot)
    {
        lock (_lock)
        {
            Page? page = SettledPage(block);
            if (page is not { State: PageState.Resident })
            {
                memory = null;
                slot = -1;
                return false;
            }
            slot = page.Slot;
            memory = _memory.Slot(slot);
            LeaseSlot(slot);
            return true;
        }
    }

    /// <summary>Counts a block (or range) read from the block file by a scan or a direct read.</summary>
    public void CountDirectLoad() => Interlocked.Increment(ref _directLoads);

    /// <summary>A buffer of one block for a scan: from the pool, else newly allocated (huge-page aligned where it helps).</summary>
    public byte* RentScanBuffer()
    {
        lock (_lock)
        {
            if (_scanBuffers.Count > 0)
            {
                return (byte*)_scanBuffers.Pop();
            }
        }
        bool huge = _blockSize % (2 << 20) == 0;
        byte* p = (byte*)NativeMemory.AlignedAlloc((nuint)_blockSize, huge ? (nuint)(2 << 20) : 4096);
        if (huge && OperatingSystem.IsLinux())
        {
            _ = Libc.Madvise((nint)p, (nuint)_blockSize, Libc.MADV_HUGEPAGE); // one TLB entry per block where THP allows
        }
        return p;
    }

    /// <summary>Gives a scan buffer back: kept for the next scan up to <see cref="PooledScanBuffers"/>, else freed.</summary>
    public void ReturnScanBuffer(byte* buffer)
    {
        lock (_lock)
        {
            if (!_disposed && _scanBuffers.Count < PooledScanBuffers)
            {
                _scanBuffers.Push((nint)buffer);
                return;
            }
        }
        NativeMemory.AlignedFree(buffer);
    }

    /// <summary>Frees the pooled scan buffers (at dispose, under the lock).</summary>
    private void FreeScanBuffers()
    {
        while (_scanBuffers.Count > 0)
        {
            NativeMemory.AlignedFree((void*)_scanBuffers.Pop());
        }
    }

    // ---------------------------------------------------------------- direct reads (BF-54)

    /// <summary>
    /// Copies file bytes [<paramref name="offset"/>, offset + destination.Length) as the handle holds them into
    /// <paramref name="destination"/>: cached blocks from the cache, the others from the block file straight into
    /// the destination; nothing enters the cache.
    /// </summary>
    public void Read(long offset, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            long block = offset / _blockSize;
            int at = (int)(offset % _blockSize);
            int n = Math.Min(destination.Length, _blockSize - at);
            ReadInBlock(block, at, destination[..n]);
            destination = destination[n..];
            offset += n;
        }
    }

    private void ReadInBlock(long block, int at, Span<byte> destination)
    {
        while (true)
        {
            long epoch;
            int leased = -1;
            byte* source = null;
            lock (_lock)
            {
                Page? page = SettledPage(block);
                epoch = _changeEpoch;
                if (page is not null)
                {
                    if (page.State == PageState.Spilled)
                    {
                        _spill!.Read(page.SpillSlot, at, destination);
                        return;
                    }
                    byte* bytes = _memory.Slot(page.Slot) + at;
                    if (destination.Length <= CopyUnderLockBytes)
                    {
                        new ReadOnlySpan<byte>(bytes, destination.Length).CopyTo(destination);
                        return;
                    }
                    leased = page.Slot;
                    source = bytes;
                    LeaseSlot(leased);
                    _busy++; // the handle's Dispose waits for this copy
                }
            }
            if (leased >= 0)
            {
                try
                {
                    new ReadOnlySpan<byte>(source, destination.Length).CopyTo(destination);
                }
                finally
                {
                    lock (_lock)
                    {
                        ExitBusy();
                    }
                    EndSlotLease(leased);
                }
                return;
            }
            LoadDirect(block, at, destination);
            CountDirectLoad();
            lock (_lock)
            {
                ThrowIfDisposed();
                if (!ChangedSince(epoch, block))
                {
                    return;
                }
            }
            // the block changed in the block file while it was read: read it again (it may be torn)
        }
    }

    /// <summary>Bytes [at, at + destination.Length) of a block from the block file, with as little copying as the file allows.</summary>
    private void LoadDirect(long block, int at, Span<byte> destination)
    {
        if (at == 0 && destination.Length == _blockSize)
        {
            if (_file is not IWholeBlockLoader)
            {
                destination.Clear();
            }
            _file.LoadBlock(block, destination);
        }
        else if (_file is IBlockSource source)
        {
            source.ReadAt(block, at, destination);
        }
        else
        {
            byte[] buffer = ArrayPool<byte>.Shared.Rent(_blockSize);
            try
            {
                Span<byte> whole = buffer.AsSpan(0, _blockSize);
                whole.Clear();
                _file.LoadBlock(block, whole);
                whole.Slice(at, destination.Length).CopyTo(destination);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
