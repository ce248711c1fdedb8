using Wendelin.Storage.Format;
using Wendelin.Storage.IO;

// The namespace is "Fs", not "FileStorage": a namespace Wendelin.Storage.FileStorage would shadow the type name
// FileStorage for all code under Wendelin.Storage (C# finds the namespace first), forcing FileStorage.FileStorage
// everywhere. The folder keeps the layer's name.
namespace Wendelin.Storage.Fs;

/// <summary>How <see cref="FileStorage.Open(string, FileStorageOptions?)"/> opens a data file.</summary>
public sealed record FileStorageOptions
{
    /// <summary>Open for reading only: no lock, no recovery writes, no <c>.index</c> written (FS-O4).</summary>
    public bool ReadOnly { get; init; }

    /// <summary>Start a new, empty storage, replacing an existing file.</summary>
    public bool Create { get; init; }

    /// <summary>Time travel (read-only only): the view ends before the first transaction whose tid is ≥ this.</summary>
    public Tid? Stop { get; init; }

    /// <summary>fsync at vote and finish (FS-D2, FS-D3). Off only for benchmarks and scratch data.</summary>
    public bool Fsync { get; init; } = true;

    /// <summary>
    /// With <see cref="Fsync"/>, also fsync at vote (FS-D2): the default. <c>false</c> is ZODB's durability, one fsync
    /// per commit, at finish (FS-D5): an acknowledged commit still survives any crash, but a crash during that fsync
    /// may leave the unacknowledged transaction marked committed with payload pages that never reached the disk,
    /// unless the file system makes an appended size durable only after its data (ext4 data=ordered, XFS).
    /// </summary>
    public bool FsyncAtVote { get; init; } = true;

    /// <summary>The magic of a newly created file (an existing file keeps its own).</summary>
    public FileMagic Magic { get; init; } = FileMagic.FS30;

    /// <summary>Load <c>NAME.index</c> at open when it passes the sanity check (FS-I3).</summary>
    public bool UseIndex { get; init; } = true;

    /// <summary>Write <c>NAME.index</c> on close and after an open that rebuilt the index (writable opens only).</summary>
    public bool SaveIndex { get; init; } = true;

    /// <summary>A transaction's records are buffered in memory up to this many bytes, then written past the committed end.</summary>
    internal int SpillThreshold { get; init; } = 8 << 20;
}

/// <summary>
/// ZODB's FileStorage: an append-only log of transactions in one file, byte-compatible with Python ZODB
/// (spec/filestorage.md). One commit at a time (a second <see cref="TpcBegin(TransactionMetadata)"/> waits);
/// reads run concurrently with a commit from any thread and never see a voted-but-unfinished transaction or the
/// bytes of an aborted one (FS-C1).
/// </summary>
public sealed partial class FileStorage : IStorage, IPayloadStorage
{
    private readonly IStorageFileSystem _fs;
    private readonly List<IStorageFile> _retiredFiles = []; // data files replaced by a pack, open until Dispose
    private readonly IDisposable? _lock;
    private readonly FileStorageOptions _options;
    private readonly ReaderWriterLockSlim _state = new(LockRecursionPolicy.SupportsRecursion);
    private readonly SemaphoreSlim _commitGate = new(1, 1);
    private readonly List<string> _openLog = [];

    // Guarded by _state: the published, committed view. A pack replaces the data file (_file) together with the
    // index and end; every read takes the file with its snapshot, so it reads the bytes its positions refer to.
    private IStorageFile _file;
    private RecordCache _records = new(); // what locating reads learned of _file's records (FS-L10)
    private FsIndex _index = new();
    private long _end;
    private Tid _lastTid;

    // Guarded by the commit gate.
    private Tid _clock;
    private FsTransaction? _current;

    private ulong _maxOid;
    private long _indexSavedAt = -1; // the committed end NAME.index is known to describe
    private int _disposed;
    private volatile string? _failure;

    private FileStorage(string path, IStorageFileSystem fs, IStorageFile file, IDisposable? fileLock, FileStorageOptions options)
    {
        Name = path;
        _fs = fs;
        _file = file;
        _lock = fileLock;
        _options = options;
    }

    /// <summary>The data file's path.</summary>
    public string Name { get; }

