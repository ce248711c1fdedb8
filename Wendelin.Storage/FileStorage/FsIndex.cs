namespace Wendelin.Storage.Fs;

/// <summary>
/// The in-memory index (spec/filestorage.md FS-I1): every oid with a committed record → the position (and tid) of its
/// most recent committed data record (which may be a backpointer or a deletion). Two layers: the entries loaded from
/// <c>NAME.index</c>, kept packed as the file holds them (<see cref="PackedIndex"/>), and a hash table
/// (<see cref="OidTable"/>) for everything set since, which shadows them. Serials are kept only where a commit (or a
/// pack) gave them, in a second table: the opening scan and a loaded index leave them unknown, so the table a scan
/// fills has 16-byte slots, and a store of such an object reads its record's tid once (FS-C3). Not thread-safe for
/// writers: the storage guards it with its state lock; only the committer and the opening scan write it. Readers may
/// run concurrently.
/// </summary>
internal sealed class FsIndex
{
    private readonly PackedIndex? _loaded;
    private readonly OidTable _table;
    private OidTable? _serials;

    /// <summary>A serial slot whose record changed without a known tid (0 means an empty slot).</summary>
    private const ulong UnknownSerial = ulong.MaxValue;
    private (ulong[] Oids, long[] Positions)? _sorted; // dropped at every change
    private ulong[]? _sortedOids; // dropped when an oid is added

    public FsIndex(int capacity = 0) => _table = new OidTable(capacity);

    /// <summary>An index whose entries are those of a loaded <c>NAME.index</c> (changes go on top of them).</summary>
    public FsIndex(PackedIndex loaded)
    {
        _loaded = loaded;
        _table = new OidTable();
        Count = loaded.Count;
        MaxOid = new Oid(loaded.MaxOid);
    }

    public int Count { get; private set; }

    /// <summary>The largest oid in the index, <see cref="Oid.Root"/> when empty.</summary>
    public Oid MaxOid { get; private set; }

    public bool TryGet(Oid oid, out long position) => TryGet(oid, out position, out _);

    /// <summary>The position and, when known, the serial (the tid of the record there; <see cref="Tid.Zero"/> when unknown).</summary>
    public bool TryGet(Oid oid, out long position, out Tid serial)
    {
        serial = Tid.Zero;
        if (_table.TryGet(oid.Value, out ulong p))
        {
            position = (long)p;
            if (_serials is not null && _serials.TryGet(oid.Value, out ulong s) && s != UnknownSerial)
            {
                serial = new Tid(s);
            }
            return true;
        }
        position = 0;
        return _loaded is not null && _loaded.TryGet(oid.Value, out position);
    }

    /// <summary>Sets the position of <paramref name="oid"/>'s current record; the serial is the record's tid when known.</summary>
    public void Set(Oid oid, long position, Tid serial = default)
    {
        if (position <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, "a record position is positive");
        }
        bool added = _table.Set(oid.Value, (ulong)position);
        if (serial != Tid.Zero)
        {
            (_serials ??= new OidTable()).Set(oid.Value, serial.Value);
        }
        else if (_serials is not null && _serials.Contains(oid.Value))
        {
            _serials.Set(oid.Value, UnknownSerial);
        }
        Changed(oid.Value, added);
    }

    /// <summary>
    /// Sets many entries in order, as <see cref="Set"/> one by one would with unknown serials (the opening scan hands
    /// over hundreds of records at a time so that their cache misses overlap).
    /// </summary>
    public void SetMany(ReadOnlySpan<IndexEntry> entries)
    {
        Span<bool> added = entries.Length <= 1024 ? stackalloc bool[entries.Length] : new bool[entries.Length];
        _table.SetMany(entries, added);
        for (int i = 0; i < entries.Length; i++)
        {
            if (_serials is not null && _serials.Contains(entries[i].Oid))
            {
                _serials.Set(entries[i].Oid, UnknownSerial);
            }
            Changed(entries[i].Oid, added[i]);
        }
    }

    private void Changed(ulong oid, bool addedToTable)
    {
        if (addedToTable && (_loaded is null || !_loaded.Contains(oid)))
        {
            Count++;
            if (oid > MaxOid.Value)
            {
                MaxOid = new Oid(oid);
            }
            _sortedOids = null;
        }
        _sorted = null;
    }

    /// <summary>The oids in ascending order (cached until an oid is added).</summary>
    public ulong[] SortedOids() => _sortedOids ?? Sorted().Oids;

    /// <summary>The entries in ascending oid order.</summary>
    public IEnumerable<(Oid Oid, long Position)> Entries()
    {
        (ulong[] oids, long[] positions) = Sorted();
        for (int i = 0; i < oids.Length; i++)
        {
            yield return (new Oid(oids[i]), positions[i]);
        }
    }

    /// <summary>
    /// The oids and positions in ascending oid order, as two arrays (cached until the next change): the loaded entries
    /// merged with the newer ones, which win.
    /// </summary>
    public (ulong[] Oids, long[] Positions) Sorted()
    {
        if (_sorted is { } cached)
        {
            return cached;
        }
        int newCount = _table.Count;
        ulong[] newOids = new ulong[newCount];
        long[] newPositions = new long[newCount];
        _table.CopyTo(newOids, newPositions);
        Array.Sort(newOids, newPositions);
        (ulong[], long[]) result;
        if (_loaded is null)
        {
            result = (newOids, newPositions);
        }
        else
        {
            ulong[] baseOids = new ulong[_loaded.Count];
            long[] basePositions = new long[_loaded.Count];
            _loaded.CopyTo(baseOids, basePositions);
            ulong[] oids = new ulong[Count];
            long[] positions = new long[Count];
            int a = 0, b = 0, n = 0;
            while (a < baseOids.Length || b < newOids.Length)
            {
                if (b == newOids.Length || (a < baseOids.Length && baseOids[a] < newOids[b]))
                {
                    oids[n] = baseOids[a];
                    positions[n++] = basePositions[a++];
                }
                else
                {
                    if (a < baseOids.Length && baseOids[a] == newOids[b])
                    {
                        a++; // shadowed by the newer entry
                    }
                    oids[n] = newOids[b];
                    positions[n++] = newPositions[b++];
                }
            }
            result = (oids, positions);
        }
        _sorted = result;
        _sortedOids = result.Item1;
        return result;
    }

    /// <summary>Entry-by-entry equality of oids and positions (tests: a loaded index equals a rebuilt one).</summary>
    public bool ContentEquals(FsIndex other)
    {
        if (other.Count != Count)
        {
            return false;
        }
        (ulong[] oids, long[] positions) = Sorted();
        for (int i = 0; i < oids.Length; i++)
        {
            if (!other.TryGet(new Oid(oids[i]), out long p) || p != positions[i])
            {
                return false;
            }
        }
        return true;
    }
}
