using System.Runtime.InteropServices;
using Wendelin.Arrays.BigFile;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests.BigFile;

/// <summary>The read paths without views (spec/bigfile.md BF-50…BF-54): races, memory bounds, errors, disposal, leases.</summary>
public sealed class FileHandleScanTests(ITestOutputHelper output)
{
    private const int Bs = 64 << 10;

    private static byte[] Scan(FileHandle h, long offset, long length)
    {
        var got = new byte[length];
        using BlockScan scan = h.Scan(offset, length);
        while (scan.MoveNext())
        {
            scan.Current.CopyTo(got.AsSpan((int)(scan.Offset - offset)));
        }
        return got;
    }

    private static byte[] Filled(int length, byte value)
    {
        var b = new byte[length];
        b.AsSpan().Fill(value);
        return b;
    }

    [Theory]
    [InlineData("scan")]
    [InlineData("scan-one-block")]
    [InlineData("read")]
    public void A_load_racing_an_invalidation_is_never_handed_out_torn(string how)
    {
        // block 2 is loaded in two halves; between them another writer replaces it and invalidates it
        var file = new HalvesBlockFile(Bs);
        for (int b = 0; b < 6; b++)
        {
            file.Inner.Write((long)b * Bs, Filled(Bs, (byte)(10 + b)));
        }
        using var h = new FileHandle(file, new FileHandleOptions { RamBudget = 2L * Bs });
        file.RaceBlock = 2;
        file.Race = () =>
        {
            file.Inner.Write(2L * Bs, Filled(Bs, 99));
            h.InvalidateBlock(2);
        };
        byte[] got = how switch
        {
            "scan" => Scan(h, 0, 6L * Bs),
            "scan-one-block" => Scan(h, 2L * Bs, Bs),
            _ => ReadAll(h, 2L * Bs, Bs),
        };
        int at = how == "scan" ? 2 * Bs : 0;
        Assert.Equal(Filled(Bs, 99), got.AsSpan(at, Bs).ToArray()); // the whole new block, not half of each
        if (how == "scan")
        {
            Assert.Equal(Filled(Bs, 13), got.AsSpan(3 * Bs, Bs).ToArray());
        }
        Assert.Equal(0, h.GetStatistics().Loads); // nothing entered the cache
    }

