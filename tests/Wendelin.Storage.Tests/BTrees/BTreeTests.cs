using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.Tests.BTrees;

/// <summary>BTree ordering, ranges, key checks and invariants (spec/objects.md OB-40..OB-45).</summary>
public sealed class BTreeTests
{
    [Fact]
    public void Str_keys_are_ordered_by_code_point_not_by_utf16_unit()
    {
        var t = new OOBTree();
        string astral = "\U0001F600", high = "\uFF5E", low = "a";
        t[high] = 1L;
        t[astral] = 2L;
        t[low] = 3L;
        // UTF-16 ordinal order would put the surrogate pair (D83D) before FF5E
        Assert.True(string.CompareOrdinal(astral, high) < 0);
        Assert.Equal([low, high, astral], t.Keys.Cast<string>().ToArray());
        t.Check();
    }

    [Fact]
    public void Keys_python_cannot_order_are_refused()
    {
        var t = new OOBTree();
        t["a"] = 1L;
        Assert.Throws<ArgumentException>(() => t[1L] = 2L);
        Assert.Throws<ArgumentException>(() => t[new object()] = 2L);
        var n = new OOBTree();
        Assert.Throws<ArgumentException>(() => n[null!] = 1L);
        n[1L] = "int";
        n[2.5] = "float";
        n[System.Numerics.BigInteger.Pow(2, 80)] = "big";
        Assert.Equal([1L, 2.5, System.Numerics.BigInteger.Pow(2, 80)], n.Keys.ToArray());
        Assert.Equal("int", n[1.0]);
        // a state whose key does not fit 32 bits is refused (Python: OverflowError)
        var ii = new IIBTree();
        Assert.Throws<ArgumentException>(() => ii.LoadStateFrom(new PyTuple(new PyTuple(new PyTuple(new PyTuple(1L << 40, 1L))))));
        var oi = new OIBTree();
        oi["x"] = int.MaxValue;
        Assert.Equal(int.MaxValue, oi["x"]);
    }

    [Fact]
    public void Ranges_include_or_exclude_their_ends()
    {
        var t = new LLBTree();
        for (long k = 0; k < 1000; k += 2)
        {
            t[k] = -k;
        }
        Assert.Equal([10L, 12L, 14L], t.Items(10, 14).Select(kv => kv.Key).ToArray());
        Assert.Equal([12L], t.Items(10, 14, excludeMin: true, excludeMax: true).Select(kv => kv.Key).ToArray());
        Assert.Equal([12L, 14L], t.Items(11, 15).Select(kv => kv.Key).ToArray());
        Assert.Equal([996L, 998L], t.ItemsFrom(995).Select(kv => kv.Key).ToArray());
        Assert.Equal([0L, 2L], t.ItemsTo(3).Select(kv => kv.Key).ToArray());
        Assert.Empty(t.Items(2000, 3000));
        Assert.Equal(0, t.MinKey());
        Assert.Equal(998, t.MaxKey());
        Assert.Equal(500, t.Count);
        Assert.False(t.Insert(4, 1));
        Assert.Equal(-4, t[4]);
        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (KeyValuePair<long, long> kv in t)
            {
                t[kv.Key + 1] = 0;
            }
        });
        t.Check();
    }

    [Fact]
    public void Deleting_everything_gives_an_empty_tree_again()
    {
        var t = new IIBTree();
        var rng = new Random(3);
        int[] keys = [.. Enumerable.Range(0, 5000).OrderBy(_ => rng.Next())];
        foreach (int k in keys)
        {
            t[k] = k;
        }
        t.Check();
        foreach (int k in keys.OrderBy(_ => rng.Next()))
        {
            Assert.True(t.Remove(k));
        }
        Assert.Empty(t);
        Assert.False(t.Remove(1));
        Assert.Null(t.StateForWrite());
        t.Check();
    }

    [Fact]
    public void Check_finds_a_broken_bucket_chain()
    {
        var t = new LOBTree();
        for (long k = 0; k < 200; k++)
        {
            t[k] = k;
        }
        t.Check();
        BucketBase<long, object?> first = t._firstBucket!;
        first._next = first._next!._next;
        Assert.Throws<BTreeInvariantException>(t.Check);
    }

    [Fact]
    public void Tree_sets_keep_keys_in_order()
    {
        var s = new OOTreeSet();
        Assert.True(s.Add("b"));
        Assert.True(s.Add("a"));
        Assert.False(s.Add("a"));
        Assert.True(s.Contains("b"));
        Assert.Equal(["a", "b"], s.Cast<string>().ToArray());
        Assert.True(s.Remove("a"));
        Assert.False(s.Contains("a"));
        Assert.False(s.Contains(1L));
    }
}
