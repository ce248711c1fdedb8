using System.Globalization;
using Wendelin.Storage.Format;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Verify;

/// <summary>
/// Pass 1 of verification (spec/verify.md §2): every transaction and data record from offset 4 to the end, with
/// ZODB fstest's checks in fstest's order and ours after them. Unlike fstest it goes on after damage: it resumes at
/// the next valid transaction (the open's probe, FS-R2) and says whether the damage is a torn tail or in the middle.
/// It leaves the index of current records for pass 2.
/// </summary>
internal sealed class StructureScan
{
    private readonly IStorageFile _file;
    private readonly long _size;
    private readonly VerifyStats _stats;
    private readonly IProgress<VerifyProgress>? _progress;
    private readonly CancellationToken _cancel;
    private long[] _recordPositions = new long[1024];
    private int _recordCount;
    private long _reported = -1;

    private readonly Func<bool> _writerActive;

    public StructureScan(IStorageFile file, VerifyStats stats, IProgress<VerifyProgress>? progress, CancellationToken cancel,
        Func<bool>? writerActive = null)
    {
        _writerActive = writerActive ?? (static () => false);
        _file = file;
        _size = file.Length;
        _stats = stats;
        _progress = progress;
        _cancel = cancel;
    }

    /// <summary>oid → position of its current record (the last one of a finished transaction).</summary>
    public Dictionary<ulong, long> Index { get; } = [];

    /// <summary>True when the file header was readable (pass 2 makes sense).</summary>
    public bool HasData { get; private set; }

    public IEnumerable<Finding> Run()
    {
        if (_size == 0)
        {
            yield return Checks.Make(Checks.EmptyFile, 0, null, null, "empty file: 0 bytes (an empty storage is the 4 bytes FS30)");
            yield break;
        }
        Span<byte> magic = stackalloc byte[FileHeader.Size];
        int n = _file.ReadAt(0, magic);
        if (n < FileHeader.Size || !(magic.SequenceEqual("FS30"u8) || magic.SequenceEqual("FS21"u8)))
        {
            string found = Convert.ToHexString(magic[..n]);
            yield return Checks.Make(Checks.FileHeader, 0, null, null,
                $"invalid file header: starts with {(found.Length == 0 ? "nothing" : found)}, not FS30 or FS21: not a FileStorage data file");
            yield break;
        }
        HasData = true;
        using var window = new FileWindow(_file, _size);
        var findings = new List<Finding>();
        var records = new List<(Oid Oid, long Position)>();
        Tid last = Tid.Zero;
        long pos = FileHeader.DataStart;
        while (pos < _size)
        {
            _cancel.ThrowIfCancellationRequested();
            findings.Clear();
            records.Clear();
            long next = CheckTransaction(window, pos, ref last, findings, records, out bool damaged, out TxnHeader header);
            if (!damaged)
            {
                foreach (Finding f in findings)
                {
                    yield return f;
                }
                Commit(records, header.Status);
                pos = next;
                Report(pos);
                continue;
            }
            // Damage: look for the next valid transaction (FS-R2); the findings wait until it is known whether this is
            // the tail a live writer is appending (V123) or damage.
            var resume = TxnProbe.FindCommittedTransaction(_file, pos + 1, last, _size);
            if (resume is null && _writerActive())
            {
                yield return Checks.Make(Checks.InFlightTail, pos, null, null, Inv(
                    $"in-flight tail: a writer holds the lock (NAME.lock) and the {_size - pos} bytes from {pos} to the end hold no finished transaction yet: a commit in progress, not checked; verification covers the {pos} bytes durable when it started"));
                break;
            }
            foreach (Finding f in findings)
            {
                yield return f;
            }
            Commit(records, TransactionStatus.Committed); // keep what parsed
            if (resume is not (long q, Tid qTid, long _))
            {
                yield return Checks.Make(Checks.TornTail, pos, null, null, Inv(
                    $"torn tail: the {_size - pos} bytes from {pos} to the end hold no finished transaction; a writable open moves them to NAME.trN and truncates the file at {pos}, a read-only open ends there"));
                break;
            }
            yield return Checks.Make(Checks.MiddleDamage, pos, null, qTid, Inv(
                $"damage in the middle: the transaction at {pos} is damaged, yet a valid transaction {qTid} follows at {q} ({q - pos} bytes on); an open refuses this file; verification resumes there"));
            if (LengthOnly(window, pos, q, last) is (Finding info, List<(Oid, long)> intact, Tid tid))
            {
                yield return info;
                Commit(intact, TransactionStatus.Committed);
                last = tid;
            }
            pos = q;
            Report(pos);
        }
        Report(_size);
    }

