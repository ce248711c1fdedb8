using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Wendelin.Storage.Persistence;

/// <summary>
/// Python's <c>persistent.mapping.PersistentMapping</c> (spec/objects.md OB-8): a persistent dictionary in
/// insertion order with Python key equality. Its state is <c>{'data': {key: value, ...}}</c> (records written
/// before ZODB 3.9 used <c>_container</c>; both load). The database root is one.
/// </summary>
public sealed class PersistentMapping : Persistent, IDictionary<object, object?>, IReadOnlyDictionary<object, object?>
{
    private OrderedDictionary<object, object?> _data = new(PythonValues.KeyEquality);
    private OrderedDictionary<string, object?>? _extra;

    public PersistentMapping()
    {
    }

    public object? this[object key]
    {
        get
        {
            ReadAccess();
            return _data.TryGetValue(LiveValues.Normalize(key)!, out object? v) ? v : throw new KeyNotFoundException($"key {PythonValues.Repr(key)} is not in the mapping");
        }
        set
        {
            WriteAccess();
            _data[LiveValues.Normalize(key)!] = value;
        }
    }

    public int Count
    {
        get
        {
            ReadAccess();
            return _data.Count;
        }
    }

    public ICollection<object> Keys
    {
        get
        {
            ReadAccess();
            return [.. _data.Keys];
        }
    }

    public ICollection<object?> Values
    {
        get
        {
            ReadAccess();
            return [.. _data.Values];
        }
    }

    IEnumerable<object> IReadOnlyDictionary<object, object?>.Keys => Keys;

    IEnumerable<object?> IReadOnlyDictionary<object, object?>.Values => Values;

    bool ICollection<KeyValuePair<object, object?>>.IsReadOnly => false;

    /// <summary>The value under <paramref name="key"/> converted to <typeparamref name="T"/> (Python int → long/int, etc.).</summary>
    public T Get<T>(object key) => LiveValues.Convert<T>(this[key], $"[{PythonValues.Repr(key)}]");

    public void Add(object key, object? value)
    {
        WriteAccess();
        _data.Add(LiveValues.Normalize(key)!, value);
    }

    public bool ContainsKey(object key)
    {
        ReadAccess();
        return _data.ContainsKey(LiveValues.Normalize(key)!);
    }

    public bool TryGetValue(object key, [MaybeNullWhen(false)] out object? value)
    {
        ReadAccess();
        return _data.TryGetValue(LiveValues.Normalize(key)!, out value);
    }

    public bool Remove(object key)
    {
        ReadAccess();
        object k = LiveValues.Normalize(key)!;
        if (!_data.ContainsKey(k))
        {
            return false;
        }
        WriteAccess();
        return _data.Remove(k);
    }

    public void Clear()
    {
        WriteAccess();
        _data.Clear();
    }

    void ICollection<KeyValuePair<object, object?>>.Add(KeyValuePair<object, object?> item) => Add(item.Key, item.Value);

    bool ICollection<KeyValuePair<object, object?>>.Contains(KeyValuePair<object, object?> item) =>
        TryGetValue(item.Key, out object? v) && PythonValues.Equal(v, item.Value);

    bool ICollection<KeyValuePair<object, object?>>.Remove(KeyValuePair<object, object?> item) =>
        ((ICollection<KeyValuePair<object, object?>>)this).Contains(item) && Remove(item.Key);

    public void CopyTo(KeyValuePair<object, object?>[] array, int arrayIndex)
    {
        ReadAccess();
        ((ICollection<KeyValuePair<object, object?>>)_data).CopyTo(array, arrayIndex);
    }

    public IEnumerator<KeyValuePair<object, object?>> GetEnumerator()
    {
        ReadAccess();
        return _data.GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    protected override object? GetState()
    {
        var state = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        if (_extra is null)
        {
            state["data"] = _data;
            return state;
        }
        foreach (KeyValuePair<string, object?> kv in _extra)
        {
            state[kv.Key] = kv.Key == "data" ? _data : kv.Value;
        }
        return state;
    }

    protected override void SetState(object? state)
    {
        if (state is not IEnumerable<KeyValuePair<string, object?>> dict)
        {
            throw new FormatException($"a PersistentMapping state is a dict with 'data', got {PythonValues.Repr(state)}");
        }
        var data = new OrderedDictionary<object, object?>(PythonValues.KeyEquality);
        OrderedDictionary<string, object?>? extra = null;
        bool found = false;
        int n = 0;
        foreach (KeyValuePair<string, object?> kv in dict)
        {
            n++;
            string key = kv.Key;
            if (key is "data" or "_container")
            {
                if (kv.Value is null || !PythonValues.IsDictionaryValue(kv.Value))
                {
                    throw new FormatException($"PersistentMapping '{key}' is not a dict");
                }
                foreach (KeyValuePair<object, object?> e in LiveValues.DictionaryEntries(kv.Value))
                {
                    data[e.Key] = e.Value;
                }
                found = true;
                key = "data";
            }
            (extra ??= new(StringComparer.Ordinal))[key] = kv.Value;
        }
        if (!found)
        {
            throw new FormatException("a PersistentMapping state has no 'data'");
        }
        _data = data;
        _extra = n == 1 ? null : extra;
    }

    protected override void ClearState()
    {
        _data = new OrderedDictionary<object, object?>(PythonValues.KeyEquality);
        _extra = null;
    }
}
