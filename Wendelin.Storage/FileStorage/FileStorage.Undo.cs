using System.Globalization;
using Wendelin.Storage.Format;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Fs;

// The undo log and transactional undo (spec/undo.md, UN-1..UN-8; filestorage-format §6).
public sealed partial class FileStorage : IUndoStorage
{
    /// <summary>
    /// The undoable transactions, newest first (UN-1): walks back from the committed end through the trailers,
    /// stops at the first packed transaction ('p'), skips 'u' ones, applies <paramref name="filter"/> and returns the
    /// accepted entries with index in [<paramref name="first"/>, <paramref name="last"/>) — a negative
    /// <paramref name="last"/> means at most −last entries (ZODB's default window is the last 20).
    /// </summary>
    public IReadOnlyList<UndoLogEntry> UndoLog(int first = 0, int last = -20, Func<UndoLogEntry, bool>? filter = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ThrowIfUnusable();
        if (last < 0)
        {
            last = first - last;
        }
        var result = new List<UndoLogEntry>();
        if (last <= first)
        {
            return result;
        }
        (long end, _, IStorageFile file) = SnapshotWithFile();
        using var window = new FileWindow(file, end, 64 << 10);
        int accepted = 0;
        long pos = end;
        while (pos > FileHeader.DataStart && accepted < last)
        {
            long tpos = PreviousTransaction(window, pos);
            TxnHeader h = ReadUndoHeader(window, tpos, pos);
            pos = tpos;
            if (h.Status == TransactionStatus.Packed)
            {
                break;
            }
            if (h.Status != TransactionStatus.Committed)
            {
                continue;
            }
            byte[] meta = window.Read(tpos + TxnHeader.Size, h.HeaderLength - TxnHeader.Size).ToArray();
            var entry = new UndoLogEntry(h.Tid, meta.AsMemory(0, h.UserLength), meta.AsMemory(h.UserLength, h.DescriptionLength),
                (long)h.Length, meta.AsMemory(h.UserLength + h.DescriptionLength, h.ExtensionLength));
            if (filter is not null && !filter(entry))
            {
                continue;
            }
            if (accepted >= first)
            {
                result.Add(entry);
            }
            accepted++;
        }
        return result;
    }

    /// <inheritdoc cref="IUndoStorage.Undo"/>
    public UndoResult Undo(string undoId, StorageTransaction transaction) => Undo(UndoLogEntry.DecodeId(undoId), transaction);

    /// <summary>
    /// Undoes transaction <paramref name="tid"/> inside the commit <paramref name="transaction"/> (UN-2..UN-6): for each
    /// of its records writes a backpointer to the revision before it, or a null backpointer when it created the object.
    /// Every record is decided before anything is written, so a refusal (<see cref="UndoException"/>, naming the
    /// objects that block it) leaves the transaction as it was.
    /// </summary>
    public UndoResult Undo(Tid tid, StorageTransaction transaction)
    {
        FsTransaction txn = Current(transaction, "Undo");
        (long end, _, IStorageFile file) = SnapshotWithFile();
        long tpos = FindTransaction(file, end, tid)
            ?? throw new UndoException(string.Create(CultureInfo.InvariantCulture, $"Invalid transaction id: no transaction {tid} in {Name}"));
        var records = new List<RecordLocation>();
        TxnHeader h;
        using (var window = new FileWindow(file, end, 64 << 10))
        {
            if (TxnScanner.Validate(window, tpos, out h, records) is FormatError e)
            {
                throw Corrupt(e);
            }
        }
        if (h.Status != TransactionStatus.Committed)
        {
            throw new UndoException(string.Create(CultureInfo.InvariantCulture,
                $"non-undoable transaction {tid}: its status is '{(char)h.Status}'{(h.Status == TransactionStatus.Packed ? " (packed: its history is gone)" : "")}"));
        }

        // UN-3: decide every record first. `planned` plays the role of ZODB's per-transaction index for the
        // records this call decides (a later record of the same oid sees the earlier decision).
        var planned = new Dictionary<ulong, long>(); // oid → back of the record to write (0: creation undone)
        var order = new List<Oid>();
        var failures = new Dictionary<ulong, UndoException>();
        foreach (RecordLocation r in records)
        {
            DataHeader rh = ReadDataHeader(file, r.Position, end, r.Oid);
            long pre = rh.Prev;
            UndoException? refusal = DecideRecord(txn, file, end, r.Oid, r.Position, pre, planned);
            if (refusal is not null)
            {
                failures[r.Oid.Value] = refusal;
                continue;
            }
            failures.Remove(r.Oid.Value); // UN-4: a later record of the same object clears an earlier failure
            if (!planned.ContainsKey(r.Oid.Value))
            {
                order.Add(r.Oid);
            }
            planned[r.Oid.Value] = pre;
        }
        if (failures.Count > 0)
        {
            var errors = new List<UndoException>(failures.Values);
            throw errors.Count == 1 ? errors[0] : new MultipleUndoException(errors);
        }

        // UN-5: write them, in the order of the undone transaction's records.
        foreach (Oid oid in order)
        {
            TryGetPosition(oid, out long committed, out _);
            AppendRecord(txn, oid, committed, [], planned[oid.Value]);
        }
        return new UndoResult(txn.Tid, order);
    }

