using System.Buffers;

namespace Wendelin.Storage.Pickle;

/// <summary>An <see cref="IBufferWriter{T}"/> over ArrayPool buffers; <see cref="Dispose"/> returns the buffer.</summary>
internal sealed class PooledBufferWriter(int initialCapacity) : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 256));
    private int _written;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>Forgets what was written; the buffer is kept for the next use.</summary>
    public void Reset() => _written = 0;

    /// <summary>The buffer's size (what a writer reused across records holds on to).</summary>
    public int Capacity => _buffer.Length;

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _written);
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        byte[] b = _buffer;
        _buffer = [];
        if (b.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }

    private void Ensure(int sizeHint)
    {
        int need = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= need)
        {
            return;
        }
        long size = Math.Max((long)_buffer.Length * 2, (long)_written + need);
        if (size > Array.MaxLength)
        {
            size = Math.Max(Array.MaxLength, (long)_written + need);
            if (size > Array.MaxLength)
            {
                throw new PickleException($"a pickle larger than {Array.MaxLength} bytes cannot be written");
            }
        }
        byte[] next = ArrayPool<byte>.Shared.Rent((int)size);
        _buffer.AsSpan(0, _written).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = next;
    }
}
