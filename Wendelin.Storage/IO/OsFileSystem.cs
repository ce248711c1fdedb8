using System.Runtime.InteropServices;
using System.Text;

namespace Wendelin.Storage.IO;

/// <summary>The real file system.</summary>
internal sealed class OsFileSystem : IStorageFileSystem
{
    public static readonly OsFileSystem Instance = new();

    public IStorageFile Open(string path, StorageFileMode mode)
    {
        if (Directory.Exists(path))
        {
            throw new FileStorageException($"{path}: is a directory, not a FileStorage data file");
        }
        (FileMode fileMode, FileAccess access) = mode switch
        {
            StorageFileMode.ReadOnly => (FileMode.Open, FileAccess.Read),
            StorageFileMode.ReadWrite => (FileMode.Open, FileAccess.ReadWrite),
            StorageFileMode.OpenOrCreate => (FileMode.OpenOrCreate, FileAccess.ReadWrite),
            StorageFileMode.Create => (FileMode.Create, FileAccess.ReadWrite),
            _ => throw new ArgumentOutOfRangeException(nameof(mode)),
        };
        try
        {
            // FileShare.ReadWrite | Delete: other readers (and Python processes) may open the file; mutual exclusion
            // of writers is the job of NAME.lock, as in ZODB.
            var handle = File.OpenHandle(path, fileMode, access, FileShare.ReadWrite | FileShare.Delete);
            return new OsStorageFile(path, handle, access == FileAccess.ReadWrite);
        }
        catch (FileNotFoundException e)
        {
            throw new FileStorageException($"{path}: no such file", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new FileStorageException($"{path}: no such directory", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new FileStorageException($"{path}: permission denied", e);
        }
        catch (IOException e)
        {
            throw new FileStorageException($"{path}: cannot open: {e.Message}", e);
        }
    }

    public bool FileExists(string path) => File.Exists(path);

    public bool DirectoryExists(string path) => Directory.Exists(path);

    public void Delete(string path) => File.Delete(path);

    public void Replace(string source, string destination) => File.Move(source, destination, overwrite: true);

    public void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return; // NTFS journals its directory changes; there is no directory handle to flush
        }
        int fd = OpenFile(directory, OpenReadOnly);
        if (fd < 0)
        {
            throw new IOException($"{directory}: cannot open the directory to make its entries durable (errno {Marshal.GetLastPInvokeError()})");
        }
        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"{directory}: fsync of the directory failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    public void HardLink(string existing, string link)
    {
        if (OperatingSystem.IsWindows())
        {
            File.Copy(existing, link, overwrite: false);
            return;
        }
        if (Link(existing, link) != 0)
        {
            throw new IOException($"cannot link {existing} to {link} (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    public IDisposable Lock(string lockPath)
    {
        SafeFileHandleLock? held = null;
        try
        {
            // FileShare.None makes .NET take a non-blocking exclusive flock on Unix (a share lock on Windows) as part
            // of the open: the same kind of lock zc.lockfile takes, so Python writers and we exclude each other.
            var handle = File.OpenHandle(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            held = new SafeFileHandleLock(handle);
            if (!OperatingSystem.IsWindows() && Flock(handle.DangerousGetHandle().ToInt32(), LockEx | LockNb) != 0)
            {
                // .NET skips its own flock when DOTNET_SYSTEM_IO_DISABLEFILELOCKING is set; ours is explicit.
                int errno = Marshal.GetLastPInvokeError();
                throw new LockException(lockPath, $"another process holds the lock (errno {errno})");
            }
            byte[] pid = Encoding.ASCII.GetBytes($" {Environment.ProcessId}\n");
            RandomAccess.SetLength(handle, 0);
            RandomAccess.Write(handle, pid, 0);
            SafeFileHandleLock result = held;
            held = null;
            return result;
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new LockException(lockPath, "the data file is open for writing elsewhere (in this or another process)", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new LockException($"{lockPath}: couldn't lock: permission denied", e);
        }
        finally
        {
            held?.Dispose();
        }
    }

    public bool IsLockHeld(string lockPath)
    {
        if (OperatingSystem.IsWindows())
        {
            // a writer opens the lock file with no sharing: opening it again fails while it is held
            try
            {
                using var probe = File.OpenHandle(lockPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                return false;
            }
            catch (FileNotFoundException)
            {
                return false;
            }
            catch (IOException)
            {
                return true;
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        }
        int fd = OpenFile(lockPath, OpenReadOnly);
        if (fd < 0)
        {
            return false; // no lock file (or unreadable): no writer we can see
        }
        try
        {
            // a shared flock conflicts with the writer's exclusive one (zc.lockfile's and ours), on any open file description
            if (Flock(fd, LockSh | LockNb) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                return errno == (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD() ? 35 : 11); // EWOULDBLOCK
            }
            _ = Flock(fd, LockUn);
            return false;
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private const int LockSh = 1;
    private const int LockEx = 2;
    private const int LockNb = 4;
    private const int LockUn = 8;

    private const int OpenReadOnly = 0;

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int Flock(int fd, int operation);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenFile([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string existing, [MarshalAs(UnmanagedType.LPUTF8Str)] string link);

    private sealed class SafeFileHandleLock(Microsoft.Win32.SafeHandles.SafeFileHandle handle) : IDisposable
    {
        public void Dispose()
        {
            if (!handle.IsClosed && !OperatingSystem.IsWindows())
            {
                _ = Flock(handle.DangerousGetHandle().ToInt32(), LockUn);
            }
            handle.Dispose();
        }
    }
}
