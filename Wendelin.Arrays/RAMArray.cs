using Wendelin.Arrays.BigFile;

namespace Wendelin.Arrays;

/// <summary>
/// A <see cref="BigArray"/> whose pages live only in memory (upstream's RAMArray, AR-23): the same API over a
/// <see cref="FileHandle"/> on an in-memory, growable <see cref="MemoryBlockFile"/>. Nothing is persisted;
/// dispose it to free the memory.
/// </summary>
public sealed class RAMArray : BigArray, IDisposable
{
    private readonly FileHandle _handle;

    /// <summary>A zero-filled array of <paramref name="shape"/>; <paramref name="options"/> set the handle's RAM budget and backend.</summary>
    public RAMArray(ReadOnlySpan<long> shape, DType dtype, ArrayOrder order = ArrayOrder.C, FileHandleOptions? options = null, int blockSize = 2 << 20)
        : base(shape, dtype, order)
    {
        _handle = new FileHandle(new MemoryBlockFile(blockSize), options);
    }

    /// <inheritdoc/>
    protected override FileHandle Handle => _handle;

    /// <summary>Releases the pages.</summary>
    public void Dispose()
    {
        ReleaseItemCache();
        _handle.Dispose();
    }
}
