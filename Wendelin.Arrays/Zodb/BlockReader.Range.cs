using System.Collections.Concurrent;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Pickle;

namespace Wendelin.Arrays.Zodb;

/// <summary>
/// What a ZBlk record of one revision looks like (ZB-49): a canonical ZBlk0 (ZB-7's form) whose block bytes are
/// payload bytes [<see cref="DataOffset"/>, DataOffset + <see cref="DataLength"/>), or anything else (read whole).
/// </summary>
internal sealed record RecordShape(Tid Serial, bool Canonical, int DataOffset, int DataLength);

// Reading blocks and parts of blocks straight out of a FileStorage's data file (spec/zbigfile.md ZB-49): the
// record is located (its header read once, FS-L10), its shape found from its first and last bytes (once per
// revision), and only the block bytes wanted are read, into the caller's memory.
internal static partial class BlockReader
{
    /// <summary>
    /// Locates the revision of <paramref name="oid"/> before <paramref name="before"/> and gives its shape, from
    /// <paramref name="shapes"/> (by oid, for its serial) or found now and kept there.
    /// </summary>
    public static RecordShape ShapeOf(FileStorage fs, ConcurrentDictionary<Oid, RecordShape> shapes, long block, Oid oid, Tid before,
        out PayloadLocation location)
    {
        Span<byte> head = stackalloc byte[ZBlkRecord.HeadBytes];
        int got;
        try
        {
            if (!fs.TryLocateBefore(oid, before, out location, head, out got))
            {
                throw new CorruptBlockException(block, oid, null, "the object did not exist yet in the snapshot being read");
            }
        }
        catch (PosKeyException ex)
        {
            throw new CorruptBlockException(block, oid, null, "the object is missing: " + ex.Message, ex);
        }
        if (shapes.TryGetValue(oid, out RecordShape? known) && known.Serial == location.Serial)
        {
            return known;
        }
        int h = Math.Min(ZBlkRecord.HeadBytes, location.Length);
        if (got < h)
        {
            fs.ReadPayload(location, 0, head[..h]);
        }
        Span<byte> tail = stackalloc byte[3];
        bool canonical = false;
        int offset = 0, length = 0;
        if (location.Length >= 3)
        {
            if (location.Length <= h)
            {
                head.Slice(location.Length - 3, 3).CopyTo(tail);
            }
            else
            {
                fs.ReadPayload(location, location.Length - 3, tail);
            }
            canonical = ZBlkRecord.TryLayout(head[..h], tail, location.Length, "ZBlk0", out offset, out length);
        }
        var shape = new RecordShape(location.Serial, canonical, offset, length);
        shapes[oid] = shape;
        return shape;
    }

    /// <summary>
    /// Bytes [<paramref name="at"/>, at + destination.Length) of a canonical ZBlk0 block: the stored ones read from
    /// the data file straight into <paramref name="destination"/>, the stripped tail as zeros (ZB-6).
    /// </summary>
    public static void ReadZBlk0(FileStorage fs, long block, in PayloadLocation location, RecordShape shape, int blockSize, int at, Span<byte> destination)
    {
        if (shape.DataLength > blockSize)
        {
            throw new CorruptBlockException(block, location.Oid, "wendelin.bigfile.file_zodb.ZBlk0",
                $"its payload of {shape.DataLength} bytes is longer than the block ({blockSize} bytes) (ZB-3)");
        }
        int n = Math.Clamp(shape.DataLength - at, 0, destination.Length);
        if (n > 0)
        {
            fs.ReadPayload(location, shape.DataOffset + at, destination[..n]);
        }
        destination[n..].Clear();
    }

