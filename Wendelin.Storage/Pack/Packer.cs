using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Pack;

/// <summary>
/// One attempt at packing a data file (spec/pack.md §2): phase A scans the packed region (tid ≤ pack tid), phase B
/// decides which of its revisions to keep, phase C writes them to <c>NAME.pack</c>, phase D copies the transactions
/// after the pack time. The swap (phase E) is the storage's (FileStorage.Pack.cs). The packer only reads committed
/// bytes of the source, so it runs beside commits; commits made meanwhile are copied by further phase-D calls.
/// </summary>
internal sealed class Packer
{
    private const int ChunkSize = 1 << 20;

    private readonly Fs.FileStorage _storage;
    private readonly IStorageFile _source;
    private readonly Tid _packTid;
    private readonly bool _gc;
    private readonly IProgress<PackProgress>? _progress;
    private readonly CancellationToken _cancel;

    // Phase A: the state of every object at the pack time.
    private readonly Dictionary<ulong, long> _current = []; // oid → its pack-time record (payload or non-null backpointer)
    private readonly Dictionary<ulong, long> _deleted = []; // oid → its last record, when that says "no such object"

    // Phase B: what to keep.
    private readonly HashSet<long> _keep = [];
    private readonly Dictionary<ulong, long> _laterOids = []; // oid → its last record after the pack time (in the scanned part)
    private readonly HashSet<ulong> _pinnedOids = [];
    private readonly List<(ulong Oid, ulong Referrer)> _laterRoots = [];

    // Phases C and D: the new file.
    private readonly PositionMap _map = new();
    private readonly FsIndex _index = new();
    private byte[] _scratch = ArrayPool<byte>.Shared.Rent(64 << 10);
    private long _decideEnd;
    private long _trustedEnd = -1; // end of the later region copied by constant shift
    private long _shift;
    private long _reported = -1;

    public Packer(Fs.FileStorage storage, IStorageFile source, Tid packTid, bool gc, IProgress<PackProgress>? progress, CancellationToken cancel)
    {
        _storage = storage;
        _source = source;
        _packTid = packTid;
        _gc = gc;
        _progress = progress;
        _cancel = cancel;
    }

    /// <summary>Position of the first transaction after the pack time (the end of the packed region).</summary>
    public long PackPosition { get; private set; } = FileHeader.DataStart;

    public int RegionTransactions { get; private set; }

    public long RegionRecords { get; private set; }

    public int KeptTransactions { get; private set; }

    public long KeptRecords => _keep.Count;

    public int KeptForLaterReferences { get; private set; }

    /// <summary>True when a previous pack already produced this region (PK-A3): every transaction in it and the one after it are 'p'.</summary>
    public bool IsRedundant { get; private set; }

    /// <summary>The index of the new file so far: oid → its last record there (deletions included).</summary>
    public FsIndex Index => _index;

    /// <summary>Phase A (PK-A1, PK-A2): validates the packed region and records each object's pack-time revision.</summary>
    public void ScanPackedRegion(long end)
    {
        using var window = new FileWindow(_source, end);
        var records = new List<RecordLocation>();
        long pos = FileHeader.DataStart;
        Tid last = Tid.Zero;
        bool allPacked = true;
        TransactionStatus next = TransactionStatus.Packed;
        while (pos < end)
        {
            _cancel.ThrowIfCancellationRequested();
            records.Clear();
            TxnHeader h = ValidateTransaction(window, pos, records, ref last);
            if (h.Tid > _packTid)
            {
                next = h.Status;
                break;
            }
            next = h.Status;
            allPacked &= h.Status == TransactionStatus.Packed;
            RegionTransactions++;
            foreach (RecordLocation r in records)
            {
                RegionRecords++;
                ReadOnlySpan<byte> hb = window.Read(r.Position, DataHeader.Size + DataHeader.BackPointerSize);
                bool none = DataHeader.Parse(hb).IsBackPointer && DataHeader.ReadBackPointer(hb[DataHeader.Size..]) == 0;
                if (none)
                {
                    _current.Remove(r.Oid.Value);
                    _deleted[r.Oid.Value] = r.Position;
                }
                else
                {
                    _current[r.Oid.Value] = r.Position;
                    _deleted.Remove(r.Oid.Value);
                }
            }
            pos = h.NextPosition(pos);
            Report(PackPhase.Scan, pos, end);
        }
        PackPosition = pos;
        IsRedundant = RegionTransactions > 0 && allPacked && next == TransactionStatus.Packed;
    }

