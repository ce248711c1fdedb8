namespace Wendelin.Arrays.BigFile;

/// <summary>Where a cached block's bytes are (spec/bigfile.md BF-2).</summary>
internal enum PageState
{
    /// <summary>A thread is filling the page's slot (from the block file or the scratch file) without the lock.</summary>
    Loading,

    /// <summary>The bytes are in the page's RAM slot.</summary>
    Resident,

    /// <summary>Dirty bytes moved to the scratch file to keep RAM within budget (BF-20).</summary>
    Spilled,
}

/// <summary>
/// One block of the file in the handle's cache: its state, its RAM slot, the hash of every tracking unit
/// (OS page) as last loaded or stored, and which units differ from that (the exact dirty set, BF-12).
/// All fields are guarded by the handle's lock.
/// </summary>
internal sealed class Page
{
    public Page(long block) => Block = block;

    public long Block { get; }

    public PageState State;

    /// <summary>RAM slot holding the bytes while Loading/Resident, else -1.</summary>
    public int Slot = -1;

    /// <summary>Scratch-file slot while Spilled, else -1.</summary>
    public long SpillSlot = -1;

    /// <summary>Views and windows that show this page (it is attached while pinned, BF-7).</summary>
    public int Pins;

    /// <summary>Links in the list that holds the page while it is Resident and unpinned.</summary>
    public Page? Older, Newer;

    /// <summary>The eviction list the page is in (<see cref="PageList"/>), or null.</summary>
    public PageList? List;

    public bool InLru => List is not null;

    /// <summary>How many times the page went from unpinned to pinned (1 = used once, BF-4).</summary>
    public int Uses;

    /// <summary>Hash of each unit's stored content (as loaded, or as marked stored).</summary>
    public UInt128[]? Clean;

    /// <summary>Bitmap of units whose bytes differ from <see cref="Clean"/>, as of the last harvest.</summary>
    public ulong[]? Changed;

    public int ChangedUnits;

    /// <summary>Completed when a load or reload of this page ends (successfully or not).</summary>
    public TaskCompletionSource? LoadDone;

    /// <summary>Set when an invalidation or discard arrives while the page is Loading: the loader drops its result.</summary>
    public bool Invalidated;

    /// <summary>Bumped by every discard or invalidation of an attached page; a reload that finds it changed drops its result.</summary>
    public int ReloadGeneration;

    /// <summary>Harvest pass that last rehashed every unit (hashing mode: one rehash per page per pass).</summary>
    public long HarvestEpoch;

    /// <summary>Where the page is attached: (view memory, block index in that view).</summary>
    public readonly List<(ViewMemory View, int Index)> Pieces = new();

    public bool IsDirty => ChangedUnits > 0;

    public void SetChanged(int unit, bool changed)
    {
        Changed ??= new ulong[(Clean!.Length + 63) / 64];
        ulong bit = 1UL << (unit & 63);
        ref ulong word = ref Changed[unit >> 6];
        bool was = (word & bit) != 0;
        if (changed && !was)
        {
            word |= bit;
            ChangedUnits++;
        }
        else if (!changed && was)
        {
            word &= ~bit;
            ChangedUnits--;
        }
    }

    public bool IsChanged(int unit) => Changed is not null && (Changed[unit >> 6] & (1UL << (unit & 63))) != 0;

    public void ClearChanged()
    {
        if (Changed is not null)
        {
            Array.Clear(Changed);
        }
        ChangedUnits = 0;
    }
}

/// <summary>An intrusive list of unpinned resident pages, oldest first (the cache's eviction order, BF-4).</summary>
internal sealed class PageList
{
    public Page? Oldest { get; private set; }

    public Page? Newest { get; private set; }

    public int Count { get; private set; }

    public void AddNewest(Page p)
    {
        p.Older = Newest;
        p.Newer = null;
        if (Newest is not null)
        {
            Newest.Newer = p;
        }
        else
        {
            Oldest = p;
        }
        Newest = p;
        p.List = this;
        Count++;
    }

    public void Remove(Page p)
    {
        if (p.Older is not null)
        {
            p.Older.Newer = p.Newer;
        }
        else
        {
            Oldest = p.Newer;
        }
        if (p.Newer is not null)
        {
            p.Newer.Older = p.Older;
        }
        else
        {
            Newest = p.Older;
        }
        p.Older = p.Newer = null;
        p.List = null;
        Count--;
    }
}