    /// <summary>
    /// UN-3 for one record R of <paramref name="oid"/> at <paramref name="pos"/> whose previous revision is at
    /// <paramref name="pre"/>: null when undoing it is a plain backpointer (or, for a creation, a null backpointer);
    /// else the refusal.
    /// </summary>
    private UndoException? DecideRecord(FsTransaction txn, IStorageFile file, long end, Oid oid, long pos, long pre,
        Dictionary<ulong, long> planned)
    {
        // The current revision: one decided by this call, else one written earlier in this transaction, else the
        // committed one. Its data pointer is its own position when it has a payload, else its backpointer.
        long currentPos;
        long dataPointer;
        bool inTransaction;
        if (planned.TryGetValue(oid.Value, out long plannedBack))
        {
            currentPos = -1;
            dataPointer = plannedBack;
            inTransaction = true;
        }
        else if (txn.Positions.TryGetValue(oid.Value, out long own))
        {
            currentPos = own;
            dataPointer = OwnRecordDataPointer(txn, file, own, oid);
            inTransaction = true;
        }
        else if (TryGetPosition(oid, out long committed, out _))
        {
            currentPos = committed;
            DataHeader ch = ReadDataHeader(file, committed, end, oid);
            dataPointer = ch.IsBackPointer ? ReadBackPointer(file, committed) : committed;
            inTransaction = false;
        }
        else
        {
            return new UndoException("the object is not in the storage's index", oid);
        }
        if (currentPos == pos || dataPointer == pos)
        {
            return null; // R is current, or the current revision shares R's bytes: a plain undo
        }
        // Not current: the undo is still plain when the current state equals R's state (UN-3.2).
        long rData = ResolveDataPosition(file, end, oid, pos);
        long cData = dataPointer == 0 ? 0
            : inTransaction && txn.Positions.TryGetValue(oid.Value, out long ownPos) && dataPointer == ownPos
                ? -1 // a payload written in this transaction: compare bytes below
                : ResolveDataPosition(file, end, oid, dataPointer);
        if (rData != 0 && rData == cData)
        {
            return null;
        }
        if (rData == 0 && cData == 0)
        {
            return null; // both revisions say "no such object"
        }
        if (rData == 0 || cData == 0)
        {
            return new UndoException(
                "Some data were modified by a later transaction: one of the two revisions has no data (deleted or its creation undone), so they cannot be compared (ZODB: _loadBack() failed)", oid);
        }
        byte[] rBytes = ReadDataAt(file, end, oid, rData);
        byte[] cBytes = cData == -1 ? ReadOwnPayload(txn, file, dataPointer, oid) : ReadDataAt(file, end, oid, cData);
        if (rBytes.AsSpan().SequenceEqual(cBytes))
        {
            return null;
        }
        if (pre == 0)
        {
            return new UndoException("Can't undo an add transaction followed by conflicting transactions.", oid);
        }
        // ZODB would try the class's conflict resolution here; we have none (UN-6).
        return new UndoException("Some data were modified by a later transaction", oid);
    }

