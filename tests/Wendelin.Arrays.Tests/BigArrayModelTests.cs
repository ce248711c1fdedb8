using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Wendelin.Arrays.BigFile;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests;

/// <summary>
/// Model-based properties (spec/arrays.md AR-8..AR-15): random operation sequences on arrays of several dtypes
/// in C and F order agree with <see cref="NumpyModel"/>.
/// </summary>
public sealed class BigArrayModelTests(ITestOutputHelper output)
{
    private const long MaxItems = 4000;

    internal static Config SeededConfig(int seed, int maxTest) => Config.QuickThrowOnFailure.WithMaxTest(maxTest)
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd((ulong)seed), FSharpOption<int>.None)));

    internal static Gen<(int Seed, long[] Shape, ArrayOrder Order, int DType)> Cases =>
        from seed in Gen.Choose(0, int.MaxValue)
        from shape in Generators.Shape(4, 5)
        from order in Gen.Elements(ArrayOrder.C, ArrayOrder.F)
        from dtype in Gen.Choose(0, 4)
        select (seed, shape, order, dtype);

    /// <summary>Runs the model with the dtype chosen by <paramref name="which"/> (i4, f8, u1, f4, i2).</summary>
    internal static void RunModel(int which, Func<DType, BigArray> create, int seed, int steps, long maxItems)
    {
        switch (which)
        {
            case 0:
                new ModelRunner<int>(v => (int)v, v => v).Run(create(DType.Int32), seed, steps, maxItems);
                break;
            case 1:
                new ModelRunner<double>(v => v, v => (long)v).Run(create(DType.Float64), seed, steps, maxItems);
                break;
            case 2:
                new ModelRunner<byte>(v => (byte)v, v => v).Run(create(DType.UInt8), seed, steps, maxItems);
                break;
            case 3:
                new ModelRunner<float>(v => v, v => (long)v).Run(create(DType.Float32), seed, steps, maxItems);
                break;
            default:
                new ModelRunner<short>(v => (short)v, v => v).Run(create(DType.Int16), seed, steps, maxItems);
                break;
        }
    }

    [Fact]
    public void Random_operations_on_resident_views_agree_with_the_model()
    {
        int seed = Seeds.Announce(output, nameof(Random_operations_on_resident_views_agree_with_the_model));
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            RunModel(c.DType, d => new BigArray(c.Shape, d, c.Order, new TestStore(MaxItems * 8 + 64)), c.Seed, 40, MaxItems);
        }).Check(SeededConfig(seed, 60));
    }

    [Fact]
    public void Random_operations_on_windowed_views_agree_with_the_model()
    {
        // mappings above 64 bytes are windowed: every bulk operation goes box by box through Acquire
        int seed = Seeds.Announce(output, nameof(Random_operations_on_windowed_views_agree_with_the_model));
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            RunModel(c.DType, d => new BigArray(c.Shape, d, c.Order, new TestStore(MaxItems * 8 + 64, blockSize: 16, residentLimit: 64)), c.Seed, 30, MaxItems);
        }).Check(SeededConfig(seed, 40));
    }

    [Fact]
    public void Random_operations_on_RAMArray_agree_with_the_model()
    {
        int seed = Seeds.Announce(output, nameof(Random_operations_on_RAMArray_agree_with_the_model));
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            RAMArray? made = null;
            try
            {
                RunModel(c.DType, d => made = ArrayFactory.Create(c.Shape, d, c.Order), c.Seed, 40, MaxItems);
            }
            finally
            {
                made?.Dispose();
            }
        }).Check(SeededConfig(seed, 60));
    }

    [Fact]
    public void Random_operations_on_RAMArray_with_windowed_views_agree_with_the_model()
    {
        // views over more than one 4 KiB page are windowed (BF-6): bulk operations pin them box by box
        int seed = Seeds.Announce(output, nameof(Random_operations_on_RAMArray_with_windowed_views_agree_with_the_model));
        var options = new FileHandleOptions { RamBudget = 8 * ArrayFactory.PageSize, ResidentViewLimit = ArrayFactory.PageSize };
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            RAMArray? made = null;
            try
            {
                RunModel(c.DType, d => made = ArrayFactory.Create(c.Shape, d, c.Order, options), c.Seed, 30, MaxItems);
            }
            finally
            {
                made?.Dispose();
            }
        }).Check(SeededConfig(seed, 40));
    }

    [Fact]
    public void Random_operations_on_a_BigArray_over_an_OS_file_agree_with_the_model_and_reach_the_file()
    {
        int seed = Seeds.Announce(output, nameof(Random_operations_on_a_BigArray_over_an_OS_file_agree_with_the_model_and_reach_the_file));
        using var dir = new TempDirectory("arrays-os");
        int n = 0;
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            string path = dir.File($"a{n++}.bin");
            using var file = new OsBlockFile(path, ArrayFactory.PageSize);
            using var handle = new FileHandle(file, new FileHandleOptions { RamBudget = 16 * ArrayFactory.PageSize });
            BigArray? made = null;
            RunModel(c.DType, d => made = new BigArray(c.Shape, d, handle, c.Order), c.Seed, 30, MaxItems);
            // writeout: the file's bytes are the array's bytes in storage order
            byte[] expect = new byte[made!.NBytes];
            using (ArrayView all = made.View())
            {
                if (all.Size > 0)
                {
                    all.Gather(ref expect[0], Layout.Strides(made.Shape, made.ItemSize, made.Order));
                }
            }
            handle.Writeout();
            handle.MarkStored();
            byte[] onDisk = new byte[expect.Length];
            using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                int got = fs.Read(onDisk, 0, onDisk.Length);
                Assert.True(got == onDisk.Length || onDisk.AsSpan(got).IndexOfAnyExcept((byte)0) < 0);
            }
            Assert.Equal(expect, onDisk);
        }).Check(SeededConfig(seed, 25));
    }
}
