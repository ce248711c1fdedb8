namespace Wendelin.Storage.IO;

/// <summary>
/// Files held in memory, keyed by path: the storage's in-memory mode, and the base the tests' crashing and
/// faulty files build on. Opening a path twice gives two handles on the same bytes, as with OS files.
/// </summary>
internal sealed class MemoryFileSystem : IStorageFileSystem
{
    private readonly Dictionary<string, MemoryFileData> _files = new(StringComparer.Ordinal);
    private readonly HashSet<string> _locks = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>The bytes of a file (a copy), or null when it does not exist.</summary>
    public byte[]? ReadAllBytes(string path)
    {
        lock (_gate)
        {
            return _files.TryGetValue(path, out MemoryFileData? data) ? data.ToArray() : null;
        }
    }

    /// <summary>Creates or replaces a file with <paramref name="bytes"/>.</summary>
    public void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var data = new MemoryFileData();
        data.Write(0, bytes);
        lock (_gate)
        {
            _files[path] = data;
        }
    }

    /// <summary>The paths of the files present, in ordinal order.</summary>
    public IReadOnlyList<string> Paths
    {
        get
        {
            lock (_gate)
            {
                var list = new List<string>(_files.Keys);
                list.Sort(StringComparer.Ordinal);
                return list;
            }
        }
    }

    public IStorageFile Open(string path, StorageFileMode mode)
    {
        lock (_gate)
        {
            if (!_files.TryGetValue(path, out MemoryFileData? data))
            {
                if (mode is StorageFileMode.ReadOnly or StorageFileMode.ReadWrite)
                {
                    throw new FileStorageException($"{path}: no such file");
                }
                data = new MemoryFileData();
                _files[path] = data;
            }
            else if (mode == StorageFileMode.Create)
            {
                data.SetLength(0);
            }
            return new MemoryStorageFile(path, data, mode != StorageFileMode.ReadOnly);
        }
    }

    public bool FileExists(string path)
    {
        lock (_gate)
        {
            return _files.ContainsKey(path);
        }
    }

    public bool DirectoryExists(string path) => false;

    public void Delete(string path)
    {
        lock (_gate)
        {
            _files.Remove(path);
        }
    }

    public void Replace(string source, string destination)
    {
        lock (_gate)
        {
            if (!_files.Remove(source, out MemoryFileData? data))
            {
                throw new FileStorageException($"{source}: no such file");
            }
            _files[destination] = data;
        }
    }

    public void HardLink(string existing, string link)
    {
        lock (_gate)
        {
            if (!_files.TryGetValue(existing, out MemoryFileData? data))
            {
                throw new FileStorageException($"{existing}: no such file");
            }
            if (!_files.TryAdd(link, data))
            {
                throw new IOException($"{link}: already exists");
            }
        }
    }

    public bool IsLockHeld(string lockPath)
    {
        lock (_gate)
        {
            return _locks.Contains(lockPath);
        }
    }

    public IDisposable Lock(string lockPath)
    {
        lock (_gate)
        {
            if (!_locks.Add(lockPath))
            {
                throw new LockException(lockPath, "the data file is open for writing elsewhere");
            }
        }
        return new Releaser(this, lockPath);
    }

    private sealed class Releaser(MemoryFileSystem owner, string path) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                lock (owner._gate)
                {
                    owner._locks.Remove(path);
                }
            }
        }
    }
}

/// <summary>The bytes of one in-memory file, shared by its handles; every operation is atomic.</summary>
internal sealed class MemoryFileData
{
    private byte[] _bytes = [];
    private long _length;
    private readonly Lock _gate = new();

    public long Length
    {
        get
        {
            lock (_gate)
            {
                return _length;
            }
        }
    }

    public int Read(long position, Span<byte> buffer)
    {
        lock (_gate)
        {
            if (position >= _length)
            {
                return 0;
            }
            int n = (int)Math.Min(buffer.Length, _length - position);
            _bytes.AsSpan((int)position, n).CopyTo(buffer);
            return n;
        }
    }

    public void Write(long position, ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            long end = position + data.Length;
            EnsureCapacity(end);
            if (position > _length)
            {
                _bytes.AsSpan((int)_length, (int)(position - _length)).Clear();
            }
            data.CopyTo(_bytes.AsSpan((int)position));
            _length = Math.Max(_length, end);
        }
    }

    public void SetLength(long length)
    {
        lock (_gate)
        {
            EnsureCapacity(length);
            if (length > _length)
            {
                _bytes.AsSpan((int)_length, (int)(length - _length)).Clear();
            }
            _length = length;
        }
    }

    public byte[] ToArray()
    {
        lock (_gate)
        {
            return _bytes.AsSpan(0, (int)_length).ToArray();
        }
    }

    private void EnsureCapacity(long needed)
    {
        if (needed > Array.MaxLength)
        {
            throw new IOException($"an in-memory file cannot grow to {needed} bytes");
        }
        if (needed > _bytes.Length)
        {
            long size = Math.Max(needed, Math.Min(Array.MaxLength, Math.Max(4096L, (long)_bytes.Length * 2)));
            Array.Resize(ref _bytes, (int)size);
        }
    }
}

/// <summary>A handle on a <see cref="MemoryFileData"/>.</summary>
internal sealed class MemoryStorageFile(string path, MemoryFileData data, bool canWrite) : IStorageFile
{
    private bool _disposed;

    public string Path { get; } = path;

    public bool CanWrite { get; } = canWrite;

    public long Length
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return data.Length;
        }
    }

    public int ReadAt(long position, Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return data.Read(position, buffer);
    }

    public void WriteAt(long position, ReadOnlySpan<byte> bytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!CanWrite)
        {
            throw new NotSupportedException($"{Path} is open read-only");
        }
        data.Write(position, bytes);
    }

    public void SetLength(long length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!CanWrite)
        {
            throw new NotSupportedException($"{Path} is open read-only");
        }
        data.SetLength(length);
    }

    public void FlushDurable() => ObjectDisposedException.ThrowIf(_disposed, this);

    public void Dispose() => _disposed = true;
}
