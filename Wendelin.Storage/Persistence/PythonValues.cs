using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Wendelin.Storage.Persistence;

/// <summary>
/// Python's equality, hashing and ordering over live values (spec/objects.md OB-10, OB-41): numbers compare
/// across int/float/bool by value, <c>str</c> by code point (not by UTF-16 unit), <c>bytes</c> by unsigned byte,
/// tuples element by element. Values Python cannot order against each other (a str and an int, None, objects
/// without ordering) are refused with <see cref="ArgumentException"/>, as Python 3 raises <c>TypeError</c>.
/// </summary>
public static class PythonValues
{
    /// <summary>An <see cref="IComparer{T}"/> with Python's ordering (for OO/OI/OL BTree keys).</summary>
    public static IComparer<object> Ordering { get; } = new OrderingComparer();

    /// <summary>An <see cref="IEqualityComparer{T}"/> with Python's dict-key equality.</summary>
    public static IEqualityComparer<object> KeyEquality { get; } = new KeyEqualityComparer();

    /// <summary>Python's <c>a &lt; b</c> / <c>==</c> / <c>&gt;</c> as -1/0/1.</summary>
    public static int Compare(object? a, object? b)
    {
        if (a is string sa && b is string sb)
        {
            return CompareCodePoints(sa, sb);
        }
        if (a is long la && b is long lb)
        {
            return la.CompareTo(lb);
        }
        if (IsNumber(a) && IsNumber(b))
        {
            return CompareNumbers(a!, b!);
        }
        switch (a)
        {
            case byte[] ba when b is byte[] bb:
                return Math.Sign(ba.AsSpan().SequenceCompareTo(bb));
            case PyTuple ta when b is PyTuple tb:
                return CompareSequences(ta.AsSpan(), tb.AsSpan());
            case null:
                throw new ArgumentException("None cannot be ordered against other values (Python 3 TypeError)");
        }
        throw new ArgumentException(
            $"'<' not supported between {TypeName(a)} and {TypeName(b)} (Python 3 TypeError)");
    }

    /// <summary>Compares two strings by Unicode code point, as Python does (lone surrogates count as code points).</summary>
    public static int CompareCodePoints(string a, string b)
    {
        int i = a.AsSpan().CommonPrefixLength(b);
        if (i == a.Length || i == b.Length)
        {
            return a.Length.CompareTo(b.Length);
        }
        char ca = a[i], cb = b[i];
        if (!char.IsSurrogate(ca) && !char.IsSurrogate(cb))
        {
            return ca < cb ? -1 : 1;
        }
        // start of the code point the difference lies in (a shared high surrogate just before it)
        if (i > 0 && char.IsHighSurrogate(a[i - 1]))
        {
            i--;
        }
        int pa = CodePointAt(a, i), pb = CodePointAt(b, i);
        return pa < pb ? -1 : pa > pb ? 1 : 0;
    }

