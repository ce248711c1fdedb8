using System.Text;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// spec/filestorage.md FS-C4a: records of at least 256 KiB are written from the caller's bytes, not through the
/// transaction buffer. The file must be exactly what the buffered path writes (same layout, same positions), read
/// back by load, by an index rebuilt from a scan, and within the transaction; a failed write leaves nothing.
/// </summary>
public sealed class LargeRecordTests
{
    private const string DataPath = "/large/data.fs";

    private static byte[] Bytes(int length, int seed)
    {
        byte[] b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Fact]
    public void Large_and_small_records_mixed_lay_out_as_buffered_records_and_read_back()
    {
        var files = new FaultyFileSystem(DataPath);
        int direct = Fs.FileStorage.DirectRecordBytes;
        (Oid Oid, byte[] Data)[] records =
        [
            (new Oid(1), Bytes(100, 1)),
            (new Oid(2), Bytes(direct, 2)),         // exactly the threshold: direct
            (new Oid(3), Bytes(direct - 1, 3)),     // just under: buffered
            (new Oid(4), Bytes(3 * direct + 5, 4)), // direct, after a buffered one
            (new Oid(5), Bytes(7, 5)),
        ];
        var options = new FileStorageOptions { SaveIndex = false };
        long start, end;
        Tid tid;
        using (var fs = Fs.FileStorage.Open(DataPath, options, files))
        {
            start = fs.Size;
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata("user", "large records"));
            foreach ((Oid oid, byte[] data) in records)
            {
                fs.Store(t, oid, Tid.Zero, data);
            }
            fs.TpcVote(t);
            tid = fs.TpcFinish(t);
            end = fs.Size;
            foreach ((Oid oid, byte[] data) in records)
            {
                Assert.Equal(data, fs.Load(oid).Data.ToArray());
            }
        }
        // the layout: header (23 + user + description + extension), records one after the other, the trailer
        long dataBytes = records.Sum(r => DataHeader.Size + (long)r.Data.Length);
        long headerLength = TxnHeader.Size + "user".Length + "large records".Length;
        Assert.Equal(start + headerLength + dataBytes + TxnHeader.TrailerSize, end);

        // a scan of the file (no index) finds every record at its place with its bytes
        using var reopened = Fs.FileStorage.Open(DataPath, options with { UseIndex = false }, files);
        Assert.Equal(tid, reopened.LastTransaction);
        byte[] file = files.Inner.ReadAllBytes(DataPath)!;
        long position = start + headerLength;
        foreach ((Oid oid, byte[] data) in records)
        {
            Assert.Equal(data, reopened.Load(oid).Data.ToArray());
            DataHeader h = DataHeader.Parse(file.AsSpan((int)position, DataHeader.Size));
            Assert.Equal(oid, h.Oid);
            Assert.Equal(tid, h.Tid);
            Assert.Equal((ulong)data.Length, h.DataLength);
            Assert.Equal(data, file.AsSpan((int)position + DataHeader.Size, data.Length).ToArray());
            position += DataHeader.Size + data.Length;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void A_failed_write_of_a_large_record_leaves_nothing_of_the_transaction(int failAt)
    {
        var faulty = new FaultyFileSystem(DataPath);
        var options = new FileStorageOptions { SaveIndex = false };
        byte[] big = Bytes(Fs.FileStorage.DirectRecordBytes * 2, failAt);
        (bool committed, bool closed) = FailingCommit.Run(faulty, DataPath, options, failAt, (fs, t, baseTid) =>
        {
            fs.Store(t, Oid.Root, baseTid, Encoding.UTF8.GetBytes("changed"));
            fs.Store(t, new Oid(1), Tid.Zero, big); // two writes: the buffered records with its header, its data
        });
        using var reopened = Fs.FileStorage.Open(DataPath, options with { UseIndex = false }, faulty);
        string root = Encoding.UTF8.GetString(reopened.Load(Oid.Root).Data.Span);
        if (committed)
        {
            Assert.Equal("changed", root);
            Assert.Equal(big, reopened.Load(new Oid(1)).Data.ToArray());
        }
        else if (!closed)
        {
            Assert.Equal("base", root);
            Assert.Throws<PosKeyException>(() => reopened.Load(new Oid(1)));
        }
    }
}
