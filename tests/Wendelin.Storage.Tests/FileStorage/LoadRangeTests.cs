using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;
using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// Range reads (spec/filestorage.md FS-L10, FS-L11): locating a revision walks like LoadBefore (older revisions,
/// backpointers, deletions, objects that did not exist yet), a payload range read gives the same bytes as a load,
/// cut at the payload's end, a file cut inside a located payload is corruption, and hints change nothing.
/// </summary>
public sealed class LoadRangeTests
{
    private const string DataPath = "/range/data.fs";

    private static Tid Commit(Fs.FileStorage fs, params (ulong Oid, byte[]? Data)[] stores)
    {
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
        foreach ((ulong oid, byte[]? data) in stores)
        {
            Tid serial;
            try
            {
                serial = fs.GetTid(new Oid(oid));
            }
            catch (PosKeyException)
            {
                serial = Tid.Zero; // a new object
            }
            if (data is null)
            {
                fs.DeleteObject(t, new Oid(oid), serial);
            }
            else
            {
                fs.Store(t, new Oid(oid), serial, data);
            }
        }
        fs.TpcVote(t);
        return fs.TpcFinish(t);
    }

    private static byte[] Bytes(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static byte[] ReadRange(Fs.FileStorage fs, in PayloadLocation at, long offset, int length)
    {
        var buffer = new byte[length];
        int n = fs.ReadPayload(at, offset, buffer);
        return buffer[..n];
    }

    [Fact]
    public void Located_revisions_read_like_LoadBefore_at_every_tid()
    {
        var mem = new MemoryFileSystem();
        using var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions(), mem);
        byte[] v1 = Bytes(5000, 1), v2 = Bytes(300, 2), other = Bytes(70_000, 3);
        Tid t1 = Commit(fs, (1, v1), (2, other));
        Tid t2 = Commit(fs, (1, v2));
        Tid t3 = Commit(fs, (3, Bytes(10, 4)));
        foreach (Tid before in new[] { new Tid(t1.Value + 1), t2, new Tid(t2.Value + 1), t3, Tid.Max })
        {
            foreach (ulong oid in new ulong[] { 1, 2 })
            {
                LoadBeforeResult want = fs.LoadBefore(new Oid(oid), before)!.Value;
                var head = new byte[64];
                Assert.True(fs.TryLocateBefore(new Oid(oid), before, out PayloadLocation at, head, out int got));
                Assert.Equal(want.Serial, at.Serial);
                Assert.Equal(want.NextSerial, at.NextSerial);
                Assert.Equal(want.Data.Length, at.Length);
                Assert.True(want.Data.Span[..got].SequenceEqual(head.AsSpan(0, got)), "the head read along with the header");
                Assert.Equal(want.Data.ToArray(), ReadRange(fs, at, 0, at.Length));
                // any range, cut at the payload's end
                Assert.Equal(want.Data.Span.Slice(at.Length / 3, 17).ToArray(), ReadRange(fs, at, at.Length / 3, 17));
                Assert.Equal(want.Data.Span[(at.Length - 5)..].ToArray(), ReadRange(fs, at, at.Length - 5, 100));
                Assert.Empty(ReadRange(fs, at, at.Length, 8));
                Assert.Throws<ArgumentOutOfRangeException>(() => ReadRange(fs, at, at.Length + 1, 8));
                Assert.Throws<ArgumentOutOfRangeException>(() => ReadRange(fs, at, -1, 8));
            }
        }
        // before the object existed: false; an unknown oid: PosKeyException
        Assert.False(fs.TryLocateBefore(new Oid(3), t3, out _, default, out _));
        Assert.Throws<PosKeyException>(() => fs.TryLocateBefore(new Oid(99), Tid.Max, out _, default, out _));
    }

