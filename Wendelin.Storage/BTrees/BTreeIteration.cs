using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.BTrees;

/// <summary>Ordered range walks over a tree's bucket chain (Python's <c>BTree_findRangeEnd</c> and iterators).</summary>
internal static class BTreeIteration
{
    public static IEnumerable<KeyValuePair<TKey, TValue>> Range<TKey, TValue>(
        TreeBase<TKey, TValue> tree, bool hasMin, TKey min, bool excludeMin, bool hasMax, TKey max, bool excludeMax)
    {
        tree.Activate();
        int version = tree._version;
        BucketBase<TKey, TValue>? bucket;
        int index;
        if (hasMin)
        {
            bucket = tree.FindBucket(min);
            if (bucket is null)
            {
                yield break;
            }
            int i = bucket.Search(min);
            index = i >= 0 ? (excludeMin ? i + 1 : i) : ~i;
        }
        else
        {
            bucket = tree._firstBucket;
            index = 0;
        }
        while (bucket is not null)
        {
            bucket.Activate();
            if (index >= bucket._count)
            {
                bucket = bucket._next;
                index = 0;
                continue;
            }
            TKey key = bucket._keys[index];
            if (hasMax)
            {
                int c = KeyOps<TKey>.Compare(key, max);
                if (c > 0 || (c == 0 && excludeMax))
                {
                    yield break;
                }
            }
            TValue value = bucket.IsSet ? default! : bucket._values[index];
            yield return new KeyValuePair<TKey, TValue>(key, value);
            if (tree._version != version)
            {
                throw new InvalidOperationException("the BTree changed while it was being enumerated");
            }
            index++;
        }
    }

    public static TKey MinKey<TKey, TValue>(TreeBase<TKey, TValue> tree)
    {
        tree.Activate();
        for (BucketBase<TKey, TValue>? b = tree._firstBucket; b is not null; b = b._next)
        {
            b.Activate();
            if (b._count > 0)
            {
                return b._keys[0];
            }
        }
        throw new InvalidOperationException("the BTree is empty");
    }

    public static TKey MaxKey<TKey, TValue>(TreeBase<TKey, TValue> tree)
    {
        tree.Activate();
        TreeBase<TKey, TValue> node = tree;
        while (true)
        {
            if (node._len == 0)
            {
                throw new InvalidOperationException("the BTree is empty");
            }
            Persistent last = node._children[node._len - 1];
            if (last is TreeBase<TKey, TValue> sub)
            {
                sub.Activate();
                node = sub;
                continue;
            }
            var bucket = (BucketBase<TKey, TValue>)last;
            bucket.Activate();
            return bucket._keys[bucket._count - 1];
        }
    }
}
