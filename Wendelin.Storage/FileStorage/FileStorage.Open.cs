using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Wendelin.Storage.Format;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Fs;

// Open and recovery (spec/filestorage.md §4, FS-O1..FS-O6 and FS-R1..FS-R5).
public sealed partial class FileStorage
{
    internal static FileStorage Open(string path, FileStorageOptions options, IStorageFileSystem fs)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ReadOnly && options.Create)
        {
            throw new ArgumentException("a storage cannot be created read-only", nameof(options));
        }
        if (options.Stop is not null && !options.ReadOnly)
        {
            throw new ArgumentException("a time-travel open (Stop) must be read-only", nameof(options));
        }
        if (fs.DirectoryExists(path))
        {
            throw new FileStorageException($"{path}: is a directory, not a FileStorage data file");
        }
        IDisposable? fileLock = null;
        IStorageFile? file = null;
        try
        {
            if (!options.ReadOnly)
            {
                fileLock = fs.Lock(path + ".lock");
            }
            StorageFileMode mode = options.ReadOnly ? StorageFileMode.ReadOnly
                : options.Create ? StorageFileMode.Create : StorageFileMode.OpenOrCreate;
            file = fs.Open(path, mode);
            if (options.Create)
            {
                fs.Delete(path + ".index");
            }
            var storage = new FileStorage(path, fs, file, fileLock, options);
            storage.LoadFile();
            return storage;
        }
        catch
        {
            file?.Dispose();
            fileLock?.Dispose();
            throw;
        }
    }

    private void LoadFile()
    {
        long length = _file.Length;
        if (length > 0 && length < FileHeader.Size && FileHeader.IsMagicPrefix(_file))
        {
            // FS-O1: a creation torn inside the 4-byte magic; nothing was ever committed.
            Log($"{length} bytes of a torn magic, treated as an empty file");
            if (!IsReadOnly)
            {
                _file.SetLength(0);
            }
            length = 0;
        }
        if (length == 0)
        {
            // FS-O1: an empty file is an empty storage; a writable open gives it its magic.
            Magic = _options.Magic;
            if (!IsReadOnly)
            {
                FileHeader.Write(_file, Magic);
                if (_options.Fsync)
                {
                    _file.FlushDurable();
                }
            }
            _end = FileHeader.DataStart;
            return;
        }
        Magic = FileHeader.Read(_file);
        var index = new FsIndex();
        long start = FileHeader.DataStart;
        Tid last = Tid.Zero;
        if (_options.UseIndex && _options.Stop is null
            && TryLoadIndex(length) is { } saved)
        {
            index = saved.Index;
            start = saved.Position;
            last = saved.LastTid;
            IndexLoaded = true;
        }
        (long end, Tid lastTid, int scanned) = Scan(index, start, last, length);
        _index = index;
        _end = end;
        _lastTid = lastTid;
        _clock = lastTid;
        _maxOid = index.MaxOid.Value;
        Tid now = Tid.Now();
        if (lastTid > now)
        {
            double seconds = lastTid.TimeTime - now.TimeTime;
            Log($"database records {seconds:0} seconds in the future (last tid {lastTid}); new tids continue after it");
        }
        if (IndexLoaded && scanned == 0)
        {
            _indexSavedAt = end;
        }
        else if (!IsReadOnly && _options.SaveIndex)
        {
            TrySaveIndex();
        }
    }

    /// <summary>How many scanned records are merged into the index at a time.</summary>
    private const int ScanBatch = 512;

    private void Log(string message) => _openLog.Add(string.Create(CultureInfo.InvariantCulture, $"{Name}: {message}"));

    /// <summary>
    /// The opening scan (FS-O2): validates every transaction from <paramref name="pos"/>, fills the index, and at
    /// the first transaction that is not a valid finished one applies the recovery rule (FS-R1..FS-R3).
    /// Returns the committed end, the last tid and the number of transactions scanned.
    /// </summary>
    private (long End, Tid LastTid, int Scanned) Scan(FsIndex index, long pos, Tid last, long length)
    {
        using var window = new FileWindow(_file, length);
        var records = new List<RecordLocation>();
        // Records go to the index in batches: their hash-table misses then overlap instead of stalling the scan.
        var pending = new IndexEntry[ScanBatch];
        int pendingCount = 0;
        Tid stop = _options.Stop ?? new Tid(ulong.MaxValue);
        int scanned = 0;
        while (pos < length)
        {
            FormatError? error = TxnScanner.Validate(window, pos, out TxnHeader h, records);
            if (error is null && h.Tid >= stop)
            {
                records.Clear();
                break;
            }
            if (error is null && h.Status == TransactionStatus.Checkpoint)
            {
                error = new FormatError(RecordKind.TransactionHeader, pos, "status",
                    "'c': voted but never finished (its commit did not complete)");
            }
            if (error is FormatError e)
            {
                records.Clear();
                RecoverTail(pos, last, length, e);
                break;
            }
            if (h.Tid <= last)
            {
                Log($"time-stamp reduction at {pos}: {h.Tid} <= {last}");
            }
            foreach (RecordLocation r in records)
            {
                if (pendingCount == pending.Length)
                {
                    index.SetMany(pending);
                    pendingCount = 0;
                }
                pending[pendingCount++] = new IndexEntry(r.Oid.Value, r.Position);
            }
            records.Clear();
            last = h.Tid;
            pos = h.NextPosition(pos);
            scanned++;
        }
        index.SetMany(pending.AsSpan(0, pendingCount));
        return (pos, last, scanned);
    }

    /// <summary>
    /// FS-R1..FS-R3: the bytes from <paramref name="pos"/> on do not start a valid finished transaction. If a valid
    /// committed transaction lies anywhere after them, the damage is in the middle: refuse to open (never drop
    /// committed transactions). Otherwise it is a torn tail: a writable open copies it to the first unused
    /// <c>NAME.trN</c>, cuts the file at <paramref name="pos"/> and makes both durable; a read-only open ends there.
    /// </summary>
    private void RecoverTail(long pos, Tid last, long length, FormatError error)
    {
        if (FindCommittedTransaction(pos + 1, last, length) is (long found, Tid tid, long shift))
        {
            string moved = shift == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $" (written at {found - shift}: bytes were inserted or deleted before it)");
            throw new CorruptRecordException(Name, error.Position, error.Kind, error.Check,
                string.Create(CultureInfo.InvariantCulture,
                    $"{error.Detail}; the transaction at {pos} is damaged, yet a valid committed transaction {tid} follows at {found}{moved} ({found - pos} bytes after it, {length - found} bytes before the end): damage in the middle of the file, refusing to cut committed transactions"));
        }
        long cut = length - pos;
        if (IsReadOnly)
        {
            Log($"ignoring a torn tail of {cut} bytes at {pos} (found: {error.Detail}); read-only, file unchanged");
            return;
        }
        string side = SaveTail(pos, length);
        _file.SetLength(pos);
        _file.FlushDurable();
        Log($"cut a torn tail of {cut} bytes at {pos} (found: {error.Detail}); bytes saved to {side}");
    }

    /// <summary>Copies <c>[pos, length)</c> to the first unused <c>NAME.trN</c> and makes it durable.</summary>
    private string SaveTail(long pos, long length)
    {
        string side;
        for (int n = 0; ; n++)
        {
            side = Name + ".tr" + n.ToString(CultureInfo.InvariantCulture);
            if (!_fs.FileExists(side))
            {
                break;
            }
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            using IStorageFile tr = _fs.Open(side, StorageFileMode.Create);
            for (long p = pos; p < length;)
            {
                int want = (int)Math.Min(buffer.Length, length - p);
                int got = _file.ReadAt(p, buffer.AsSpan(0, want));
                if (got == 0)
                {
                    break;
                }
                tr.WriteAt(p - pos, buffer.AsSpan(0, got));
                p += got;
            }
            tr.FlushDurable();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return side;
    }

    /// <summary>FS-R2's probe (<see cref="TxnProbe"/>) over this storage's file.</summary>
    private (long Position, Tid Tid, long Shift)? FindCommittedTransaction(long from, Tid last, long length) =>
        TxnProbe.FindCommittedTransaction(_file, from, last, length);
}
