using Wendelin.Storage;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;

namespace Wendelin.Arrays.Zodb;

// The handle as a participant of the connection's transactions (spec/zbigfile.md ZB-40, ZB-46, ZB-47).
internal sealed partial class ZBigFileHandle
{
    private Transaction? _joinedTo;
    private Transaction? _finished;
    private readonly List<HandleSavepoint> _savepoints = [];

    private void Join(Transaction transaction)
    {
        transaction.Join(this);
        _joinedTo = transaction;
    }

    // ---- ISynchronizer: the connection's boundaries, heard after the connection itself ----

    void ISynchronizer.BeforeCompletion(Transaction transaction)
    {
        // a commit is starting: join when there is something to store (upstream joins the same way)
        if (!_detached && !ReferenceEquals(_joinedTo, transaction) && Handle.IsDirty)
        {
            Join(transaction);
        }
    }

    void ISynchronizer.AfterCompletion(Transaction transaction)
    {
        if (_detached)
        {
            return;
        }
        bool ours = ReferenceEquals(_joinedTo, transaction);
        if (ours && transaction.Status == TransactionStatus.Committed && ReferenceEquals(_finished, transaction))
        {
            FinishOwnCommit();
        }
        else if (!ours && transaction.Status != TransactionStatus.Committed)
        {
            // aborted without us joining: changes made since the last boundary go (ZB-46)
            Handle.DiscardDirty();
        }
        ClearCommitState();
        CatchUpSnapshot();
    }

    void ISynchronizer.NewTransaction(Transaction transaction) => CatchUpSnapshot();

    void ISavepointListener.BeforeSavepoint(Transaction transaction)
    {
        // take part in every savepoint so that a rollback restores (or drops) page changes too (ZB-47)
        if (!_detached && !ReferenceEquals(_joinedTo, transaction))
        {
            Join(transaction);
        }
    }

    // ---- IDataManager ----

    void IDataManager.Abort(Transaction transaction) => Discard();

    void IDataManager.TpcBegin(Transaction transaction)
    {
    }

    /// <summary>Stores every dirty block, ascending, as ZBlk objects through the connection (ZB-30).</summary>
    void IDataManager.Commit(Transaction transaction)
    {
        ResetStoreState();
        _commitBase = _snapshot.Before;
        Handle.Writeout();
    }

    void IDataManager.TpcVote(Transaction transaction)
    {
    }

    void IDataManager.TpcFinish(Transaction transaction) =>
        // the pages become clean only once the connection committed and the snapshot moved (AfterCompletion):
        // until then they stay dirty, so they cannot be evicted and reloaded from a snapshot without them
        _finished = transaction;

    void IDataManager.TpcAbort(Transaction transaction) => Discard();

    IDataManagerSavepoint IDataManager.Savepoint(Transaction transaction)
    {
        var sp = new HandleSavepoint(this);
        _savepoints.Add(sp);
        return sp;
    }

    private void Discard()
    {
        ResetStoreState();
        _joinedTo = null;
        if (!_detached)
        {
            Handle.DiscardDirty();
        }
    }

    /// <summary>
    /// After our commit: the snapshot moves past it (the block table re-read when we changed it), what we know of
    /// the stored blocks is taken from the objects just written, and only then the pages become clean.
    /// </summary>
    private void FinishOwnCommit()
    {
        Tid before = SnapshotBefore();
        _snapshot = _tableChanged ? TableAfterOwnCommit(before) : _snapshot.At(before);
        // the chunks written now and their new revision, per block (the next write of them need not load them, ZB-31)
        Dictionary<long, List<(int Key, Tid Serial)>>? written = null;
        foreach (Persistent p in _pending)
        {
            if (p is ZData { Source: (long block, int offset) } zd)
            {
                written ??= [];
                if (!written.TryGetValue(block, out List<(int, Tid)>? list))
                {
                    written[block] = list = [];
                }
                list.Add((offset, zd.PersistentSerial));
            }
        }
        foreach (long b in _stored)
        {
            if (!_file.BlockTable.TryGetValue(b, out object? v) || v is not Persistent { PersistentOid: { } oid } zblk)
            {
                continue;
            }
            LoadedBlock? known = LoadedInfo(b);
            if (known is not null && known.ZBlk != oid)
            {
                known = null;
            }
            List<(int Key, Tid Serial)>? now = written?.GetValueOrDefault(b);
            LoadedBlock info;
            if (zblk is ZBlk1 z1 && (known?.Chunks is null || _restructured.Contains(b)))
            {
                // chunks came or went: take the chunk tree's objects from the live tree (ZB-43)
                var inner = new List<Oid>();
                var chunks = new List<(int, Oid)>();
                if (z1.ChunkTableOrNull is { } tab)
                {
                    CollectOids(tab, inner, chunks, 0);
                }
                (int Key, Oid Oid)[] layout = [.. chunks];
                var serials = new Tid[layout.Length];
                for (int i = 0; i < layout.Length; i++)
                {
                    if (known is not null && known.TryGetChunk(layout[i].Key, out Oid was, out Tid serial) && was == layout[i].Oid)
                    {
                        serials[i] = serial;
                    }
                }
                SetSerials(layout, serials, now);
                Oid[] sorted = [.. inner];
                Array.Sort(sorted);
                info = new LoadedBlock(oid, zblk.PersistentSerial, true, true, sorted, before, layout, serials);
            }
            else if (zblk is ZBlk1)
            {
                // the chunk revisions are updated in place: only this thread reads them (loads replace the array)
                (int Key, Oid Oid)[] layout = known!.Chunks!;
                Tid[] serials = known.ChunkSerials is { } s && s.Length == layout.Length ? s : new Tid[layout.Length];
                SetSerials(layout, serials, now);
                info = known with { Serial = zblk.PersistentSerial, Before = before, ChunkSerials = serials };
            }
            else
            {
                info = new LoadedBlock(oid, zblk.PersistentSerial, false, true, [], before);
            }
            ForgetLoaded([b]);
            Remember(b, info);
        }
        Handle.MarkStored();
        foreach (Persistent p in _pending)
        {
            // ZBlk0 and ZData hold no bytes after pickling; make them ghosts so that a later read loads real state
            p.Deactivate();
        }
    }

