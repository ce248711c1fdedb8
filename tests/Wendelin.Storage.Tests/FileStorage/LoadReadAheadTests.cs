using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// Loads read a record's header and a small payload in one read (FS-L1, FS-L3): payloads on both sides of the read
/// size, a record that ends the committed data while a voted transaction follows it, and damage inside the read.
/// </summary>
public sealed class LoadReadAheadTests
{
    private const string DataPath = "/readahead/data.fs";

    [Fact]
    public void Payloads_around_the_read_size_load_whole_and_nothing_past_the_committed_end_is_used()
    {
        var mem = new MemoryFileSystem();
        int[] sizes = [1, 100, 4096 - 42 - 1, 4096 - 42, 4096 - 42 + 1, 4096, 5000, 70_000];
        var data = new Dictionary<ulong, byte[]>();
        using var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions(), mem);
        var serials = new Dictionary<ulong, Tid>();
        for (int round = 0; round < 2; round++)
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
            for (int i = 0; i < sizes.Length; i++)
            {
                byte[] payload = new byte[sizes[i]];
                new Random(i * 7 + round).NextBytes(payload);
                ulong oid = (ulong)i + 1;
                fs.Store(t, new Oid(oid), serials.GetValueOrDefault(oid), payload);
                data[oid] = payload;
            }
            fs.TpcVote(t);
            Tid tid = fs.TpcFinish(t);
            foreach (ulong oid in data.Keys)
            {
                serials[oid] = tid;
            }
        }
        // a voted transaction after the committed end: its bytes are in the file but must not be read
        StorageTransaction open = fs.TpcBegin(new TransactionMetadata());
        fs.Store(open, new Oid((ulong)sizes.Length), serials[(ulong)sizes.Length], new byte[10]);
        fs.TpcVote(open);
        foreach ((ulong oid, byte[] payload) in data)
        {
            Assert.Equal(payload, fs.Load(new Oid(oid)).Data.ToArray());
            Assert.Equal(payload, fs.LoadBefore(new Oid(oid), Tid.Max)!.Value.Data.ToArray());
            Assert.Equal(payload, fs.LoadSerial(new Oid(oid), serials[oid]).ToArray());
        }
        fs.TpcAbort(open);
    }

    [Fact]
    public void A_damaged_length_inside_the_read_is_still_refused()
    {
        var mem = new MemoryFileSystem();
        long pos;
        using (var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions(), mem))
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
            fs.Store(t, new Oid(1), Tid.Zero, new byte[100]);
            fs.Store(t, new Oid(2), Tid.Zero, new byte[100]);
            fs.TpcVote(t);
            fs.TpcFinish(t);
            pos = fs.CurrentRecords()[0].Position;
        }
        using var ro = Fs.FileStorage.Open(DataPath, new FileStorageOptions { ReadOnly = true }, mem);
        byte[] bytes = mem.ReadAllBytes(DataPath)!;
        bytes[pos + 34 + 7] = 200; // plen 100 -> 200: runs into the next record, still inside the read
        using (IStorageFile f = mem.Open(DataPath, StorageFileMode.ReadWrite))
        {
            f.WriteAt(0, bytes);
        }
        // the record still lies before the committed end, so plen alone is no damage the load can see...
        Assert.Equal(200, ro.Load(new Oid(1)).Data.Length);
        bytes[pos + 34 + 5] = 1; // ...but a plen past the committed end is
        using (IStorageFile f = mem.Open(DataPath, StorageFileMode.ReadWrite))
        {
            f.WriteAt(0, bytes);
        }
        Format.CorruptRecordException e = Assert.Throws<Format.CorruptRecordException>(() => ro.Load(new Oid(1)));
        Assert.Equal(pos, e.Position);
        Assert.Equal("record fits", e.Check);
    }
}
