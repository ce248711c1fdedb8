using System.Globalization;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Verify;

/// <summary>
/// wendelin.core's ZBigFile consistency at the pickle level (spec/verify.md §5; wendelin-core §2.2–§2.5): the
/// ZBigFile state, its LOBTree block table, block numbers, block objects, ZBlk0 payload sizes, ZBlk1 chunk trees
/// (offsets, bounds, overlaps) and ZData states. Storage does not reference the arrays layer: it reads the classes by
/// name, as ZODB stored them.
/// </summary>
internal sealed class ZBigFileCheck
{
    private readonly Dictionary<ulong, ObjectInfo> _objects;
    private readonly BTreeCheck _trees;
    private readonly List<Finding> _findings = [];
    private readonly Dictionary<ulong, (Oid File, long Block)> _owners = [];

    public ZBigFileCheck(Dictionary<ulong, ObjectInfo> objects, BTreeCheck trees)
    {
        _objects = objects;
        _trees = trees;
    }

    public List<Finding> Run()
    {
        foreach ((ulong oid, ObjectInfo info) in _objects)
        {
            if (info.Status == ObjectStatus.Ok && info.Class == ObjectScan.ZBigFileClass)
            {
                CheckFile(new Oid(oid), info);
            }
        }
        return _findings;
    }

    private void CheckFile(Oid file, ObjectInfo info)
    {
        if (info.State is not PickleTuple { Count: 2 } t || !t[0].TryGetInt64(out long blksize) || blksize <= 0
            || Ref(t[1]) is not Oid blktab)
        {
            Add(Checks.ZBigFileState, file, $"the state is {info.State?.Describe() ?? "unknown"}, not (blksize > 0, reference to an LOBTree)");
            return;
        }
        if (!_objects.TryGetValue(blktab.Value, out ObjectInfo? table) || table.Status != ObjectStatus.Ok)
        {
            return; // reported by the reference checks
        }
        if (table.Class != "BTrees.LOBTree.LOBTree")
        {
            Add(Checks.BlockTable, file, $"the block table {blktab} is a {table.Class ?? "?"}, not a BTrees.LOBTree.LOBTree");
            return;
        }
        if (!_trees.TryGetItems(blktab, out List<(PickleValue Key, PickleValue? Value)> blocks))
        {
            return; // the tree has shape errors of its own
        }
        foreach ((PickleValue key, PickleValue? value) in blocks)
        {
            long blk = key.TryGetInt64(out long k) ? k : -1;
            if (blk < 0)
            {
                Add(Checks.BlockKey, file, $"block number {key.Describe()} is negative");
                continue;
            }
            if (value is null || Ref(value) is not Oid zblk)
            {
                Add(Checks.BlockValue, file, Inv($"block {blk} is {value?.Describe() ?? "nothing"}, not a reference to a ZBlk"));
                continue;
            }
            if (!_objects.TryGetValue(zblk.Value, out ObjectInfo? z) || z.Status != ObjectStatus.Ok)
            {
                continue;
            }
            if (_owners.TryGetValue(zblk.Value, out (Oid File, long Block) owner))
            {
                Add(Checks.SharedBlock, zblk, Inv($"the block object is block {blk} of {file} and block {owner.Block} of {owner.File}"));
                continue;
            }
            _owners[zblk.Value] = (file, blk);
            switch (z.Class)
            {
                case ObjectScan.ZBlk0Class or ObjectScan.ZBlkClass:
                    if (z.BytesLength < 0)
                    {
                        Add(Checks.ZBlk0Size, zblk, Inv($"block {blk} of {file}: the state is not bytes"));
                    }
                    else if (z.BytesLength > blksize)
                    {
                        Add(Checks.ZBlk0Size, zblk, Inv($"block {blk} of {file}: {z.BytesLength} bytes, more than the block size {blksize}"));
                    }
                    break;
                case ObjectScan.ZBlk1Class:
                    CheckZBlk1(file, blk, blksize, zblk, z);
                    break;
                default:
                    Add(Checks.BlockValue, file, Inv($"block {blk} is a {z.Class ?? "?"} ({zblk}), not a ZBlk0, ZBlk1 or ZBlk"));
                    break;
            }
        }
    }

    private void CheckZBlk1(Oid file, long blk, long blksize, Oid zblk, ObjectInfo z)
    {
        if (z.State is null || Ref(z.State) is not Oid chunktab)
        {
            Add(Checks.ZBlk1State, zblk, Inv($"block {blk} of {file}: the state is {z.State?.Describe() ?? "unknown"}, not a reference to an IOBTree"));
            return;
        }
        if (!_objects.TryGetValue(chunktab.Value, out ObjectInfo? tab) || tab.Status != ObjectStatus.Ok)
        {
            return;
        }
        if (tab.Class != "BTrees.IOBTree.IOBTree")
        {
            Add(Checks.ZBlk1State, zblk, Inv($"block {blk} of {file}: the chunk table {chunktab} is a {tab.Class ?? "?"}, not a BTrees.IOBTree.IOBTree"));
            return;
        }
        if (!_trees.TryGetItems(chunktab, out List<(PickleValue Key, PickleValue? Value)> chunks))
        {
            return;
        }
        long previousEnd = 0;
        long previousKey = -1;
        foreach ((PickleValue key, PickleValue? value) in chunks)
        {
            long offset = key.TryGetInt64(out long o) ? o : -1;
            if (offset < 0 || offset >= blksize)
            {
                Add(Checks.ChunkKey, zblk, Inv($"block {blk} of {file}: chunk offset {key.Describe()} outside [0, {blksize})"));
                continue;
            }
            if (value is null || Ref(value) is not Oid zdata || !_objects.TryGetValue(zdata.Value, out ObjectInfo? d) || d.Status != ObjectStatus.Ok)
            {
                if (value is null || Ref(value) is null)
                {
                    Add(Checks.ZData, zblk, Inv($"block {blk} of {file}: chunk {offset} is {value?.Describe() ?? "nothing"}, not a reference to a ZData"));
                }
                continue;
            }
            if (d.Class != ObjectScan.ZDataClass || d.BytesLength < 0)
            {
                Add(Checks.ZData, zdata, Inv($"block {blk} of {file}: chunk {offset} is a {d.Class ?? "?"}{(d.Class == ObjectScan.ZDataClass ? " whose state is not bytes" : ", not a ZData")}"));
                continue;
            }
            if (d.BytesLength == 0)
            {
                Add(Checks.EmptyZData, zdata, Inv($"block {blk} of {file}: chunk {offset} is empty"));
            }
            if (previousKey >= 0 && offset < previousEnd)
            {
                Add(Checks.ChunkOverlap, zblk, Inv($"block {blk} of {file}: chunk {offset} starts inside chunk {previousKey}, which ends at {previousEnd}"));
            }
            if (offset + d.BytesLength > blksize)
            {
                Add(Checks.ChunkBounds, zblk, Inv($"block {blk} of {file}: chunk {offset} of {d.BytesLength} bytes ends at {offset + d.BytesLength}, past the block size {blksize}"));
            }
            previousKey = offset;
            previousEnd = offset + d.BytesLength;
        }
    }

    private static Oid? Ref(PickleValue v) =>
        v is PicklePersistentId p && p.Reference is { IsStrongSameDatabase: true } r ? r.Oid : null;

    private void Add(Check check, Oid oid, string message)
    {
        ObjectInfo? info = _objects.GetValueOrDefault(oid.Value);
        _findings.Add(Checks.Make(check, info?.Position, oid, info?.Serial, $"{info?.Class ?? "?"}: {message}"));
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
