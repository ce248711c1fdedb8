using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Pack;

/// <summary>
/// One attempt at packing a data file (spec/pack.md §2): one scan validates the whole file and gathers phase A (each
/// object's pack-time revision) and phase B's facts about the later region (its records, backpointers into the packed
/// region, references); the marking decides which revisions to keep; phase C writes them to <c>NAME.pack</c>, phase D
/// copies the transactions after the pack time (Packer.Copy.cs). The swap (phase E) is the storage's
/// (FileStorage.Pack.cs). The packer only reads committed bytes of the source, so it runs beside commits; commits made
/// meanwhile are copied by further phase-D calls.
/// </summary>
internal sealed partial class Packer
{
    private const int ChunkSize = 1 << 20;

    /// <summary>Phase D's copy reads and writes the later region in chunks of this size.</summary>
    private const int CopyChunk = 4 << 20;

    /// <summary>The scan cuts the later region into segments of about this size for the parallel copy.</summary>
    private const long SegmentSize = 8 << 20;

    private const int MaxCopyWorkers = 4;

    private readonly Fs.FileStorage _storage;
    private readonly IStorageFile _source;
    private readonly Tid _packTid;
    private readonly bool _gc;
    private readonly IProgress<PackProgress>? _progress;
    private readonly CancellationToken _cancel;

    // Phases A and B: every object's state at the pack time and in the later region.
    private readonly ObjectTable _objects;
    private readonly List<(ulong Oid, ulong Referrer)> _laterRoots = []; // PK-G1's roots besides oid 0, each once
    private readonly List<long> _keep = []; // positions of the kept records of the packed region (PK-G1, PK-G3, PK-G5)
    private readonly HashSet<long> _pins = []; // PK-G3's targets

    // Phases C and D: the new file.
    private readonly PositionMap _map = new();
    private readonly FsIndex _index = new();
    private byte[] _scratch = ArrayPool<byte>.Shared.Rent(64 << 10);
    private long[] _kept = [];
    private readonly List<long> _segments = []; // transaction starts cutting the scanned later region for the parallel copy
    private int _nextSegment;
    private long _copiedBytes;
    private int _copiedTransactions;
    private long _decideEnd;
    private long _trustedEnd = -1; // end of the later region copied by constant shift
    private long _shift;
    private PackPhase _reportPhase = (PackPhase)(-1);
    private long _nextReport;
    private long _reported;

    public Packer(Fs.FileStorage storage, IStorageFile source, Tid packTid, bool gc, ulong maxOid, int objects,
        IProgress<PackProgress>? progress, CancellationToken cancel)
    {
        _storage = storage;
        _source = source;
        _packTid = packTid;
        _gc = gc;
        _progress = progress;
        _cancel = cancel;
        _objects = new ObjectTable(maxOid, objects);
    }

    /// <summary>Position of the first transaction after the pack time (the end of the packed region).</summary>
    public long PackPosition { get; private set; } = FileHeader.DataStart;

    public int RegionTransactions { get; private set; }

    public long RegionRecords { get; private set; }

    public int KeptTransactions { get; private set; }

    public long KeptRecords => _kept.Length;

    public int KeptForLaterReferences { get; private set; }

    /// <summary>True when a previous pack already produced this region (PK-A3): every transaction in it and the one after it are 'p'.</summary>
    public bool IsRedundant { get; private set; }

    /// <summary>The index of the new file so far: oid → its last record there (deletions included).</summary>
    public FsIndex Index => _index;

