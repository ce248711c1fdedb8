using System.Buffers;
using System.Text;
using Wendelin.Storage.Format;

namespace Wendelin.Storage.Fs;

// Two-phase commit (spec/filestorage.md §5, FS-C1..FS-C8, durability points FS-D1..FS-D4).
public sealed partial class FileStorage
{
    public Oid NewOid()
    {
        ThrowIfUnusable();
        ThrowIfReadOnly("NewOid");
        ulong next = Interlocked.Increment(ref _maxOid);
        if (next == 0)
        {
            throw new FileStorageException($"{Name}: the oid space is exhausted");
        }
        return new Oid(next);
    }

    public StorageTransaction TpcBegin(TransactionMetadata metadata) => TpcBegin(metadata, null);

    /// <summary>
    /// Starts a commit, waiting while another one runs (FS-C1). The tid is <paramref name="tid"/> when given (it
    /// must be later than the last transaction: FS-2.4), else the current time made later than every tid used so
    /// far (FS-T3). <paramref name="status"/> is ' ' (normal) or 'p' (a copied packed transaction).
    /// </summary>
    public StorageTransaction TpcBegin(TransactionMetadata metadata, Tid? tid, TransactionStatus status = TransactionStatus.Committed)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ThrowIfUnusable();
        ThrowIfReadOnly("TpcBegin");
        if (status is not (TransactionStatus.Committed or TransactionStatus.Packed))
        {
            throw new ArgumentException($"a transaction is committed with status ' ' or 'p', not '{(char)status}'", nameof(status));
        }
        byte[] user = Utf8(metadata.User, ref _lastUser);
        byte[] description = Utf8(metadata.Description, ref _lastDescription);
        byte[] extension = ExtensionCodec.Encode(metadata);
        CheckMetadataLength(user.Length, "user name too long");
        CheckMetadataLength(description.Length, "description too long");
        CheckMetadataLength(extension.Length, "too much extension data");

