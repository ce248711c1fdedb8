using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Wendelin.Arrays.BigFile.Linux;

/// <summary>A range of written memory reported by a scan.</summary>
internal delegate void WrittenRange(nint address, nuint length);

/// <summary>
/// Exact write tracking without a fault handler (spec/bigfile.md BF-14): view pieces are registered with a
/// userfaultfd in write-protect mode with <c>UFFD_FEATURE_WP_ASYNC</c> and write-protected; the kernel itself
/// resolves the first store to each OS page by clearing its protection, and <c>PAGEMAP_SCAN</c> on
/// /proc/self/pagemap lists the unprotected (written) pages and protects them again in the same call.
/// Nothing runs on a fault, so the garbage-collector deadlock of fault handlers (BF-36) cannot happen here.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed unsafe class WriteTracker : IDisposable
{
    private const long SysUserfaultfd = 323;
    private const int UFFD_USER_MODE_ONLY = 1;
    private const ulong UFFD_API = 0xAA;
    private const ulong FeatureWpAsync = 0x8000, FeatureWpShmem = 0x1000;
    private const nuint UFFDIO_API = 0xC018AA3F, UFFDIO_REGISTER = 0xC020AA00, UFFDIO_WRITEPROTECT = 0xC018AA06;
    private const nuint PAGEMAP_SCAN = 0xC0606610;
    private const ulong RegisterModeWp = 0x2, WriteProtectModeWp = 0x1;
    private const ulong PmScanWpMatching = 0x1;
    private const ulong PageIsWpAllowed = 0x1, PageIsWritten = 0x2;
    private const int RegionBatch = 256;

    private readonly int _uffd;
    private readonly int _pagemap;
    private readonly PageRegion* _regions;
    private readonly object _scanLock = new();
    private bool _disposed;

    private WriteTracker(int uffd, int pagemap)
    {
        _uffd = uffd;
        _pagemap = pagemap;
        _regions = (PageRegion*)NativeMemory.Alloc((nuint)(RegionBatch * sizeof(PageRegion)));
    }

    /// <summary>Why the tracker is unavailable, when <see cref="TryCreate"/> returned null (for diagnostics).</summary>
    public static string? UnavailableReason { get; private set; }

    /// <summary>
    /// Opens a userfaultfd with WP_ASYNC and the pagemap file and checks on a scratch mapping that a store is
    /// reported and a load is not; returns null (and sets <see cref="UnavailableReason"/>) when any step fails.
    /// </summary>
    public static WriteTracker? TryCreate()
    {
        if (!OperatingSystem.IsLinux())
        {
            UnavailableReason = "not Linux";
            return null;
        }
        int uffd = OpenUserfaultfd();
        if (uffd < 0)
        {
            UnavailableReason = $"userfaultfd: errno {-uffd}";
            return null;
        }
        var api = new UffdioApi { Api = UFFD_API, Features = FeatureWpAsync | FeatureWpShmem };
        if (Libc.Ioctl(uffd, UFFDIO_API, &api) != 0)
        {
            UnavailableReason = $"UFFDIO_API(WP_ASYNC): errno {Libc.Errno}";
            Libc.Close(uffd);
            return null;
        }
        int pagemap = Libc.Open("/proc/self/pagemap", Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (pagemap < 0)
        {
            UnavailableReason = $"open /proc/self/pagemap: errno {Libc.Errno}";
            Libc.Close(uffd);
            return null;
        }
        var tracker = new WriteTracker(uffd, pagemap);
        if (!tracker.SelfTest(out string? why))
        {
            UnavailableReason = why;
            tracker.Dispose();
            return null;
        }
        UnavailableReason = null;
        return tracker;
    }

    private static int OpenUserfaultfd()
    {
        // user-mode-only is enough for tracking (kernel-mode stores are tracked too) and works unprivileged
        long fd = Libc.Syscall(SysUserfaultfd, Libc.O_CLOEXEC | Libc.O_NONBLOCK | UFFD_USER_MODE_ONLY);
        if (fd >= 0)
        {
            return (int)fd;
        }
        int errno = Libc.Errno;
        if (errno == Libc.EINVAL)
        {
            fd = Libc.Syscall(SysUserfaultfd, Libc.O_CLOEXEC | Libc.O_NONBLOCK);
            if (fd >= 0)
            {
                return (int)fd;
            }
            errno = Libc.Errno;
        }
        return -errno;
    }

    private bool SelfTest(out string? why)
    {
        int page = Environment.SystemPageSize;
        nint p = Libc.Mmap(0, (nuint)(4 * page), Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        if (p == Libc.MapFailed)
        {
            why = "mmap for the self-test failed";
            return false;
        }
        try
        {
            if (!TryTrack(p, (nuint)(4 * page), out why))
            {
                return false;
            }
            ((byte*)p)[2 * page + 5] = 1;
            _ = Volatile.Read(ref ((byte*)p)[0]);
            var found = new List<(nint, nuint)>();
            if (!TryScan(p, (nuint)(4 * page), (a, l) => found.Add((a, l)), out why))
            {
                return false;
            }
            if (found.Count != 1 || found[0].Item1 != p + 2 * page || found[0].Item2 != (nuint)page)
            {
                why = $"PAGEMAP_SCAN self-test reported {found.Count} ranges instead of the one written page";
                return false;
            }
            return true;
        }
        finally
        {
            Libc.Munmap(p, (nuint)(4 * page));
        }
    }

    /// <summary>Registers a freshly mapped range for write tracking and write-protects it (BF-14).</summary>
    public void Track(nint address, nuint length)
    {
        if (!TryTrack(address, length, out string? why))
        {
            throw new IOException(why);
        }
    }

    private bool TryTrack(nint address, nuint length, out string? why)
    {
        var reg = new UffdioRegister { Start = (ulong)address, Len = length, Mode = RegisterModeWp };
        if (Libc.Ioctl(_uffd, UFFDIO_REGISTER, &reg) != 0)
        {
            why = $"UFFDIO_REGISTER(WP): errno {Libc.Errno}";
            return false;
        }
        if ((reg.Ioctls & (1UL << 6)) == 0)
        {
            why = "UFFDIO_REGISTER: write-protect not offered on this memory";
            return false;
        }
        var wp = new UffdioWriteprotect { Start = (ulong)address, Len = length, Mode = WriteProtectModeWp };
        if (Libc.Ioctl(_uffd, UFFDIO_WRITEPROTECT, &wp) != 0)
        {
            why = $"UFFDIO_WRITEPROTECT: errno {Libc.Errno}";
            return false;
        }
        why = null;
        return true;
    }

    /// <summary>
    /// Reports every OS page of [address, address+length) written since it was tracked or last scanned, and
    /// write-protects those pages again. Ranges that are not tracked (hidden pieces) are skipped.
    /// </summary>
    public void Scan(nint address, nuint length, WrittenRange written)
    {
        if (!TryScan(address, length, written, out string? why))
        {
            throw new IOException(why);
        }
    }

    private bool TryScan(nint address, nuint length, WrittenRange written, out string? why)
    {
        ulong end = (ulong)address + length;
        ulong start = (ulong)address;
        lock (_scanLock)
        {
            while (start < end)
            {
                var arg = new PmScanArg
                {
                    Size = (ulong)sizeof(PmScanArg),
                    Flags = PmScanWpMatching,
                    Start = start,
                    End = end,
                    Vec = (ulong)_regions,
                    VecLen = RegionBatch,
                    CategoryMask = PageIsWritten | PageIsWpAllowed,
                    ReturnMask = PageIsWritten,
                };
                int n = Libc.Ioctl(_pagemap, PAGEMAP_SCAN, &arg);
                if (n < 0)
                {
                    int errno = Libc.Errno;
                    if (errno == Libc.EINTR)
                    {
                        continue;
                    }
                    why = $"PAGEMAP_SCAN: errno {errno}";
                    return false;
                }
                for (int i = 0; i < n; i++)
                {
                    written((nint)_regions[i].Start, (nuint)(_regions[i].End - _regions[i].Start));
                }
                if (arg.WalkEnd <= start)
                {
                    break;
                }
                start = arg.WalkEnd;
            }
        }
        why = null;
        return true;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Libc.Close(_pagemap);
        Libc.Close(_uffd);
        NativeMemory.Free(_regions);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct UffdioApi
    {
        public ulong Api, Features, Ioctls;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct UffdioRegister
    {
        public ulong Start;
        public nuint Len;
        public ulong Mode, Ioctls;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct UffdioWriteprotect
    {
        public ulong Start;
        public nuint Len;
        public ulong Mode;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PmScanArg
    {
        public ulong Size, Flags, Start, End, WalkEnd, Vec, VecLen, MaxPages, CategoryInverted, CategoryMask, CategoryAnyofMask, ReturnMask;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PageRegion
    {
        public ulong Start, End, Categories;
    }
}
