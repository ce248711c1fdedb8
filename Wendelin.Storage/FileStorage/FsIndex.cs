namespace Wendelin.Storage.Fs;

/// <summary>
/// The in-memory index (spec/filestorage.md FS-I1): every oid with a committed record → the position of its
/// most recent committed data record (which may be a backpointer or a deletion). Not thread-safe: the storage
/// guards it with its state lock; only the committer and the opening scan write it.
/// </summary>
internal sealed class FsIndex
{
    private readonly Dictionary<ulong, long> _positions;
    private ulong[]? _sorted;

    public FsIndex(int capacity = 0) => _positions = new Dictionary<ulong, long>(capacity);

    public int Count => _positions.Count;

    /// <summary>The largest oid in the index, <see cref="Oid.Root"/> when empty.</summary>
    public Oid MaxOid { get; private set; }

    public bool TryGet(Oid oid, out long position) => _positions.TryGetValue(oid.Value, out position);

    public void Set(Oid oid, long position)
    {
        if (_positions.TryAdd(oid.Value, position))
        {
            _sorted = null;
            if (oid > MaxOid)
            {
                MaxOid = oid;
            }
        }
        else
        {
            _positions[oid.Value] = position;
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
            yield return (new Oid(oid), _positions[oid]);
        }
    }

    /// <summary>Entry-by-entry equality (tests: a loaded index equals a rebuilt one).</summary>
    public bool ContentEquals(FsIndex other)
    {
        if (other.Count != Count)
        {
            return false;
        }
        foreach (KeyValuePair<ulong, long> kv in _positions)
        {
            if (!other._positions.TryGetValue(kv.Key, out long p) || p != kv.Value)
            {
                return false;
            }
        }
        return true;
    }
}
