using System.Buffers;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Format;

/// <summary>
/// A read window over a storage file, bounded by a snapshot end: scans (open, recovery, iteration) read headers
/// through it so that a run of small records costs one positional read per window, not one per header.
/// Sequential continuation reads a full window; a jump (a large payload skipped) reads a small one, so skipping
/// big records does not drag their bytes in.
/// </summary>
internal sealed class FileWindow : IDisposable
{
    private const int JumpReadSize = 64 << 10;

    private readonly IStorageFile? _file;
    private readonly bool _pooled;
    private byte[] _buffer;
    private long _bufferPos;
    private int _bufferLength;

    public FileWindow(IStorageFile file, long end, int capacity = 1 << 20)
    {
        _file = file;
        End = end;
        Path = file.Path;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 4096));
        _pooled = true;
    }

    private FileWindow(byte[] bytes, long position)
    {
        _buffer = bytes;
        _bufferPos = position;
        _bufferLength = bytes.Length;
        End = position + bytes.Length;
        Path = "";
    }

    /// <summary>A window over bytes already in memory that were read from <paramref name="position"/>: it never reads.</summary>
    public static FileWindow OverBytes(byte[] bytes, long position) => new(bytes, position);

    /// <summary>The snapshot end: nothing at or after it is read.</summary>
    public long End { get; }

    public string Path { get; } = "";

    /// <summary>
    /// The bytes <c>[pos, pos + count)</c> clamped to <see cref="End"/>: shorter than <paramref name="count"/> only
    /// at the end. The span is valid until the next call.
    /// </summary>
    public ReadOnlySpan<byte> Read(long pos, int count)
    {
        if (pos < 0 || count < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(pos));
        }
        if (pos >= End)
        {
            return [];
        }
        count = (int)Math.Min(count, End - pos);
        if (pos >= _bufferPos && pos + count <= _bufferPos + _bufferLength)
        {
            return _buffer.AsSpan((int)(pos - _bufferPos), count);
        }
        if (_file is null)
        {
            return []; // before the bytes of a window over memory
        }
        if (count > _buffer.Length)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(count);
        }
        bool sequential = pos >= _bufferPos && pos <= _bufferPos + _bufferLength + JumpReadSize;
        int want = sequential ? _buffer.Length : Math.Max(count, Math.Min(JumpReadSize, _buffer.Length));
        want = (int)Math.Min(want, End - pos);
        int n = _file.ReadAt(pos, _buffer.AsSpan(0, want));
        _bufferPos = pos;
        _bufferLength = n;
        return _buffer.AsSpan(0, Math.Min(count, n));
    }

    /// <summary>
    /// A new array with <c>[pos, pos + count)</c> (shorter only at the end): copied from the buffer when it holds the
    /// range, read straight into the array when the range is large, else through a refill.
    /// </summary>
    public byte[] ReadCopy(long pos, int count)
    {
        if (pos >= End)
        {
            return [];
        }
        count = (int)Math.Min(count, End - pos);
        if ((pos >= _bufferPos && pos + count <= _bufferPos + _bufferLength) || count <= JumpReadSize || _file is null)
        {
            return Read(pos, count).ToArray();
        }
        byte[] b = GC.AllocateUninitializedArray<byte>(count);
        int n = _file.ReadAt(pos, b);
        return n == count ? b : b.AsSpan(0, n).ToArray();
    }

    /// <summary>Forgets the buffered bytes (after the file changed under the window).</summary>
    public void Invalidate() => _bufferLength = 0;

    public void Dispose()
    {
        byte[] b = _buffer;
        _buffer = [];
        _bufferLength = 0;
        if (_pooled && b.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}
