using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.BTrees;

/// <summary>A BTree invariant does not hold (what <see cref="BTree{TKey, TValue}.Check"/> reports).</summary>
public sealed class BTreeInvariantException : Exception
{
    public BTreeInvariantException()
    {
    }

    public BTreeInvariantException(string message)
        : base(message)
    {
    }

    public BTreeInvariantException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// The invariants of spec/objects.md OB-44: Python's <c>BTree._check</c> (first-bucket beliefs, bucket chain,
/// child kinds, no empty bucket) and <c>BTrees.check</c> (keys strictly increasing, every key of child i within
/// [key i, key i+1)), plus the size limits that trees grown by insertion keep.
/// </summary>
internal static class BTreeCheck
{
    /// <summary>Deeper than this is not a tree grown by insertion (a 500-way tree of this depth holds more than 2^64 keys).</summary>
    private const int MaxDepth = 16;

    public static void Check<TKey, TValue>(TreeBase<TKey, TValue> tree)
    {
        tree.Activate();
        if (tree._len == 0)
        {
            Require(tree._firstBucket is null, "empty BTree has a first bucket");
            return;
        }
        Require(tree._firstBucket is not null, "non-empty BTree has no first bucket");
        var seen = new HashSet<Persistent>(ReferenceEqualityComparer.Instance);
        Node(tree, isRoot: true, hasLow: false, low: default!, hasHigh: false, high: default!, nextBucket: null, path: "root", seen, 0);
    }

    private static void Node<TKey, TValue>(TreeBase<TKey, TValue> node, bool isRoot, bool hasLow, TKey low, bool hasHigh, TKey high,
        BucketBase<TKey, TValue>? nextBucket, string path, HashSet<Persistent> seen, int depth)
    {
        Require(depth <= MaxDepth, $"{path}: deeper than {MaxDepth} levels");
        Require(seen.Add(node), $"{path}: a node appears twice in the tree (a cycle or a shared child)");
        node.Activate();
        BTreeFamily family = node.Family;
        Require(node._len >= 1, $"{path}: interior node with no child");
        Require(isRoot ? node._len < family.MaxInternal * 2 : node._len <= family.MaxInternal,
            $"{path}: {node._len} children exceed the interior size {family.MaxInternal}");
        for (int i = 2; i < node._len; i++)
        {
            Require(KeyOps<TKey>.Compare(node._keys[i - 1], node._keys[i]) < 0, $"{path}: separator keys out of order at {i}");
        }
        bool childrenAreTrees = node._children[0] is TreeBase<TKey, TValue>;
        BucketBase<TKey, TValue> first = childrenAreTrees
            ? FirstBucket((TreeBase<TKey, TValue>)node._children[0])
            : (BucketBase<TKey, TValue>)node._children[0];
        Require(ReferenceEquals(node._firstBucket, first), $"{path}: first bucket differs from its first child's");
        for (int i = 0; i < node._len; i++)
        {
            Persistent child = node._children[i];
            Require(child is not null, $"{path}: null child {i}");
            Require((child is TreeBase<TKey, TValue>) == childrenAreTrees, $"{path}: children of different kinds");
            bool lo = i > 0 || hasLow, hi = i < node._len - 1 || hasHigh;
            TKey l = i > 0 ? node._keys[i] : low, h = i < node._len - 1 ? node._keys[i + 1] : high;
            BucketBase<TKey, TValue>? after = i == node._len - 1 ? nextBucket
                : node._children[i + 1] is TreeBase<TKey, TValue> t2 ? FirstBucket(t2) : (BucketBase<TKey, TValue>)node._children[i + 1];
            string childPath = $"{path}/{i}";
            if (child is TreeBase<TKey, TValue> sub)
            {
                Require(sub.GetType() == node.GetType(), $"{childPath}: child tree of another class");
                Node(sub, isRoot: false, lo, l, hi, h, after, childPath, seen, depth + 1);
            }
            else
            {
                Require(seen.Add(child!), $"{childPath}: a bucket appears twice in the tree");
                Bucket((BucketBase<TKey, TValue>)child!, family, lo, l, hi, h, after, childPath);
            }
        }
    }

    private static BucketBase<TKey, TValue> FirstBucket<TKey, TValue>(TreeBase<TKey, TValue> t)
    {
        t.Activate();
        Require(t._firstBucket is not null, "interior node without a first bucket");
        return t._firstBucket!;
    }

    private static void Bucket<TKey, TValue>(BucketBase<TKey, TValue> b, BTreeFamily family, bool hasLow, TKey low, bool hasHigh, TKey high,
        BucketBase<TKey, TValue>? next, string path)
    {
        b.Activate();
        Require(b._count >= 1, $"{path}: empty bucket");
        Require(b._count <= family.MaxLeaf, $"{path}: {b._count} items exceed the leaf size {family.MaxLeaf}");
        Require(ReferenceEquals(b._next, next), $"{path}: bucket next pointer is damaged");
        for (int i = 0; i < b._count; i++)
        {
            if (i > 0)
            {
                Require(KeyOps<TKey>.Compare(b._keys[i - 1], b._keys[i]) < 0, $"{path}: bucket keys out of order at {i}");
            }
            if (hasLow)
            {
                Require(KeyOps<TKey>.Compare(low, b._keys[i]) <= 0, $"{path}: key {PythonValues.Repr(b._keys[i])} below its range");
            }
            if (hasHigh)
            {
                Require(KeyOps<TKey>.Compare(b._keys[i], high) < 0, $"{path}: key {PythonValues.Repr(b._keys[i])} above its range");
            }
        }
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new BTreeInvariantException(message);
        }
    }
}
