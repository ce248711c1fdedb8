namespace Wendelin.Storage.Fs;

/// <summary>
/// The mutable part of <see cref="FsIndex"/>: an open-addressing hash table oid → a non-zero 64-bit value (a record
/// position, or a serial) with linear probing over one array of 16-byte slots, so a lookup costs one cache miss where a
/// <see cref="Dictionary{TKey, TValue}"/> costs two (bucket, then entry), and a table of a million oids touches 16 MiB.
/// Value 0 marks an empty slot (no record lies before byte 27, no transaction has tid 0). Oids are hashed in groups of 8 consecutive values, so the dense oids ZODB allocates land in
/// neighbouring slots; a group's home is the top bits of a multiplicative hash, so growing keeps the slot order and
/// rehashing walks both tables front to back. Insert-only (the index never forgets an oid); not thread-safe.
/// </summary>
internal sealed class OidTable
{
    private const int GroupBits = 3;
    private const ulong Golden = 0x9E3779B97F4A7C15;
    private const int MinimumCapacity = 16;

    private Slot[] _slots;
    private int _shift;
    private int _growAt;

    public OidTable(int capacity = 0)
    {
        int size = MinimumCapacity;
        while (size < int.MaxValue / 4 && (long)size * 7 / 10 < capacity)
        {
            size *= 2;
        }
        _slots = new Slot[size];
        SetGeometry(size);
    }

    public int Count { get; private set; }

    /// <summary>The value stored for <paramref name="oid"/>.</summary>
    public bool TryGet(ulong oid, out ulong value)
    {
        Slot[] slots = _slots;
        int mask = slots.Length - 1;
        for (int i = Home(oid); ; i = (i + 1) & mask)
        {
            ref Slot s = ref slots[i];
            if (s.Value == 0)
            {
                value = 0;
                return false;
            }
            if (s.Oid == oid)
            {
                value = s.Value;
                return true;
            }
        }
    }

    public bool Contains(ulong oid) => TryGet(oid, out _);

    /// <summary>Sets the value of <paramref name="oid"/> (not 0); true when the oid is new.</summary>
    public bool Set(ulong oid, ulong value)
    {
        if (value == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "0 marks an empty slot");
        }
        if (Count >= _growAt)
        {
            Grow(_slots.Length * 2);
        }
        return Insert(_slots, oid, value);
    }

    /// <summary>
    /// Sets many entries in order (later ones win). Their home slots are read first in a separate pass: the loads do
    /// not depend on each other, so the processor overlaps their cache misses instead of paying them one by one
    /// inside the insert loop. Returns, for each entry, whether its oid was new, in <paramref name="added"/>.
    /// </summary>
    public void SetMany(ReadOnlySpan<IndexEntry> entries, Span<bool> added)
    {
        while (Count + entries.Length > _growAt)
        {
            Grow(_slots.Length * 2);
        }
        Slot[] slots = _slots;
        ulong touch = 0;
        foreach (IndexEntry e in entries)
        {
            touch += slots[Home(e.Oid)].Value;
        }
        _touch = touch;
        for (int i = 0; i < entries.Length; i++)
        {
            IndexEntry e = entries[i];
            if (e.Position <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(entries), e.Position, "a record position is positive");
            }
            added[i] = Insert(slots, e.Oid, (ulong)e.Position);
        }
    }

    /// <summary>Copies the entries (in slot order) into the spans, which hold at least <see cref="Count"/> items.</summary>
    public void CopyTo(Span<ulong> oids, Span<long> values)
    {
        int n = 0;
        foreach (Slot s in _slots)
        {
            if (s.Value != 0)
            {
                oids[n] = s.Oid;
                values[n] = (long)s.Value;
                n++;
            }
        }
    }

    private ulong _touch; // keeps the prefetching loads of SetMany from being optimised away

    private bool Insert(Slot[] slots, ulong oid, ulong value)
    {
        int mask = slots.Length - 1;
        for (int i = Home(oid); ; i = (i + 1) & mask)
        {
            ref Slot s = ref slots[i];
            if (s.Value == 0)
            {
                s.Oid = oid;
                s.Value = value;
                Count++;
                return true;
            }
            if (s.Oid == oid)
            {
                s.Value = value;
                return false;
            }
        }
    }

    /// <summary>The first slot to probe: the group's hashed home (top bits, so order survives growth) plus the oid's place in its group.</summary>
    private int Home(ulong oid) => (int)((((oid >> GroupBits) * Golden) >> _shift) << GroupBits) | (int)(oid & ((1 << GroupBits) - 1));

    private void SetGeometry(int size)
    {
        int bits = System.Numerics.BitOperations.Log2((uint)size);
        _shift = 64 - (bits - GroupBits);
        _growAt = (int)((long)size * 7 / 10);
    }

    private void Grow(int size)
    {
        if (size <= 0 || size > Array.MaxLength)
        {
            throw new InvalidOperationException("the index cannot grow further");
        }
        Slot[] old = _slots;
        var slots = new Slot[size];
        SetGeometry(size);
        Count = 0;
        foreach (Slot s in old)
        {
            if (s.Value != 0)
            {
                Insert(slots, s.Oid, s.Value);
            }
        }
        _slots = slots;
    }

    private struct Slot
    {
        public ulong Oid;
        public ulong Value;
    }
}

/// <summary>One index entry: an oid and the position of its current record.</summary>
internal readonly record struct IndexEntry(ulong Oid, long Position);
