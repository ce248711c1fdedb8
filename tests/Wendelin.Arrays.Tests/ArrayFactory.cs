using Wendelin.Arrays.BigFile;

namespace Wendelin.Arrays.Tests;

/// <summary>Creates the arrays the behaviour tests run on: RAMArrays with 4 KiB pages over the real paging layer.</summary>
internal static class ArrayFactory
{
    public const int PageSize = 4096;

    /// <summary>A zero-filled in-memory array with 4 KiB pages.</summary>
    public static RAMArray Create(long[] shape, DType dtype, ArrayOrder order = ArrayOrder.C, FileHandleOptions? options = null) =>
        new(shape, dtype, order, options ?? new FileHandleOptions { RamBudget = 64L << 20 }, blockSize: PageSize);
}
