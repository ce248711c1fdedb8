using System.Buffers.Binary;
using Wendelin.Arrays.BigFile;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests;

/// <summary>
/// Arrays bigger than RAM (spec/arrays.md AR-20, AR-22): streaming over an array many times the handle's RAM
/// budget keeps the page cache within the budget (sampled from the paging layer's statistics) and gives the
/// result of a straightforward pass over the file.
/// </summary>
public sealed class LargerThanBudgetTests(ITestOutputHelper output)
{
    private const int Block = 256 << 10;       // 256 KiB pages
    private const long Budget = 16L * Block;   // 4 MiB
    private const long Items = 6L << 20;       // 48 MiB of float64: 12 × the budget

    /// <summary>Writes item i = (i mod 1000) − 300 (exactly summable in double) straight into the file.</summary>
    private static string WriteFile(TempDirectory dir)
    {
        string path = dir.File("big.f8");
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
        byte[] buf = new byte[1 << 20];
        for (long i = 0; i < Items;)
        {
            int n = (int)Math.Min(buf.Length / 8, Items - i);
            for (int j = 0; j < n; j++, i++)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(buf.AsSpan(j * 8), (i % 1000) - 300);
            }
            fs.Write(buf, 0, n * 8);
        }
        return path;
    }

    /// <summary>Samples the cache's memory in the background and keeps the maximum.</summary>
    private sealed class Sampler : IDisposable
    {
        private readonly FileHandle _handle;
        private readonly Thread _thread;
        private volatile bool _stop;

        public Sampler(FileHandle handle)
        {
            _handle = handle;
            _thread = new Thread(Run) { IsBackground = true };
            _thread.Start();
        }

        public long MaxResident { get; private set; }

        public long MaxCacheMemory { get; private set; }

        public int Samples { get; private set; }

        private void Run()
        {
            while (!_stop)
            {
                Sample();
                Thread.Sleep(1);
            }
        }

        public void Sample()
        {
            FileHandleStatistics s = _handle.GetStatistics();
            MaxResident = Math.Max(MaxResident, s.ResidentBytes);
            MaxCacheMemory = Math.Max(MaxCacheMemory, s.CacheMemoryBytes);
            Samples++;
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
            Sample();
        }
    }

    [Fact]
    public void Streaming_reductions_stay_within_the_budget_and_match_a_plain_pass()
    {
        using var dir = new TempDirectory("arrays-budget");
        string path = WriteFile(dir);

        // the straightforward computation: read the file, sum in a loop
        double plainSum = 0, plainMin = double.MaxValue, plainMax = double.MinValue;
        byte[] bytes = File.ReadAllBytes(path);
        for (int i = 0; i < bytes.Length; i += 8)
        {
            double v = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i));
            plainSum += v;
            plainMin = Math.Min(plainMin, v);
            plainMax = Math.Max(plainMax, v);
        }
        bytes = [];

        using var file = new OsBlockFile(path, Block, writable: false);
        using var handle = new FileHandle(file, new FileHandleOptions { RamBudget = Budget });
        var a = new BigArray([Items], DType.Float64, handle);
        Assert.True(a.NBytes >= 12 * handle.RamBudget);
        output.WriteLine($"array {a.NBytes >> 20} MiB, budget {handle.RamBudget >> 20} MiB, chunk {a.DefaultChunkBytes >> 10} KiB, backend {handle.Backend}");

        double sum, mean, min, max;
        using (var sampler = new Sampler(handle))
        {
            sum = a.Sum();
            mean = a.Mean();
            min = a.Min<double>();
            max = a.Max<double>();
            sampler.Dispose();
            output.WriteLine($"max resident {sampler.MaxResident >> 10} KiB, max cache memory {sampler.MaxCacheMemory >> 10} KiB, {sampler.Samples} samples");
            Assert.True(sampler.MaxResident <= handle.RamBudget, $"resident {sampler.MaxResident} > budget {handle.RamBudget}");
            Assert.True(sampler.MaxCacheMemory <= handle.RamBudget, $"cache memory {sampler.MaxCacheMemory} > budget {handle.RamBudget}");
        }
        FileHandleStatistics st = handle.GetStatistics();
        output.WriteLine($"loads {st.Loads} (prefetched {st.Prefetched}), evictions {st.Evictions}, direct loads {st.DirectLoads}");
        Assert.Equal(plainSum, sum);
        Assert.Equal(plainSum / Items, mean);
        Assert.Equal(plainMin, min);
        Assert.Equal(plainMax, max);
        // reductions scan without views (AR-22, BF-50): the cache took no part, every block came from the file
        Assert.Equal(0, st.Loads);
        Assert.True(st.DirectLoads >= 4 * Items * 8 / Block);

        // chunked iteration over a 2-D reading of the same file: also within the budget, every item once
        a.Resize(Items / 1024, 1024);
        double chunked = 0;
        long seen = 0;
        using (var sampler = new Sampler(handle))
        {
            foreach (ArrayView chunk in a.Chunks())
            {
                Assert.True(chunk.NBytes <= a.DefaultChunkBytes);
                chunked += chunk.Sum();
                seen += chunk.Size;
            }
            sampler.Dispose();
            Assert.True(sampler.MaxResident <= handle.RamBudget);
        }
        Assert.True(handle.GetStatistics().Evictions > 0); // chunks are views: they page through the cache
        Assert.Equal(Items, seen);
        Assert.Equal(plainSum, chunked);
    }
}
