using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Wendelin.Storage.Format;

namespace Wendelin.Storage.Fs;

// Transaction and record iteration (spec/filestorage.md §6, FS-L4, FS-L9).
public sealed partial class FileStorage
{
    /// <summary>
    /// The committed transactions with tids in [<paramref name="start"/>, <paramref name="stop"/>] (both inclusive,
    /// either open), in file order, as of now: transactions committed after this call are not yielded. Status 'u'
    /// transactions are skipped. Damaged bytes raise <see cref="CorruptRecordException"/>.
    /// </summary>
    public IEnumerable<TransactionRecord> Iterator(Tid? start = null, Tid? stop = null)
    {
        ThrowIfUnusable();
        (long end, _) = Snapshot();
        return Iterate(start, stop, null, end);
    }

    /// <summary>The committed transactions from the transaction that starts at byte <paramref name="position"/>.</summary>
    public IEnumerable<TransactionRecord> IteratorFrom(long position)
    {
        ThrowIfUnusable();
        (long end, _) = Snapshot();
        if (position < FileHeader.DataStart || position > end)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, $"not within the committed data [4, {end}]");
        }
        return Iterate(null, null, position, end);
    }

    /// <summary>
    /// The committed transactions from the last one backwards (walking the trailers, FS-3), as of now: what
    /// <c>fstail</c> and undo logs read without scanning the whole file.
    /// </summary>
    public IEnumerable<TransactionRecord> IterateBackward()
    {
        ThrowIfUnusable();
        (long end, _) = Snapshot();
        return Backward(end);
    }

    private IEnumerable<TransactionRecord> Backward(long end)
    {
        using var window = new FileWindow(_file, end, 64 << 10);
        var records = new List<RecordLocation>();
        long pos = end;
        while (pos > FileHeader.DataStart)
        {
            long tpos = PreviousTransaction(window, pos);
            records.Clear();
            if (TxnScanner.Validate(window, tpos, out TxnHeader h, records) is FormatError e)
            {
                throw Corrupt(e);
            }
            if (h.NextPosition(tpos) != pos || !h.IsFinished)
            {
                throw Corrupt(new FormatError(RecordKind.Transaction, tpos, "redundant length leads to a finished transaction",
                    string.Create(CultureInfo.InvariantCulture, $"trailer before {pos} leads to {tpos}, which ends at {h.NextPosition(tpos)} with status 0x{(byte)h.Status:x2}")));
            }
            if (h.Status != TransactionStatus.Undone)
            {
                yield return MakeRecord(window, h, tpos, records, end);
            }
            pos = tpos;
        }
    }

    private TransactionRecord MakeRecord(FileWindow window, TxnHeader h, long pos, List<RecordLocation> records, long end)
    {
        byte[] meta = window.Read(pos + TxnHeader.Size, h.HeaderLength - TxnHeader.Size).ToArray();
        var positions = new long[records.Count];
        for (int i = 0; i < positions.Length; i++)
        {
            positions[i] = records[i].Position;
        }
        return new TransactionRecord(this, h, pos, meta, positions, end);
    }

    /// <summary>The bytes of a transaction's data records, <c>[pos + hlen, pos + tlen)</c> (what <c>fstail</c> hashes).</summary>
    internal byte[] ReadRecordArea(TransactionRecord t)
    {
        long size = (long)t.Length - t.HeaderLength;
        if (size > Array.MaxLength)
        {
            throw new FileStorageException($"{Name}: transaction {t.Tid} is too large to read whole ({size} bytes)");
        }
        byte[] b = GC.AllocateUninitializedArray<byte>((int)size);
        if (_file.ReadAt(t.Position + t.HeaderLength, b) < b.Length)
        {
            throw Corrupt(new FormatError(RecordKind.Transaction, t.Position, "transaction fits in the file", "end of file inside its records"));
        }
        return b;
    }

    private IEnumerable<TransactionRecord> Iterate(Tid? start, Tid? stop, long? startPosition, long end)
    {
        using var window = new FileWindow(_file, end);
        long pos = startPosition ?? (start is Tid s ? FindStart(window, s, end) : FileHeader.DataStart);
        var records = new List<RecordLocation>();
        while (pos < end)
        {
            records.Clear();
            if (TxnScanner.Validate(window, pos, out TxnHeader h, records) is FormatError e)
            {
                throw Corrupt(e);
            }
            if (!h.IsFinished)
            {
                throw Corrupt(new FormatError(RecordKind.TransactionHeader, pos, "status",
                    "'c' inside the committed data: only the last transaction of a file can be unfinished"));
            }
            if (stop is Tid last && h.Tid > last)
            {
                yield break;
            }
            long next = h.NextPosition(pos);
            if (h.Status != TransactionStatus.Undone)
            {
                yield return MakeRecord(window, h, pos, records, end);
            }
            pos = next;
        }
    }

    /// <summary>
    /// The position of the first transaction with tid ≥ <paramref name="start"/> (the end when none): forward from
    /// the first transaction or backward from the last through the trailers, whichever end is nearer in time.
    /// </summary>
    private long FindStart(FileWindow window, Tid start, long end)
    {
        if (end <= FileHeader.DataStart)
        {
            return end;
        }
        Tid first = HeaderTid(window, FileHeader.DataStart);
        if (start <= first)
        {
            return FileHeader.DataStart;
        }
        long lastPos = PreviousTransaction(window, end);
        Tid lastTid = HeaderTid(window, lastPos);
        if (start > lastTid)
        {
            return end;
        }
        if (start.Value - first.Value <= lastTid.Value - start.Value)
        {
            long pos = FileHeader.DataStart;
            while (pos < end)
            {
                ReadOnlySpan<byte> b = window.Read(pos, TxnHeader.Size);
                if (b.Length < TxnHeader.Size)
                {
                    throw Corrupt(new FormatError(RecordKind.TransactionHeader, pos, "header fits", "end of data inside a header"));
                }
                TxnHeader h = TxnHeader.Parse(b);
                if (h.Tid >= start)
                {
                    return pos;
                }
                if (h.CheckBounds(pos, end) is FormatError e)
                {
                    throw Corrupt(e);
                }
                pos = h.NextPosition(pos);
            }
            return end;
        }
        long at = lastPos;
        while (at > FileHeader.DataStart)
        {
            long before = PreviousTransaction(window, at);
            if (HeaderTid(window, before) < start)
            {
                return at;
            }
            at = before;
        }
        return FileHeader.DataStart;
    }

    private Tid HeaderTid(FileWindow window, long pos)
    {
        ReadOnlySpan<byte> b = window.Read(pos, 8);
        if (b.Length < 8)
        {
            throw Corrupt(new FormatError(RecordKind.TransactionHeader, pos, "header fits", "end of data inside a header"));
        }
        return new Tid(BinaryPrimitives.ReadUInt64BigEndian(b));
    }

    /// <summary>Reads the record at <paramref name="pos"/> of the transaction at <paramref name="tpos"/> for the iterator.</summary>
    internal DataRecord ReadRecord(long pos, long tpos, long end)
    {
        Span<byte> b = stackalloc byte[DataHeader.Size];
        if (_file.ReadAt(pos, b) < DataHeader.Size)
        {
            throw Corrupt(new FormatError(RecordKind.DataHeader, pos, "record lies in the committed data", "end of file"));
        }
        DataHeader h = DataHeader.Parse(b);
        if (h.Check(pos, end, tpos, null) is FormatError e)
        {
            throw Corrupt(e);
        }
        long back = h.IsBackPointer ? ReadBackPointer(pos) : 0;
        Tid? dataTxn = null;
        if (back != 0)
        {
            dataTxn = ReadDataHeader(back, end, h.Oid).Tid;
        }
        return new DataRecord(this, h.Oid, h.Tid, pos, h.Prev, h.Tloc, h.DataLength, h.IsBackPointer ? back : null, dataTxn, end);
    }

    internal byte[]? ReadRecordData(DataRecord record)
    {
        DataHeader h = ReadDataHeader(record.Position, record.End, record.Oid);
        return ReadData(h, record.Position, record.End, out _);
    }
}