        _commitGate.Wait();
        try
        {
            ThrowIfUnusable();
            (long end, Tid last) = Snapshot();
            Tid chosen;
            if (tid is Tid given)
            {
                if (given <= last)
                {
                    throw new ArgumentException($"tid {given} is not later than the last transaction {last} (tids increase: FS-2.4)", nameof(tid));
                }
                chosen = given;
            }
            else
            {
                try
                {
                    chosen = Tid.Now().LaterThan(_clock > last ? _clock : last);
                }
                catch (OverflowException e)
                {
                    throw new FileStorageException($"{Name}: no tid is later than the last one, {last}", e);
                }
            }
            _clock = chosen;
            var txn = new FsTransaction(this, metadata, chosen, status, user, description, extension, end, _options.SpillThreshold);
            _current = txn;
            return txn;
        }
        catch
        {
            _commitGate.Release();
            throw;
        }
    }

    public void Store(StorageTransaction transaction, Oid oid, Tid serial, ReadOnlyMemory<byte> data)
    {
        FsTransaction txn = Current(transaction, "Store");
        if (data.IsEmpty)
        {
            throw new ArgumentException("an empty record cannot be stored (plen 0 means a backpointer: FS-5)", nameof(data));
        }
        long prev = CheckStore(oid, serial);
        AppendRecord(txn, oid, prev, data.Span, 0);
    }

    /// <inheritdoc/>
    public int DirectPayloadBytes => DirectRecordBytes;

    /// <summary>
    /// FS-C4b: <see cref="Store(StorageTransaction, Oid, Tid, ReadOnlyMemory{byte})"/> of the record
    /// <paramref name="head"/> ‖ <paramref name="payload"/> ‖ <paramref name="tail"/>. A record of at least
    /// <see cref="DirectRecordBytes"/> goes as in FS-C4a, each part written from the caller's bytes (the record's
    /// bytes are in the file, none in the buffer); a smaller one is assembled in the buffer.
    /// </summary>
    public void Store(StorageTransaction transaction, Oid oid, Tid serial, ReadOnlySpan<byte> head, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> tail)
    {
        FsTransaction txn = Current(transaction, "Store");
        long length = (long)head.Length + payload.Length + tail.Length;
        if (length == 0)
        {
            throw new ArgumentException("an empty record cannot be stored (plen 0 means a backpointer: FS-5)", nameof(payload));
        }
        if (length > int.MaxValue - DataHeader.Size - DataHeader.BackPointerSize - 64)
        {
            throw new ArgumentException($"a record of {length} bytes is too large", nameof(payload));
        }
        long prev = CheckStore(oid, serial);
        if (length < DirectRecordBytes)
        {
            byte[] whole = ArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                head.CopyTo(whole);
                payload.CopyTo(whole.AsSpan(head.Length));
                tail.CopyTo(whole.AsSpan(head.Length + payload.Length));
                AppendRecord(txn, oid, prev, whole.AsSpan(0, (int)length), 0);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(whole);
            }
            return;
        }
        Span<byte> r = txn.Append(DataHeader.Size, out long position);
        new DataHeader(oid, txn.Tid, prev, txn.Position, 0, (ulong)length).Write(r);
        txn.Record(oid, position);
        try
        {
            _file.WriteAt(txn.PendingPosition, txn.PendingRecords);
            txn.MarkSpilled();
            long at = position + DataHeader.Size;
            if (!head.IsEmpty)
            {
                _file.WriteAt(at, head);
            }
            if (!payload.IsEmpty)
            {
                _file.WriteAt(at + head.Length, payload);
            }
            if (!tail.IsEmpty)
            {
                _file.WriteAt(at + head.Length + payload.Length, tail);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new FileStorageException($"{Name}: could not write records of transaction {txn.Tid}: {e.Message}", e);
        }
        txn.MarkWrittenPastBuffer((int)length);
        HintWriteback(txn);
    }

    /// <summary>Bytes written before vote are handed to the OS's writeback once this many have gathered (FS-C4c).</summary>
    internal const long WritebackHintBytes = 16 << 20;

    /// <summary>
    /// FS-C4c: once <see cref="WritebackHintBytes"/> of the transaction's bytes have been written to the file before its
    /// vote, the OS is asked to start writing them back, so the disk works while the rest of the transaction is built
    /// and the vote's fsync finds less to write. Nothing about durability changes (FS-D1).
    /// </summary>
    private void HintWriteback(FsTransaction txn)
    {
        long end = txn.WrittenEnd;
        long from = Math.Max(txn.WritebackFrom, txn.Position);
        if (end - from >= WritebackHintBytes)
        {
            _file.StartWriteback(from, end - from);
            txn.WritebackFrom = end;
        }
    }

    /// <summary>The conflict check of a store (FS-C3); returns the previous record's position (0 for a new object).</summary>
    private long CheckStore(Oid oid, Tid serial)
    {
        BumpMaxOid(oid);
        if (!TryGetPosition(oid, out long current, out long end, out Tid committed))
        {
            return 0;
        }
        if (committed == Tid.Zero)
        {
            committed = ReadDataHeader(_file, current, end, oid).Tid;
        }
        if (committed != serial)
        {
            throw new ConflictException(oid, committed, serial);
        }
        return current;
    }

    /// <summary>
    /// Records that <paramref name="oid"/> was deleted (external garbage collection): a record without data
    /// (FS-5.2). <see cref="PosKeyException"/> if it has no committed record, <see cref="ConflictException"/>
    /// if <paramref name="serial"/> is not its committed serial.
    /// </summary>
    public void DeleteObject(StorageTransaction transaction, Oid oid, Tid serial)
    {
        FsTransaction txn = Current(transaction, "DeleteObject");
        if (!TryGetPosition(oid, out long current, out long end))
        {
            throw new PosKeyException(oid);
        }
        DataHeader committed = ReadDataHeader(_file, current, end, oid);
        if (committed.Tid != serial)
        {
            throw new ConflictException(oid, committed.Tid, serial);
        }
        AppendRecord(txn, oid, current, [], 0);
    }

    public void CheckCurrentSerial(StorageTransaction transaction, Oid oid, Tid serial)
    {
        _ = Current(transaction, "CheckCurrentSerial");
        Tid committed = GetTid(oid);
        if (committed != serial)
        {
            throw new ReadConflictException(oid, committed, serial);
        }
    }

    public void TpcVote(StorageTransaction transaction)
    {
        FsTransaction txn = Current(transaction, "TpcVote");
        var header = new TxnHeader(txn.Tid, txn.TransactionLength, TransactionStatus.Checkpoint,
            (ushort)txn.User.Length, (ushort)txn.Description.Length, (ushort)txn.Extension.Length);
        try
        {
            if (!txn.Spilled)
            {
                // FS-D2: the whole transaction with status 'c' in one write.
                Span<byte> b = txn.Buffer;
                WriteHeaderArea(txn, header, b);
                int total = txn.BufferedLength;
                TxnHeader.WriteTrailer(b.Slice(total, TxnHeader.TrailerSize), header.Length);
                _file.WriteAt(txn.Position, b[..(total + TxnHeader.TrailerSize)]);
            }
            else
            {
                Span<byte> b = txn.Buffer;
                int pending = txn.BufferedLength;
                TxnHeader.WriteTrailer(b.Slice(pending, TxnHeader.TrailerSize), header.Length);
                _file.WriteAt(txn.PendingPosition, b[..(pending + TxnHeader.TrailerSize)]);
                byte[] head = new byte[txn.HeaderLength];
                WriteHeaderArea(txn, header, head);
                _file.WriteAt(txn.Position, head);
            }
            if (_options.Fsync && _options.FsyncAtVote)
            {
                _file.FlushDurable();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            CutBack(txn, e);
            throw new FileStorageException($"{Name}: vote failed, transaction not written: {e.Message}", e);
        }
        txn.State = TxnState.Voted;
        txn.ReleaseBuffer();
    }

    public Tid TpcFinish(StorageTransaction transaction, Action<Tid, IReadOnlyList<Oid>>? onCommitted = null)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ThrowIfUnusable();
        if (transaction is not FsTransaction txn || !ReferenceEquals(txn.Owner, this) || !ReferenceEquals(_current, txn))
        {
            throw new StorageTransactionException($"{Name}: TpcFinish of a transaction that is not being committed here");
        }
        if (txn.State != TxnState.Voted)
        {
            throw new StorageTransactionException($"{Name}: TpcFinish before TpcVote");
        }
        try
        {
            // FS-D3, the commit point: the status byte becomes ' ' (or 'p') and is made durable.
            ReadOnlySpan<byte> status = [(byte)txn.Status];
            _file.WriteAt(txn.Position + TxnHeader.StatusOffset, status);
            if (_options.Fsync)
            {
                _file.FlushDurable();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // Whether the flip reached the disk is unknown: the file is consistent either way, memory is not.
            _failure = $"finish of {txn.Tid} failed: {e.Message}";
            txn.State = TxnState.Done;
            _current = null;
            _commitGate.Release();
            throw new FileStorageException($"{Name}: finish of transaction {txn.Tid} failed ({e.Message}); the storage is closed, reopen it to see whether the transaction committed", e);
        }
        Exception? callbackError = null;
        IReadOnlyList<Oid> oids = txn.Oids;
        _state.EnterWriteLock();
        try
        {
            try
            {
                onCommitted?.Invoke(txn.Tid, oids);
            }
            catch (Exception e)
            {
                callbackError = e;
            }
            foreach (KeyValuePair<ulong, long> kv in txn.Positions)
            {
                _index.Set(new Oid(kv.Key), kv.Value, txn.Tid);
            }
            _end = txn.EndPosition;
            _lastTid = txn.Tid;
        }
        finally
        {
            _state.ExitWriteLock();
            txn.State = TxnState.Done;
            _current = null;
            _commitGate.Release();
        }
        Committed?.Invoke(txn.Tid, oids);
        if (callbackError is not null)
        {
            throw new StorageException($"{Name}: transaction {txn.Tid} committed, but the commit callback failed: {callbackError.Message}", callbackError);
        }
        return txn.Tid;
    }

    public void TpcAbort(StorageTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (Volatile.Read(ref _disposed) != 0 || transaction is not FsTransaction txn
            || !ReferenceEquals(txn.Owner, this) || !ReferenceEquals(_current, txn))
        {
            return; // FS-C6: aborting a foreign or finished transaction is ignored
        }
        AbortCore(txn);
    }

    private void AbortCore(FsTransaction txn)
    {
        try
        {
            if ((txn.State == TxnState.Voted || txn.Spilled) && _failure is null)
            {
                CutBack(txn, null);
            }
        }
        finally
        {
            txn.ReleaseBuffer();
            txn.State = TxnState.Done;
            _current = null;
            _commitGate.Release();
        }
    }

    /// <summary>
    /// FS-C5: removes the bytes of an unfinished transaction (past the committed end). Without the vote fsync the cut
    /// is made durable at once (FS-D5): otherwise the next transaction's status flip, landing on the disk before its
    /// own bytes and before the cut, would mark this aborted one committed.
    /// </summary>
    private void CutBack(FsTransaction txn, Exception? cause)
    {
        try
        {
            _file.SetLength(txn.Position);
            if (_options.Fsync && !_options.FsyncAtVote)
            {
                _file.FlushDurable();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            _failure = $"could not cut the unfinished transaction {txn.Tid} at {txn.Position}: {e.Message}" +
                (cause is null ? "" : $" (after: {cause.Message})");
        }
    }

    private FsTransaction Current(StorageTransaction transaction, string operation)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ThrowIfUnusable();
        ThrowIfReadOnly(operation);
        if (transaction is not FsTransaction txn || !ReferenceEquals(txn.Owner, this) || !ReferenceEquals(_current, txn))
        {
            throw new StorageTransactionException($"{Name}: {operation} with a transaction that is not being committed here");
        }
        if (txn.State != TxnState.Begun)
        {
            throw new StorageTransactionException($"{Name}: {operation} after TpcVote");
        }
        return txn;
    }

    private void AppendRecord(FsTransaction txn, Oid oid, long prev, ReadOnlySpan<byte> data, long back)
    {
        int size = DataHeader.Size + (data.IsEmpty ? DataHeader.BackPointerSize : data.Length);
        if (data.Length > int.MaxValue - DataHeader.Size - DataHeader.BackPointerSize - 64)
        {
            throw new ArgumentException($"a record of {data.Length} bytes is too large", nameof(data));
        }
        if (data.Length >= DirectRecordBytes)
        {
            AppendLargeRecord(txn, oid, prev, data);
            return;
        }
        Span<byte> r = txn.Append(size, out long position);
        new DataHeader(oid, txn.Tid, prev, txn.Position, 0, (ulong)data.Length).Write(r);
        if (data.IsEmpty)
        {
            DataHeader.WriteBackPointer(r[DataHeader.Size..], back);
        }
        else
        {
            data.CopyTo(r[DataHeader.Size..]);
        }
        txn.Record(oid, position);
        if (txn.NeedsSpill)
        {
            try
            {
                _file.WriteAt(txn.PendingPosition, txn.PendingRecords);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                throw new FileStorageException($"{Name}: could not write records of transaction {txn.Tid}: {e.Message}", e);
            }
            txn.MarkSpilled();
            HintWriteback(txn);
        }
    }

    /// <summary>Records with at least this many bytes of data are written from the caller's bytes (FS-C4a).</summary>
    internal const int DirectRecordBytes = 256 << 10;

    /// <summary>
    /// FS-C4a: a large record goes to the file without passing through the buffer. Its header joins the buffered
    /// records, which are written (spilled) at once, then its data is written from <paramref name="data"/> right
    /// after them: one copy fewer of every byte of a block record, and the buffer never grows past the threshold.
    /// </summary>
    private void AppendLargeRecord(FsTransaction txn, Oid oid, long prev, ReadOnlySpan<byte> data)
    {
        Span<byte> r = txn.Append(DataHeader.Size, out long position);
        new DataHeader(oid, txn.Tid, prev, txn.Position, 0, (ulong)data.Length).Write(r);
        txn.Record(oid, position);
        try
        {
            _file.WriteAt(txn.PendingPosition, txn.PendingRecords);
            txn.MarkSpilled();
            _file.WriteAt(position + DataHeader.Size, data);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new FileStorageException($"{Name}: could not write records of transaction {txn.Tid}: {e.Message}", e);
        }
        txn.MarkWrittenPastBuffer(data.Length);
        HintWriteback(txn);
    }

    private static void WriteHeaderArea(FsTransaction txn, TxnHeader header, Span<byte> b)
    {
        header.Write(b);
        int p = TxnHeader.Size;
        txn.User.CopyTo(b[p..]);
        p += txn.User.Length;
        txn.Description.CopyTo(b[p..]);
        p += txn.Description.Length;
        txn.Extension.CopyTo(b[p..]);
    }

    private void BumpMaxOid(Oid oid)
    {
        ulong seen = Volatile.Read(ref _maxOid);
        while (oid.Value > seen)
        {
            ulong was = Interlocked.CompareExchange(ref _maxOid, oid.Value, seen);
            if (was == seen)
            {
                return;
            }
            seen = was;
        }
    }

    /// <summary>
    /// The UTF-8 bytes of <paramref name="text"/>, reused while the same string comes again (applications commit
    /// with one user and a few descriptions). The bytes are never written to, so sharing them is safe.
    /// </summary>
    private static byte[] Utf8(string? text, ref EncodedText? last)
    {
        text ??= "";
        EncodedText? cached = Volatile.Read(ref last);
        if (cached is not null && ReferenceEquals(cached.Text, text))
        {
            return cached.Bytes;
        }
        byte[] bytes = text.Length == 0 ? [] : Encoding.UTF8.GetBytes(text);
        Volatile.Write(ref last, new EncodedText(text, bytes));
        return bytes;
    }

    private sealed record EncodedText(string Text, byte[] Bytes);

    private EncodedText? _lastUser;
    private EncodedText? _lastDescription;

    private static void CheckMetadataLength(int length, string what)
    {
        if (length > TxnHeader.MaxMetadataLength)
        {
            throw new FileStorageException($"{what}: {length} bytes, at most {TxnHeader.MaxMetadataLength}");
        }
    }
}
