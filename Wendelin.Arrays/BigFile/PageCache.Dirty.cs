using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Wendelin.Arrays.BigFile;

/// <summary>Dirty tracking, writeout, discard and invalidation (spec/bigfile.md BF-12…BF-19, BF-23…BF-26).</summary>
internal sealed unsafe partial class PageCache
{
    // ---------------------------------------------------------------- harvest (BF-13)

    /// <inheritdoc/>
    public void Suspect(Page page, int first, int count)
    {
        if ((page.State != PageState.Resident && page.State != PageState.Loading) || page.Clean is null)
        {
            return; // (a page without hashes was never shown writable)
        }
        if (first == 0 && count == _units)
        {
            if (page.HarvestEpoch == _harvestEpoch)
            {
                return; // already rehashed whole in this pass (a page shown in several views)
            }
            page.HarvestEpoch = _harvestEpoch;
        }
        byte* slot = _memory.Slot(page.Slot);
        UInt128[] clean = page.Clean!;
        for (int u = first; u < first + count; u++)
        {
            UInt128 h = XxHash128.HashToUInt128(new ReadOnlySpan<byte>(slot + (long)u * _unit, _unit));
            page.SetChanged(u, h != clean[u]);
        }
    }

    /// <inheritdoc/>
    public byte* SlotOf(Page page) => _memory.Slot(page.Slot);

    /// <summary>Brings every write made through any view into the pages' changed-unit bitmaps (under the lock).</summary>
    private void Harvest()
    {
        _harvestEpoch++;
        foreach (ViewMemory view in _views)
        {
            view.HarvestAll(this);
        }
    }

    /// <summary>Harvests only the pieces that show <paramref name="page"/> (copying backend, before making a new copy).</summary>
    private void HarvestPage(Page page)
    {
        _harvestEpoch++;
        foreach ((ViewMemory view, int index) in page.Pieces)
        {
            if (view.Writable[index])
            {
                view.Harvest(index, this);
            }
        }
    }

    private List<Page> DirtyPagesSorted()
    {
        var dirty = new List<Page>();
        foreach (Page p in _pages.Values)
        {
            if (p.IsDirty)
            {
                dirty.Add(p);
            }
        }
        dirty.Sort(static (a, b) => a.Block.CompareTo(b.Block));
        return dirty;
    }

