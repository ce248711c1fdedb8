using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Wendelin.Storage.Format;
using Wendelin.Storage.IO;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Fs;

// NAME.index: load after the sanity check, save through a temporary file and a rename (spec/filestorage.md §4,
// FS-I1..FS-I5). The file is ZODB's fsIndex.save format: protocol-3 pickles in fast mode (no memo): the position
// the index is valid for, then one (6-byte oid prefix, bucket) tuple per prefix in ascending order, where the
// bucket is n 2-byte oid suffixes followed by n 6-byte big-endian positions, then None.
public sealed partial class FileStorage
{
    private const int IndexPrefixLength = 6;
    private const int IndexSuffixLength = 2;
    private const int IndexPositionLength = 6;
    private const long IndexMaxPosition = 1L << (8 * IndexPositionLength);
    private const long IndexMinimumPosition = 100;
    private const int IndexRecordsChecked = 5;

    private readonly record struct SavedIndex(FsIndex Index, long Position, Tid LastTid);

    /// <summary>The path of the index file beside the data file.</summary>
    public string IndexPath => Name + ".index";

    /// <summary>
    /// Reads <c>NAME.index</c> and applies ZODB's sanity check (FS-I3); null when it is missing, unreadable, of the
    /// old dict format, or stale — the caller then rebuilds the index by scanning (the index is only a cache).
    /// </summary>
    private SavedIndex? TryLoadIndex(long length)
    {
        if (!_fs.FileExists(IndexPath))
        {
            return null;
        }
        try
        {
            byte[] bytes;
            using (IStorageFile f = _fs.Open(IndexPath, StorageFileMode.ReadOnly))
            {
                long size = f.Length;
                if (size > Array.MaxLength)
                {
                    Log($"{IndexPath} is too large ({size} bytes); rebuilding the index");
                    return null;
                }
                bytes = GC.AllocateUninitializedArray<byte>((int)size);
                if (f.ReadAt(0, bytes) != bytes.Length)
                {
                    Log($"{IndexPath} changed while it was read; rebuilding the index");
                    return null;
                }
            }
            if (ParseIndex(bytes, length) is not (FsIndex index, long pos))
            {
                return null;
            }
            if (CheckIndex(index, pos) is not Tid lastTid)
            {
                Log($"{IndexPath} does not match the data file at {pos}; rebuilding the index");
                return null;
            }
            return new SavedIndex(index, pos, lastTid);
        }
        catch (Exception e) when (e is PickleException or StorageException or IOException or ArgumentException or InvalidOperationException)
        {
            Log($"{IndexPath} is unreadable ({e.Message}); rebuilding the index");
            return null;
        }
    }

    private (FsIndex, long)? ParseIndex(byte[] bytes, long length)
    {
        var reader = new PickleReader(bytes);
        PickleValue first = reader.ReadPickle();
        if (!first.TryGetInt64(out long pos))
        {
            Log($"{IndexPath} has the old dict format; rebuilding the index");
            return null;
        }
        if (pos < IndexMinimumPosition || pos > length)
        {
            Log(string.Create(CultureInfo.InvariantCulture, $"{IndexPath} is for position {pos}, the file has {length} bytes; rebuilding the index"));
            return null;
        }
        var parts = new List<(ReadOnlyMemory<byte>, ReadOnlyMemory<byte>)>();
        while (true)
        {
            PickleValue v = reader.ReadPickle();
            if (v.IsNone)
            {
                break;
            }
            PickleTuple t = v.AsTuple().ExpectCount(2);
            parts.Add((t[0].AsBytes(), t[1].AsBytes()));
        }
        // The entries stay in the bytes read (PK-12: bytes values are slices of the input), checked once here.
        if (PackedIndex.Build(parts, pos, out string? error) is not PackedIndex packed)
        {
            throw new PickleException(error ?? "bad index entries");
        }
        return (new FsIndex(packed), pos);
    }

    /// <summary>
    /// FS-I3: the transaction ending at the saved position is valid and finished; in the last non-empty one (going
    /// back over empty and 'u' transactions) up to 5 oids map to their last record in it. Returns the tid of the
    /// transaction ending at the saved position, or null when the index does not match the file.
    /// </summary>
    private Tid? CheckIndex(FsIndex index, long pos)
    {
        using var window = new FileWindow(_file, pos, 64 << 10);
        var records = new List<RecordLocation>();
        Tid? lastTid = null;
        long end = pos;
        while (end > FileHeader.DataStart)
        {
            long tpos;
            try
            {
                tpos = PreviousTransaction(window, end);
            }
            catch (CorruptRecordException)
            {
                return null;
            }
            records.Clear();
            if (TxnScanner.Validate(window, tpos, out TxnHeader h, records) is not null || !h.IsFinished
                || h.NextPosition(tpos) != end)
            {
                return null;
            }
            lastTid ??= h.Tid;
            if (records.Count > 0)
            {
                var last = new Dictionary<ulong, long>();
                var order = new List<ulong>();
                foreach (RecordLocation r in records)
                {
                    if (last.TryAdd(r.Oid.Value, r.Position))
                    {
                        order.Add(r.Oid.Value);
                    }
                    else
                    {
                        last[r.Oid.Value] = r.Position;
                    }
                }
                for (int i = 0; i < order.Count && i < IndexRecordsChecked; i++)
                {
                    if (!index.TryGet(new Oid(order[i]), out long p) || p != last[order[i]])
                    {
                        return null;
                    }
                }
                return lastTid;
            }
            end = tpos;
        }
        return lastTid;
    }