    /// <summary>
    /// Phase B (PK-G1..PK-G5): scans the records after the pack time for backpointers into the packed region (their
    /// targets are kept) and, with GC, for references (roots besides the root object); then keeps the pack-time
    /// revision of every object reachable from those roots, or of every object without GC.
    /// </summary>
    public void DecideKept(long end)
    {
        _decideEnd = end;
        ScanLaterRecords(end);
        if (!_gc)
        {
            foreach (long pos in _current.Values)
            {
                _keep.Add(pos);
            }
            return;
        }
        var work = new Stack<(ulong Oid, ulong Referrer)>();
        var marked = new HashSet<ulong>();
        var dangling = new List<(ulong Oid, ulong Referrer)>();
        if (_current.ContainsKey(0))
        {
            work.Push((0, 0));
        }
        Mark(work, marked, dangling);
        int fromRoot = marked.Count;
        foreach ((ulong oid, ulong referrer) in _laterRoots)
        {
            work.Push((oid, referrer));
        }
        Mark(work, marked, dangling);
        foreach (ulong oid in marked)
        {
            if (_current.ContainsKey(oid))
            {
                fromRoot--;
            }
        }
        KeptForLaterReferences = -fromRoot;
        if (dangling.Count > 0)
        {
            string list = string.Join(", ", dangling.Take(5).Select(d =>
                d.Referrer == ulong.MaxValue ? $"{new Oid(d.Oid)}" : $"{new Oid(d.Referrer)} → {new Oid(d.Oid)}"));
            throw new PackException(string.Create(CultureInfo.InvariantCulture,
                $"{_storage.Name}: {dangling.Count} reference(s) to objects that do not exist at the pack time and are not written later ({list}): the database already has dangling references; run `wendelin verify`, or pack without garbage collection"));
        }
    }

    private void Mark(Stack<(ulong Oid, ulong Referrer)> work, HashSet<ulong> marked, List<(ulong, ulong)> dangling)
    {
        while (work.Count > 0)
        {
            (ulong oid, ulong referrer) = work.Pop();
            if (!marked.Add(oid))
            {
                continue;
            }
            if (_current.TryGetValue(oid, out long pos))
            {
                _cancel.ThrowIfCancellationRequested();
                _keep.Add(pos);
                foreach (Oid r in ReferencesAt(new Oid(oid), pos, _decideEnd))
                {
                    work.Push((r.Value, oid));
                }
            }
            else if (!_laterOids.ContainsKey(oid) && !_pinnedOids.Contains(oid))
            {
                dangling.Add((oid, referrer));
            }
        }
    }

    /// <summary>Phase B's scan of the records after the pack time.</summary>
    private void ScanLaterRecords(long end)
    {
        using var window = new FileWindow(_source, end);
        var records = new List<RecordLocation>();
        Tid last = Tid.Zero;
        long pos = PackPosition;
        while (pos < end)
        {
            _cancel.ThrowIfCancellationRequested();
            records.Clear();
            TxnHeader h = ValidateTransaction(window, pos, records, ref last);
            foreach (RecordLocation r in records)
            {
                ulong oid = r.Oid.Value;
                _laterOids[oid] = r.Position;
                ReadOnlySpan<byte> hb = window.Read(r.Position, DataHeader.Size + DataHeader.BackPointerSize);
                DataHeader dh = DataHeader.Parse(hb);
                if (dh.IsBackPointer)
                {
                    long back = DataHeader.ReadBackPointer(hb[DataHeader.Size..]);
                    if (back != 0 && back < PackPosition)
                    {
                        Pin(r.Oid, back);
                    }
                    // A backpointer into the later region shares the bytes of a record scanned on its own.
                }
                else if (_gc)
                {
                    foreach (Oid target in ReferencesOfPayload(window, r.Oid, r.Position, (long)dh.DataLength))
                    {
                        _laterRoots.Add((target.Value, oid));
                    }
                }
            }
            pos = h.NextPosition(pos);
            Report(PackPhase.Reachability, pos - PackPosition, end - PackPosition);
        }
    }

