using System.Numerics;
using System.Runtime.CompilerServices;

namespace Wendelin.Storage.Pickle;

/// <summary>
/// Structural equality of values (spec/pickle.md §3): same kinds, same scalar values (floats bit for bit), same
/// items in the same order. Sharing is not compared. Cycles are allowed: a pair of nodes met again while it is
/// still being compared counts as equal. Nesting past <see cref="PickleValue.MaxDepth"/> throws (PK-22).
/// </summary>
internal static class PickleEquality
{
    // Pairs are tracked only below this depth: a cycle always gets this deep, a normal value rarely does.
    private const int TrackFromDepth = 32;

    public static bool Structural(PickleValue a, PickleValue b)
    {
        HashSet<(PickleValue, PickleValue)>? inProgress = null;
        HashSet<(PickleValue, PickleValue)>? provenEqual = null;
        return Eq(a, b, 0, ref inProgress, ref provenEqual);
    }

    private static bool Eq(PickleValue a, PickleValue b, int depth, ref HashSet<(PickleValue, PickleValue)>? inProgress, ref HashSet<(PickleValue, PickleValue)>? provenEqual)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }
        if (a.Kind != b.Kind)
        {
            return false;
        }
        switch (a)
        {
            case PickleNone:
                return true;
            case PickleBool x:
                return x.Value == ((PickleBool)b).Value;
            case PickleInt x:
                {
                    var y = (PickleInt)b;
                    return x.IsInt64 == y.IsInt64 && (x.IsInt64 ? x.Int64Value == y.Int64Value : x.BigValue == y.BigValue);
                }
            case PickleFloat x:
                return BitConverter.DoubleToInt64Bits(x.Value) == BitConverter.DoubleToInt64Bits(((PickleFloat)b).Value);
            case PickleStr x:
                return string.Equals(x.Value, ((PickleStr)b).Value, StringComparison.Ordinal);
            case PickleBytes x:
                return x.Value.Span.SequenceEqual(((PickleBytes)b).Value.Span);
            case PickleByteString x:
                return x.Value.Span.SequenceEqual(((PickleByteString)b).Value.Span);
            case PickleGlobal x:
                {
                    var y = (PickleGlobal)b;
                    return x.Module == y.Module && x.Name == y.Name;
                }
        }

        if (depth >= PickleValue.MaxDepth)
        {
            throw new PickleException($"value nested deeper than {PickleValue.MaxDepth} levels");
        }
        // Pairs of containers already found equal are not compared again: a shared DAG such as
        // A(k) = (A(k-1), A(k-1)) would otherwise cost 2^k (PK-21).
        if (provenEqual is not null && provenEqual.Contains((a, b)))
        {
            return true;
        }
        if (depth >= TrackFromDepth)
        {
            inProgress ??= new HashSet<(PickleValue, PickleValue)>(PairComparer.Instance);
            if (!inProgress.Add((a, b)))
            {
                return true;
            }
        }
        bool result = EqContainer(a, b, depth + 1, ref inProgress, ref provenEqual);
        if (depth >= TrackFromDepth)
        {
            inProgress!.Remove((a, b));
        }
        if (result)
        {
            (provenEqual ??= new HashSet<(PickleValue, PickleValue)>(PairComparer.Instance)).Add((a, b));
        }
        return result;
    }

    private static bool EqContainer(PickleValue a, PickleValue b, int depth, ref HashSet<(PickleValue, PickleValue)>? inProgress, ref HashSet<(PickleValue, PickleValue)>? provenEqual)
    {
        switch (a)
        {
            case PickleTuple x:
                {
                    var y = (PickleTuple)b;
                    if (x.Count != y.Count)
                    {
                        return false;
                    }
                    for (int i = 0; i < x.Count; i++)
                    {
                        if (!Eq(x[i], y[i], depth, ref inProgress, ref provenEqual))
                        {
                            return false;
                        }
                    }
                    return true;
                }
            case PickleList x:
                {
                    var y = (PickleList)b;
                    if (x.Count != y.Count)
                    {
                        return false;
                    }
                    for (int i = 0; i < x.Count; i++)
                    {
                        if (!Eq(x[i], y[i], depth, ref inProgress, ref provenEqual))
                        {
                            return false;
                        }
                    }
                    return true;
                }
            case PickleDict x:
                return EqPairs(x.Entries, ((PickleDict)b).Entries, depth, ref inProgress, ref provenEqual);
            case PickleSet x:
                {
                    var y = (PickleSet)b;
                    if (x.IsFrozen != y.IsFrozen || x.Count != y.Count)
                    {
                        return false;
                    }
                    for (int i = 0; i < x.Count; i++)
                    {
                        if (!Eq(x.Items[i], y.Items[i], depth, ref inProgress, ref provenEqual))
                        {
                            return false;
                        }
                    }
                    return true;
                }
            case PickleObject x:
                {
                    var y = (PickleObject)b;
                    if (x.Construction != y.Construction
                        || !Eq(x.Callable, y.Callable, depth, ref inProgress, ref provenEqual)
                        || !Eq(x.Args, y.Args, depth, ref inProgress, ref provenEqual)
                        || !EqOptional(x.Kwargs, y.Kwargs, depth, ref inProgress, ref provenEqual)
                        || !EqOptional(x.State, y.State, depth, ref inProgress, ref provenEqual))
                    {
                        return false;
                    }
                    if ((x.ListItems?.Count ?? 0) != (y.ListItems?.Count ?? 0))
                    {
                        return false;
                    }
                    for (int i = 0; i < (x.ListItems?.Count ?? 0); i++)
                    {
                        if (!Eq(x.ListItems![i], y.ListItems![i], depth, ref inProgress, ref provenEqual))
                        {
                            return false;
                        }
                    }
                    return EqPairs(x.DictItems ?? [], y.DictItems ?? [], depth, ref inProgress, ref provenEqual);
                }
            case PicklePersistentId x:
                return Eq(x.Pid, ((PicklePersistentId)b).Pid, depth, ref inProgress, ref provenEqual);
            default:
                return false;
        }
    }

    private static bool EqOptional(PickleValue? a, PickleValue? b, int depth, ref HashSet<(PickleValue, PickleValue)>? inProgress, ref HashSet<(PickleValue, PickleValue)>? provenEqual) =>
        a is null ? b is null : b is not null && Eq(a, b, depth, ref inProgress, ref provenEqual);

    private static bool EqPairs(IReadOnlyList<KeyValuePair<PickleValue, PickleValue>> x, IReadOnlyList<KeyValuePair<PickleValue, PickleValue>> y,
        int depth, ref HashSet<(PickleValue, PickleValue)>? inProgress, ref HashSet<(PickleValue, PickleValue)>? provenEqual)
    {
        if (x.Count != y.Count)
        {
            return false;
        }
        for (int i = 0; i < x.Count; i++)
        {
            if (!Eq(x[i].Key, y[i].Key, depth, ref inProgress, ref provenEqual) || !Eq(x[i].Value, y[i].Value, depth, ref inProgress, ref provenEqual))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A hash consistent with <see cref="Structural"/>, looking <paramref name="levels"/> levels deep.</summary>
    public static int StructuralHash(PickleValue v, int levels)
    {
        switch (v)
        {
            case PickleNone:
                return 0x6e6f6e65;
            case PickleBool b:
                return b.Value ? 0x7472 : 0x6661;
            case PickleInt i:
                return i.IsInt64 ? i.Int64Value.GetHashCode() : i.BigValue.GetHashCode();
            case PickleFloat f:
                return BitConverter.DoubleToInt64Bits(f.Value).GetHashCode();
            case PickleStr s:
                return string.GetHashCode(s.Value, StringComparison.Ordinal);
            case PickleBytes b:
                return b.ContentHash();
            case PickleByteString s:
                {
                    var h = new HashCode();
                    h.AddBytes(s.Value.Span);
                    return h.ToHashCode() ^ 0x2b;
                }
            case PickleGlobal g:
                return HashCode.Combine(g.Module, g.Name);
        }
        var hc = new HashCode();
        hc.Add(v.Kind);
        if (levels <= 0)
        {
            return hc.ToHashCode();
        }
        switch (v)
        {
            case PickleTuple t:
                hc.Add(t.Count);
                for (int i = 0; i < Math.Min(t.Count, 4); i++)
                {
                    hc.Add(StructuralHash(t[i], levels - 1));
                }
                break;
            case PickleList l:
                hc.Add(l.Count);
                for (int i = 0; i < Math.Min(l.Count, 4); i++)
                {
                    hc.Add(StructuralHash(l[i], levels - 1));
                }
                break;
            case PickleDict d:
                hc.Add(d.Count);
                for (int i = 0; i < Math.Min(d.Count, 4); i++)
                {
                    hc.Add(StructuralHash(d.Entries[i].Key, levels - 1));
                }
                break;
            case PickleSet s:
                hc.Add(s.Count);
                hc.Add(s.IsFrozen);
                break;
            case PickleObject o:
                hc.Add(o.Construction);
                hc.Add(StructuralHash(o.Callable, levels - 1));
                break;
            case PicklePersistentId p:
                hc.Add(StructuralHash(p.Pid, levels - 1));
                break;
        }
        return hc.ToHashCode();
    }

    internal sealed class PairComparer : IEqualityComparer<(PickleValue, PickleValue)>
    {
        public static readonly PairComparer Instance = new();

        public bool Equals((PickleValue, PickleValue) x, (PickleValue, PickleValue) y) =>
            ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2);

        public int GetHashCode((PickleValue, PickleValue) obj) =>
            HashCode.Combine(RuntimeHelpers.GetHashCode(obj.Item1), RuntimeHelpers.GetHashCode(obj.Item2));
    }
}

