using Wendelin.Arrays.BigFile;
using System.Buffers;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Pickle;

namespace Wendelin.Arrays.Zodb;

/// <summary>What reading a block found: the objects it is made of, for invalidation (ZB-43) and for writes (ZB-31).</summary>
/// <param name="ZBlk">The block object.</param>
/// <param name="Serial">Its revision.</param>
/// <param name="IsZBlk1">True for a ZBlk1 block.</param>
/// <param name="Regular">For ZBlk1: every chunk key is a multiple of 4096 and every chunk at most 4096 bytes.</param>
/// <param name="Inner">For ZBlk1: the oids of the chunk tree's nodes and buckets and of the chunks, ascending (searched at
/// invalidation).</param>
/// <param name="Before">The snapshot bound it was read at.</param>
/// <param name="Chunks">For ZBlk1: chunk offset → ZData oid, ascending; null when not known.</param>
/// <param name="ChunkSerials">For ZBlk1: the revision of each chunk of <paramref name="Chunks"/> (<see cref="Tid.Zero"/> where
/// not known); null when none is known.</param>
internal sealed record LoadedBlock(Oid ZBlk, Tid Serial, bool IsZBlk1, bool Regular, Oid[] Inner, Tid Before,
    (int Key, Oid Oid)[]? Chunks = null, Tid[]? ChunkSerials = null)
{
    /// <summary>The oid of the chunk at <paramref name="key"/>, if the block has one.</summary>
    public bool TryGetChunk(int key, out Oid oid) => TryGetChunk(key, out oid, out _);

    /// <summary>The oid and revision (<see cref="Tid.Zero"/> when not known) of the chunk at <paramref name="key"/>, if the block has one.</summary>
    public bool TryGetChunk(int key, out Oid oid, out Tid serial)
    {
        (int Key, Oid Oid)[]? chunks = Chunks;
        int lo = 0, hi = (chunks?.Length ?? 0) - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int k = chunks![mid].Key;
            if (k == key)
            {
                oid = chunks[mid].Oid;
                serial = ChunkSerials is { } serials && serials.Length == chunks.Length ? serials[mid] : Tid.Zero;
                return true;
            }
            if (k < key)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        oid = default;
        serial = Tid.Zero;
        return false;
    }
}

/// <summary>
/// Reads blocks straight from the storage as of a snapshot, without the connection's object cache (ZB-1..ZB-8,
/// ZB-42): thread-safe, so the paging layer may load blocks in the background, and nothing of the block stays
/// in the connection. Every check of spec/zbigfile.md §2 is made here; a failure is a
/// <see cref="CorruptBlockException"/> naming the block and the object.
/// </summary>
internal static class BlockReader
{
    private const string Module = "wendelin.bigfile.file_zodb";

    /// <summary>The chunk size upstream writes (and the unit of a "regular" ZBlk1).</summary>
    public const int ChunkSize = 4096;

    /// <summary>
    /// Fills all of <paramref name="buffer"/> (one block) with block <paramref name="block"/>, whose ZBlk object is
    /// <paramref name="oid"/>, as the database was before <paramref name="before"/>.
    /// </summary>
    public static LoadedBlock Read(IStorage storage, long block, Oid oid, Tid before, Span<byte> buffer, LoadedBlock? known = null)
    {
        byte[]? pooled = null;
        try
        {
            return Read(storage, block, oid, before, buffer, b => pooled = b, known);
        }
        finally
        {
            if (pooled is not null)
            {
                ArrayPool<byte>.Shared.Return(pooled);
            }
        }
    }

    /// <summary>
    /// A ZBlk0 block without copying (BF-52, ZB-48): its record read into a pooled buffer and the payload handed
    /// over as a slice of it (trailing zeros implied); null for any other block (ZBlk1, other encodings), which
    /// the caller loads with <see cref="Read(IStorage, long, Oid, Tid, Span{byte}, LoadedBlock?)"/>.
    /// </summary>
    public static (BlockLease Lease, LoadedBlock Info)? TryLease(IStorage storage, long block, Oid oid, Tid before, int blockSize)
    {
        byte[]? pooled = null;
        LoadBeforeResult raw;
        try
        {
            raw = LoadRaw(storage, block, oid, before, b => pooled = b);
        }
        catch
        {
            Return(pooled);
            throw;
        }
        if (!ZBlkRecord.TryPayload(raw.Data, "ZBlk0", out ReadOnlyMemory<byte> fast))
        {
            Return(pooled);
            return null;
        }
        if (fast.Length > blockSize)
        {
            Return(pooled);
            throw new CorruptBlockException(block, oid, "wendelin.bigfile.file_zodb.ZBlk0", $"its payload of {fast.Length} bytes is longer than the block ({blockSize} bytes) (ZB-3)");
        }
        return (new BlockLease(fast, pooled is null ? null : new Pooled(pooled)), new LoadedBlock(oid, raw.Serial, false, true, [], before));
    }

