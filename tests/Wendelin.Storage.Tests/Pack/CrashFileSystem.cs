using Wendelin.Storage.IO;

namespace Wendelin.Storage.Tests.Pack;

/// <summary>
/// A crashing file system for operations that span several files (style.md habit 6): in-memory files reached through
/// names, with every write, set-length and fsync of every file and every create, delete, rename, link and directory
/// fsync recorded. <see cref="Image"/> rebuilds what a disk could hold after a crash before event k: each file's
/// bytes as of its last fsync plus none, all, or all-but-a-torn-last of its later writes; the directory as of its last
/// fsync plus any prefix of the later name changes (a journaling file system keeps their order).
/// </summary>
internal sealed class CrashFileSystem : IStorageFileSystem
{
    private abstract record Event;

    private sealed record WriteEvent(int Inode, long Position, byte[] Data) : Event;

    private sealed record LengthEvent(int Inode, long Length) : Event;

    private sealed record FlushEvent(int Inode) : Event;

    private sealed record BindEvent(string Name, int Inode) : Event; // create or link

    private sealed record UnbindEvent(string Name) : Event;

    private sealed record RenameEvent(string Source, string Destination) : Event;

    private sealed record SyncDirEvent : Event;

    private readonly Dictionary<string, int> _names = new(StringComparer.Ordinal);
    private readonly List<MemoryFileData> _inodes = [];
    private readonly List<Event> _events = [];
    private readonly Dictionary<int, byte[]> _seeded = [];
    private readonly List<(string Name, int Inode)> _seedNames = [];
    private readonly HashSet<string> _locks = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Events so far: a crash point is an index into them.</summary>
    public int EventCount
    {
        get
        {
            lock (_gate)
            {
                return _events.Count;
            }
        }
    }

    /// <summary>A file present and durable before any event.</summary>
    public void Seed(string path, byte[] bytes)
    {
        lock (_gate)
        {
            var data = new MemoryFileData();
            data.Write(0, bytes);
            _inodes.Add(data);
            _names[path] = _inodes.Count - 1;
            _seeded[_inodes.Count - 1] = bytes;
            _seedNames.Add((path, _inodes.Count - 1));
        }
    }

    public byte[]? Current(string path)
    {
        lock (_gate)
        {
            return _names.TryGetValue(path, out int i) ? _inodes[i].ToArray() : null;
        }
    }

    /// <summary>How the unsynced writes of a file reach the crash image.</summary>
    public enum Writes
    {
        None,
        All,
        AllButLastTorn,
    }

    /// <summary>The number of name changes after the last directory fsync before event <paramref name="k"/>.</summary>
    public int PendingNameChanges(int k)
    {
        lock (_gate)
        {
            int n = 0;
            for (int i = 0; i < k; i++)
            {
                n = _events[i] switch
                {
                    SyncDirEvent => 0,
                    BindEvent or UnbindEvent or RenameEvent => n + 1,
                    _ => n,
                };
            }
            return n;
        }
    }

    /// <summary>The files (name → bytes) a crash before event <paramref name="k"/> can leave.</summary>
    public Dictionary<string, byte[]> Image(int k, Writes writes, int nameChanges)
    {
        lock (_gate)
        {
            // Names: as of the last directory fsync, then the first `nameChanges` later changes.
            var initial = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach ((string name, int inode) in _seedNames)
            {
                initial[name] = inode;
            }
            var durable = new Dictionary<string, int>(initial, StringComparer.Ordinal);
            var live = new Dictionary<string, int>(initial, StringComparer.Ordinal);
            var pending = new List<Event>();
            for (int i = 0; i < k; i++)
            {
                switch (_events[i])
                {
                    case SyncDirEvent:
                        durable = new Dictionary<string, int>(live, StringComparer.Ordinal);
                        pending.Clear();
                        break;
                    case BindEvent or UnbindEvent or RenameEvent:
                        Apply(live, _events[i]);
                        pending.Add(_events[i]);
                        break;
                }
            }
            var names = new Dictionary<string, int>(durable, StringComparer.Ordinal);
            foreach (Event e in pending.Take(nameChanges))
            {
                Apply(names, e);
            }

            // Contents: per inode, as of its last fsync plus the later writes as asked.
            var contents = new Dictionary<int, MemoryFileData>();
            var afterSync = new Dictionary<int, List<Event>>();
            foreach ((int inode, byte[] bytes) in _seeded)
            {
                var d = new MemoryFileData();
                d.Write(0, bytes);
                contents[inode] = d;
            }
            for (int i = 0; i < k; i++)
            {
                switch (_events[i])
                {
                    case WriteEvent w:
                        Pending(afterSync, w.Inode).Add(w);
                        break;
                    case LengthEvent l:
                        Pending(afterSync, l.Inode).Add(l);
                        break;
                    case FlushEvent f:
                        MemoryFileData target = Content(contents, f.Inode);
                        foreach (Event e in Pending(afterSync, f.Inode))
                        {
                            ApplyWrite(target, e, int.MaxValue);
                        }
                        afterSync[f.Inode].Clear();
                        break;
                }
            }
            if (writes != Writes.None)
            {
                foreach ((int inode, List<Event> list) in afterSync)
                {
                    MemoryFileData target = Content(contents, inode);
                    for (int i = 0; i < list.Count; i++)
                    {
                        bool torn = writes == Writes.AllButLastTorn && i == list.Count - 1;
                        ApplyWrite(target, list[i], torn && list[i] is WriteEvent w ? w.Data.Length / 2 : int.MaxValue);
                    }
                }
            }
            var image = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach ((string name, int inode) in names)
            {
                image[name] = Content(contents, inode).ToArray();
            }
            return image;
        }
    }