/// <summary>
/// Python's equality and hashing for dictionary keys and set members (PK-15): ints, bools and floats compare by
/// numeric value; an ASCII Python-2 <c>str</c> equals the same <c>str</c>; tuples and frozensets compare by
/// members; globals by name; persistent ids by pid; other objects by identity. Lists, dicts and sets are not
/// hashable (<see cref="PickleException"/>).
/// </summary>
internal sealed class PickleKeyComparer : IEqualityComparer<PickleValue>
{
    public static readonly PickleKeyComparer Instance = new();

    public static void EnsureHashable(PickleValue v) => _ = Hash(v, 0);

    public bool Equals(PickleValue? x, PickleValue? y)
    {
        HashSet<(PickleValue, PickleValue)>? proven = null;
        return x is not null && y is not null && Eq(x, y, 0, ref proven);
    }

    public int GetHashCode(PickleValue obj) => Hash(obj, 0);

    internal static bool AsciiEquals(PickleByteString b, string s)
    {
        ReadOnlySpan<byte> bytes = b.Value.Span;
        if (bytes.Length != s.Length)
        {
            return false;
        }
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] >= 0x80 || bytes[i] != s[i])
            {
                return false;
            }
        }
        return true;
    }

    private static bool Eq(PickleValue a, PickleValue b, int depth, ref HashSet<(PickleValue, PickleValue)>? proven)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }
        if (IsNumber(a) && IsNumber(b))
        {
            return NumberEquals(a, b);
        }
        switch (a)
        {
            case PickleStr s when b is PickleStr t:
                return string.Equals(s.Value, t.Value, StringComparison.Ordinal);
            case PickleStr s when b is PickleByteString t:
                return AsciiEquals(t, s.Value);
            case PickleByteString s when b is PickleStr t:
                return AsciiEquals(s, t.Value);
            case PickleByteString s when b is PickleByteString t:
                return s.Value.Span.SequenceEqual(t.Value.Span);
            case PickleBytes s when b is PickleBytes t:
                return s.Value.Span.SequenceEqual(t.Value.Span);
            case PickleNone:
                return b is PickleNone;
            case PickleGlobal g when b is PickleGlobal h:
                return g.Module == h.Module && g.Name == h.Name;
            case PicklePersistentId p when b is PicklePersistentId q:
                return PickleEquality.Structural(p.Pid, q.Pid);
            case PickleTuple t when b is PickleTuple u:
                {
                    if (t.Count != u.Count)
                    {
                        return false;
                    }
                    if (depth >= PickleValue.MaxDepth)
                    {
                        throw new PickleException($"dictionary key nested deeper than {PickleValue.MaxDepth} levels");
                    }
                    if (t.CachedKeyHash != 0 && u.CachedKeyHash != 0 && t.CachedKeyHash != u.CachedKeyHash)
                    {
                        return false;
                    }
                    if (proven is not null && proven.Contains((t, u)))
                    {
                        return true;
                    }
                    for (int i = 0; i < t.Count; i++)
                    {
                        if (!Eq(t[i], u[i], depth + 1, ref proven))
                        {
                            return false;
                        }
                    }
                    (proven ??= new HashSet<(PickleValue, PickleValue)>(PickleEquality.PairComparer.Instance)).Add((t, u));
                    return true;
                }
            case PickleSet s when b is PickleSet u && s.IsFrozen && u.IsFrozen:
                {
                    if (s.Count != u.Count)
                    {
                        return false;
                    }
                    foreach (PickleValue m in s.Items)
                    {
                        if (!u.Contains(m))
                        {
                            return false;
                        }
                    }
                    return true;
                }
            default:
                return false;
        }
    }

    private static int Hash(PickleValue v, int depth)
    {
        switch (v)
        {
            case PickleNone:
                return 0x4e6f6e65;
            case PickleBool b:
                return (b.Value ? 1L : 0L).GetHashCode();
            case PickleInt i:
                return i.IsInt64 ? i.Int64Value.GetHashCode() : i.BigValue.GetHashCode();
            case PickleFloat f:
                return FloatHash(f.Value);
            case PickleStr s:
                return string.GetHashCode(s.Value, StringComparison.Ordinal);
            case PickleByteString s:
                {
                    if (s.TryGetAscii(out string text))
                    {
                        return string.GetHashCode(text, StringComparison.Ordinal);
                    }
                    var h = new HashCode();
                    h.AddBytes(s.Value.Span);
                    return h.ToHashCode();
                }
            case PickleBytes b:
                return b.ContentHash();
            case PickleGlobal g:
                return HashCode.Combine(g.Module, g.Name);
            case PicklePersistentId p:
                return PickleEquality.StructuralHash(p.Pid, 3);
            case PickleObject o:
                return RuntimeHelpers.GetHashCode(o);
            case PickleTuple t:
                {
                    int cached = t.CachedKeyHash;
                    if (cached != 0)
                    {
                        return cached;
                    }
                    if (depth >= PickleValue.MaxDepth)
                    {
                        throw new PickleException($"dictionary key nested deeper than {PickleValue.MaxDepth} levels");
                    }
                    var h = new HashCode();
                    h.Add(t.Count);
                    foreach (PickleValue item in t.AsSpan())
                    {
                        h.Add(Hash(item, depth + 1));
                    }
                    int r = h.ToHashCode();
                    t.CachedKeyHash = r == 0 ? 1 : r;
                    return t.CachedKeyHash;
                }
            case PickleSet { IsFrozen: true } s:
                {
                    int x = s.Count;
                    foreach (PickleValue m in s.Items)
                    {
                        x ^= Hash(m, depth + 1);
                    }
                    return x;
                }
            default:
                throw new PickleException($"unhashable {v.Describe()} used as a dictionary key or set member");
        }
    }

    private static bool IsNumber(PickleValue v) => v is PickleInt or PickleBool or PickleFloat;

    private static bool NumberEquals(PickleValue a, PickleValue b)
    {
        if (a is PickleFloat fa)
        {
            return b is PickleFloat fb ? fa.Value == fb.Value : FloatEqualsInt(fa.Value, b.AsBigInteger());
        }
        if (b is PickleFloat fb2)
        {
            return FloatEqualsInt(fb2.Value, a.AsBigInteger());
        }
        return a.AsBigInteger() == b.AsBigInteger();
    }

    private static bool FloatEqualsInt(double d, BigInteger i) =>
        double.IsFinite(d) && Math.Floor(d) == d && new BigInteger(d) == i;

    private static int FloatHash(double d)
    {
        if (double.IsFinite(d) && Math.Floor(d) == d)
        {
            var i = new BigInteger(d);
            return i >= long.MinValue && i <= long.MaxValue ? ((long)i).GetHashCode() : i.GetHashCode();
        }
        return d.GetHashCode();
    }
}
