using Wendelin.Arrays.BigFile;

namespace Wendelin.Arrays.Zodb;

/// <summary>One block of a handle mapped and pinned, readable or writable whatever the view kind (resident or windowed).</summary>
internal sealed class BlockAccess : IDisposable
{
    private readonly FileView _view;
    private readonly ViewWindow _window;

    public BlockAccess(FileHandle handle, long block, bool writable)
    {
        Block = block;
        _view = handle.Map(block * handle.BlockSize, handle.BlockSize, writable);
        try
        {
            _window = _view.Acquire(0, handle.BlockSize, writable);
        }
        catch
        {
            _view.Dispose();
            throw;
        }
    }

    public long Block { get; }

    public ReadOnlySpan<byte> ReadOnlySpan => _window.ReadOnlySpan;

    public Span<byte> Span => _window.Span;

    public void Dispose()
    {
        _window.Dispose();
        _view.Dispose();
    }
}
