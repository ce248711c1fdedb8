using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.BTrees;

/// <summary>Non-generic access to a tree's invariant check and size (tools, fuzzing).</summary>
internal interface ICheckedTree
{
    void CheckTree();

    int CountItems();
}

/// <summary>
/// An interior node of a BTree (Python's <c>BTree</c> and <c>TreeSet</c>, spec/objects.md OB-40..OB-44): children
/// (sub-trees of the same class, or buckets) separated by keys, and the first bucket of its subtree. The insert,
/// split and delete rules are Python's, so trees grown here have the shapes Python gives them: a bucket splits at
/// its midpoint when it grows past the family's leaf size, an interior node when it grows past the interior size,
/// and the root when it reaches twice that; deletion removes empty buckets and nodes but never rebalances.
/// </summary>
public abstract class TreeBase<TKey, TValue> : Persistent, ICheckedTree
{
    internal TKey[] _keys = [];
    internal Persistent[] _children = [];
    internal int _len;
    internal BucketBase<TKey, TValue>? _firstBucket;
    internal int _version;

    private protected TreeBase()
    {
    }

    /// <summary>Python family module, e.g. <c>BTrees.OOBTree</c>, and class-name prefix, e.g. <c>OO</c>.</summary>
    internal abstract BTreeFamily Family { get; }

    internal abstract bool IsSet { get; }

    /// <summary>A new empty node of this tree's own class.</summary>
    private protected abstract TreeBase<TKey, TValue> NewNode();

    /// <summary>A new empty bucket (or set) of this family.</summary>
    private protected abstract BucketBase<TKey, TValue> NewBucket();

    /// <summary>Python's BTREE_SEARCH: the child whose key range holds <paramref name="key"/>.</summary>
    internal int SearchChild(TKey key)
    {
        int lo = 0, hi = _len;
        TKey[] keys = _keys;
        int i = hi >> 1;
        while (i > lo)
        {
            int c = KeyOps<TKey>.Compare(keys[i], key);
            if (c < 0)
            {
                lo = i;
            }
            else if (c > 0)
            {
                hi = i;
            }
            else
            {
                break;
            }
            i = (lo + hi) >> 1;
        }
        return i;
    }

    /// <summary>The bucket whose range holds <paramref name="key"/> (activated), or null for an empty tree.</summary>
    internal BucketBase<TKey, TValue>? FindBucket(TKey key)
    {
        Activate();
        TreeBase<TKey, TValue> node = this;
        while (true)
        {
            if (node._len == 0)
            {
                return null;
            }
            Persistent child = node._children[node.SearchChild(key)];
            if (child is TreeBase<TKey, TValue> sub)
            {
                sub.Activate();
                node = sub;
            }
            else
            {
                var bucket = (BucketBase<TKey, TValue>)child;
                bucket.Activate();
                return bucket;
            }
        }
    }

    internal bool TryGetInternal(TKey key, out TValue value)
    {
        BucketBase<TKey, TValue>? bucket = FindBucket(key);
        if (bucket is null)
        {
            value = default!;
            return false;
        }
        return bucket.TryGetInternal(key, out value);
    }