    private static void Return(byte[]? pooled)
    {
        if (pooled is not null)
        {
            ArrayPool<byte>.Shared.Return(pooled);
        }
    }

    /// <summary>Returns a record buffer to the pool when its lease ends.</summary>
    private sealed class Pooled(byte[] buffer) : IDisposable
    {
        private byte[]? _buffer = buffer;

        public void Dispose() => Return(Interlocked.Exchange(ref _buffer, null));
    }

    private static LoadedBlock Read(IStorage storage, long block, Oid oid, Tid before, Span<byte> buffer, Action<byte[]> rented, LoadedBlock? known)
    {
        LoadBeforeResult raw = LoadRaw(storage, block, oid, before, rented);
        if (ZBlkRecord.TryPayload(raw.Data, "ZBlk0", out ReadOnlyMemory<byte> fast))
        {
            if (fast.Length > buffer.Length)
            {
                throw new CorruptBlockException(block, oid, "wendelin.bigfile.file_zodb.ZBlk0", $"its payload of {fast.Length} bytes is longer than the block ({buffer.Length} bytes) (ZB-3)");
            }
            fast.Span.CopyTo(buffer);
            buffer[fast.Length..].Clear();
            return new LoadedBlock(oid, raw.Serial, false, true, [], before);
        }
        ZodbRecord rec = Decode(raw.Data, block, oid);
        Tid serial = raw.Serial;
        string? cls = rec.ClassName;
        if (rec.Module == Module && rec.Name is "ZBlk0" or "ZBlk")
        {
            ReadOnlyMemory<byte> data = Bytes(rec.State, block, oid, cls);
            if (data.Length > buffer.Length)
            {
                throw new CorruptBlockException(block, oid, cls, $"its payload of {data.Length} bytes is longer than the block ({buffer.Length} bytes) (ZB-3)");
            }
            data.Span.CopyTo(buffer);
            buffer[data.Length..].Clear();
            return new LoadedBlock(oid, serial, false, true, [], before);
        }
        if (rec.Module == Module && rec.Name == "ZBlk1")
        {
            buffer.Clear();
            if (rec.State is PickleNone)
            {
                return new LoadedBlock(oid, serial, true, true, [], before);
            }
            Oid tree = Reference(rec.State, block, oid, cls, "its state");
            if (known is { IsZBlk1: true, Chunks: { } layout } && known.ZBlk == oid && known.Serial == serial && storage is FileStorage)
            {
                // the same ZBlk1 revision read before by this handle, and none of its tree's objects changed since
                // (the handle forgets a block's layout when any of them is invalidated, ZB-43): only the chunks load
                List<(int Key, Oid Oid)> again = [.. layout];
                var sink = new ChunkSink(buffer, block, again, new int[again.Count], new Tid[again.Count]);
                LoadMany((FileStorage)storage, block, again, before, ref sink);
                var unused = new List<Oid>();
                bool reg = Place(block, again, sink.Lengths, unused, buffer.Length);
                return known with { Regular = reg, Before = before, ChunkSerials = sink.Serials };
            }
            var inner = new List<Oid>();
            var chunks = new List<(int Key, Oid Oid)>(ChunkSize / 8);
            bool regular = ReadChunks(storage, block, tree, before, buffer, inner, chunks, out Tid[] serials);
            Oid[] sorted = [.. inner];
            Array.Sort(sorted);
            return new LoadedBlock(oid, serial, true, regular, sorted, before, [.. chunks], serials);
        }
        throw new CorruptBlockException(block, oid, cls, "the block table refers to an object that is not a ZBlk0, ZBlk1 or ZBlk (ZB-2)");
    }

