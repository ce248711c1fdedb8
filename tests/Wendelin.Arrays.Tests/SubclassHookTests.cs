using Wendelin.Arrays.BigFile;

namespace Wendelin.Arrays.Tests;

/// <summary>The hooks a persistent subclass (ZBigArray) builds on: lazy handle, layout-changed callback, loaded state.</summary>
public sealed class SubclassHookTests
{
    /// <summary>A stand-in for ZBigArray: opens its handle on first use, counts layout changes.</summary>
    private sealed class LazyArray : BigArray, IDisposable
    {
        private FileHandle? _handle;

        public LazyArray()
        {
        }

        public LazyArray(long[] shape, DType dtype, ArrayOrder order, long[] strides)
            : base(shape, dtype, order, strides)
        {
        }

        public int Opened { get; private set; }

        public int LayoutChanges { get; private set; }

        protected override FileHandle Handle
        {
            get
            {
                if (_handle is null)
                {
                    Opened++;
                    _handle = new FileHandle(new MemoryBlockFile(4096), new FileHandleOptions { RamBudget = 1 << 20 });
                }
                return _handle;
            }
        }

        protected override void OnLayoutChanged() => LayoutChanges++;

        public void Load(DType dtype, ArrayOrder order, long[] shape, long[] strides) => LoadState(dtype, order, shape, strides);

        public void Dispose() => _handle?.Dispose();
    }

    [Fact]
    public void A_ghost_gets_its_state_later_and_opens_its_handle_on_first_access()
    {
        using var a = new LazyArray();
        Assert.Equal([0L], a.Shape.ToArray());
        Assert.Equal(0, a.Opened);
        // upstream's pickled state of a (10, 3) int32 F-order array: strides (4, 40)
        a.Load(DType.Int32, ArrayOrder.F, [10, 3], [4, 40]);
        Assert.Equal(0, a.LayoutChanges);
        Assert.Equal(0, a.Opened);
        a.SetItem(7, 9, 2);
        Assert.Equal(1, a.Opened);
        Assert.Equal(7, a.GetItem<int>(9, 2));
        a.Append<int>([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 1]);
        a.Resize(10, 5);
        Assert.Equal(2, a.LayoutChanges);
        a.Append<int>([], [10, 0]);
        Assert.Equal(2, a.LayoutChanges); // an empty append changes nothing
        Assert.Throws<ArgumentException>(() => a.Append<int>(new int[9], [9, 1]));
        Assert.Equal(2, a.LayoutChanges);
        Assert.Equal(1, a.Opened);
        Assert.Throws<ArgumentException>(() => a.Load(DType.Int32, ArrayOrder.F, [10, 3], [12, 4]));
        Assert.Equal([10L, 5], a.Shape.ToArray()); // a refused state leaves the array as it was
    }

    [Fact]
    public void Saved_strides_must_match_the_layout()
    {
        using var ok = new LazyArray([10, 3], DType.Int32, ArrayOrder.C, [12, 4]);
        Assert.Equal(10, ok.Length);
        Assert.Throws<ArgumentException>(() => new LazyArray([10, 3], DType.Int32, ArrayOrder.C, [4, 40]));
    }
}
