using System.Collections.Immutable;
using Wendelin.Storage;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;

namespace Wendelin.Arrays.Zodb;

/// <summary>
/// What a handle knows of its file's block table as of one database snapshot (ZB-41): the tid bound loads use
/// (<c>LoadBefore(oid, Before)</c>), block number → ZBlk oid for every committed entry (and the reverse), and the
/// objects the table is made of (the ZBigFile, the LOBTree and its nodes and buckets) with what each holds.
/// Immutable: loader threads read it without locks while the connection's thread replaces it at a transaction
/// boundary. A new snapshot after a change of the table is derived from the old one in time proportional to the
/// changed nodes (<see cref="Update"/>, ZB-41a), never to the size of the table: the maps are persistent
/// (immutable) dictionaries that share everything unchanged.
/// </summary>
internal sealed class BlockTableSnapshot
{
    private readonly ImmutableDictionary<long, Oid> _blocks;
    private readonly ImmutableDictionary<Oid, long> _owners;
    private readonly ImmutableDictionary<Oid, long[]> _nodes; // tree node or bucket → the keys it holds itself (a tree: its inline bucket's)
    private readonly Oid? _fileOid;
    private readonly Oid? _rootOid;

    private BlockTableSnapshot(Tid before, ImmutableDictionary<long, Oid> blocks, ImmutableDictionary<Oid, long> owners,
        ImmutableDictionary<Oid, long[]> nodes, Oid? fileOid, Oid? rootOid)
    {
        Before = before;
        _blocks = blocks;
        _owners = owners;
        _nodes = nodes;
        _fileOid = fileOid;
        _rootOid = rootOid;
    }

    /// <summary>Loads see the database as of just before this tid.</summary>
    public Tid Before { get; }

    /// <summary>Block number → oid of its ZBlk object (committed entries only).</summary>
    public IReadOnlyDictionary<long, Oid> Blocks => _blocks;

    /// <summary>Whether <paramref name="oid"/> is the ZBigFile or one of the block table's tree nodes and buckets.</summary>
    public bool IsTableObject(Oid oid) => oid == _fileOid || _nodes.ContainsKey(oid);

    /// <summary>The tree nodes and buckets known (for tests).</summary>
    internal IEnumerable<Oid> TableObjects => _nodes.Keys;

    /// <summary>The same table at a later snapshot (nothing in it changed).</summary>
    public BlockTableSnapshot At(Tid before) =>
        before == Before ? this : new BlockTableSnapshot(before, _blocks, _owners, _nodes, _fileOid, _rootOid);

    /// <summary>The block whose ZBlk object is <paramref name="oid"/>, if any.</summary>
    public bool TryGetBlockOf(Oid oid, out long block) => _owners.TryGetValue(oid, out block);

    /// <summary>
    /// Walks the whole live block table of <paramref name="file"/> (on the connection's thread; ghosts are loaded
    /// as of the connection's snapshot, which must be the one <paramref name="before"/> names). Used when a handle
    /// opens and as the fallback of <see cref="Update"/>.
    /// </summary>
    public static BlockTableSnapshot Build(ZBigFile file, Tid before)
    {
        var blocks = ImmutableDictionary.CreateBuilder<long, Oid>();
        var owners = ImmutableDictionary.CreateBuilder<Oid, long>();
        var nodes = ImmutableDictionary.CreateBuilder<Oid, long[]>();
        LOBTree root = file.BlockTable;
        Walk(root, nodes, blocks, owners, 0);
        return new BlockTableSnapshot(before, blocks.ToImmutable(), owners.ToImmutable(), nodes.ToImmutable(), file.PersistentOid, root.PersistentOid);
    }

