using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using Wendelin.Storage.Format;

namespace Wendelin.Storage.Fs;

/// <summary>
/// The part of <see cref="FsIndex"/> loaded from <c>NAME.index</c> (FS-I2), kept in the file's own layout instead of
/// being copied into a hash table: per 6-byte oid prefix, n big-endian 2-byte suffixes in ascending order followed by
/// n 6-byte positions, as slices of the bytes read from the file. Opening a storage with a saved index then costs one
/// read and one validating pass over those bytes, whatever the number of objects; a lookup finds the prefix by binary
/// search, then the suffix directly (a bucket whose suffixes are consecutive, as ZODB's dense oids give) or by binary
/// search. Immutable; safe for concurrent readers.
/// </summary>
internal sealed class PackedIndex
{
    private const int SuffixLength = 2;
    private const int PositionLength = 6;
    private const int EntryLength = SuffixLength + PositionLength;

    private readonly Bucket[] _buckets;

    private PackedIndex(Bucket[] buckets, int count, ulong maxOid)
    {
        _buckets = buckets;
        Count = count;
        MaxOid = maxOid;
    }

    public int Count { get; }

    /// <summary>The largest oid (0 when empty).</summary>
    public ulong MaxOid { get; }

    /// <summary>
    /// Builds the index from (prefix, bucket) byte pairs in file order, checking what lookups rely on: 6-byte prefixes
    /// strictly ascending, buckets of whole entries with strictly ascending suffixes, and every position in
    /// <c>[27, validBefore)</c> (FS-I3). Returns null and a reason when a check fails.
    /// </summary>
    public static PackedIndex? Build(List<(ReadOnlyMemory<byte> Prefix, ReadOnlyMemory<byte> Bucket)> parts, long validBefore, out string? error)
    {
        var buckets = new Bucket[parts.Count];
        long count = 0;
        ulong maxOid = 0;
        ulong previousHigh = 0;
        for (int b = 0; b < parts.Count; b++)
        {
            (ReadOnlyMemory<byte> prefixMemory, ReadOnlyMemory<byte> bucketMemory) = parts[b];
            ReadOnlySpan<byte> prefix = prefixMemory.Span;
            if (prefix.Length != 6 || bucketMemory.Length % EntryLength != 0 || bucketMemory.Length == 0)
            {
                error = Inv($"entry {b} has a {prefix.Length}-byte prefix and a {bucketMemory.Length}-byte bucket");
                return null;
            }
            ulong high = ReadUInt48(prefix) << 16;
            if (b > 0 && high <= previousHigh)
            {
                error = Inv($"prefix 0x{high >> 16:x12} does not follow 0x{previousHigh >> 16:x12}");
                return null;
            }
            previousHigh = high;
            if (!MemoryMarshal.TryGetArray(bucketMemory, out ArraySegment<byte> segment) || segment.Array is null)
            {
                segment = new ArraySegment<byte>(bucketMemory.ToArray());
            }
            int n = segment.Count / EntryLength;
            ReadOnlySpan<byte> keys = segment.AsSpan(0, n * SuffixLength);
            ReadOnlySpan<byte> positions = segment.AsSpan(n * SuffixLength, n * PositionLength);
            int previous = -1;
            for (int i = 0; i < n; i++)
            {
                int suffix = BinaryPrimitives.ReadUInt16BigEndian(keys[(i * SuffixLength)..]);
                if (suffix <= previous)
                {
                    error = Inv($"suffixes of prefix 0x{high >> 16:x12} are not ascending at entry {i}");
                    return null;
                }
                previous = suffix;
                long p = (long)ReadUInt48(positions[(i * PositionLength)..]);
                if (p < FileHeader.DataStart + TxnHeader.Size || p >= validBefore)
                {
                    error = Inv($"index position {p} of oid 0x{high | (uint)suffix:x16} outside the data before {validBefore}");
                    return null;
                }
            }
            int first = BinaryPrimitives.ReadUInt16BigEndian(keys);
            buckets[b] = new Bucket(high, segment.Array!, segment.Offset, n, first, dense: previous - first + 1 == n);
            count += n;
            maxOid = high | (uint)previous;
        }
        if (count > Array.MaxLength)
        {
            error = Inv($"{count} entries");
            return null;
        }
        error = null;
        return new PackedIndex(buckets, (int)count, maxOid);
    }

    public bool TryGet(ulong oid, out long position)
    {
        int b = FindBucket(oid & ~0xFFFFUL);
        if (b >= 0)
        {
            Bucket k = _buckets[b];
            int i = k.IndexOf((ushort)oid);
            if (i >= 0)
            {
                position = k.Position(i);
                return true;
            }
        }
        position = 0;
        return false;
    }

    public bool Contains(ulong oid) => TryGet(oid, out _);

    /// <summary>Copies the entries in ascending oid order into the spans, which hold at least <see cref="Count"/> items.</summary>
    public void CopyTo(Span<ulong> oids, Span<long> positions)
    {
        int n = 0;
        foreach (Bucket k in _buckets)
        {
            for (int i = 0; i < k.Count; i++, n++)
            {
                oids[n] = k.High | k.Suffix(i);
                positions[n] = k.Position(i);
            }
        }
    }

    private int FindBucket(ulong high)
    {
        Bucket[] buckets = _buckets;
        int lo = 0, hi = buckets.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ulong h = buckets[mid].High;
            if (h == high)
            {
                return mid;
            }
            if (h < high)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return -1;
    }

    private static ulong ReadUInt48(ReadOnlySpan<byte> b) =>
        ((ulong)BinaryPrimitives.ReadUInt16BigEndian(b) << 32) | BinaryPrimitives.ReadUInt32BigEndian(b[2..]);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>One prefix: its entries are <c>Count</c> suffixes then <c>Count</c> positions at <c>Offset</c> in <c>Data</c>.</summary>
    private readonly struct Bucket(ulong high, byte[] data, int offset, int count, int first, bool dense)
    {
        public ulong High { get; } = high;

        public int Count { get; } = count;

        private byte[] Data { get; } = data;

        private int Offset { get; } = offset;

        private int First { get; } = first;

        private bool Dense { get; } = dense;

        public ushort Suffix(int i) => BinaryPrimitives.ReadUInt16BigEndian(Data.AsSpan(Offset + (i * SuffixLength), SuffixLength));

        public long Position(int i) =>
            (long)ReadUInt48(Data.AsSpan(Offset + (Count * SuffixLength) + (i * PositionLength), PositionLength));

        public int IndexOf(ushort suffix)
        {
            if (Dense)
            {
                int d = suffix - First;
                return (uint)d < (uint)Count ? d : -1;
            }
            ReadOnlySpan<byte> keys = Data.AsSpan(Offset, Count * SuffixLength);
            int lo = 0, hi = Count - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >>> 1;
                ushort s = BinaryPrimitives.ReadUInt16BigEndian(keys[(mid * SuffixLength)..]);
                if (s == suffix)
                {
                    return mid;
                }
                if (s < suffix)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }
            return -1;
        }
    }
}
