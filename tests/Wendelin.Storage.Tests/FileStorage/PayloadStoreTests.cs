using System.Text;
using Wendelin.Storage.Fs;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// spec/filestorage.md FS-C4b: a record stored in three parts (head, payload from the caller's memory, tail) puts
/// the same bytes in the file as the record stored whole, below and above the direct-write threshold, with the same
/// conflict checks; a failed write leaves nothing of the transaction.
/// </summary>
public sealed class PayloadStoreTests
{
    private const string DataPath = "/parts/data.fs";

    private static byte[] Bytes(int length, int seed)
    {
        byte[] b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static byte[] Write(bool parts, (Oid Oid, byte[] Data, int Head, int Tail)[] records)
    {
        var files = new FaultyFileSystem(DataPath);
        var options = new FileStorageOptions { SaveIndex = false };
        using (var fs = Fs.FileStorage.Open(DataPath, options, files))
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata("user", "parts"));
            foreach ((Oid oid, byte[] data, int head, int tail) in records)
            {
                if (parts)
                {
                    ReadOnlySpan<byte> d = data;
                    fs.Store(t, oid, Tid.Zero, d[..head], d[head..^tail], d[^tail..]);
                }
                else
                {
                    fs.Store(t, oid, Tid.Zero, data);
                }
            }
            fs.TpcVote(t);
            fs.TpcFinish(t);
            foreach ((Oid oid, byte[] data, _, _) in records)
            {
                Assert.Equal(data, fs.Load(oid).Data.ToArray());
            }
        }
        using (var reopened = Fs.FileStorage.Open(DataPath, options with { UseIndex = false }, files))
        {
            foreach ((Oid oid, byte[] data, _, _) in records)
            {
                Assert.Equal(data, reopened.Load(oid).Data.ToArray());
            }
        }
        return files.Inner.ReadAllBytes(DataPath)!;
    }

    [Fact]
    public void Records_stored_in_parts_lay_out_exactly_as_records_stored_whole()
    {
        int direct = Fs.FileStorage.DirectRecordBytes;
        (Oid, byte[], int, int)[] records =
        [
            (new Oid(1), Bytes(100, 1), 10, 5),
            (new Oid(2), Bytes(direct, 2), 40, 3),            // exactly the threshold: each part written directly
            (new Oid(3), Bytes(direct - 1, 3), 40, 3),        // just under: assembled in the buffer
            (new Oid(4), Bytes(3 * direct + 5, 4), 0, 0),     // no head, no tail
            (new Oid(5), Bytes(7, 5), 0, 7),                  // all tail
            (new Oid(6), Bytes(2 * direct, 6), 2 * direct, 0), // all head
        ];
        byte[] whole = Write(parts: false, records);
        byte[] parts = Write(parts: true, records);
        int headerEnd = 4; // the file header (magic); tids differ between the runs
        Assert.Equal(whole.Length, parts.Length);
        Assert.True(whole.AsSpan(0, headerEnd).SequenceEqual(parts.AsSpan(0, headerEnd)));
        int differing = 0;
        for (int i = 0; i < whole.Length; i++)
        {
            differing += whole[i] != parts[i] ? 1 : 0;
        }
        Assert.True(differing <= 8 * (1 + records.Length) * 2, $"{differing} bytes differ (only the tids may)");
    }

    [Fact]
    public void A_part_store_checks_the_serial_and_rejects_an_empty_record()
    {
        var files = new FaultyFileSystem(DataPath);
        using var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions { SaveIndex = false }, files);
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
        fs.Store(t, Oid.Root, Tid.Zero, Encoding.UTF8.GetBytes("base"));
        fs.TpcVote(t);
        Tid tid = fs.TpcFinish(t);
        StorageTransaction u = fs.TpcBegin(new TransactionMetadata());
        byte[] big = Bytes(Fs.FileStorage.DirectRecordBytes, 9);
        Assert.Throws<ConflictException>(() => fs.Store(u, Oid.Root, Tid.Zero, [], big, []));
        Assert.Throws<ArgumentException>(() => fs.Store(u, new Oid(1), Tid.Zero, [], [], []));
        fs.Store(u, Oid.Root, tid, [1], big, [2]);
        fs.TpcVote(u);
        fs.TpcFinish(u);
        Assert.Equal([1, .. big, 2], fs.Load(Oid.Root).Data.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void A_failed_write_of_a_part_leaves_nothing_of_the_transaction(int failAt)
    {
        var faulty = new FaultyFileSystem(DataPath);
        var options = new FileStorageOptions { SaveIndex = false };
        byte[] big = Bytes(Fs.FileStorage.DirectRecordBytes * 2, failAt);
        (bool committed, bool closed) = FailingCommit.Run(faulty, DataPath, options, failAt, (fs, t, baseTid) =>
        {
            fs.Store(t, new Oid(1), Tid.Zero, [9, 9], big, [8]); // four writes: buffered records with its header, head, payload, tail
        });
        using var reopened = Fs.FileStorage.Open(DataPath, options with { UseIndex = false }, faulty);
        if (committed)
        {
            Assert.Equal([9, 9, .. big, 8], reopened.Load(new Oid(1)).Data.ToArray());
        }
        else if (!closed)
        {
            Assert.Throws<PosKeyException>(() => reopened.Load(new Oid(1)));
        }
    }

    [Fact]
    public void Bytes_written_before_vote_are_handed_to_writeback_in_contiguous_ranges_of_at_least_the_hint_size()
    {
        var files = new FaultyFileSystem(DataPath);
        var options = new FileStorageOptions { SaveIndex = false };
        long hint = Fs.FileStorage.WritebackHintBytes;
        byte[] block = Bytes(3 << 20, 11);
        long start, end;
        using (var fs = Fs.FileStorage.Open(DataPath, options, files))
        {
            StorageTransaction small = fs.TpcBegin(new TransactionMetadata());
            fs.Store(small, Oid.Root, Tid.Zero, block.AsMemory(0, 1000));
            fs.TpcVote(small);
            fs.TpcFinish(small);
            Assert.Empty(files.WritebackHints);
            start = fs.Size;
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
            for (int i = 1; i <= 16; i++)
            {
                if (i % 2 == 0)
                {
                    fs.Store(t, new Oid((ulong)i), Tid.Zero, block);
                }
                else
                {
                    fs.Store(t, new Oid((ulong)i), Tid.Zero, [1, 2], block, [3]);
                }
            }
            fs.TpcVote(t);
            fs.TpcFinish(t);
            end = fs.Size;
            Assert.Equal(block, fs.Load(new Oid(16)).Data.ToArray());
        }
        List<(long Position, long Length)> hints = files.WritebackHints;
        Assert.Equal(2, hints.Count); // 48 MiB written before vote: two ranges of at least 16 MiB, the rest left to the fsync
        Assert.Equal(start, hints[0].Position);
        for (int i = 0; i < hints.Count; i++)
        {
            Assert.True(hints[i].Length >= hint);
            Assert.True(i == 0 || hints[i].Position == hints[i - 1].Position + hints[i - 1].Length);
        }
        Assert.True(hints[^1].Position + hints[^1].Length <= end);
    }

    [Fact]
    public void Writeback_hints_on_an_OS_file_leave_the_committed_bytes_as_they_are()
    {
        using var dir = new Wendelin.TestSupport.TempDirectory("writeback");
        string path = dir.File("data.fs");
        byte[] block = Bytes(Fs.FileStorage.DirectRecordBytes * 4, 12);
        using (var fs = Fs.FileStorage.Open(path, new FileStorageOptions { Create = true }))
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
            for (int i = 0; i < 20; i++)
            {
                fs.Store(t, new Oid((ulong)i), Tid.Zero, [], block, [(byte)i]);
            }
            fs.TpcVote(t);
            fs.TpcFinish(t);
        }
        using var reopened = Fs.FileStorage.Open(path, new FileStorageOptions { UseIndex = false, ReadOnly = true });
        Assert.Equal([.. block, 19], reopened.Load(new Oid(19)).Data.ToArray());
    }
}