    /// <summary>
    /// PK-G3: a record after the pack time points back at revision <paramref name="back"/> of the packed region (an
    /// undo of something before the pack time): that revision is kept, with GC its references are followed, and
    /// when the object did not exist at the pack time its deletion record is kept too, so history stays exact.
    /// </summary>
    private void Pin(Oid oid, long back)
    {
        if (!_keep.Add(back))
        {
            return;
        }
        _pinnedOids.Add(oid.Value);
        // The object's pack-time revision stays too, so its history after the pack time reads as before and the
        // later records' prev pointers name what the index holds (FS-4.3).
        if (_deleted.TryGetValue(oid.Value, out long deletion) && deletion > back)
        {
            _keep.Add(deletion);
        }
        if (_current.ContainsKey(oid.Value))
        {
            _laterRoots.Add((oid.Value, oid.Value)); // kept, and its references followed, by the marking (or kept without GC)
        }
        if (_gc)
        {
            foreach (Oid target in ReferencesAt(oid, back, _decideEnd))
            {
                _laterRoots.Add((target.Value, oid.Value));
            }
        }
    }

    /// <summary>Phase C (PK-C1..PK-C3): writes the kept revisions, transaction by transaction, with status 'p', prev 0 and inline data.</summary>
    public void WritePackedRegion(PackOutput output, long end)
    {
        long[] kept = [.. _keep];
        Array.Sort(kept);
        Span<byte> header = stackalloc byte[DataHeader.Size + DataHeader.BackPointerSize];
        int i = 0;
        while (i < kept.Length)
        {
            _cancel.ThrowIfCancellationRequested();
            DataHeader h = ReadHeader(kept[i], end);
            long tpos = h.Tloc;
            TxnHeader th = ReadTransactionHeader(tpos, end);
            long newTpos = output.Position;
            byte[] meta = ReadBytes(tpos, th.HeaderLength);
            new TxnHeader(th.Tid, 0, TransactionStatus.Packed, th.UserLength, th.DescriptionLength, th.ExtensionLength).Write(meta);
            output.Write(meta);
            while (true)
            {
                byte[]? data = _storage.ReadData(_source, h, kept[i], end, out _);
                long newPos = output.Position;
                new DataHeader(h.Oid, h.Tid, 0, newTpos, 0, (ulong)(data?.Length ?? 0)).Write(header);
                if (data is null)
                {
                    DataHeader.WriteBackPointer(header[DataHeader.Size..], 0);
                    output.Write(header);
                }
                else
                {
                    output.Write(header[..DataHeader.Size]);
                    output.Write(data);
                }
                _map.Add(kept[i], newPos);
                _index.Set(h.Oid, newPos, h.Tid);
                if (++i == kept.Length)
                {
                    break;
                }
                h = ReadHeader(kept[i], end);
                if (h.Tloc != tpos)
                {
                    break;
                }
            }
            FinishTransaction(output, newTpos);
            KeptTransactions++;
            Report(PackPhase.CopyPacked, i, kept.Length);
        }
    }

