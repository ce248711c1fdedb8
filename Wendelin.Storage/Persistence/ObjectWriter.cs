using System.Collections;
using System.Numerics;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Persistence;

/// <summary>
/// Turns objects into records as ZODB's <c>ObjectWriter</c> does (spec/objects.md OB-11, OB-12, OB-33): class
/// part then state, one pickler memo across both; persistent objects inside the state become references
/// <c>(oid, class)</c> (a bare oid when the class has new-args); a new object met on the way gets an oid and goes
/// on the writer's stack, which <see cref="TryPop"/> empties last-in first-out, as Python's does. Shared live
/// instances (strings, lists, tuples, …) become shared pickle values, so the pickler emits memo references
/// where Python would.
/// </summary>
internal sealed class ObjectWriter
{
    private readonly Connection? _connection;
    private readonly bool _addNewObjects;
    private readonly List<Persistent> _stack = [];

    /// <param name="connection">The connection storing.</param>
    /// <param name="start">The object to store first (pushed on the stack).</param>
    /// <param name="addNewObjects">For savepoints: new objects found are added to the connection (registered) instead of stacked.</param>
    public ObjectWriter(Connection? connection, Persistent? start, bool addNewObjects)
    {
        _connection = connection;
        _addNewObjects = addNewObjects;
        if (start is not null)
        {
            _stack.Add(start);
        }
    }

    public bool TryPop([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Persistent? obj)
    {
        if (_stack.Count == 0)
        {
            obj = null;
            return false;
        }
        obj = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return true;
    }

    /// <summary>The record of <paramref name="obj"/>: class metadata pickle then state pickle.</summary>
    public byte[] Serialize(Persistent obj)
    {
        (PickleValue classMetadata, PickleValue pickledState) = ToRecord(obj);
        return ZodbPickle.WriteRecord(classMetadata, pickledState);
    }

    /// <summary>Appends the record of <paramref name="obj"/> to <paramref name="output"/>.</summary>
    public void Serialize(Persistent obj, System.Buffers.IBufferWriter<byte> output)
    {
        (PickleValue classMetadata, PickleValue pickledState) = ToRecord(obj);
        _ = output.GetSpan(PickleWriter.SizeHint(pickledState) + 256); // room for a block payload at once, not by doubling
        ZodbPickle.WriteRecord(output, classMetadata, pickledState);
    }

    /// <summary>
    /// Appends the record of <paramref name="obj"/> to <paramref name="output"/> without its first bytes payload of at
    /// least <paramref name="deferFrom"/> bytes (PK-39a): the record is the output with <paramref name="payload"/>
    /// inserted at <paramref name="at"/>, or the output alone when <paramref name="at"/> is -1.
    /// </summary>
    public void Serialize(Persistent obj, System.Buffers.IBufferWriter<byte> output, int deferFrom, out long at, out ReadOnlyMemory<byte> payload)
    {
        (PickleValue classMetadata, PickleValue pickledState) = ToRecord(obj);
        ZodbPickle.WriteRecord(output, classMetadata, pickledState, deferFrom, out at, out payload);
    }

    private (PickleValue ClassMetadata, PickleValue State) ToRecord(Persistent obj)
    {
        PickleValue classMetadata = _connection!.ClassMetadataOf(obj);
        object? state = obj.StateForWrite();
        var memo = new IdentityMap<object, PickleValue>();
        PickleValue pickledState;
        try
        {
            pickledState = ToPickle(state, memo, 0);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"cannot store {obj}: {ex.Message}", ex);
        }
        return (classMetadata, pickledState);
    }

