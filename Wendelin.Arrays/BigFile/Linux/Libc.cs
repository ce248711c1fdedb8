using System.Runtime.InteropServices;

namespace Wendelin.Arrays.BigFile.Linux;

/// <summary>
/// The libc calls of the Linux paging backend (spec/bigfile.md BF-30…BF-39). Constants and struct layouts are the
/// x86-64/aarch64 UAPI values; every call reports errno through <see cref="Marshal.GetLastPInvokeError"/>.
/// </summary>
internal static unsafe partial class Libc
{
    public const int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2;
    public const int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
    public const int MFD_CLOEXEC = 0x0001;
    public const int FALLOC_FL_KEEP_SIZE = 0x01, FALLOC_FL_PUNCH_HOLE = 0x02;
    public const int MADV_DONTFORK = 10, MADV_HUGEPAGE = 14, MADV_POPULATE_READ = 22, MADV_POPULATE_WRITE = 23;
    public const int O_RDONLY = 0, O_CLOEXEC = 0x80000, O_NONBLOCK = 0x800;
    public const int EINTR = 4, EAGAIN = 11, ENOMEM = 12, EINVAL = 22, ENOSYS = 38, EPERM = 1;

    public static readonly nint MapFailed = -1;

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    public static partial int Fallocate(int fd, int mode, long offset, long length);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint addr, nuint length);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(nint addr, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    public static partial int Mincore(nint addr, nuint length, byte* vec);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long number, long arg0);

    /// <summary>Bytes of memory the kernel holds for a file (st_blocks × 512), via statx (portable across arches).</summary>
    public static long AllocatedBytes(int fd)
    {
        // struct statx: stx_blocks is a u64 at offset 48 (uapi/linux/stat.h)
        byte* buf = stackalloc byte[256];
        new Span<byte>(buf, 256).Clear();
        const int AT_EMPTY_PATH = 0x1000, STATX_BLOCKS = 0x400;
        if (Statx(fd, "", AT_EMPTY_PATH, STATX_BLOCKS, buf) != 0)
        {
            return -1;
        }
        return (long)(*(ulong*)(buf + 48)) * 512;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte* statxbuf);

    public static int Errno => Marshal.GetLastPInvokeError();

    public static IOException Error(string what) => Error(what, Errno);

    public static IOException Error(string what, int errno) =>
        new($"{what} failed: errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})");
}