    [Fact]
    public void Backpointers_are_followed_and_deletions_refused()
    {
        var mem = new MemoryFileSystem();
        using var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions(), mem);
        byte[] v1 = Bytes(4000, 5), v2 = Bytes(4000, 6);
        Commit(fs, (1, v1));
        Tid t2 = Commit(fs, (1, v2));
        // undoing t2 writes a backpointer to v1's record
        StorageTransaction u = fs.TpcBegin(new TransactionMetadata());
        fs.Undo(t2, u);
        fs.TpcVote(u);
        Tid t3 = fs.TpcFinish(u);
        Assert.True(fs.TryLocateBefore(new Oid(1), Tid.Max, out PayloadLocation at, stackalloc byte[64], out int got));
        Assert.Equal(0, got); // a backpointer's record holds no payload to take along
        Assert.Equal(t3, at.Serial);
        Assert.Equal(v1, ReadRange(fs, at, 0, at.Length));
        Assert.True(fs.TryLocateBefore(new Oid(1), Tid.Max, out PayloadLocation again, stackalloc byte[64], out _));
        Assert.Equal(at, again); // known now: the same location, nothing read
        Commit(fs, (1, null));
        Assert.Throws<PosKeyException>(() => fs.TryLocateBefore(new Oid(1), Tid.Max, out _, default, out _));
        Assert.True(fs.TryLocateBefore(new Oid(1), new Tid(t3.Value + 1), out PayloadLocation old, default, out _));
        Assert.Equal(v1, ReadRange(fs, old, 0, old.Length));
    }

    private static void WaitForHints(OsStorageFile f)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (f.ReadingHints)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "hinted ranges still being read after 30 s");
            Thread.Sleep(5);
        }
    }

    [Fact]
    public void An_os_file_reads_hinted_ranges_in_the_background_up_to_its_end_and_stops_when_closed()
    {
        using var dir = new TempDirectory("hints");
        string path = Path.Combine(dir.Path, "data.fs");
        byte[] data = Bytes((9 << 20) + 123, 3); // more than one 8 MiB background read
        File.WriteAllBytes(path, data);
        var f = (OsStorageFile)OsFileSystem.Instance.Open(path, StorageFileMode.ReadOnly);
        using (f)
        {
            f.WillNeed(data.Length - 100, 1 << 30); // past the end: read up to the end (FS-L11)
            f.WillNeed(0, data.Length);
            f.WillNeed(-1, 10); // not a range: nothing
            f.WillNeed(5, 0);
            WaitForHints(f);
            Assert.Equal(100 + data.Length, f.HintBytesRead);
            for (int i = 0; i < 200; i++)
            {
                f.WillNeed(0, 4096); // at most 64 wait at a time, the rest are dropped
            }
            WaitForHints(f);
            long read = f.HintBytesRead - 100 - data.Length;
            Assert.InRange(read, 4096, 65 * 4096);
            var back = new byte[data.Length];
            Assert.Equal(data.Length, f.ReadAt(0, back));
            Assert.Equal(data, back); // hints change no read
            f.WillNeed(0, data.Length);
        }
        WaitForHints(f); // closing stops the background reads without an error
        long done = f.HintBytesRead;
        f.WillNeed(0, data.Length); // a closed file: nothing
        Assert.False(f.ReadingHints);
        Assert.Equal(done, f.HintBytesRead);
    }

    [Fact]
    public void A_file_cut_inside_a_located_payload_is_corruption_and_hints_change_nothing()
    {
        var mem = new MemoryFileSystem();
        using var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions(), mem);
        byte[] v = Bytes(9000, 7);
        Commit(fs, (1, v));
        Assert.True(fs.TryLocateBefore(new Oid(1), Tid.Max, out PayloadLocation at, default, out _));
        fs.WillNeedCurrent([new Oid(1)], 1 << 30); // past the payload and the file: a hint only (FS-L11)
        fs.WillNeedCurrent([new Oid(99), new Oid(1), new Oid(1)], 5); // an unknown oid is skipped
        fs.WillNeedCurrent(new Oid[Fs.FileStorage.MaxHintRecords + 1], 5); // too many: nothing
        Assert.Equal(v, ReadRange(fs, at, 0, at.Length));
        using (IStorageFile f = mem.Open(DataPath, StorageFileMode.ReadWrite))
        {
            f.SetLength(at.Position + 100);
        }
        Assert.Equal(v[..100], ReadRange(fs, at, 0, 100));
        var e = Assert.Throws<CorruptRecordException>(() => ReadRange(fs, at, 50, 200));
        Assert.Contains("inside the payload", e.Message, StringComparison.Ordinal);
    }
}
