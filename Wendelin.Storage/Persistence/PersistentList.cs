using System.Collections;

namespace Wendelin.Storage.Persistence;

/// <summary>Python's <c>persistent.list.PersistentList</c> (spec/objects.md OB-8): a persistent list; its state is <c>{'data': [...]}</c>.</summary>
public sealed class PersistentList : Persistent, IList<object?>, IReadOnlyList<object?>
{
    private List<object?> _data = [];
    private OrderedDictionary<string, object?>? _extra;

    public PersistentList()
    {
    }

    public PersistentList(IEnumerable<object?> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        _data.AddRange(items);
    }

    public object? this[int index]
    {
        get
        {
            ReadAccess();
            return _data[index];
        }
        set
        {
            WriteAccess();
            _data[index] = value;
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

    bool ICollection<object?>.IsReadOnly => false;

    public void Add(object? item)
    {
        WriteAccess();
        _data.Add(item);
    }

    public void Insert(int index, object? item)
    {
        WriteAccess();
        _data.Insert(index, item);
    }

    public void RemoveAt(int index)
    {
        WriteAccess();
        _data.RemoveAt(index);
    }

    public bool Remove(object? item)
    {
        int i = IndexOf(item);
        if (i < 0)
        {
            return false;
        }
        RemoveAt(i);
        return true;
    }

    public void Clear()
    {
        WriteAccess();
        _data.Clear();
    }

    public int IndexOf(object? item)
    {
        ReadAccess();
        for (int i = 0; i < _data.Count; i++)
        {
            if (PythonValues.Equal(_data[i], item))
            {
                return i;
            }
        }
        return -1;
    }

    public bool Contains(object? item) => IndexOf(item) >= 0;

    public void CopyTo(object?[] array, int arrayIndex)
    {
        ReadAccess();
        _data.CopyTo(array, arrayIndex);
    }

    public IEnumerator<object?> GetEnumerator()
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
            throw new FormatException($"a PersistentList state is a dict with 'data', got {PythonValues.Repr(state)}");
        }
        List<object?>? data = null;
        var extra = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> kv in dict)
        {
            if (kv.Key == "data")
            {
                data = kv.Value as List<object?> ?? throw new FormatException("PersistentList 'data' is not a list");
            }
            extra[kv.Key] = kv.Value;
        }
        _data = data ?? throw new FormatException("a PersistentList state has no 'data'");
        _extra = extra.Count == 1 ? null : extra;
    }

    protected override void ClearState()
    {
        _data = [];
        _extra = null;
    }
}