    /// <summary>
    /// Reads a ZBlk1's chunk tree into the cleared <paramref name="buffer"/>; true when its layout is regular.
    /// <paramref name="serials"/> gets each chunk's revision (a later write of the chunk need not load it, ZB-31).
    /// </summary>
    private static bool ReadChunks(IStorage storage, long block, Oid tree, Tid before, Span<byte> buffer, List<Oid> inner,
        List<(int Key, Oid Oid)> chunks, out Tid[] serials)
    {
        WalkTree(storage, block, tree, before, chunks, inner, 0);
        serials = new Tid[chunks.Count];
        if (storage is FileStorage fs)
        {
            // the chunks of a block were usually written together: read them in a few large reads
            var sink = new ChunkSink(buffer, block, chunks, new int[chunks.Count], serials);
            LoadMany(fs, block, chunks, before, ref sink);
            return Place(block, chunks, sink.Lengths, inner, buffer.Length);
        }
        // the chunks are independent records: load them in parallel, then check and place them in order
        var payloads = new ReadOnlyMemory<byte>[chunks.Count];
        Tid[] revisions = serials;
        if (chunks.Count >= ParallelChunks)
        {
            int parts = Math.Min(Environment.ProcessorCount * 2, (chunks.Count + ParallelChunks - 1) / ParallelChunks);
            Parallel.For(0, parts, part =>
            {
                for (int i = part; i < payloads.Length; i += parts)
                {
                    payloads[i] = ReadChunk(storage, block, chunks[i].Oid, before, out revisions[i]);
                }
            });
        }
        else
        {
            for (int i = 0; i < payloads.Length; i++)
            {
                payloads[i] = ReadChunk(storage, block, chunks[i].Oid, before, out revisions[i]);
            }
        }
        bool regular = true;
        long end = 0;
        for (int i = 0; i < payloads.Length; i++)
        {
            (int key, Oid zdata) = chunks[i];
            inner.Add(zdata);
            ReadOnlySpan<byte> data = payloads[i].Span;
            if (key < end)
            {
                throw new CorruptBlockException(block, zdata, "wendelin.bigfile.file_zodb.ZData", $"the chunk at offset {key} overlaps the previous one, which ends at {end} (ZB-5)");
            }
            end = (long)key + data.Length;
            if (end > buffer.Length)
            {
                throw new CorruptBlockException(block, zdata, "wendelin.bigfile.file_zodb.ZData", $"the chunk at offset {key} of {data.Length} bytes ends past the block ({buffer.Length} bytes) (ZB-5)");
            }
            data.CopyTo(buffer[key..]);
            regular &= key % ChunkSize == 0 && data.Length <= ChunkSize;
        }
        return regular;
    }

    private static void LoadMany(FileStorage fs, long block, List<(int Key, Oid Oid)> chunks, Tid before, ref ChunkSink sink)
    {
        var oids = new Oid[chunks.Count];
        for (int i = 0; i < oids.Length; i++)
        {
            oids[i] = chunks[i].Oid;
        }
        try
        {
            fs.LoadBeforeMany(oids, before, ref sink);
        }
        catch (PosKeyException ex)
        {
            throw new CorruptBlockException(block, ex.Oid, null, "a chunk is missing: " + ex.Message, ex);
        }
    }

    /// <summary>The overlap and bounds checks of ZB-5 over chunks already copied by <see cref="ChunkSink"/>; true when regular.</summary>
    private static bool Place(long block, List<(int Key, Oid Oid)> chunks, int[] lengths, List<Oid> inner, int blockSize)
    {
        bool regular = true;
        long end = 0;
        for (int i = 0; i < chunks.Count; i++)
        {
            (int key, Oid zdata) = chunks[i];
            inner.Add(zdata);
            if (key < end)
            {
                throw new CorruptBlockException(block, zdata, "wendelin.bigfile.file_zodb.ZData", $"the chunk at offset {key} overlaps the previous one, which ends at {end} (ZB-5)");
            }
            end = (long)key + lengths[i];
            regular &= key % ChunkSize == 0 && lengths[i] <= ChunkSize;
        }
        _ = blockSize;
        return regular;
    }

