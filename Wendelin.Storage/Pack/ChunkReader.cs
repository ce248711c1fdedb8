using System.Buffers;
using System.Runtime.CompilerServices;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Pack;

/// <summary>
/// Sequential reads of <c>[start, end)</c> of a file in large chunks for the pack's passes: <see cref="At"/> hands out
/// the bytes from a position to the end of the chunk held, refilling (the unread tail moved to the front) when the
/// caller needs more. One pooled buffer; a position before the chunk held is read again.
/// </summary>
internal sealed class ChunkReader : IDisposable
{
    public const int DefaultChunk = 4 << 20;

    private readonly IStorageFile _file;
    private byte[] _buffer;
    private long _bufferPos;
    private int _length;

    public ChunkReader(IStorageFile file, long end, int chunk = DefaultChunk)
    {
        _file = file;
        End = end;
        _buffer = ArrayPool<byte>.Shared.Rent(chunk);
    }

    /// <summary>Nothing at or after this position is read.</summary>
    public long End { get; }

    /// <summary>The most <see cref="At"/> can hand out in one piece.</summary>
    public int Capacity => _buffer.Length;

    /// <summary>
    /// The bytes from <paramref name="pos"/> to the end of the chunk held, with at least <paramref name="need"/> of
    /// them (fewer only at <see cref="End"/>; <paramref name="need"/> at most <see cref="Capacity"/>). Valid until the
    /// next call. A refill reads up to a whole chunk, or with <paramref name="until"/> only up to that position (but
    /// at least <paramref name="need"/> bytes): a caller that knows it needs nothing further (sparse records) does
    /// not read the gaps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> At(long pos, int need, long until = long.MaxValue)
    {
        if (need > _buffer.Length || pos < 0 || pos > End)
        {
            throw new ArgumentOutOfRangeException(nameof(need));
        }
        long have = _bufferPos + _length - pos;
        if (pos >= _bufferPos && have >= Math.Min(need, End - pos))
        {
            return _buffer.AsSpan((int)(pos - _bufferPos), (int)have);
        }
        int keep = 0;
        if (pos >= _bufferPos && have > 0)
        {
            keep = (int)have;
            _buffer.AsSpan((int)(pos - _bufferPos), keep).CopyTo(_buffer);
        }
        long stop = Math.Min(End, Math.Max(until, pos + need));
        int want = (int)Math.Max(0, Math.Min(_buffer.Length, stop - pos) - keep);
        int got = _file.ReadAt(pos + keep, _buffer.AsSpan(keep, want));
        _bufferPos = pos;
        _length = keep + got;
        return _buffer.AsSpan(0, _length);
    }

    public void Dispose()
    {
        byte[] b = _buffer;
        _buffer = [];
        _length = 0;
        if (b.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}
