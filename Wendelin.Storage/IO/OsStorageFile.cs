using System.Buffers;
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

    // FS-L11: hinted ranges are read on a thread-pool thread, one range after the other, in large positional reads
    private readonly object _hintGate = new();
    private readonly Queue<(long Position, long Length)> _hinted = new();
    private bool _reading;
    private long _hintBytesRead;

    /// <summary>Bytes the background reads of hinted ranges have read so far (for tests).</summary>
    internal long HintBytesRead => Interlocked.Read(ref _hintBytesRead);

    /// <summary>Whether hinted ranges are being read, or wait to be (for tests).</summary>
    internal bool ReadingHints
    {
        get
        {
            lock (_hintGate)
            {
                return _reading;
            }
        }
    }

    /// <summary>Hinted ranges waiting to be read at most; a hint past this many is dropped.</summary>
    private const int MaxPendingHints = 64;

    /// <summary>The size of one background read (a pooled buffer).</summary>
    private const int HintReadBytes = 8 << 20;

    /// <summary>
    /// FS-L11: the range is queued and read in the background with ordinary reads of up to 8 MiB, whose bytes are
    /// dropped: the point is the OS page cache they fill. Unlike <c>posix_fadvise(POSIX_FADV_WILLNEED)</c>, whose
    /// forced read-ahead fills the cache with 4 KiB pages, a read of this size goes through the kernel's ordinary
    /// read-ahead, which builds large folios, and copies out of large folios (every later, warm read) are about
    /// twice as fast.
    /// </summary>
    public void WillNeed(long position, long length)
    {
        if (position < 0 || length <= 0 || _handle.IsClosed)
        {
            return;
        }
        lock (_hintGate)
        {
            if (_hinted.Count >= MaxPendingHints)
            {
                return;
            }
            _hinted.Enqueue((position, Math.Min(length, long.MaxValue - position)));
            if (_reading)
            {
                return;
            }
            _reading = true;
        }
        ThreadPool.UnsafeQueueUserWorkItem(static self => self.ReadHinted(), this, preferLocal: false);
    }

    private void ReadHinted()
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(HintReadBytes);
        try
        {
            while (true)
            {
                (long Position, long Length) range;
                lock (_hintGate)
                {
                    if (_handle.IsClosed || !_hinted.TryDequeue(out range))
                    {
                        _hinted.Clear();
                        _reading = false;
                        return;
                    }
                }
                for (long at = range.Position, end = range.Position + range.Length; at < end;)
                {
                    int n = RandomAccess.Read(_handle, buffer.AsSpan(0, (int)Math.Min(HintReadBytes, end - at)), at);
                    if (n == 0)
                    {
                        break; // past the end of the file
                    }
                    at += n;
                    Interlocked.Add(ref _hintBytesRead, n);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // a hint only: a failed or closed file reads nothing more ahead (the reader's own read reports the error)
            lock (_hintGate)
            {
                _hinted.Clear();
                _reading = false;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>FS-C4c: on Linux, <c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c> starts writing the range back without waiting for it.</summary>
    public void StartWriteback(long position, long length)
    {
        if (OperatingSystem.IsLinux() && length > 0)
        {
            _ = SyncFileRange(_handle, position, length, SyncFileRangeWrite); // a hint: a failure shows at the next fdatasync
        }
    }

    private const uint SyncFileRangeWrite = 2;

    [DllImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static extern int SyncFileRange(SafeFileHandle fd, long offset, long nbytes, uint flags);

    [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static extern int Fdatasync(SafeFileHandle fd);

    public void Dispose() => _handle.Dispose();
}
