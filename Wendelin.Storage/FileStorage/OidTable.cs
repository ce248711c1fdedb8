namespace Wendelin.Storage.Fs;

/// <summary>
/// The mutable part of <see cref="FsIndex"/>: an open-addressing hash table oid → (position, serial) with linear
/// probing over one array of 24-byte slots, so a lookup costs one cache miss where a
/// <see cref="Dictionary{TKey, TValue}"/> costs two (bucket, then entry). Position 0 marks an empty slot (no record
/// lies before byte 27). Oids are hashed in groups of 8 consecutive values, so the dense oids ZODB allocates land in
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

    /// <summary>The position and serial stored for <paramref name="oid"/>.</summary>
    public bool TryGet(ulong oid, out long position, out ulong serial)
    {
        Slot[] slots = _slots;
        int mask = slots.Length - 1;
        for (int i = Home(oid); ; i = (i + 1) & mask)
        {
            ref Slot s = ref slots[i];
            if (s.Position == 0)
            {
                position = 0;
                serial = 0;
                return false;
            }
            if (s.Oid == oid)
            {
                position = s.Position;
                serial = s.Serial;
                return true;
            }
        }
    }

    /// <summary>Sets the entry of <paramref name="oid"/> (<paramref name="position"/> &gt; 0); true when the oid is new.</summary>
    public bool Set(ulong oid, long position, ulong serial)
    {
        if (position <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, "a record position is positive");
        }
        if (Count >= _growAt)
        {
            Grow(_slots.Length * 2);
        }
        return Insert(_slots, oid, position, serial);
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
        long touch = 0;
        foreach (IndexEntry e in entries)
        {
            touch += slots[Home(e.Oid)].Position;
        }
        _touch = touch;
        for (int i = 0; i < entries.Length; i++)
        {
            IndexEntry e = entries[i];
            if (e.Position <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(entries), e.Position, "a record position is positive");
            }
            added[i] = Insert(slots, e.Oid, e.Position, e.Serial);
        }
    }

    /// <summary>Copies the entries (in slot order) into the spans, which hold at least <see cref="Count"/> items.</summary>
    public void CopyTo(Span<ulong> oids, Span<long> positions)
    {
        int n = 0;
        foreach (Slot s in _slots)
        {
            if (s.Position != 0)
            {
                oids[n] = s.Oid;
                positions[n] = s.Position;
                n++;
            }
        }
    }

    private long _touch; // keeps the prefetching loads of SetMany from being optimised away

    private bool Insert(Slot[] slots, ulong oid, long position, ulong serial)
    {
        int mask = slots.Length - 1;
        for (int i = Home(oid); ; i = (i + 1) & mask)
        {
            ref Slot s = ref slots[i];
            if (s.Position == 0)
            {
                s.Oid = oid;
                s.Serial = serial;
                s.Position = position;
                Count++;
                return true;
            }
            if (s.Oid == oid)
            {
                s.Position = position;
                s.Serial = serial;
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
            if (s.Position != 0)
            {
                Insert(slots, s.Oid, s.Position, s.Serial);
            }
        }
        _slots = slots;
    }

    private struct Slot
    {
        public ulong Oid;
        public long Position;
        public ulong Serial;
    }
}

/// <summary>One index entry: an oid, the position of its current record and that record's tid (0 when unknown).</summary>
internal readonly record struct IndexEntry(ulong Oid, long Position, ulong Serial);