    private PickleValue ToPickle(object? v, IdentityMap<object, PickleValue> memo, int depth)
    {
        if (depth > PickleValue.MaxDepth)
        {
            throw new ArgumentException($"value nested deeper than {PickleValue.MaxDepth}");
        }
        switch (v)
        {
            case null:
                return PickleValue.None;
            case bool b:
                return PickleValue.FromBoolean(b);
            case long l:
                return PickleInt.Of(l);
            case int i:
                return PickleInt.Of(i);
            case double d:
                return new PickleFloat(d);
            case PickleValue raw:
                return raw;
            case Persistent p:
                return PersistentId(p);
            case NoneKey:
                return PickleValue.None;
        }
        if (memo.TryGetValue(v, out PickleValue? known))
        {
            return known;
        }
        PickleValue result;
        switch (v)
        {
            case string s:
                result = new PickleStr(s);
                break;
            case byte[] bytes:
                result = new PickleBytes(bytes);
                break;
            case PyTuple t:
                {
                    var items = new PickleValue[t.Count];
                    for (int k = 0; k < items.Length; k++)
                    {
                        items[k] = ToPickle(t[k], memo, depth + 1);
                    }
                    if (memo.TryGetValue(v, out known))
                    {
                        return known;
                    }
                    result = new PickleTuple(items);
                    break;
                }
            case IDictionary or IEnumerable<KeyValuePair<string, object?>> or IEnumerable<KeyValuePair<object, object?>>:
                {
                    var dict = new PickleDict();
                    memo[v] = dict;
                    foreach (KeyValuePair<object, object?> kv in LiveValues.DictionaryEntries(v))
                    {
                        dict.Set(ToPickle(kv.Key, memo, depth + 1), ToPickle(kv.Value, memo, depth + 1));
                    }
                    return dict;
                }
            case IList list when v is not Array || v.GetType() == typeof(object[]):
                {
                    var pl = new PickleList();
                    memo[v] = pl;
                    foreach (object? item in list)
                    {
                        pl.Add(ToPickle(item, memo, depth + 1));
                    }
                    return pl;
                }
            default:
                object? n = LiveValues.Normalize(v);
                if (n is long nl)
                {
                    return PickleInt.Of(nl);
                }
                if (n is BigInteger big)
                {
                    return PickleInt.Of(big);
                }
                if (n is double nd)
                {
                    return new PickleFloat(nd);
                }
                if (n is byte[] nb)
                {
                    return new PickleBytes(nb);
                }
                throw new ArgumentException($"a {v.GetType().Name} cannot be stored (not a live value: see spec/objects.md OB-10)");
        }
        memo[v] = result;
        return result;
    }

    /// <summary>ZODB's <c>persistent_id</c>: the reference to <paramref name="obj"/>, adding it when new.</summary>
    private PickleValue PersistentId(Persistent obj)
    {
        if (_connection is null)
        {
            throw new ArgumentException($"{obj} is a persistent object; it cannot be stored here");
        }
        if (obj._jar is null && _inspectOnly)
        {
            throw new ArgumentException($"{obj} is not stored yet");
        }
        if (obj._jar is null)
        {
            _connection.AddImplicitly(obj, register: _addNewObjects);
            if (!_addNewObjects)
            {
                _stack.Add(obj);
            }
        }
        else if (!ReferenceEquals(obj._jar, _connection))
        {
            throw new InvalidObjectReferenceException(
                $"{obj} belongs to another connection; a state may only refer to objects of its own connection");
        }
        var oid = obj._pidOid as PickleBytes;
        if (oid is null)
        {
            oid = new PickleBytes(obj._oid.ToBytes());
            obj._pidOid = oid;
        }
        if (obj.NewArgsDefined)
        {
            return new PicklePersistentId(oid);
        }
        PickleValue cls = obj is GenericPersistent g ? new PickleGlobal(g.Module, g.Name) : _connection.Types.ClassOf(obj.GetType()).Global;
        return new PicklePersistentId(new PickleTuple(oid, cls));
    }

    /// <summary>
    /// The state of a loaded object as the pickle value it would be written as (references as persistent ids):
    /// for inspection and dumps. New objects it refers to are not added.
    /// </summary>
    public static PickleValue StateAsPickle(Connection connection, Persistent obj)
    {
        obj.Activate();
        var w = new ObjectWriter(connection, null, addNewObjects: false) { _inspectOnly = true };
        return w.ToPickle(obj.StateForWrite(), new IdentityMap<object, PickleValue>(), 0);
    }

    private bool _inspectOnly;

    /// <summary>A live value with no persistent objects in it, as a pickle value (new-args, extension values).</summary>
    public static PickleValue ToPickleStandalone(object? value)
    {
        var w = new ObjectWriter(null, null, addNewObjects: false);
        return w.ToPickle(value, new IdentityMap<object, PickleValue>(), 0);
    }

    /// <summary>The transaction extension as stored: nothing for an empty dict, else one protocol-3 pickle of it.</summary>
    public static ReadOnlyMemory<byte> ExtensionBytes(OrderedDictionary<string, object?> extension)
    {
        if (extension.Count == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }
        var dict = (PickleDict)ToPickleStandalone(extension);
        return ZodbPickle.WriteExtension(dict);
    }
}
