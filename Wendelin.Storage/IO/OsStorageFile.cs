using Microsoft.Win32.SafeHandles;

namespace Wendelin.Storage.IO;

/// <summary>An OS file through <see cref="RandomAccess"/>: positional I/O on one handle, fsync for durability.</summary>
internal sealed class OsStorageFile : IStorageFile
{
    private readonly SafeFileHandle _handle;

    public OsStorageFile(string path, SafeFileHandle handle, bool canWrite)
    {
        Path = path;
        _handle = handle;
        CanWrite = canWrite;
    }

    public string Path { get; }

    public bool CanWrite { get; }

    public long Length => RandomAccess.GetLength(_handle);

    public int ReadAt(long position, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = RandomAccess.Read(_handle, buffer[total..], position + total);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }

    public void WriteAt(long position, ReadOnlySpan<byte> data) => RandomAccess.Write(_handle, data, position);

    public void SetLength(long length) => RandomAccess.SetLength(_handle, length);

    public void FlushDurable() => RandomAccess.FlushToDisk(_handle);

    public void Dispose() => _handle.Dispose();
}
