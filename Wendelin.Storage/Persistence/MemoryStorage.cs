namespace Wendelin.Storage.Persistence;

/// <summary>
/// An in-memory storage with full MVCC history (ZODB's <c>MappingStorage</c>, spec/objects.md OB-50): every
/// revision is kept, so <see cref="LoadBefore"/> answers for any past transaction. Follows the
/// <see cref="IStorage"/> contract: one commit at a time (a second <see cref="TpcBegin"/> waits), conflicts raised
/// by <see cref="Store"/> at once, readers on any thread. Nothing is written anywhere; for tests and scratch data.
/// </summary>
public sealed class MemoryStorage : IStorage
{
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _commitLock = new(1, 1);
    private readonly Dictionary<Oid, List<Revision>> _objects = [];
    private readonly List<MemoryTransactionRecord> _transactions = [];
    private ulong _maxOid;
    private Tid _last = Tid.Zero;
    private long _size;
    private MemoryTransaction? _current;
    private bool _disposed;

    public MemoryStorage(string name = "MemoryStorage") => Name = name;

    public string Name { get; }

    public bool IsReadOnly => false;

    public Tid LastTransaction
    {
        get
        {
            lock (_lock)
            {
                return _last;
            }
        }
    }

    public long ObjectCount
    {
        get
        {
            lock (_lock)
            {
                return _objects.Count;
            }
        }
    }

    public long Size
    {
        get
        {
            lock (_lock)
            {
                return _size;
            }
        }
    }

    /// <summary>The committed transactions in order: tid, metadata and the oids each wrote in store order.</summary>
    public IReadOnlyList<MemoryTransactionRecord> Transactions
    {
        get
        {
            lock (_lock)
            {
                return [.. _transactions];
            }
        }
    }

    public event Action<Tid, IReadOnlyList<Oid>>? Committed;

    public LoadResult Load(Oid oid)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            if (!_objects.TryGetValue(oid, out List<Revision>? revs))
            {
                throw new PosKeyException(oid);
            }
            Revision r = revs[^1];
            return new LoadResult(r.Data, r.Tid);
        }
    }

    public LoadBeforeResult? LoadBefore(Oid oid, Tid before)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            if (!_objects.TryGetValue(oid, out List<Revision>? revs))
            {
                throw new PosKeyException(oid);
            }
            for (int i = revs.Count - 1; i >= 0; i--)
            {
                if (revs[i].Tid < before)
                {
                    Tid? next = i + 1 < revs.Count ? revs[i + 1].Tid : null;
                    return new LoadBeforeResult(revs[i].Data, revs[i].Tid, next);
                }
            }
            return null;
        }
    }

    public ReadOnlyMemory<byte> LoadSerial(Oid oid, Tid serial)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            if (_objects.TryGetValue(oid, out List<Revision>? revs))
            {
                foreach (Revision r in revs)
                {
                    if (r.Tid == serial)
                    {
                        return r.Data;
                    }
                }
            }
            throw new PosKeyException(oid, $"no revision {serial}");
        }
    }

    public Oid NewOid()
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            return new Oid(++_maxOid);
        }
    }

    public StorageTransaction TpcBegin(TransactionMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ThrowIfDisposed();
        _commitLock.Wait();
        lock (_lock)
        {
            var txn = new MemoryTransaction(metadata, NextTid());
            _current = txn;
            return txn;
        }
    }

    public void Store(StorageTransaction transaction, Oid oid, Tid serial, ReadOnlyMemory<byte> data)
    {
        MemoryTransaction txn = Current(transaction);
        lock (_lock)
        {
            Tid committed = _objects.TryGetValue(oid, out List<Revision>? revs) ? revs[^1].Tid : Tid.Zero;
            if (revs is not null && committed != serial)
            {
                throw new ConflictException(oid, committed, serial);
            }
            if (oid.Value > _maxOid)
            {
                _maxOid = oid.Value;
            }
        }
        if (!txn.Data.ContainsKey(oid))
        {
            txn.Order.Add(oid);
        }
        txn.Data[oid] = data.ToArray();
    }

    public void CheckCurrentSerial(StorageTransaction transaction, Oid oid, Tid serial)
    {
        Current(transaction);
        lock (_lock)
        {
            if (!_objects.TryGetValue(oid, out List<Revision>? revs))
            {
                throw new PosKeyException(oid);
            }
            if (revs[^1].Tid != serial)
            {
                throw new ReadConflictException(oid, revs[^1].Tid, serial);
            }
        }
    }

    public void TpcVote(StorageTransaction transaction) => Current(transaction).Voted = true;

    public Tid TpcFinish(StorageTransaction transaction, Action<Tid, IReadOnlyList<Oid>>? onCommitted = null)
    {
        MemoryTransaction txn = Current(transaction);
        if (!txn.Voted)
        {
            throw new StorageTransactionException("tpc_finish before tpc_vote");
        }
        Oid[] oids = [.. txn.Order];
        try
        {
            lock (_lock)
            {
                onCommitted?.Invoke(txn.Tid, oids);
                foreach (Oid oid in oids)
                {
                    byte[] data = txn.Data[oid];
                    if (!_objects.TryGetValue(oid, out List<Revision>? revs))
                    {
                        _objects[oid] = revs = [];
                    }
                    revs.Add(new Revision(txn.Tid, data));
                    _size += data.Length;
                }
                _last = txn.Tid;
                _transactions.Add(new MemoryTransactionRecord(txn.Tid, txn.Metadata, oids));
                _current = null;
            }
        }
        finally
        {
            _commitLock.Release();
        }
        Committed?.Invoke(txn.Tid, oids);
        return txn.Tid;
    }

    public void TpcAbort(StorageTransaction transaction)
    {
        lock (_lock)
        {
            if (_current is null || !ReferenceEquals(_current, transaction))
            {
                return;
            }
            _current = null;
        }
        _commitLock.Release();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }
    }

    private MemoryTransaction Current(StorageTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        lock (_lock)
        {
            ThrowIfDisposed();
            if (_current is null || !ReferenceEquals(_current, transaction))
            {
                throw new StorageTransactionException("not the transaction in progress");
            }
            return _current;
        }
    }

    private Tid NextTid() => Tid.Now().LaterThan(_last);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private readonly record struct Revision(Tid Tid, byte[] Data);

    private sealed class MemoryTransaction : StorageTransaction
    {
        public MemoryTransaction(TransactionMetadata metadata, Tid tid)
            : base(metadata) => Tid = tid;

        public Dictionary<Oid, byte[]> Data { get; } = [];

        public List<Oid> Order { get; } = [];

        public bool Voted { get; set; }
    }
}

/// <summary>One committed transaction of a <see cref="MemoryStorage"/>.</summary>
public sealed record MemoryTransactionRecord(Tid Tid, TransactionMetadata Metadata, IReadOnlyList<Oid> Oids);
