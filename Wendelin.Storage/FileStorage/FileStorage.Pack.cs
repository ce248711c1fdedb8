using System.Globalization;
using Wendelin.Storage.Format;
using Wendelin.Storage.IO;
using Wendelin.Storage.Pack;

namespace Wendelin.Storage.Fs;

// Pack (spec/pack.md): the phases run in Pack/Packer.cs; this part holds the locking, the commits made during the
// pack, and the swap (PK-S1..PK-S5).
public sealed partial class FileStorage
{
    /// <summary>Commits a pack may have to start over for before it gives up (PK-D3).</summary>
    private const int MaxPackRestarts = 3;

    /// <summary>The later region is copied without the commit lock until less than this is left (PK-D2).</summary>
    private const long FinalCopyThreshold = 1 << 20;

    private int _packing;

    /// <summary>The path of the packed file while a pack writes it.</summary>
    public string PackPath => Name + ".pack";

    /// <summary>The path the previous data file is kept under by <see cref="PackOptions.KeepOld"/>.</summary>
    public string OldPath => Name + ".old";

    /// <summary>Packs at a UTC time (see <see cref="Pack(Tid, PackOptions?, IProgress{PackProgress}?, CancellationToken)"/>).</summary>
    public PackResult Pack(DateTime packTimeUtc, PackOptions? options = null, IProgress<PackProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        Pack(Tid.FromDateTime(packTimeUtc.Kind == DateTimeKind.Local ? packTimeUtc.ToUniversalTime() : packTimeUtc),
            options, progress, cancellationToken);

    /// <summary>
    /// Removes the history before <paramref name="packTid"/> (spec/pack.md): of every transaction with tid ≤ the pack
    /// tid only the revisions still needed survive — with GC those of objects reachable at the pack time from the
    /// root or from any later record, without GC every object's pack-time revision — rewritten with status 'p'; later
    /// transactions are copied, including those committed while the pack runs. The new file replaces the old one
    /// atomically; a crash at any point leaves the old or the new file whole. Returns what was done;
    /// <see cref="PackResult.Packed"/> is false when there was nothing to do.
    /// </summary>
    public PackResult Pack(Tid packTid, PackOptions? options = null, IProgress<PackProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ThrowIfUnusable();
        ThrowIfReadOnly("Pack");
        if (packTid == Tid.Zero)
        {
            throw new ArgumentException("the pack time is 0 (z64): nothing is before it", nameof(packTid));
        }
        options ??= new PackOptions();
        if (Interlocked.Exchange(ref _packing, 1) != 0)
        {
            throw new PackException($"{Name}: Already packing");
        }
        try
        {
            for (int restarts = 0; ; restarts++)
            {
                PackResult? result = PackAttempt(packTid, options, progress, cancellationToken);
                if (result is not null)
                {
                    return result with { Restarts = restarts };
                }
                if (restarts == MaxPackRestarts)
                {
                    throw new PackException(string.Create(CultureInfo.InvariantCulture,
                        $"{Name}: commits made during the pack kept referencing objects it collected; gave up after {MaxPackRestarts + 1} attempts (try again when the database is quieter)"));
                }
            }
        }
        finally
        {
            Volatile.Write(ref _packing, 0);
        }
    }

    /// <summary>One attempt; null when a commit made meanwhile needs the pack to start over (PK-D3).</summary>
    private PackResult? PackAttempt(Tid packTid, PackOptions options, IProgress<PackProgress>? progress, CancellationToken cancel)
    {
        (long end, _, IStorageFile source) = SnapshotWithFile();
        var result = new PackResult { PackTid = packTid, SizeBefore = end, SizeAfter = end };
        if (end <= FileHeader.DataStart)
        {
            return result with { Reason = "the storage is empty" };
        }
        ulong maxOid;
        int objects;
        _state.EnterReadLock();
        try
        {
            maxOid = Volatile.Read(ref _maxOid);
            objects = _index.Count;
        }
        finally
        {
            _state.ExitReadLock();
        }
        var packer = new Packer(this, source, packTid, options.Gc, maxOid, objects, progress, cancel);
        try
        {
            packer.Scan(end);
            if (packer.RegionTransactions == 0)
            {
                return result with { Reason = "no transaction is at or before the pack time" };
            }
            if (packer.IsRedundant)
            {
                return result with { Reason = "a previous pack already packed up to this time", PackedTransactionsBefore = packer.RegionTransactions };
            }
            packer.DecideKept(end);
            options.AfterGc?.Invoke();
            result = result with
            {
                PackedTransactionsBefore = packer.RegionTransactions,
                RecordsBefore = packer.RegionRecords,
                RecordsKept = packer.KeptRecords,
                KeptForLaterReferences = packer.KeptForLaterReferences,
            };
            return WritePackedFile(packer, end, options, progress, result, cancel);
        }
        finally
        {
            packer.Release();
        }
    }

    private PackResult? WritePackedFile(Packer packer, long end, PackOptions options,
        IProgress<PackProgress>? progress, PackResult result, CancellationToken cancel)
    {
        IStorageFile? packFile = null;
        bool swapped = false;
        try
        {
            packFile = _fs.Open(PackPath, StorageFileMode.Create);
            using var output = new PackOutput(packFile, 0);
            output.Write(FileHeader.Bytes(Magic));
            packer.WritePackedRegion(output, end);
            if (output.Position - FileHeader.DataStart == packer.PackPosition - FileHeader.DataStart)
            {
                return result with { Reason = "nothing before the pack time can be removed" };
            }
            // PK-D1/PK-D2: copy the later region as it was, then what was committed meanwhile, without the commit
            // lock while more than a little is left.
            packer.CopyLaterRegion(output, packer.PackPosition, end, committedDuringPack: false);
            long copied = end;
            int during = 0;
            while (true)
            {
                (long now, _) = Snapshot();
                if (now - copied < FinalCopyThreshold)
                {
                    break;
                }
                int n = packer.CopyLaterRegion(output, copied, now, committedDuringPack: true);
                if (n < 0)
                {
                    return null;
                }
                during += n;
                copied = now;
            }
            options.BeforeSwap?.Invoke();
            _commitGate.Wait(cancel);
            try
            {
                ThrowIfUnusable();
                (long final, _) = Snapshot();
                if (final > copied)
                {
                    int n = packer.CopyLaterRegion(output, copied, final, committedDuringPack: true);
                    if (n < 0)
                    {
                        return null;
                    }
                    during += n;
                }
                output.Flush();
                packFile.FlushDurable();
                progress?.Report(new PackProgress(PackPhase.Swap, 0, 1));
                long newEnd = output.Position;
                int removed = SwapPackedFile(packFile, packer, newEnd, options.KeepOld);
                swapped = true;
                packFile = null;
                progress?.Report(new PackProgress(PackPhase.Swap, 1, 1));
                result = result with
                {
                    Packed = true,
                    SizeAfter = newEnd,
                    PackedTransactionsAfter = packer.KeptTransactions,
                    ObjectsRemoved = removed,
                    CommittedDuringPack = during,
                    OldPath = options.KeepOld ? OldPath : null,
                };
            }
            finally
            {
                _commitGate.Release();
            }
            if (_options.SaveIndex)
            {
                TrySaveIndex();
            }
            return result;
        }
        catch (Exception e) when (!swapped && e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new FileStorageException($"{Name}: pack failed, the data file is unchanged: {e.Message}", e);
        }
        finally
        {
            if (!swapped)
            {
                packFile?.Dispose();
                TryDelete(PackPath);
            }
        }
    }

    /// <summary>
    /// PK-S1..PK-S4, under the commit lock: the packed file is durable; the old file gets its second name
    /// <c>NAME.old</c> when kept; the stale <c>NAME.index</c> goes; the packed file is renamed over <c>NAME</c> (the
    /// commit point of the pack) and the directory made durable; then the storage switches to the new file, index
    /// and end. Returns the number of objects that have no record any more.
    /// </summary>
    private int SwapPackedFile(IStorageFile packFile, Packer packer, long newEnd, bool keepOld)
    {
        string directory = Path.GetDirectoryName(Name) is { Length: > 0 } d ? d : ".";
        // The directory is made durable before the rename only when something changed in it: one journal commit
        // less (each waits for every other writer's ordered data on ext4).
        bool changed = false;
        if (_fs.FileExists(OldPath))
        {
            TryDelete(OldPath);
            changed = true;
        }
        if (keepOld)
        {
            _fs.HardLink(Name, OldPath);
            changed = true;
        }
        if (_fs.FileExists(IndexPath))
        {
            _fs.Delete(IndexPath);
            changed = true;
        }
        if (changed)
        {
            _fs.SyncDirectory(directory);
        }
        _fs.Replace(PackPath, Name); // the commit point: NAME is the old file before, the new one after
        IStorageFile reopened;
        try
        {
            _fs.SyncDirectory(directory);
            reopened = _fs.Open(Name, StorageFileMode.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or StorageException)
        {
            // The new file is in place but this storage cannot switch to it: close it; a reopen sees the packed file.
            _failure = $"pack swapped the files but could not reopen {Name}: {e.Message}";
            packFile.Dispose();
            throw new FileStorageException($"{Name}: the pack completed but the storage could not reopen the packed file ({e.Message}); reopen the storage", e);
        }
        packFile.Dispose();
        int removed;
        _state.EnterWriteLock();
        try
        {
            removed = _index.Count - packer.Index.Count;
            foreach (IStorageFile older in _retiredFiles)
            {
                older.Dispose(); // readers started before the previous pack are long done
            }
            _retiredFiles.Clear();
            _retiredFiles.Add(_file); // readers that started before this swap finish on the old bytes
            _file = reopened;
            _records = new RecordCache(); // positions in the new file name other records
            _index = packer.Index;
            _end = newEnd;
            _indexSavedAt = -1;
        }
        finally
        {
            _state.ExitWriteLock();
        }
        return removed;
    }

    private void TryDelete(string path)
    {
        try
        {
            _fs.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
