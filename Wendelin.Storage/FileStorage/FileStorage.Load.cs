using System.Globalization;
using Wendelin.Storage.Format;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Fs;

// Reads (spec/filestorage.md §6, FS-L1..FS-L8). Every read starts from the published index and end position and
// touches only committed bytes, so it needs no lock beyond the short read lock that takes the snapshot.
public sealed partial class FileStorage
{
    public LoadResult Load(Oid oid)
    {
        ThrowIfUnusable();
        if (!TryGetPosition(oid, out long pos, out long end, out IStorageFile file))
        {
            throw new PosKeyException(oid);
        }
        Span<byte> first = stackalloc byte[SpeculativeReadSize];
        DataHeader h = ReadDataHeader(file, pos, end, oid, first, out int got);
        byte[] data = (ReadPayload(file, h, pos, end, out _, null, first[..got]) is { } p ? p.Array : null)
            ?? throw new PosKeyException(oid, "its creation was undone or it was deleted");
        return new LoadResult(data, h.Tid);
    }

    public LoadBeforeResult? LoadBefore(Oid oid, Tid before) => LoadBefore(oid, before, null);

    /// <summary>
    /// <see cref="LoadBefore(Oid, Tid)"/> with the payload read into a buffer from <paramref name="allocate"/> (given
    /// the payload length, it returns an array at least that long, e.g. from a pool): the result's data is the
    /// first bytes of it. For readers of large records (array blocks) that copy the data out at once.
    /// <paramref name="firstRead"/> (at most 16 KiB) is how many bytes the first read takes at the record: a payload
    /// that fits in them costs one read.
    /// </summary>
    internal LoadBeforeResult? LoadBefore(Oid oid, Tid before, Func<int, byte[]>? allocate, int firstRead = SpeculativeReadSize)
    {
        ThrowIfUnusable();
        if (!TryGetPosition(oid, out long pos, out long end, out IStorageFile file))
        {
            throw new PosKeyException(oid);
        }
        Tid? next = null;
        Span<byte> first = stackalloc byte[Math.Clamp(firstRead, DataHeader.Size, 16 << 10)];
        DataHeader h = ReadDataHeader(file, pos, end, oid, first, out int got);
        while (h.Tid >= before)
        {
            next = h.Tid;
            if (h.Prev == 0)
            {
                return null; // FS-L3: the object did not exist before `before`
            }
            (pos, h) = Previous(file, pos, h, end);
            got = 0;
        }
        ReadOnlyMemory<byte> data = ReadPayload(file, h, pos, end, out _, allocate, first[..got]) is { } p ? p.Array.AsMemory(0, p.Length)
            : throw new PosKeyException(oid, string.Create(CultureInfo.InvariantCulture, $"deleted or its creation undone as of {h.Tid}"));
        return new LoadBeforeResult(data, h.Tid, next);
    }

    public ReadOnlyMemory<byte> LoadSerial(Oid oid, Tid serial)
    {
        ThrowIfUnusable();
        if (!TryGetPosition(oid, out long pos, out long end, out IStorageFile file))
        {
            throw new PosKeyException(oid);
        }
        DataHeader h = ReadDataHeader(file, pos, end, oid);
        while (true)
        {
            if (h.Tid == serial)
            {
                return ReadData(file, h, pos, end, out _)
                    ?? throw new PosKeyException(oid, $"revision {serial} is a deletion");
            }
            if (h.Tid < serial || h.Prev == 0)
            {
                throw new PosKeyException(oid, $"no revision {serial}");
            }
            (pos, h) = Previous(file, pos, h, end);
        }
    }

    /// <summary>The serial of the current revision; <see cref="PosKeyException"/> if unknown or deleted (FS-L5).</summary>
    public Tid GetTid(Oid oid)
    {
        ThrowIfUnusable();
        if (!TryGetPosition(oid, out long pos, out long end, out IStorageFile file))
        {
            throw new PosKeyException(oid);
        }
        DataHeader h = ReadDataHeader(file, pos, end, oid);
        if (h.IsBackPointer && ReadBackPointer(file, pos) == 0)
        {
            throw new PosKeyException(oid, "its creation was undone or it was deleted");
        }
        return h.Tid;
    }

