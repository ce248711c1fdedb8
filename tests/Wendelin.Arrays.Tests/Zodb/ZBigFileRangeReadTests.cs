using System.Buffers.Binary;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;
using Xunit.Abstractions;
using static Wendelin.Arrays.Tests.Zodb.ZodbTestDb;

namespace Wendelin.Arrays.Tests.Zodb;

/// <summary>
/// Reads straight from a FileStorage (spec/zbigfile.md ZB-49, spec/filestorage.md FS-L10): a part of a ZBlk0 block
/// reads only the stored bytes asked for (stripped tails, short payloads and holes as zeros), a part of a ZBlk1 only
/// the chunk records it touches (missing chunks as zeros); pages the cache holds win (BF-54); reads keep the
/// connection's snapshot, at an older tid too; damaged records fail as <see cref="CorruptBlockException"/>.
/// </summary>
public sealed class ZBigFileRangeReadTests(ITestOutputHelper output)
{
    private const string DataPath = "/zb-range/data.fs";

    /// <summary>An in-memory file system counting the reads of the data file (to see what a range read costs).</summary>
    private sealed class CountingFileSystem : IStorageFileSystem
    {
        public readonly MemoryFileSystem Inner = new();
        public long BytesRead;
        public int Reads;

        public void Reset()
        {
            BytesRead = 0;
            Reads = 0;
        }

        public IStorageFile Open(string path, StorageFileMode mode)
        {
            IStorageFile f = Inner.Open(path, mode);
            return path == DataPath ? new Counting(f, this) : f;
        }

        public bool FileExists(string path) => Inner.FileExists(path);

        public bool DirectoryExists(string path) => Inner.DirectoryExists(path);

        public void Delete(string path) => Inner.Delete(path);

        public void Replace(string source, string destination) => Inner.Replace(source, destination);

        public IDisposable Lock(string lockPath) => Inner.Lock(lockPath);

        private sealed class Counting(IStorageFile inner, CountingFileSystem owner) : IStorageFile
        {
            public string Path => inner.Path;

            public bool CanWrite => inner.CanWrite;

            public long Length => inner.Length;

            public int ReadAt(long position, Span<byte> buffer)
            {
                int n = inner.ReadAt(position, buffer);
                Interlocked.Add(ref owner.BytesRead, n);
                Interlocked.Increment(ref owner.Reads);
                return n;
            }

            public void WriteAt(long position, ReadOnlySpan<byte> data) => inner.WriteAt(position, data);

            public void SetLength(long length) => inner.SetLength(length);

            public void FlushDurable() => inner.FlushDurable();

            public void Dispose() => inner.Dispose();
        }
    }

    private static (ZodbTestDb Db, CountingFileSystem Files) NewDb()
    {
        var files = new CountingFileSystem();
        return (new ZodbTestDb(FileStorage.Open(DataPath, new FileStorageOptions { Create = true }, files)), files);
    }

    /// <summary>Writes <paramref name="content"/> (whole blocks; null entries are left holes) through a view and commits.</summary>
    private static void WriteBlocks(Connection c, ZBigFile f, byte[]?[] content)
    {
        using FileHandle w = f.Open();
        for (int b = 0; b < content.Length; b++)
        {
            if (content[b] is { } bytes)
            {
                using FileView v = w.Map((long)b * BlockSize, BlockSize);
                bytes.CopyTo(v.Span);
            }
        }
        c.TransactionManager.Commit();
    }

