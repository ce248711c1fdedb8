namespace Wendelin.Arrays.BigFile;

/// <summary>
/// A block file in managed memory (spec/bigfile.md BF-41): sparse (blocks never stored, or stored as all zeros,
/// are holes that cost nothing) and without a size, so an array over it can grow or shrink while its views stay
/// valid. For tests, benchmarks and RAMArray. Thread-safe. As an <see cref="IBlockSource"/> it leases a block's
/// own array without copying it (BF-53); a block written while leased is copied first (copy on write), so a
/// lease never sees a later change.
/// </summary>
public sealed class MemoryBlockFile : IBlockSource, IWholeBlockLoader
{
    private readonly object _lock = new();
    private readonly Dictionary<long, byte[]> _blocks = new();
    private readonly Dictionary<byte[], int> _leased = new(ReferenceEqualityComparer.Instance);

    /// <summary>A file of blocks of <paramref name="blockSize"/> bytes (2 MiB by default), all zero.</summary>
    public MemoryBlockFile(int blockSize = 2 << 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        BlockSize = blockSize;
    }

    /// <inheritdoc/>
    public int BlockSize { get; }

    /// <summary>Blocks that hold data (not holes).</summary>
    public int StoredBlockCount
    {
        get
        {
            lock (_lock)
            {
                return _blocks.Count;
            }
        }
    }

    /// <inheritdoc/>
    public void LoadBlock(long block, Span<byte> buffer)
    {
        CheckBlock(block, buffer.Length);
        lock (_lock)
        {
            if (_blocks.TryGetValue(block, out byte[]? data))
            {
                data.CopyTo(buffer);
            }
            else
            {
                buffer.Clear();
            }
        }
    }

    /// <inheritdoc/>
    public void ReadAt(long block, int offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(block);
        if (offset < 0 || destination.Length > BlockSize - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}+{destination.Length} are not inside a block of {BlockSize}");
        }
        lock (_lock)
        {
            if (_blocks.TryGetValue(block, out byte[]? data))
            {
                data.AsSpan(offset, destination.Length).CopyTo(destination);
            }
            else
            {
                destination.Clear();
            }
        }
    }

    /// <inheritdoc/>
    public bool TryLease(long block, out BlockLease lease)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(block);
        lock (_lock)
        {
            if (!_blocks.TryGetValue(block, out byte[]? data))
            {
                lease = default; // a hole
                return true;
            }
            _leased[data] = _leased.GetValueOrDefault(data) + 1;
            lease = new BlockLease(data, new LeaseRelease(this, data));
            return true;
        }
    }

    /// <summary>The array of a stored block, ready to be changed in place: a leased array is replaced by a copy first (under the lock).</summary>
    private byte[] Writable(long block, byte[] data)
    {
        if (_leased.ContainsKey(data))
        {
            data = (byte[])data.Clone();
            _blocks[block] = data;
        }
        return data;
    }

    private sealed class LeaseRelease(MemoryBlockFile file, byte[] data) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }
            lock (file._lock)
            {
                if (--file._leased[data] == 0)
                {
                    file._leased.Remove(data);
                }
            }
        }
    }

    /// <inheritdoc/>
    public void StoreBlock(long block, ReadOnlySpan<byte> buffer)
    {
        CheckBlock(block, buffer.Length);
        bool zero = !buffer.ContainsAnyExcept((byte)0);
        lock (_lock)
        {
            if (zero)
            {
                _blocks.Remove(block);
            }
            else
            {
                if (!_blocks.TryGetValue(block, out byte[]? data))
                {
                    _blocks[block] = data = new byte[BlockSize];
                }
                buffer.CopyTo(Writable(block, data));
            }
        }
    }

    /// <summary>Copies file bytes starting at <paramref name="offset"/> into <paramref name="destination"/> (holes read as zeros).</summary>
    public void Read(long offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        lock (_lock)
        {
            while (!destination.IsEmpty)
            {
                long block = offset / BlockSize;
                int at = (int)(offset % BlockSize);
                int n = Math.Min(destination.Length, BlockSize - at);
                if (_blocks.TryGetValue(block, out byte[]? data))
                {
                    data.AsSpan(at, n).CopyTo(destination);
                }
                else
                {
                    destination[..n].Clear();
                }
                destination = destination[n..];
                offset += n;
            }
        }
    }

    /// <summary>Writes <paramref name="source"/> at file offset <paramref name="offset"/> directly (as another writer would: handles caching these blocks must be invalidated).</summary>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        lock (_lock)
        {
            while (!source.IsEmpty)
            {
                long block = offset / BlockSize;
                int at = (int)(offset % BlockSize);
                int n = Math.Min(source.Length, BlockSize - at);
                if (!_blocks.TryGetValue(block, out byte[]? data))
                {
                    _blocks[block] = data = new byte[BlockSize];
                }
                source[..n].CopyTo(Writable(block, data).AsSpan(at, n));
                source = source[n..];
                offset += n;
            }
        }
    }

    /// <summary>Makes every byte from <paramref name="size"/> on a hole (zeros), e.g. when an array shrinks.</summary>
    public void Truncate(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        lock (_lock)
        {
            long keep = (size + BlockSize - 1) / BlockSize;
            foreach (long b in _blocks.Keys.Where(b => b >= keep).ToList())
            {
                _blocks.Remove(b);
            }
            if (size % BlockSize != 0 && _blocks.TryGetValue(size / BlockSize, out byte[]? tail))
            {
                Writable(size / BlockSize, tail).AsSpan((int)(size % BlockSize)).Clear();
            }
        }
    }

    private void CheckBlock(long block, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(block);
        if (length != BlockSize)
        {
            throw new ArgumentException($"buffer of {length} bytes for a block of {BlockSize}", nameof(length));
        }
    }
}