    public long[] DirtyBlocks()
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            Harvest();
            List<Page> dirty = DirtyPagesSorted();
            var blocks = new long[dirty.Count];
            for (int i = 0; i < blocks.Length; i++)
            {
                blocks[i] = dirty[i].Block;
            }
            return blocks;
        }
    }

    public bool IsDirty
    {
        get
        {
            lock (_lock)
            {
                ThrowIfDisposed();
                Harvest();
                foreach (Page p in _pages.Values)
                {
                    if (p.IsDirty)
                    {
                        return true;
                    }
                }
                return false;
            }
        }
    }

    // ---------------------------------------------------------------- writeout (BF-16, BF-17)

    /// <summary>Stores every block whose bytes changed, in ascending order, without the lock held during StoreBlock.</summary>
    public void Writeout()
    {
        List<Page> dirty;
        lock (_lock)
        {
            ThrowIfDisposed();
            if (_writeoutInProgress)
            {
                throw new InvalidOperationException("a writeout of this handle is already running");
            }
            Harvest();
            dirty = DirtyPagesSorted();
            _writeoutInProgress = true;
        }
        byte* scratch = null;
        var unitAware = _file as IUnitAwareBlockFile;
        ulong[]? changed = unitAware is null ? null : new ulong[(_units + 63) / 64];
        try
        {
            foreach (Page page in dirty)
            {
                byte* data;
                bool pinned = false;
                lock (_lock)
                {
                    ThrowIfDisposed();
                    while (page.State == PageState.Loading)
                    {
                        WaitLoaded(page);
                    }
                    if (!page.IsDirty || !_pages.TryGetValue(page.Block, out Page? current) || !ReferenceEquals(current, page))
                    {
                        continue;
                    }
                    if (page.State == PageState.Resident)
                    {
                        Pin(page);
                        pinned = true;
                        data = _memory.Slot(page.Slot);
                    }
                    else
                    {
                        if (scratch is null)
                        {
                            scratch = (byte*)NativeMemory.AlignedAlloc((nuint)_blockSize, 4096);
                        }
                        _spill!.Read(page.SpillSlot, new Span<byte>(scratch, _blockSize));
                        data = scratch;
                    }
                    if (changed is not null)
                    {
                        Array.Clear(changed);
                        page.Changed?.AsSpan().CopyTo(changed);
                    }
                    _busy++;
                }
                try
                {
                    if (unitAware is not null)
                    {
                        unitAware.StoreBlock(page.Block, new ReadOnlySpan<byte>(data, _blockSize), changed, _unit);
                    }
                    else
                    {
                        _file.StoreBlock(page.Block, new ReadOnlySpan<byte>(data, _blockSize));
                    }
                }
                finally
                {
                    lock (_lock)
                    {
                        ExitBusy();
                        NoteChanged(page.Block); // a direct read of the block file begun before now may be torn (BF-51)
                        if (pinned)
                        {
                            Unpin(page);
                        }
                        _stores++;
                    }
                }
            }
        }
        finally
        {
            if (scratch is not null)
            {
                NativeMemory.AlignedFree(scratch);
            }
            lock (_lock)
            {
                _writeoutInProgress = false;
            }
        }
    }

    /// <summary>The stored state is now the current bytes: every dirty page becomes clean (spilled ones are dropped: the block file has them).</summary>
    public void MarkStored()
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            ThrowIfWriteout("MarkStored");
            Harvest();
            foreach (Page page in DirtyPagesSorted())
            {
                switch (page.State)
                {
                    case PageState.Resident when page.Pieces.Count == 0:
                        // BF-17a: no view shows the page, so its next writer hashes it first (EnsureHashed, as a page
                        // loaded for reading): nothing is hashed now, and a page that is never written again (a block
                        // appended once) is never hashed at all
                        page.Clean = null;
                        page.ClearChanged();
                        break;
                    case PageState.Resident:
                        byte* slot = _memory.Slot(page.Slot);
                        ulong[] changed = page.Changed!;
                        for (int w = 0; w < changed.Length; w++)
                        {
                            for (ulong word = changed[w]; word != 0; word &= word - 1)
                            {
                                int u = (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(word);
                                page.Clean![u] = XxHash128.HashToUInt128(new ReadOnlySpan<byte>(slot + (long)u * _unit, _unit));
                            }
                        }
                        page.ClearChanged();
                        break;
                    case PageState.Spilled:
                        DropSpilled(page);
                        break;
                    default: // Loading back from the scratch file: let the loader drop it; the next access reloads
                        page.Invalidated = true;
                        break;
                }
            }
        }
    }

    // ---------------------------------------------------------------- discard and invalidation (BF-18, BF-19)

    /// <summary>Every change since the last MarkStored is gone, in all views: dirty pages are reloaded or dropped.</summary>
    public void DiscardDirty()
    {
        List<Page> reload = new();
        lock (_lock)
        {
            ThrowIfDisposed();
            ThrowIfWriteout("DiscardDirty");
            Harvest();
            foreach (Page page in DirtyPagesSorted())
            {
                Forget(page, reload);
            }
        }
        Reload(reload);
    }

    /// <summary>The block changed in the block file: the handle's copy (clean or dirty) is dropped, views showing it reload it.</summary>
    public void Invalidate(IEnumerable<long> blocks)
    {
        List<Page> reload = new();
        lock (_lock)
        {
            ThrowIfDisposed();
            ThrowIfWriteout("InvalidateBlocks");
            foreach (long block in blocks)
            {
                NoteChanged(block); // reads from the block file begun before now may have seen the old bytes (BF-51)
                if (_pages.TryGetValue(block, out Page? page))
                {
                    Forget(page, reload);
                }
            }
        }
        Reload(reload);
    }

    /// <summary>Drops a page's bytes; an attached page is queued for reload instead (under the lock).</summary>
    private void Forget(Page page, List<Page> reload)
    {
        switch (page.State)
        {
            case PageState.Loading:
                page.Invalidated = true;
                break;
            case PageState.Spilled:
                DropSpilled(page);
                break;
            default:
                if (page.Pins == 0)
                {
                    DropResident(page);
                }
                else if (!reload.Contains(page))
                {
                    Pin(page);
                    page.ReloadGeneration++;
                    reload.Add(page);
                }
                break;
        }
    }

    /// <summary>
    /// Loads each page again into a fresh slot without the lock, then switches every view piece to the new slot
    /// at once: a view shows either the whole old block or the whole new one, never a mix (BF-19).
    /// </summary>
    private void Reload(List<Page> pages)
    {
        foreach (Page page in pages)
        {
            int slotIndex;
            byte* slot;
            bool zero;
            int generation;
            lock (_lock)
            {
                if (_disposed)
                {
                    return;
                }
                generation = page.ReloadGeneration;
                slotIndex = AllocateSlot(prefetch: false);
                slot = _memory.Slot(slotIndex);
                zero = _memory.IsZero(slotIndex);
                _memory.Touched(slotIndex);
                _busy++;
            }
            UInt128[]? hashes = null;
            try
            {
                var span = new Span<byte>(slot, _blockSize);
                if (zero)
                {
                    _memory.PrepareFresh(slotIndex, slot);
                }
                else if (_file is not IWholeBlockLoader)
                {
                    span.Clear();
                }
                _file.LoadBlock(page.Block, span);
                hashes = HashUnits(slot);
            }
            finally
            {
                lock (_lock)
                {
                    ExitBusy();
                    if (hashes is null || _disposed || generation != page.ReloadGeneration)
                    {
                        FreeSlot(slotIndex); // failed, or a newer reload of this page supersedes this one
                    }
                    else
                    {
                        int old = page.Slot;
                        page.Slot = slotIndex;
                        page.Clean = hashes;
                        page.ClearChanged();
                        foreach ((ViewMemory view, int index) in page.Pieces)
                        {
                            view.Show(index, page, slot, view.Writable[index]);
                        }
                        FreeSlot(old);
                        _loads++;
                    }
                    if (!_disposed)
                    {
                        Unpin(page);
                    }
                }
            }
        }
    }

    private void ThrowIfWriteout(string what)
    {
        if (_writeoutInProgress)
        {
            throw new InvalidOperationException($"{what} while a writeout of this handle is running");
        }
    }
}
