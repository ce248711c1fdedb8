using System.Globalization;
using System.Numerics;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Verify;

/// <summary>
/// BTree invariants at the pickle level, by class name (spec/verify.md §4; objects.md OB-42..OB-44): the state shapes
/// of trees and buckets, key and value types of the family, key order, children kinds, separator ranges, the
/// first-bucket reference, the bucket chain, empty buckets, sizes, and that a tree is a tree. Storage does not know
/// the BTree classes: this reads their states as ZODB stored them.
/// </summary>
internal sealed class BTreeCheck
{
    private const int MaxDepth = 64;

    private readonly Dictionary<ulong, ObjectInfo> _objects;
    private readonly Dictionary<ulong, Bucket?> _buckets = [];
    private readonly Dictionary<ulong, List<(PickleValue Key, PickleValue? Value)>> _items = [];
    private readonly List<Finding> _findings = [];

    public BTreeCheck(Dictionary<ulong, ObjectInfo> objects) => _objects = objects;

    /// <summary>A BTree class: family letters (key, value) and kind.</summary>
    internal readonly record struct BTreeClass(char Key, char Value, BTreeKind Kind, string Family)
    {
        public bool IsSet => Kind is BTreeKind.Set or BTreeKind.TreeSet;

        public bool IsTree => Kind is BTreeKind.BTree or BTreeKind.TreeSet;

        public string BucketClass => $"BTrees.{Family}BTree.{Family}{(IsSet ? "Set" : "Bucket")}";

        /// <summary>Leaf and interior sizes of the seven common families (objects.md OB-40), null for others.</summary>
        public (int Leaf, int Interior)? Sizes => Family switch
        {
            "OO" => (30, 250),
            "IO" or "LO" => (60, 500),
            "OI" or "OL" => (60, 250),
            "II" or "LL" => (120, 500),
            _ => null,
        };
    }

    internal enum BTreeKind
    {
        BTree,
        Bucket,
        TreeSet,
        Set,
    }

    private sealed record Bucket(List<PickleValue> Keys, List<PickleValue>? Values, Oid? Next);

    /// <summary>The items of a top-level tree or bucket walked without finding shape errors (ZBigFile checks use them).</summary>
    public bool TryGetItems(Oid oid, out List<(PickleValue Key, PickleValue? Value)> items) => _items.TryGetValue(oid.Value, out items!);

    public static BTreeClass? Classify(string? cls)
    {
        if (cls is null || !cls.StartsWith("BTrees.", StringComparison.Ordinal))
        {
            return null;
        }
        string[] parts = cls.Split('.');
        if (parts.Length != 3 || parts[1].Length != 7 || !parts[1].EndsWith("BTree", StringComparison.Ordinal))
        {
            return null;
        }
        string family = parts[1][..2];
        if (!parts[2].StartsWith(family, StringComparison.Ordinal))
        {
            return null;
        }
        BTreeKind? kind = parts[2][2..] switch
        {
            "BTree" => BTreeKind.BTree,
            "Bucket" => BTreeKind.Bucket,
            "TreeSet" => BTreeKind.TreeSet,
            "Set" => BTreeKind.Set,
            _ => null,
        };
        return kind is BTreeKind k && "OILFUQ".Contains(family[0], StringComparison.Ordinal) && "OILFUQ".Contains(family[1], StringComparison.Ordinal)
            ? new BTreeClass(family[0], family[1], k, family)
            : null;
    }

    public List<Finding> Run()
    {
        var trees = new List<ulong>();
        var children = new HashSet<ulong>();
        foreach ((ulong oid, ObjectInfo info) in _objects)
        {
            if (info.Status != ObjectStatus.Ok || Classify(info.Class) is not BTreeClass c)
            {
                continue;
            }
            if (c.IsTree)
            {
                trees.Add(oid);
                if (info.State is PickleTuple { Count: 2 } t && t[0] is PickleTuple data)
                {
                    for (int i = 0; i < data.Count; i += 2)
                    {
                        if (Ref(data[i]) is Oid child)
                        {
                            children.Add(child.Value);
                        }
                    }
                }
            }
            else
            {
                _ = BucketOf(new Oid(oid), info, c); // checks every bucket once, in or out of a tree
            }
        }
        foreach (ulong oid in trees)
        {
            if (!children.Contains(oid))
            {
                WalkTree(new Oid(oid));
            }
        }
        foreach ((ulong oid, ObjectInfo info) in _objects)
        {
            // A bucket that is no tree's child stands alone: its items are its own, and its chain must end.
            if (info.Status == ObjectStatus.Ok && Classify(info.Class) is { IsTree: false } && !children.Contains(oid)
                && _buckets.GetValueOrDefault(oid) is Bucket b && !_items.ContainsKey(oid))
            {
                _items[oid] = Items(b);
            }
        }
        return _findings;
    }

