namespace Wendelin.Arrays.BigFile;

/// <summary>How views get their memory (spec/bigfile.md BF-30, BF-40).</summary>
public enum PagingBackend
{
    /// <summary><see cref="Mapped"/> where available (Linux with memfd), else <see cref="Copying"/>.</summary>
    Auto,

    /// <summary>Views map the cache's pages without copying; all views of a handle share one copy of each page.</summary>
    Mapped,

    /// <summary>Views hold copies of the cache's pages in NativeMemory; writes reach the cache at harvest points.</summary>
    Copying,
}

/// <summary>How the handle finds the pages that were written (spec/bigfile.md BF-13, BF-14).</summary>
public enum DirtyTracking
{
    /// <summary><see cref="WriteProtect"/> where available, else <see cref="Hashing"/>.</summary>
    Auto,

    /// <summary>The kernel reports written OS pages (userfaultfd async write-protect + PAGEMAP_SCAN; Linux 6.7+, mapped backend).</summary>
    WriteProtect,

    /// <summary>Every page shown in a view is rehashed and compared with the hash of its stored content.</summary>
    Hashing,
}

/// <summary>Settings of a <see cref="FileHandle"/>; every property has a sensible default.</summary>
public sealed class FileHandleOptions
{
    /// <summary>
    /// RAM the handle's page cache may hold, in bytes (rounded down to whole blocks, at least one block); 0 means
    /// <see cref="FileHandle.DefaultRamBudget"/>. Pinned pages (shown in live views and windows) may exceed it
    /// (spec/bigfile.md BF-3).
    /// </summary>
    public long RamBudget { get; init; }

    /// <summary>
    /// Views up to this many bytes (counted in whole blocks) are resident: loaded at Map and valid until
    /// disposed. Larger views are windowed: their memory is reached through <see cref="FileView.Acquire"/>.
    /// 0 means half the RAM budget (BF-6).
    /// </summary>
    public long ResidentViewLimit { get; init; }

    /// <summary>Which memory backend to use; <see cref="PagingBackend.Auto"/> by default.</summary>
    public PagingBackend Backend { get; init; }

    /// <summary>How to find written pages; <see cref="DirtyTracking.Auto"/> by default.</summary>
    public DirtyTracking DirtyTracking { get; init; }

    /// <summary>
    /// True (default): <see cref="FileHandle.Prefetch"/> and the loading of a resident view's blocks call
    /// <see cref="IBlockFile.LoadBlock"/> from thread-pool threads, in parallel with each other and with the caller.
    /// Set false for a block file that must only be called from the threads that use the handle (for example one
    /// reading through a single-threaded database connection): Prefetch then does nothing and views load on the
    /// calling thread (spec/bigfile.md BF-11).
    /// </summary>
    public bool LoadInBackground { get; init; } = true;

    /// <summary>Folder of the scratch file that receives dirty pages beyond the budget; the system temp folder by default.</summary>
    public string? ScratchDirectory { get; init; }
}

/// <summary>A snapshot of a handle's cache (spec/bigfile.md BF-27).</summary>
/// <param name="ResidentBytes">Bytes of pages in RAM (loaded or being loaded).</param>
/// <param name="PinnedBytes">Bytes of pages pinned by live views and windows.</param>
/// <param name="DirtyBytes">Bytes of blocks whose content changed, as of the last dirty query (harvest).</param>
/// <param name="SpilledBytes">Bytes of dirty pages in the scratch file.</param>
/// <param name="CacheMemoryBytes">Memory the OS holds for the cache's RAM slots right now (memfd blocks, or NativeMemory).</param>
/// <param name="RamBudget">The budget in bytes.</param>
/// <param name="Loads">Blocks loaded from the block file (including reloads).</param>
/// <param name="Prefetched">Of those, loads made by prefetch.</param>
/// <param name="Stores">Blocks stored by writeout.</param>
/// <param name="Evictions">Clean pages dropped to stay within budget.</param>
/// <param name="Spills">Dirty pages written to the scratch file.</param>
/// <param name="Unspills">Spilled pages brought back into RAM.</param>
/// <param name="Views">Live views.</param>
/// <param name="DirectLoads">Blocks (or ranges) that scans and direct reads took from the block file without entering the cache (BF-50, BF-54).</param>
public readonly record struct FileHandleStatistics(
    long ResidentBytes,
    long PinnedBytes,
    long DirtyBytes,
    long SpilledBytes,
    long CacheMemoryBytes,
    long RamBudget,
    long Loads,
    long Prefetched,
    long Stores,
    long Evictions,
    long Spills,
    long Unspills,
    int Views,
    long DirectLoads);
