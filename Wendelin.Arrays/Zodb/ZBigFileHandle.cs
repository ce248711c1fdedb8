using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Wendelin.Arrays.BigFile;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;

namespace Wendelin.Arrays.Zodb;

/// <summary>
/// The ZODB side of a handle opened on a <see cref="ZBigFile"/> (upstream's <c>_ZBigFileH</c>, spec/zbigfile.md
/// §4): the block file the paging layer loads from and stores to, a data manager that joins the connection's
/// transaction (sorting before the connection) to write the dirty blocks as ZBlk objects, and a follower of the
/// connection that drops aborted changes and invalidates exactly the blocks other transactions changed.
/// Block loads read the storage directly as of the connection's snapshot (never through the connection's object
/// cache), so they may run on any thread; everything else runs on the connection's thread. As an
/// <see cref="IBlockSource"/> it hands ZBlk0 payloads to scans without copying them (ZB-48).
/// </summary>
internal sealed partial class ZBigFileHandle : IUnitAwareBlockFile, IBlockSource, IWholeBlockLoader, IDataManager, ISynchronizer, ISavepointListener
{
    private readonly ZBigFile _file;
    private readonly Connection _conn;
    private readonly IStorage _storage;
    private readonly string _sortKey;
    private readonly string? _scratchDirectory;
    private volatile BlockTableSnapshot _snapshot;
    private bool _detached;

    // what loads found, for invalidation (ZB-43): guarded by _loadedLock, written by loader threads
    private readonly Lock _loadedLock = new();
    private readonly Dictionary<long, LoadedBlock> _loaded = [];

    // the shape of each ZBlk record revision read straight from a FileStorage (ZB-49), by oid: thread-safe
    private readonly ConcurrentDictionary<Oid, RecordShape> _shapes = new();

    // where the chunks of known ZBlk1 layouts lie in the data file (ZB-49): per LoadedBlock object, gone with it
    private readonly ConditionalWeakTable<LoadedBlock, ChunkSpots> _chunkSpots = new();
    private readonly FileStorage? _fileStorage;

    public ZBigFileHandle(ZBigFile file, Connection conn, FileHandleOptions? options)
    {
        _file = file;
        _conn = conn;
        _storage = conn.Storage;
        _fileStorage = _storage as FileStorage;
        BlockSize = file.BlockSize;
        _scratchDirectory = options?.ScratchDirectory;
        _sortKey = "\0wendelin.ZBigFile " + (file.PersistentOid?.ToString() ?? "new") + " of " + conn.SortKey;
        if (string.CompareOrdinal(_sortKey, conn.SortKey) >= 0)
        {
            throw new InvalidOperationException($"the storage's name '{conn.SortKey}' sorts before the file handle's commit key; give the storage a name that starts with a printable character");
        }
        _snapshot = BlockTableSnapshot.Build(file, SnapshotBefore());
        Handle = new FileHandle(this, options);
        Handle.Disposed += Detach;
        conn.Invalidated += OnInvalidated;
        conn.Closing += OnConnectionClosing;
        conn.ClosedForGood += OnConnectionClosedForGood;
        conn.Follow(this);
    }

    /// <summary>The paging handle users map views of.</summary>
    public FileHandle Handle { get; }

    public int BlockSize { get; }

    public string SortKey => _sortKey;

    /// <summary>The snapshot loads use now (for tests).</summary>
    internal BlockTableSnapshot Snapshot => _snapshot;

    private Tid SnapshotBefore() => new(_conn.SnapshotTid.Value + 1);

    // ---- lifetime ----

    private void OnConnectionClosing(Connection conn)
    {
        // the connection goes back to the pool: changes not committed are dropped, as for its objects
        if (!_detached && Handle.IsDirty)
        {
            ClearCommitState();
            Handle.DiscardDirty();
        }
    }

    private void OnConnectionClosedForGood(Connection conn) => Handle.Dispose();

    private void Detach()
    {
        if (_detached)
        {
            return;
        }
        _detached = true;
        _conn.Invalidated -= OnInvalidated;
        _conn.Closing -= OnConnectionClosing;
        _conn.ClosedForGood -= OnConnectionClosedForGood;
        _conn.Unfollow(this);
        _file.Forget(this);
        ClearCommitState();
    }