    /// <summary>
    /// Phase A (PK-A1, PK-A2) and the scan of phase B, in one pass over <c>[4, end)</c>: validates every transaction,
    /// records each object's pack-time revision, and in the later region each object's last record, the backpointers
    /// into the packed region (PK-G3) and, with GC, the references of every record (PK-G1's roots). Stops at the pack
    /// time when there is nothing to do (no transaction up to it, or a redundant pack).
    /// </summary>
    public void Scan(long end)
    {
        _decideEnd = end;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_cancel);
        Task<LaterScan>? walk = StartLaterScan(end, stop.Token);
        try
        {
            ScanForward(end, walk);
        }
        finally
        {
            if (walk is not null && !walk.IsCompleted)
            {
                stop.Cancel(); // the forward scan failed or found nothing to do: the walk's findings are not needed
                try
                {
                    walk.Wait(CancellationToken.None);
                }
                catch (AggregateException)
                {
                    // its cancellation, or a failure the forward scan's own outcome supersedes
                }
            }
        }
    }

    /// <summary>
    /// The scan of <see cref="Scan"/> from the start: the packed region, then, unless the backward walk
    /// (<paramref name="walk"/>, Packer.LaterScan.cs) already did it, the later region.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a pack runs once per process: its code gets no warm-up for tiering to use
    private void ScanForward(long end, Task<LaterScan>? walk)
    {
        using var reader = new ChunkReader(_source, end);
        long pos = FileHeader.DataStart;
        Tid last = Tid.Zero;
        bool allPacked = true;
        bool later = false;
        TransactionStatus next = TransactionStatus.Packed;
        var packed = new PackedRegionVisitor(this);
        var laterVisitor = new LaterRegionVisitor(this);
        var none = default(NoVisitor);
        while (pos < end)
        {
            _cancel.ThrowIfCancellationRequested();
            Span<byte> b = reader.At(pos, TxnHeader.Size);
            TxnHeader h;
            if (b.Length >= TxnHeader.Size && TxnHeader.Parse(b).Tid <= _packTid && !later)
            {
                h = ScanTransaction(reader, pos, ref packed, ref last);
                next = h.Status;
                allPacked &= h.Status == TransactionStatus.Packed;
                RegionTransactions++;
                pos = h.NextPosition(pos);
                Report(PackPhase.Scan, pos, end);
                continue;
            }
            if (!later)
            {
                // The first transaction after the pack time: validated before anything is decided (PK-A1).
                Tid before = last;
                h = ScanTransaction(reader, pos, ref none, ref last);
                if (h.Tid <= _packTid)
                {
                    throw Corrupt(pos, RecordKind.TransactionHeader, "header fits", "the transaction changed under the pack");
                }
                next = h.Status;
                PackPosition = pos;
                if (RegionTransactions == 0 || (allPacked && next == TransactionStatus.Packed))
                {
                    break;
                }
                later = true;
                last = before;
                if (walk is not null && TakeLaterScan(walk.GetAwaiter().GetResult(), pos))
                {
                    Report(PackPhase.Reachability, end - pos, end - pos);
                    pos = end;
                    break;
                }
                _segments.Add(pos);
            }
            if (pos - _segments[^1] >= SegmentSize)
            {
                _segments.Add(pos);
            }
            h = ScanTransaction(reader, pos, ref laterVisitor, ref last);
            pos = h.NextPosition(pos);
            Report(PackPhase.Reachability, pos - PackPosition, end - PackPosition);
        }
        if (!later)
        {
            PackPosition = pos;
        }
        IsRedundant = RegionTransactions > 0 && allPacked && next == TransactionStatus.Packed;
    }

    /// <summary>
    /// Validates the transaction at <paramref name="pos"/> (PK-A1) and hands its records to the visitor: from memory
    /// when it fits in the reader's chunk, else record by record through a window.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private TxnHeader ScanTransaction<TVisitor>(ChunkReader reader, long pos, ref TVisitor visitor, ref Tid last)
        where TVisitor : struct, IRecordVisitor
    {
        long end = reader.End;
        Span<byte> b = reader.At(pos, TxnHeader.Size);
        FormatError? error = TxnScanner.Validate(b, pos, end, out TxnHeader h, out long size, ref visitor);
        if (error is null && size > b.Length)
        {
            if (size <= reader.Capacity)
            {
                b = reader.At(pos, (int)size);
                if (b.Length < size)
                {
                    throw Corrupt(pos, RecordKind.Transaction, "transaction lies in the file", "end of file inside the committed data");
                }
                error = TxnScanner.Validate(b, pos, end, out h, out size, ref visitor);
            }
            else
            {
                h = ScanLargeTransaction(pos, end, ref visitor, ref last);
                return h;
            }
        }
        if (error is FormatError e)
        {
            throw e.ToException(_storage.Name);
        }
        CheckOrder(pos, h, ref last);
        return h;
    }

    /// <summary>A transaction larger than the reader's chunk: validated through a window, its records read one by one.</summary>
    private TxnHeader ScanLargeTransaction<TVisitor>(long pos, long end, ref TVisitor visitor, ref Tid last)
        where TVisitor : struct, IRecordVisitor
    {
        using var window = new FileWindow(_source, end);
        var records = new List<RecordLocation>();
        TxnHeader h = ValidateTransaction(window, pos, records, ref last);
        foreach (RecordLocation r in records)
        {
            ReadOnlySpan<byte> hb = window.Read(r.Position, DataHeader.Size + DataHeader.BackPointerSize);
            DataHeader dh = DataHeader.Parse(hb);
            // The payload is not in memory: the visitors that need it read it (ReferencesOfRecord).
            visitor.Record(dh, r.Position, hb[..(dh.IsBackPointer ? DataHeader.Size + DataHeader.BackPointerSize : DataHeader.Size)]);
        }
        return h;
    }

    /// <summary>Phase A's record: the object's state at the pack time so far (PK-A2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PackedRecord(in DataHeader h, long pos, ReadOnlySpan<byte> record)
    {
        RegionRecords++;
        bool none = h.IsBackPointer && DataHeader.ReadBackPointer(record[DataHeader.Size..]) == 0;
        _objects.At(h.Oid.Value).PackTime = none ? -pos : pos;
    }

    /// <summary>Phase B's record of the later region: its last record, a backpointer into the packed region, references.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void LaterRecord(in DataHeader h, long pos, ReadOnlySpan<byte> record)
    {
        ulong oid = h.Oid.Value;
        _objects.At(oid).Later = pos;
        if (h.IsBackPointer)
        {
            long back = DataHeader.ReadBackPointer(record[DataHeader.Size..]);
            if (back != 0 && back < PackPosition)
            {
                Pin(h.Oid, back);
            }
            // A backpointer into the later region shares the bytes of a record scanned on its own.
            return;
        }
        if (_gc && (record.Length != (long)h.RecordLength || MayReference(record[DataHeader.Size..])))
        {
            IReadOnlyList<Oid> refs = record.Length == (long)h.RecordLength
                ? ReferencesOfPayload(h.Oid, pos, record[DataHeader.Size..])
                : ReferencesAt(h.Oid, pos, _decideEnd);
            foreach (Oid target in refs)
            {
                AddRoot(target.Value, oid);
            }
        }
    }

    private void AddRoot(ulong oid, ulong referrer)
    {
        ref ObjectState s = ref _objects.At(oid);
        if ((s.Flags & ObjectState.Rooted) == 0)
        {
            s.Flags |= ObjectState.Rooted;
            _laterRoots.Add((oid, referrer));
        }
    }

    private struct PackedRegionVisitor(Packer packer) : IRecordVisitor
    {
        public readonly void Record(in DataHeader header, long position, ReadOnlySpan<byte> record) =>
            packer.PackedRecord(header, position, record);
    }

    private struct LaterRegionVisitor(Packer packer) : IRecordVisitor
    {
        public readonly void Record(in DataHeader header, long position, ReadOnlySpan<byte> record) =>
            packer.LaterRecord(header, position, record);
    }

    private struct NoVisitor : IRecordVisitor
    {
        public readonly void Record(in DataHeader header, long position, ReadOnlySpan<byte> record)
        {
        }
    }

    /// <summary>
    /// Phase B (PK-G1..PK-G5), after <see cref="Scan"/>: with GC keeps the pack-time revision of every object
    /// reachable from the root object and from the later region's references and pins; without GC every object's
    /// pack-time revision, plus the pins.
    /// </summary>
    public void DecideKept(long end)
    {
        _decideEnd = end;
        if (!_gc)
        {
            var all = new KeepExisting(_keep);
            _objects.ForEach(ref all);
        }
        else
        {
            Mark();
        }
        long[] kept = [.. _keep];
        Array.Sort(kept);
        int n = 0;
        for (int i = 0; i < kept.Length; i++)
        {
            if (n == 0 || kept[i] != kept[n - 1])
            {
                kept[n++] = kept[i];
            }
        }
        _kept = kept[..n];
    }

    private struct KeepExisting(List<long> keep) : IObjectAction
    {
        public readonly void Visit(ulong oid, ref ObjectState state)
        {
            if (state.Exists)
            {
                keep.Add(state.PackTime);
            }
        }
    }

    private void Mark()
    {
        var work = new List<(ulong Oid, ulong Referrer)>();
        var dangling = new List<(ulong Oid, ulong Referrer)>();
        int marked = 0, markedExisting = 0;
        using var reader = new ChunkReader(_source, _decideEnd);
        if (_objects.Get(0).Exists)
        {
            work.Add((0, 0));
        }
        Mark(work, dangling, ref marked, ref markedExisting, reader);
        int fromRoot = marked;
        work.AddRange(_laterRoots);
        Mark(work, dangling, ref marked, ref markedExisting, reader);
        KeptForLaterReferences = markedExisting - fromRoot;
        if (dangling.Count > 0)
        {
            string list = string.Join(", ", dangling.Take(5).Select(d =>
                d.Referrer == ulong.MaxValue ? $"{new Oid(d.Oid)}" : $"{new Oid(d.Referrer)} → {new Oid(d.Oid)}"));
            throw new PackException(string.Create(CultureInfo.InvariantCulture,
                $"{_storage.Name}: {dangling.Count} reference(s) to objects that do not exist at the pack time and are not written later ({list}): the database already has dangling references; run `wendelin verify`, or pack without garbage collection"));
        }
    }

    /// <summary>
    /// Marks everything <paramref name="work"/> reaches, level by level (breadth first): the pack-time revisions of a
    /// level are read in file order through <paramref name="reader"/> (revisions close together share a read, a lone one
    /// costs one small read), so the marking makes no read per object when the survivors lie close together.
    /// </summary>
    private void Mark(List<(ulong Oid, ulong Referrer)> work, List<(ulong, ulong)> dangling, ref int marked, ref int markedExisting,
        ChunkReader reader)
    {
        var level = new List<long>();
        while (work.Count > 0)
        {
            _cancel.ThrowIfCancellationRequested();
            level.Clear();
            foreach ((ulong oid, ulong referrer) in work)
            {
                ref ObjectState s = ref _objects.At(oid);
                if ((s.Flags & ObjectState.Marked) != 0)
                {
                    continue;
                }
                s.Flags |= ObjectState.Marked;
                marked++;
                if (s.Exists)
                {
                    markedExisting++;
                    _keep.Add(s.PackTime);
                    level.Add(s.PackTime);
                }
                else if (s.Later == 0 && (s.Flags & ObjectState.Pinned) == 0)
                {
                    dangling.Add((oid, referrer));
                }
            }
            work.Clear();
            long[] positions = [.. level];
            Array.Sort(positions);
            long until = -1;
            for (int i = 0; i < positions.Length; i++)
            {
                if (positions[i] >= until)
                {
                    until = ReadLimit(positions, i, reader.Capacity);
                }
                (Oid oid, IReadOnlyList<Oid> refs) = ReferencesOfRevision(reader, positions[i], until);
                foreach (Oid r in refs)
                {
                    work.Add((r.Value, oid.Value));
                }
            }
        }
    }

    /// <summary>The object and strong references of the pack-time revision at <paramref name="pos"/>, its payload read through the reader.</summary>
    private (Oid Oid, IReadOnlyList<Oid> References) ReferencesOfRevision(ChunkReader reader, long pos, long until)
    {
        DataHeader h = KeptHeader(reader, pos, _decideEnd, until);
        if (h.IsBackPointer || h.DataLength > (ulong)(reader.Capacity / 2))
        {
            return (h.Oid, ReferencesAt(h.Oid, pos, _decideEnd)); // the data lies elsewhere, or is too large for the chunk
        }
        int n = (int)h.DataLength;
        Span<byte> b = reader.At(pos, DataHeader.Size + n, until);
        if (b.Length < DataHeader.Size + n)
        {
            throw Corrupt(pos, RecordKind.DataHeader, "payload fits", "end of data inside a payload");
        }
        return (h.Oid, ReferencesOfPayload(h.Oid, pos, b.Slice(DataHeader.Size, n)));
    }

    /// <summary>
    /// PK-G3: a record after the pack time points back at revision <paramref name="back"/> of the packed region (an
    /// undo of something before the pack time): that revision is kept, with GC its references are followed, and
    /// when the object did not exist at the pack time its deletion record is kept too, so history stays exact.
    /// </summary>
    private void Pin(Oid oid, long back)
    {
        if (!_pins.Add(back))
        {
            return;
        }
        _keep.Add(back);
        ref ObjectState s = ref _objects.At(oid.Value);
        s.Flags |= ObjectState.Pinned;
        // The object's pack-time revision stays too, so its history after the pack time reads as before and the
        // later records' prev pointers name what the index holds (FS-4.3).
        if (s.PackTime < 0 && -s.PackTime > back)
        {
            _keep.Add(-s.PackTime);
        }
        if (s.Exists)
        {
            AddRoot(oid.Value, oid.Value); // kept, and its references followed, by the marking (or kept without GC)
        }
        if (_gc)
        {
            foreach (Oid target in ReferencesAt(oid, back, _decideEnd))
            {
                AddRoot(target.Value, oid.Value);
            }
        }
    }

    /// <summary>The strong references of the revision at <paramref name="pos"/> (following backpointers).</summary>
    private IReadOnlyList<Oid> ReferencesAt(Oid oid, long pos, long end)
    {
        DataHeader h = _storage.ReadDataHeader(_source, pos, end, oid);
        byte[]? data = _storage.ReadData(_source, h, pos, end, out _);
        return data is null ? [] : StrongReferences(oid, pos, data);
    }

    /// <summary>False when no persistent-id opcode byte occurs anywhere in <paramref name="payload"/>: it has no reference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool MayReference(ReadOnlySpan<byte> payload) =>
        payload.IndexOfAny((byte)Opcodes.BinPersId, (byte)Opcodes.PersId) >= 0;

    /// <summary>The strong references of a payload in memory; none without reading it when no persistent-id opcode occurs.</summary>
    private IReadOnlyList<Oid> ReferencesOfPayload(Oid oid, long pos, ReadOnlySpan<byte> payload)
    {
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
        CheckOrder(pos, h, ref last);
        return h;
    }

    /// <summary>PK-A1 beyond the format's checks: a finished status and increasing tids.</summary>
    private void CheckOrder(long pos, in TxnHeader h, ref Tid last)
    {
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
    }

    private CorruptRecordException Corrupt(long pos, RecordKind kind, string check, string detail) =>
        new(_storage.Name, pos, kind, check, detail);

    /// <summary>Reports at most about a thousand times per phase (the test is two compares per call).</summary>
    private void Report(PackPhase phase, long done, long total)
    {
        if (_progress is not null && (done >= _nextReport || done == total || done < _reported || phase != _reportPhase))
        {
            ReportNow(phase, done, total);
        }
    }

    private void ReportNow(PackPhase phase, long done, long total)
    {
        if (done == total || phase != _reportPhase || done >= _nextReport || done < _reported)
        {
            _reportPhase = phase;
            _reported = done;
            _nextReport = done + Math.Max(1, total / 1000);
            _progress!.Report(new PackProgress(phase, done, total));
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