    /// <summary>Sets the revision of each chunk of <paramref name="layout"/> written now (keys ascending in both).</summary>
    private static void SetSerials((int Key, Oid Oid)[] layout, Tid[] serials, List<(int Key, Tid Serial)>? now)
    {
        if (now is null)
        {
            return;
        }
        foreach ((int key, Tid serial) in now)
        {
            int lo = 0, hi = layout.Length - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >>> 1;
                if (layout[mid].Key == key)
                {
                    serials[mid] = serial;
                    break;
                }
                if (layout[mid].Key < key)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }
        }
    }

    private static void CollectOids(TreeBase<int, object?> tree, List<Oid> oids, List<(int, Oid)> chunks, int depth)
    {
        if (depth > 32)
        {
            return;
        }
        tree.Activate();
        if (tree.PersistentOid is { } t)
        {
            oids.Add(t);
        }
        for (int i = 0; i < tree._len; i++)
        {
            switch (tree._children[i])
            {
                case TreeBase<int, object?> sub:
                    CollectOids(sub, oids, chunks, depth + 1);
                    break;
                case BucketBase<int, object?> bucket:
                    bucket.Activate();
                    if (bucket.PersistentOid is { } bo)
                    {
                        oids.Add(bo);
                    }
                    for (int k = 0; k < bucket._count; k++)
                    {
                        if (bucket._values[k] is Persistent { PersistentOid: { } vo })
                        {
                            oids.Add(vo);
                            chunks.Add((bucket._keys[k], vo));
                        }
                    }
                    break;
            }
        }
    }

    /// <summary>Forgets what the last writeout set up: objects waiting to be pickled, the buffer they were pickled from.</summary>
    private void ResetStoreState()
    {
        foreach (Persistent p in _pending)
        {
            switch (p)
            {
                case ZBlk0 z0:
                    z0.DropSource();
                    break;
                case ZData zd:
                    zd.DropSource();
                    break;
            }
        }
        _pending.Clear();
        _stored.Clear();
        _restructured.Clear();
        _tableChanged = false;
        ReturnStoreBuffer();
    }

    /// <summary>The transaction is over (or the handle goes away): nothing of it is kept.</summary>
    private void ClearCommitState()
    {
        _joinedTo = null;
        _finished = null;
        ResetStoreState();
        foreach (HandleSavepoint sp in _savepoints)
        {
            sp.Dispose();
        }
        _savepoints.Clear();
    }

    /// <summary>
    /// A savepoint of the handle's changes (ZB-47): the bytes of the blocks dirty at that moment, kept in a scratch
    /// file. Rolling back discards every change and writes those bytes back, so blocks changed after the savepoint
    /// return to their committed content and blocks changed before it to their content at the savepoint.
    /// </summary>
    private sealed class HandleSavepoint : IDataManagerSavepoint, IDisposable
    {
        private readonly ZBigFileHandle _owner;
        private readonly long[] _blocks;
        private readonly FileStream? _file;

        public HandleSavepoint(ZBigFileHandle owner)
        {
            _owner = owner;
            _blocks = owner.Handle.DirtyBlocks();
            if (_blocks.Length == 0)
            {
                return;
            }
            string dir = owner._scratchDirectory ?? Path.GetTempPath();
            _file = new FileStream(Path.Combine(dir, $"wendelin-savepoint-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew,
                FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            int bs = owner.BlockSize;
            for (int i = 0; i < _blocks.Length; i++)
            {
                using var block = new BlockAccess(owner.Handle, _blocks[i], writable: false);
                RandomAccess.Write(_file.SafeFileHandle, block.ReadOnlySpan, (long)i * bs);
            }
        }

        public void Rollback()
        {
            _owner.ResetStoreState();
            _owner.Handle.DiscardDirty();
            int bs = _owner.BlockSize;
            for (int i = 0; i < _blocks.Length; i++)
            {
                using var block = new BlockAccess(_owner.Handle, _blocks[i], writable: true);
                int n = RandomAccess.Read(_file!.SafeFileHandle, block.Span, (long)i * bs);
                if (n != bs)
                {
                    throw new IOException($"the savepoint scratch file is short: {n} of {bs} bytes of block {_blocks[i]}");
                }
            }
        }

        public void Dispose() => _file?.Dispose();
    }
}
