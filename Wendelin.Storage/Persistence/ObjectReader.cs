using System.Numerics;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Persistence;

/// <summary>
/// Turns records into live states for a connection (spec/objects.md OB-10, OB-11): reads the two pickles with one
/// memo, converts pickle values to live values keeping shared instances shared, and resolves same-database strong
/// references to the connection's objects (ghosts of the hinted class when not cached).
/// </summary>
internal sealed class ObjectReader(Connection connection)
{
    public ZodbRecord ReadRecord(Oid oid, ReadOnlyMemory<byte> data)
    {
        try
        {
            return ZodbPickle.ReadRecord(data);
        }
        catch (PickleException ex)
        {
            throw new ObjectStateException(oid, null, "the record is not a valid ZODB pickle pair: " + ex.Message, ex);
        }
    }

    public object? StateToLive(Oid oid, string? className, PickleValue state)
    {
        try
        {
            var memo = new Dictionary<PickleValue, object?>(ReferenceEqualityComparer.Instance);
            return ToLive(state, memo, 0);
        }
        catch (Exception ex) when (ex is PickleException or FormatException or ArgumentException or InvalidCastException)
        {
            throw new ObjectStateException(oid, className, "its state cannot be converted: " + ex.Message, ex);
        }
    }

    private object? ToLive(PickleValue v, Dictionary<PickleValue, object?> memo, int depth)
    {
        if (depth > PickleValue.MaxDepth)
        {
            throw new FormatException($"state nested deeper than {PickleValue.MaxDepth}");
        }
        switch (v)
        {
            case PickleNone:
                return null;
            case PickleBool b:
                return b.Value;
            case PickleInt i:
                return i.IsInt64 ? (object)i.Int64Value : i.BigValue;
            case PickleFloat f:
                return f.Value;
            case PickleStr s:
                return s.Value;
        }
        if (memo.TryGetValue(v, out object? known))
        {
            return known ?? throw new FormatException("a tuple contains itself (a cycle through a tuple cannot be rebuilt)");
        }
        switch (v)
        {
            case PickleBytes b:
                {
                    byte[] bytes = b.Value.ToArray();
                    memo[v] = bytes;
                    return bytes;
                }
            case PickleTuple t:
                {
                    memo[v] = null;
                    var items = new object?[t.Count];
                    for (int k = 0; k < items.Length; k++)
                    {
                        items[k] = ToLive(t[k], memo, depth + 1);
                    }
                    PyTuple tuple = PyTuple.Own(items);
                    memo[v] = tuple;
                    return tuple;
                }
            case PickleList l:
                {
                    var list = new List<object?>(l.Count);
                    memo[v] = list;
                    foreach (PickleValue item in l)
                    {
                        list.Add(ToLive(item, memo, depth + 1));
                    }
                    return list;
                }
            case PickleDict d:
                return DictToLive(d, memo, depth);
            case PicklePersistentId pid:
                {
                    object r = ResolveReference(pid);
                    memo[v] = r;
                    return r;
                }
            default:
                // sets, globals, reduced objects, Python-2 byte strings: kept as read, written back as they are
                memo[v] = v;
                return v;
        }
    }

    private object DictToLive(PickleDict d, Dictionary<PickleValue, object?> memo, int depth)
    {
        if (d.HasOnlyStrKeys)
        {
            var sd = new OrderedDictionary<string, object?>(d.Count, StringComparer.Ordinal);
            memo[d] = sd;
            foreach (KeyValuePair<PickleValue, PickleValue> kv in d)
            {
                sd[((PickleStr)kv.Key).Value] = ToLive(kv.Value, memo, depth + 1);
            }
            return sd;
        }
        var od = new OrderedDictionary<object, object?>(d.Count, PythonValues.KeyEquality);
        memo[d] = od;
        foreach (KeyValuePair<PickleValue, PickleValue> kv in d)
        {
            object key = ToLive(kv.Key, memo, depth + 1) ?? NoneKey.Instance;
            od[key] = ToLive(kv.Value, memo, depth + 1);
        }
        return od;
    }

    private object ResolveReference(PicklePersistentId pid)
    {
        PersistentReference r = pid.Reference;
        if (!r.IsStrongSameDatabase)
        {
            return pid;
        }
        string? module = null, name = null;
        switch (r.ClassHint)
        {
            case PickleGlobal g:
                module = g.Module;
                name = g.Name;
                break;
            case PickleTuple { Count: 2 } t when t[0].TryGetString(out string m) && t[1].TryGetString(out string n):
                module = m;
                name = n;
                break;
        }
        return connection.Referenced(r.Oid, module, name);
    }
}

/// <summary>Python's <c>None</c> used as a dict key (live dictionaries cannot hold a null key).</summary>
public sealed class NoneKey
{
    private NoneKey()
    {
    }

    public static NoneKey Instance { get; } = new();

    public override string ToString() => "None";
}
