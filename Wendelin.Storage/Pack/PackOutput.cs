using System.Buffers;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Pack;

/// <summary>
/// The packed file being written (<c>NAME.pack</c>): appends through a large buffer, so a run of small records costs one
/// write per buffer, and patches a transaction's length once its records are in (spec/pack.md PK-C2).
/// </summary>
internal sealed class PackOutput : IDisposable
{
    private const int BufferSize = 4 << 20;

    private readonly IStorageFile _file;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _used;
    private long _flushed;

    public PackOutput(IStorageFile file, long start)
    {
        _file = file;
        _flushed = start;
    }

    public IStorageFile File => _file;

    /// <summary>The position the next byte goes to.</summary>
    public long Position => _flushed + _used;

    public void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            int n = Math.Min(data.Length, _buffer.Length - _used);
            data[..n].CopyTo(_buffer.AsSpan(_used));
            _used += n;
            data = data[n..];
            if (_used == _buffer.Length)
            {
                Flush();
            }
        }
    }

    /// <summary>Overwrites bytes already written at <paramref name="position"/> (a length placeholder).</summary>
    public void Patch(long position, ReadOnlySpan<byte> data)
    {
        if (position < 0 || position + data.Length > Position)
        {
            throw new ArgumentOutOfRangeException(nameof(position));
        }
        if (position < _flushed)
        {
            Flush();
            _file.WriteAt(position, data);
            return;
        }
        data.CopyTo(_buffer.AsSpan((int)(position - _flushed)));
    }

    /// <summary>Writes the buffered bytes to the file (not yet durable).</summary>
    public void Flush()
    {
        if (_used > 0)
        {
            _file.WriteAt(_flushed, _buffer.AsSpan(0, _used));
            _flushed += _used;
            _used = 0;
        }
    }

    /// <summary>
    /// Records that <paramref name="count"/> bytes from <see cref="Position"/> on were written straight to the file
    /// (the parallel copy of phase D writes its chunks at their own positions); call after <see cref="Flush"/>.
    /// </summary>
    public void Advance(long count)
    {
        if (_used != 0 || count < 0)
        {
            throw new InvalidOperationException("the buffer holds bytes not written yet");
        }
        _flushed += count;
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
}

/// <summary>
/// Old record position → new record position, for every record written to the packed file. Both are appended in
/// increasing order (the packer walks the old file forward), so lookups are binary searches over two arrays
/// (16 bytes per record, no per-entry object).
/// </summary>
internal sealed class PositionMap
{
    private long[] _old = new long[1024];
    private long[] _new = new long[1024];
    private int _count;

    public int Count => _count;

    public void Add(long oldPosition, long newPosition)
    {
        if (_count > 0 && oldPosition <= _old[_count - 1])
        {
            throw new InvalidOperationException("positions are added in increasing order");
        }
        if (_count == _old.Length)
        {
            Array.Resize(ref _old, _count * 2);
            Array.Resize(ref _new, _count * 2);
        }
        _old[_count] = oldPosition;
        _new[_count] = newPosition;
        _count++;
    }

    public bool TryGet(long oldPosition, out long newPosition)
    {
        int i = Array.BinarySearch(_old, 0, _count, oldPosition);
        newPosition = i >= 0 ? _new[i] : 0;
        return i >= 0;
    }
}