    private void WalkTree(Oid root)
    {
        ObjectInfo info = _objects[root.Value];
        BTreeClass c = Classify(info.Class)!.Value;
        var leaves = new List<(Oid? Oid, Bucket Bucket)>();
        var visited = new HashSet<ulong> { root.Value };
        int before = _findings.Count;
        WalkNode(root, info, c, isRoot: true, null, null, 0, leaves, visited);
        for (int i = 0; i < leaves.Count; i++)
        {
            Oid? expected = i + 1 < leaves.Count ? leaves[i + 1].Oid : null;
            if (leaves[i].Oid is Oid bucketOid && leaves[i].Bucket.Next != expected)
            {
                string want = expected is Oid e ? $"the next bucket {e}" : "none (it is the last bucket)";
                Add(Checks.BucketChain, bucketOid, Inv($"bucket of tree {root} links to {(leaves[i].Bucket.Next is Oid n ? n.ToString() : "none")}, expected {want}"));
            }
        }
        if (_findings.Count == before)
        {
            var items = new List<(PickleValue, PickleValue?)>();
            foreach ((Oid? _, Bucket b) in leaves)
            {
                items.AddRange(Items(b));
            }
            _items[root.Value] = items;
        }
    }

    private static List<(PickleValue, PickleValue?)> Items(Bucket b)
    {
        var items = new List<(PickleValue, PickleValue?)>(b.Keys.Count);
        for (int i = 0; i < b.Keys.Count; i++)
        {
            items.Add((b.Keys[i], b.Values?[i]));
        }
        return items;
    }