    /// <summary>Copies each chunk record's payload at its key (bounds checked) as FileStorage delivers them.</summary>
    private ref struct ChunkSink(Span<byte> buffer, long block, List<(int Key, Oid Oid)> chunks, int[] lengths, Tid[] serials) : IRecordSink
    {
        private readonly Span<byte> _buffer = buffer;

        public readonly int[] Lengths = lengths;

        public readonly Tid[] Serials = serials;

        public readonly void Record(int index, ReadOnlySpan<byte> data, Tid serial)
        {
            (int key, Oid zdata) = chunks[index];
            ReadOnlySpan<byte> payload;
            if (ZBlkRecord.TryPayload(data, "ZData", out int offset, out int length))
            {
                payload = data.Slice(offset, length);
            }
            else
            {
                ZodbRecord rec = Decode(data.ToArray(), block, zdata);
                if (rec.Module != Module || rec.Name != "ZData")
                {
                    throw new CorruptBlockException(block, zdata, rec.ClassName, "a chunk of a ZBlk1 is not a ZData (ZB-5)");
                }
                payload = Bytes(rec.State, block, zdata, rec.ClassName).Span;
            }
            if ((long)key + payload.Length > _buffer.Length)
            {
                throw new CorruptBlockException(block, zdata, "wendelin.bigfile.file_zodb.ZData", $"the chunk at offset {key} of {payload.Length} bytes ends past the block ({_buffer.Length} bytes) (ZB-5)");
            }
            payload.CopyTo(_buffer[key..]);
            Lengths[index] = payload.Length;
            Serials[index] = serial;
        }

        public readonly void Missing(int index) =>
            throw new CorruptBlockException(block, chunks[index].Oid, null, "the object did not exist yet in the snapshot being read");
    }

    /// <summary>Chunks per loading thread: below this a ZBlk1's chunks load on the calling thread.</summary>
    private const int ParallelChunks = 64;

    private static void WalkTree(IStorage storage, long block, Oid tree, Tid before, List<(int, Oid)> chunks, List<Oid> inner, int depth)
    {
        if (depth > 32)
        {
            throw new CorruptBlockException(block, tree, null, "the chunk tree is deeper than 32 levels (a cycle?) (ZB-4)");
        }
        inner.Add(tree);
        (ZodbRecord rec, _) = Load(storage, block, tree, before);
        if (rec.ClassName != "BTrees.IOBTree.IOBTree")
        {
            throw new CorruptBlockException(block, tree, rec.ClassName, "the chunk table of a ZBlk1 is not an IOBTree (ZB-4)");
        }
        if (rec.State is PickleNone)
        {
            return;
        }
        if (rec.State is not PickleTuple { Count: 1 or 2 } st || st[0] is not PickleTuple items || items.Count % 2 != 1)
        {
            throw new CorruptBlockException(block, tree, rec.ClassName, "an IOBTree state is None, ((bucket,),) or ((child, key, child, ...), firstbucket) (ZB-4)");
        }
        for (int i = 0; i < items.Count; i += 2)
        {
            switch (items[i])
            {
                case PickleTuple { Count: 1 } inline when inline[0] is PickleTuple inlineItems:
                    // a small tree keeps its only bucket inline: ((bucket_state,),) with bucket_state ((k, v, ...),)
                    Bucket(inlineItems, block, tree, rec.ClassName, chunks);
                    break;
                case PicklePersistentId:
                    Oid child = Reference(items[i], block, tree, rec.ClassName, $"child {i / 2}");
                    (ZodbRecord crec, _) = Load(storage, block, child, before);
                    if (crec.ClassName == "BTrees.IOBTree.IOBucket")
                    {
                        inner.Add(child);
                        if (crec.State is not PickleTuple { Count: 1 or 2 } bst || bst[0] is not PickleTuple bitems)
                        {
                            throw new CorruptBlockException(block, child, crec.ClassName, "an IOBucket state is ((key, value, ...),[ next]) (ZB-4)");
                        }
                        Bucket(bitems, block, child, crec.ClassName, chunks);
                    }
                    else if (crec.ClassName == "BTrees.IOBTree.IOBTree")
                    {
                        WalkTree(storage, block, child, before, chunks, inner, depth + 1);
                    }
                    else
                    {
                        throw new CorruptBlockException(block, child, crec.ClassName, "a chunk tree node is neither an IOBTree nor an IOBucket (ZB-4)");
                    }
                    break;
                default:
                    throw new CorruptBlockException(block, tree, rec.ClassName, $"child {i / 2} of the chunk tree is a {items[i].Describe()} (ZB-4)");
            }
        }
    }

    private static void Bucket(PickleTuple items, long block, Oid oid, string? cls, List<(int Key, Oid Oid)> chunks)
    {
        if (items.Count % 2 != 0)
        {
            throw new CorruptBlockException(block, oid, cls, "an IOBucket holds key/value pairs (ZB-4)");
        }
        for (int i = 0; i < items.Count; i += 2)
        {
            if (!items[i].TryGetInt64(out long key) || key < int.MinValue || key > int.MaxValue)
            {
                throw new CorruptBlockException(block, oid, cls, $"chunk key {items[i].Describe()} is not a 32-bit int (ZB-4)");
            }
            if (key < 0)
            {
                throw new CorruptBlockException(block, oid, cls, $"chunk key {key} is negative (ZB-5)");
            }
            if (chunks.Count > 0 && key <= chunks[^1].Key)
            {
                throw new CorruptBlockException(block, oid, cls, $"chunk keys are not increasing ({chunks[^1].Key} then {key}) (ZB-4)");
            }
            chunks.Add(((int)key, Reference(items[i + 1], block, oid, cls, $"the chunk at {key}")));
        }
    }

