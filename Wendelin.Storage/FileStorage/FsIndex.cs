namespace Wendelin.Storage.Fs;

/// <summary>
/// The in-memory index (spec/filestorage.md FS-I1): every oid with a committed record → the position (and tid) of its
/// most recent committed data record (which may be a backpointer or a deletion). Not thread-safe: the storage
/// guards it with its state lock; only the committer and the opening scan write it.
/// </summary>
internal sealed class FsIndex
{
    private readonly Dictionary<ulong, Entry> _positions;
    private ulong[]? _sorted;

    public FsIndex(int capacity = 0) => _positions = new Dictionary<ulong, Entry>(capacity);

    public int Count => _positions.Count;

    /// <summary>The largest oid in the index, <see cref="Oid.Root"/> when empty.</summary>
    public Oid MaxOid { get; private set; }

    public bool TryGet(Oid oid, out long position)
    {
        bool found = _positions.TryGetValue(oid.Value, out Entry e);
        position = e.Position;
        return found;
    }

    /// <summary>The position and, when known, the serial (the tid of the record there; <see cref="Tid.Zero"/> when unknown).</summary>
    public bool TryGet(Oid oid, out long position, out Tid serial)
    {
        bool found = _positions.TryGetValue(oid.Value, out Entry e);
        position = e.Position;
        serial = new Tid(e.Serial);
        return found;
    }

    /// <summary>Sets the position of <paramref name="oid"/>'s current record; the serial is the record's tid when known.</summary>
    public void Set(Oid oid, long position, Tid serial = default)
    {
        var entry = new Entry(position, serial.Value);
        if (_positions.TryAdd(oid.Value, entry))
        {
            _sorted = null;
            if (oid > MaxOid)
            {
                MaxOid = oid;
            }
        }
        else
        {
            _positions[oid.Value] = entry;
        }
    }

    /// <summary>The oids in ascending order (cached until the next insertion of a new oid).</summary>
    public ulong[] SortedOids()
    {
        ulong[]? s = _sorted;
        if (s is null)
        {
            s = new ulong[_positions.Count];
            _positions.Keys.CopyTo(s, 0);
            Array.Sort(s);
            _sorted = s;
        }
        return s;
    }

    /// <summary>The entries in ascending oid order.</summary>
    public IEnumerable<(Oid Oid, long Position)> Entries()
    {
        foreach (ulong oid in SortedOids())
        {
            yield return (new Oid(oid), _positions[oid].Position);
        }
    }

    /// <summary>Entry-by-entry equality (tests: a loaded index equals a rebuilt one).</summary>
    public bool ContentEquals(FsIndex other)
    {
        if (other.Count != Count)
        {
            return false;
        }
        foreach (KeyValuePair<ulong, Entry> kv in _positions)
        {
            if (!other._positions.TryGetValue(kv.Key, out Entry e) || e.Position != kv.Value.Position)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// A record position and the tid found there (0 when not known, as after loading <c>NAME.index</c>, which stores
    /// no tids): a commit checks serials against it without reading the record (FS-C3).
    /// </summary>
    private readonly record struct Entry(long Position, ulong Serial);
}