    /// <summary>
    /// Writes <c>NAME.index</c> for the committed end (FS-I4): to <c>NAME.index.index_tmp</c>, made durable, then
    /// renamed over the old one. Failures are ignored (the index is only a cache): the next open rebuilds it.
    /// </summary>
    private void TrySaveIndex()
    {
        if (IsReadOnly || _failure is not null)
        {
            return;
        }
        byte[] content;
        long savedEnd;
        _state.EnterReadLock();
        try
        {
            savedEnd = _end;
            if (_end >= IndexMaxPosition || _end < IndexMinimumPosition)
            {
                _fs.Delete(IndexPath); // nothing worth saving, and an old index must not outlive a new file
                _indexSavedAt = _end;
                return;
            }
            content = EncodeIndex(_index, _end);
        }
        catch (IOException)
        {
            return;
        }
        finally
        {
            _state.ExitReadLock();
        }
        string temp = IndexPath + ".index_tmp";
        try
        {
            using (IStorageFile f = _fs.Open(temp, StorageFileMode.Create))
            {
                f.WriteAt(0, content);
                f.FlushDurable();
            }
            _fs.Replace(temp, IndexPath);
            _indexSavedAt = savedEnd;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or StorageException)
        {
            try
            {
                _fs.Delete(temp);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The bytes of an index file for <paramref name="index"/> valid at <paramref name="pos"/>.</summary>
    internal static byte[] EncodeIndex(FsIndex index, long pos)
    {
        var output = new ArrayBufferWriter<byte>(64 + index.Count * 10);
        var writer = new PickleWriter(output, fast: true);
        writer.Dump(pos);
        (ulong[] oids, long[] positions) = index.Sorted();
        byte[] bucket = new byte[Math.Min(oids.Length, 1 << 16) * (IndexSuffixLength + IndexPositionLength)];
        byte[] prefix = new byte[IndexPrefixLength];
        int start = 0;
        while (start < oids.Length)
        {
            ulong high = oids[start] >> 16;
            int end = start;
            while (end < oids.Length && oids[end] >> 16 == high)
            {
                end++;
            }
            int n = end - start;
            Span<byte> keys = bucket.AsSpan(0, n * IndexSuffixLength);
            Span<byte> values = bucket.AsSpan(n * IndexSuffixLength, n * IndexPositionLength);
            for (int i = 0; i < n; i++)
            {
                BinaryPrimitives.WriteUInt16BigEndian(keys[(i * IndexSuffixLength)..], (ushort)oids[start + i]);
                WriteUInt48(values[(i * IndexPositionLength)..], (ulong)positions[start + i]);
            }
            WriteUInt48(prefix, high);
            writer.Dump(new PickleTuple(new PickleBytes(prefix.ToArray()), new PickleBytes(bucket.AsSpan(0, n * 8).ToArray())));
            start = end;
        }
        writer.Dump(PickleValue.None);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>The index as a fresh scan of the committed data builds it (tests compare it with a loaded one).</summary>
    internal FsIndex RebuildIndex()
    {
        (long end, _, IStorageFile file) = SnapshotWithFile();
        var index = new FsIndex();
        using var window = new FileWindow(file, end);
        var records = new List<RecordLocation>();
        for (long pos = FileHeader.DataStart; pos < end;)
        {
            records.Clear();
            if (TxnScanner.Validate(window, pos, out TxnHeader h, records) is FormatError e)
            {
                throw Corrupt(e);
            }
            foreach (RecordLocation r in records)
            {
                index.Set(r.Oid, r.Position);
            }
            pos = h.NextPosition(pos);
        }
        return index;
    }

    /// <summary>A copy of the current index (tests).</summary>
    internal FsIndex CopyIndex()
    {
        _state.EnterReadLock();
        try
        {
            var copy = new FsIndex(_index.Count);
            foreach ((Oid oid, long p) in _index.Entries())
            {
                copy.Set(oid, p);
            }
            return copy;
        }
        finally
        {
            _state.ExitReadLock();
        }
    }

    private static void WriteUInt48(Span<byte> b, ulong v)
    {
        BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)(v >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(b[2..], (uint)v);
    }
}
