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

    /// <summary>
    /// The live value of a record's state. <paramref name="shared"/> says whether a value may occur twice (the
    /// record's <see cref="ZodbRecord.SharesContainers"/>): only then are converted values remembered, so that a shared
    /// value stays one live instance (OB-10); a record without sharing is converted without that bookkeeping.
    /// </summary>
    public object? StateToLive(Oid oid, string? className, PickleValue state, bool shared = true)
    {
        try
        {
            Dictionary<PickleValue, object?>? memo = shared ? new(ReferenceEqualityComparer.Instance) : null;
            return ToLive(state, memo, 0);
        }
        catch (Exception ex) when (ex is PickleException or FormatException or ArgumentException or InvalidCastException)
        {
            throw new ObjectStateException(oid, className, "its state cannot be converted: " + ex.Message, ex);
        }
    }

    private object? ToLive(PickleValue v, Dictionary<PickleValue, object?>? memo, int depth)
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
                return i.IsInt64 ? Box(i.Int64Value) : i.BigValue;
            case PickleFloat f:
                return f.Value;
            case PickleStr s:
                return s.Value;
        }
        if (memo is not null && memo.TryGetValue(v, out object? known))
        {
            return known ?? throw new FormatException("a tuple contains itself (a cycle through a tuple cannot be rebuilt)");
        }
        switch (v)
        {
            case PickleBytes b:
                {
                    byte[] bytes = b.Value.ToArray();
                    Remember(memo, v, bytes);
                    return bytes;
                }
            case PickleTuple t:
                {
                    Remember(memo, v, null);
                    var items = new object?[t.Count];
                    for (int k = 0; k < items.Length; k++)
                    {
                        items[k] = ToLive(t[k], memo, depth + 1);
                    }
                    PyTuple tuple = PyTuple.Own(items);
                    Remember(memo, v, tuple);
                    return tuple;
                }
            case PickleList l:
                {
                    var list = new List<object?>(l.Count);
                    Remember(memo, v, list);
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
                    Remember(memo, v, r);
                    return r;
                }
            default:
                // sets, globals, reduced objects, Python-2 byte strings: kept as read, written back as they are
                Remember(memo, v, v);
                return v;
        }
    }

    private object DictToLive(PickleDict d, Dictionary<PickleValue, object?>? memo, int depth)
    {
        if (HasOnlyTextKeys(d))
        {
            var sd = new OrderedDictionary<string, object?>(d.Count, StringComparer.Ordinal);
            Remember(memo, d, sd);
            foreach (KeyValuePair<PickleValue, PickleValue> kv in d)
            {
                string key = TextKey(kv.Key)!;
                // The state's own keys are attribute names: one instance per name for all objects, as Python's
                // persistent interns them in __setstate__. No other string of the state can be that instance, so
                // what is written back does not change (the writer shares by instance).
                sd[depth == 0 ? AttributeName(key) : key] = ToLive(kv.Value, memo, depth + 1);
            }
            return sd;
        }
        var od = new OrderedDictionary<object, object?>(d.Count, PythonValues.KeyEquality);
        Remember(memo, d, od);
        foreach (KeyValuePair<PickleValue, PickleValue> kv in d)
        {
            object key = TextKey(kv.Key) ?? ToLive(kv.Key, memo, depth + 1) ?? NoneKey.Instance;
            od[key] = ToLive(kv.Value, memo, depth + 1);
        }
        return od;
    }

    /// <summary>
    /// True when every key is text: a str, or a Python-2 str of ASCII bytes (spec/pickle.md PK-14; Python-3 ZODB's
    /// unpickler decodes those as ASCII, so a Python-2 database's attribute names and mapping keys are str).
    /// </summary>
    private static bool HasOnlyTextKeys(PickleDict d)
    {
        if (d.HasOnlyStrKeys)
        {
            return true;
        }
        foreach (KeyValuePair<PickleValue, PickleValue> kv in d)
        {
            if (TextKey(kv.Key) is null)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A dict key as text (OB-10): a str, or an ASCII Python-2 str; null for any other key.</summary>
    private static string? TextKey(PickleValue key) => key switch
    {
        PickleStr s => s.Value,
        PickleByteString b when b.TryGetAscii(out string text) => text,
        _ => null,
    };

    private static readonly object[] SmallIntegers = CreateSmallIntegers();

    private static object[] CreateSmallIntegers()
    {
        var boxes = new object[1024 + 128];
        for (int i = 0; i < boxes.Length; i++)
        {
            boxes[i] = (long)(i - 128);
        }
        return boxes;
    }

    /// <summary>A boxed long; one shared box per value in [-128, 1024) (integers are values: the writer never shares them).</summary>
    private static object Box(long value) =>
        (ulong)(value + 128) < (ulong)SmallIntegers.Length ? SmallIntegers[value + 128] : value;

    private static readonly string?[] AttributeNames = new string?[1024];

    /// <summary>One instance per attribute name, from a small direct-mapped table (bounded whatever names records hold).</summary>
    private static string AttributeName(string name)
    {
        if (name.Length > 64)
        {
            return name;
        }
        int slot = name.GetHashCode() & (AttributeNames.Length - 1);
        string? known = AttributeNames[slot];
        if (known is not null && string.Equals(known, name, StringComparison.Ordinal))
        {
            return known;
        }
        AttributeNames[slot] = name;
        return name;
    }

    private static void Remember(Dictionary<PickleValue, object?>? memo, PickleValue value, object? live)
    {
        if (memo is not null)
        {
            memo[value] = live;
        }
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