    /// <summary>
    /// Python's <c>_BTree_set</c>. Returns -1 when a key to delete is absent, 0 when the number of items did not
    /// change, 1 when it did, 2 when it did and this subtree's first bucket went away (a delete only).
    /// </summary>
    internal int SetInternal(TKey key, TValue value, bool delete, bool unique)
    {
        Activate();
        bool changed = false;
        if (_len == 0)
        {
            if (delete)
            {
                return -1;
            }
            Grow(0);
        }
        int min = SearchChild(key);
        if (_state == PersistentState.UpToDate)
        {
            _jar?.NoteReadCurrent(this);
        }
        Persistent child = _children[min];
        int status;
        if (child is TreeBase<TKey, TValue> subtree)
        {
            status = subtree.SetInternal(key, value, delete, unique);
        }
        else
        {
            var bucket = (BucketBase<TKey, TValue>)child;
            status = bucket.SetInternal(key, value, delete, unique, out bool bucketChanged);
            // a lone bucket without an oid is saved inside this node's state: this node changed
            if (bucketChanged && _len == 1 && !bucket._hasOid)
            {
                changed = true;
            }
        }
        if (status <= 0)
        {
            if (changed)
            {
                Changed();
            }
            return status;
        }
        child.Activate();
        int childLength = child is TreeBase<TKey, TValue> ct ? ct._len : ((BucketBase<TKey, TValue>)child)._count;

        if (!delete)
        {
            int max = child is TreeBase<TKey, TValue> ? Family.MaxInternal : Family.MaxLeaf;
            if (childLength > max)
            {
                Grow(min);
                changed = true;
            }
            if (changed)
            {
                Changed();
            }
            return status;
        }

        // A delete: no rebalancing, but keep separators exact and unlink what became empty.
        if (min > 0 && childLength > 0 && KeyOps<TKey>.Compare(key, _keys[min]) == 0)
        {
            BucketBase<TKey, TValue> first = child is TreeBase<TKey, TValue> st ? st.ActivatedFirstBucket() : (BucketBase<TKey, TValue>)child;
            first.Activate();
            _keys[min] = first._keys[0];
            changed = true;
        }
        if (status == 2)
        {
            if (min > 0)
            {
                ((TreeBase<TKey, TValue>)_children[min - 1]).DeleteNextBucket();
                status = 1;
            }
            else
            {
                _firstBucket = ((TreeBase<TKey, TValue>)child).ActivatedFirstBucket();
                changed = true;
            }
        }
        if (childLength > 0)
        {
            if (changed)
            {
                Changed();
            }
            return status;
        }
        if (child is BucketBase<TKey, TValue> emptied)
        {
            if (min > 0)
            {
                ((BucketBase<TKey, TValue>)_children[min - 1]).DeleteNextBucket();
            }
            else
            {
                _firstBucket = emptied._next;
                status = 2;
            }
        }
        _len--;
        Array.Copy(_children, min + 1, _children, min, _len - min);
        Array.Copy(_keys, min + 1, _keys, min, _len - min);
        _children[_len] = null!;
        _keys[_len] = default!;
        Changed();
        return status;
    }

    private BucketBase<TKey, TValue> ActivatedFirstBucket()
    {
        Activate();
        return _firstBucket!;
    }

    private void Changed()
    {
        _version++;
        WriteAccess();
    }

    /// <summary>Python's <c>BTree_grow</c>: splits child <paramref name="index"/> (or, in an empty node, creates the first bucket).</summary>
    private void Grow(int index)
    {
        if (_len == _children.Length)
        {
            int size = _children.Length == 0 ? 2 : _children.Length * 2;
            Array.Resize(ref _children, size);
            Array.Resize(ref _keys, size);
        }
        if (_len == 0)
        {
            BucketBase<TKey, TValue> bucket = NewBucket();
            _children[0] = bucket;
            _len = 1;
            _firstBucket = bucket;
            return;
        }
        Persistent v = _children[index];
        v.Activate();
        Persistent e;
        TKey separator;
        if (v is TreeBase<TKey, TValue> vt)
        {
            TreeBase<TKey, TValue> et = NewNode();
            vt.SplitInto(et);
            separator = et._keys[0];
            e = et;
        }
        else
        {
            var vb = (BucketBase<TKey, TValue>)v;
            BucketBase<TKey, TValue> eb = NewBucket();
            vb.SplitInto(eb);
            separator = eb._keys[0];
            e = eb;
        }
        index++;
        Array.Copy(_children, index, _children, index + 1, _len - index);
        Array.Copy(_keys, index, _keys, index + 1, _len - index);
        _children[index] = e;
        _keys[index] = separator;
        _len++;
        if (_len >= Family.MaxInternal * 2)
        {
            SplitRoot();
        }
    }

    /// <summary>Python's <c>BTree_split</c> at the midpoint: moves the upper half of the children into <paramref name="next"/>.</summary>
    private void SplitInto(TreeBase<TKey, TValue> next)
    {
        int index = _len / 2;
        int nextSize = _len - index;
        next._children = new Persistent[nextSize];
        next._keys = new TKey[nextSize];
        Array.Copy(_children, index, next._children, 0, nextSize);
        Array.Copy(_keys, index, next._keys, 0, nextSize);
        Array.Clear(_children, index, nextSize);
        Array.Clear(_keys, index, nextSize);
        Persistent first = next._children[0];
        next._firstBucket = first is TreeBase<TKey, TValue> t ? t.ActivatedFirstBucket() : (BucketBase<TKey, TValue>)first;
        next._len = nextSize;
        _len = index;
        Changed();
    }