    private static int CodePointAt(string s, int i)
    {
        char c = s[i];
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            return char.ConvertToUtf32(c, s[i + 1]);
        }
        return c;
    }

    private static int CompareSequences(ReadOnlySpan<object?> a, ReadOnlySpan<object?> b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            if (!Equal(a[i], b[i]))
            {
                return Compare(a[i], b[i]);
            }
        }
        return a.Length.CompareTo(b.Length);
    }

    internal static bool IsNumber(object? v) => v is long or int or bool or BigInteger or double or float or short or sbyte or byte or ushort or uint or ulong;

    private static int CompareNumbers(object a, object b)
    {
        bool fa = a is double or float, fb = b is double or float;
        if (!fa && !fb)
        {
            return ToBig(a).CompareTo(ToBig(b));
        }
        if (fa && fb)
        {
            double x = Convert.ToDouble(a, CultureInfo.InvariantCulture), y = Convert.ToDouble(b, CultureInfo.InvariantCulture);
            RefuseNaN(x);
            RefuseNaN(y);
            return x.CompareTo(y);
        }
        return fa ? -CompareIntDouble(ToBig(b), Convert.ToDouble(a, CultureInfo.InvariantCulture))
                  : CompareIntDouble(ToBig(a), Convert.ToDouble(b, CultureInfo.InvariantCulture));
    }

    private static void RefuseNaN(double d)
    {
        if (double.IsNaN(d))
        {
            throw new ArgumentException("NaN has no order (Python comparisons with NaN are all false)");
        }
    }

    /// <summary>Exact comparison of an integer with a double (no rounding of the integer).</summary>
    private static int CompareIntDouble(BigInteger i, double d)
    {
        RefuseNaN(d);
        if (double.IsPositiveInfinity(d))
        {
            return -1;
        }
        if (double.IsNegativeInfinity(d))
        {
            return 1;
        }
        double f = Math.Floor(d);
        int c = i.CompareTo(new BigInteger(f));
        if (c != 0)
        {
            return c;
        }
        return d > f ? -1 : 0;
    }

    internal static BigInteger ToBig(object v) => v switch
    {
        long l => l,
        int i => i,
        bool b => b ? 1 : 0,
        BigInteger big => big,
        short s => s,
        sbyte sb => sb,
        byte by => by,
        ushort us => us,
        uint ui => ui,
        ulong ul => ul,
        _ => throw new ArgumentException($"not an integer: {TypeName(v)}"),
    };

    /// <summary>Python's <c>==</c> over live values (numbers across types, containers by content, other objects by identity).</summary>
    public static bool Equal(object? a, object? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }
        if (a is null || b is null)
        {
            return false;
        }
        if (a is string sa)
        {
            return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
        }
        if (IsNumber(a))
        {
            if (!IsNumber(b))
            {
                return false;
            }
            if (a is double da && double.IsNaN(da) || b is double db && double.IsNaN(db))
            {
                return false;
            }
            return CompareNumbers(a, b) == 0;
        }
        switch (a)
        {
            case byte[] ba:
                return b is byte[] bb && ba.AsSpan().SequenceEqual(bb);
            case PyTuple ta:
                if (b is not PyTuple tb || ta.Count != tb.Count)
                {
                    return false;
                }
                for (int i = 0; i < ta.Count; i++)
                {
                    if (!Equal(ta[i], tb[i]))
                    {
                        return false;
                    }
                }
                return true;
            case IList la when a is not Array:
                if (b is not IList lb || b is Array || la.Count != lb.Count)
                {
                    return false;
                }
                for (int i = 0; i < la.Count; i++)
                {
                    if (!Equal(la[i], lb[i]))
                    {
                        return false;
                    }
                }
                return true;
            case IDictionary:
            case IEnumerable when IsDictionary(a):
                return DictionariesEqual(a, b);
        }
        return a.Equals(b);
    }

    internal static bool IsDictionaryValue(object o) => IsDictionary(o);

    private static bool IsDictionary(object o) => o is IDictionary || Array.Exists(o.GetType().GetInterfaces(),
        static i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));

    private static bool DictionariesEqual(object a, object b)
    {
        if (!IsDictionary(b))
        {
            return false;
        }
        List<KeyValuePair<object, object?>> ea = LiveValues.DictionaryEntries(a), eb = LiveValues.DictionaryEntries(b);
        if (ea.Count != eb.Count)
        {
            return false;
        }
        var map = new Dictionary<object, object?>(KeyEquality);
        foreach (KeyValuePair<object, object?> kv in eb)
        {
            map[kv.Key] = kv.Value;
        }
        foreach (KeyValuePair<object, object?> kv in ea)
        {
            if (!map.TryGetValue(kv.Key, out object? v) || !Equal(kv.Value, v))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A hash consistent with <see cref="Equal"/> for hashable values (numbers, str, bytes, tuples).</summary>
    public static int Hash(object? v)
    {
        switch (v)
        {
            case null:
                return 0;
            case string s:
                return StringComparer.Ordinal.GetHashCode(s);
            case long l:
                return l.GetHashCode();
            case double d:
                if (double.IsFinite(d) && Math.Floor(d) == d && d >= long.MinValue && d < 9.2233720368547758E18)
                {
                    return ((long)d).GetHashCode();
                }
                return d.GetHashCode();
            case byte[] b:
                var hc = new HashCode();
                hc.AddBytes(b);
                return hc.ToHashCode();
            case PyTuple t:
                int h = 17;
                foreach (object? item in t)
                {
                    h = unchecked(h * 31 + Hash(item));
                }
                return h;
            default:
                if (IsNumber(v))
                {
                    BigInteger big = v is float f ? new BigInteger(f) : ToBig(v);
                    return big >= long.MinValue && big <= long.MaxValue ? ((long)big).GetHashCode() : big.GetHashCode();
                }
                return v.GetHashCode();
        }
    }

    internal static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        string => "str",
        long or int or BigInteger => "int",
        bool => "bool",
        double or float => "float",
        byte[] => "bytes",
        PyTuple => "tuple",
        Pickle.PickleValue p => PickleTypeName(p),
        NoneKey => "NoneType",
        Persistent => "persistent object " + v.GetType().Name,
        _ when IsDictionary(v) => "dict",
        IList => "list",
        _ => v.GetType().Name,
    };

    /// <summary>The Python type of a value kept as the pickle read it (OB-10), for messages.</summary>
    private static string PickleTypeName(Pickle.PickleValue p) => p.Kind switch
    {
        Pickle.PickleKind.ByteString => "Python-2 str",
        Pickle.PickleKind.Set => "set",
        Pickle.PickleKind.Global => "global",
        Pickle.PickleKind.Object => "object",
        Pickle.PickleKind.PersistentId => "persistent reference",
        var k => k.ToString().ToLowerInvariant(),
    };

    /// <summary>A Python-like rendering for messages and debugging.</summary>
    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        Repr(sb, v, 0);
        return sb.ToString();
    }

    private static void Repr(StringBuilder sb, object? v, int depth)
    {
        if (depth > 20)
        {
            sb.Append("...");
            return;
        }
        switch (v)
        {
            case null:
                sb.Append("None");
                break;
            case bool b:
                sb.Append(b ? "True" : "False");
                break;
            case string s:
                sb.Append('\'').Append(s).Append('\'');
                break;
            case double d:
                sb.Append(d.ToString("R", CultureInfo.InvariantCulture));
                break;
            case byte[] bytes:
                sb.Append("b'").Append(Convert.ToHexString(bytes)).Append('\'');
                break;
            case PyTuple t:
                sb.Append('(');
                for (int i = 0; i < t.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }
                    Repr(sb, t[i], depth + 1);
                }
                sb.Append(t.Count == 1 ? ",)" : ")");
                break;
            case IFormattable f:
                sb.Append(f.ToString(null, CultureInfo.InvariantCulture));
                break;
            case NoneKey:
                sb.Append("None");
                break;
            case Pickle.PickleByteString p2:
                sb.Append(p2.TryGetAscii(out string ascii) ? $"'{ascii}'" : $"b'{Convert.ToHexString(p2.Value.Span)}'");
                break;
            case Pickle.PickleValue pv:
                sb.Append('<').Append(pv.Describe()).Append('>');
                break;
            case Persistent:
                sb.Append('<').Append(TypeName(v)).Append('>');
                break;
            case object when IsDictionary(v):
                sb.Append('{');
                int n = 0;
                foreach (KeyValuePair<object, object?> kv in LiveValues.DictionaryEntries(v))
                {
                    if (n++ > 0)
                    {
                        sb.Append(", ");
                    }
                    if (n > 8)
                    {
                        sb.Append("...");
                        break;
                    }
                    Repr(sb, kv.Key, depth + 1);
                    sb.Append(": ");
                    Repr(sb, kv.Value, depth + 1);
                }
                sb.Append('}');
                break;
            case IList list:
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }
                    if (i >= 8)
                    {
                        sb.Append("...");
                        break;
                    }
                    Repr(sb, list[i], depth + 1);
                }
                sb.Append(']');
                break;
            default:
                sb.Append('<').Append(TypeName(v)).Append('>');
                break;
        }
    }

    private sealed class OrderingComparer : IComparer<object>
    {
        public int Compare(object? x, object? y) => PythonValues.Compare(x, y);
    }

    private sealed class KeyEqualityComparer : IEqualityComparer<object>
    {
        public new bool Equals(object? x, object? y) => Equal(x, y);

        public int GetHashCode(object obj) => Hash(obj);
    }
}