    /// <summary>Checks one tree node and its subtree; appends its buckets, in key order, to <paramref name="leaves"/>.</summary>
    private void WalkNode(Oid oid, ObjectInfo info, BTreeClass c, bool isRoot, PickleValue? lo, PickleValue? hi, int depth,
        List<(Oid? Oid, Bucket Bucket)> leaves, HashSet<ulong> visited)
    {
        if (depth > MaxDepth)
        {
            Add(Checks.TreeShape, oid, Inv($"deeper than {MaxDepth} levels"));
            return;
        }
        PickleValue? state = info.State;
        if (state is null || state.IsNone)
        {
            if (!isRoot)
            {
                Add(Checks.TreeState, oid, "an interior node is empty (None)");
            }
            return;
        }
        if (state is not PickleTuple t || t.Count is < 1 or > 2 || t[0] is not PickleTuple data)
        {
            Add(Checks.TreeState, oid, $"the state is {state.Describe()}, not None, ((bucket state,),) or ((children and keys), first bucket)");
            return;
        }
        if (t.Count == 1)
        {
            // One bucket saved inline: ((bucket state,),).
            if (data.Count != 1 || !isRoot)
            {
                Add(Checks.TreeState, oid, isRoot ? "an inline bucket is not wrapped as ((bucket state,),)" : "an interior node holds an inline bucket");
                return;
            }
            if (ParseBucket(oid, data[0], c, out Bucket? inline) && inline is not null)
            {
                CheckRange(oid, inline, lo, hi, "the inline bucket");
                leaves.Add((null, inline));
            }
            return;
        }
        Oid? firstBucket = Ref(t[1]);
        if (firstBucket is null || data.Count % 2 != 1)
        {
            Add(Checks.TreeState, oid, Inv($"the node state is ({data.Count} items, {t[1].Describe()}): expected an odd number of children and keys, and a first-bucket reference"));
            return;
        }
        int n = (data.Count + 1) / 2;
        if (c.Sizes is (int _, int interior) && n > (isRoot ? 2 * interior : interior))
        {
            Add(Checks.NodeSize, oid, Inv($"{n} children, more than the {(isRoot ? 2 * interior : interior)} of a {c.Family} {(isRoot ? "root" : "node")}"));
        }
        var separators = new List<PickleValue>(n - 1);
        for (int i = 1; i < data.Count; i += 2)
        {
            separators.Add(data[i]);
            CheckKeyType(oid, data[i], c, "separator");
        }
        for (int i = 1; i < separators.Count; i++)
        {
            if (PythonOrder.Compare(separators[i - 1], separators[i]) is not < 0)
            {
                Add(Checks.SeparatorRange, oid, Inv($"separator {i + 1} ({separators[i].Describe()}) does not follow separator {i} ({separators[i - 1].Describe()})"));
                return;
            }
        }
        if ((lo is not null && separators.Count > 0 && PythonOrder.Compare(separators[0], lo) is not >= 0)
            || (hi is not null && separators.Count > 0 && PythonOrder.Compare(separators[^1], hi) is not < 0))
        {
            Add(Checks.SeparatorRange, oid, "the node's separators lie outside the range its parent gives it");
        }
        int firstLeaf = leaves.Count;
        bool? buckets = null;
        for (int i = 0; i < n; i++)
        {
            Oid? child = Ref(data[2 * i]);
            if (child is not Oid co || !_objects.TryGetValue(co.Value, out ObjectInfo? ci) || ci.Status != ObjectStatus.Ok)
            {
                if (child is null)
                {
                    Add(Checks.ChildKind, oid, Inv($"child {i} is {data[2 * i].Describe()}, not a reference"));
                }
                continue; // a missing or unloadable child is reported by the reference checks
            }
            bool isBucket = ci.Class == c.BucketClass;
            bool isNode = ci.Class == info.Class;
            if (!isBucket && !isNode)
            {
                Add(Checks.ChildKind, oid, $"child {i} ({co}) is a {ci.Class ?? "?"}, not a {c.BucketClass} or a {info.Class}");
                continue;
            }
            if (buckets is bool b && b != isBucket)
            {
                Add(Checks.ChildKind, oid, "the node mixes buckets and nodes among its children");
            }
            buckets ??= isBucket;
            if (!visited.Add(co.Value))
            {
                Add(Checks.TreeShape, oid, $"child {i} ({co}) is reached twice in the tree");
                continue;
            }
            PickleValue? clo = i == 0 ? lo : separators[i - 1];
            PickleValue? chi = i == n - 1 ? hi : separators[i];
            if (isBucket)
            {
                if (BucketOf(co, ci, c) is Bucket bucket)
                {
                    if (bucket.Keys.Count == 0)
                    {
                        Add(Checks.EmptyBucket, co, $"an empty bucket is child {i} of node {oid}");
                    }
                    CheckRange(co, bucket, clo, chi, $"child {i} of node {oid}");
                    leaves.Add((co, bucket));
                }
            }
            else
            {
                WalkNode(co, ci, c, isRoot: false, clo, chi, depth + 1, leaves, visited);
            }
        }
        if (leaves.Count > firstLeaf && leaves[firstLeaf].Oid != firstBucket)
        {
            Add(Checks.FirstBucket, oid, $"the first-bucket reference names {firstBucket}, the leftmost bucket is {leaves[firstLeaf].Oid}");
        }
    }

    private void CheckRange(Oid oid, Bucket b, PickleValue? lo, PickleValue? hi, string what)
    {
        if (b.Keys.Count == 0)
        {
            return;
        }
        if ((lo is not null && PythonOrder.Compare(b.Keys[0], lo) is not >= 0) || (hi is not null && PythonOrder.Compare(b.Keys[^1], hi) is not < 0))
        {
            Add(Checks.SeparatorRange, oid, $"keys of {what} run from {b.Keys[0].Describe()} to {b.Keys[^1].Describe()}, outside [{lo?.Describe() ?? "-inf"}, {hi?.Describe() ?? "+inf"})");
        }
    }

    /// <summary>The bucket of a Bucket/Set object, checked once; null when its state is unusable.</summary>
    private Bucket? BucketOf(Oid oid, ObjectInfo info, BTreeClass c)
    {
        if (_buckets.TryGetValue(oid.Value, out Bucket? known))
        {
            return known;
        }
        ParseBucket(oid, info.State ?? PickleValue.None, c, out Bucket? b);
        _buckets[oid.Value] = b;
        if (b is not null && c.Sizes is (int leaf, int _) && b.Keys.Count > leaf)
        {
            Add(Checks.NodeSize, oid, Inv($"{b.Keys.Count} keys, more than the {leaf} of a {c.Family} bucket"));
        }
        return b;
    }

