using System.Numerics;
using System.Runtime.InteropServices;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Tests.BigFile;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests;

/// <summary>
/// Arrays over the read paths without views (spec/arrays.md AR-10, AR-14, AR-22; spec/bigfile.md BF-50…BF-54):
/// reductions over blocks whose stored bytes stop short (ZBlk0-like stripped tails, holes) count the zeros;
/// item reads and contiguous copies do not map.
/// </summary>
public sealed class StreamingReadTests(ITestOutputHelper output)
{
    private const int Bs = 4096;

    public static TheoryData<string, string> Kinds()
    {
        var data = new TheoryData<string, string>();
        foreach (string dtype in new[] { "<f8", "<f4", "<i8", "<i4", "<i2", "|u1", "<u2" })
        {
            foreach (string source in new[] { "stripped", "memory", "plain" })
            {
                data.Add(dtype, source);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Reductions_count_the_zeros_of_stripped_tails_and_holes(string dtypeText, string source)
    {
        int seed = Seeds.Announce(output, $"{nameof(Reductions_count_the_zeros_of_stripped_tails_and_holes)}({dtypeText}, {source})");
        var rnd = new Random(seed);
        DType dtype = DType.Parse(dtypeText);
        for (int round = 0; round < 12; round++)
        {
            int itemSize = dtype.ItemSize;
            long items = rnd.Next(1, 40 * Bs / itemSize); // not a whole number of blocks
            var bytes = new byte[items * itemSize];
            bool negative = round % 2 == 0; // all data below zero: the zeros are the maximum; else the minimum
            for (long i = 0; i < items; i++)
            {
                long v = rnd.Next(1, 100) * (negative && dtype.Kind != DTypeKind.UInt ? -1 : 1);
                WriteItem(bytes.AsSpan((int)(i * itemSize), itemSize), dtype, v);
            }
            // stripped tails: blocks whose end is zeros (cut at any byte, also inside an item), and whole holes
            for (int b = 0; b * Bs < bytes.Length; b++)
            {
                int end = Math.Min(bytes.Length, (b + 1) * Bs);
                switch (rnd.Next(4))
                {
                    case 0:
                        bytes.AsSpan(b * Bs, end - b * Bs).Clear();
                        break;
                    case 1:
                        int cut = b * Bs + rnd.Next(end - b * Bs);
                        if (round % 4 == 0)
                        {
                            cut = cut / itemSize * itemSize; // whole items only: no partial item may be the extreme
                        }
                        bytes.AsSpan(cut, end - cut).Clear();
                        break;
                }
            }
            (IBlockFile file, MemoryBlockFile store) = source switch
            {
                "stripped" => new StrippedBlockFile(Bs) is var s ? ((IBlockFile)s, s.Inner) : default,
                "memory" => new MemoryBlockFile(Bs) is var m ? ((IBlockFile)m, m) : default,
                _ => new HalvesBlockFile(Bs) is var p ? ((IBlockFile)p, p.Inner) : default,
            };
            store.Write(0, bytes);
            if (rnd.Next(2) == 0)
            {
                store.Write(bytes.Length, [1, 2, 3]); // bytes after the array's end must not count
            }
            using var h = new FileHandle(file, new FileHandleOptions { RamBudget = 4L * Bs });
            var a = new BigArray([items], dtype, h);
            bool wrote = rnd.Next(3) == 0;
            if (wrote)
            {
                // a dirty block in the cache: the scan must see the write, not the stored bytes
                long at = rnd.NextInt64(items);
                using ArrayView v = a[Ix.Slice(at, at + 1)];
                WriteItem(MemoryMarshal.CreateSpan(ref v.AsBytes()[0], itemSize), dtype, 7);
                WriteItem(bytes.AsSpan((int)(at * itemSize), itemSize), dtype, 7);
            }
            Check(a, dtype, bytes, items);
            Assert.Equal(wrote ? 1 : 0, h.GetStatistics().Loads); // only the written block entered the cache
        }
    }

    private static void Check(BigArray a, DType dtype, byte[] bytes, long items)
    {
        if (dtype.Kind == DTypeKind.Float)
        {
            // a block cut inside an item leaves odd values (tiny subnormals and the like): compare as doubles
            double dsum = 0, dmin = double.MaxValue, dmax = double.MinValue;
            for (long i = 0; i < items; i++)
            {
                ReadOnlySpan<byte> at = bytes.AsSpan((int)(i * dtype.ItemSize), dtype.ItemSize);
                double v = dtype.ItemSize == 8 ? MemoryMarshal.Read<double>(at) : MemoryMarshal.Read<float>(at);
                dsum += v;
                dmin = Math.Min(dmin, v);
                dmax = Math.Max(dmax, v);
            }
            Assert.Equal(dsum, a.Sum(), Math.Abs(dsum) * 1e-12 + 1e-300);
            if (dtype.ItemSize == 8)
            {
                Assert.Equal(dmin, a.Min<double>());
                Assert.Equal(dmax, a.Max<double>());
            }
            else
            {
                Assert.Equal((float)dmin, a.Min<float>());
                Assert.Equal((float)dmax, a.Max<float>());
            }
            return;
        }
        var values = new List<Int128>();
        for (long i = 0; i < items; i++)
        {
            values.Add(ReadItem(bytes.AsSpan((int)(i * dtype.ItemSize), dtype.ItemSize), dtype));
        }
        Int128 sum = 0;
        foreach (Int128 v in values)
        {
            sum += v;
        }
        Assert.Equal((double)sum, a.Sum());
        Assert.Equal((double)sum / items, a.Mean(), 9);
        Int128 min = values.Min(), max = values.Max();
        switch (dtypeKey(dtype))
        {
            case "<f8":
                Assert.Equal((double)min, a.Min<double>());
                Assert.Equal((double)max, a.Max<double>());
                break;
            case "<f4":
                Assert.Equal((float)min, a.Min<float>());
                Assert.Equal((float)max, a.Max<float>());
                break;
            case "<i8":
                Assert.Equal((long)min, a.Min<long>());
                Assert.Equal((long)max, a.Max<long>());
                Assert.Equal(sum, a.SumInteger());
                break;
            case "<i4":
                Assert.Equal((int)min, a.Min<int>());
                Assert.Equal((int)max, a.Max<int>());
                Assert.Equal(sum, a.SumInteger());
                break;
            case "<i2":
                Assert.Equal((short)min, a.Min<short>());
                Assert.Equal((short)max, a.Max<short>());
                Assert.Equal(sum, a.SumInteger());
                break;
            case "<u2":
                Assert.Equal((ushort)min, a.Min<ushort>());
                Assert.Equal((ushort)max, a.Max<ushort>());
                Assert.Equal(sum, a.SumInteger());
                break;
            default:
                Assert.Equal((byte)min, a.Min<byte>());
                Assert.Equal((byte)max, a.Max<byte>());
                Assert.Equal(sum, a.SumInteger());
                break;
        }

        static string dtypeKey(DType d) => d.Str;
    }

    private static void WriteItem(Span<byte> at, DType d, long v)
    {
        switch (d.Str)
        {
            case "<f8": MemoryMarshal.Write(at, (double)v); break;
            case "<f4": MemoryMarshal.Write(at, (float)v); break;
            case "<i8": MemoryMarshal.Write(at, v); break;
            case "<i4": MemoryMarshal.Write(at, (int)v); break;
            case "<i2": MemoryMarshal.Write(at, (short)v); break;
            case "<u2": MemoryMarshal.Write(at, (ushort)v); break;
            default: at[0] = (byte)v; break;
        }
    }

    private static Int128 ReadItem(ReadOnlySpan<byte> at, DType d) => d.Str switch
    {
        "<f8" => (Int128)MemoryMarshal.Read<double>(at),
        "<f4" => (Int128)MemoryMarshal.Read<float>(at),
        "<i8" => MemoryMarshal.Read<long>(at),
        "<i4" => MemoryMarshal.Read<int>(at),
        "<i2" => MemoryMarshal.Read<short>(at),
        "<u2" => MemoryMarshal.Read<ushort>(at),
        _ => at[0],
    };

    [Fact]
    public void Random_item_reads_do_not_map_and_a_second_read_in_a_block_maps_it_once()
    {
        using var scratch = new TempDirectory("arrays-item-reads");
        var file = new MemoryBlockFile(Bs);
        using var h = new FileHandle(file, new FileHandleOptions { RamBudget = 4L * Bs, ResidentViewLimit = 2L * Bs, ScratchDirectory = scratch.Path });
        const long n = 64 * Bs / 8;
        var a = new BigArray([n], DType.Int64, h);
        var values = new long[n];
        for (long i = 0; i < n; i++)
        {
            values[i] = i * 3 - 5;
        }
        file.Write(0, MemoryMarshal.AsBytes(values.AsSpan()));
        var rnd = new Random(11);
        long last = -1;
        for (int k = 0; k < 400; k++)
        {
            long i = rnd.NextInt64(n);
            if (i / (Bs / 8) == last / (Bs / 8))
            {
                i = (i + Bs / 8 * 7) % n; // another block than the last read every time
            }
            Assert.Equal(values[i], a.GetItem<long>(i));
            last = i;
        }
        FileHandleStatistics st = h.GetStatistics();
        Assert.Equal(0, st.Loads);
        Assert.Equal(0, st.Views);
        Assert.Equal(400, st.DirectLoads);
        // sequential reads: the second in a block maps it, the rest of the block reads the mapping
        for (long i = 0; i < Bs / 8; i++)
        {
            Assert.Equal(values[i], a.GetItem<long>(i));
        }
        st = h.GetStatistics();
        Assert.Equal(1, st.Loads);
        Assert.Equal(1, st.Views);
        a.ReleaseItemCache();
        Assert.Equal(0, h.GetStatistics().Views);
        // changes made through views (dirty pages, spilled ones beyond the 4-block budget) are what reads see
        for (int b = 0; b < 8; b++)
        {
            long i = b * (Bs / 8) + 3;
            a.SetItem(-1000L - b, i);
            values[i] = -1000L - b;
        }
        a.ReleaseItemCache();
        Assert.True(h.GetStatistics().SpilledBytes > 0);
        for (int b = 7; b >= 0; b--)
        {
            long i = b * (Bs / 8) + 3;
            Assert.Equal(values[i], a.GetItem<long>(i));
            long far = i + Bs / 8 * 20; // another block between two reads: neither maps
            Assert.Equal(values[far], a.GetItem<long>(far));
        }
        Assert.Equal(0, h.GetStatistics().Views);
    }

    [Fact]
    public void Random_item_writes_do_not_map_and_a_run_of_writes_in_a_block_maps_it_once()
    {
        using var scratch = new TempDirectory("arrays-item-writes");
        var file = new MemoryBlockFile(Bs);
        using var h = new FileHandle(file, new FileHandleOptions { RamBudget = 4L * Bs, ResidentViewLimit = 2L * Bs, ScratchDirectory = scratch.Path });
        const long n = 64 * Bs / 8;
        var a = new BigArray([n], DType.Int64, h);
        var values = new long[n];
        var rnd = new Random(12);
        long last = -1;
        for (int k = 0; k < 400; k++)
        {
            long i = rnd.NextInt64(n);
            if (i / (Bs / 8) == last / (Bs / 8))
            {
                i = (i + Bs / 8 * 7) % n; // another block than the last write every time
            }
            a.SetItem(k + 1L, i);
            values[i] = k + 1;
            last = i;
        }
        FileHandleStatistics st = h.GetStatistics();
        Assert.Equal(0, st.Views);
        Assert.True(st.Spills > 0, "more dirty blocks than the budget: they spill");
        // a run of writes in one block: the first ones write directly, then the block is mapped once
        a.SetItem(values[Bs / 8 * 5], Bs / 8 * 5); // (the run starts after a write elsewhere)
        for (long i = 0; i < BigArray.MapAfterWrites - 1; i++)
        {
            a.SetItem(-i, i);
            values[i] = -i;
        }
        Assert.Equal(0, h.GetStatistics().Views);
        for (long i = BigArray.MapAfterWrites - 1; i < Bs / 8; i++)
        {
            a.SetItem(-i, i);
            values[i] = -i;
        }
        Assert.Equal(1, h.GetStatistics().Views);
        a.SetItem(7L, Bs / 8 * 9); // another block: written directly, the mapping released
        values[Bs / 8 * 9] = 7;
        Assert.Equal(0, h.GetStatistics().Views);
        a.ReleaseItemCache();
        long[] dirty = h.DirtyBlocks();
        var expectDirty = new List<long>();
        for (long b = 0; b < 64; b++)
        {
            if (values.AsSpan((int)(b * Bs / 8), Bs / 8).ContainsAnyExcept(0L))
            {
                expectDirty.Add(b);
            }
        }
        Assert.Equal(expectDirty, dirty);
        h.Writeout();
        h.MarkStored();
        var stored = new byte[n * 8];
        file.Read(0, stored);
        Assert.Equal(values, MemoryMarshal.Cast<byte, long>(stored).ToArray());
        Assert.Equal(values, a.ToArray<long>());
    }

    [Fact]
    public void Copies_of_contiguous_selections_read_without_mapping()
    {
        var file = new MemoryBlockFile(Bs);
        using var h = new FileHandle(file, new FileHandleOptions { RamBudget = 4L * Bs });
        var a = new BigArray([40, 1000], DType.Int32, h);
        int[] all = Enumerable.Range(0, 40_000).Select(i => i * 7 - 3).ToArray();
        file.Write(0, MemoryMarshal.AsBytes(all.AsSpan()));

        var rows = new int[5 * 1000];
        a.CopyTo([Ix.Slice(10, 15)], rows.AsSpan());
        Assert.Equal(all.AsSpan(10_000, 5000).ToArray(), rows);
        var one = new int[1000];
        a.CopyTo([Ix.At(-1)], one.AsSpan());
        Assert.Equal(all.AsSpan(39_000, 1000).ToArray(), one);
        Assert.Equal(all, a.ToArray<int>());
        Assert.Equal(0, h.GetStatistics().Loads); // nothing was mapped so far

        // selections that are not contiguous in the asked order go chunk by chunk through views
        var column = new int[40];
        a.CopyTo([Ix.All, Ix.At(3)], column.AsSpan());
        Assert.Equal(Enumerable.Range(0, 40).Select(r => all[r * 1000 + 3]), column);
        var fOrder = new int[2 * 1000];
        a.CopyTo([Ix.Slice(0, 2)], fOrder.AsSpan(), ArrayOrder.F);
        Assert.Equal(all[1000], fOrder[1]);
        Assert.Equal(all[1], fOrder[2]);
        Assert.Throws<ArgumentException>(() => a.CopyTo([Ix.Slice(0, 2)], new int[3].AsSpan()));
    }
}
