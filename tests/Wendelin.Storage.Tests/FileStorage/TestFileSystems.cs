using Wendelin.Storage.IO;

namespace Wendelin.Storage.Tests.FileStorage;

internal enum FileOpKind
{
    Write,
    SetLength,
    Durable,
}

/// <summary>One operation on the recorded data file.</summary>
internal sealed record FileOp(FileOpKind Kind, long Position, byte[]? Data, long Length);

/// <summary>
/// The crashing file system (style.md habit 6): an in-memory file system that records every write, set-length and
/// durability point of one data file, so that the image the disk could hold after a crash at any operation —
/// including a write torn after any byte — can be rebuilt and reopened.
/// </summary>
internal sealed class CrashRecorder : IStorageFileSystem
{
    private readonly MemoryFileSystem _inner = new();
    private readonly string _dataPath;
    private readonly List<FileOp> _ops = [];
    private readonly Lock _gate = new();

    public CrashRecorder(string dataPath) => _dataPath = dataPath;

    /// <summary>The operations so far.</summary>
    public IReadOnlyList<FileOp> Ops
    {
        get
        {
            lock (_gate)
            {
                return [.. _ops];
            }
        }
    }

    /// <summary>The number of operations so far (a crash point).</summary>
    public int Mark
    {
        get
        {
            lock (_gate)
            {
                return _ops.Count;
            }
        }
    }

    /// <summary>The image after the first <paramref name="count"/> operations, the next one a write torn after <paramref name="torn"/> bytes.</summary>
    public byte[] Image(int count, int torn = 0)
    {
        FileOp[] ops = Ops.ToArray();
        var data = new MemoryFileData();
        for (int i = 0; i < count; i++)
        {
            Apply(data, ops[i], int.MaxValue);
        }
        if (torn > 0 && count < ops.Length && ops[count].Kind == FileOpKind.Write)
        {
            Apply(data, ops[count], torn);
        }
        return data.ToArray();
    }

    /// <summary>
    /// The image after the first <paramref name="count"/> operations plus only the operations <paramref name="extra"/>
    /// of those after them: unsynced writes reaching the disk in any subset.
    /// </summary>
    public byte[] Image(int count, IEnumerable<int> extra)
    {
        FileOp[] ops = Ops.ToArray();
        var data = new MemoryFileData();
        for (int i = 0; i < count; i++)
        {
            Apply(data, ops[i], int.MaxValue);
        }
        foreach (int i in extra)
        {
            Apply(data, ops[i], int.MaxValue);
        }
        return data.ToArray();
    }

    /// <summary>The indices of the durability points (after which everything before is on disk).</summary>
    public IEnumerable<int> DurabilityPoints()
    {
        FileOp[] ops = Ops.ToArray();
        for (int i = 0; i < ops.Length; i++)
        {
            if (ops[i].Kind == FileOpKind.Durable)
            {
                yield return i + 1;
            }
        }
    }

    private static void Apply(MemoryFileData data, FileOp op, int limit)
    {
        switch (op.Kind)
        {
            case FileOpKind.Write:
                data.Write(op.Position, op.Data.AsSpan(0, Math.Min(limit, op.Data!.Length)));
                break;
            case FileOpKind.SetLength:
                data.SetLength(op.Length);
                break;
        }
    }

    private void Record(FileOp op)
    {
        lock (_gate)
        {
            _ops.Add(op);
        }
    }

    public IStorageFile Open(string path, StorageFileMode mode)
    {
        IStorageFile f = _inner.Open(path, mode);
        if (path != _dataPath || mode == StorageFileMode.ReadOnly)
        {
            return f;
        }
        if (mode == StorageFileMode.Create)
        {
            Record(new FileOp(FileOpKind.SetLength, 0, null, 0));
        }
        return new RecordingFile(f, this);
    }

    public bool FileExists(string path) => _inner.FileExists(path);

    public bool DirectoryExists(string path) => false;

    public void Delete(string path) => _inner.Delete(path);

    public void Replace(string source, string destination) => _inner.Replace(source, destination);

    public IDisposable Lock(string lockPath) => _inner.Lock(lockPath);

    private sealed class RecordingFile(IStorageFile inner, CrashRecorder owner) : IStorageFile
    {
        public string Path => inner.Path;

        public bool CanWrite => inner.CanWrite;

        public long Length => inner.Length;

        public int ReadAt(long position, Span<byte> buffer) => inner.ReadAt(position, buffer);

        public void WriteAt(long position, ReadOnlySpan<byte> data)
        {
            inner.WriteAt(position, data);
            owner.Record(new FileOp(FileOpKind.Write, position, data.ToArray(), 0));
        }

        public void SetLength(long length)
        {
            inner.SetLength(length);
            owner.Record(new FileOp(FileOpKind.SetLength, 0, null, length));
        }

        public void FlushDurable()
        {
            inner.FlushDurable();
            owner.Record(new FileOp(FileOpKind.Durable, 0, null, 0));
        }

        public void Dispose() => inner.Dispose();
    }
}

/// <summary>The faulty file system: the Nth write, set-length or durable flush of the data file fails with an I/O error.</summary>
internal sealed class FaultyFileSystem(string dataPath) : IStorageFileSystem
{
    private readonly MemoryFileSystem _inner = new();
    private int _calls;

    /// <summary>The 1-based number of the mutating call that fails; 0 = none.</summary>
    public int FailAt { get; set; }

    /// <summary>Mutating calls made so far.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public MemoryFileSystem Inner => _inner;

    /// <summary>The writeback hints given for the data file (FS-C4c), in order.</summary>
    public List<(long Position, long Length)> WritebackHints { get; } = [];

    public IStorageFile Open(string path, StorageFileMode mode)
    {
        IStorageFile f = _inner.Open(path, mode);
        return path == dataPath && mode != StorageFileMode.ReadOnly ? new FaultyFile(f, this) : f;
    }

    public bool FileExists(string path) => _inner.FileExists(path);

    public bool DirectoryExists(string path) => false;

    public void Delete(string path) => _inner.Delete(path);

    public void Replace(string source, string destination) => _inner.Replace(source, destination);

    public IDisposable Lock(string lockPath) => _inner.Lock(lockPath);

    private void Tick(string what)
    {
        int n = Interlocked.Increment(ref _calls);
        if (n == FailAt)
        {
            throw new IOException($"injected failure of call {n} ({what})");
        }
    }

    private sealed class FaultyFile(IStorageFile inner, FaultyFileSystem owner) : IStorageFile
    {
        public string Path => inner.Path;

        public bool CanWrite => inner.CanWrite;

        public long Length => inner.Length;

        public int ReadAt(long position, Span<byte> buffer) => inner.ReadAt(position, buffer);

        public void WriteAt(long position, ReadOnlySpan<byte> data)
        {
            owner.Tick("write");
            inner.WriteAt(position, data);
        }

        public void SetLength(long length)
        {
            owner.Tick("set length");
            inner.SetLength(length);
        }

        public void FlushDurable()
        {
            owner.Tick("flush");
            inner.FlushDurable();
        }

        public void StartWriteback(long position, long length)
        {
            lock (owner.WritebackHints)
            {
                owner.WritebackHints.Add((position, length));
            }
        }

        public void Dispose() => inner.Dispose();
    }
}