    /// <summary>A bucket state ((k0, v0, …),) or ((…), next): shape, types, order.</summary>
    private bool ParseBucket(Oid oid, PickleValue state, BTreeClass c, out Bucket? bucket)
    {
        bucket = null;
        if (state is not PickleTuple t || t.Count is < 1 or > 2 || t[0] is not PickleTuple flat)
        {
            Add(Checks.BucketState, oid, $"the state is {state.Describe()}, not ((keys and values),) or ((keys and values), next bucket)");
            return false;
        }
        Oid? next = null;
        if (t.Count == 2)
        {
            next = Ref(t[1]);
            if (next is null)
            {
                Add(Checks.BucketState, oid, $"the next-bucket item is {t[1].Describe()}, not a reference");
                return false;
            }
        }
        int stride = c.IsSet ? 1 : 2;
        if (flat.Count % stride != 0)
        {
            Add(Checks.BucketState, oid, Inv($"{flat.Count} items: keys and values do not pair up"));
            return false;
        }
        var keys = new List<PickleValue>(flat.Count / stride);
        List<PickleValue>? values = c.IsSet ? null : new List<PickleValue>(flat.Count / 2);
        bool ok = true;
        for (int i = 0; i < flat.Count; i += stride)
        {
            PickleValue key = flat[i];
            ok &= CheckKeyType(oid, key, c, "key");
            if (values is not null)
            {
                ok &= CheckValueType(oid, flat[i + 1], c);
                values.Add(flat[i + 1]);
            }
            if (keys.Count > 0 && PythonOrder.Compare(keys[^1], key) is not < 0)
            {
                Add(Checks.KeyOrder, oid, Inv($"key {keys.Count + 1} ({key.Describe()}) does not follow key {keys.Count} ({keys[^1].Describe()})"));
                ok = false;
            }
            keys.Add(key);
        }
        bucket = ok ? new Bucket(keys, values, next) : null;
        return ok;
    }

    private bool CheckKeyType(Oid oid, PickleValue key, BTreeClass c, string what)
    {
        if (TypeProblem(key, c.Key, isKey: true) is string problem)
        {
            Add(Checks.KeyType, oid, $"{what} {key.Describe()}: {problem}");
            return false;
        }
        return true;
    }

    private bool CheckValueType(Oid oid, PickleValue value, BTreeClass c)
    {
        if (TypeProblem(value, c.Value, isKey: false) is string problem)
        {
            Add(Checks.KeyType, oid, $"value {value.Describe()}: {problem}");
            return false;
        }
        return true;
    }

    private static readonly BigInteger Int32Min = int.MinValue;
    private static readonly BigInteger Int32Max = int.MaxValue;
    private static readonly BigInteger Int64Min = long.MinValue;
    private static readonly BigInteger Int64Max = long.MaxValue;

    private static string? TypeProblem(PickleValue v, char kind, bool isKey) => kind switch
    {
        'I' => PythonOrder.IsIntIn(v, Int32Min, Int32Max) ? null : "not a 32-bit int",
        'L' => PythonOrder.IsIntIn(v, Int64Min, Int64Max) ? null : "not a 64-bit int",
        'U' => PythonOrder.IsIntIn(v, 0, uint.MaxValue) ? null : "not an unsigned 32-bit int",
        'Q' => PythonOrder.IsIntIn(v, 0, ulong.MaxValue) ? null : "not an unsigned 64-bit int",
        'F' => v is PickleFloat or PickleInt ? null : "not a float",
        _ when isKey => PythonOrder.Compare(v, v) is null ? "not a value Python can order (a BTree key must be)" : null,
        _ => null,
    };

    private static Oid? Ref(PickleValue v) =>
        v is PicklePersistentId p && p.Reference is { IsStrongSameDatabase: true } r ? r.Oid : null;

    private void Add(Check check, Oid oid, string message)
    {
        ObjectInfo? info = _objects.GetValueOrDefault(oid.Value);
        _findings.Add(Checks.Make(check, info?.Position, oid, info?.Serial, $"{info?.Class ?? "BTree"}: {message}"));
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