    /// <summary>Python's <c>BTree_split_root</c>: the root keeps its identity, its children move into a new node that is then split.</summary>
    private void SplitRoot()
    {
        TreeBase<TKey, TValue> child = NewNode();
        child._children = _children;
        child._keys = _keys;
        child._len = _len;
        child._firstBucket = _firstBucket;
        _children = new Persistent[2];
        _keys = new TKey[2];
        _children[0] = child;
        _len = 1;
        Grow(0);
    }

    /// <summary>Python's <c>BTree_deleteNextBucket</c>: unlinks the bucket after this subtree's last bucket.</summary>
    private void DeleteNextBucket()
    {
        Activate();
        LastBucket().DeleteNextBucket();
    }

    private BucketBase<TKey, TValue> LastBucket()
    {
        Persistent child = _children[_len - 1];
        if (child is TreeBase<TKey, TValue> t)
        {
            t.Activate();
            return t.LastBucket();
        }
        return (BucketBase<TKey, TValue>)child;
    }

    void ICheckedTree.CheckTree() => BTreeCheck.Check(this);

    int ICheckedTree.CountItems()
    {
        Activate();
        int n = 0;
        for (BucketBase<TKey, TValue>? b = _firstBucket; b is not null; b = b._next)
        {
            b.Activate();
            n += b._count;
        }
        return n;
    }

    /// <summary>Removes every item: the tree becomes empty (state None).</summary>
    internal void ClearInternal()
    {
        Activate();
        if (_len == 0)
        {
            return;
        }
        _children = [];
        _keys = [];
        _len = 0;
        _firstBucket = null;
        Changed();
    }

    // ---- state (OB-42) ----

    protected override object? GetState()
    {
        if (_len == 0)
        {
            return null;
        }
        if (_len == 1 && _children[0] is BucketBase<TKey, TValue> only && !only._hasOid)
        {
            // one bucket that has no oid: its state is saved inline, ((bucket_state,),)
            return PyTuple.Own([PyTuple.Own([only.StateForWrite()])]);
        }
        var items = new object?[_len * 2 - 1];
        for (int i = 0, l = 0; i < _len; i++)
        {
            if (i > 0)
            {
                items[l++] = KeyOps<TKey>.ToLive(_keys[i]);
            }
            items[l++] = _children[i];
        }
        return PyTuple.Own([PyTuple.Own(items), _firstBucket]);
    }

    protected override void SetState(object? state)
    {
        ClearState();
        if (state is null)
        {
            return;
        }
        if (state is not PyTuple { Count: 1 or 2 } t || t[0] is not PyTuple items || items.Count == 0)
        {
            throw new FormatException($"a BTree state is None, ((bucket_state,),) or ((child0, key1, child1, ...), firstbucket); got {PythonValues.Repr(state)}");
        }
        int len = (items.Count + 1) / 2;
        var children = new Persistent[Math.Max(len, 2)];
        var keys = new TKey[Math.Max(len, 2)];
        for (int i = 0, l = 0; i < len; i++)
        {
            if (i > 0)
            {
                keys[i] = KeyOps<TKey>.FromLive(items[l++], isKey: true);
            }
            object? v = items[l++];
            switch (v)
            {
                case PyTuple inline:
                    BucketBase<TKey, TValue> bucket = NewBucket();
                    bucket.LoadStateFrom(inline);
                    children[i] = bucket;
                    break;
                case TreeBase<TKey, TValue> sub when sub.GetType() == GetType():
                    children[i] = sub;
                    break;
                case BucketBase<TKey, TValue> b when b.IsSet == IsSet:
                    children[i] = b;
                    break;
                default:
                    throw new FormatException($"BTree child {i} is a {PythonValues.TypeName(v)}, neither a {GetType().Name} nor a bucket of its family");
            }
        }
        object? firstBucket = t.Count == 2 ? t[1] : children[0];
        if (firstBucket is not BucketBase<TKey, TValue> fb || fb.IsSet != IsSet)
        {
            throw new FormatException("no first bucket in a non-empty BTree");
        }
        _children = children;
        _keys = keys;
        _len = len;
        _firstBucket = fb;
    }

    protected override void ClearState()
    {
        _children = [];
        _keys = [];
        _len = 0;
        _firstBucket = null;
    }
}
