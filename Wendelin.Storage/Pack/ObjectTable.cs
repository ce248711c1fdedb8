using System.Runtime.InteropServices;

namespace Wendelin.Storage.Pack;

/// <summary>What the pack knows about one object (spec/pack.md §2).</summary>
internal struct ObjectState
{
    /// <summary>Flag: a record after the pack time references the object (a root of PK-G1), or it is pinned (PK-G3).</summary>
    public const byte Rooted = 1;

    /// <summary>Flag: reached by the marking of PK-G1.</summary>
    public const byte Marked = 2;

    /// <summary>Flag: a later record's backpointer points at one of its revisions before the pack time (PK-G3).</summary>
    public const byte Pinned = 4;

    /// <summary>
    /// Its last record up to the pack time (PK-A2): the position when that record has data or a non-null backpointer
    /// (the pack-time revision), minus the position when it says "no such object", 0 when there is none.
    /// </summary>
    public long PackTime;

    /// <summary>Its last record in the part of the later region phase B scanned, 0 when none.</summary>
    public long Later;

    public byte Flags;

    public readonly bool Exists => PackTime > 0;
}

/// <summary>
/// oid → <see cref="ObjectState"/> for the pack: one array indexed by oid for the dense oids ZODB allocates (up to a
/// few times the number of objects), a dictionary for oids beyond. A scan's record costs an array access, not a
/// hash lookup. Not thread-safe, except as <see cref="IsDense"/> says.
/// </summary>
internal sealed class ObjectTable
{
    private readonly ObjectState[] _dense;
    private readonly Dictionary<ulong, ObjectState> _sparse = [];

    /// <param name="maxOid">The largest oid the storage has allocated.</param>
    /// <param name="objects">How many objects the storage has (sizes the dense part).</param>
    public ObjectTable(ulong maxOid, int objects)
    {
        long limit = Math.Max(4L * objects, 1 << 16);
        long dense = (long)Math.Min(maxOid, (ulong)Math.Min(limit, Array.MaxLength - 1)) + 1;
        _dense = new ObjectState[dense];
    }

    /// <summary>
    /// True when <paramref name="oid"/>'s state lies in the dense array: two threads may then write different fields
    /// of different or the same objects' states; the others are in a dictionary, for one thread at a time.
    /// </summary>
    public bool IsDense(ulong oid) => oid < (ulong)_dense.Length;

    /// <summary>The state of <paramref name="oid"/>, added (all zero) when missing.</summary>
    public ref ObjectState At(ulong oid)
    {
        if (oid < (ulong)_dense.Length)
        {
            return ref _dense[oid];
        }
        return ref CollectionsMarshal.GetValueRefOrAddDefault(_sparse, oid, out _);
    }

    /// <summary>The state of <paramref name="oid"/> (all zero when the pack never saw it).</summary>
    public ObjectState Get(ulong oid)
    {
        if (oid < (ulong)_dense.Length)
        {
            return _dense[oid];
        }
        return _sparse.TryGetValue(oid, out ObjectState s) ? s : default;
    }

    /// <summary>Calls <paramref name="action"/> for every object with a state, dense oids first in increasing order.</summary>
    public void ForEach<TAction>(ref TAction action)
        where TAction : struct, IObjectAction
    {
        ObjectState[] dense = _dense;
        for (int i = 0; i < dense.Length; i++)
        {
            ref ObjectState s = ref dense[i];
            if (s.PackTime != 0 || s.Later != 0 || s.Flags != 0)
            {
                action.Visit((ulong)i, ref s);
            }
        }
        foreach (ulong oid in _sparse.Keys)
        {
            action.Visit(oid, ref CollectionsMarshal.GetValueRefOrNullRef(_sparse, oid));
        }
    }
}

/// <summary>A step of <see cref="ObjectTable.ForEach{TAction}"/>.</summary>
internal interface IObjectAction
{
    void Visit(ulong oid, ref ObjectState state);
}
