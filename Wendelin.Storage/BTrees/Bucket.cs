using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.BTrees;

/// <summary>
/// A mapping bucket (Python's <c>OOBucket</c>, <c>LOBucket</c>, ...): a leaf of a BTree, usable on its own as a
/// small sorted mapping. Standalone buckets never split.
/// </summary>
public abstract class Bucket<TKey, TValue> : BucketBase<TKey, TValue>, IEnumerable<KeyValuePair<TKey, TValue>>
    where TKey : notnull
{
    private protected Bucket()
    {
    }

    internal override bool IsSet => false;

    public TValue this[TKey key]
    {
        get => TryGetValue(key, out TValue? v) ? v : throw new KeyNotFoundException($"key {PythonValues.Repr(key)} is not in the bucket");
        set => SetInternal(KeyOps<TKey>.Check(key, isKey: true), KeyOps<TValue>.Check(value, isKey: false), delete: false, unique: false, out _);
    }

    public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        try
        {
            return TryGetInternal(KeyOps<TKey>.Check(key, isKey: true), out value!);
        }
        catch (ArgumentException)
        {
            value = default;
            return false;
        }
    }

    public bool ContainsKey(TKey key) => TryGetValue(key, out _);

    public bool Remove(TKey key) =>
        SetInternal(KeyOps<TKey>.Check(key, isKey: true), default!, delete: true, unique: false, out _) >= 0;

    public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator()
    {
        Activate();
        for (int i = 0; i < _count; i++)
        {
            yield return new KeyValuePair<TKey, TValue>(_keys[i], _values[i]);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A set bucket (Python's <c>OOSet</c>, <c>IOSet</c>, ...): sorted keys, a leaf of a TreeSet or a small set on its own.</summary>
public abstract class SetBucket<TKey> : BucketBase<TKey, NoValue>, IEnumerable<TKey>
    where TKey : notnull
{
    private protected SetBucket()
    {
    }

    internal override bool IsSet => true;

    /// <summary>Adds a key; true when it was absent.</summary>
    public bool Add(TKey key) => SetInternal(KeyOps<TKey>.Check(key, isKey: true), default, delete: false, unique: true, out _) > 0;

    public bool Remove(TKey key) => SetInternal(KeyOps<TKey>.Check(key, isKey: true), default, delete: true, unique: false, out _) >= 0;

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

    public IEnumerator<TKey> GetEnumerator()
    {
        Activate();
        for (int i = 0; i < _count; i++)
        {
            yield return _keys[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