/// <summary>
/// One committed transaction as the iterator found it: header fields, metadata bytes as stored, and its data
/// records (read when <see cref="Records"/> is first used; the list can be enumerated any number of times).
/// </summary>
public sealed class TransactionRecord
{
    private readonly FileStorage _storage;
    private readonly long[] _recordPositions;
    private readonly long _end;
    private IReadOnlyList<DataRecord>? _records;

    internal TransactionRecord(FileStorage storage, TxnHeader header, long position, byte[] metadata, long[] recordPositions, long end)
    {
        _storage = storage;
        _recordPositions = recordPositions;
        _end = end;
        Tid = header.Tid;
        Status = header.Status;
        Position = position;
        Length = header.Length;
        HeaderLength = header.HeaderLength;
        User = metadata.AsMemory(0, header.UserLength);
        Description = metadata.AsMemory(header.UserLength, header.DescriptionLength);
        ExtensionBytes = metadata.AsMemory(header.UserLength + header.DescriptionLength, header.ExtensionLength);
    }

    public Tid Tid { get; }

    public TransactionStatus Status { get; }

    /// <summary>Position of the transaction header.</summary>
    public long Position { get; }

    /// <summary>tlen: the length without the 8-byte trailer.</summary>
    public ulong Length { get; }

    /// <summary>hlen: header plus metadata; the first record starts at <see cref="Position"/> + this.</summary>
    public int HeaderLength { get; }

