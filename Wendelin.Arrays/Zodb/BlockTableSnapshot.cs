using Wendelin.Storage;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;

namespace Wendelin.Arrays.Zodb;

/// <summary>
/// What a handle knows of its file's block table as of one database snapshot (ZB-41): the tid bound loads use
/// (<c>LoadBefore(oid, Before)</c>), block number → ZBlk oid for every committed entry, and the oids of the
/// objects the table is made of (the ZBigFile, the LOBTree and its nodes and buckets). Immutable: loader threads
/// read it without locks while the connection's thread replaces it at a transaction boundary.
/// </summary>
internal sealed class BlockTableSnapshot
{
    private readonly Dictionary<long, Oid> _blocks;
    private readonly HashSet<Oid> _nodes;
    private Dictionary<Oid, long>? _owners;

    private BlockTableSnapshot(Tid before, Dictionary<long, Oid> blocks, HashSet<Oid> nodes)
    {
        Before = before;
        _blocks = blocks;
        _nodes = nodes;
    }

    /// <summary>Loads see the database as of just before this tid.</summary>
    public Tid Before { get; }

    /// <summary>Block number → oid of its ZBlk object (committed entries only).</summary>
    public IReadOnlyDictionary<long, Oid> Blocks => _blocks;

    /// <summary>Oids of the ZBigFile and of the block table's tree nodes and buckets.</summary>
    public IReadOnlySet<Oid> Nodes => _nodes;

    /// <summary>The same table at a later snapshot (nothing in it changed).</summary>
    public BlockTableSnapshot At(Tid before) =>
        before == Before ? this : new BlockTableSnapshot(before, _blocks, _nodes) { _owners = _owners };

    /// <summary>The block whose ZBlk object is <paramref name="oid"/>, if any.</summary>
    public bool TryGetBlockOf(Oid oid, out long block)
    {
        Dictionary<Oid, long>? owners = _owners;
        if (owners is null)
        {
            owners = new Dictionary<Oid, long>(_blocks.Count);
            foreach ((long b, Oid o) in _blocks)
            {
                owners[o] = b;
            }
            _owners = owners;
        }
        return owners.TryGetValue(oid, out block);
    }

    /// <summary>
    /// Walks the live block table of <paramref name="file"/> (on the connection's thread; ghosts are loaded as of
    /// the connection's snapshot, which must be the one <paramref name="before"/> names).
    /// </summary>
    public static BlockTableSnapshot Build(ZBigFile file, Tid before)
    {
        var blocks = new Dictionary<long, Oid>();
        var nodes = new HashSet<Oid>();
        if (file.PersistentOid is { } fileOid)
        {
            nodes.Add(fileOid);
        }
        Walk(file.BlockTable, blocks, nodes, 0);
        return new BlockTableSnapshot(before, blocks, nodes);
    }

    private static void Walk(TreeBase<long, object?> tree, Dictionary<long, Oid> blocks, HashSet<Oid> nodes, int depth)
    {
        if (depth > 64)
        {
            throw new InvalidOperationException("the ZBigFile block table is deeper than 64 levels (a cycle?)");
        }
        tree.Activate();
        if (tree.PersistentOid is { } oid)
        {
            nodes.Add(oid);
        }
        for (int i = 0; i < tree._len; i++)
        {
            switch (tree._children[i])
            {
                case TreeBase<long, object?> sub:
                    Walk(sub, blocks, nodes, depth + 1);
                    break;
                case BucketBase<long, object?> bucket:
                    bucket.Activate();
                    if (bucket.PersistentOid is { } bo)
                    {
                        nodes.Add(bo);
                    }
                    for (int k = 0; k < bucket._count; k++)
                    {
                        if (bucket._values[k] is Persistent p && p.PersistentOid is { } po)
                        {
                            blocks[bucket._keys[k]] = po;
                        }
                    }
                    break;
            }
        }
    }
}
