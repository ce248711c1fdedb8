using System.Buffers;
using Wendelin.Storage.Format;

namespace Wendelin.Storage.Fs;

/// <summary>
/// One commit in progress: the transaction's header fields, its data records (buffered in memory, spilled into
/// the data file past the committed end when they grow large), and the oid → position map merged into the index
/// at finish.
/// </summary>
internal sealed class FsTransaction : StorageTransaction
{
    private readonly int _spillThreshold;
    private byte[] _buffer;

    public FsTransaction(FileStorage owner, TransactionMetadata metadata, Tid tid, TransactionStatus status,
        byte[] user, byte[] description, byte[] extension, long position, int spillThreshold)
        : base(metadata)
    {
        _spillThreshold = spillThreshold;
        Owner = owner;
        Tid = tid;
        Status = status;
        User = user;
        Description = description;
        Extension = extension;
        Position = position;
        HeaderLength = TxnHeader.Size + user.Length + description.Length + extension.Length;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(4096, HeaderLength + TxnHeader.TrailerSize + 256));
        BufferedStart = HeaderLength;
        BufferedLength = HeaderLength; // the header area is reserved at the front of the buffer
    }

    public FileStorage Owner { get; }

    /// <summary>The status finish writes (' ', or 'p' for copied packed transactions).</summary>
    public TransactionStatus Status { get; }

    public byte[] User { get; }

    public byte[] Description { get; }

    public byte[] Extension { get; }

    /// <summary>P: where the transaction header goes, the committed end at begin.</summary>
    public long Position { get; }

    public int HeaderLength { get; }

    /// <summary>Bytes of data records so far (buffered and spilled).</summary>
    public long DataLength { get; private set; }

    /// <summary>Offset (from <see cref="Position"/>) of the first buffered byte that is not yet in the file.</summary>
    public long BufferedStart { get; private set; }

    /// <summary>Bytes used in the buffer, which holds <c>[BufferedStart, BufferedStart + BufferedLength - (header area))</c>.</summary>
    public int BufferedLength { get; private set; }

    /// <summary>True once records were written into the data file before vote.</summary>
    public bool Spilled { get; private set; }

    public TxnState State { get; set; } = TxnState.Begun;

    /// <summary>oid → position of its last record in this transaction.</summary>
    public RecordPositions Positions { get; } = new();

    /// <summary>The oids in the order first stored.</summary>
    public List<Oid> Oids { get; } = [];

    /// <summary>tlen once all records are in.</summary>
    public ulong TransactionLength => (ulong)(HeaderLength + DataLength);

    /// <summary>The position just after the trailer: the new committed end after finish.</summary>
    public long EndPosition => Position + HeaderLength + DataLength + TxnHeader.TrailerSize;

    public Span<byte> Buffer => _buffer;

    /// <summary>Reserves <paramref name="size"/> bytes for a record; returns its span and its absolute position.</summary>
    public Span<byte> Append(int size, out long position)
    {
        EnsureRoom(size);
        position = Position + HeaderLength + DataLength;
        Span<byte> span = _buffer.AsSpan(BufferedLength, size);
        BufferedLength += size;
        DataLength += size;
        return span;
    }

    /// <summary>Buffered record bytes (after the header area when nothing was spilled).</summary>
    public ReadOnlySpan<byte> PendingRecords => Spilled
        ? _buffer.AsSpan(0, BufferedLength)
        : _buffer.AsSpan(HeaderLength, BufferedLength - HeaderLength);

    /// <summary>Absolute file position of <see cref="PendingRecords"/>.</summary>
    public long PendingPosition => Position + BufferedStart;

    /// <summary>Marks the pending records as written to the file.</summary>
    public void MarkSpilled()
    {
        BufferedStart = HeaderLength + DataLength;
        BufferedLength = 0;
        Spilled = true;
    }

    /// <summary>
    /// <paramref name="length"/> bytes were written to the file right after the spilled records, not through the
    /// buffer (a large record's data, FS-C4a; call after <see cref="MarkSpilled"/>).
    /// </summary>
    public void MarkWrittenPastBuffer(int length)
    {
        DataLength += length;
        BufferedStart = HeaderLength + DataLength;
    }

    public void Record(Oid oid, long position)
    {
        if (Positions.Set(oid.Value, position))
        {
            Oids.Add(oid);
        }
    }

    public bool NeedsSpill => BufferedLength >= _spillThreshold;

    /// <summary>Absolute position from which written bytes have not yet been handed to the OS's writeback (FS-C4c); 0 until the first hint.</summary>
    public long WritebackFrom { get; set; }

    /// <summary>Absolute position just past the bytes written to the file so far (spilled or written directly).</summary>
    public long WrittenEnd => Position + BufferedStart;

    /// <summary>
    /// Copies the bytes of one of this transaction's records at absolute <paramref name="position"/> into
    /// <paramref name="destination"/> when they are still in the buffer; false when they were spilled (they are then
    /// in the data file at that position). A record is never split between the two (undo reads its own records).
    /// </summary>
    public bool TryReadBuffered(long position, Span<byte> destination)
    {
        long offset = position - Position - (Spilled ? BufferedStart : 0);
        if (offset < 0 || offset + destination.Length > BufferedLength)
        {
            return false;
        }
        _buffer.AsSpan((int)offset, destination.Length).CopyTo(destination);
        return true;
    }

    public void ReleaseBuffer()
    {
        byte[] b = _buffer;
        _buffer = [];
        if (b.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }

    private void EnsureRoom(int size)
    {
        long needed = (long)BufferedLength + size + TxnHeader.TrailerSize;
        if (needed > _buffer.Length)
        {
            if (needed > Array.MaxLength)
            {
                throw new ArgumentException($"a record of {size} bytes is too large to buffer", nameof(size));
            }
            byte[] bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max(needed, (long)_buffer.Length * 2)));
            _buffer.AsSpan(0, BufferedLength).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
    }
}

internal enum TxnState
{
    Begun,
    Voted,
    Done,
}
