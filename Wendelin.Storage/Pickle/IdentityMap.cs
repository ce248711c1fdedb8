using System.Diagnostics.CodeAnalysis;

namespace Wendelin.Storage.Pickle;

/// <summary>
/// A map keyed by instance identity, for the memos of the pickler (value → memo index, PK-11, PK-32) and of the
/// object writer (live value → pickle value, OB-10). A record holds a handful of shared values, so the first
/// <see cref="LinearLimit"/> are kept in two small arrays and found by comparing references, with no hashing and no
/// hash table; past that a dictionary keyed by identity takes over.
/// </summary>
internal sealed class IdentityMap<TKey, TValue>
    where TKey : class
{
    private const int LinearLimit = 16;

    private TKey?[]? _keys;
    private TValue[]? _values;
    private int _linear;
    private Dictionary<TKey, TValue>? _map;

    public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        TKey?[]? keys = _keys;
        for (int i = 0; i < _linear; i++)
        {
            if (ReferenceEquals(keys![i], key))
            {
                value = _values![i];
                return true;
            }
        }
        if (_map is not null)
        {
            return _map.TryGetValue(key, out value);
        }
        value = default;
        return false;
    }

    public bool ContainsKey(TKey key) => TryGetValue(key, out _);

    public TValue this[TKey key]
    {
        get => TryGetValue(key, out TValue? v) ? v : throw new KeyNotFoundException("value not in the memo");
        set => Set(key, value);
    }

    /// <summary>Sets the value of <paramref name="key"/> (a new entry, or a new value for one already there).</summary>
    public void Set(TKey key, TValue value)
    {
        for (int i = 0; i < _linear; i++)
        {
            if (ReferenceEquals(_keys![i], key))
            {
                _values![i] = value;
                return;
            }
        }
        if (_map is null && _linear < LinearLimit)
        {
            if (_keys is null || _linear == _keys.Length)
            {
                Array.Resize(ref _keys, _linear == 0 ? 8 : LinearLimit);
                Array.Resize(ref _values, _keys.Length);
            }
            _keys[_linear] = key;
            _values![_linear++] = value;
            return;
        }
        (_map ??= new Dictionary<TKey, TValue>(ReferenceEqualityComparer.Instance))[key] = value;
    }

    public void Clear()
    {
        if (_keys is not null)
        {
            Array.Clear(_keys, 0, _linear);
        }
        _linear = 0;
        _map = null;
    }
}
