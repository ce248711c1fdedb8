using System.Buffers;
using Wendelin.Arrays.BigFile;
using Wendelin.Storage;
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

    public ZBigFileHandle(ZBigFile file, Connection conn, FileHandleOptions? options)
    {
        _file = file;
        _conn = conn;
        _storage = conn.Storage;
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

    internal LoadedBlock? LoadedInfo(long block)
    {
        lock (_loadedLock)
        {
            return _loaded.GetValueOrDefault(block);
        }
    }

    // ---- loading (ZB-42) ----

    public void LoadBlock(long block, Span<byte> buffer)
    {
        BlockTableSnapshot s = _snapshot;
        if (!s.Blocks.TryGetValue(block, out Oid oid))
        {
            buffer.Clear(); // a hole (ZB-6)
            return;
        }
        LoadedBlock info = BlockReader.Read(_storage, block, oid, s.Before, buffer, LoadedInfo(block));
        Remember(block, info);
    }

    /// <summary>
    /// A ZBlk0 block without copying (ZB-48, spec/bigfile.md BF-52): its record's payload slice, trailing zeros
    /// stripped by the writer implied; a hole is empty. Read as of the current snapshot and recorded like a load
    /// (ZB-42). Other blocks are declined: the caller loads them (<see cref="LoadBlock"/>).
    /// </summary>
    public bool TryLease(long block, out BlockLease lease)
    {
        BlockTableSnapshot s = _snapshot;
        if (!s.Blocks.TryGetValue(block, out Oid oid))
        {
            lease = default; // a hole (ZB-6)
            return true;
        }
        if (BlockReader.TryLease(_storage, block, oid, s.Before, BlockSize) is not { } found)
        {
            lease = default;
            return false;
        }
        Remember(block, found.Info);
        lease = found.Lease;
        return true;
    }

    /// <summary>Part of a block (a direct read, BF-54): copied out of the block's lease, or of a load of it.</summary>
    public void ReadAt(long block, int offset, Span<byte> destination)
    {
        if (TryLease(block, out BlockLease lease))
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
}