    [Fact]
    public void ZBlk0_range_reads_read_only_the_stored_bytes_asked_for()
    {
        int seed = Seeds.Announce(output, nameof(ZBlk0_range_reads_read_only_the_stored_bytes_asked_for));
        var rnd = new Random(seed);
        (ZodbTestDb t, CountingFileSystem files) = NewDb();
        using (t)
        {
            Connection c1 = t.Open();
            ZBigFile f = NewFile(c1, "f");
            var content = new byte[]?[6];
            byte[] full = new byte[BlockSize]; // full: nothing stripped
            rnd.NextBytes(full);
            full[^1] = 1;
            content[0] = full;
            content[1] = new byte[BlockSize]; // 1000 stored bytes, the rest stripped
            rnd.NextBytes(content[1].AsSpan(0, 1000));
            content[1]![999] = 2;
            content[2] = new byte[BlockSize]; // one stored byte
            content[2]![0] = 7;
            content[4] = new byte[BlockSize]; // written as all zeros
            byte[] inside = new byte[BlockSize]; // zeros inside the payload too
            rnd.NextBytes(inside);
            inside.AsSpan(100, 5000).Clear();
            inside[^2] = 3;
            inside[^1] = 0;
            content[5] = inside;
            WriteBlocks(c1, f, content);

            Connection c2 = t.Open();
            using FileHandle h = c2.Root.Get<ZBigFile>("f").Open(SmallBudget(2));
            var source = Assert.IsAssignableFrom<IBlockSource>(h.File);
            byte[] zeros = new byte[BlockSize];
            for (int b = 0; b < content.Length + 1; b++)
            {
                byte[] want = b < content.Length ? content[b] ?? zeros : zeros;
                for (int i = 0; i < 50; i++)
                {
                    int off = rnd.Next(BlockSize + 1), len = rnd.Next(Math.Min(BlockSize - off, 3000) + 1);
                    if (i == 0)
                    {
                        (off, len) = (0, BlockSize);
                    }
                    else if (i == 1)
                    {
                        (off, len) = (990, 20); // across block 1's payload end
                    }
                    var part = new byte[len];
                    part.AsSpan().Fill(0xEE);
                    source.ReadAt(b, off, part);
                    Assert.True(want.AsSpan(off, len).SequenceEqual(part), $"ReadAt({b}, {off}, {len})");
                }
            }

            // what a read costs once the record's shape is known: the bytes asked for that are stored, in one read
            var item = new byte[8];
            files.Reset();
            source.ReadAt(0, 12345, item);
            Assert.Equal((1, 8L), (files.Reads, files.BytesRead));
            Assert.True(content[0].AsSpan(12345, 8).SequenceEqual(item));
            files.Reset();
            source.ReadAt(1, 996, item); // 4 stored bytes, 4 stripped zeros
            Assert.Equal((1, 4L), (files.Reads, files.BytesRead));
            Assert.True(content[1].AsSpan(996, 8).SequenceEqual(item));
            files.Reset();
            source.ReadAt(1, 5000, item); // only stripped zeros
            source.ReadAt(3, 5000, item); // a hole
            Assert.Equal(0L, files.BytesRead);
            Assert.False(item.AsSpan().ContainsAnyExcept((byte)0));

            // the same through the paging layer's direct read (BF-54): nothing enters the cache
            files.Reset();
            h.Read(5 * BlockSize + 40_000, item);
            Assert.True(content[5].AsSpan(40_000, 8).SequenceEqual(item));
            Assert.InRange(files.BytesRead, 8, 8 + 64 + 42 + 256 + 3); // the first read of block 5 learns its shape
            Assert.Equal(0, h.GetStatistics().Loads);
            c1.Dispose();
            c2.Dispose();
        }
    }

