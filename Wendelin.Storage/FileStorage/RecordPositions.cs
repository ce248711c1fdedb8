namespace Wendelin.Storage.Fs;

/// <summary>
/// oid → position of its last record in the transaction being committed, in first-store order. Most commits store a
/// handful of objects: up to <see cref="LinearLimit"/> oids are found by a linear scan of one small array, so such a
/// commit allocates no hash table; larger ones add a dictionary from oid to slot. Used like a dictionary
/// (<see cref="TryGetValue"/>, enumeration of key/value pairs).
/// </summary>
internal sealed class RecordPositions
{
    private const int LinearLimit = 16;

    private ulong[] _oids = new ulong[4];
    private long[] _positions = new long[4];
    private Dictionary<ulong, int>? _slots;

    public int Count { get; private set; }

    /// <summary>Sets the position of <paramref name="oid"/>'s record; true when the oid was not stored before.</summary>
    public bool Set(ulong oid, long position)
    {
        int slot = Find(oid);
        if (slot >= 0)
        {
            _positions[slot] = position;
            return false;
        }
        if (Count == _oids.Length)
        {
            Array.Resize(ref _oids, Count * 2);
            Array.Resize(ref _positions, Count * 2);
        }
        _oids[Count] = oid;
        _positions[Count] = position;
        if (_slots is not null)
        {
            _slots[oid] = Count;
        }
        else if (Count == LinearLimit)
        {
            _slots = new Dictionary<ulong, int>(LinearLimit * 2);
            for (int i = 0; i <= Count; i++)
            {
                _slots[_oids[i]] = i;
            }
        }
        Count++;
        return true;
    }

    public bool TryGetValue(ulong oid, out long position)
    {
        int slot = Find(oid);
        position = slot >= 0 ? _positions[slot] : 0;
        return slot >= 0;
    }

    public Enumerator GetEnumerator() => new(this);

    private int Find(ulong oid)
    {
        if (_slots is not null)
        {
            return _slots.TryGetValue(oid, out int s) ? s : -1;
        }
        ulong[] oids = _oids;
        for (int i = 0; i < Count; i++)
        {
            if (oids[i] == oid)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>The (oid, position) pairs in first-store order.</summary>
    public struct Enumerator(RecordPositions owner)
    {
        private int _i = -1;

        public readonly KeyValuePair<ulong, long> Current => new(owner._oids[_i], owner._positions[_i]);

        public bool MoveNext() => ++_i < owner.Count;
    }
}