    // ---- invalidation (ZB-43..ZB-45) ----

    /// <summary>
    /// The connection moved to a new snapshot and reports the oids other transactions changed since its last one.
    /// The block table's changed objects are re-read and their entries compared with the old ones (ZB-41a); blocks
    /// whose ZBlk object changed, appeared or went away, and blocks whose chunk objects changed, are invalidated.
    /// </summary>
    private void OnInvalidated(Connection conn, IReadOnlyCollection<Oid> oids)
    {
        if (_detached)
        {
            return;
        }
        BlockTableSnapshot old = _snapshot;
        Tid before = SnapshotBefore();
        var changed = new HashSet<long>();
        List<Oid>? tableChanged = null;
        foreach (Oid oid in oids)
        {
            if (old.IsTableObject(oid))
            {
                (tableChanged ??= []).Add(oid);
            }
            if (old.TryGetBlockOf(oid, out long b))
            {
                changed.Add(b);
            }
        }
        lock (_loadedLock)
        {
            // chunk-tree nodes and chunks of loaded ZBlk1 blocks (sorted per block): search the smaller side
            HashSet<Oid>? set = null;
            foreach ((long b, LoadedBlock info) in _loaded)
            {
                if (info.Inner.Length == 0 || changed.Contains(b))
                {
                    continue;
                }
                if (oids.Count <= info.Inner.Length / 8)
                {
                    foreach (Oid oid in oids)
                    {
                        if (Array.BinarySearch(info.Inner, oid) >= 0)
                        {
                            changed.Add(b);
                            break;
                        }
                    }
                }
                else
                {
                    set ??= [.. oids];
                    foreach (Oid o in info.Inner)
                    {
                        if (set.Contains(o))
                        {
                            changed.Add(b);
                            break;
                        }
                    }
                }
            }
        }
        BlockTableSnapshot next = tableChanged is null ? old.At(before) : TableAfterInvalidation(old, before, tableChanged, oids, changed);
        _snapshot = next;
        if (changed.Count > 0)
        {
            ForgetLoaded(changed);
            Handle.InvalidateBlocks(changed);
        }
    }

    /// <summary>The connection's snapshot may have moved without any change that concerns us (our own commit, a boundary).</summary>
    private void CatchUpSnapshot()
    {
        Tid before = SnapshotBefore();
        BlockTableSnapshot s = _snapshot;
        if (s.Before != before)
        {
            _snapshot = s.At(before);
        }
    }

    private void ForgetLoaded(IEnumerable<long> blocks)
    {
        lock (_loadedLock)
        {
            foreach (long b in blocks)
            {
                _loaded.Remove(b);
            }
        }
    }

    private void Remember(long block, LoadedBlock info)
    {
        lock (_loadedLock)
        {
            if (_loaded.TryGetValue(block, out LoadedBlock? known) && known.Before > info.Before)
            {
                return; // a load of an older snapshot finished after a newer one
            }

            _loaded[block] = info;
        }
    }

    /// <summary><see cref="Remember"/> for a ZBlk0 load, allocating nothing when the same load was recorded before (a scan's next pass).</summary>
    private void RememberZBlk0(long block, Oid oid, Tid serial, Tid before)
    {
        lock (_loadedLock)
        {
            if (_loaded.TryGetValue(block, out LoadedBlock? known)
                && (known.Before > before || (known is { IsZBlk1: false } && known.ZBlk == oid && known.Serial == serial && known.Before == before)))
            {
                return; // a newer load was recorded meanwhile, or this very one
            }
            _loaded[block] = new LoadedBlock(oid, serial, false, true, [], before);
        }
    }

    internal LoadedBlock? LoadedInfo(long block)
    {
        lock (_loadedLock)
        {
            return _loaded.GetValueOrDefault(block);
        }
    }

    // ---- loading (ZB-42, ZB-49) ----

