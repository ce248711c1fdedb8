using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.BTrees;

// The seven BTree families of Python's BTrees package, four classes each: BTree, Bucket, TreeSet, Set
// (spec/objects.md OB-40). Each class is registered under its Python name (module BTrees.<XY>BTree).

/// <summary>Python's <c>BTrees.OOBTree.OOBTree</c>: object keys, object values.</summary>
public sealed class OOBTree : BTree<object, object?>
{
    internal override BTreeFamily Family => BTreeFamily.OO;

    private protected override TreeBase<object, object?> NewNode() => new OOBTree();

    private protected override BucketBase<object, object?> NewBucket() => new OOBucket();
}

/// <summary>Python's <c>BTrees.OOBTree.OOBucket</c>.</summary>
public sealed class OOBucket : Bucket<object, object?>
{
}

/// <summary>Python's <c>BTrees.OOBTree.OOTreeSet</c>: a sorted set of object keys.</summary>
public sealed class OOTreeSet : TreeSet<object>
{
    internal override BTreeFamily Family => BTreeFamily.OO;

    private protected override TreeBase<object, NoValue> NewNode() => new OOTreeSet();

    private protected override BucketBase<object, NoValue> NewBucket() => new OOSet();
}

/// <summary>Python's <c>BTrees.OOBTree.OOSet</c>.</summary>
public sealed class OOSet : SetBucket<object>
{
}

/// <summary>Python's <c>BTrees.IOBTree.IOBTree</c>: int keys, object values.</summary>
public sealed class IOBTree : BTree<int, object?>
{
    internal override BTreeFamily Family => BTreeFamily.IO;

    private protected override TreeBase<int, object?> NewNode() => new IOBTree();

    private protected override BucketBase<int, object?> NewBucket() => new IOBucket();
}

/// <summary>Python's <c>BTrees.IOBTree.IOBucket</c>.</summary>
public sealed class IOBucket : Bucket<int, object?>
{
}

/// <summary>Python's <c>BTrees.IOBTree.IOTreeSet</c>: a sorted set of int keys.</summary>
public sealed class IOTreeSet : TreeSet<int>
{
    internal override BTreeFamily Family => BTreeFamily.IO;

    private protected override TreeBase<int, NoValue> NewNode() => new IOTreeSet();

    private protected override BucketBase<int, NoValue> NewBucket() => new IOSet();
}

/// <summary>Python's <c>BTrees.IOBTree.IOSet</c>.</summary>
public sealed class IOSet : SetBucket<int>
{
}

/// <summary>Python's <c>BTrees.LOBTree.LOBTree</c>: long keys, object values.</summary>
public sealed class LOBTree : BTree<long, object?>
{
    internal override BTreeFamily Family => BTreeFamily.LO;

    private protected override TreeBase<long, object?> NewNode() => new LOBTree();

    private protected override BucketBase<long, object?> NewBucket() => new LOBucket();
}

/// <summary>Python's <c>BTrees.LOBTree.LOBucket</c>.</summary>
public sealed class LOBucket : Bucket<long, object?>
{
}

/// <summary>Python's <c>BTrees.LOBTree.LOTreeSet</c>: a sorted set of long keys.</summary>
public sealed class LOTreeSet : TreeSet<long>
{
    internal override BTreeFamily Family => BTreeFamily.LO;

    private protected override TreeBase<long, NoValue> NewNode() => new LOTreeSet();

    private protected override BucketBase<long, NoValue> NewBucket() => new LOSet();
}

/// <summary>Python's <c>BTrees.LOBTree.LOSet</c>.</summary>
public sealed class LOSet : SetBucket<long>
{
}

/// <summary>Python's <c>BTrees.OIBTree.OIBTree</c>: object keys, int values.</summary>
public sealed class OIBTree : BTree<object, int>
{
    internal override BTreeFamily Family => BTreeFamily.OI;

    private protected override TreeBase<object, int> NewNode() => new OIBTree();

    private protected override BucketBase<object, int> NewBucket() => new OIBucket();
}

/// <summary>Python's <c>BTrees.OIBTree.OIBucket</c>.</summary>
public sealed class OIBucket : Bucket<object, int>
{
}

/// <summary>Python's <c>BTrees.OIBTree.OITreeSet</c>: a sorted set of object keys.</summary>
public sealed class OITreeSet : TreeSet<object>
{
    internal override BTreeFamily Family => BTreeFamily.OI;

    private protected override TreeBase<object, NoValue> NewNode() => new OITreeSet();

    private protected override BucketBase<object, NoValue> NewBucket() => new OISet();
}

/// <summary>Python's <c>BTrees.OIBTree.OISet</c>.</summary>
public sealed class OISet : SetBucket<object>
{
}

/// <summary>Python's <c>BTrees.OLBTree.OLBTree</c>: object keys, long values.</summary>
public sealed class OLBTree : BTree<object, long>
{
    internal override BTreeFamily Family => BTreeFamily.OL;

    private protected override TreeBase<object, long> NewNode() => new OLBTree();

    private protected override BucketBase<object, long> NewBucket() => new OLBucket();
}

/// <summary>Python's <c>BTrees.OLBTree.OLBucket</c>.</summary>
public sealed class OLBucket : Bucket<object, long>
{
}

