using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.BTrees;

/// <summary>
/// A persistent sorted mapping compatible with Python's BTrees (OOBTree, IOBTree, LOBTree, ... ; spec/objects.md
/// OB-40..OB-45). Keys are kept in Python's order; buckets and interior nodes are persistent objects of their own,
/// loaded on demand, so a tree may be far larger than memory. Enumeration is in key order; <see cref="Count"/>
/// walks the buckets (like Python's <c>len()</c>). Changing the tree while enumerating it throws.
/// </summary>
public abstract class BTree<TKey, TValue> : TreeBase<TKey, TValue>, IDictionary<TKey, TValue>, IReadOnlyDictionary<TKey, TValue>
    where TKey : notnull
{
    private protected BTree()
    {
    }

    internal override bool IsSet => false;

    public TValue this[TKey key]
    {
        get => TryGetValue(key, out TValue? value) ? value : throw new KeyNotFoundException($"key {PythonValues.Repr(key)} is not in the {GetType().Name}");
        set
        {
            TKey k = CheckKey(key);
            TValue v = KeyOps<TValue>.Check(value, isKey: false);
            SetInternal(k, v, delete: false, unique: false);
            _version++;
        }
    }

    /// <summary>Number of items (walks every bucket).</summary>
    public int Count
    {
        get
        {
            Activate();
            int n = 0;
            for (BucketBase<TKey, TValue>? b = _firstBucket; b is not null; b = b._next)
            {
                b.Activate();
                n += b._count;
            }
            return n;
        }
    }

    bool ICollection<KeyValuePair<TKey, TValue>>.IsReadOnly => false;

    /// <summary>The keys in order (materialized).</summary>
    public ICollection<TKey> Keys => [.. EnumerateRange(false, default!, false, false, default!, false, keysOnly: true).Select(kv => kv.Key)];

    /// <summary>The values in key order (materialized).</summary>
    public ICollection<TValue> Values => [.. EnumerateRange(false, default!, false, false, default!, false, keysOnly: false).Select(kv => kv.Value)];

    IEnumerable<TKey> IReadOnlyDictionary<TKey, TValue>.Keys => Keys;

    IEnumerable<TValue> IReadOnlyDictionary<TKey, TValue>.Values => Values;

    public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        if (!TryKey(key, out TKey k))
        {
            value = default;
            return false;
        }
        return TryGetInternal(k, out value!);
    }

    public bool ContainsKey(TKey key) => TryGetValue(key, out _);

    /// <summary>Adds a new key; <see cref="ArgumentException"/> when it is present.</summary>
    public void Add(TKey key, TValue value)
    {
        if (!Insert(key, value))
        {
            throw new ArgumentException($"key {PythonValues.Repr(key)} is already in the {GetType().Name}", nameof(key));
        }
    }

    /// <summary>Adds <paramref name="key"/> only if absent (Python <c>insert</c>); true when added.</summary>
    public bool Insert(TKey key, TValue value)
    {
        TKey k = CheckKey(key);
        TValue v = KeyOps<TValue>.Check(value, isKey: false);
        bool added = SetInternal(k, v, delete: false, unique: true) > 0;
        _version++;
        return added;
    }

    public bool Remove(TKey key)
    {
        if (!TryKey(key, out TKey k))
        {
            return false;
        }
        bool removed = SetInternal(k, default!, delete: true, unique: false) >= 0;
        _version++;
        return removed;
    }

    public void Clear()
    {
        ClearInternal();
        _version++;
    }

    void ICollection<KeyValuePair<TKey, TValue>>.Add(KeyValuePair<TKey, TValue> item) => Add(item.Key, item.Value);

    bool ICollection<KeyValuePair<TKey, TValue>>.Contains(KeyValuePair<TKey, TValue> item) =>
        TryGetValue(item.Key, out TValue? v) && PythonValues.Equal(v, item.Value);

    bool ICollection<KeyValuePair<TKey, TValue>>.Remove(KeyValuePair<TKey, TValue> item) =>
        ((ICollection<KeyValuePair<TKey, TValue>>)this).Contains(item) && Remove(item.Key);

    public void CopyTo(KeyValuePair<TKey, TValue>[] array, int arrayIndex)
    {
        ArgumentNullException.ThrowIfNull(array);
        foreach (KeyValuePair<TKey, TValue> kv in this)
        {
            array[arrayIndex++] = kv;
        }
    }

    /// <summary>Items in key order.</summary>
    public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator() =>
        EnumerateRange(false, default!, false, false, default!, false, keysOnly: false).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Items with <paramref name="min"/> ≤ key ≤ <paramref name="max"/> in order (bounds optionally excluded), like Python's <c>items(min, max)</c>.</summary>
    public IEnumerable<KeyValuePair<TKey, TValue>> Items(TKey min, TKey max, bool excludeMin = false, bool excludeMax = false) =>
        EnumerateRange(true, CheckKey(min), excludeMin, true, CheckKey(max), excludeMax, keysOnly: false);

    /// <summary>Items with key ≥ <paramref name="min"/> (or &gt; when excluded), in order.</summary>
    public IEnumerable<KeyValuePair<TKey, TValue>> ItemsFrom(TKey min, bool excludeMin = false) =>
        EnumerateRange(true, CheckKey(min), excludeMin, false, default!, false, keysOnly: false);

    /// <summary>Items with key ≤ <paramref name="max"/> (or &lt; when excluded), in order.</summary>
    public IEnumerable<KeyValuePair<TKey, TValue>> ItemsTo(TKey max, bool excludeMax = false) =>
        EnumerateRange(false, default!, false, true, CheckKey(max), excludeMax, keysOnly: false);

    /// <summary>The smallest key; <see cref="InvalidOperationException"/> for an empty tree.</summary>
    public TKey MinKey() => BTreeIteration.MinKey(this);

    /// <summary>The largest key; <see cref="InvalidOperationException"/> for an empty tree.</summary>
    public TKey MaxKey() => BTreeIteration.MaxKey(this);

    /// <summary>Checks every structural and ordering invariant (Python's <c>_check</c> and <c>BTrees.check</c>); throws <see cref="BTreeInvariantException"/>.</summary>
    public void Check() => BTreeCheck.Check(this);

    private protected TKey CheckKey(TKey key) => KeyOps<TKey>.Check(key, isKey: true);

    private bool TryKey(TKey key, out TKey k)
    {
        try
        {
            k = CheckKey(key);
            return true;
        }
        catch (ArgumentException)
        {
            k = default!;
            return false;
        }
    }

    private IEnumerable<KeyValuePair<TKey, TValue>> EnumerateRange(bool hasMin, TKey min, bool excludeMin, bool hasMax, TKey max, bool excludeMax, bool keysOnly)
    {
        _ = keysOnly;
        return BTreeIteration.Range(this, hasMin, min, excludeMin, hasMax, max, excludeMax);
    }
}

