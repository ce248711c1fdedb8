using Wendelin.Arrays.BigFile;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests.BigFile;

/// <summary>Threads touching the same and different blocks (spec/bigfile.md BF-10, BF-28).</summary>
public sealed class FileHandleConcurrencyTests(ITestOutputHelper output)
{
    private const int Bs = 64 << 10;

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Each_block_is_loaded_once_however_many_threads_want_it(string kind)
    {
        const int blocks = 24, threads = 8;
        var f = new RecordingBlockFile(Bs) { LoadDelayMs = 3 };
        var content = new byte[blocks * Bs];
        new Random(3).NextBytes(content);
        f.Inner.Write(0, content);
        using var h = new FileHandle(f, Backends.Options(kind, budget: 64L * Bs, residentLimit: 4L * Bs));
        using FileView shared = h.Map(0, (long)blocks * Bs); // windowed: threads acquire windows of one view
        int seed = Seeds.Announce(output, "threads");
        using var start = new Barrier(threads);
        var errors = new List<Exception>();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            try
            {
                var rnd = new Random(seed + t);
                start.SignalAndWait();
                for (int i = 0; i < 30; i++)
                {
                    int first = rnd.Next(blocks - 3);
                    int count = rnd.Next(1, 4);
                    if (rnd.Next(2) == 0)
                    {
                        using FileView v = h.Map((long)first * Bs + 7, (long)count * Bs - 7);
                        Check(v.Span, content.AsSpan(first * Bs + 7, count * Bs - 7));
                    }
                    else
                    {
                        using ViewWindow w = shared.Acquire((long)first * Bs, (long)count * Bs);
                        Check(w.Span, content.AsSpan(first * Bs, count * Bs));
                    }
                }
            }
            catch (Exception e)
            {
                lock (errors)
                {
                    errors.Add(e);
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.Empty(errors);
        output.WriteLine($"{kind}: loads per block {string.Join(",", f.LoadsPerBlock.OrderBy(kv => kv.Key).Select(kv => kv.Value))}");
        Assert.All(f.LoadsPerBlock.Values, n => Assert.Equal(1, n));
        Assert.Equal(f.LoadsPerBlock.Count, h.GetStatistics().Loads);
    }

    [Theory]
    [MemberData(nameof(Backends.Mapped), MemberType = typeof(Backends))]
    public void Writers_on_different_threads_are_all_tracked(string kind)
    {
        const int blocks = 16;
        var f = new RecordingBlockFile(Bs);
        using var h = new FileHandle(f, Backends.Options(kind, budget: 64L * Bs, residentLimit: 64L * Bs));
        using FileView v = h.Map(0, (long)blocks * Bs);
        nint address = v.Address;
        Parallel.For(0, blocks / 2, i =>
        {
            unsafe
            {
                ((byte*)address)[(2 * i + 1) * (long)Bs + i * 4096 % Bs + 3] = 1; // odd blocks only
            }
        });
        Assert.Equal(Enumerable.Range(0, blocks / 2).Select(i => (long)(2 * i + 1)), h.DirtyBlocks());
        Assert.All(f.LoadsPerBlock.Values, n => Assert.Equal(1, n));
    }

    [Theory]
    [MemberData(nameof(Backends.Mapped), MemberType = typeof(Backends))]
    public void Invalidation_while_readers_run_never_shows_a_torn_page(string kind)
    {
        // Every byte of a block holds the block's version, and the loader fills a block in two halves with a
        // pause between them. A reader must never see two versions in one block: a page is shown only when
        // complete, and switched whole (BF-19). A sample is discarded when a reload finished between its two loads.
        const int blocks = 4;
        var f = new HalvesBlockFile(Bs);
        for (int b = 0; b < blocks; b++)
        {
            f.Publish(b, 1);
        }
        using var h = new FileHandle(f, Backends.Options(kind));
        using FileView v = h.Map(0, (long)blocks * Bs);
        using var stop = new CancellationTokenSource();
        long torn = 0, samples = 0;
        var reader = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                for (int b = 0; b < blocks; b++)
                {
                    ReadOnlySpan<byte> s = v.GetSpan((long)b * Bs, Bs);
                    long loads = h.GetStatistics().Loads;
                    byte first = s[0], last = s[Bs - 1];
                    if (first != last && h.GetStatistics().Loads == loads)
                    {
                        Interlocked.Increment(ref torn);
                    }
                    Interlocked.Increment(ref samples);
                }
            }
        });
        reader.Start();
        for (int version = 2; version < 40; version++)
        {
            long block = version % blocks;
            f.Publish(block, version);
            h.InvalidateBlock(block);
            Assert.False(v.GetSpan(block * Bs, Bs).ContainsAnyExcept((byte)version));
        }
        stop.Cancel();
        reader.Join();
        output.WriteLine($"{kind}: {samples} samples during 38 invalidations with 2 ms half-loaded windows, {torn} torn");
        Assert.Equal(0, torn);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public async Task An_invalidation_during_a_load_makes_the_loader_load_again(string kind)
    {
        var f = new GatedBlockFile(Bs);
        f.Inner.Write(0, Enumerable.Repeat((byte)1, Bs).ToArray());
        using var h = new FileHandle(f, Backends.Options(kind));
        Task<byte> mapping = Task.Run(() =>
        {
            using FileView v = h.Map(0, Bs);
            return v.ReadOnlySpan[Bs - 1];
        });
        Assert.True(f.Started.Wait(TimeSpan.FromSeconds(10)));
        f.Inner.Write(0, Enumerable.Repeat((byte)2, Bs).ToArray()); // another writer commits while we load
        h.InvalidateBlock(0);
        f.Proceed.Set();
        Assert.Equal(2, await mapping);
        Assert.Equal(2, f.Loads);
        Assert.Equal(1, h.GetStatistics().Loads); // the first, invalidated load is not counted
    }

