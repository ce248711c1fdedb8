using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using Wendelin.Storage.Format;

namespace Wendelin.Storage.Pack;

// The scan of the later region on a second processor (spec/pack.md PK-A1, PK-G1): while the forward scan validates the
// packed region, another thread walks the file backward from its end by the redundant transaction lengths, validating
// each transaction as the forward scan does, until it meets a transaction at or before the pack time. The two meet at
// the pack position; when they do not (a damaged file), or the walk fails, its findings are dropped and the forward
// scan goes on into the later region as it would alone, so errors read the same.
internal sealed partial class Packer
{
    private const byte DeferredLater = 0, DeferredRoot = 1, DeferredPin = 2;

    /// <summary>What the backward walk found, applied when the forward scan meets it at the pack position.</summary>
    private sealed class LaterScan
    {
        /// <summary>Where the walk stopped: the end of the last transaction at or before the pack time (4 when none is).</summary>
        public long Start = -1;

        /// <summary>Segment cuts for the parallel copy, in descending order.</summary>
        public readonly List<long> Cuts = [];

        /// <summary>
        /// Steps the walk could not take on its own thread: pins (they read the pack-time revision the forward scan
        /// is finding) and the states of oids beyond the object table's dense part (a dictionary, single-threaded).
        /// </summary>
        public readonly List<(ulong Oid, long Value, byte Kind)> Deferred = [];

        public Exception? Failure;
    }

    /// <summary>Starts the backward walk on another thread when there is another processor; null when not.</summary>
    private Task<LaterScan>? StartLaterScan(long end, CancellationToken stop)
    {
        if (Environment.ProcessorCount < 2)
        {
            return null;
        }
        return Task.Run(() =>
        {
            var scan = new LaterScan();
            try
            {
                ScanLaterBackward(end, scan, stop);
            }
            catch (Exception e) when (e is StorageException or IOException)
            {
                scan.Failure = e; // dropped: the forward scan reports what is wrong
            }
            return scan;
        }, CancellationToken.None);
    }