    /// <summary>One transaction; returns the position after it. Findings and its records go to the lists.</summary>
    private long CheckTransaction(FileWindow window, long pos, ref Tid last, List<Finding> findings, List<(Oid, long)> records,
        out bool damaged, out TxnHeader h)
    {
        damaged = true;
        h = default;
        ReadOnlySpan<byte> hb = window.Read(pos, TxnHeader.Size);
        if (hb.Length < TxnHeader.Size)
        {
            findings.Add(Checks.Make(Checks.TruncatedHeader, pos, null, null,
                Inv($"truncated at {pos}: {hb.Length} bytes left, a transaction header is {TxnHeader.Size}")));
            return _size;
        }
        h = TxnHeader.Parse(hb);
        Tid tid = h.Tid;
        if (tid <= last)
        {
            findings.Add(Checks.Make(Checks.TidOrder, pos, null, tid, Inv($"time-stamp reduction at {pos}: {tid} <= {last}")));
        }
        if (h.Length > (ulong)(_size - pos - TxnHeader.TrailerSize) || _size - pos < TxnHeader.TrailerSize)
        {
            findings.Add(Checks.Make(Checks.TransactionFits, pos, null, tid,
                Inv($"truncated possibly because of damaged records at {pos}: tlen {h.Length} + 8 runs past the end at {_size}")));
            return _size;
        }
        if (h.Status == TransactionStatus.Checkpoint)
        {
            findings.Add(Checks.Make(Checks.Checkpoint, pos, null, tid,
                Inv($"checkpoint flag was not cleared at {pos}: voted but never finished; an open treats it and what follows as the end of the data")));
            return _size;
        }
        if (!h.IsKnownStatus)
        {
            findings.Add(Checks.Make(Checks.Status, pos, null, tid, Inv($"transaction at {pos} has invalid status 0x{(byte)h.Status:x2}")));
            return _size;
        }
        if ((ulong)h.HeaderLength > h.Length)
        {
            findings.Add(Checks.Make(Checks.HeaderLength, pos, null, tid,
                Inv($"transaction at {pos} has an invalid transaction header: tlen {h.Length} < header length {h.HeaderLength}")));
            return _size;
        }
        long tend = pos + (long)h.Length;
        _stats.Transactions++;
        if (h.Status == TransactionStatus.Undone)
        {
            findings.Add(Checks.Make(Checks.UndoneStatus, pos, null, tid, Inv($"transaction at {pos} has status 'u' (obsolete undo): its records are ignored")));
            // Its records are not checked (fstest skips them too) but are records: later pointers may name them.
            for (long rp = pos + h.HeaderLength; rp + DataHeader.Size <= tend;)
            {
                DataHeader d = DataHeader.Parse(window.Read(rp, DataHeader.Size));
                if (d.Check(rp, tend, pos, null) is not null)
                {
                    break;
                }
                AddRecordPosition(rp);
                rp += d.RecordLength;
            }
        }
        else
        {
            var before = new Dictionary<ulong, long>(); // current positions before this transaction, for prev checks
            for (long rp = pos + h.HeaderLength; rp < tend;)
            {
                ReadOnlySpan<byte> db = window.Read(rp, DataHeader.Size);
                if (db.Length < DataHeader.Size)
                {
                    findings.Add(Checks.Make(Checks.TruncatedRecord, rp, null, tid, Inv($"truncated at {rp}: a data record header is {DataHeader.Size} bytes")));
                    return _size;
                }
                DataHeader d = DataHeader.Parse(db);
                if (d.Tloc != pos)
                {
                    findings.Add(Checks.Make(Checks.Tloc, rp, null, tid,
                        Inv($"data record exceeds transaction record at {rp}: tloc {(ulong)d.Tloc} != tpos {pos}")));
                    return _size;
                }
                if (d.VersionLength != 0)
                {
                    findings.Add(Checks.Make(Checks.VersionLength, rp, d.Oid, tid,
                        Inv($"data record at {rp} has version length {d.VersionLength}: versions are gone since ZODB 3.9")));
                    return _size;
                }
                ulong need = d.DataLength == 0 ? DataHeader.BackPointerSize : d.DataLength;
                if (need > (ulong)(tend - rp - DataHeader.Size))
                {
                    findings.Add(Checks.Make(Checks.RecordFits, rp, d.Oid, tid,
                        Inv($"transaction at {pos} has data records that extend beyond the transaction record; end at {tend}, record at {rp} with plen {d.DataLength}")));
                    return _size;
                }
                _stats.Records++;
                if (d.Tid != tid)
                {
                    findings.Add(Checks.Make(Checks.RecordTid, rp, d.Oid, d.Tid, Inv($"record tid {d.Tid} != transaction tid {tid}")));
                }
                CheckPrev(rp, d, h.Status, before, findings);
                if (d.IsBackPointer)
                {
                    long back = DataHeader.ReadBackPointer(window.Read(rp + DataHeader.Size, DataHeader.BackPointerSize));
                    CheckBack(rp, d, back, pos, findings);
                }
                records.Add((d.Oid, rp));
                AddRecordPosition(rp);
                rp += d.RecordLength;
            }
        }
        ulong trailer = TxnHeader.ReadTrailer(window.Read(tend, TxnHeader.TrailerSize));
        if (trailer != h.Length)
        {
            findings.Add(Checks.Make(Checks.Trailer, pos, null, tid,
                Inv($"transaction at {pos} has inconsistent transaction length: the trailer at {tend} says {trailer}, the header {h.Length}")));
            return _size;
        }
        damaged = false;
        last = tid;
        return tend + TxnHeader.TrailerSize;
    }