    /// <summary>
    /// Bytes [<paramref name="at"/>, at + destination.Length) of the chunk <paramref name="zdata"/> of a ZBlk1 block,
    /// whose chunk starts at block offset <paramref name="key"/> (ZB-5): the chunk record located (FS-L10) and read in
    /// one read, bytes past its end as zeros. False when the chunk is longer than <see cref="ChunkSize"/> (the block
    /// is no longer regular: the caller reads it whole, which checks the overlaps).
    /// </summary>
    public static bool ReadChunkPart(FileStorage fs, long block, Oid zdata, int key, Tid before, int blockSize, int at, Span<byte> destination,
        out PayloadLocation data)
    {
        data = default;
        // the chunk record is located with its payload (FS-L10): one read
        Span<byte> record = stackalloc byte[ChunkRecordRead];
        PayloadLocation location;
        int got;
        try
        {
            // not remembered: a ZBlk1 has hundreds of chunk records, read whole with their header in one read anyway
            if (!fs.TryLocateBefore(zdata, before, out location, record, out got, remember: false))
            {
                throw new CorruptBlockException(block, zdata, null, "the object did not exist yet in the snapshot being read");
            }
        }
        catch (PosKeyException ex)
        {
            throw new CorruptBlockException(block, zdata, null, "a chunk is missing: " + ex.Message, ex);
        }
        if (location.Length > record.Length)
        {
            return false; // more than a 4 KiB chunk's record: not upstream's layout, the caller reads the block whole
        }
        record = record[..location.Length];
        if (got < record.Length)
        {
            fs.ReadPayload(location, got, record[got..]);
        }
        scoped ReadOnlySpan<byte> payload;
        ZodbRecord? decoded = null;
        if (ZBlkRecord.TryPayload(record, "ZData", out int offset, out int length))
        {
            payload = record.Slice(offset, length);
            // where the chunk's bytes lie in the data file: read there directly next time (ChunkSpots)
            data = location with { Position = location.Position + offset, Length = length };
        }
        else
        {
            decoded = Decode(record.ToArray(), block, zdata);
            if (decoded.Module != Module || decoded.Name != "ZData")
            {
                throw new CorruptBlockException(block, zdata, decoded.ClassName, "a chunk of a ZBlk1 is not a ZData (ZB-5)");
            }
            payload = Bytes(decoded.State, block, zdata, decoded.ClassName).Span;
        }
        if ((long)key + payload.Length > blockSize)
        {
            throw new CorruptBlockException(block, zdata, "wendelin.bigfile.file_zodb.ZData", $"the chunk at offset {key} of {payload.Length} bytes ends past the block ({blockSize} bytes) (ZB-5)");
        }
        if (payload.Length > ChunkSize)
        {
            data = default;
            return false;
        }
        int n = Math.Clamp(payload.Length - at, 0, destination.Length);
        if (n > 0)
        {
            payload.Slice(at, n).CopyTo(destination);
        }
        destination[n..].Clear();
        return true;
    }

    /// <summary>A chunk record of upstream's layout (header, about 50 bytes of pickle, 4 KiB of data) fits in one read of this size.</summary>
    private const int ChunkRecordRead = 4608;
}

/// <summary>
/// Where the bytes of a regular ZBlk1 block's chunks lie in the data file (ZB-49), found by the partial reads of one
/// <see cref="LoadedBlock"/> (a layout for one revision of the block's chunk tree and chunks: a change of any of
/// them replaces that object, ZB-43, and with it these spots). Per chunk one word, written and read atomically:
/// the data's file position (40 bits) and length (up to 4096, above them); 0 while unknown. Valid for one data
/// file: a pack's new file makes every spot unknown again.
/// </summary>
internal sealed class ChunkSpots(int chunks)
{
    // the spots and the data file they are positions in, replaced together (a reader never pairs one file's
    // positions with another file)
    private sealed record Spots(object File, long[] Words);

    private Spots? _spots;

    private const int PositionBits = 40;

    /// <summary>The data position and length of chunk <paramref name="index"/> in the storage's current file, if known.</summary>
    public bool TryGet(FileStorage fs, int index, out PayloadLocation data, Oid zdata)
    {
        Spots? spots = Volatile.Read(ref _spots);
        long spot = spots is null ? 0 : Volatile.Read(ref spots.Words[index]);
        if (spot == 0 || !fs.IsCurrentFile(spots!.File))
        {
            data = default;
            return false;
        }
        long position = spot & ((1L << PositionBits) - 1);
        int length = (int)(spot >>> PositionBits);
        data = FileStorage.LocationIn(spots.File, zdata, position, length);
        return true;
    }

    /// <summary>Records where chunk <paramref name="index"/>'s bytes are (positions past 1 TiB are not recorded).</summary>
    public void Set(FileStorage fs, int index, in PayloadLocation data)
    {
        if (data.Position <= 0 || data.Position >= 1L << PositionBits || data.Length is < 0 or > BlockReader.ChunkSize
            || !fs.IsCurrentFile(data.File))
        {
            return;
        }
        Spots? spots = Volatile.Read(ref _spots);
        if (spots is null || !ReferenceEquals(spots.File, data.File))
        {
            spots = new Spots(data.File, new long[chunks]); // first use, or another data file (a pack)
            Volatile.Write(ref _spots, spots);
        }
        Volatile.Write(ref spots.Words[index], data.Position | ((long)data.Length << PositionBits));
    }
}
