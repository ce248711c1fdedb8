using Wendelin.Arrays.BigFile;
using Wendelin.Storage;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;

namespace Wendelin.Arrays.Zodb;

// The block table after our own commit (spec/zbigfile.md ZB-41a); holes told apart at load (spec/bigfile.md BF-10a).
internal sealed partial class ZBigFileHandle : IHoleAwareBlockFile
{
    private Tid _commitBase; // the snapshot our writeout started from

    /// <summary>
    /// ZB-41a after our own commit changed the block table: the table objects our commit wrote are the ones on
    /// the paths to the stored blocks whose serial is newer than the snapshot the commit started from (and, found
    /// by <see cref="BlockTableSnapshot.Update"/>, split-off siblings); only those are re-read.
    /// </summary>
    private BlockTableSnapshot TableAfterOwnCommit(Tid before)
    {
        Tid since = _commitBase;
        bool Written(Persistent p) => p.PersistentState != PersistentState.Ghost && p.PersistentSerial >= since;
        LOBTree root = _file.BlockTable;
        var seeds = new List<Persistent>();
        foreach (long b in _stored)
        {
            TreeBase<long, object?> node = root;
            for (int depth = 0; depth <= 64; depth++)
            {
                node.Activate();
                if (Written(node))
                {
                    seeds.Add(node);
                }
                if (node._len == 0)
                {
                    break;
                }
                Persistent child = node._children[node.SearchChild(b)];
                if (child is TreeBase<long, object?> sub)
                {
                    node = sub;
                    continue;
                }
                if (child.PersistentOid is not null && Written(child))
                {
                    seeds.Add(child);
                }
                break;
            }
        }
        // our own blocks' pages hold what we stored: nothing to invalidate
        return _snapshot.Update(_file, before, seeds, Written, new HashSet<long>());
    }

    /// <summary>
    /// ZB-41a at a boundary where other transactions changed objects of the table (<paramref name="tableOids"/>,
    /// among all the changed <paramref name="oids"/>): only those objects, and new nodes under them, are re-read;
    /// the blocks whose entry changed are added to <paramref name="changed"/>. An object that cannot be had any more
    /// makes the table be walked whole.
    /// </summary>
    private BlockTableSnapshot TableAfterInvalidation(BlockTableSnapshot old, Tid before, List<Oid> tableOids, IReadOnlyCollection<Oid> oids, HashSet<long> changed)
    {
        var seeds = new List<Persistent>(tableOids.Count);
        try
        {
            foreach (Oid oid in tableOids)
            {
                seeds.Add(_conn.Get(oid));
            }
        }
        catch (StorageException)
        {
            return old.Rebuild(_file, before, changed);
        }
        IReadOnlySet<Oid> set = oids as IReadOnlySet<Oid> ?? new HashSet<Oid>(oids);
        return old.Update(_file, before, seeds, p => p.PersistentOid is { } o && set.Contains(o), changed);
    }

    /// <summary>A block without an entry in the snapshot's table is a hole (ZB-6): nothing is loaded, the buffer cleared only if needed.</summary>
    bool IHoleAwareBlockFile.LoadBlockOrHole(long block, Span<byte> buffer, bool bufferIsZero)
    {
        if (!_snapshot.Blocks.ContainsKey(block))
        {
            if (!bufferIsZero)
            {
                buffer.Clear();
            }
            return false;
        }
        LoadBlock(block, buffer); // (a boundary in between may make it a hole after all: then it is loaded as zeros)
        return true;
    }
}