/// <summary>
/// A persistent sorted set compatible with Python's BTrees TreeSets (OOTreeSet, IOTreeSet, ...): a BTree of set
/// buckets, with the same shapes and state layout as the mapping trees minus the values.
/// </summary>
public abstract class TreeSet<TKey> : TreeBase<TKey, NoValue>, IEnumerable<TKey>
    where TKey : notnull
{
    private protected TreeSet()
    {
    }

    internal override bool IsSet => true;

    /// <summary>Number of keys (walks every bucket).</summary>
    public int Count
    {
        get
        {
            Activate();
            int n = 0;
            for (BucketBase<TKey, NoValue>? b = _firstBucket; b is not null; b = b._next)
            {
                b.Activate();
                n += b._count;
            }
            return n;
        }
    }

    /// <summary>Adds a key; true when it was absent.</summary>
    public bool Add(TKey key)
    {
        bool added = SetInternal(KeyOps<TKey>.Check(key, isKey: true), default, delete: false, unique: true) > 0;
        _version++;
        return added;
    }

    public bool Remove(TKey key)
    {
        TKey k;
        try
        {
            k = KeyOps<TKey>.Check(key, isKey: true);
        }
        catch (ArgumentException)
        {
            return false;
        }
        bool removed = SetInternal(k, default, delete: true, unique: false) >= 0;
        _version++;
        return removed;
    }

    public bool Contains(TKey key)
    {
        try
        {
            return TryGetInternal(KeyOps<TKey>.Check(key, isKey: true), out _);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public void Clear()
    {
        ClearInternal();
        _version++;
    }

    public IEnumerator<TKey> GetEnumerator()
    {
        foreach (KeyValuePair<TKey, NoValue> kv in BTreeIteration.Range(this, false, default!, false, false, default!, false))
        {
            yield return kv.Key;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Keys with <paramref name="min"/> ≤ key ≤ <paramref name="max"/> in order.</summary>
    public IEnumerable<TKey> Keys(TKey min, TKey max, bool excludeMin = false, bool excludeMax = false)
    {
        foreach (KeyValuePair<TKey, NoValue> kv in BTreeIteration.Range(this, true, KeyOps<TKey>.Check(min, true), excludeMin, true, KeyOps<TKey>.Check(max, true), excludeMax))
        {
            yield return kv.Key;
        }
    }

    public TKey MinKey() => BTreeIteration.MinKey(this);

    public TKey MaxKey() => BTreeIteration.MaxKey(this);

    public void Check() => BTreeCheck.Check(this);
}
