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

    /// <summary>Transactions up to this size are read whole by the iterator, so their records need no more I/O.</summary>
    private const int InMemoryTransactionLimit = 8 << 20;

    /// <summary>
    /// The bytes of the transaction at <paramref name="pos"/> (header to trailer) when its header is readable, its
    /// length fits the data and it is at most <see cref="InMemoryTransactionLimit"/>; else null (then it is checked
    /// and read through the window).
    /// </summary>
    private static byte[]? ReadWholeTransaction(FileWindow window, long pos, long end)
    {
        ReadOnlySpan<byte> hb = window.Read(pos, TxnHeader.Size);
        if (hb.Length < TxnHeader.Size)
        {
            return null;
        }
        TxnHeader h = TxnHeader.Parse(hb);
        if (h.CheckBounds(pos, end) is not null || (long)h.Length + TxnHeader.TrailerSize > InMemoryTransactionLimit)
        {
            return null;
        }
        int size = (int)h.Length + TxnHeader.TrailerSize;
        byte[] whole = window.ReadCopy(pos, size);
        return whole.Length == size ? whole : null;
    }

    private TransactionRecord MakeRecord(IStorageFile file, FileWindow window, TxnHeader h, long pos, List<RecordLocation> records, long end, byte[]? whole = null)
    {
        var positions = new long[records.Count];
        for (int i = 0; i < positions.Length; i++)
        {
            positions[i] = records[i].Position;
        }
        if (whole is null && (long)h.Length + TxnHeader.TrailerSize <= InMemoryTransactionLimit)
        {
            whole = window.ReadCopy(pos, (int)h.Length + TxnHeader.TrailerSize);
        }
        if (whole is not null && whole.Length == (long)h.Length + TxnHeader.TrailerSize)
        {
            return new TransactionRecord(this, file, h, pos, whole, whole.AsMemory(TxnHeader.Size, h.HeaderLength - TxnHeader.Size), positions, end);
        }
        byte[] meta = window.Read(pos + TxnHeader.Size, h.HeaderLength - TxnHeader.Size).ToArray();
        return new TransactionRecord(this, file, h, pos, null, meta, positions, end);
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
        using var window = new FileWindow(file, end);
        long pos = startPosition ?? (start is Tid s ? FindStart(window, s, end) : FileHeader.DataStart);
        var records = new List<RecordLocation>();
        TxnHeader h;
        while (pos < end)
        {
            records.Clear();
            byte[]? whole = ReadWholeTransaction(window, pos, end);
            using (FileWindow? inMemory = whole is null ? null : FileWindow.OverBytes(whole, pos))
            {
                if (TxnScanner.Validate(inMemory ?? window, pos, out TxnHeader checkedHeader, records) is FormatError e)
                {
                    throw Corrupt(e);
                }
                h = checkedHeader;
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
                yield return MakeRecord(file, window, h, pos, records, end, whole);
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
    /// from <paramref name="txnBytes"/> (the whole transaction, already validated) when given, else read.
    /// </summary>
    internal DataRecord ReadRecord(IStorageFile file, long pos, long tpos, long end, ReadOnlyMemory<byte> txnBytes)
    {
        DataHeader h;
        long back = 0;
        ReadOnlyMemory<byte> payload = default;
        if (!txnBytes.IsEmpty)
        {
            ReadOnlySpan<byte> b = txnBytes.Span[(int)(pos - tpos)..];
            h = DataHeader.Parse(b);
            if (h.IsBackPointer)
            {
                back = DataHeader.ReadBackPointer(b[DataHeader.Size..]);
            }
            else
            {
                payload = txnBytes.Slice((int)(pos - tpos) + DataHeader.Size, (int)h.DataLength);
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
