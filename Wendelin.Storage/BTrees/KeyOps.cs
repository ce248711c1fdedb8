using System.Numerics;
using System.Runtime.CompilerServices;
using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.BTrees;

/// <summary>Placeholder value type of the set classes (OOSet, IOTreeSet, ...): sets hold keys only.</summary>
public readonly struct NoValue : IEquatable<NoValue>
{
    public bool Equals(NoValue other) => true;

    public override bool Equals(object? obj) => obj is NoValue;

    public override int GetHashCode() => 0;

    public static bool operator ==(NoValue left, NoValue right) => true;

    public static bool operator !=(NoValue left, NoValue right) => false;
}

/// <summary>
/// Key and value handling of the BTree families (spec/objects.md OB-41), specialised by the JIT per type: 32-bit
/// keys/values for the I families, 64-bit for L, live values with Python ordering for O.
/// </summary>
internal static class KeyOps<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Compare(T a, T b)
    {
        if (typeof(T) == typeof(int))
        {
            return ((int)(object)a!).CompareTo((int)(object)b!);
        }
        if (typeof(T) == typeof(long))
        {
            return ((long)(object)a!).CompareTo((long)(object)b!);
        }
        return PythonValues.Compare(a, b);
    }

    /// <summary>Python BTrees' VALUE_SAME: replacing an int value by an equal one is not a change; object values always are.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool SameValue(T a, T b)
    {
        if (typeof(T) == typeof(int))
        {
            return (int)(object)a! == (int)(object)b!;
        }
        if (typeof(T) == typeof(long))
        {
            return (long)(object)a! == (long)(object)b!;
        }
        return typeof(T) == typeof(NoValue);
    }

    /// <summary>The live value stored in a state tuple (ints as long, like every Python int in the live model).</summary>
    public static object? ToLive(T value)
    {
        if (typeof(T) == typeof(int))
        {
            return (long)(int)(object)value!;
        }
        return value;
    }

    /// <summary>Checks (and, for object keys, normalizes) a key or value a caller passed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Check(T value, bool isKey)
    {
        if (typeof(T) == typeof(int) || typeof(T) == typeof(long) || typeof(T) == typeof(NoValue))
        {
            return value;
        }
        return FromLive(value, isKey);
    }

    /// <summary>Converts a live value to a key or value of this type; <see cref="ArgumentException"/> when it does not fit (Python TypeError/OverflowError).</summary>
    public static T FromLive(object? value, bool isKey)
    {
        if (typeof(T) == typeof(int))
        {
            return (T)(object)ToInt32(value);
        }
        if (typeof(T) == typeof(long))
        {
            return (T)(object)ToInt64(value);
        }
        object? v = LiveValues.Normalize(value);
        if (isKey)
        {
            v = Python2Key(v);
            CheckOrderable(v, 0);
        }
        return (T)v!;
    }

    /// <summary>
    /// A Python-2 str key as Python-3 ZODB reads it (spec/pickle.md PK-14, objects.md OB-41): ASCII → str, other bytes →
    /// bytes, so that a Python-2 OO tree's keys order and compare as in Python 3.
    /// </summary>
    private static object? Python2Key(object? v)
    {
        switch (v)
        {
            case Pickle.PickleByteString b:
                return b.TryGetAscii(out string text) ? text : b.Value.ToArray();
            case PyTuple t:
                // tuple keys hold such strings too (('a', 1)); the tuple is rebuilt only when one does
                object?[]? items = null;
                for (int i = 0; i < t.Count; i++)
                {
                    object? item = t[i] is Pickle.PickleByteString or PyTuple ? Python2Key(t[i]) : t[i];
                    if (!ReferenceEquals(item, t[i]))
                    {
                        items ??= [.. t];
                        items[i] = item;
                    }
                }
                return items is null ? t : PyTuple.Own(items);
            default:
                return v;
        }
    }

    private static int ToInt32(object? value)
    {
        long l = ToInt64(value);
        if (l is < int.MinValue or > int.MaxValue)
        {
            throw new ArgumentException($"{l} does not fit a 32-bit BTree integer (Python OverflowError)");
        }
        return (int)l;
    }

    private static long ToInt64(object? value) => LiveValues.Normalize(value) switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        BigInteger big => throw new ArgumentException($"{big} does not fit a 64-bit BTree integer (Python OverflowError)"),
        var other => throw new ArgumentException($"expected an integer, got {PythonValues.TypeName(other)} (Python TypeError)"),
    };

    /// <summary>Object keys must have a total order: str, int, float, bytes, or tuples of these (BTrees refuses default comparison).</summary>
    private static void CheckOrderable(object? v, int depth)
    {
        switch (v)
        {
            case double d when double.IsNaN(d):
                throw new ArgumentException("NaN cannot be a BTree key");
            case string or long or BigInteger or double or bool or byte[]:
                return;
            case PyTuple t when depth < 100:
                foreach (object? item in t)
                {
                    CheckOrderable(item, depth + 1);
                }
                return;
            default:
                throw new ArgumentException(
                    $"a {PythonValues.TypeName(v)} cannot be a BTree key: it has no order (BTrees: 'Object has default comparison')");
        }
    }
}
