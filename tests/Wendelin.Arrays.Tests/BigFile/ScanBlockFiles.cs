using Wendelin.Arrays.BigFile;

namespace Wendelin.Arrays.Tests.BigFile;

/// <summary>
/// An <see cref="IBlockSource"/> over <see cref="MemoryBlockFile"/> that leases blocks the way a ZBlk0 record
/// hands its payload over: trailing zeros stripped (so a lease is usually shorter than the block and its length
/// no multiple of anything), as a slice of a larger buffer whose bytes after the slice are garbage; declines
/// some blocks, as a ZODB file declines ZBlk1 blocks. Counts the leases outstanding (for memory bounds).
/// </summary>
internal sealed class StrippedBlockFile(int blockSize) : IBlockSource
{
    private int _outstanding;
    private int _maxOutstanding;
    private int _leases;

    public MemoryBlockFile Inner { get; } = new(blockSize);

    public int BlockSize => blockSize;

    public int Outstanding => Volatile.Read(ref _outstanding);

    public int MaxOutstanding => Volatile.Read(ref _maxOutstanding);

    public int Leases => Volatile.Read(ref _leases);

    /// <summary>What <see cref="IBlockSource.ReadsAhead"/> answers (BF-50: scans then load on the consumer's thread).</summary>
    public bool ReadsAhead { get; set; }

    /// <summary>The managed thread ids of the threads that loaded or leased blocks.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<int, bool> LoaderThreads { get; } = new();

    public void LoadBlock(long block, Span<byte> buffer)
    {
        LoaderThreads[Environment.CurrentManagedThreadId] = true;
        Inner.LoadBlock(block, buffer);
    }

    public void StoreBlock(long block, ReadOnlySpan<byte> buffer) => Inner.StoreBlock(block, buffer);

    public void ReadAt(long block, int offset, Span<byte> destination) => Inner.ReadAt(block, offset, destination);

    /// <summary>Blocks whose number is a multiple of this are declined (the caller loads them), as a ZODB file declines ZBlk1 blocks; 0: none.</summary>
    public int DeclineEvery { get; set; } = 5;

    public bool TryLease(long block, out BlockLease lease)
    {
        LoaderThreads[Environment.CurrentManagedThreadId] = true;
        if (DeclineEvery > 0 && block % DeclineEvery == DeclineEvery - 1)
        {
            lease = default;
            return false;
        }
        var whole = new byte[blockSize];
        Inner.LoadBlock(block, whole);
        int n = whole.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;
        var record = new byte[n + 13];
        whole.AsSpan(0, n).CopyTo(record);
        record.AsSpan(n).Fill(0xEE); // what follows the payload in the record
        Interlocked.Increment(ref _leases);
        int now = Interlocked.Increment(ref _outstanding);
        int max;
        while (now > (max = Volatile.Read(ref _maxOutstanding)) && Interlocked.CompareExchange(ref _maxOutstanding, now, max) != max)
        {
        }
        lease = new BlockLease(record.AsMemory(0, n), new Release(this));
        return true;
    }

    private sealed class Release(StrippedBlockFile file) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                Interlocked.Decrement(ref file._outstanding);
            }
        }
    }
}

/// <summary>
/// A plain <see cref="IBlockFile"/> over <see cref="MemoryBlockFile"/> (no <see cref="IBlockSource"/>) that copies
/// a block in two halves and can run an action between them once (to race a load with an invalidation or a
/// writeout deterministically), and can fail loads of one block. Records the buffers it was asked to fill.
/// </summary>
internal sealed unsafe class HalvesBlockFile(int blockSize) : IBlockFile
{
    private readonly HashSet<nint> _buffers = new();
    private int _loads;

    public MemoryBlockFile Inner { get; } = new(blockSize);

    public int BlockSize => blockSize;

    public int Loads => Volatile.Read(ref _loads);

    /// <summary>Run once, between the two halves of the next load of <see cref="RaceBlock"/>.</summary>
    public Action? Race { get; set; }

    public long RaceBlock { get; set; } = -1;

    /// <summary>Loads of this block throw <see cref="IOException"/>.</summary>
    public long FailBlock { get; set; } = -1;

    /// <summary>Distinct buffer addresses that loads filled.</summary>
    public int DistinctBuffers
    {
        get
        {
            lock (_buffers)
            {
                return _buffers.Count;
            }
        }
    }

    public void LoadBlock(long block, Span<byte> buffer)
    {
        Interlocked.Increment(ref _loads);
        if (block == FailBlock)
        {
            throw new IOException($"injected failure loading block {block}");
        }
        fixed (byte* p = buffer)
        {
            lock (_buffers)
            {
                _buffers.Add((nint)p);
            }
        }
        int half = blockSize / 2;
        var whole = new byte[blockSize];
        Inner.LoadBlock(block, whole);
        whole.AsSpan(0, half).CopyTo(buffer);
        if (block == RaceBlock && Interlocked.Exchange(ref _raceTaken, 1) == 0)
        {
            Race?.Invoke();
            Inner.LoadBlock(block, whole); // the second half comes from the new content: a torn block
        }
        whole.AsSpan(half).CopyTo(buffer[half..]);
    }

    private int _raceTaken;

    public void StoreBlock(long block, ReadOnlySpan<byte> buffer) => Inner.StoreBlock(block, buffer);
}