    private static byte[] ReadAll(FileHandle h, long offset, int length)
    {
        var got = new byte[length];
        h.Read(offset, got);
        return got;
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_load_racing_a_writeout_of_the_block_is_never_handed_out_stale(string kind)
    {
        // while a scan loads block 2 from the file, this handle changes it, stores it, marks it stored, and lets
        // the cache evict it: when the scan gets there, the block is absent and its load predates the store
        var file = new HalvesBlockFile(Bs);
        for (int b = 0; b < 6; b++)
        {
            file.Inner.Write((long)b * Bs, Filled(Bs, (byte)(10 + b)));
        }
        using var h = new FileHandle(file, Backends.Options(kind, budget: 2L * Bs));
        file.RaceBlock = 2;
        file.Race = () =>
        {
            using (FileView v = h.Map(2L * Bs, Bs))
            {
                v.Span.Fill(77);
            }
            h.Writeout();
            h.MarkStored();
            // push block 2 (clean now, in the LRU list as it was dirty when released) out of the 2-block budget:
            // block 3 used twice joins the LRU list after it, block 4 then takes block 2's slot (BF-4)
            foreach (int b in new[] { 3, 3, 4 })
            {
                using FileView other = h.Map((long)b * Bs, Bs, writable: false);
            }
        };
        long directBefore = h.GetStatistics().DirectLoads;
        byte[] got = Scan(h, 0, 6L * Bs);
        Assert.Equal(Filled(Bs, 77), got.AsSpan(2 * Bs, Bs).ToArray());
        Assert.Equal(Filled(Bs, 15), got.AsSpan(5 * Bs, Bs).ToArray());
        FileHandleStatistics st = h.GetStatistics();
        output.WriteLine($"{kind}: direct loads {st.DirectLoads - directBefore}, cache loads {st.Loads}, evictions {st.Evictions}");
        // blocks 0, 1, 2 (the stale load), 5 by the read-ahead; 3 and 4 from the cache; 2 again by the consumer
        Assert.Equal(5, st.DirectLoads - directBefore);
    }

    [Fact]
    public void A_scan_keeps_a_few_blocks_in_flight_whatever_the_length()
    {
        // 512 blocks through a plain block file (ring buffers) and a leasing one (leases): a bounded number at once
        const int bs = 16 << 10, blocks = 512;
        long ring = Math.Clamp(BlockScan.ReadAheadBytes / bs, 2, 64);
        var plain = new HalvesBlockFile(bs);
        var stripped = new StrippedBlockFile(bs);
        for (int b = 0; b < blocks; b += 3)
        {
            plain.Inner.Write((long)b * bs + 5, [1, 2, 3]);
            stripped.Inner.Write((long)b * bs + 5, [1, 2, 3]);
        }
        foreach (IBlockFile file in new IBlockFile[] { plain, stripped })
        {
            using var h = new FileHandle(file, new FileHandleOptions { RamBudget = 4L * bs });
            long sum = 0;
            using (BlockScan scan = h.Scan(0, (long)blocks * bs))
            {
                while (scan.MoveNext())
                {
                    foreach (byte x in scan.Current)
                    {
                        sum += x;
                    }
                    if (scan.Offset % (64L * bs) == 0)
                    {
                        Thread.Sleep(1); // let the read-ahead run as far ahead as it may
                    }
                }
            }
            Assert.Equal(6L * ((blocks + 2) / 3), sum);
            FileHandleStatistics st = h.GetStatistics();
            Assert.Equal(0, st.ResidentBytes);
            Assert.Equal(0, st.CacheMemoryBytes);
            Assert.Equal(blocks, st.DirectLoads);
        }
        output.WriteLine($"ring of {ring}: plain file filled {plain.DistinctBuffers} distinct buffers; stripped file had at most {stripped.MaxOutstanding} leases out");
        Assert.InRange(plain.DistinctBuffers, 1, ring + 1); // the ring's buffers, plus the consumer's own
        Assert.InRange(stripped.MaxOutstanding, 1, ring + 1);
        Assert.Equal(0, stripped.Outstanding);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_failing_load_reaches_the_consumer_at_its_block_and_a_later_MoveNext_retries(bool background)
    {
        var file = new HalvesBlockFile(Bs);
        for (int b = 0; b < 8; b++)
        {
            file.Inner.Write((long)b * Bs, Filled(Bs, (byte)b));
        }
        using var h = new FileHandle(file, new FileHandleOptions { RamBudget = 2L * Bs, LoadInBackground = background });
        file.FailBlock = 5;
        using BlockScan scan = h.Scan(0, 8L * Bs);
        var seen = new List<long>();
        IOException? error = null;
        while (error is null)
        {
            try
            {
                if (!scan.MoveNext())
                {
                    break;
                }
                seen.Add(scan.Offset / Bs);
                Assert.Equal((byte)(scan.Offset / Bs), scan.Current[0]);
            }
            catch (IOException e)
            {
                error = e;
            }
        }
        Assert.NotNull(error);
        Assert.Equal([0L, 1, 2, 3, 4], seen);
        Assert.Throws<IOException>(() => scan.MoveNext()); // still failing: the same block again
        file.FailBlock = -1;
        while (scan.MoveNext())
        {
            seen.Add(scan.Offset / Bs);
            Assert.Equal((byte)(scan.Offset / Bs), scan.Current[0]);
        }
        Assert.Equal([0L, 1, 2, 3, 4, 5, 6, 7], seen);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_source_that_reads_ahead_itself_is_loaded_on_the_consumers_thread(bool readsAhead)
    {
        var file = new StrippedBlockFile(Bs) { ReadsAhead = readsAhead };
        for (int b = 0; b < 12; b++)
        {
            file.Inner.Write((long)b * Bs, Filled(Bs, (byte)(b + 1)));
        }
        using var h = new FileHandle(file, new FileHandleOptions { RamBudget = 2L * Bs, LoadInBackground = true });
        long sum = 0;
        using (BlockScan scan = h.Scan(0, 12L * Bs))
        {
            while (scan.MoveNext())
            {
                sum += scan.Current[0];
                Thread.Sleep(1); // a slow consumer: a read-ahead thread, if any, gets ahead
            }
        }
        Assert.Equal(78, sum); // each block once, in order
        // BF-50: with ReadsAhead every block is loaded by the consumer; without, by the read-ahead thread
        Assert.Equal(readsAhead, file.LoaderThreads.Keys.All(id => id == Environment.CurrentManagedThreadId));
    }

    [Fact]
    public void Disposing_a_scan_midway_releases_every_lease_and_buffer()
    {
        var file = new StrippedBlockFile(Bs);
        for (int b = 0; b < 40; b++)
        {
            file.Inner.Write((long)b * Bs, [1]);
        }
        using var h = new FileHandle(file, new FileHandleOptions { RamBudget = 2L * Bs });
        for (int stopAt = 0; stopAt < 6; stopAt++)
        {
            BlockScan scan = h.Scan(0, 40L * Bs);
            for (int i = 0; i < stopAt && scan.MoveNext(); i++)
            {
            }
            scan.Dispose();
            Assert.Equal(0, file.Outstanding);
            Assert.Throws<ObjectDisposedException>(() => scan.MoveNext());
            scan.Dispose(); // idempotent
        }
        // the handle's disposal ends a scan's use of it
        BlockScan open = h.Scan(0, 40L * Bs);
        Assert.True(open.MoveNext());
        h.Dispose();
        Assert.Throws<ObjectDisposedException>(() =>
        {
            while (open.MoveNext())
            {
            }
        });
        open.Dispose();
        Assert.Equal(0, file.Outstanding);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Scans_and_reads_see_dirty_and_spilled_pages(string kind)
    {
        // a 2-block budget, 6 dirty blocks: most are spilled to the scratch file
        using var scratch = new TempDirectory("bigfile-scan-spill");
        var file = new MemoryBlockFile(Bs);
        using var h = new FileHandle(file, Backends.Options(kind, budget: 2L * Bs, residentLimit: 2L * Bs, scratch: scratch.Path));
        for (int b = 0; b < 6; b++)
        {
            using FileView v = h.Map((long)b * Bs, Bs);
            v.Span.Fill((byte)(b + 1));
        }
        Assert.True(h.GetStatistics().SpilledBytes >= 3L * Bs);
        byte[] all = Scan(h, 0, 7L * Bs);
        for (int b = 0; b < 6; b++)
        {
            Assert.Equal(Filled(Bs, (byte)(b + 1)), all.AsSpan(b * Bs, Bs).ToArray());
            Assert.Equal(Filled(100, (byte)(b + 1)), ReadAll(h, (long)b * Bs + 7, 100));
        }
        Assert.False(all.AsSpan(6 * Bs).ContainsAnyExcept((byte)0));
        Assert.Equal(0, file.StoredBlockCount); // nothing was stored
    }

    [Fact]
    public void A_block_file_handing_over_more_than_a_block_is_refused()
    {
        using var h = new FileHandle(new OversizedSource(Bs));
        using BlockScan scan = h.Scan(0, Bs);
        Assert.Throws<InvalidOperationException>(() => scan.MoveNext());
    }

    [Fact]
    public unsafe void Os_block_file_leases_map_its_pages_and_read_zeros_past_the_end()
    {
        using var dir = new TempDirectory("bigfile-os-lease");
        string path = dir.File("f.bin");
        var bytes = new byte[3 * Bs + 100];
        new Random(5).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        using var file = new OsBlockFile(path, Bs, writable: false);
        Assert.True(file.TryLease(1, out BlockLease whole)); // just written: in the OS page cache, mapped
        using (whole)
        {
            Assert.Equal(bytes.AsSpan(Bs, Bs).ToArray(), whole.Data.ToArray());
        }
        Assert.True(file.TryLease(3, out BlockLease tail));
        using (tail)
        {
            Assert.Equal(bytes.AsSpan(3 * Bs).ToArray(), tail.Data.ToArray()); // 100 bytes; the rest of the block is zeros
        }
        Assert.True(file.TryLease(9, out BlockLease past));
        using (past)
        {
            Assert.True(past.Data.IsEmpty);
        }
        var part = new byte[50];
        file.ReadAt(3, 80, part);
        Assert.Equal(bytes.AsSpan(3 * Bs + 80, 20).ToArray(), part.AsSpan(0, 20).ToArray());
        Assert.False(part.AsSpan(20).ContainsAnyExcept((byte)0));
        using var h = new FileHandle(file, new FileHandleOptions { RamBudget = 2L * Bs });
        byte[] scanned = Scan(h, 0, 4L * Bs);
        Assert.Equal(bytes, scanned.AsSpan(0, bytes.Length).ToArray());
        Assert.False(scanned.AsSpan(bytes.Length).ContainsAnyExcept((byte)0));
    }

    [Fact]
    public void Os_block_file_leases_share_one_mapping_per_window_and_unmap_it_after_the_last_lease()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        using var dir = new TempDirectory("bigfile-os-window");
        string path = dir.File("w.bin");
        int blocksPerWindow = (int)(OsBlockFile.WindowBytes / Bs);
        var bytes = new byte[(blocksPerWindow + 3) * Bs];
        new Random(9).NextBytes(bytes);
        File.WriteAllBytes(path, bytes); // just written: in the OS page cache, so leases map
        int Mappings() => File.ReadAllLines("/proc/self/maps").Count(l => l.EndsWith(path, StringComparison.Ordinal));
        var file = new OsBlockFile(path, Bs, writable: false);
        var leases = new List<BlockLease>();
        for (int b = 0; b < 4; b++)
        {
            Assert.True(file.TryLease(b, out BlockLease l));
            leases.Add(l);
            Assert.Equal(bytes.AsSpan(b * Bs, Bs).ToArray(), leases[^1].Data.ToArray());
        }
        Assert.Equal(1, Mappings()); // four blocks, one window
        Assert.True(file.TryLease(blocksPerWindow + 1, out BlockLease far)); // the next window: the first stays while leased
        Assert.Equal(bytes.AsSpan((blocksPerWindow + 1) * Bs, Bs).ToArray(), far.Data.ToArray());
        Assert.Equal(2, Mappings());
        foreach (BlockLease l in leases)
        {
            l.Dispose();
        }
        Assert.Equal(1, Mappings()); // the first window is gone with its last lease
        file.Dispose();
        Assert.Equal(1, Mappings()); // still leased
        far.Dispose();
        Assert.Equal(0, Mappings());
    }

    [Fact]
    public void Memory_block_file_leases_do_not_see_later_writes()
    {
        var file = new MemoryBlockFile(Bs);
        file.Write(10, [1, 2, 3]);
        Assert.True(file.TryLease(0, out BlockLease lease));
        file.Write(10, [7, 7, 7]);
        file.StoreBlock(0, Filled(Bs, 9));
        file.Truncate(5);
        Assert.Equal([1, 2, 3], lease.Data.Slice(10, 3).ToArray());
        lease.Dispose();
        var now = new byte[4];
        file.ReadAt(0, 3, now);
        Assert.Equal([9, 9, 0, 0], now);
        Assert.True(file.TryLease(1, out BlockLease hole) && hole.Data.IsEmpty); // a hole
    }

    /// <summary>A broken block source: hands over one byte more than a block.</summary>
    private sealed class OversizedSource(int bs) : IBlockSource
    {
        public int BlockSize => bs;

        public void LoadBlock(long block, Span<byte> buffer) => buffer.Clear();

        public void StoreBlock(long block, ReadOnlySpan<byte> buffer)
        {
        }

        public void ReadAt(long block, int offset, Span<byte> destination) => destination.Clear();

        public bool TryLease(long block, out BlockLease lease)
        {
            lease = new(new byte[bs + 1]);
            return true;
        }
    }
}