    [Fact]
    public void ZBlk1_range_reads_read_only_the_chunks_they_touch_and_zeros_where_none()
    {
        int seed = Seeds.Announce(output, nameof(ZBlk1_range_reads_read_only_the_chunks_they_touch_and_zeros_where_none));
        var rnd = new Random(seed);
        (ZodbTestDb t, CountingFileSystem files) = NewDb();
        using (t)
        {
            Connection c1 = t.Open();
            ZBigFile f = NewFile(c1, "f", ZBlkFormat.ZBlk1);
            const int chunk = BlockReader.ChunkSize;
            var content = new byte[]?[3];
            byte[] first = new byte[BlockSize];
            rnd.NextBytes(first);
            first.AsSpan(3 * chunk, chunk).Clear(); // all-zero chunks are not stored (ZB-31)
            first.AsSpan(7 * chunk, 2 * chunk).Clear();
            first.AsSpan(12 * chunk + 100, 50).Clear();
            content[0] = first;
            content[2] = new byte[BlockSize];
            content[2]![BlockSize - 1] = 9; // only the last chunk stored
            WriteBlocks(c1, f, content);

            Connection c2 = t.Open();
            using FileHandle h = c2.Root.Get<ZBigFile>("f").Open(SmallBudget(2));
            var source = Assert.IsAssignableFrom<IBlockSource>(h.File);
            byte[] zeros = new byte[BlockSize];
            for (int pass = 0; pass < 2; pass++)
            {
                // pass 0: layouts unknown (whole blocks read); pass 1: known from a load (only the chunks touched)
                for (int b = 0; b < 4; b++)
                {
                    byte[] want = b < content.Length ? content[b] ?? zeros : zeros;
                    for (int i = 0; i < 40; i++)
                    {
                        int off = rnd.Next(BlockSize + 1), len = rnd.Next(Math.Min(BlockSize - off, 3 * chunk) + 1);
                        var part = new byte[len];
                        part.AsSpan().Fill(0xEE);
                        source.ReadAt(b, off, part);
                        Assert.True(want.AsSpan(off, len).SequenceEqual(part), $"pass {pass}: ReadAt({b}, {off}, {len})");
                    }
                    if (pass == 0)
                    {
                        h.File.LoadBlock(b, new byte[BlockSize]);
                    }
                }
            }
            var item = new byte[8];
            files.Reset();
            source.ReadAt(0, 5 * chunk + 10, item); // one chunk record
            Assert.True(content[0].AsSpan(5 * chunk + 10, 8).SequenceEqual(item));
            Assert.Equal(1, files.Reads);
            Assert.InRange(files.BytesRead, 8, chunk + 1024); // one read of the chunk record and its header
            files.Reset();
            source.ReadAt(0, 3 * chunk + 10, item); // a missing chunk
            source.ReadAt(2, 10, item);
            Assert.Equal(0L, files.BytesRead);
            Assert.False(item.AsSpan().ContainsAnyExcept((byte)0));
            files.Reset();
            var across = new byte[chunk + 16];
            source.ReadAt(0, 7 * chunk - 8, across); // the end of chunk 6, missing chunks 7 and 8
            Assert.True(content[0].AsSpan(7 * chunk - 8, across.Length).SequenceEqual(across));
            Assert.InRange(files.BytesRead, 8, chunk + 1024); // one read of the chunk record and its header
            // a chunk read before: only the bytes asked for, where that read found them
            files.Reset();
            source.ReadAt(0, 5 * chunk + 100, item);
            Assert.True(content[0].AsSpan(5 * chunk + 100, 8).SequenceEqual(item));
            Assert.Equal((1, 8L), (files.Reads, files.BytesRead));

            // a pack writes a new data file: what was found in the old one is not used for it
            using (FileHandle w = f.Open())
            {
                Write(w, 1, 77);
                c1.TransactionManager.Commit();
                Write(w, 1, 0);
                c1.TransactionManager.Commit();
            }
            Assert.True(((FileStorage)c1.Storage).Pack(t.Db.LastTransaction).Packed);
            c2.TransactionManager.Abort(); // c2 moves to the new snapshot
            files.Reset();
            source.ReadAt(0, 5 * chunk + 100, item); // the chunk record is read again, in the new file
            Assert.True(content[0].AsSpan(5 * chunk + 100, 8).SequenceEqual(item));
            Assert.InRange(files.BytesRead, chunk, chunk + 1024);
            for (int i = 0; i < 40; i++)
            {
                int off = rnd.Next(BlockSize - 8);
                source.ReadAt(0, off, item);
                Assert.True(content[0].AsSpan(off, 8).SequenceEqual(item), $"after the pack: ReadAt(0, {off}, 8)");
            }
            c1.Dispose();
            c2.Dispose();
        }
    }

    [Theory]
    [InlineData(ZBlkFormat.ZBlk0)]
    [InlineData(ZBlkFormat.ZBlk1)]
    public void A_page_in_the_cache_wins_and_reads_keep_the_snapshot(ZBlkFormat format)
    {
        (ZodbTestDb t, _) = NewDb();
        using (t)
        {
            Connection c1 = t.Open();
            ZBigFile f = NewFile(c1, "f", format);
            using FileHandle w = f.Open();
            Write(w, 0, 1, offset: 4096 * 3 + 8);
            Write(w, 1, 10);
            c1.TransactionManager.Commit();
            Tid first = t.Db.LastTransaction;

            Connection c2 = t.Open();
            using FileHandle h = c2.Root.Get<ZBigFile>("f").Open(SmallBudget(4));
            long At(FileHandle handle, long block, int offset)
            {
                var item = new byte[8];
                handle.Read(block * BlockSize + offset, item);
                return BinaryPrimitives.ReadInt64LittleEndian(item);
            }
            h.File.LoadBlock(0, new byte[BlockSize]); // the ZBlk1 layout known: partial reads take single chunks
            Assert.Equal(1, At(h, 0, 4096 * 3 + 8));

            // another connection commits: until its next boundary c2 keeps reading its snapshot
            Write(w, 0, 2, offset: 4096 * 3 + 8);
            Write(w, 1, 20);
            c1.TransactionManager.Commit();
            Assert.Equal(1, At(h, 0, 4096 * 3 + 8));
            Assert.Equal(10, At(h, 1, 0));
            Assert.Equal(0, h.GetStatistics().Loads);
            c2.TransactionManager.Abort(); // the boundary: the new snapshot
            Assert.Equal(2, At(h, 0, 4096 * 3 + 8));
            Assert.Equal(20, At(h, 1, 0));

            // a page the cache holds wins, dirty or clean: a change not committed is what reads see
            Write(h, 1, 30);
            Assert.Equal(30, At(h, 1, 0));
            Assert.Equal(30, Read(h, 1));
            c2.TransactionManager.Abort();
            Assert.Equal(20, At(h, 1, 0));

            // a connection at an older tid reads the older revisions (ZBlk0 records and ZData chunks)
            Connection past = t.Db.OpenAt(first);
            using FileHandle ph = past.Root.Get<ZBigFile>("f").Open(SmallBudget(2));
            ph.File.LoadBlock(0, new byte[BlockSize]);
            Assert.Equal(1, At(ph, 0, 4096 * 3 + 8));
            Assert.Equal(10, At(ph, 1, 0));
            c1.Dispose();
            c2.Dispose();
            past.Dispose();
        }
    }

