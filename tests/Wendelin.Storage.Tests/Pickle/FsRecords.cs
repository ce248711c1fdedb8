using System.Buffers.Binary;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>
/// Test-only walk of a FileStorage file's record layout (filestorage-format §1.2, §1.5), just enough to get at the
/// pickles of the fixtures. The product's FileStorage reader lives in Wendelin.Storage/FileStorage; this one does
/// no checking beyond staying inside the buffer.
/// </summary>
internal sealed class FsRecords
{
    private static readonly Dictionary<string, FsRecords> Cache = [];

    private FsRecords(string name, byte[] data)
    {
        Name = name;
        Data = data;
        int pos = 4;
        while (pos + 23 <= data.Length)
        {
            ulong tlen = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(pos + 8));
            if (tlen > (ulong)(data.Length - pos - 8))
            {
                break;
            }
            int ulen = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(pos + 17));
            int dlen = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(pos + 19));
            int elen = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(pos + 21));
            var txn = new Txn(pos, BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(pos)), (char)data[pos + 16],
                data.AsMemory(pos + 23 + ulen + dlen, elen));
            Transactions.Add(txn);
            int end = pos + (int)tlen;
            int p = pos + 23 + ulen + dlen + elen;
            while (p + 42 <= end)
            {
                var oid = new Oid(BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(p)));
                ulong tid = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(p + 8));
                long plen = (long)BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(p + 34));
                Record rec = plen > 0
                    ? new Record(p, oid, tid, data.AsMemory(p + 42, (int)plen), 0)
                    : new Record(p, oid, tid, ReadOnlyMemory<byte>.Empty, (long)BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(p + 42)));
                Records.Add(rec);
                ByPos[p] = rec;
                txn.Records.Add(rec);
                p += 42 + (plen > 0 ? (int)plen : 8);
            }
            pos = end + 8;
        }
    }

    public string Name { get; }

    public byte[] Data { get; }

    public List<Txn> Transactions { get; } = [];

    public List<Record> Records { get; } = [];

    public Dictionary<long, Record> ByPos { get; } = [];

    /// <summary>Records with a payload (not backpointers).</summary>
    public IEnumerable<Record> DataRecords => Records.Where(r => r.Data.Length > 0);

    public static FsRecords Open(string fixture)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(fixture, out FsRecords? r))
            {
                r = new FsRecords(fixture, Fixtures.Bytes(fixture));
                Cache[fixture] = r;
            }
            return r;
        }
    }

    /// <summary>The payload of the record at <paramref name="pos"/>, following backpointers; empty when the chain ends at 0.</summary>
    public ReadOnlyMemory<byte> Resolve(long pos)
    {
        for (int i = 0; i < 100 && pos != 0; i++)
        {
            Record r = ByPos[pos];
            if (r.Data.Length > 0)
            {
                return r.Data;
            }
            pos = r.Back;
        }
        return ReadOnlyMemory<byte>.Empty;
    }

    /// <summary>The data record of <paramref name="oid"/> written in transaction <paramref name="tid"/>.</summary>
    public Record Find(Oid oid, ulong tid) => Records.Single(r => r.Oid == oid && r.Tid == tid);

    public sealed record Record(long Pos, Oid Oid, ulong Tid, ReadOnlyMemory<byte> Data, long Back);

    public sealed record Txn(long Pos, ulong Tid, char Status, ReadOnlyMemory<byte> Extension)
    {
        public List<Record> Records { get; } = [];
    }

    /// <summary>Every FileStorage fixture whose records the pickle tests use.</summary>
    public static readonly string[] AllFiles =
    [
        "basic.fs", "undo.fs", "packed.fs", "zbigarray-zblk0.fs", "zbigarray-zblk1.fs",
        "upstream-zblk/py2_pickle1/zblk.fs", "upstream-zblk/py2_pickle2/zblk.fs",
        "upstream-zblk/py2_pickle3/zblk.fs", "upstream-zblk/py3_pickle3/zblk.fs",
    ];

    /// <summary>The FS30 files (written by Python-3 ZODB, protocol 3).</summary>
    public static readonly string[] Fs30Files =
    [
        "basic.fs", "undo.fs", "packed.fs", "zbigarray-zblk0.fs", "zbigarray-zblk1.fs", "upstream-zblk/py3_pickle3/zblk.fs",
    ];

    public static ZodbRecord Decode(ReadOnlyMemory<byte> data) => ZodbRecord.Read(data);
}
