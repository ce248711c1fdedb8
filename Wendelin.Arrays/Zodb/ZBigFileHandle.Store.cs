using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using Wendelin.Arrays.BigFile;
using Wendelin.Storage;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;

namespace Wendelin.Arrays.Zodb;

// Writing dirty blocks as ZBlk objects (spec/zbigfile.md §3: ZB-20..ZB-31).
internal sealed partial class ZBigFileHandle : IStoreSource
{
    private readonly List<long> _stored = [];
    private readonly HashSet<long> _restructured = [];
    private readonly List<Persistent> _pending = [];
    private bool _tableChanged;
    private byte[]? _storeBuffer;
    private PageLoan? _loan;

    public void StoreBlock(long block, ReadOnlySpan<byte> buffer) => StoreBlock(block, buffer, default, 0);

    /// <summary>
    /// Stores one dirty block (called in ascending block order by the writeout of our commit step): picks the
    /// format (ZB-20..ZB-22), replaces the block's object when it is missing or of the other class, and marks what
    /// changed. The bytes themselves are taken from the page when the connection pickles the objects (ZB-30).
    /// </summary>
    public void StoreBlock(long block, ReadOnlySpan<byte> buffer, ReadOnlySpan<ulong> changedUnits, int unitSize)
    {
        LOBTree table = _file.BlockTable;
        table.TryGetValue(block, out object? current);
        Persistent? existing = current as Persistent;
        if (current is not null && existing is null)
        {
            throw new CorruptBlockException(block, _file.PersistentOid ?? default, "wendelin.bigfile.file_zodb.ZBigFile",
                $"the block table holds a {PythonValues.TypeName(current)} for this block, not a ZBlk object (ZB-2)");
        }
        bool zblk1 = _file.BlockFormat switch
        {
            ZBlkFormat.ZBlk1 => true,
            ZBlkFormat.Auto => AutoWantsZBlk1(table, block, buffer, existing, changedUnits, unitSize),
            _ => false,
        };
        if (zblk1)
        {
            StoreZBlk1(table, block, buffer, existing, changedUnits, unitSize);
        }
        else
        {
            StoreZBlk0(table, block, existing);
        }
        _stored.Add(block);
    }

    private void StoreZBlk0(LOBTree table, long block, Persistent? existing)
    {
        Tid? known = null;
        if (existing is not ZBlk0 z)
        {
            Replacing(existing);
            z = new ZBlk0();
            table[block] = z;
            _tableChanged = true;
        }
        else if (LoadedInfo(block) is { } info && info.ZBlk == z.PersistentOid)
        {
            known = info.Serial; // the revision our page was loaded from: no need to load the 2 MiB we replace
        }
        z.StoreFrom(this, block, BlockSize, known);
        _pending.Add(z);
    }