    /// <summary>
    /// Phase D (PK-D1): copies the transactions in [<paramref name="from"/>, <paramref name="to"/>) of the source:
    /// same header and payloads, prev rewritten to the new positions, backpointers re-targeted. With
    /// <paramref name="committedDuringPack"/> (commits the reachability phase did not see) it returns false, writing
    /// nothing more, as soon as one of them references an object the pack collected (PK-D3): the caller starts over.
    /// Returns the number of transactions copied, or -1 for "start over".
    /// </summary>
    public int CopyLaterRegion(PackOutput output, long from, long to, bool committedDuringPack)
    {
        if (!committedDuringPack && from == PackPosition && to == _decideEnd && _trustedEnd < 0)
        {
            return CopyScannedLaterRegion(output);
        }
        int copied = 0;
        using var window = new FileWindow(_source, to);
        var records = new List<RecordLocation>();
        var updates = new List<(Oid Oid, long Position, Tid Tid)>();
        Span<byte> header = stackalloc byte[DataHeader.Size + DataHeader.BackPointerSize];
        Tid last = Tid.Zero;
        long pos = from;
        while (pos < to)
        {
            _cancel.ThrowIfCancellationRequested();
            records.Clear();
            TxnHeader h = ValidateTransaction(window, pos, records, ref last);
            if (committedDuringPack && ReferencesCollected(window, records, to))
            {
                return -1;
            }
            long newTpos = output.Position;
            byte[] meta = window.Read(pos, h.HeaderLength).ToArray();
            new TxnHeader(h.Tid, 0, h.Status, h.UserLength, h.DescriptionLength, h.ExtensionLength).Write(meta);
            output.Write(meta);
            updates.Clear();
            foreach (RecordLocation r in records)
            {
                DataHeader dh = DataHeader.Parse(window.Read(r.Position, DataHeader.Size));
                long prev = _index.TryGet(dh.Oid, out long p) ? p : 0;
                long newPos = output.Position;
                if (!dh.IsBackPointer)
                {
                    new DataHeader(dh.Oid, dh.Tid, prev, newTpos, 0, dh.DataLength).Write(header);
                    output.Write(header[..DataHeader.Size]);
                    CopyPayload(window, output, r.Position + DataHeader.Size, (long)dh.DataLength);
                }
                else
                {
                    long back = DataHeader.ReadBackPointer(window.Read(r.Position + DataHeader.Size, DataHeader.BackPointerSize));
                    long newBack = 0;
                    if (back == 0 || TryNewPosition(back, out newBack))
                    {
                        new DataHeader(dh.Oid, dh.Tid, prev, newTpos, 0, 0).Write(header);
                        DataHeader.WriteBackPointer(header[DataHeader.Size..], newBack);
                        output.Write(header);
                    }
                    else
                    {
                        // PK-D2: a commit made during the pack points at a revision the pack did not keep; its
                        // bytes go inline (ZODB does the same when it finds no record to point at).
                        byte[]? data = _storage.ReadData(_source, dh, r.Position, to, out _);
                        new DataHeader(dh.Oid, dh.Tid, prev, newTpos, 0, (ulong)(data?.Length ?? 0)).Write(header);
                        if (data is null)
                        {
                            DataHeader.WriteBackPointer(header[DataHeader.Size..], 0);
                            output.Write(header);
                        }
                        else
                        {
                            output.Write(header[..DataHeader.Size]);
                            output.Write(data);
                        }
                    }
                }
                _map.Add(r.Position, newPos);
                updates.Add((dh.Oid, newPos, dh.Tid));
            }
            FinishTransaction(output, newTpos);
            foreach ((Oid oid, long newPos, Tid tid) in updates)
            {
                _index.Set(oid, newPos, tid); // after the transaction: two records of one object share its prev (FS-4)
            }
            pos = h.NextPosition(pos);
            copied++;
            Report(PackPhase.CopyRest, pos - from, to - from);
        }
        return copied;
    }

