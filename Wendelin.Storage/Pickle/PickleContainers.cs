using System.Collections;

namespace Wendelin.Storage.Pickle;

/// <summary>A Python <c>tuple</c>: immutable once built.</summary>
public sealed class PickleTuple : PickleValue, IReadOnlyList<PickleValue>
{
    private readonly PickleValue[] _items;
    private int _keyHash;

    public PickleTuple(params PickleValue[] items)
        : this(Copy(items), owned: true)
    {
    }

    /// <summary>A tuple of the items of <paramref name="items"/> (Python's <c>tuple(iterable)</c>).</summary>
    public static PickleTuple FromItems(IEnumerable<PickleValue> items) => new(Copy(items), owned: true);

    internal PickleTuple(PickleValue[] items, bool owned)
    {
        _ = owned;
        _items = items;
    }

    /// <summary>The empty tuple.</summary>
    public static PickleTuple Empty { get; } = new([], owned: true);

    public override PickleKind Kind => PickleKind.Tuple;

    public int Count => _items.Length;

    public PickleValue this[int index] => _items[index];

    /// <summary>The item at <paramref name="index"/>, or a <see cref="PickleException"/> when the tuple is shorter.</summary>
    public PickleValue At(int index) => (uint)index < (uint)_items.Length ? _items[index]
        : throw Mismatch($"a tuple of at least {index + 1} items");

    /// <summary>Throws a <see cref="PickleException"/> unless the tuple has exactly <paramref name="count"/> items.</summary>
    public PickleTuple ExpectCount(int count) => _items.Length == count ? this : throw Mismatch($"a {count}-tuple");

    public ReadOnlySpan<PickleValue> AsSpan() => _items;

    public IEnumerator<PickleValue> GetEnumerator() => ((IEnumerable<PickleValue>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public override string Describe() => $"tuple of {_items.Length}";

    internal int CachedKeyHash
    {
        get => _keyHash;
        set => _keyHash = value;
    }

    private static PickleValue[] Copy(IEnumerable<PickleValue> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        PickleValue[] a = items.ToArray();
        foreach (PickleValue v in a)
        {
            ArgumentNullException.ThrowIfNull(v, nameof(items));
        }
        return a;
    }
}

/// <summary>A Python <c>list</c> (mutable).</summary>
public sealed class PickleList : PickleValue, IList<PickleValue>, IReadOnlyList<PickleValue>
{
    private readonly List<PickleValue> _items;

    public PickleList() => _items = [];

    public PickleList(IEnumerable<PickleValue> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        _items = [];
        foreach (PickleValue v in items)
        {
            Add(v);
        }
    }

    public override PickleKind Kind => PickleKind.List;

    public int Count => _items.Count;

    public bool IsReadOnly => false;

    public PickleValue this[int index]
    {
        get => _items[index];
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _items[index] = value;
        }
    }

    public void Add(PickleValue item)
    {
        ArgumentNullException.ThrowIfNull(item);
        _items.Add(item);
    }

    internal void AddRange(ReadOnlySpan<PickleValue> items) => _items.AddRange(items);

    public void Insert(int index, PickleValue item)
    {
        ArgumentNullException.ThrowIfNull(item);
        _items.Insert(index, item);
    }

    public void RemoveAt(int index) => _items.RemoveAt(index);

    public bool Remove(PickleValue item) => _items.Remove(item);

    public void Clear() => _items.Clear();

    public int IndexOf(PickleValue item) => _items.IndexOf(item);

    public bool Contains(PickleValue item) => _items.Contains(item);

    public void CopyTo(PickleValue[] array, int arrayIndex) => _items.CopyTo(array, arrayIndex);

    public IEnumerator<PickleValue> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public override string Describe() => $"list of {_items.Count}";
}

/// <summary>
/// A Python <c>dict</c>: keys of any hashable kind, in insertion order. Keys compare as Python compares them
/// (<c>1</c>, <c>1.0</c> and <c>True</c> are one key; an ASCII Python-2 <c>str</c> equals the same <c>str</c>);
/// setting an existing key replaces its value in place. Lists, dicts and sets cannot be keys (PK-15).
/// </summary>
public sealed class PickleDict : PickleValue, IEnumerable<KeyValuePair<PickleValue, PickleValue>>
{
    private const int IndexThreshold = 8;
    private readonly List<KeyValuePair<PickleValue, PickleValue>> _entries = [];
    private Dictionary<PickleValue, int>? _index;

    public override PickleKind Kind => PickleKind.Dict;

    public int Count => _entries.Count;

    /// <summary>The entries in insertion order.</summary>
    public IReadOnlyList<KeyValuePair<PickleValue, PickleValue>> Entries => _entries;

    public IEnumerable<PickleValue> Keys => _entries.Select(e => e.Key);

    public IEnumerable<PickleValue> Values => _entries.Select(e => e.Value);

    /// <summary>True when every key is a <c>str</c> (the JSON-object case of spec/pickle.md §7).</summary>
    public bool HasOnlyStrKeys
    {
        get
        {
            foreach (var e in _entries)
            {
                if (e.Key is not PickleStr)
                {
                    return false;
                }
            }
            return true;
        }
    }