    public ReadOnlyMemory<byte> User { get; }

    public ReadOnlyMemory<byte> Description { get; }

    /// <summary>The extension exactly as stored: a pickled dict, or empty.</summary>
    public ReadOnlyMemory<byte> ExtensionBytes { get; }

    /// <summary>The bytes of the data records, <c>[Position + HeaderLength, Position + Length)</c>.</summary>
    public byte[] ReadRecordArea() => _storage.ReadRecordArea(this);

    /// <summary>The extension dict (<see cref="Pickle.PickleException"/> when its bytes are not a pickled dict).</summary>
    public Pickle.PickleDict ReadExtension() => Pickle.ZodbPickle.ReadExtension(ExtensionBytes);

    /// <summary><see cref="User"/> as UTF-8 text (invalid sequences replaced).</summary>
    public string UserText => Encoding.UTF8.GetString(User.Span);

    /// <summary><see cref="Description"/> as UTF-8 text (invalid sequences replaced).</summary>
    public string DescriptionText => Encoding.UTF8.GetString(Description.Span);

    /// <summary>Positions of the data records, in file order.</summary>
    public IReadOnlyList<long> RecordPositions => _recordPositions;

    /// <summary>The data records in file order.</summary>
    public IReadOnlyList<DataRecord> Records
    {
        get
        {
            IReadOnlyList<DataRecord>? r = _records;
            if (r is null)
            {
                var list = new DataRecord[_recordPositions.Length];
                for (int i = 0; i < list.Length; i++)
                {
                    list[i] = _storage.ReadRecord(_recordPositions[i], Position, _end);
                }
                _records = r = list;
            }
            return r;
        }
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"transaction {Tid} at {Position} ({_recordPositions.Length} records)");
}

/// <summary>
/// One data record: its header fields, the backpointer when it has no payload, and (ZODB's <c>data_txn</c>) the
/// tid of the record that backpointer points to directly. <see cref="ReadData"/> reads the payload, following
/// backpointers.
/// </summary>
public sealed class DataRecord
{
    private readonly FileStorage _storage;

    internal DataRecord(FileStorage storage, Oid oid, Tid tid, long position, long prev, long tloc, ulong dataLength,
        long? backPointer, Tid? dataTxn, long end)
    {
        _storage = storage;
        Oid = oid;
        Tid = tid;
        Position = position;
        Prev = prev;
        Tloc = tloc;
        DataLength = dataLength;
        BackPointer = backPointer;
        DataTxn = dataTxn;
        End = end;
    }

    public Oid Oid { get; }

    public Tid Tid { get; }

    public long Position { get; }

    /// <summary>Position of the object's previous record, 0 if none.</summary>
    public long Prev { get; }

    /// <summary>Position of the enclosing transaction.</summary>
    public long Tloc { get; }

    /// <summary>plen: the stored payload length (0 for a backpointer record).</summary>
    public ulong DataLength { get; }

    /// <summary>The backpointer when the record has no payload (0 = no data: deletion or creation undone), else null.</summary>
    public long? BackPointer { get; }

    /// <summary>For a backpointer record, the tid of the record it points to; else null.</summary>
    public Tid? DataTxn { get; }

    /// <summary>True when this revision has no data (null backpointer: deleted, or its creation undone).</summary>
    public bool IsDeletion => BackPointer == 0;

    internal long End { get; }

    /// <summary>The revision's payload, following backpointers; null when it has none.</summary>
    public byte[]? ReadData() => _storage.ReadRecordData(this);

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"record {Oid} {Tid} at {Position} plen {DataLength}");
}