    public bool IsReadOnly => _options.ReadOnly;

    /// <summary>The file's magic (kept when appending).</summary>
    public FileMagic Magic { get; private set; }

    /// <summary>What the open found and did: warnings about time-stamp reductions, cut tails, ignored indexes.</summary>
    public IReadOnlyList<string> OpenLog => _openLog;

    /// <summary>True when the index came from <c>NAME.index</c> rather than a full scan.</summary>
    public bool IndexLoaded { get; private set; }

    public Tid LastTransaction
    {
        get
        {
            _state.EnterReadLock();
            try
            {
                return _lastTid;
            }
            finally
            {
                _state.ExitReadLock();
            }
        }
    }

    public long ObjectCount
    {
        get
        {
            _state.EnterReadLock();
            try
            {
                return _index.Count;
            }
            finally
            {
                _state.ExitReadLock();
            }
        }
    }

    /// <summary>The committed end position: file bytes after it (a voted transaction) are not part of the storage.</summary>
    public long Size
    {
        get
        {
            _state.EnterReadLock();
            try
            {
                return _end;
            }
            finally
            {
                _state.ExitReadLock();
            }
        }
    }

    public event Action<Tid, IReadOnlyList<Oid>>? Committed;

    /// <summary>Opens (or creates) a data file on disk.</summary>
    public static FileStorage Open(string path, FileStorageOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Open(Path.GetFullPath(path), options ?? new FileStorageOptions(), OsFileSystem.Instance);
    }

    /// <summary>A new, empty storage held in memory (for tests and scratch work); gone when disposed.</summary>
    public static FileStorage OpenInMemory(string name = "memory.fs") =>
        Open(name, new FileStorageOptions { Create = true }, new MemoryFileSystem());

    /// <summary>Closes the storage: aborts a commit in progress, writes <c>NAME.index</c> (writable), releases the lock.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            FsTransaction? open = _current;
            if (open is not null && !IsReadOnly && _failure is null)
            {
                AbortCore(open);
            }
            if (!IsReadOnly && _failure is null && _options.SaveIndex && _end != _indexSavedAt)
            {
                TrySaveIndex();
            }
        }
        finally
        {
            _file.Dispose();
            foreach (IStorageFile retired in _retiredFiles)
            {
                retired.Dispose();
            }
            _lock?.Dispose();
        }
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_failure is string f)
        {
            throw new FileStorageException($"{Name}: storage closed after a failure: {f}; reopen it to recover");
        }
    }

    private void ThrowIfReadOnly(string operation)
    {
        if (IsReadOnly)
        {
            throw new ReadOnlyException($"{Name} is open read-only: {operation} is not allowed");
        }
    }

    /// <summary>The published view (end, last tid) read together.</summary>
    private (long End, Tid LastTid) Snapshot()
    {
        _state.EnterReadLock();
        try
        {
            return (_end, _lastTid);
        }
        finally
        {
            _state.ExitReadLock();
        }
    }

    /// <summary>The published view (end, last tid) and the data file it describes, read together.</summary>
    private (long End, Tid LastTid, IStorageFile File) SnapshotWithFile()
    {
        _state.EnterReadLock();
        try
        {
            return (_end, _lastTid, _file);
        }
        finally
        {
            _state.ExitReadLock();
        }
    }

    private bool TryGetPosition(Oid oid, out long position, out long end, out IStorageFile file)
    {
        _state.EnterReadLock();
        try
        {
            end = _end;
            file = _file;
            return _index.TryGet(oid, out position);
        }
        finally
        {
            _state.ExitReadLock();
        }
    }

    private bool TryGetPosition(Oid oid, out long position, out long end)
    {
        _state.EnterReadLock();
        try
        {
            end = _end;
            return _index.TryGet(oid, out position);
        }
        finally
        {
            _state.ExitReadLock();
        }
    }

    private bool TryGetPosition(Oid oid, out long position, out long end, out Tid serial)
    {
        _state.EnterReadLock();
        try
        {
            end = _end;
            return _index.TryGet(oid, out position, out serial);
        }
        finally
        {
            _state.ExitReadLock();
        }
    }

    private CorruptRecordException Corrupt(FormatError e) => e.ToException(Name);
}