    public void LoadBlock(long block, Span<byte> buffer)
    {
        BlockTableSnapshot s = _snapshot;
        if (!s.Blocks.TryGetValue(block, out Oid oid))
        {
            buffer.Clear(); // a hole (ZB-6)
            return;
        }
        if (_fileStorage is { } fs)
        {
            // a canonical ZBlk0 is read from the data file straight into the buffer (ZB-49)
            RecordShape shape = BlockReader.ShapeOf(fs, _shapes, block, oid, s.Before, out PayloadLocation at);
            if (shape.Canonical)
            {
                ReadAhead(fs, block, s);
                long started = Stopwatch.GetTimestamp();
                BlockReader.ReadZBlk0(fs, block, at, shape, BlockSize, 0, buffer);
                Volatile.Write(ref _lastLoadTicks, Stopwatch.GetTimestamp() - started);
                RememberZBlk0(block, oid, at.Serial, s.Before);
                return;
            }
        }
        LoadedBlock info = BlockReader.Read(_storage, block, oid, s.Before, buffer, LoadedInfo(block));
        Remember(block, info);
    }

    /// <summary>
    /// A block without copying (ZB-48, spec/bigfile.md BF-52): a hole is empty. Over a FileStorage every other block
    /// is declined: <see cref="LoadBlock"/> reads a ZBlk0's bytes straight into the caller's buffer, which is as
    /// good as it gets, and a ZBlk1 must be assembled anyway. Over other storages a ZBlk0 block is leased as its
    /// record's payload slice, trailing zeros stripped by the writer implied, read as of the current snapshot and
    /// recorded like a load (ZB-42).
    /// </summary>
    public bool TryLease(long block, out BlockLease lease)
    {
        BlockTableSnapshot s = _snapshot;
        if (!s.Blocks.TryGetValue(block, out Oid oid))
        {
            lease = default; // a hole (ZB-6)
            return true;
        }
        if (_fileStorage is not null || BlockReader.TryLease(_storage, block, oid, s.Before, BlockSize) is not { } found)
        {
            lease = default;
            return false;
        }
        Remember(block, found.Info);
        lease = found.Lease;
        return true;
    }

    /// <summary>Over a FileStorage sequential loads hint the data file's next bytes to the OS (ZB-49): scans load on their own thread.</summary>
    public bool ReadsAhead => _fileStorage is not null;

    /// <summary>
    /// Part of a block (a direct read, BF-54). Over a FileStorage (ZB-49): of a canonical ZBlk0, only the bytes
    /// asked for are read; of a regular ZBlk1 whose chunk layout this handle knows for the revision the snapshot
    /// holds, only the chunk records the range touches (up to <see cref="PartialChunks"/>). Anything else is
    /// copied out of the block's lease, or of a load of it.
    /// </summary>
    public void ReadAt(long block, int offset, Span<byte> destination)
    {
        BlockTableSnapshot s = _snapshot;
        if (!s.Blocks.TryGetValue(block, out Oid oid))
        {
            destination.Clear(); // a hole (ZB-6)
            return;
        }
        if (_fileStorage is { } fs)
        {
            RecordShape shape = BlockReader.ShapeOf(fs, _shapes, block, oid, s.Before, out PayloadLocation at);
            if (shape.Canonical)
            {
                BlockReader.ReadZBlk0(fs, block, at, shape, BlockSize, offset, destination);
                return;
            }
            if (TryReadChunks(fs, block, oid, at.Serial, s.Before, offset, destination))
            {
                return;
            }
        }
        else if (TryLease(block, out BlockLease lease))
        {
            using (lease)
            {
                ReadOnlySpan<byte> data = lease.Data.Span;
                int n = Math.Clamp(data.Length - offset, 0, destination.Length);
                data.Slice(Math.Min(offset, data.Length), n).CopyTo(destination);
                destination[n..].Clear();
            }
            return;
        }
        byte[] whole = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            LoadBlock(block, whole.AsSpan(0, BlockSize));
            whole.AsSpan(offset, destination.Length).CopyTo(destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(whole);
        }
    }

    // loads in block order (a scan, a streaming pass) ask the OS for the next blocks' records (ZB-49)
    private long _lastLoaded = -2;
    private long _hintedTo = -1;
    private long _lastLoadTicks;

    /// <summary>
    /// How many blocks past the one being loaded sequential loads keep the OS reading (128 MiB, 2..64 blocks): each
    /// renewal hints half of them, read in file order as one run when a transaction stored them together.
    /// </summary>
    private int ReadAheadBlocks => (int)Math.Clamp((128L << 20) / BlockSize, 2, 64);