    /// <summary>The position of the record holding the payload reached from <paramref name="pos"/> through backpointers; 0 for none.</summary>
    private long ResolveDataPosition(IStorageFile file, long end, Oid oid, long pos)
    {
        DataHeader h = ReadDataHeader(file, pos, end, oid);
        while (h.IsBackPointer)
        {
            long back = ReadBackPointer(file, pos);
            if (back == 0)
            {
                return 0;
            }
            pos = back;
            h = ReadDataHeader(file, pos, end, oid);
        }
        return pos;
    }

    private byte[] ReadDataAt(IStorageFile file, long end, Oid oid, long pos) =>
        ReadData(file, ReadDataHeader(file, pos, end, oid), pos, end, out _) ?? [];

    /// <summary>The data pointer of a record written earlier in this transaction (own position, or its backpointer).</summary>
    private long OwnRecordDataPointer(FsTransaction txn, IStorageFile file, long pos, Oid oid)
    {
        Span<byte> b = stackalloc byte[DataHeader.Size + DataHeader.BackPointerSize];
        ReadOwn(txn, file, pos, b);
        DataHeader h = DataHeader.Parse(b);
        return h.IsBackPointer ? DataHeader.ReadBackPointer(b[DataHeader.Size..]) : pos;
    }

    private byte[] ReadOwnPayload(FsTransaction txn, IStorageFile file, long pos, Oid oid)
    {
        Span<byte> b = stackalloc byte[DataHeader.Size];
        ReadOwn(txn, file, pos, b);
        DataHeader h = DataHeader.Parse(b);
        byte[] data = new byte[(int)h.DataLength];
        ReadOwn(txn, file, pos + DataHeader.Size, data);
        return data;
    }

    private void ReadOwn(FsTransaction txn, IStorageFile file, long pos, Span<byte> destination)
    {
        if (!txn.TryReadBuffered(pos, destination) && file.ReadAt(pos, destination) < destination.Length)
        {
            throw new FileStorageException(string.Create(CultureInfo.InvariantCulture,
                $"{Name}: a record of the transaction being committed at {pos} could not be read back"));
        }
    }

    /// <summary>The position of the committed transaction with tid <paramref name="tid"/>, searching back from the end; null when none.</summary>
    private long? FindTransaction(IStorageFile file, long end, Tid tid)
    {
        using var window = new FileWindow(file, end, 64 << 10);
        long pos = end;
        while (pos > FileHeader.DataStart)
        {
            long tpos = PreviousTransaction(window, pos);
            TxnHeader h = ReadUndoHeader(window, tpos, pos);
            if (h.Tid == tid)
            {
                return tpos;
            }
            if (h.Tid < tid)
            {
                return null; // tids increase with position (FS-2.4)
            }
            pos = tpos;
        }
        return null;
    }

    /// <summary>The header of the transaction at <paramref name="tpos"/>, checked to end exactly at <paramref name="next"/>.</summary>
    private TxnHeader ReadUndoHeader(FileWindow window, long tpos, long next)
    {
        ReadOnlySpan<byte> b = window.Read(tpos, TxnHeader.Size);
        if (b.Length < TxnHeader.Size)
        {
            throw Corrupt(new FormatError(RecordKind.TransactionHeader, tpos, "header fits", "end of data inside a header"));
        }
        TxnHeader h = TxnHeader.Parse(b);
        if (h.CheckBounds(tpos, next) is FormatError e)
        {
            throw Corrupt(e);
        }
        if (h.NextPosition(tpos) != next || !h.IsFinished)
        {
            throw Corrupt(new FormatError(RecordKind.Transaction, tpos, "redundant length leads to a finished transaction",
                string.Create(CultureInfo.InvariantCulture, $"trailer before {next} leads to {tpos}, which ends at {h.NextPosition(tpos)} with status 0x{(byte)h.Status:x2}")));
        }
        return h;
    }
}
