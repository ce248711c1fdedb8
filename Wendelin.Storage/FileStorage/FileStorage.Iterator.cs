using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Wendelin.Storage.Format;
using Wendelin.Storage.IO;

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
        (long end, _, IStorageFile file) = SnapshotWithFile();
        return Iterate(file, start, stop, null, end);
    }

    /// <summary>The committed transactions from the transaction that starts at byte <paramref name="position"/>.</summary>
    public IEnumerable<TransactionRecord> IteratorFrom(long position)
    {
        ThrowIfUnusable();
        (long end, _, IStorageFile file) = SnapshotWithFile();
        if (position < FileHeader.DataStart || position > end)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, $"not within the committed data [4, {end}]");
        }
        return Iterate(file, null, null, position, end);
    }

    /// <summary>
    /// The committed transactions from the last one backwards (walking the trailers, FS-3), as of now: what
    /// <c>fstail</c> and undo logs read without scanning the whole file.
    /// </summary>
    public IEnumerable<TransactionRecord> IterateBackward()
    {
        ThrowIfUnusable();
        (long end, _, IStorageFile file) = SnapshotWithFile();
        return Backward(file, end);
    }

    private IEnumerable<TransactionRecord> Backward(IStorageFile file, long end)
    {
        using var window = new FileWindow(file, end, 64 << 10);
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
                yield return MakeRecord(file, window, h, tpos, records, end);
            }
            pos = tpos;
        }
    }

    /// <summary>Transactions up to this size are read whole by the backward iterator, so their records need no more I/O.</summary>
    private const int InMemoryTransactionLimit = 8 << 20;

    /// <summary>
    /// The record for a validated transaction. <paramref name="window"/> holds its bytes when it keeps them (the
    /// forward iterator's fresh chunks): each record and the metadata are then handed out as slices of them, without
    /// copying. Otherwise the transaction (up to <see cref="InMemoryTransactionLimit"/>) is read whole into a new array.
    /// Records not in memory are read from the file when used.
    /// </summary>
    private TransactionRecord MakeRecord(IStorageFile file, FileWindow window, TxnHeader h, long pos, List<RecordLocation> records, long end)
    {
        var positions = new long[records.Count];
        for (int i = 0; i < positions.Length; i++)
        {
            positions[i] = records[i].Position;
        }
        long dataEnd = h.TrailerPosition(pos);
        int metaLength = h.HeaderLength - TxnHeader.Size;
        var recordBytes = new ReadOnlyMemory<byte>[positions.Length];
        if (window.KeepsBytes && window.TryGetMemory(pos + TxnHeader.Size, metaLength, out ReadOnlyMemory<byte> meta))
        {
            for (int i = 0; i < positions.Length; i++)
            {
                long length = (i + 1 < positions.Length ? positions[i + 1] : dataEnd) - positions[i]; // records tile the data (FS-3)
                if (length <= FileWindow.WholeRecordLimit && window.TryGetMemory(positions[i], (int)length, out ReadOnlyMemory<byte> r))
                {
                    recordBytes[i] = r;
                }
            }
            return new TransactionRecord(this, file, h, pos, meta, positions, recordBytes, end);
        }
        if ((long)h.Length + TxnHeader.TrailerSize <= InMemoryTransactionLimit)
        {
            byte[] whole = window.ReadCopy(pos, (int)h.Length + TxnHeader.TrailerSize);
            if (whole.Length == (long)h.Length + TxnHeader.TrailerSize)
            {
                for (int i = 0; i < positions.Length; i++)
                {
                    long next = i + 1 < positions.Length ? positions[i + 1] : dataEnd;
                    recordBytes[i] = whole.AsMemory((int)(positions[i] - pos), (int)(next - positions[i]));
                }
                return new TransactionRecord(this, file, h, pos, whole.AsMemory(TxnHeader.Size, metaLength), positions, recordBytes, end);
            }
        }
        byte[] metaCopy = window.Read(pos + TxnHeader.Size, metaLength).ToArray();
        return new TransactionRecord(this, file, h, pos, metaCopy, positions, recordBytes, end);
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
        if (t.File.ReadAt(t.Position + t.HeaderLength, b) < b.Length)
        {
            throw Corrupt(new FormatError(RecordKind.Transaction, t.Position, "transaction fits in the file", "end of file inside its records"));
        }
        return b;
    }

    private IEnumerable<TransactionRecord> Iterate(IStorageFile file, Tid? start, Tid? stop, long? startPosition, long end)
    {
        long pos;
        using (var probe = new FileWindow(file, end, 64 << 10))
        {
            pos = startPosition ?? (start is Tid s ? FindStart(probe, s, end) : FileHeader.DataStart);
        }
        // Each transaction is validated in the window and its records handed out as slices of the window's chunks,
        // which are never reused: the file's bytes are read once, into the memory the records keep.
        using var window = FileWindow.WithFreshChunks(file, end);
        var records = new List<RecordLocation>();
        while (pos < end)
        {
            records.Clear();
            window.Retain();
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
                yield return MakeRecord(file, window, h, pos, records, end);
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

    /// <summary>
    /// The record at <paramref name="pos"/> of the transaction at <paramref name="tpos"/> for the iterator: parsed
    /// from <paramref name="recordBytes"/> (the whole record, already validated) when given, else read.
    /// </summary>
    internal DataRecord ReadRecord(IStorageFile file, long pos, long tpos, long end, ReadOnlyMemory<byte> recordBytes)
    {
        DataHeader h;
        long back = 0;
        ReadOnlyMemory<byte> payload = default;
        if (!recordBytes.IsEmpty)
        {
            ReadOnlySpan<byte> b = recordBytes.Span;
            h = DataHeader.Parse(b);
            if (h.IsBackPointer)
            {
                back = DataHeader.ReadBackPointer(b[DataHeader.Size..]);
            }
            else
            {
                payload = recordBytes.Slice(DataHeader.Size, (int)h.DataLength);
            }
        }
        else
        {
            Span<byte> b = stackalloc byte[DataHeader.Size];
            if (file.ReadAt(pos, b) < DataHeader.Size)
            {
                throw Corrupt(new FormatError(RecordKind.DataHeader, pos, "record lies in the committed data", "end of file"));
            }
            h = DataHeader.Parse(b);
            if (h.Check(pos, end, tpos, null) is FormatError e)
            {
                throw Corrupt(e);
            }
            back = h.IsBackPointer ? ReadBackPointer(file, pos) : 0;
        }
        Tid? dataTxn = null;
        if (back != 0)
        {
            dataTxn = ReadDataHeader(file, back, end, h.Oid).Tid;
        }
        return new DataRecord(this, file, h.Oid, h.Tid, pos, h.Prev, h.Tloc, h.DataLength, h.IsBackPointer ? back : null, dataTxn, end, payload);
    }

    internal ReadOnlyMemory<byte>? ReadRecordData(DataRecord record)
    {
        DataHeader h = ReadDataHeader(record.File, record.Position, record.End, record.Oid);
        byte[]? data = ReadData(record.File, h, record.Position, record.End, out _);
        if (data is null)
        {
            return null;
        }
        return new ReadOnlyMemory<byte>(data);
    }
}