    /// <summary>
    /// Walks [<c>start</c>, <paramref name="end"/>) backward from the end: each transaction is found by its trailer,
    /// validated in full (TxnScanner, a finished status, tids decreasing going back) and its records handed to the
    /// later region's visitor, until a transaction with a tid at or before the pack time (left to the forward scan).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScanLaterBackward(long end, LaterScan scan, CancellationToken stop)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkReader.DefaultChunk);
        try
        {
            var visitor = new ConcurrentLaterVisitor(this, scan);
            long winStart = end, winEnd = end; // buffer[0..] holds [winStart, winEnd)
            long p = end;
            long lastCut = end;
            Tid after = Tid.Max;
            Span<byte> first = stackalloc byte[TxnHeader.Size];
            while (p > FileHeader.DataStart)
            {
                stop.ThrowIfCancellationRequested();
                if (p - TxnHeader.TrailerSize < FileHeader.DataStart + TxnHeader.Size)
                {
                    throw Corrupt(p, RecordKind.Transaction, "trailer fits", "no room for a transaction before this position");
                }
                if (p - TxnHeader.TrailerSize < winStart)
                {
                    winEnd = p;
                    winStart = Math.Max(FileHeader.DataStart, p - buffer.Length);
                    Fill(buffer, winStart, winEnd);
                }
                ulong tlen = TxnHeader.ReadTrailer(buffer.AsSpan((int)(p - TxnHeader.TrailerSize - winStart)));
                if (tlen < TxnHeader.Size || tlen > (ulong)(p - TxnHeader.TrailerSize - FileHeader.DataStart))
                {
                    throw Corrupt(p - TxnHeader.TrailerSize, RecordKind.Transaction, "redundant length",
                        string.Create(CultureInfo.InvariantCulture, $"trailer says {tlen}, more than the file holds before it"));
                }
                long tpos = p - TxnHeader.TrailerSize - (long)tlen;
                long size = p - tpos;
                TxnHeader h;
                if (size <= buffer.Length)
                {
                    if (tpos < winStart)
                    {
                        winEnd = p;
                        winStart = Math.Max(FileHeader.DataStart, p - buffer.Length);
                        Fill(buffer, winStart, winEnd);
                    }
                    ReadOnlySpan<byte> b = buffer.AsSpan((int)(tpos - winStart), (int)(winEnd - tpos));
                    if (TxnHeader.Parse(b).Tid <= _packTid)
                    {
                        break;
                    }
                    if (TxnScanner.Validate(b, tpos, end, out h, out long checkedSize, ref visitor) is FormatError e)
                    {
                        throw e.ToException(_storage.Name);
                    }
                    if (checkedSize != size)
                    {
                        throw Corrupt(tpos, RecordKind.Transaction, "redundant length", "the header's length does not end where the trailer is");
                    }
                }
                else
                {
                    if (_source.ReadAt(tpos, first) < first.Length)
                    {
                        throw Corrupt(tpos, RecordKind.TransactionHeader, "header fits", "end of file");
                    }
                    if (TxnHeader.Parse(first).Tid <= _packTid)
                    {
                        break;
                    }
                    Tid none = Tid.Zero;
                    h = ScanLargeTransaction(tpos, end, ref visitor, ref none);
                    if (h.NextPosition(tpos) != p)
                    {
                        throw Corrupt(tpos, RecordKind.Transaction, "redundant length", "the header's length does not end where the trailer is");
                    }
                }
                if (!h.IsFinished)
                {
                    throw Corrupt(tpos, RecordKind.TransactionHeader, "status", "'c' inside the committed data");
                }
                if (h.Tid >= after)
                {
                    throw Corrupt(p, RecordKind.TransactionHeader, "tids increase",
                        string.Create(CultureInfo.InvariantCulture, $"time-stamp reduction: {after} <= {h.Tid}"));
                }
                after = h.Tid;
                if (lastCut - tpos >= SegmentSize)
                {
                    scan.Cuts.Add(tpos);
                    lastCut = tpos;
                }
                p = tpos;
            }
            scan.Start = p;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Fill(byte[] buffer, long from, long to)
    {
        int n = (int)(to - from);
        if (_source.ReadAt(from, buffer.AsSpan(0, n)) < n)
        {
            throw Corrupt(from, RecordKind.Transaction, "transaction lies in the file", "end of file inside the committed data");
        }
    }

    /// <summary>
    /// Takes over what the backward walk found when it stopped at <paramref name="packPosition"/> (the forward scan's
    /// end of the packed region); false when it failed or stopped elsewhere: its partial findings are undone.
    /// </summary>
    private bool TakeLaterScan(LaterScan scan, long packPosition)
    {
        if (scan.Failure is not null || scan.Start != packPosition)
        {
            var clear = new ClearLater();
            _objects.ForEach(ref clear);
            _laterRoots.Clear();
            return false;
        }
        foreach ((ulong oid, long value, byte kind) in scan.Deferred)
        {
            switch (kind)
            {
                case DeferredLater:
                    ref ObjectState s = ref _objects.At(oid);
                    s.Later = Math.Max(s.Later, value);
                    break;
                case DeferredRoot:
                    AddRoot(oid, (ulong)value);
                    break;
                default:
                    if (value < packPosition)
                    {
                        Pin(new Oid(oid), value);
                    }
                    break;
            }
        }
        _segments.Add(packPosition);
        for (int i = scan.Cuts.Count - 1; i >= 0; i--)
        {
            if (scan.Cuts[i] > packPosition)
            {
                _segments.Add(scan.Cuts[i]);
            }
        }
        return true;
    }

    /// <summary>Undoes a dropped walk: no later record, no root (pins were not applied).</summary>
    private struct ClearLater : IObjectAction
    {
        public readonly void Visit(ulong oid, ref ObjectState state)
        {
            state.Later = 0;
            state.Flags = 0;
        }
    }

    /// <summary>
    /// The later region's record on the walk's thread: the dense object states are written directly (the forward scan
    /// writes only their pack-time fields), the rest deferred to <see cref="TakeLaterScan"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ConcurrentLaterRecord(LaterScan scan, in DataHeader h, long pos, ReadOnlySpan<byte> record)
    {
        ulong oid = h.Oid.Value;
        if (_objects.IsDense(oid))
        {
            ref ObjectState s = ref _objects.At(oid);
            s.Later = Math.Max(s.Later, pos); // going backward the first seen is the last, but inside a transaction the order is forward
        }
        else
        {
            scan.Deferred.Add((oid, pos, DeferredLater));
        }
        if (h.IsBackPointer)
        {
            long back = DataHeader.ReadBackPointer(record[DataHeader.Size..]);
            if (back != 0)
            {
                // Pinned, if it is in the packed region, once the walk is taken (the forward scan finds where that ends).
                scan.Deferred.Add((oid, back, DeferredPin));
            }
            return;
        }
        if (_gc && (record.Length != (long)h.RecordLength || MayReference(record[DataHeader.Size..])))
        {
            IReadOnlyList<Oid> refs = record.Length == (long)h.RecordLength
                ? ReferencesOfPayload(h.Oid, pos, record[DataHeader.Size..])
                : ReferencesAt(h.Oid, pos, _decideEnd);
            foreach (Oid target in refs)
            {
                if (_objects.IsDense(target.Value))
                {
                    AddRoot(target.Value, oid);
                }
                else
                {
                    scan.Deferred.Add((target.Value, (long)oid, DeferredRoot));
                }
            }
        }
    }

    private struct ConcurrentLaterVisitor(Packer packer, LaterScan scan) : IRecordVisitor
    {
        public readonly void Record(in DataHeader header, long position, ReadOnlySpan<byte> record) =>
            packer.ConcurrentLaterRecord(scan, header, position, record);
    }
}
