using Microsoft.Win32.SafeHandles;

namespace Wendelin.Arrays.BigFile;

/// <summary>
/// The scratch file that holds dirty pages pushed out of RAM (spec/bigfile.md BF-20…BF-22): block-sized slots,
/// reused through a free list, in a file deleted on close. Only the cache calls it, under its lock.
/// </summary>
internal sealed class SpillFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly SafeFileHandle _handle;
    private readonly int _blockSize;
    private readonly Stack<long> _free = new();
    private long _slots;

    public SpillFile(string? directory, int blockSize)
    {
        _blockSize = blockSize;
        string dir = directory ?? Path.GetTempPath();
        string path = Path.Combine(dir, $"wendelin-spill-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1,
            FileOptions.DeleteOnClose | FileOptions.RandomAccess);
        _handle = _stream.SafeFileHandle;
    }

    /// <summary>Slots in use.</summary>
    public long UsedSlots => _slots - _free.Count;

    public long Write(ReadOnlySpan<byte> block)
    {
        long slot = _free.Count > 0 ? _free.Pop() : _slots++;
        RandomAccess.Write(_handle, block, slot * _blockSize);
        return slot;
    }

    public void Read(long slot, Span<byte> block) => Read(slot, 0, block);

    /// <summary>Bytes [<paramref name="at"/>, at + destination.Length) of the page in <paramref name="slot"/>.</summary>
    public void Read(long slot, int at, Span<byte> block)
    {
        int done = 0;
        while (done < block.Length)
        {
            int n = RandomAccess.Read(_handle, block[done..], slot * _blockSize + at + done);
            if (n <= 0)
            {
                throw new IOException($"scratch file {_stream.Name}: short read of spilled page at slot {slot}");
            }
            done += n;
        }
    }

    public void Free(long slot) => _free.Push(slot);

    public void Dispose() => _stream.Dispose();
}