    /// <summary>
    /// The revisions of <paramref name="oid"/>, newest first, at most <paramref name="size"/> (ZODB <c>history</c>,
    /// FS-L6): tid, time, the transaction's user, description and extension, and the record's payload length
    /// (0 for a backpointer).
    /// </summary>
    public IReadOnlyList<HistoryEntry> History(Oid oid, int size = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ThrowIfUnusable();
        if (!TryGetPosition(oid, out long pos, out long end, out IStorageFile file))
        {
            throw new PosKeyException(oid);
        }
        var entries = new List<HistoryEntry>();
        DataHeader h = ReadDataHeader(file, pos, end, oid);
        while (true)
        {
            TransactionMetadataBytes meta = ReadTransactionMetadata(file, h.Tloc, pos, h.Tid);
            entries.Add(new HistoryEntry(h.Tid, h.Tid.TimeTime, meta.User, meta.Description, meta.Extension, (long)h.DataLength));
            if (entries.Count == size || h.Prev == 0)
            {
                return entries;
            }
            (pos, h) = Previous(file, pos, h, end);
        }
    }

    /// <summary>
    /// Current-record iteration in oid order (ZODB <c>record_iternext</c>, FS-L7): the smallest indexed oid ≥
    /// <paramref name="next"/> with its serial and data, and the oid after it (null at the end); null when no oid
    /// is ≥ <paramref name="next"/>. <see cref="PosKeyException"/> when that object is deleted.
    /// </summary>
    public RecordIteration? RecordIterNext(Oid next = default)
    {
        ThrowIfUnusable();
        Oid oid;
        Oid? after;
        _state.EnterReadLock();
        try
        {
            ulong[] sorted = _index.SortedOids();
            int i = Array.BinarySearch(sorted, next.Value);
            if (i < 0)
            {
                i = ~i;
            }
            if (i >= sorted.Length)
            {
                return null;
            }
            oid = new Oid(sorted[i]);
            after = i + 1 < sorted.Length ? new Oid(sorted[i + 1]) : null;
        }
        finally
        {
            _state.ExitReadLock();
        }
        LoadResult r = Load(oid);
        return new RecordIteration(oid, r.Serial, r.Data, after);
    }

    /// <summary>
    /// Every indexed oid with the position of its current record (which may be a deletion), in oid order: what
    /// dump and verify tools walk.
    /// </summary>
    public IReadOnlyList<(Oid Oid, long Position)> CurrentRecords()
    {
        ThrowIfUnusable();
        _state.EnterReadLock();
        try
        {
            return [.. _index.Entries()];
        }
        finally
        {
            _state.ExitReadLock();
        }
    }

    /// <summary>
    /// The last <paramref name="count"/> transactions as (tid, oids in record order), oldest first (ZODB
    /// <c>lastInvalidations</c>, FS-L8).
    /// </summary>
    public IReadOnlyList<(Tid Tid, IReadOnlyList<Oid> Oids)> LastInvalidations(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ThrowIfUnusable();
        (long end, _, IStorageFile file) = SnapshotWithFile();
        var result = new List<(Tid, IReadOnlyList<Oid>)>();
        using var window = new FileWindow(file, end, 64 << 10);
        var records = new List<RecordLocation>();
        long pos = end;
        while (result.Count < count && pos > FileHeader.DataStart)
        {
            long tpos = PreviousTransaction(window, pos);
            records.Clear();
            if (TxnScanner.Validate(window, tpos, out TxnHeader h, records) is FormatError e)
            {
                throw Corrupt(e);
            }
            if (h.Status != TransactionStatus.Undone)
            {
                var oids = new List<Oid>(records.Count);
                var seen = new HashSet<ulong>();
                foreach (RecordLocation r in records)
                {
                    if (seen.Add(r.Oid.Value))
                    {
                        oids.Add(r.Oid);
                    }
                }
                result.Add((h.Tid, oids));
            }
            pos = tpos;
        }
        result.Reverse();
        return result;
    }

    /// <summary>The position of the transaction that ends just before <paramref name="pos"/>, found through its trailer.</summary>
    private long PreviousTransaction(FileWindow window, long pos)
    {
        ReadOnlySpan<byte> t = window.Read(pos - TxnHeader.TrailerSize, TxnHeader.TrailerSize);
        ulong tlen = t.Length == TxnHeader.TrailerSize ? TxnHeader.ReadTrailer(t) : ulong.MaxValue;
        long room = pos - TxnHeader.TrailerSize - FileHeader.DataStart;
        if (tlen < TxnHeader.Size || room < 0 || tlen > (ulong)room)
        {
            throw Corrupt(new FormatError(RecordKind.Transaction, pos - TxnHeader.TrailerSize, "redundant length points back into the file",
                string.Create(CultureInfo.InvariantCulture, $"trailer {tlen} before position {pos}")));
        }
        return pos - TxnHeader.TrailerSize - (long)tlen;
    }

