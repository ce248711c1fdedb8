using System.Collections.Concurrent;
using Wendelin.Arrays.BigFile;

namespace Wendelin.Arrays.Tests.BigFile;

/// <summary>A block file over <see cref="MemoryBlockFile"/> that counts loads per block and records every store in order.</summary>
internal sealed class RecordingBlockFile(int blockSize) : IBlockFile
{
    public MemoryBlockFile Inner { get; } = new(blockSize);

    public ConcurrentDictionary<long, int> LoadsPerBlock { get; } = new();

    public List<long> Stores { get; } = new();

    /// <summary>Optional delay inside LoadBlock (to make concurrent loads overlap).</summary>
    public int LoadDelayMs { get; set; }

    public int BlockSize => Inner.BlockSize;

    public void LoadBlock(long block, Span<byte> buffer)
    {
        LoadsPerBlock.AddOrUpdate(block, 1, (_, n) => n + 1);
        if (LoadDelayMs > 0)
        {
            Thread.Sleep(LoadDelayMs);
        }
        Inner.LoadBlock(block, buffer);
    }

    public void StoreBlock(long block, ReadOnlySpan<byte> buffer)
    {
        lock (Stores)
        {
            Stores.Add(block);
        }
        Inner.StoreBlock(block, buffer);
    }

    public long[] TakeStores()
    {
        lock (Stores)
        {
            long[] s = [.. Stores];
            Stores.Clear();
            return s;
        }
    }
}

/// <summary>The paging implementations a test runs against (all of them are available on the Linux test machines).</summary>
public static class Backends
{
    public static TheoryData<string> All => new() { "mapped-wp", "mapped-hash", "copying" };

    public static TheoryData<string> Mapped => new() { "mapped-wp", "mapped-hash" };

    public static FileHandleOptions Options(string kind, long budget = 0, long residentLimit = 0, string? scratch = null) => kind switch
    {
        "mapped-wp" => new FileHandleOptions { Backend = PagingBackend.Mapped, DirtyTracking = DirtyTracking.WriteProtect, RamBudget = budget, ResidentViewLimit = residentLimit, ScratchDirectory = scratch },
        "mapped-hash" => new FileHandleOptions { Backend = PagingBackend.Mapped, DirtyTracking = DirtyTracking.Hashing, RamBudget = budget, ResidentViewLimit = residentLimit, ScratchDirectory = scratch },
        "copying" => new FileHandleOptions { Backend = PagingBackend.Copying, RamBudget = budget, ResidentViewLimit = residentLimit, ScratchDirectory = scratch },
        _ => throw new ArgumentException(kind),
    };
}
