using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Wendelin.Storage.IO;

/// <summary>
/// An OS file through <see cref="RandomAccess"/>: positional I/O on one handle; durability by <c>fdatasync</c> on Linux
/// (the data and the metadata needed to read it back, such as the size, but not the timestamps: what a crash must
/// preserve, spec/filestorage.md FS-D), <c>fsync</c>/<c>FlushFileBuffers</c> elsewhere.
/// </summary>
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

    public void FlushDurable()
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(_handle);
            return;
        }
        while (Fdatasync(_handle) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EIntr)
            {
                throw new IOException($"{Path}: fdatasync failed (errno {errno})");
            }
        }
    }

    private const int EIntr = 4;

    public void WillNeed(long position, long length)
    {
        if (OperatingSystem.IsLinux() && position >= 0 && length > 0 && !_handle.IsClosed)
        {
            try
            {
                // POSIX_FADV_WILLNEED: the kernel queues the reads and returns; a failure only means no read-ahead
                _ = PosixFadvise(_handle, position, length, PosixFadvWillNeed);
            }
            catch (ObjectDisposedException)
            {
                // the storage closed meanwhile: nothing to read ahead for
            }
        }
    }

    private const int PosixFadvWillNeed = 3;

    [DllImport("libc", EntryPoint = "posix_fadvise")]
    private static extern int PosixFadvise(SafeFileHandle fd, long offset, long length, int advice);

    [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static extern int Fdatasync(SafeFileHandle fd);

    public void Dispose() => _handle.Dispose();
}