    /// <summary>Reads and checks the data header at <paramref name="pos"/>, which must hold <paramref name="oid"/>.</summary>
    internal DataHeader ReadDataHeader(IStorageFile file, long pos, long end, Oid oid) =>
        ReadDataHeader(file, pos, end, oid, stackalloc byte[DataHeader.Size], out _);

    /// <summary>
    /// Loads read this many bytes at a record's position in one call: the header and, for the small records most
    /// objects have, the whole payload, so a load costs one read instead of two.
    /// </summary>
    private const int SpeculativeReadSize = 4096;

    /// <summary>
    /// <see cref="ReadDataHeader(IStorageFile, long, long, Oid)"/>, reading up to <c>buffer.Length</c> bytes at
    /// <paramref name="pos"/> (never past the committed end); <paramref name="got"/> of them are in <paramref name="buffer"/>.
    /// </summary>
    internal DataHeader ReadDataHeader(IStorageFile file, long pos, long end, Oid oid, Span<byte> buffer, out int got)
    {
        Span<byte> b = buffer;
        got = 0;
        if (pos < FileHeader.DataStart + TxnHeader.Size || pos > end - DataHeader.Size
            || (got = file.ReadAt(pos, b[..(int)Math.Min(b.Length, end - pos)])) < DataHeader.Size)
        {
            throw Corrupt(new FormatError(RecordKind.DataHeader, pos, "record lies in the committed data",
                string.Create(CultureInfo.InvariantCulture, $"position {pos} for {oid}, committed end {end}")));
        }
        DataHeader h = DataHeader.Parse(b);
        if (h.Check(pos, end, -1, null) is FormatError e)
        {
            throw Corrupt(e);
        }
        if (h.Oid != oid)
        {
            throw Corrupt(new FormatError(RecordKind.DataHeader, pos, "record holds the expected object",
                $"found {h.Oid}, expected {oid}"));
        }
        return h;
    }

    private (long Position, DataHeader Header) Previous(IStorageFile file, long pos, DataHeader h, long end)
    {
        long prev = h.Prev; // Check() guaranteed prev < pos
        DataHeader p = ReadDataHeader(file, prev, end, h.Oid);
        if (p.Tid >= h.Tid)
        {
            throw Corrupt(new FormatError(RecordKind.DataHeader, pos, "prev names an older revision",
                $"prev record at {prev} has tid {p.Tid}, not before {h.Tid}"));
        }
        return (prev, p);
    }

    private long ReadBackPointer(IStorageFile file, long pos)
    {
        Span<byte> b = stackalloc byte[DataHeader.BackPointerSize];
        if (file.ReadAt(pos + DataHeader.Size, b) < b.Length)
        {
            throw Corrupt(new FormatError(RecordKind.BackPointer, pos, "backpointer fits", "file ends inside the backpointer"));
        }
        long back = DataHeader.ReadBackPointer(b);
        if (back != 0 && DataHeader.CheckBackPointer(pos, back) is FormatError e)
        {
            throw Corrupt(e);
        }
        return back;
    }

    /// <summary>
    /// The payload of the record at <paramref name="pos"/>, following backpointers (FS-5): null when the chain ends
    /// in a null backpointer (deletion / creation undone). <paramref name="dataTxn"/> is the tid of the record a
    /// backpointer points to directly (one hop), null for a record with data or a null backpointer.
    /// </summary>
    internal byte[]? ReadData(IStorageFile file, DataHeader h, long pos, long end, out Tid? dataTxn) =>
        ReadPayload(file, h, pos, end, out dataTxn, null) is { } p ? p.Array : null;

