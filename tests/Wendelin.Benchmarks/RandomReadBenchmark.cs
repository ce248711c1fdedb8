using System.Diagnostics;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Wendelin.Arrays;
using Wendelin.Arrays.BigFile;

namespace Wendelin.Benchmarks;

/// <summary>
/// shared/benchmarks.md workload 2: random 2 MiB blocks and random float64 elements of the 8 GiB array-sum file,
/// warm and cold, each read by the paging layer without a view (FileHandle.Read, spec/bigfile.md BF-54), by the
/// array (BigArray.CopyTo of a block-sized selection, GetItem; spec/arrays.md AR-10, AR-14), by the view path
/// (map a view, copy or read, dispose), and raw (RandomAccess.Read of the same bytes), on the same random
/// offsets. Reports per-operation latency percentiles and the p50 ratio to raw. Warm runs take turns per
/// operation in rotating order; cold runs drop the file's page cache before each variant's pass over each of five
/// segments of the offsets, in rotating order.
/// </summary>
internal static class RandomReadBenchmark
{
    [Benchmark("random-read", "workload 2: random 2 MiB blocks and random elements (FileHandle.Read, BigArray.CopyTo/GetItem, views) vs RandomAccess.Read, p50 latency, warm and cold (--blocks, --elements, --cold-blocks, --cold-elements)")]
    public static int Run(BenchArgs args)
    {
        long bytes = args.Long("gib", 8) << 30;
        long budget = args.Long("budget-mib", 1024) << 20;
        const int bs = 2 << 20;
        string path = ArraySumBenchmark.EnsureFile(args.Str("dir", Path.GetTempPath()), bytes);
        long items = bytes / 8, blocks = bytes / bs;
        int warmBlocks = args.Int("blocks", 10_000), warmElements = args.Int("elements", 100_000);
        int coldBlocks = args.Int("cold-blocks", 2_000), coldElements = args.Int("cold-elements", 20_000);
        bool skipCold = args.Str("cold", "yes") == "no";
        var rnd = new Random(args.Int("seed", 42));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"file {path}: {bytes >> 20} MiB of float64, block {bs >> 10} KiB, budget {budget >> 20} MiB"));

        using SafeFileHandle raw = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var file = new OsBlockFile(path, bs, writable: false);
        using var handle = new FileHandle(file, new FileHandleOptions { RamBudget = budget });
        var a = new BigArray([items], DType.Float64, handle);
        using var viewFile = new OsBlockFile(path, bs, writable: false);
        using var viewHandle = new FileHandle(viewFile, new FileHandleOptions { RamBudget = budget });
        var va = new BigArray([items], DType.Float64, viewHandle);
        byte[] buffer = GC.AllocateUninitializedArray<byte>(bs, pinned: true);
        double[] items2m = new double[bs / 8];
        byte[] eight = new byte[8];
        double check = 0;

        foreach (bool cold in skipCold ? new[] { false } : new[] { false, true })
        {
            string state = cold ? "cold" : "warm";
            int nb = cold ? coldBlocks : warmBlocks, ne = cold ? coldElements : warmElements;
            long[] blockAt = new long[nb];
            for (int i = 0; i < nb; i++)
            {
                blockAt[i] = rnd.NextInt64(blocks);
            }
            long[] itemAt = new long[ne];
            for (int i = 0; i < ne; i++)
            {
                itemAt[i] = rnd.NextInt64(items);
            }
            var blockOps = new (string Name, Action<long> Op)[]
            {
                ("RandomAccess.Read 2 MiB", b => ReadFully(raw, buffer, b * bs)),
                ("FileHandle.Read 2 MiB", b => handle.Read(b * bs, buffer)),
                ("BigArray.CopyTo(A[block]) 2 MiB", b => a.CopyTo([Ix.Slice(b * (bs / 8), (b + 1) * (bs / 8))], items2m.AsSpan())),
                ("view: map + CopyTo + dispose 2 MiB", b =>
                {
                    using ArrayView v = va.View(Ix.Slice(b * (bs / 8), (b + 1) * (bs / 8)));
                    v.CopyTo<double>(items2m);
                }),
            };
            var itemOps = new (string Name, Action<long> Op)[]
            {
                ("RandomAccess.Read 8 B", i => { ReadFully(raw, eight, i * 8); check += eight[0]; }),
                ("FileHandle.Read 8 B", i => { handle.Read(i * 8, eight); check += eight[0]; }),
                ("BigArray.GetItem<double>", i => check += a.GetItem<double>(i)),
                ("view: map + GetItem + dispose", i =>
                {
                    using ArrayView v = va.View(Ix.At(i));
                    check += v.GetItem<double>();
                }),
            };
            if (!cold)
            {
                ReadAll(raw, bytes, buffer); // the whole file in the OS page cache
            }
            Console.WriteLine($"-- {state}: {nb} random blocks, {ne} random elements (latency per operation)");
            Report(Measure(blockOps, blockAt, cold, path));
            Report(Measure(itemOps, itemAt, cold, path));
            // the values read must be the file's: spot-check a few against the generator
            for (int k = 0; k < 8; k++)
            {
                long i = itemAt[k];
                if (a.GetItem<double>(i) != ArraySumBenchmark.Value(i))
                {
                    Console.Error.WriteLine($"MISMATCH at item {i}");
                    return 1;
                }
            }
        }
        FileHandleStatistics st = handle.GetStatistics();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"direct-read handle: cache loads {st.Loads}, resident {st.ResidentBytes >> 20} MiB, views {st.Views}, direct loads {st.DirectLoads}; (checksum {check})"));
        return 0;
    }

    private static double[][] Measure((string Name, Action<long> Op)[] ops, long[] at, bool cold, string path)
    {
        var lat = new double[ops.Length][];
        for (int v = 0; v < ops.Length; v++)
        {
            lat[v] = new double[at.Length];
        }
        double tick = 1e6 / Stopwatch.Frequency;
        // warm: every operation in turn on each offset, the first variant rotating (whoever reads an offset first
        // leaves it in the CPU caches); cold: five segments, each variant's pass over a segment after a drop of
        // the file's page cache, in rotating order
        int segments = cold ? Math.Min(5, at.Length) : at.Length;
        for (int seg = 0; seg < segments; seg++)
        {
            int from = (int)((long)at.Length * seg / segments), to = (int)((long)at.Length * (seg + 1) / segments);
            for (int r = 0; r < ops.Length; r++)
            {
                int v = (seg + r) % ops.Length;
                if (cold)
                {
                    Harness.DropFileCache(path);
                }
                for (int k = from; k < to; k++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    ops[v].Op(at[k]);
                    lat[v][k] = (Stopwatch.GetTimestamp() - t0) * tick;
                }
            }
        }
        Names = ops.Select(o => o.Name).ToArray();
        return lat;
    }

    private static string[] Names = [];

    private static void Report(double[][] lat)
    {
        double rawP50 = 0;
        for (int v = 0; v < lat.Length; v++)
        {
            double[] s = lat[v].Order().ToArray();
            double P(double q) => s[Math.Min(s.Length - 1, (int)(q * s.Length))];
            if (v == 0)
            {
                rawP50 = P(0.5);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {Names[v],-36} p50 {P(0.5),9:0.0} µs  p90 {P(0.9),9:0.0}  p99 {P(0.99),9:0.0}  mean {s.Average(),9:0.0}  p50 ratio {P(0.5) / rawP50:0.00}x"));
        }
    }

    private static void ReadFully(SafeFileHandle fh, Span<byte> buffer, long at)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(fh, buffer[done..], at + done);
            if (n <= 0)
            {
                throw new IOException("short read");
            }
            done += n;
        }
    }

    private static void ReadAll(SafeFileHandle fh, long bytes, byte[] buffer)
    {
        for (long off = 0; off < bytes; off += buffer.Length)
        {
            ReadFully(fh, buffer.AsSpan(0, (int)Math.Min(buffer.Length, bytes - off)), off);
        }
    }
}
