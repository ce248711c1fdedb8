namespace Wendelin.Arrays.BigFile;

/// <summary>
/// The RAM of a handle's cache: numbered slots of one block each, plus the address ranges of views
/// (spec/bigfile.md BF-5…BF-9). Two implementations, chosen at run time: <see cref="MemfdPageMemory"/> (Linux:
/// slots in a memfd, views map them without copying) and <see cref="NativePageMemory"/> (anywhere: slots in
/// NativeMemory, views hold copies). Called only under the cache lock, except that a slot's memory may be
/// read or written without the lock by the one thread that owns it (loading, writeout).
/// </summary>
internal abstract unsafe class PageMemory : IDisposable
{
    protected PageMemory(int blockSize) => BlockSize = blockSize;

    public int BlockSize { get; }

    /// <summary>True when views show the slots themselves (writes are shared at once), false for copies.</summary>
    public abstract bool SharesViews { get; }

    /// <summary>The memory of <paramref name="slot"/> (allocating it if needed); stable until the slot is released or the memory disposed.</summary>
    public abstract byte* Slot(int slot);

    /// <summary>True when the slot is known to read as zeros (fresh or released memory), so loading need not clear it.</summary>
    public abstract bool IsZero(int slot);

    /// <summary>Readies the memory of a slot that <see cref="IsZero"/> reported fresh, for a load (called without the lock by the loading thread).</summary>
    public virtual void PrepareFresh(int slot, byte* memory)
    {
    }

    /// <summary>Marks that the slot was written (it is no longer known to be zero).</summary>
    public abstract void Touched(int slot);

    /// <summary>Gives the slot's physical memory back to the OS; the slot reads as zeros afterwards.</summary>
    public abstract void Release(int slot);

    /// <summary>Bytes of memory the OS holds for the slots right now.</summary>
    public abstract long AllocatedBytes { get; }

    /// <summary>A view of <paramref name="blockCount"/> blocks, nothing attached yet.</summary>
    public abstract ViewMemory CreateView(int blockCount);

    public abstract void Dispose();
}

/// <summary>Receives the units a harvest found possibly written (the cache rehashes them, BF-13).</summary>
internal interface IHarvestSink
{
    /// <summary>Units [<paramref name="first"/>, first+<paramref name="count"/>) of <paramref name="page"/> may have been written.</summary>
    void Suspect(Page page, int first, int count);

    /// <summary>The slot memory of a resident page.</summary>
    unsafe byte* SlotOf(Page page);
}

/// <summary>
/// The memory of one view: <see cref="BlockCount"/> block-sized pieces at <see cref="Base"/> (when contiguous),
/// each showing one page or nothing.
/// </summary>
internal abstract unsafe class ViewMemory : IDisposable
{
    protected ViewMemory(int blockCount, int blockSize)
    {
        BlockCount = blockCount;
        BlockSize = blockSize;
        Pieces = new Page?[blockCount];
        Writable = new bool[blockCount];
    }

    public int BlockCount { get; }

    public int BlockSize { get; }

    /// <summary>Address of piece 0; pieces follow contiguously.</summary>
    public nint Base { get; protected set; }

    /// <summary>The page each piece shows, or null.</summary>
    public Page?[] Pieces { get; }

    /// <summary>Whether each shown piece may be written (read-only pieces are neither tracked nor harvested, BF-12).</summary>
    public bool[] Writable { get; }

    /// <summary>
    /// Makes piece <paramref name="index"/> show <paramref name="page"/>, whose bytes are at <paramref name="slot"/>,
    /// writable or read-only (also used after the page moved to a new slot, and to make a read-only piece writable).
    /// </summary>
    public abstract void Show(int index, Page page, byte* slot, bool writable);

    /// <summary>Reports to <paramref name="sink"/> the units of writable piece <paramref name="index"/> written since the last harvest (copies write their bytes back first).</summary>
    public abstract void Harvest(int index, IHarvestSink sink);

    /// <summary>Harvests every writable piece.</summary>
    public virtual void HarvestAll(IHarvestSink sink)
    {
        for (int i = 0; i < BlockCount; i++)
        {
            if (Pieces[i] is not null && Writable[i])
            {
                Harvest(i, sink);
            }
        }
    }

    /// <summary>Makes piece <paramref name="index"/> inaccessible (harvest it first).</summary>
    public abstract void Hide(int index);

    public abstract void Dispose();
}