    /// <summary><see cref="ReadData"/> into a buffer from <paramref name="allocate"/> when given (its first Length bytes).</summary>
    /// <remarks><paramref name="read"/> holds bytes already read at <paramref name="pos"/>: a payload inside them is copied, not read again.</remarks>
    private (byte[] Array, int Length)? ReadPayload(IStorageFile file, DataHeader h, long pos, long end, out Tid? dataTxn, Func<int, byte[]>? allocate,
        ReadOnlySpan<byte> read = default)
    {
        if (!h.IsBackPointer && (ulong)read.Length >= DataHeader.Size + h.DataLength)
        {
            dataTxn = null;
            int n = (int)h.DataLength; // Check() bounded plen by the committed end
            byte[] copy = allocate?.Invoke(n) ?? GC.AllocateUninitializedArray<byte>(n);
            read.Slice(DataHeader.Size, n).CopyTo(copy);
            return (copy, n);
        }
        dataTxn = null;
        bool first = true;
        if (h.IsBackPointer)
        {
            read = default; // the bytes read were at the backpointer's record, not at the payload's
        }
        while (h.IsBackPointer)
        {
            long back = ReadBackPointer(file, pos);
            if (back == 0)
            {
                return null;
            }
            DataHeader target = ReadDataHeader(file, back, end, h.Oid);
            if (first)
            {
                dataTxn = target.Tid;
                first = false;
            }
            pos = back;
            h = target;
        }
        if (h.DataLength > (ulong)Array.MaxLength)
        {
            throw new FileStorageException(string.Create(CultureInfo.InvariantCulture,
                $"{Name}: record of {h.Oid} at {pos} holds {h.DataLength} bytes, more than one array can hold"));
        }
        int length = (int)h.DataLength;
        byte[] data = allocate?.Invoke(length) ?? GC.AllocateUninitializedArray<byte>(length);
        // The start of the payload may already be in the bytes read with the header: only the rest is read.
        int have = Math.Clamp(read.Length - DataHeader.Size, 0, length);
        if (have > 0)
        {
            read.Slice(DataHeader.Size, have).CopyTo(data);
        }
        if (have < length && file.ReadAt(pos + DataHeader.Size + have, data.AsSpan(have, length - have)) < length - have)
        {
            throw Corrupt(new FormatError(RecordKind.DataHeader, pos, "payload fits", "file ends inside the payload"));
        }
        return (data, length);
    }

    /// <summary>User, description and extension of the transaction at <paramref name="tpos"/>, which must contain <paramref name="recordPos"/>.</summary>
    private TransactionMetadataBytes ReadTransactionMetadata(IStorageFile file, long tpos, long recordPos, Tid tid)
    {
        Span<byte> b = stackalloc byte[TxnHeader.Size];
        if (tpos < FileHeader.DataStart || tpos > recordPos - TxnHeader.Size || file.ReadAt(tpos, b) < TxnHeader.Size)
        {
            throw Corrupt(new FormatError(RecordKind.DataHeader, recordPos, "tloc names a transaction before the record",
                string.Create(CultureInfo.InvariantCulture, $"tloc {tpos}")));
        }
        TxnHeader th = TxnHeader.Parse(b);
        if (th.Tid != tid || th.Length < (ulong)th.HeaderLength || (ulong)(recordPos - tpos) >= th.Length
            || tpos + th.HeaderLength > recordPos)
        {
            throw Corrupt(new FormatError(RecordKind.TransactionHeader, tpos, "transaction contains the record",
                string.Create(CultureInfo.InvariantCulture, $"header tid {th.Tid} tlen {th.Length}, record at {recordPos} with tid {tid}")));
        }
        byte[] meta = new byte[th.HeaderLength - TxnHeader.Size];
        file.ReadAt(tpos + TxnHeader.Size, meta);
        return new TransactionMetadataBytes(
            meta.AsMemory(0, th.UserLength),
            meta.AsMemory(th.UserLength, th.DescriptionLength),
            meta.AsMemory(th.UserLength + th.DescriptionLength, th.ExtensionLength));
    }

    private readonly record struct TransactionMetadataBytes(ReadOnlyMemory<byte> User, ReadOnlyMemory<byte> Description, ReadOnlyMemory<byte> Extension);
}

/// <summary>One revision in <see cref="FileStorage.History"/>.</summary>
public sealed record HistoryEntry(Tid Tid, double Time, ReadOnlyMemory<byte> User, ReadOnlyMemory<byte> Description,
    ReadOnlyMemory<byte> ExtensionBytes, long Size);

/// <summary>One step of <see cref="FileStorage.RecordIterNext"/>.</summary>
public sealed record RecordIteration(Oid Oid, Tid Serial, ReadOnlyMemory<byte> Data, Oid? Next);