/// <summary>Python's <c>BTrees.OLBTree.OLTreeSet</c>: a sorted set of object keys.</summary>
public sealed class OLTreeSet : TreeSet<object>
{
    internal override BTreeFamily Family => BTreeFamily.OL;

    private protected override TreeBase<object, NoValue> NewNode() => new OLTreeSet();

    private protected override BucketBase<object, NoValue> NewBucket() => new OLSet();
}

/// <summary>Python's <c>BTrees.OLBTree.OLSet</c>.</summary>
public sealed class OLSet : SetBucket<object>
{
}

/// <summary>Python's <c>BTrees.IIBTree.IIBTree</c>: int keys, int values.</summary>
public sealed class IIBTree : BTree<int, int>
{
    internal override BTreeFamily Family => BTreeFamily.II;

    private protected override TreeBase<int, int> NewNode() => new IIBTree();

    private protected override BucketBase<int, int> NewBucket() => new IIBucket();
}

/// <summary>Python's <c>BTrees.IIBTree.IIBucket</c>.</summary>
public sealed class IIBucket : Bucket<int, int>
{
}

/// <summary>Python's <c>BTrees.IIBTree.IITreeSet</c>: a sorted set of int keys.</summary>
public sealed class IITreeSet : TreeSet<int>
{
    internal override BTreeFamily Family => BTreeFamily.II;

    private protected override TreeBase<int, NoValue> NewNode() => new IITreeSet();

    private protected override BucketBase<int, NoValue> NewBucket() => new IISet();
}

/// <summary>Python's <c>BTrees.IIBTree.IISet</c>.</summary>
public sealed class IISet : SetBucket<int>
{
}

/// <summary>Python's <c>BTrees.LLBTree.LLBTree</c>: long keys, long values.</summary>
public sealed class LLBTree : BTree<long, long>
{
    internal override BTreeFamily Family => BTreeFamily.LL;

    private protected override TreeBase<long, long> NewNode() => new LLBTree();

    private protected override BucketBase<long, long> NewBucket() => new LLBucket();
}

/// <summary>Python's <c>BTrees.LLBTree.LLBucket</c>.</summary>
public sealed class LLBucket : Bucket<long, long>
{
}

/// <summary>Python's <c>BTrees.LLBTree.LLTreeSet</c>: a sorted set of long keys.</summary>
public sealed class LLTreeSet : TreeSet<long>
{
    internal override BTreeFamily Family => BTreeFamily.LL;

    private protected override TreeBase<long, NoValue> NewNode() => new LLTreeSet();

    private protected override BucketBase<long, NoValue> NewBucket() => new LLSet();
}

/// <summary>Python's <c>BTrees.LLBTree.LLSet</c>.</summary>
public sealed class LLSet : SetBucket<long>
{
}

/// <summary>Registers the 28 BTree classes in a type registry.</summary>
internal static class BTreeClasses
{
    public static void RegisterAll(TypeRegistry registry)
    {
        registry.Register<OOBTree>("BTrees.OOBTree", "OOBTree");
        registry.Register<OOBucket>("BTrees.OOBTree", "OOBucket");
        registry.Register<OOTreeSet>("BTrees.OOBTree", "OOTreeSet");
        registry.Register<OOSet>("BTrees.OOBTree", "OOSet");
        registry.Register<IOBTree>("BTrees.IOBTree", "IOBTree");
        registry.Register<IOBucket>("BTrees.IOBTree", "IOBucket");
        registry.Register<IOTreeSet>("BTrees.IOBTree", "IOTreeSet");
        registry.Register<IOSet>("BTrees.IOBTree", "IOSet");
        registry.Register<LOBTree>("BTrees.LOBTree", "LOBTree");
        registry.Register<LOBucket>("BTrees.LOBTree", "LOBucket");
        registry.Register<LOTreeSet>("BTrees.LOBTree", "LOTreeSet");
        registry.Register<LOSet>("BTrees.LOBTree", "LOSet");
        registry.Register<OIBTree>("BTrees.OIBTree", "OIBTree");
        registry.Register<OIBucket>("BTrees.OIBTree", "OIBucket");
        registry.Register<OITreeSet>("BTrees.OIBTree", "OITreeSet");
        registry.Register<OISet>("BTrees.OIBTree", "OISet");
        registry.Register<OLBTree>("BTrees.OLBTree", "OLBTree");
        registry.Register<OLBucket>("BTrees.OLBTree", "OLBucket");
        registry.Register<OLTreeSet>("BTrees.OLBTree", "OLTreeSet");
        registry.Register<OLSet>("BTrees.OLBTree", "OLSet");
        registry.Register<IIBTree>("BTrees.IIBTree", "IIBTree");
        registry.Register<IIBucket>("BTrees.IIBTree", "IIBucket");
        registry.Register<IITreeSet>("BTrees.IIBTree", "IITreeSet");
        registry.Register<IISet>("BTrees.IIBTree", "IISet");
        registry.Register<LLBTree>("BTrees.LLBTree", "LLBTree");
        registry.Register<LLBucket>("BTrees.LLBTree", "LLBucket");
        registry.Register<LLTreeSet>("BTrees.LLBTree", "LLTreeSet");
        registry.Register<LLSet>("BTrees.LLBTree", "LLSet");
    }
}