    private static List<Event> Pending(Dictionary<int, List<Event>> map, int inode)
    {
        if (!map.TryGetValue(inode, out List<Event>? list))
        {
            map[inode] = list = [];
        }
        return list;
    }

    private static MemoryFileData Content(Dictionary<int, MemoryFileData> map, int inode)
    {
        if (!map.TryGetValue(inode, out MemoryFileData? d))
        {
            map[inode] = d = new MemoryFileData();
        }
        return d;
    }

    private static void ApplyWrite(MemoryFileData target, Event e, int limit)
    {
        switch (e)
        {
            case WriteEvent w:
                target.Write(w.Position, w.Data.AsSpan(0, Math.Min(limit, w.Data.Length)));
                break;
            case LengthEvent l:
                target.SetLength(l.Length);
                break;
        }
    }

    private static void Apply(Dictionary<string, int> names, Event e)
    {
        switch (e)
        {
            case BindEvent b:
                names[b.Name] = b.Inode;
                break;
            case UnbindEvent u:
                names.Remove(u.Name);
                break;
            case RenameEvent r when names.Remove(r.Source, out int inode):
                names[r.Destination] = inode;
                break;
        }
    }

    private void Record(Event e) => _events.Add(e);

    public IStorageFile Open(string path, StorageFileMode mode)
    {
        lock (_gate)
        {
            if (!_names.TryGetValue(path, out int inode))
            {
                if (mode is StorageFileMode.ReadOnly or StorageFileMode.ReadWrite)
                {
                    throw new FileStorageException($"{path}: no such file");
                }
                _inodes.Add(new MemoryFileData());
                inode = _inodes.Count - 1;
                _names[path] = inode;
                Record(new BindEvent(path, inode));
            }
            else if (mode == StorageFileMode.Create)
            {
                _inodes[inode].SetLength(0);
                Record(new LengthEvent(inode, 0));
            }
            return new CrashFile(this, path, inode, mode != StorageFileMode.ReadOnly);
        }
    }

    public bool FileExists(string path)
    {
        lock (_gate)
        {
            return _names.ContainsKey(path);
        }
    }

    public bool DirectoryExists(string path) => false;

    public void Delete(string path)
    {
        lock (_gate)
        {
            if (_names.Remove(path))
            {
                Record(new UnbindEvent(path));
            }
        }
    }

    public void Replace(string source, string destination)
    {
        lock (_gate)
        {
            if (!_names.Remove(source, out int inode))
            {
                throw new FileStorageException($"{source}: no such file");
            }
            _names[destination] = inode;
            Record(new RenameEvent(source, destination));
        }
    }

    public void HardLink(string existing, string link)
    {
        lock (_gate)
        {
            if (!_names.TryGetValue(existing, out int inode))
            {
                throw new FileStorageException($"{existing}: no such file");
            }
            if (!_names.TryAdd(link, inode))
            {
                throw new IOException($"{link}: already exists");
            }
            Record(new BindEvent(link, inode));
        }
    }

    public void SyncDirectory(string directory)
    {
        lock (_gate)
        {
            Record(new SyncDirEvent());
        }
    }

    public IDisposable Lock(string lockPath)
    {
        lock (_gate)
        {
            if (!_locks.Add(lockPath))
            {
                throw new LockException(lockPath, "held");
            }
        }
        return new Releaser(this, lockPath);
    }

    private sealed class Releaser(CrashFileSystem owner, string path) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._locks.Remove(path);
            }
        }
    }

    private sealed class CrashFile(CrashFileSystem owner, string path, int inode, bool canWrite) : IStorageFile
    {
        public string Path => path;

        public bool CanWrite => canWrite;

        public long Length => owner._inodes[inode].Length;

        public int ReadAt(long position, Span<byte> buffer) => owner._inodes[inode].Read(position, buffer);

        public void WriteAt(long position, ReadOnlySpan<byte> data)
        {
            lock (owner._gate)
            {
                owner._inodes[inode].Write(position, data);
                owner.Record(new WriteEvent(inode, position, data.ToArray()));
            }
        }

        public void SetLength(long length)
        {
            lock (owner._gate)
            {
                owner._inodes[inode].SetLength(length);
                owner.Record(new LengthEvent(inode, length));
            }
        }

        public void FlushDurable()
        {
            lock (owner._gate)
            {
                owner.Record(new FlushEvent(inode));
            }
        }

        public void Dispose()
        {
        }
    }
}