    /// <summary>The value under <paramref name="key"/>; a <see cref="PickleException"/> when absent.</summary>
    public PickleValue this[string key] =>
        TryGetValue(key, out PickleValue? v) ? v : throw new PickleException($"expected key '{key}' in {Describe()}");

    public PickleValue this[PickleValue key]
    {
        get => TryGetValue(key, out PickleValue? v) ? v : throw new PickleException($"expected key {key.Describe()} in {Describe()}");
        set => Set(key, value);
    }

    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PickleValue? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_index is null)
        {
            foreach (var e in _entries)
            {
                if ((e.Key is PickleStr s && s.Value == key) || (e.Key is PickleByteString b && PickleKeyComparer.AsciiEquals(b, key)))
                {
                    value = e.Value;
                    return true;
                }
            }
            value = null;
            return false;
        }
        return TryGetValue(new PickleStr(key), out value);
    }

    public bool TryGetValue(PickleValue key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PickleValue? value)
    {
        int i = Find(key);
        value = i >= 0 ? _entries[i].Value : null;
        return i >= 0;
    }

    public bool ContainsKey(PickleValue key) => Find(key) >= 0;

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    /// <summary>Python's <c>d[key] = value</c>: replaces the value of an equal key, else appends. PickleException for an unhashable key.</summary>
    public void Set(PickleValue key, PickleValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        int i = Find(key);
        if (i >= 0)
        {
            _entries[i] = new(_entries[i].Key, value);
            return;
        }
        _entries.Add(new(key, value));
        if (_index is not null)
        {
            _index.Add(key, _entries.Count - 1);
        }
        else if (_entries.Count > IndexThreshold)
        {
            BuildIndex();
        }
    }

    public void Set(string key, PickleValue value) => Set(new PickleStr(key), value);

    /// <summary>Removes the entry of <paramref name="key"/>, keeping the order of the others.</summary>
    public bool Remove(PickleValue key)
    {
        int i = Find(key);
        if (i < 0)
        {
            return false;
        }
        _entries.RemoveAt(i);
        if (_index is not null)
        {
            BuildIndex();
        }
        return true;
    }

    public void Clear()
    {
        _entries.Clear();
        _index = null;
    }

    public IEnumerator<KeyValuePair<PickleValue, PickleValue>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _entries.GetEnumerator();

    public override string Describe() => $"dict of {_entries.Count}";

    private int Find(PickleValue key)
    {
        ArgumentNullException.ThrowIfNull(key);
        PickleKeyComparer.EnsureHashable(key);
        if (_index is not null)
        {
            return _index.TryGetValue(key, out int i) ? i : -1;
        }
        for (int i = 0; i < _entries.Count; i++)
        {
            if (PickleKeyComparer.Instance.Equals(_entries[i].Key, key))
            {
                return i;
            }
        }
        return -1;
    }

    private void BuildIndex()
    {
        var index = new Dictionary<PickleValue, int>(_entries.Count, PickleKeyComparer.Instance);
        for (int i = 0; i < _entries.Count; i++)
        {
            index.Add(_entries[i].Key, i);
        }
        _index = index;
    }
}

/// <summary>
/// A Python <c>set</c> or <c>frozenset</c>: members compare as dictionary keys do, kept in the order they were
/// read or added (so a round trip keeps the pickled order).
/// </summary>
public sealed class PickleSet : PickleValue, IReadOnlyCollection<PickleValue>
{
    private readonly List<PickleValue> _items = [];
    private readonly HashSet<PickleValue> _members = new(PickleKeyComparer.Instance);

    public PickleSet(bool frozen = false) => IsFrozen = frozen;

    public PickleSet(IEnumerable<PickleValue> items, bool frozen = false)
        : this(frozen)
    {
        ArgumentNullException.ThrowIfNull(items);
        foreach (PickleValue v in items)
        {
            AddMember(v);
        }
    }

    public override PickleKind Kind => PickleKind.Set;

    /// <summary>True for a <c>frozenset</c>.</summary>
    public bool IsFrozen { get; }

    public int Count => _items.Count;

    public IReadOnlyList<PickleValue> Items => _items;

    /// <summary>Adds a member (no effect when an equal one is present). Only for a mutable set.</summary>
    public bool Add(PickleValue item)
    {
        if (IsFrozen)
        {
            throw new InvalidOperationException("a frozenset cannot change");
        }
        return AddMember(item);
    }

    public bool Contains(PickleValue item) => _members.Contains(item);

    internal bool AddMember(PickleValue item)
    {
        ArgumentNullException.ThrowIfNull(item);
        PickleKeyComparer.EnsureHashable(item);
        if (!_members.Add(item))
        {
            return false;
        }
        _items.Add(item);
        return true;
    }

    public IEnumerator<PickleValue> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public override string Describe() => $"{(IsFrozen ? "frozenset" : "set")} of {_items.Count}";
}