    /// <summary>
    /// PK-D1 for the part of the later region phase B validated: its transactions keep their sizes, so every record
    /// moves by one constant shift; the bytes are streamed through a large buffer and only tloc, prev and backpointers
    /// are rewritten in place. The new index gets each object's last record of the region at the end.
    /// </summary>
    private int CopyScannedLaterRegion(PackOutput output)
    {
        long from = PackPosition, to = _decideEnd;
        _shift = from - output.Position;
        _trustedEnd = to;
        const int Chunk = 4 << 20;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Chunk);
        int copied = 0;
        try
        {
            long pos = from;
            while (pos < to)
            {
                _cancel.ThrowIfCancellationRequested();
                int got = _source.ReadAt(pos, buffer.AsSpan(0, (int)Math.Min(Chunk, to - pos)));
                Span<byte> b = buffer.AsSpan(0, got);
                int done = 0;
                while (done + TxnHeader.Size <= b.Length)
                {
                    TxnHeader h = TxnHeader.Parse(b[done..]);
                    long size = (long)h.Length + TxnHeader.TrailerSize;
                    if (size > b.Length - done)
                    {
                        break;
                    }
                    PatchTransaction(b.Slice(done, (int)size), pos + done, h);
                    done += (int)size;
                    copied++;
                }
                if (done == 0)
                {
                    // one transaction larger than the buffer: copied record by record
                    if (CopyOneLarge(output, pos) is not long next)
                    {
                        throw Corrupt(pos, RecordKind.Transaction, "transaction fits", "the later region changed under the pack");
                    }
                    copied++;
                    pos = next;
                    continue;
                }
                output.Write(b[..done]);
                pos += done;
                Report(PackPhase.CopyRest, pos - from, to - from);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        foreach ((ulong oid, long last) in _laterOids)
        {
            _index.Set(new Oid(oid), last - _shift);
        }
        return copied;
    }

    /// <summary>Rewrites tloc, prev and backpointers of one transaction (validated by phase B) at old position <paramref name="tpos"/>.</summary>
    private void PatchTransaction(Span<byte> t, long tpos, TxnHeader h)
    {
        if (h.Status == TransactionStatus.Undone)
        {
            return; // its records are not records (ZODB skips them): copied as they are
        }
        int end = (int)h.Length;
        for (int at = h.HeaderLength; at < end;)
        {
            Span<byte> r = t[at..];
            DataHeader d = DataHeader.Parse(r);
            long prev = d.Prev == 0 ? 0 : TryNewPosition(d.Prev, out long np) ? np : 0;
            BinaryPrimitives.WriteUInt64BigEndian(r[16..], (ulong)prev);
            BinaryPrimitives.WriteUInt64BigEndian(r[24..], (ulong)(tpos - _shift));
            if (d.IsBackPointer)
            {
                long back = DataHeader.ReadBackPointer(r[DataHeader.Size..]);
                if (back != 0)
                {
                    if (!TryNewPosition(back, out long nb))
                    {
                        throw Corrupt(tpos + at, RecordKind.BackPointer, "backpointer target kept", "a backpointer into the packed region whose target was not kept");
                    }
                    DataHeader.WriteBackPointer(r[DataHeader.Size..], nb);
                }
            }
            at += (int)d.RecordLength;
        }
    }

    /// <summary>A transaction larger than the copy buffer, record by record (same patches); the position after it.</summary>
    private long? CopyOneLarge(PackOutput output, long pos)
    {
        using var window = new FileWindow(_source, _decideEnd);
        var records = new List<RecordLocation>();
        Tid last = Tid.Zero;
        TxnHeader h = ValidateTransaction(window, pos, records, ref last);
        Span<byte> header = stackalloc byte[DataHeader.Size + DataHeader.BackPointerSize];
        output.Write(window.Read(pos, h.HeaderLength));
        foreach (RecordLocation r in records)
        {
            window.Read(r.Position, DataHeader.Size + DataHeader.BackPointerSize).CopyTo(header);
            DataHeader d = DataHeader.Parse(header);
            int size = d.IsBackPointer ? DataHeader.Size + DataHeader.BackPointerSize : DataHeader.Size;
            PatchRecordHeader(header, pos, r.Position);
            output.Write(header[..size]);
            if (!d.IsBackPointer)
            {
                CopyPayload(window, output, r.Position + DataHeader.Size, (long)d.DataLength);
            }
        }
        Span<byte> trailer = stackalloc byte[TxnHeader.TrailerSize];
        TxnHeader.WriteTrailer(trailer, h.Length);
        output.Write(trailer);
        return h.NextPosition(pos);
    }

    private void PatchRecordHeader(Span<byte> r, long tpos, long rpos)
    {
        DataHeader d = DataHeader.Parse(r);
        long prev = d.Prev == 0 ? 0 : TryNewPosition(d.Prev, out long np) ? np : 0;
        BinaryPrimitives.WriteUInt64BigEndian(r[16..], (ulong)prev);
        BinaryPrimitives.WriteUInt64BigEndian(r[24..], (ulong)(tpos - _shift));
        if (d.IsBackPointer && DataHeader.ReadBackPointer(r[DataHeader.Size..]) is long back && back != 0)
        {
            if (!TryNewPosition(back, out long nb))
            {
                throw Corrupt(rpos, RecordKind.BackPointer, "backpointer target kept", "a backpointer into the packed region whose target was not kept");
            }
            DataHeader.WriteBackPointer(r[DataHeader.Size..], nb);
        }
    }

    /// <summary>Where the record at old position <paramref name="old"/> is in the new file, when it was kept.</summary>
    private bool TryNewPosition(long old, out long position)
    {
        if (_trustedEnd >= 0 && old >= PackPosition && old < _trustedEnd)
        {
            position = old - _shift;
            return true;
        }
        return _map.TryGet(old, out position);
    }

    /// <summary>PK-D3: does a transaction committed during the pack reference (or restore) an object the pack collected?</summary>
    private bool ReferencesCollected(FileWindow window, List<RecordLocation> records, long end)
    {
        if (!_gc)
        {
            return false;
        }
        foreach (RecordLocation r in records)
        {
            DataHeader dh = DataHeader.Parse(window.Read(r.Position, DataHeader.Size));
            IReadOnlyList<Oid> refs;
            if (!dh.IsBackPointer)
            {
                refs = ReferencesOfPayload(window, dh.Oid, r.Position, (long)dh.DataLength);
            }
            else
            {
                long back = DataHeader.ReadBackPointer(window.Read(r.Position + DataHeader.Size, DataHeader.BackPointerSize));
                if (back == 0 || TryNewPosition(back, out _))
                {
                    continue;
                }
                refs = ReferencesAt(dh.Oid, r.Position, end);
            }
            foreach (Oid target in refs)
            {
                if (_current.ContainsKey(target.Value) && !_index.TryGet(target, out _) && !WrittenIn(records, target))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static bool WrittenIn(List<RecordLocation> records, Oid oid)
    {
        foreach (RecordLocation r in records)
        {
            if (r.Oid == oid)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The strong references of the revision at <paramref name="pos"/> (following backpointers).</summary>
    private IReadOnlyList<Oid> ReferencesAt(Oid oid, long pos, long end)
    {
        DataHeader h = _storage.ReadDataHeader(_source, pos, end, oid);
        byte[]? data = _storage.ReadData(_source, h, pos, end, out _);
        return data is null ? [] : StrongReferences(oid, pos, data);
    }

    private IReadOnlyList<Oid> ReferencesOfPayload(FileWindow window, Oid oid, long pos, long length)
    {
        if (length > Array.MaxLength)
        {
            throw new PackException(string.Create(CultureInfo.InvariantCulture, $"{_storage.Name}: record of {oid} at {pos} is too large to scan for references ({length} bytes)"));
        }
        ReadOnlySpan<byte> payload = window.Read(pos + DataHeader.Size, (int)length);
        if (payload.IndexOfAny((byte)Opcodes.BinPersId, (byte)Opcodes.PersId) < 0)
        {
            return []; // no persistent-id opcode byte anywhere: no reference
        }
        if (_scratch.Length < payload.Length)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = ArrayPool<byte>.Shared.Rent(payload.Length);
        }
        payload.CopyTo(_scratch);
        return StrongReferences(oid, pos, _scratch.AsMemory(0, payload.Length));
    }

    private IReadOnlyList<Oid> StrongReferences(Oid oid, long pos, ReadOnlyMemory<byte> data)
    {
        try
        {
            return ZodbPickle.StrongReferences(data);
        }
        catch (PickleException e)
        {
            throw new PackException(string.Create(CultureInfo.InvariantCulture,
                $"{_storage.Name}: cannot read the references of object {oid} (record at {pos}): {e.Message}; run `wendelin verify`, or pack without garbage collection"), e);
        }
    }

    private void CopyPayload(FileWindow window, PackOutput output, long pos, long length)
    {
        while (length > 0)
        {
            int n = (int)Math.Min(length, ChunkSize);
            ReadOnlySpan<byte> chunk = window.Read(pos, n);
            if (chunk.Length < n)
            {
                throw Corrupt(pos, RecordKind.DataHeader, "payload fits", "end of data inside a payload");
            }
            output.Write(chunk);
            pos += n;
            length -= n;
        }
    }

    private static void FinishTransaction(PackOutput output, long tpos)
    {
        Span<byte> b = stackalloc byte[TxnHeader.TrailerSize];
        ulong tlen = (ulong)(output.Position - tpos);
        TxnHeader.WriteTrailer(b, tlen);
        output.Patch(tpos + 8, b);
        output.Write(b);
    }

    /// <summary>The pack's validation of one transaction (PK-A1): the full check, a finished status, increasing tids.</summary>
    private TxnHeader ValidateTransaction(FileWindow window, long pos, List<RecordLocation> records, ref Tid last)
    {
        if (TxnScanner.Validate(window, pos, out TxnHeader h, records) is FormatError e)
        {
            throw e.ToException(_storage.Name);
        }
        if (!h.IsFinished)
        {
            throw Corrupt(pos, RecordKind.TransactionHeader, "status", "'c' inside the committed data");
        }
        if (h.Tid <= last)
        {
            throw Corrupt(pos, RecordKind.TransactionHeader, "tids increase",
                string.Create(CultureInfo.InvariantCulture, $"time-stamp reduction: {h.Tid} <= {last}"));
        }
        last = h.Tid;
        return h;
    }

    private DataHeader ReadHeader(long pos, long end)
    {
        Span<byte> b = stackalloc byte[DataHeader.Size];
        if (_source.ReadAt(pos, b) < b.Length)
        {
            throw Corrupt(pos, RecordKind.DataHeader, "record lies in the committed data", "end of file");
        }
        DataHeader h = DataHeader.Parse(b);
        if (h.Check(pos, end, -1, null) is FormatError e)
        {
            throw e.ToException(_storage.Name);
        }
        return h;
    }

    private TxnHeader ReadTransactionHeader(long pos, long end)
    {
        Span<byte> b = stackalloc byte[TxnHeader.Size];
        if (_source.ReadAt(pos, b) < b.Length)
        {
            throw Corrupt(pos, RecordKind.TransactionHeader, "header fits", "end of file");
        }
        TxnHeader h = TxnHeader.Parse(b);
        if (h.CheckBounds(pos, end) is FormatError e)
        {
            throw e.ToException(_storage.Name);
        }
        return h;
    }

    private byte[] ReadBytes(long pos, int count)
    {
        byte[] b = new byte[count];
        if (_source.ReadAt(pos, b) < count)
        {
            throw Corrupt(pos, RecordKind.TransactionHeader, "header fits", "end of file inside the metadata");
        }
        return b;
    }

    private CorruptRecordException Corrupt(long pos, RecordKind kind, string check, string detail) =>
        new(_storage.Name, pos, kind, check, detail);

    /// <summary>Reports at most about a thousand times per phase.</summary>
    private void Report(PackPhase phase, long done, long total)
    {
        if (_progress is null)
        {
            return;
        }
        long step = Math.Max(1, total / 1000);
        if (done == total || _reported < 0 || done - _reported >= step || done < _reported)
        {
            _reported = done;
            _progress.Report(new PackProgress(phase, done, total));
        }
    }

    public void Release()
    {
        byte[] b = _scratch;
        _scratch = [];
        if (b.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}