    private void CheckPrev(long rp, DataHeader d, TransactionStatus status, Dictionary<ulong, long> before, List<Finding> findings)
    {
        if (!before.TryGetValue(d.Oid.Value, out long expected))
        {
            expected = Index.TryGetValue(d.Oid.Value, out long p) ? p : 0;
            before[d.Oid.Value] = expected;
        }
        long prev = d.Prev;
        if (prev != 0)
        {
            if (prev < 0 || prev >= rp)
            {
                findings.Add(Checks.Make(Checks.PrevDirection, rp, d.Oid, d.Tid, Inv($"prev {(ulong)prev} is not before the record")));
                return;
            }
            if (TargetProblem(prev, d) is string problem)
            {
                findings.Add(Checks.Make(Checks.PrevTarget, rp, d.Oid, d.Tid, Inv($"prev {prev}: {problem}")));
                return;
            }
        }
        if (prev != expected && !(prev == 0 && status == TransactionStatus.Packed))
        {
            findings.Add(Checks.Make(Checks.PrevCurrent, rp, d.Oid, d.Tid,
                Inv($"prev {prev}, but the object's record current before this transaction is at {expected}")));
        }
    }

    private void CheckBack(long rp, DataHeader d, long back, long tpos, List<Finding> findings)
    {
        if (back == 0)
        {
            return;
        }
        if (back < 0 || back >= rp)
        {
            findings.Add(Checks.Make(Checks.BackDirection, rp, d.Oid, d.Tid, Inv($"backpointer {(ulong)back} is not before the record")));
            return;
        }
        if (back >= tpos)
        {
            findings.Add(Checks.Make(Checks.BackTarget, rp, d.Oid, d.Tid, Inv($"backpointer {back} points into its own transaction")));
            return;
        }
        if (TargetProblem(back, d) is string problem)
        {
            findings.Add(Checks.Make(Checks.BackTarget, rp, d.Oid, d.Tid, Inv($"backpointer {back}: {problem}")));
        }
    }