    [Fact]
    public void Stores_made_by_the_kernel_into_a_view_are_tracked()
    {
        // read(2) into view memory: the kernel writes the page, and write-protect tracking still reports it (BF-14)
        using var dir = new TempDirectory("kernel-write");
        string path = dir.File("src.bin");
        File.WriteAllBytes(path, Enumerable.Repeat((byte)0x5A, 3000).ToArray());
        using var h = new FileHandle(new MemoryBlockFile(Bs), Backends.Options("mapped-wp"));
        using FileView v = h.Map(0, 4L * Bs);
        using (Microsoft.Win32.SafeHandles.SafeFileHandle fh = File.OpenHandle(path))
        {
            Assert.Equal(3000, RandomAccess.Read(fh, v.GetSpan(2L * Bs + 100, 3000), 0));
        }
        Assert.Equal([2L], h.DirtyBlocks());
    }

    private sealed class GatedBlockFile(int blockSize) : IBlockFile
    {
        private int _loads;

        public MemoryBlockFile Inner { get; } = new(blockSize);

        public ManualResetEventSlim Started { get; } = new();

        public ManualResetEventSlim Proceed { get; } = new();

        public int Loads => _loads;

        public int BlockSize => blockSize;

        public void LoadBlock(long block, Span<byte> buffer)
        {
            if (Interlocked.Increment(ref _loads) == 1)
            {
                Started.Set();
                Proceed.Wait(TimeSpan.FromSeconds(10));
            }
            Inner.LoadBlock(block, buffer);
        }

        public void StoreBlock(long block, ReadOnlySpan<byte> buffer) => Inner.StoreBlock(block, buffer);
    }

    private sealed class HalvesBlockFile(int blockSize) : IBlockFile
    {
        private readonly MemoryBlockFile _inner = new(blockSize);

        public int BlockSize => blockSize;

        public void Publish(long block, long version)
        {
            var bytes = new byte[blockSize];
            bytes.AsSpan().Fill((byte)version);
            _inner.Write(block * blockSize, bytes);
        }

        public void LoadBlock(long block, Span<byte> buffer)
        {
            var all = new byte[blockSize];
            _inner.LoadBlock(block, all);
            all.AsSpan(0, blockSize / 2).CopyTo(buffer);
            Thread.Sleep(2);
            all.AsSpan(blockSize / 2).CopyTo(buffer[(blockSize / 2)..]);
        }

        public void StoreBlock(long block, ReadOnlySpan<byte> buffer) => _inner.StoreBlock(block, buffer);
    }

    private static void Check(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected)
    {
        if (!actual.SequenceEqual(expected))
        {
            throw new InvalidOperationException("a view showed wrong bytes");
        }
    }
}
