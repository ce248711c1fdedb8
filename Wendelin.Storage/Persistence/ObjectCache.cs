using System.Runtime.InteropServices;

namespace Wendelin.Storage.Persistence;

/// <summary>
/// A connection's object cache (spec/objects.md OB-30): maps oids to the one live object of each, weakly, so an
/// object no one references can be collected; keeps loaded objects in least-recently-used order, strongly, and
/// turns the oldest up-to-date ones back into ghosts when there are more than <see cref="TargetSize"/> (at
/// transaction boundaries or on request). Changed objects are never ghosted (the connection holds them).
/// Used by the connection's thread only.
/// </summary>
internal sealed class ObjectCache
{
    // Weak GC handles rather than WeakReference objects: no finalizer per cached object. Freed on removal, on the
    // sweep of dead entries and when the connection closes for good (Clear).
    private readonly Dictionary<Oid, GCHandle> _map = [];
    private Persistent? _head;  // most recently used
    private Persistent? _tail;  // least recently used
    private int _active;
    private int _sweepAt = 1024;

    public ObjectCache(int targetSize) => TargetSize = targetSize;

    /// <summary>How many loaded (non-ghost) objects to keep after a collection.</summary>
    public int TargetSize { get; set; }

    /// <summary>Number of loaded objects (up-to-date or changed) in the LRU list.</summary>
    public int ActiveCount => _active;

    /// <summary>Number of oids with a live object (ghosts included; dead entries may linger until the next sweep).</summary>
    public int Count => _map.Count;

    public Persistent? Get(Oid oid)
    {
        if (_map.TryGetValue(oid, out GCHandle h))
        {
            if (h.Target is Persistent obj)
            {
                return obj;
            }
            _map.Remove(oid);
            h.Free();
        }
        return null;
    }

    /// <summary>Adds an object that has an oid (a ghost, or a new or just loaded object).</summary>
    public void Add(Persistent obj)
    {
        if (_map.TryGetValue(obj._oid, out GCHandle h))
        {
            if (h.Target is Persistent existing && !ReferenceEquals(existing, obj))
            {
                throw new InvalidOperationException($"the cache already holds another object for oid {obj._oid}");
            }
            h.Target = obj;
        }
        else
        {
            _map[obj._oid] = GCHandle.Alloc(obj, GCHandleType.Weak);
            if (_map.Count >= _sweepAt)
            {
                Sweep();
            }
        }
        if (obj._state is PersistentState.UpToDate or PersistentState.Changed)
        {
            Activated(obj);
        }
    }

    public void Remove(Persistent obj)
    {
        Unlink(obj);
        if (_map.TryGetValue(obj._oid, out GCHandle h) && ReferenceEquals(h.Target, obj))
        {
            _map.Remove(obj._oid);
            h.Free();
        }
    }

    /// <summary>The object was loaded (or became new): it enters the LRU list as most recent.</summary>
    public void Activated(Persistent obj)
    {
        if (IsLinked(obj))
        {
            Touch(obj);
            return;
        }
        obj._lruNext = _head;
        obj._lruPrev = null;
        if (_head is not null)
        {
            _head._lruPrev = obj;
        }
        _head = obj;
        _tail ??= obj;
        _active++;
    }

    /// <summary>The object was used: it becomes the most recent.</summary>
    public void Touch(Persistent obj)
    {
        if (ReferenceEquals(_head, obj) || !IsLinked(obj))
        {
            return;
        }
        // unlink (obj is not the head, so it has a previous)
        obj._lruPrev!._lruNext = obj._lruNext;
        if (obj._lruNext is not null)
        {
            obj._lruNext._lruPrev = obj._lruPrev;
        }
        else
        {
            _tail = obj._lruPrev;
        }
        obj._lruPrev = null;
        obj._lruNext = _head;
        _head!._lruPrev = obj;
        _head = obj;
    }

    /// <summary>The object became a ghost: it leaves the LRU list.</summary>
    public void Unlink(Persistent obj)
    {
        if (!IsLinked(obj))
        {
            return;
        }
        if (obj._lruPrev is not null)
        {
            obj._lruPrev._lruNext = obj._lruNext;
        }
        else
        {
            _head = obj._lruNext;
        }
        if (obj._lruNext is not null)
        {
            obj._lruNext._lruPrev = obj._lruPrev;
        }
        else
        {
            _tail = obj._lruPrev;
        }
        obj._lruPrev = obj._lruNext = null;
        _active--;
    }

    private bool IsLinked(Persistent obj) => obj._lruPrev is not null || ReferenceEquals(_head, obj);

    /// <summary>Ghosts the least recently used up-to-date objects until at most <paramref name="target"/> remain loaded.</summary>
    public void Collect(int target, Action<Persistent> ghostify)
    {
        Persistent? p = _tail;
        while (_active > target && p is not null)
        {
            Persistent? prev = p._lruPrev;
            if (p._state == PersistentState.UpToDate && !p.IsKeptInCache)
            {
                ghostify(p);
            }
            p = prev;
        }
    }

    /// <summary>Every live object with an oid (ghosts included), for invalidation sweeps and closing.</summary>
    public List<Persistent> LiveObjects()
    {
        var list = new List<Persistent>(_map.Count);
        foreach (GCHandle h in _map.Values)
        {
            if (h.Target is Persistent obj)
            {
                list.Add(obj);
            }
        }
        return list;
    }

    /// <summary>Forgets every object and frees the handles (the connection closes for good).</summary>
    public void Clear()
    {
        foreach (GCHandle h in _map.Values)
        {
            h.Free();
        }
        _map.Clear();
        for (Persistent? p = _head; p is not null;)
        {
            Persistent? next = p._lruNext;
            p._lruPrev = p._lruNext = null;
            p = next;
        }
        _head = _tail = null;
        _active = 0;
    }

    private void Sweep()
    {
        List<Oid>? dead = null;
        foreach (KeyValuePair<Oid, GCHandle> kv in _map)
        {
            if (kv.Value.Target is null)
            {
                (dead ??= []).Add(kv.Key);
            }
        }
        if (dead is not null)
        {
            foreach (Oid oid in dead)
            {
                _map.Remove(oid, out GCHandle h);
                h.Free();
            }
        }
        _sweepAt = Math.Max(1024, _map.Count * 2);
    }
}