    [Fact]
    public void Damaged_ZBlk0_records_fail_as_corrupt_blocks_before_any_large_allocation()
    {
        (ZodbTestDb t, CountingFileSystem files) = NewDb();
        using (t)
        {
            Connection c = t.Open();
            ZBigFile f = NewFile(c, "f");
            var tooLong = new ZBlk0();
            tooLong.LoadStateFrom(new byte[BlockSize + 1]);
            f.BlockTable[0] = tooLong;
            c.TransactionManager.Commit();
            using (FileHandle w = f.Open())
            {
                Write(w, 1, 5, offset: 1000); // payloads longer than 255 bytes: BINBYTES with a 4-byte length
                Write(w, 2, 6, offset: 1000);
                c.TransactionManager.Commit();
            }
            var storage = (FileStorage)c.Storage;
            // block 1: the BINBYTES length says 4 GiB; block 2: the record does not end with BINPUT 1, STOP
            Oid z1 = ((Persistent)f.BlockTable[1L]!).PersistentOid!.Value;
            Oid z2 = ((Persistent)f.BlockTable[2L]!).PersistentOid!.Value;
            using (IStorageFile data = files.Inner.Open(DataPath, StorageFileMode.ReadWrite))
            {
                Assert.True(storage.TryLocateBefore(z1, Tid.Max, out PayloadLocation at1, stackalloc byte[64], out _));
                var head = new byte[64];
                data.ReadAt(at1.Position, head);
                Assert.True(ZBlkRecord.TryLayout(head, [(byte)'q', 1, (byte)'.'], at1.Length, "ZBlk0", out int offset, out _));
                Assert.Equal((byte)'B', head[offset - 5]);
                data.WriteAt(at1.Position + offset - 4, [0xF0, 0xFF, 0xFF, 0xFF]);
                Assert.True(storage.TryLocateBefore(z2, Tid.Max, out PayloadLocation at2, stackalloc byte[64], out _));
                data.WriteAt(at2.Position + at2.Length - 1, [(byte)'x']);
            }

            Connection d = t.Open();
            using FileHandle h = d.Root.Get<ZBigFile>("f").Open(SmallBudget(2));
            var source = Assert.IsAssignableFrom<IBlockSource>(h.File);
            var item = new byte[8];
            var e0 = Assert.Throws<CorruptBlockException>(() => source.ReadAt(0, 8, item));
            Assert.Equal(tooLong.PersistentOid, e0.Oid);
            Assert.Contains("longer than the block", e0.Message, StringComparison.Ordinal);
            Assert.Throws<CorruptBlockException>(() => h.File.LoadBlock(0, new byte[BlockSize]));
            foreach ((long block, Oid oid) in new[] { (1L, z1), (2L, z2) })
            {
                var e = Assert.Throws<CorruptBlockException>(() => source.ReadAt(block, 100, item));
                Assert.Equal((block, oid), (e.Block, e.Oid));
                Assert.Throws<CorruptBlockException>(() => h.File.LoadBlock(block, new byte[BlockSize]));
                Assert.Throws<CorruptBlockException>(() => h.Read(block * BlockSize + 100, item));
            }
            c.Dispose();
            d.Dispose();
        }
    }
}
