using System.Collections;
using System.Numerics;

namespace Wendelin.Storage.Persistence;

/// <summary>
/// The live value model (spec/objects.md OB-10): what states, <see cref="PersistentMapping"/> values, list items
/// and BTree keys and values hold in C#. Python None/bool/int/float/str/bytes are null, bool, long (BigInteger
/// beyond 64 bits), double, string, byte[]; tuple is <see cref="PyTuple"/>, list is <c>List&lt;object?&gt;</c>,
/// dict is <c>OrderedDictionary&lt;string, object?&gt;</c> when every key is a str and
/// <c>OrderedDictionary&lt;object, object?&gt;</c> (Python key equality) otherwise; a persistent reference is the
/// <see cref="Persistent"/> object. Anything else (sets, globals, reduced objects, Python-2 byte strings, weak or
/// cross-database references) stays the pickle value the reader produced and is written back as it was.
/// </summary>
public static partial class LiveValues
{
    /// <summary>Converts a live value to <typeparamref name="T"/> with Python's widening (int → float) and checked narrowing.</summary>
    public static T Convert<T>(object? value, string what)
    {
        if (value is T t)
        {
            return t;
        }
        Type target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        if (value is null)
        {
            if (!typeof(T).IsValueType || Nullable.GetUnderlyingType(typeof(T)) is not null)
            {
                return default!;
            }
            throw new InvalidCastException($"{what} is None, not {target.Name}");
        }
        try
        {
            if (target == typeof(int) && value is long l)
            {
                return (T)(object)checked((int)l);
            }
            if (target == typeof(long) && value is int i)
            {
                return (T)(object)(long)i;
            }
            if (target == typeof(double) && value is long or int or BigInteger)
            {
                return (T)(object)(double)PythonValues.ToBig(value);
            }
            if (target == typeof(BigInteger) && value is long or int)
            {
                return (T)(object)PythonValues.ToBig(value);
            }
            if (target == typeof(long) && value is BigInteger big)
            {
                return (T)(object)(long)big;
            }
        }
        catch (OverflowException ex)
        {
            throw new InvalidCastException($"{what} = {PythonValues.Repr(value)} does not fit {target.Name}", ex);
        }
        throw new InvalidCastException($"{what} is a {PythonValues.TypeName(value)} ({value.GetType().Name}), not {target.Name}");
    }

    /// <summary>Normalizes a value a C# caller passes (int → long, small BigInteger → long, float → double, ReadOnlyMemory → byte[]).</summary>
    public static object? Normalize(object? value) => value switch
    {
        null or string or long or double or bool or byte[] => value,
        int i => (long)i,
        short s => (long)s,
        sbyte sb => (long)sb,
        byte b => (long)b,
        ushort us => (long)us,
        uint ui => (long)ui,
        ulong ul => ul <= long.MaxValue ? (long)ul : new BigInteger(ul),
        BigInteger big => big >= long.MinValue && big <= long.MaxValue ? (long)big : big,
        float f => (double)f,
        ReadOnlyMemory<byte> m => m.ToArray(),
        Memory<byte> m => m.ToArray(),
        _ => value,
    };

    /// <summary>The entries of any dictionary value (generic or not) with object keys.</summary>
    internal static List<KeyValuePair<object, object?>> DictionaryEntries(object dictionary)
    {
        var list = new List<KeyValuePair<object, object?>>();
        switch (dictionary)
        {
            case IEnumerable<KeyValuePair<string, object?>> sd:
                foreach (KeyValuePair<string, object?> kv in sd)
                {
                    list.Add(new(kv.Key, kv.Value));
                }
                return list;
            case IEnumerable<KeyValuePair<object, object?>> od:
                list.AddRange(od);
                return list;
            case IDictionary d:
                foreach (DictionaryEntry e in d)
                {
                    list.Add(new(e.Key, e.Value));
                }
                return list;
        }
        // any other IDictionary<K, V>: read each boxed KeyValuePair<K, V> through reflection (rare; not a hot path)
        foreach (object? item in (IEnumerable)dictionary)
        {
            if (item is null)
            {
                continue;
            }
            Type t = item.GetType();
            object key = t.GetProperty("Key")!.GetValue(item)!;
            object? val = t.GetProperty("Value")!.GetValue(item);
            list.Add(new(key, val));
        }
        return list;
    }
}
