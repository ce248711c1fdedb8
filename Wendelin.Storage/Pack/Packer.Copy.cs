using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Pack;

// Phases C and D of a pack (spec/pack.md §2): the packed region written with the kept revisions, the later region
// copied with its positions rewritten.
internal sealed partial class Packer
{
    /// <summary>
    /// Phase C (PK-C1..PK-C3): writes the kept revisions, transaction by transaction, with status 'p', prev 0 and inline
    /// data. The kept records are in file order, so the source is read forward through one pooled chunk (a refill reads
    /// only as far as the kept records around it reach: dense survivors share a read, sparse ones cost one read each)
    /// and the output is appended through <see cref="PackOutput"/>'s buffer: no read, write or allocation per record,
    /// except for a kept backpointer, whose data is looked up where it lies.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WritePackedRegion(PackOutput output, long end)
    {
        long[] kept = _kept;
        using var reader = new ChunkReader(_source, end);
        Span<byte> header = stackalloc byte[DataHeader.Size + DataHeader.BackPointerSize];
        int i = 0;
        while (i < kept.Length)
        {
            _cancel.ThrowIfCancellationRequested();
            long until = ReadLimit(kept, i, reader.Capacity);
            DataHeader h = KeptHeader(reader, kept[i], end, until);
            long tpos = h.Tloc;
            long newTpos = output.Position;
            WritePackedTransactionHeader(reader, output, tpos, end, until);
            while (true)
            {
                long newPos = output.Position;
                if (h.IsBackPointer)
                {
                    WriteInline(output, header, h, 0, newTpos, _storage.ReadData(_source, h, kept[i], end, out _));
                }
                else
                {
                    new DataHeader(h.Oid, h.Tid, 0, newTpos, 0, h.DataLength).Write(header);
                    output.Write(header[..DataHeader.Size]);
                    CopyKeptPayload(reader, output, kept[i] + DataHeader.Size, h.DataLength, until);
                }
                _map.Add(kept[i], newPos);
                _index.Set(h.Oid, newPos, h.Tid);
                if (++i == kept.Length)
                {
                    break;
                }
                if (kept[i] >= until)
                {
                    until = ReadLimit(kept, i, reader.Capacity);
                }
                h = KeptHeader(reader, kept[i], end, until);
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

    /// <summary>How far a refill of the reader at kept record <paramref name="i"/> reads: to shortly after the last kept record within reach.</summary>
    /// <summary>
    /// Writes record <paramref name="h"/> with the bytes a backpointer resolved to inline, or, when they are a
    /// deletion or an undone creation (null), as a record with a zero backpointer (ZODB's form of "no data").
    /// </summary>
    private static void WriteInline(PackOutput output, Span<byte> header, DataHeader h, long prev, long newTpos, byte[]? data)
    {
        new DataHeader(h.Oid, h.Tid, prev, newTpos, 0, (ulong)(data?.Length ?? 0)).Write(header);
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

    private static long ReadLimit(long[] kept, int i, int capacity)
    {
        const int Slack = 64 << 10; // covers the payloads of small records past the last kept position
        long reach = kept[i] + capacity / 2;
        int j = Array.BinarySearch(kept, i, kept.Length - i, reach);
        j = j >= 0 ? j : ~j - 1; // the last kept position ≤ reach
        return Math.Min(kept[j] + Slack, kept[i] + capacity);
    }

    /// <summary>The header of a kept record (validated by the scan; its bounds are checked again against <paramref name="end"/>).</summary>
    private DataHeader KeptHeader(ChunkReader reader, long pos, long end, long until)
    {
        Span<byte> b = reader.At(pos, DataHeader.Size + DataHeader.BackPointerSize, until);
        if (b.Length < DataHeader.Size)
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

    /// <summary>The header of the transaction at <paramref name="tpos"/> with length 0 (patched by FinishTransaction) and status 'p', then its metadata.</summary>
    private void WritePackedTransactionHeader(ChunkReader reader, PackOutput output, long tpos, long end, long until)
    {
        Span<byte> b = reader.At(tpos, TxnHeader.Size, until);
        if (b.Length < TxnHeader.Size)
        {
            throw Corrupt(tpos, RecordKind.TransactionHeader, "header fits", "end of file");
        }
        TxnHeader th = TxnHeader.Parse(b);
        if (th.CheckBounds(tpos, end) is FormatError e)
        {
            throw e.ToException(_storage.Name);
        }
        b = reader.At(tpos, th.HeaderLength, until); // at most 23 + 3 × 65535 bytes: within a chunk
        if (b.Length < th.HeaderLength)
        {
            throw Corrupt(tpos, RecordKind.TransactionHeader, "header fits", "end of file inside the metadata");
        }
        Span<byte> fixedPart = stackalloc byte[TxnHeader.Size];
        new TxnHeader(th.Tid, 0, TransactionStatus.Packed, th.UserLength, th.DescriptionLength, th.ExtensionLength).Write(fixedPart);
        output.Write(fixedPart);
        output.Write(b[TxnHeader.Size..th.HeaderLength]);
    }

    /// <summary>Appends <paramref name="length"/> payload bytes at <paramref name="pos"/> of the source, chunk by chunk from the reader.</summary>
    private void CopyKeptPayload(ChunkReader reader, PackOutput output, long pos, ulong length, long until)
    {
        while (length > 0)
        {
            int n = (int)Math.Min(length, (ulong)reader.Capacity);
            Span<byte> b = reader.At(pos, n, until);
            if (b.Length < n)
            {
                throw Corrupt(pos, RecordKind.DataHeader, "payload fits", "end of data inside a payload");
            }
            output.Write(b[..n]);
            pos += n;
            length -= (ulong)n;
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
                        WriteInline(output, header, dh, prev, newTpos, _storage.ReadData(_source, dh, r.Position, to, out _));
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
    /// moves by one constant shift; the bytes are read in large chunks, tloc, prev and backpointers rewritten in
    /// place, and each chunk written at its new position. The scan cut the region into segments at transaction
    /// starts; segments are independent, so up to one worker per processor copies them at once. The new index gets
    /// each object's last record of the region at the end.
    /// </summary>
    private int CopyScannedLaterRegion(PackOutput output)
    {
        long from = PackPosition, to = _decideEnd;
        output.Flush();
        _shift = from - output.Position;
        _trustedEnd = to;
        if (_segments.Count == 0)
        {
            _segments.Add(from);
        }
        _segments.Add(to);
        _nextSegment = 0;
        _copiedBytes = 0;
        _copiedTransactions = 0;
        int segments = _segments.Count - 1;
        int workers = Math.Clamp(Math.Min(segments, Environment.ProcessorCount), 1, MaxCopyWorkers);
        IStorageFile target = output.File;
        var helpers = new Task[workers - 1];
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_cancel);
        for (int w = 0; w < helpers.Length; w++)
        {
            helpers[w] = Task.Factory.StartNew(() =>
            {
                try
                {
                    CopySegments(target, reports: false, stop);
                }
                catch
                {
                    stop.Cancel(); // the other workers stop too
                    throw;
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        Exception? failure = null;
        try
        {
            CopySegments(target, reports: true, stop);
        }
        catch (Exception e)
        {
            failure = e;
            stop.Cancel();
        }
        foreach (Task t in helpers)
        {
            try
            {
                t.Wait(CancellationToken.None);
            }
            catch (AggregateException e)
            {
                // The first failure is reported, but a worker's own failure rather than the stop it caused in this one.
                Exception inner = e.InnerException ?? e;
                if (failure is null || (failure is OperationCanceledException && inner is not OperationCanceledException))
                {
                    failure = inner;
                }
            }
        }
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
        output.Advance(to - from);
        Report(PackPhase.CopyRest, to - from, to - from);
        var last = new IndexLaterRecords(_index, _shift);
        _objects.ForEach(ref last);
        return _copiedTransactions;
    }

    /// <summary>One worker of <see cref="CopyScannedLaterRegion"/>: takes segments until none is left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CopySegments(IStorageFile target, bool reports, CancellationTokenSource stop)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(CopyChunk);
        long total = _trustedEnd - PackPosition;
        try
        {
            for (int k = Interlocked.Increment(ref _nextSegment) - 1; k < _segments.Count - 1; k = Interlocked.Increment(ref _nextSegment) - 1)
            {
                long pos = _segments[k], end = _segments[k + 1];
                while (pos < end)
                {
                    _cancel.ThrowIfCancellationRequested();
                    stop.Token.ThrowIfCancellationRequested();
                    int got = _source.ReadAt(pos, buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - pos)));
                    Span<byte> b = buffer.AsSpan(0, got);
                    int done = 0, transactions = 0;
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
                        transactions++;
                    }
                    if (done == 0)
                    {
                        // one transaction larger than the buffer: copied record by record
                        long next = CopyOneLarge(target, pos);
                        Interlocked.Add(ref _copiedBytes, next - pos);
                        Interlocked.Increment(ref _copiedTransactions);
                        pos = next;
                        continue;
                    }
                    target.WriteAt(pos - _shift, b[..done]);
                    Interlocked.Add(ref _copiedTransactions, transactions);
                    long copied = Interlocked.Add(ref _copiedBytes, done);
                    pos += done;
                    if (reports)
                    {
                        Report(PackPhase.CopyRest, copied, total);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Rewrites tloc, prev and backpointers of one transaction (validated by phase B) at old position <paramref name="tpos"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    /// <summary>
    /// A transaction larger than the copy buffer, record by record (same patches), written at its new position;
    /// returns the position after it.
    /// </summary>
    private long CopyOneLarge(IStorageFile target, long pos)
    {
        using var window = new FileWindow(_source, _trustedEnd);
        var records = new List<RecordLocation>();
        Tid last = Tid.Zero;
        TxnHeader h = ValidateTransaction(window, pos, records, ref last);
        Span<byte> header = stackalloc byte[DataHeader.Size + DataHeader.BackPointerSize];
        target.WriteAt(pos - _shift, window.Read(pos, h.HeaderLength));
        foreach (RecordLocation r in records)
        {
            window.Read(r.Position, DataHeader.Size + DataHeader.BackPointerSize).CopyTo(header);
            DataHeader d = DataHeader.Parse(header);
            int size = d.IsBackPointer ? DataHeader.Size + DataHeader.BackPointerSize : DataHeader.Size;
            PatchRecordHeader(header, pos, r.Position);
            target.WriteAt(r.Position - _shift, header[..size]);
            for (long p = r.Position + DataHeader.Size, left = d.IsBackPointer ? 0 : (long)d.DataLength; left > 0;)
            {
                int n = (int)Math.Min(left, ChunkSize);
                ReadOnlySpan<byte> chunk = window.Read(p, n);
                if (chunk.Length < n)
                {
                    throw Corrupt(p, RecordKind.DataHeader, "payload fits", "end of data inside a payload");
                }
                target.WriteAt(p - _shift, chunk);
                p += n;
                left -= n;
            }
        }
        Span<byte> trailer = stackalloc byte[TxnHeader.TrailerSize];
        TxnHeader.WriteTrailer(trailer, h.Length);
        target.WriteAt(h.TrailerPosition(pos) - _shift, trailer);
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
                refs = ReferencesOfPayload(window, dh.Oid, r.Position, dh.DataLength);
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
                if (_objects.Get(target.Value).Exists && !_index.TryGet(target, out _) && !WrittenIn(records, target))
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


    /// <summary>The new index takes each object's last record of the later region phase B scanned (moved by the shift).</summary>
    private struct IndexLaterRecords(FsIndex index, long shift) : IObjectAction
    {
        public readonly void Visit(ulong oid, ref ObjectState state)
        {
            if (state.Later != 0)
            {
                index.Set(new Oid(oid), state.Later - shift);
            }
        }
    }

    /// <summary>The strong references of a payload read through a window (a record committed during the pack).</summary>
    private IReadOnlyList<Oid> ReferencesOfPayload(FileWindow window, Oid oid, long pos, ulong length)
    {
        if (length > (ulong)Array.MaxLength)
        {
            throw new PackException(string.Create(CultureInfo.InvariantCulture, $"{_storage.Name}: record of {oid} at {pos} is too large to scan for references ({length} bytes)"));
        }
        ReadOnlySpan<byte> payload = window.Read(pos + DataHeader.Size, (int)length);
        if (payload.Length < (int)length)
        {
            throw Corrupt(pos, RecordKind.DataHeader, "payload fits", "end of data inside a payload");
        }
        return ReferencesOfPayload(oid, pos, payload);
    }
}