    /// <summary>The bytes of one chunk (a ZData record) as of <paramref name="before"/>, checked like a block read.</summary>
    public static ReadOnlyMemory<byte> ReadChunk(IStorage storage, long block, Oid zdata, Tid before) => ReadChunk(storage, block, zdata, before, out _);

    private static ReadOnlyMemory<byte> ReadChunk(IStorage storage, long block, Oid zdata, Tid before, out Tid serial)
    {
        LoadBeforeResult r = LoadRaw(storage, block, zdata, before);
        serial = r.Serial;
        if (ZBlkRecord.TryPayload(r.Data, "ZData", out ReadOnlyMemory<byte> fast))
        {
            return fast;
        }
        ZodbRecord rec = Decode(r.Data, block, zdata);
        if (rec.Module != Module || rec.Name != "ZData")
        {
            throw new CorruptBlockException(block, zdata, rec.ClassName, "a chunk of a ZBlk1 is not a ZData (ZB-5)");
        }
        return Bytes(rec.State, block, zdata, rec.ClassName);
    }

    private static (ZodbRecord Record, Tid Serial) Load(IStorage storage, long block, Oid oid, Tid before)
    {
        LoadBeforeResult found = LoadRaw(storage, block, oid, before);
        return (Decode(found.Data, block, oid), found.Serial);
    }

    /// <summary>
    /// The record's bytes as of <paramref name="before"/>. With <paramref name="rented"/> (the block record itself,
    /// up to a block long) a FileStorage reads it into a pooled buffer handed to <paramref name="rented"/>: the
    /// caller copies the payload out and returns the buffer, so streaming through blocks allocates nothing per block.
    /// </summary>
    private static LoadBeforeResult LoadRaw(IStorage storage, long block, Oid oid, Tid before, Action<byte[]>? rented = null)
    {
        LoadBeforeResult? r;
        try
        {
            if (rented is not null && storage is FileStorage fs)
            {
                r = fs.LoadBefore(oid, before, n =>
                {
                    byte[] b = ArrayPool<byte>.Shared.Rent(n);
                    rented(b);
                    return b;
                });
            }
            else
            {
                r = storage.LoadBefore(oid, before);
            }
        }
        catch (PosKeyException ex)
        {
            throw new CorruptBlockException(block, oid, null, "the object is missing: " + ex.Message, ex);
        }
        return r ?? throw new CorruptBlockException(block, oid, null, "the object did not exist yet in the snapshot being read");
    }

    private static ZodbRecord Decode(ReadOnlyMemory<byte> data, long block, Oid oid)
    {
        try
        {
            return ZodbPickle.ReadRecord(data);
        }
        catch (PickleException ex)
        {
            throw new CorruptBlockException(block, oid, null, "the record is not a valid pickle pair: " + ex.Message, ex);
        }
    }

    private static ReadOnlyMemory<byte> Bytes(PickleValue state, long block, Oid oid, string? cls) => state switch
    {
        PickleBytes b => b.Value,
        PickleByteString s => s.Value,
        _ => throw new CorruptBlockException(block, oid, cls, $"its state is a {state.Describe()}, not bytes (ZB-3, ZB-5)"),
    };

    private static Oid Reference(PickleValue v, long block, Oid oid, string? cls, string what)
    {
        // the usual forms, (oid, class) and a bare oid, without building the general reference description
        if (v is PicklePersistentId { Pid: PickleTuple { Count: 2 } t } && t[1] is PickleGlobal && PersistentReference.TryOid(t[0], out Oid fast))
        {
            return fast;
        }
        if (v is PicklePersistentId { Pid: var bare } && PersistentReference.TryOid(bare, out Oid plain))
        {
            return plain;
        }
        PersistentReference? r = null;
        try
        {
            r = (v as PicklePersistentId)?.Reference;
        }
        catch (PickleException)
        {
        }
        if (r is { IsStrongSameDatabase: true } strong)
        {
            return strong.Oid;
        }
        throw new CorruptBlockException(block, oid, cls, $"{what} is a {v.Describe()}, not a reference to an object of this database");
    }
}