    /// <summary>A block load faster than this many bytes per second came from the OS page cache: no hints then.</summary>
    private const double CachedBytesPerSecond = 4e9;

    /// <summary>
    /// When <paramref name="block"/> follows the previous load and that load had to wait for the disk, hints the
    /// current records of the next <see cref="ReadAheadBlocks"/> blocks of snapshot <paramref name="s"/> (FS-L11),
    /// renewed when half of them are loaded. The records are found in the storage's index, wherever they lie (a
    /// transaction stores new blocks in reverse order, as ZODB does, so the kernel's own read-ahead does not see a
    /// forward scan as sequential); the storage reads them in the background in file order: nothing is read on
    /// this thread, and a wrong guess costs I/O, never a wrong byte. Loads from the page cache skip the hints
    /// (a hint would copy cached bytes once more).
    /// Loads may run on several threads: a lost update only means one hint more or less.
    /// </summary>
    private void ReadAhead(FileStorage fs, long block, BlockTableSnapshot s)
    {
        if (Interlocked.Exchange(ref _lastLoaded, block) != block - 1)
        {
            return;
        }
        long ticks = Volatile.Read(ref _lastLoadTicks);
        if (ticks > 0 && BlockSize * (double)Stopwatch.Frequency / ticks > CachedBytesPerSecond)
        {
            return;
        }
        int ahead = ReadAheadBlocks;
        long hinted = Volatile.Read(ref _hintedTo);
        long from = block + 1, to = block + 1 + ahead;
        if (hinted > from && hinted <= to)
        {
            if (hinted - from >= ahead / 2)
            {
                return; // still far enough ahead
            }
            from = hinted;
        }
        Volatile.Write(ref _hintedTo, to);
        Span<Oid> oids = stackalloc Oid[64];
        int n = 0;
        for (long b = from; b < to; b++)
        {
            if (s.Blocks.TryGetValue(b, out Oid oid))
            {
                oids[n++] = oid;
            }
        }
        // a ZBlk0 record: header, the pickle's few bytes and up to a block of payload
        fs.WillNeedCurrent(oids[..n], BlockSize + 4096L);
    }

    /// <summary>A partial read of a ZBlk1 reads its chunk records when it touches at most this many; else the whole block.</summary>
    internal const int PartialChunks = 4;

    /// <summary>
    /// Bytes of a ZBlk1 block from the chunks they lie in, when this handle knows the block's regular chunk layout
    /// for revision <paramref name="serial"/> (a load recorded it, ZB-42; a change of the chunk tree makes the
    /// handle forget it, ZB-43); false when it does not, or a chunk is no longer regular.
    /// </summary>
    private bool TryReadChunks(FileStorage fs, long block, Oid oid, Tid serial, Tid before, int offset, Span<byte> destination)
    {
        const int chunk = BlockReader.ChunkSize;
        if (destination.IsEmpty || LoadedInfo(block) is not { IsZBlk1: true, Regular: true, Chunks: not null } known
            || known.ZBlk != oid || known.Serial != serial
            || (offset + destination.Length - 1) / chunk - offset / chunk >= PartialChunks)
        {
            return false;
        }
        ChunkSpots spots = _chunkSpots.GetValue(known, static k => new ChunkSpots(k.Chunks!.Length));
        for (int at = offset; at < offset + destination.Length;)
        {
            int key = at / chunk * chunk;
            int n = Math.Min(key + chunk, offset + destination.Length) - at;
            Span<byte> part = destination.Slice(at - offset, n);
            if (!known.TryGetChunk(key, out Oid zdata, out int index))
            {
                part.Clear(); // no chunk there: zeros (ZB-6)
            }
            else if (spots.TryGet(fs, index, out PayloadLocation data, zdata))
            {
                // the chunk's bytes were found before for this layout: read only those asked for
                int m = Math.Clamp(data.Length - (at - key), 0, n);
                if (m > 0)
                {
                    fs.ReadPayload(data, at - key, part[..m]);
                }
                part[m..].Clear();
            }
            else if (BlockReader.ReadChunkPart(fs, block, zdata, key, before, BlockSize, at - key, part, out PayloadLocation found))
            {
                if (found.File is not null)
                {
                    spots.Set(fs, index, found);
                }
            }
            else
            {
                return false;
            }
            at += n;
        }
        return true;
    }
}
