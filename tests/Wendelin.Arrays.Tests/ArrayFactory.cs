namespace Wendelin.Arrays.Tests;

/// <summary>Creates the arrays the behaviour tests run on.</summary>
internal static class ArrayFactory
{
    /// <summary>A zero-filled array over an in-memory store with 4 KiB pages.</summary>
    public static BigArray Create(long[] shape, DType dtype, ArrayOrder order = ArrayOrder.C, long capacity = 1 << 22) =>
        new(shape, dtype, order, new TestStore(capacity));
}
