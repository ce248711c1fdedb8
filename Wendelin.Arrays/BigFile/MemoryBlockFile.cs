namespace Wendelin.Arrays.BigFile;

/// <summary>
/// A block file in managed memory (spec/bigfile.md BF-41): sparse (blocks never stored, or stored as all zeros,
/// are holes that cost nothing) and without a size, so an array over it can grow or shrink while its views stay
/// valid. For tests, benchmarks and RAMArray. Thread-safe.
/// </summary>
public sealed class MemoryBlockFile : IBlockFile, IWholeBlockLoader
{
    private readonly object _lock = new();
    private readonly Dictionary<long, byte[]> _blocks = new();

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
                buffer.CopyTo(data);
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
                source[..n].CopyTo(data.AsSpan(at, n));
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
                tail.AsSpan((int)(size % BlockSize)).Clear();
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