    /// <summary>Why the record at <paramref name="target"/> is not an earlier record of <paramref name="d"/>'s object, or null.</summary>
    private string? TargetProblem(long target, DataHeader d)
    {
        if (Array.BinarySearch(_recordPositions, 0, _recordCount, target) < 0)
        {
            return "no data record starts there";
        }
        Span<byte> b = stackalloc byte[DataHeader.Size];
        _file.ReadAt(target, b);
        DataHeader t = DataHeader.Parse(b);
        if (t.Oid != d.Oid)
        {
            return $"the record there is of object {t.Oid}";
        }
        if (t.Tid >= d.Tid)
        {
            return $"the record there has tid {t.Tid}, not before {d.Tid}";
        }
        return null;
    }

    /// <summary>
    /// V121: would the damaged transaction at <paramref name="pos"/> be valid if it ended where the next valid one at
    /// <paramref name="q"/> begins? Then only its length field is wrong (crash-flip-tlen-*.fs): its records are kept
    /// for pass 2.
    /// </summary>
    private (Finding, List<(Oid, long)>, Tid)? LengthOnly(FileWindow window, long pos, long q, Tid last)
    {
        ReadOnlySpan<byte> hb = window.Read(pos, TxnHeader.Size);
        if (hb.Length < TxnHeader.Size)
        {
            return null;
        }
        TxnHeader h = TxnHeader.Parse(hb);
        long tlen = q - TxnHeader.TrailerSize - pos;
        if (!h.IsFinished || h.Tid <= last || tlen < h.HeaderLength
            || TxnHeader.ReadTrailer(window.Read(q - TxnHeader.TrailerSize, TxnHeader.TrailerSize)) != (ulong)tlen)
        {
            return null;
        }
        var records = new List<(Oid, long)>();
        long end = pos + tlen;
        for (long rp = pos + h.HeaderLength; rp < end;)
        {
            ReadOnlySpan<byte> db = window.Read(rp, DataHeader.Size);
            if (db.Length < DataHeader.Size)
            {
                return null;
            }
            DataHeader d = DataHeader.Parse(db);
            if (d.Check(rp, end, pos, h.Tid) is not null)
            {
                return null;
            }
            records.Add((d.Oid, rp));
            rp += d.RecordLength;
        }
        foreach ((Oid _, long rp) in records)
        {
            if (Array.BinarySearch(_recordPositions, 0, _recordCount, rp) < 0)
            {
                AddRecordPositionSorted(rp);
            }
        }
        Finding f = Checks.Make(Checks.LengthOnly, pos, null, h.Tid,
            Inv($"the transaction at {pos} is intact apart from its length field: tlen should be {tlen}, not {h.Length} ({records.Count} records)"));
        return (f, records, h.Tid);
    }

    private void Commit(List<(Oid Oid, long Position)> records, TransactionStatus status)
    {
        if (status is TransactionStatus.Checkpoint or TransactionStatus.Undone)
        {
            return;
        }
        foreach ((Oid oid, long p) in records)
        {
            Index[oid.Value] = p;
        }
    }

    private void AddRecordPosition(long pos)
    {
        if (_recordCount > 0 && pos <= _recordPositions[_recordCount - 1])
        {
            AddRecordPositionSorted(pos);
            return;
        }
        if (_recordCount == _recordPositions.Length)
        {
            Array.Resize(ref _recordPositions, _recordCount * 2);
        }
        _recordPositions[_recordCount++] = pos;
    }

    private void AddRecordPositionSorted(long pos)
    {
        int i = Array.BinarySearch(_recordPositions, 0, _recordCount, pos);
        if (i >= 0)
        {
            return;
        }
        i = ~i;
        if (_recordCount == _recordPositions.Length)
        {
            Array.Resize(ref _recordPositions, _recordCount * 2);
        }
        Array.Copy(_recordPositions, i, _recordPositions, i + 1, _recordCount - i);
        _recordPositions[i] = pos;
        _recordCount++;
    }

    private void Report(long done)
    {
        if (_progress is null)
        {
            return;
        }
        long step = Math.Max(1, _size / 1000);
        if (done >= _size || _reported < 0 || done - _reported >= step)
        {
            _reported = done;
            _progress.Report(new VerifyProgress(VerifyPhase.Structure, Math.Min(done, _size), _size));
        }
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