    /// <summary>
    /// ZB-41a: the table after some of its objects changed, derived from this snapshot. <paramref name="seeds"/>
    /// are table objects known to have changed; <paramref name="changed"/> says whether another node met on the
    /// way (a child of a changed tree node) changed too. Changed nodes are re-read; children that are new are
    /// walked whole; the entries of every key a changed or new node held before or holds now are looked up in
    /// the live table and compared. The blocks whose entry changed, appeared or went away are added to
    /// <paramref name="changedBlocks"/>. When the ZBigFile itself changed, a node cannot be read, or the table's
    /// root is not known yet, the whole table is walked again (<see cref="Build"/>) and diffed.
    /// </summary>
    public BlockTableSnapshot Update(ZBigFile file, Tid before, IEnumerable<Persistent> seeds, Func<Persistent, bool> changed, ISet<long> changedBlocks)
    {
        LOBTree root = file.BlockTable;
        if (_rootOid is null || root.PersistentOid != _rootOid || file.PersistentOid != _fileOid)
        {
            return Rebuild(file, before, changedBlocks);
        }
        var nodes = _nodes.ToBuilder();
        var candidates = new HashSet<long>();
        var queued = new HashSet<Persistent>(ReferenceEqualityComparer.Instance);
        var queue = new Queue<Persistent>();
        foreach (Persistent s in seeds)
        {
            if (queued.Add(s))
            {
                queue.Enqueue(s);
            }
        }
        var inline = new List<long>();
        while (queue.TryDequeue(out Persistent? node))
        {
            if (node.PersistentOid is not { } oid)
            {
                return Rebuild(file, before, changedBlocks); // an object not stored yet: not ours to mirror
            }
            if (nodes.TryGetValue(oid, out long[]? old))
            {
                candidates.UnionWith(old);
            }
            inline.Clear();
            switch (node)
            {
                case TreeBase<long, object?> tree:
                    tree.Activate();
                    for (int i = 0; i < tree._len; i++)
                    {
                        Persistent child = tree._children[i];
                        if (child.PersistentOid is not { } co)
                        {
                            if (child is not BucketBase<long, object?> b)
                            {
                                return Rebuild(file, before, changedBlocks);
                            }
                            b.Activate();
                            for (int k = 0; k < b._count; k++)
                            {
                                inline.Add(b._keys[k]);
                            }
                            continue;
                        }
                        if ((!nodes.ContainsKey(co) || changed(child)) && queued.Add(child))
                        {
                            queue.Enqueue(child); // a new node (a split) or one changed too
                        }
                    }
                    break;
                case BucketBase<long, object?> bucket:
                    bucket.Activate();
                    for (int k = 0; k < bucket._count; k++)
                    {
                        inline.Add(bucket._keys[k]);
                    }
                    break;
                default:
                    return Rebuild(file, before, changedBlocks);
            }
            candidates.UnionWith(inline);
            nodes[oid] = [.. inline];
        }
        if (queued.Count == 0)
        {
            return At(before);
        }
        var blocks = _blocks.ToBuilder();
        var owners = _owners.ToBuilder();
        foreach (long k in candidates)
        {
            Set(root, k, blocks, owners, changedBlocks);
        }
        return new BlockTableSnapshot(before, blocks.ToImmutable(), owners.ToImmutable(), nodes.ToImmutable(), _fileOid, _rootOid);
    }

    /// <summary>The table walked again whole, and every entry that differs from this snapshot reported.</summary>
    internal BlockTableSnapshot Rebuild(ZBigFile file, Tid before, ISet<long> changedBlocks)
    {
        BlockTableSnapshot next = Build(file, before);
        foreach ((long b, Oid oid) in _blocks)
        {
            if (!next._blocks.TryGetValue(b, out Oid now) || now != oid)
            {
                changedBlocks.Add(b);
            }
        }
        foreach (long b in next._blocks.Keys)
        {
            if (!_blocks.ContainsKey(b))
            {
                changedBlocks.Add(b);
            }
        }
        return next;
    }

    /// <summary>Takes block <paramref name="key"/>'s entry from the live table into the maps; reports it when it changed.</summary>
    private static void Set(LOBTree root, long key, ImmutableDictionary<long, Oid>.Builder blocks, ImmutableDictionary<Oid, long>.Builder owners, ISet<long>? changedBlocks)
    {
        Oid? now = root.TryGetValue(key, out object? v) && v is Persistent { PersistentOid: { } o } ? o : null;
        bool had = blocks.TryGetValue(key, out Oid was);
        if (had && now == was)
        {
            return;
        }
        if (had)
        {
            blocks.Remove(key);
            if (owners.TryGetValue(was, out long ob) && ob == key)
            {
                owners.Remove(was);
            }
        }
        if (now is { } n)
        {
            blocks[key] = n;
            owners[n] = key;
        }
        changedBlocks?.Add(key);
    }

    private static void Walk(TreeBase<long, object?> tree, ImmutableDictionary<Oid, long[]>.Builder nodes,
        ImmutableDictionary<long, Oid>.Builder blocks, ImmutableDictionary<Oid, long>.Builder owners, int depth)
    {
        if (depth > 64)
        {
            throw new InvalidOperationException("the ZBigFile block table is deeper than 64 levels (a cycle?)");
        }
        tree.Activate();
        var inline = new List<long>();
        for (int i = 0; i < tree._len; i++)
        {
            switch (tree._children[i])
            {
                case TreeBase<long, object?> sub:
                    Walk(sub, nodes, blocks, owners, depth + 1);
                    break;
                case BucketBase<long, object?> bucket:
                    bucket.Activate();
                    long[] keys = new long[bucket._count];
                    for (int k = 0; k < keys.Length; k++)
                    {
                        long key = keys[k] = bucket._keys[k];
                        if (bucket._values[k] is Persistent { PersistentOid: { } po })
                        {
                            blocks[key] = po;
                            owners[po] = key;
                        }
                    }
                    if (bucket.PersistentOid is { } bo)
                    {
                        nodes[bo] = keys;
                    }
                    else
                    {
                        inline.AddRange(keys);
                    }
                    break;
            }
        }
        if (tree.PersistentOid is { } oid)
        {
            nodes[oid] = [.. inline];
        }
    }
}