    /// <summary>
    /// ZB-31: a new ZBlk1 (or one whose chunks are not upstream's 4 KiB layout) gets every non-zero chunk; an
    /// existing regular one only the chunks whose bytes changed — known exactly from the paging layer's changed
    /// units when they are 4 KiB, else by comparing with the stored block — updated in place (same ZData), added,
    /// or deleted when now all zeros. The ZBlk1 itself is marked changed so that other connections hear of it.
    /// </summary>
    private void StoreZBlk1(LOBTree table, long block, ReadOnlySpan<byte> buffer, Persistent? existing, ReadOnlySpan<ulong> changedUnits, int unitSize)
    {
        const int chunk = BlockReader.ChunkSize;
        int chunks = BlockSize / chunk;
        bool fresh = false;
        if (existing is not ZBlk1 z)
        {
            Replacing(existing);
            z = new ZBlk1();
            table[block] = z;
            _tableChanged = true;
            fresh = true;
            _restructured.Add(block);
        }
        IOBTree tab = z.ChunkTable;
        if (!fresh && !IsRegular(block, existing!))
        {
            tab.Clear();
            fresh = true;
            _restructured.Add(block);
        }
        bool any = false;
        if (fresh)
        {
            for (int i = 0; i < chunks; i++)
            {
                any |= StoreChunk(tab, block, i * chunk, buffer.Slice(i * chunk, chunk), fresh: true);
            }
        }
        else if (unitSize == chunk && changedUnits.Length * 64 >= chunks)
        {
            // what the block's last load found: a chunk that stays is updated without loading it or the chunk tree
            LoadedBlock? info = LoadedInfo(block);
            if (info is not { ChunkSerials: not null } || info.ZBlk != z.PersistentOid)
            {
                info = null;
            }
            for (int w = 0; w < changedUnits.Length; w++)
            {
                ulong word = changedUnits[w];
                while (word != 0)
                {
                    int i = (w * 64) + BitOperations.TrailingZeroCount(word);
                    word &= word - 1;
                    if (i < chunks)
                    {
                        ReadOnlySpan<byte> bytes = buffer.Slice(i * chunk, chunk);
                        any |= (info is not null && StoreKnownChunk(info, block, i * chunk, bytes))
                            || StoreChunk(tab, block, i * chunk, bytes, fresh: false);
                    }
                }
            }
        }
        else
        {
            byte[] old = ArrayPool<byte>.Shared.Rent(BlockSize);
            try
            {
                ReadStored(block, old.AsSpan(0, BlockSize));
                for (int i = 0; i < chunks; i++)
                {
                    ReadOnlySpan<byte> now = buffer.Slice(i * chunk, chunk);
                    if (!now.SequenceEqual(old.AsSpan(i * chunk, chunk)))
                    {
                        any |= StoreChunk(tab, block, i * chunk, now, fresh: false);
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(old);
            }
        }
        if (any || fresh)
        {
            z.MarkChanged();
        }
    }

    /// <summary>
    /// A block's object is about to be replaced by one of the other class (ZB-32): the commit must fail if another
    /// transaction changed the old object meanwhile (upstream would silently drop that change with the old object).
    /// </summary>
    private void Replacing(Persistent? old)
    {
        if (old?.PersistentOid is not null && old.PersistentConnection is { } conn)
        {
            conn.ReadCurrent(old);
        }
    }

    /// <summary>
    /// A chunk that has a ZData and stays non-zero, when the block's last load (or our last commit of it) recorded the
    /// ZData's oid and revision: the ZData is updated in place without loading its record, nor the chunk tree that
    /// leads to it (the tree does not change). Its revision is current in this snapshot, or the invalidation of it
    /// would have made the handle forget the block (ZB-43); a change made since by another transaction conflicts at
    /// the store, as it would after loading. False when the tree must be used.
    /// </summary>
    private bool StoreKnownChunk(LoadedBlock info, long block, int offset, ReadOnlySpan<byte> bytes)
    {
        if (!info.TryGetChunk(offset, out Oid oid, out Tid serial) || serial == Tid.Zero || bytes.IndexOfAnyExcept((byte)0) < 0)
        {
            return false;
        }
        if (_conn.Referenced(oid, ZodbClasses.FileModule, "ZData") is not ZData zd)
        {
            return false;
        }
        if (zd.PersistentState == PersistentState.Ghost)
        {
            _conn.AdoptGhostAt(zd, serial);
        }
        zd.StoreFrom(this, block, offset, bytes.Length);
        _pending.Add(zd);
        return true;
    }

    /// <summary>Upstream's per-chunk rule: all zeros → no entry; otherwise the chunk's ZData (created when missing) takes the bytes.</summary>
    private bool StoreChunk(IOBTree tab, long block, int offset, ReadOnlySpan<byte> bytes, bool fresh)
    {
        if (bytes.IndexOfAnyExcept((byte)0) < 0)
        {
            if (!fresh && tab.Remove(offset))
            {
                _restructured.Add(block);
                return true;
            }
            return false;
        }
        ZData? zd = null;
        if (!fresh && tab.TryGetValue(offset, out object? v))
        {
            zd = v as ZData;
        }
        if (zd is null)
        {
            zd = new ZData();
            tab[offset] = zd;
            _restructured.Add(block);
        }
        zd.StoreFrom(this, block, offset, bytes.Length);
        _pending.Add(zd);
        return true;
    }

    /// <summary>Whether an existing ZBlk1 has upstream's layout (keys multiples of 4096, chunks ≤ 4096), as its last read found.</summary>
    private bool IsRegular(long block, Persistent zblk)
    {
        LoadedBlock? info = LoadedInfo(block);
        if (info is null || zblk.PersistentOid != info.ZBlk)
        {
            byte[] tmp = ArrayPool<byte>.Shared.Rent(BlockSize);
            try
            {
                info = zblk.PersistentOid is { } oid
                    ? BlockReader.Read(_storage, block, oid, _snapshot.Before, tmp.AsSpan(0, BlockSize))
                    : null;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(tmp);
            }
        }
        return info?.Regular ?? true;
    }

    /// <summary>The block's content as stored in the snapshot (zeros for a hole).</summary>
    private void ReadStored(long block, Span<byte> buffer)
    {
        BlockTableSnapshot s = _snapshot;
        if (s.Blocks.TryGetValue(block, out var oid))
        {
            BlockReader.Read(_storage, block, oid, s.Before, buffer);
        }
        else
        {
            buffer.Clear();
        }
    }

    // ---- the auto format (ZB-22, wendelin-core §3.4) ----

    /// <summary>
    /// ZB-22: upstream's heuristic on the block's old and new content. The old content is needed only where the
    /// bytes changed: for a ZBlk1 block whose chunks are known and whose changed 4 KiB units the paging layer
    /// reports, only the changed chunks are read (upstream reads the whole block back on every store).
    /// </summary>
    private bool AutoWantsZBlk1(LOBTree table, long block, ReadOnlySpan<byte> buffer, Persistent? existing, ReadOnlySpan<ulong> changedUnits, int unitSize)
    {
        const int unit = BlockReader.ChunkSize;
        int units = BlockSize / unit;
        byte[] old = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            // old[u] is meaningful where changed[u]; elsewhere the old bytes equal the new ones
            bool[] changed = new bool[units];
            LoadedBlock? info = existing?.PersistentOid is { } eo ? LoadedInfo(block) : null;
            bool sparse = existing is ZBlk1 && info is { Chunks: not null, Regular: true } && info.ZBlk == existing.PersistentOid
                && unitSize == unit && changedUnits.Length * 64 >= units;
            if (existing?.PersistentOid is null)
            {
                Array.Clear(old, 0, BlockSize);
                Array.Fill(changed, true);
            }
            else if (sparse)
            {
                for (int u = 0; u < units; u++)
                {
                    if ((changedUnits[u >> 6] & (1UL << (u & 63))) == 0)
                    {
                        continue;
                    }
                    changed[u] = true;
                    Span<byte> o = old.AsSpan(u * unit, unit);
                    o.Clear();
                    if (info!.TryGetChunk(u * unit, out Oid zdata))
                    {
                        ReadOnlyMemory<byte> bytes = BlockReader.ReadChunk(_storage, block, zdata, _snapshot.Before);
                        if (bytes.Length > unit)
                        {
                            throw new CorruptBlockException(block, zdata, "wendelin.bigfile.file_zodb.ZData", $"a chunk of {bytes.Length} bytes in a block read as regular");
                        }
                        bytes.Span.CopyTo(o);
                    }
                }
            }
            else
            {
                ReadStored(block, old.AsSpan(0, BlockSize));
                Array.Fill(changed, true);
            }

            // lengths without trailing zeros, the byte difference (upstream's memdelta) and "new starts with old"
            int newLen = StrippedLength(buffer);
            int oldLen = 0;
            for (int u = units - 1; u >= 0 && oldLen == 0; u--)
            {
                ReadOnlySpan<byte> o = changed[u] ? old.AsSpan(u * unit, unit) : buffer.Slice(u * unit, unit);
                int lastNonZero = o.LastIndexOfAnyExcept((byte)0);
                if (lastNonZero >= 0)
                {
                    oldLen = u * unit + lastNonZero + 1;
                }
            }
            int common = Math.Min(newLen, oldLen);
            long delta = Math.Abs(newLen - oldLen);
            bool startsWith = newLen >= oldLen;
            for (int u = 0; u < units && u * unit < common; u++)
            {
                if (changed[u])
                {
                    int end = Math.Min(common, (u + 1) * unit);
                    long d = MemDelta(buffer[(u * unit)..end], old.AsSpan(u * unit, end - u * unit));
                    delta += d;
                    startsWith &= d == 0;
                }
            }
            long last = LastKey(table);
            bool appendOld = block == last && startsWith;
            bool appendNew = block == last + 1 && oldLen == 0;
            bool small = delta < BlockSize / 2;
            if (appendOld || appendNew)
            {
                if (appendNew && block > 0 && _stored.Count > 0 && _stored[^1] == block - 1
                    && table.TryGetValue(block - 1, out object? prev) && prev is ZBlk1)
                {
                    // the block before was filled up in this transaction: it moves to the fast format
                    Replacing((Persistent)prev);
                    var z0 = new ZBlk0();
                    table[block - 1] = z0;
                    _tableChanged = true;
                    z0.StoreFrom(this, block - 1, BlockSize);
                    _pending.Add(z0);
                }
                bool filled = newLen == BlockSize;
                return small && !filled;
            }
            return small;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(old);
        }
    }

    private static long LastKey(LOBTree table)
    {
        foreach (KeyValuePair<long, object?> _ in table)
        {
            return table.MaxKey();
        }
        return -1;
    }

    /// <summary>Upstream's memdelta: the length difference plus the number of differing bytes over the common prefix.</summary>
    internal static long MemDelta(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int n = Math.Min(a.Length, b.Length);
        long delta = Math.Abs(a.Length - b.Length);
        ReadOnlySpan<ulong> wa = MemoryMarshal.Cast<byte, ulong>(a[..n]);
        ReadOnlySpan<ulong> wb = MemoryMarshal.Cast<byte, ulong>(b[..n]);
        for (int i = 0; i < wa.Length; i++)
        {
            ulong x = wa[i] ^ wb[i];
            if (x != 0)
            {
                // count the non-zero bytes of x
                x |= x >> 4;
                x |= x >> 2;
                x |= x >> 1;
                delta += BitOperations.PopCount(x & 0x0101010101010101UL);
            }
        }
        for (int i = wa.Length * 8; i < n; i++)
        {
            if (a[i] != b[i])
            {
                delta++;
            }
        }
        return delta;
    }

    private static int StrippedLength(ReadOnlySpan<byte> bytes) => bytes.LastIndexOfAnyExcept((byte)0) + 1;

    // ---- IStoreSource: the bytes of a stored block, read when the connection pickles its objects ----

    /// <summary>Payloads at least this long are lent from the page (BF-56) rather than copied.</summary>
    internal const int LendFromBytes = 64 << 10;

    /// <summary>
    /// The bytes of the block without trailing zeros (ZB-30a): a large payload of a resident page is the page's own
    /// memory, lent (BF-56) until the next call or the end of the store; otherwise the bytes are copied from the
    /// handle (the page in RAM, or its spilled copy: BF-54, no view is mapped) into the store buffer, reused from
    /// object to object.
    /// </summary>
    public ReadOnlyMemory<byte> ReadStripped(long block, int offset, int length)
    {
        _loan?.Return();
        if (length >= LendFromBytes)
        {
            _loan ??= Handle.CreateLoan();
            if (_loan.TryBorrow(block, offset, length))
            {
                Memory<byte> lent = _loan.Memory;
                return lent[..StrippedLength(lent.Span)];
            }
        }
        if (_storeBuffer is null || _storeBuffer.Length < length)
        {
            ReturnStoreBuffer();
            _storeBuffer = ArrayPool<byte>.Shared.Rent(length);
        }
        Span<byte> s = _storeBuffer.AsSpan(0, length);
        Handle.Read(block * BlockSize + offset, s);
        return _storeBuffer.AsMemory(0, StrippedLength(s));
    }

    private void ReturnStoreBuffer()
    {
        _loan?.Return();
        if (_storeBuffer is { } b)
        {
            _storeBuffer = null;
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}
