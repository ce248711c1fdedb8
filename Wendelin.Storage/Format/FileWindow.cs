using System.Buffers;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Format;

/// <summary>
/// A read window over a storage file, bounded by a snapshot end: scans (open, recovery, iteration) read headers
/// through it so that a run of small records costs one positional read per window, not one per header.
/// Sequential continuation reads a full window; a jump (a large payload skipped) reads a small one, so skipping
/// big records does not drag their bytes in.
/// <para>
/// Two ways to hold the bytes: one pooled buffer that every refill overwrites (open, recovery, checks: nothing read
/// outlives the next call), or <see cref="WithFreshChunks"/>, where every refill reads into a new array that is never
/// overwritten, so ranges read can be handed out as memory (the iterator's payloads). Fresh chunks are small enough
/// to come from the young generation of the GC heap, whose memory is reused and cache-warm, instead of the large
/// object heap; a chunk starts where the bytes that did not fit the previous one start.
/// </para>
/// </summary>
internal sealed class FileWindow : IDisposable
{
    private const int JumpReadSize = 64 << 10;

    /// <summary>Size of a fresh chunk: just below the large-object threshold of the GC (85,000 bytes).</summary>
    private const int FreshChunkSize = 80 << 10;

    private readonly IStorageFile? _file;
    private readonly bool _pooled;
    private readonly bool _fresh;
    private readonly List<(long Position, byte[] Bytes, int Length)> _retained = [];
    private bool _retaining;
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

    private FileWindow(IStorageFile file, long end)
    {
        _file = file;
        End = end;
        Path = file.Path;
        _buffer = [];
        _fresh = true;
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

    /// <summary>A window whose every refill reads into a new array (see the class remarks): bytes read stay valid.</summary>
    public static FileWindow WithFreshChunks(IStorageFile file, long end) => new(file, end);

    /// <summary>The snapshot end: nothing at or after it is read.</summary>
    public long End { get; }

    public string Path { get; } = "";

    /// <summary>
    /// True when bytes read are never overwritten (fresh chunks, or bytes in memory): then a scan reads each whole
    /// record (up to <see cref="WholeRecordLimit"/>) through the window, so that <see cref="TryGetMemory"/> finds it
    /// in one piece.
    /// </summary>
    public bool KeepsBytes => !_pooled;

    /// <summary>Records up to this size are read whole by a scan over a window that keeps its bytes.</summary>
    public const int WholeRecordLimit = 8 << 20;

    /// <summary>
    /// The bytes <c>[pos, pos + count)</c> clamped to <see cref="End"/>: shorter than <paramref name="count"/> only
    /// at the end. The span is valid until the next call (for ever when <see cref="KeepsBytes"/>).
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
        if (_fresh)
        {
            // A new chunk from pos: the part of the previous chunk from pos on is read again (at most one record).
            int size = (int)Math.Min(Math.Max(count, FreshChunkSize), End - pos);
            byte[] chunk = GC.AllocateUninitializedArray<byte>(size);
            int got = _file.ReadAt(pos, chunk);
            _buffer = chunk;
            _bufferPos = pos;
            _bufferLength = got;
            if (_retaining)
            {
                _retained.Add((pos, chunk, got));
            }
            return chunk.AsSpan(0, Math.Min(count, got));
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
    /// Starts a new retention span (fresh chunks): <see cref="TryGetMemory"/> then finds ranges in the current chunk
    /// and in every chunk read after this call.
    /// </summary>
    public void Retain()
    {
        _retained.Clear();
        _retaining = true;
        if (_fresh && _bufferLength > 0)
        {
            _retained.Add((_bufferPos, _buffer, _bufferLength));
        }
    }

    /// <summary>
    /// The bytes <c>[pos, pos + count)</c> as memory that is never overwritten, when a window that keeps its bytes
    /// holds them in one piece (in the current chunk or one read since <see cref="Retain"/>); else false.
    /// </summary>
    public bool TryGetMemory(long pos, int count, out ReadOnlyMemory<byte> memory)
    {
        if (_pooled || pos < 0 || count < 0)
        {
            memory = default;
            return false;
        }
        if (pos >= _bufferPos && pos + count <= _bufferPos + _bufferLength)
        {
            memory = _buffer.AsMemory((int)(pos - _bufferPos), count);
            return true;
        }
        for (int i = _retained.Count - 1; i >= 0; i--)
        {
            (long p, byte[] bytes, int length) = _retained[i];
            if (pos >= p && pos + count <= p + length)
            {
                memory = bytes.AsMemory((int)(pos - p), count);
                return true;
            }
        }
        memory = default;
        return false;
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
        _retained.Clear();
        if (_pooled && b.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}
