using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.BTrees;

/// <summary>
/// A leaf of a BTree (Python's <c>Bucket</c> and <c>Set</c>, spec/objects.md OB-43): sorted keys (and values),
/// and the link to the next bucket in key order. Its state is <c>((k0, v0, k1, v1, …),)</c>, or
/// <c>((…), next_bucket)</c> when it has a right neighbour; a set's items hold keys only.
/// </summary>
public abstract class BucketBase<TKey, TValue> : Persistent
{
    internal TKey[] _keys = [];
    internal TValue[] _values = [];
    internal int _count;
    internal BucketBase<TKey, TValue>? _next;

    private protected BucketBase()
    {
    }

    internal abstract bool IsSet { get; }

    /// <summary>Number of items (loads a ghost).</summary>
    public int Count
    {
        get
        {
            ReadAccess();
            return _count;
        }
    }

    /// <summary>The next bucket in key order, or null (loads a ghost).</summary>
    public BucketBase<TKey, TValue>? NextBucket
    {
        get
        {
            ReadAccess();
            return _next;
        }
    }

    /// <summary>The keys in order (loads a ghost).</summary>
    public IReadOnlyList<TKey> Keys
    {
        get
        {
            ReadAccess();
            return _keys.AsSpan(0, _count).ToArray();
        }
    }

    /// <summary>Index of <paramref name="key"/>, or the bitwise complement of its insertion point.</summary>
    internal int Search(TKey key)
    {
        int lo = 0, hi = _count - 1;
        TKey[] keys = _keys;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = KeyOps<TKey>.Compare(keys[mid], key);
            if (c < 0)
            {
                lo = mid + 1;
            }
            else if (c > 0)
            {
                hi = mid - 1;
            }
            else
            {
                return mid;
            }
        }
        return ~lo;
    }

    internal bool TryGetInternal(TKey key, out TValue value)
    {
        Activate();
        int i = Search(key);
        if (i >= 0)
        {
            value = _values.Length > 0 ? _values[i] : default!;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>
    /// Python's <c>_bucket_set</c>: sets (or, with <paramref name="delete"/>, removes) a key. Returns 1 when the
    /// number of items changed, 0 when not, -1 when a key to delete is absent. <paramref name="changed"/> tells
    /// whether the bucket changed at all.
    /// </summary>
    internal int SetInternal(TKey key, TValue value, bool delete, bool unique, out bool changed)
    {
        Activate();
        changed = false;
        int i = Search(key);
        if (i >= 0)
        {
            if (!delete)
            {
                if (unique || IsSet || KeyOps<TValue>.SameValue(_values[i], value))
                {
                    return 0;
                }
                WriteAccess();
                _values[i] = value;
                changed = true;
                return 0;
            }
            WriteAccess();
            _count--;
            Array.Copy(_keys, i + 1, _keys, i, _count - i);
            _keys[_count] = default!;
            if (!IsSet)
            {
                Array.Copy(_values, i + 1, _values, i, _count - i);
                _values[_count] = default!;
            }
            changed = true;
            return 1;
        }
        if (delete)
        {
            return -1;
        }
        WriteAccess();
        i = ~i;
        EnsureCapacity(_count + 1);
        Array.Copy(_keys, i, _keys, i + 1, _count - i);
        _keys[i] = key;
        if (!IsSet)
        {
            Array.Copy(_values, i, _values, i + 1, _count - i);
            _values[i] = value;
        }
        _count++;
        changed = true;
        return 1;
    }

    private void EnsureCapacity(int n)
    {
        if (_keys.Length >= n)
        {
            return;
        }
        int size = Math.Max(n, _keys.Length == 0 ? 16 : _keys.Length * 2);
        Array.Resize(ref _keys, size);
        if (!IsSet)
        {
            Array.Resize(ref _values, size);
        }
    }

    /// <summary>Python's <c>bucket_split</c> at the midpoint: moves the upper half into <paramref name="next"/> and links it after this bucket.</summary>
    internal void SplitInto(BucketBase<TKey, TValue> next)
    {
        int index = _count / 2;
        int nextSize = _count - index;
        next._keys = new TKey[nextSize];
        Array.Copy(_keys, index, next._keys, 0, nextSize);
        Array.Clear(_keys, index, nextSize);
        if (!IsSet)
        {
            next._values = new TValue[nextSize];
            Array.Copy(_values, index, next._values, 0, nextSize);
            Array.Clear(_values, index, nextSize);
        }
        next._count = nextSize;
        _count = index;
        next._next = _next;
        _next = next;
        WriteAccess();
    }

    /// <summary>Python's <c>Bucket_deleteNextBucket</c>: unlinks the bucket after this one.</summary>
    internal void DeleteNextBucket()
    {
        Activate();
        BucketBase<TKey, TValue>? successor = _next;
        if (successor is not null)
        {
            successor.Activate();
            _next = successor._next;
            WriteAccess();
        }
    }

    /// <summary>Removes every item (used by the tree's Clear on a lone inline bucket).</summary>
    internal void ClearItems()
    {
        _keys = [];
        _values = [];
        _count = 0;
    }

    // ---- state (OB-43) ----

    protected override object? GetState()
    {
        int width = IsSet ? 1 : 2;
        var items = new object?[_count * width];
        for (int i = 0, l = 0; i < _count; i++)
        {
            items[l++] = KeyOps<TKey>.ToLive(_keys[i]);
            if (!IsSet)
            {
                items[l++] = KeyOps<TValue>.ToLive(_values[i]);
            }
        }
        PyTuple itemsTuple = PyTuple.Own(items);
        return _next is null ? PyTuple.Own([itemsTuple]) : PyTuple.Own([itemsTuple, _next]);
    }

    protected override void SetState(object? state)
    {
        if (state is not PyTuple { Count: 1 or 2 } t || t[0] is not PyTuple items)
        {
            throw new FormatException($"a bucket state is ((items...),) or ((items...), next); got {PythonValues.Repr(state)}");
        }
        int width = IsSet ? 1 : 2;
        if (items.Count % width != 0)
        {
            throw new FormatException($"a bucket's items hold key/value pairs; got {items.Count} items");
        }
        BucketBase<TKey, TValue>? next = null;
        if (t.Count == 2)
        {
            next = t[1] as BucketBase<TKey, TValue>;
            if (next is null || next.GetType() != GetType())
            {
                throw new FormatException($"a bucket's next must be a {GetType().Name}, got {PythonValues.TypeName(t[1])}");
            }
        }
        int n = items.Count / width;
        var keys = new TKey[n];
        TValue[] values = IsSet ? [] : new TValue[n];
        for (int i = 0, l = 0; i < n; i++)
        {
            keys[i] = KeyOps<TKey>.FromLive(items[l++], isKey: true);
            if (!IsSet)
            {
                values[i] = KeyOps<TValue>.FromLive(items[l++], isKey: false);
            }
            if (i > 0 && KeyOps<TKey>.Compare(keys[i - 1], keys[i]) >= 0)
            {
                throw new FormatException($"bucket keys out of order at item {i}");
            }
        }
        _keys = keys;
        _values = values;
        _count = n;
        _next = next;
    }

    protected override void ClearState()
    {
        _keys = [];
        _values = [];
        _count = 0;
        _next = null;
    }
}
