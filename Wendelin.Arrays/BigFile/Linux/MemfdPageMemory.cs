using System.Runtime.Versioning;

namespace Wendelin.Arrays.BigFile.Linux;

/// <summary>
/// The Linux backend (spec/bigfile.md BF-30…BF-35): the cache's slots are consecutive block-sized ranges of one
/// memfd, reached by the cache through chunk mappings; a view is a PROT_NONE reservation in which each shown
/// piece is the memfd range of its page's slot mapped MAP_SHARED|MAP_FIXED, so every view of a page shows the
/// same physical memory and a store through one is seen at once through all. Freed slots beyond the budget
/// are punched out of the memfd so their memory goes back to the OS.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed unsafe class MemfdPageMemory : PageMemory
{
    private const int SlotsPerChunk = 32;

    private readonly int _fd;
    private readonly List<nint> _chunks = new();
    private readonly List<bool> _zero = new();
    private readonly WriteTracker? _tracker;
    private bool _disposed;

    private MemfdPageMemory(int blockSize, int fd, WriteTracker? tracker) : base(blockSize)
    {
        _fd = fd;
        _tracker = tracker;
    }

    /// <summary>Creates the memfd, or returns null when the kernel refuses (then the copying backend is used).</summary>
    public static MemfdPageMemory? TryCreate(int blockSize, WriteTracker? tracker)
    {
        int fd = Libc.MemfdCreate("wendelin-pages", Libc.MFD_CLOEXEC);
        return fd < 0 ? null : new MemfdPageMemory(blockSize, fd, tracker);
    }

    public WriteTracker? Tracker => _tracker;

    public override bool SharesViews => true;

    public override long AllocatedBytes => Libc.AllocatedBytes(_fd);

    public override byte* Slot(int slot)
    {
        int chunk = slot / SlotsPerChunk;
        while (_chunks.Count <= chunk)
        {
            AddChunk();
        }
        return (byte*)_chunks[chunk] + (long)(slot % SlotsPerChunk) * BlockSize;
    }

    private void AddChunk()
    {
        long chunkBytes = (long)SlotsPerChunk * BlockSize;
        long offset = _chunks.Count * chunkBytes;
        if (Libc.Ftruncate(_fd, offset + chunkBytes) != 0)
        {
            throw Libc.Error("ftruncate(memfd)");
        }
        nint p = Libc.Mmap(0, (nuint)chunkBytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, _fd, offset);
        if (p == Libc.MapFailed)
        {
            throw new InsufficientMemoryException($"mmap of page cache chunk failed: errno {Libc.Errno}");
        }
        _chunks.Add(p);
        for (int i = 0; i < SlotsPerChunk; i++)
        {
            _zero.Add(true);
        }
    }

    public override bool IsZero(int slot) => slot < _zero.Count && _zero[slot];

    public override void PrepareFresh(int slot, byte* memory)
    {
        // allocate the slot's pages in one call, then map them, instead of one fault per 4 KiB page during the load
        _ = Libc.Fallocate(_fd, 0, (long)slot * BlockSize, BlockSize);
        _ = Libc.Madvise((nint)memory, (nuint)BlockSize, Libc.MADV_POPULATE_WRITE);
    }

    public override void Touched(int slot) => _zero[slot] = false;

    public override void Release(int slot)
    {
        if (slot >= _zero.Count || _zero[slot])
        {
            return;
        }
        if (Libc.Fallocate(_fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, (long)slot * BlockSize, BlockSize) != 0)
        {
            throw Libc.Error("fallocate(PUNCH_HOLE)");
        }
        _zero[slot] = true;
    }

    public override ViewMemory CreateView(int blockCount) => new MappedViewMemory(this, blockCount);

    public override void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        long chunkBytes = (long)SlotsPerChunk * BlockSize;
        foreach (nint c in _chunks)
        {
            Libc.Munmap(c, (nuint)chunkBytes);
        }
        _chunks.Clear();
        Libc.Close(_fd);
        _tracker?.Dispose();
    }

    /// <summary>A reserved address range whose pieces map memfd slots (BF-31).</summary>
    private sealed class MappedViewMemory : ViewMemory
    {
        private readonly MemfdPageMemory _owner;
        private readonly int _unit = Environment.SystemPageSize;

        public MappedViewMemory(MemfdPageMemory owner, int blockCount) : base(blockCount, owner.BlockSize)
        {
            _owner = owner;
            if (blockCount > 0)
            {
                nint p = Libc.Mmap(0, Length, Libc.PROT_NONE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
                if (p == Libc.MapFailed)
                {
                    throw new InsufficientMemoryException($"reserving {Length} bytes of address space for a view failed: errno {Libc.Errno}");
                }
                Base = p;
            }
        }

        private nuint Length => (nuint)BlockCount * (nuint)BlockSize;

        private nint PieceAddress(int index) => Base + (nint)((long)index * BlockSize);

        public override void Show(int index, Page page, byte* slot, bool writable)
        {
            nint at = PieceAddress(index);
            int prot = writable ? Libc.PROT_READ | Libc.PROT_WRITE : Libc.PROT_READ;
            nint p = Libc.Mmap(at, (nuint)BlockSize, prot, Libc.MAP_SHARED | Libc.MAP_FIXED, _owner._fd, (long)page.Slot * BlockSize);
            if (p != at)
            {
                throw new InsufficientMemoryException($"mapping a page into a view failed: errno {Libc.Errno} (vm.max_map_count?)");
            }
            // Fill the piece's page table now, in one call: first reads then take no fault at all. This matters
            // most with write tracking, where the kernel maps a tracked range one 4 KiB page per fault (BF-31).
            _ = Libc.Madvise(at, (nuint)BlockSize, Libc.MADV_POPULATE_READ);
            if (writable)
            {
                _owner._tracker?.Track(at, (nuint)BlockSize);
            }
            Pieces[index] = page;
            Writable[index] = writable;
        }

        public override void Harvest(int index, IHarvestSink sink)
        {
            Page page = Pieces[index]!;
            if (_owner._tracker is { } tracker)
            {
                nint start = PieceAddress(index);
                tracker.Scan(start, (nuint)BlockSize, (nint addr, nuint len) =>
                    sink.Suspect(page, (int)((addr - start) / _unit), (int)(len / (nuint)_unit)));
            }
            else
            {
                sink.Suspect(page, 0, BlockSize / _unit);
            }
        }

        public override void HarvestAll(IHarvestSink sink)
        {
            if (_owner._tracker is { } tracker && BlockCount > 0)
            {
                // one scan for the whole view (BF-14): unregistered (hidden) pieces are skipped by the kernel
                tracker.Scan(Base, Length, (nint addr, nuint len) =>
                {
                    while (len > 0)
                    {
                        long off = addr - Base;
                        int index = (int)(off / BlockSize);
                        int inBlock = (int)(off % BlockSize);
                        nuint take = Math.Min(len, (nuint)(BlockSize - inBlock));
                        if (Pieces[index] is { } page && Writable[index])
                        {
                            sink.Suspect(page, inBlock / _unit, (int)(take / (nuint)_unit));
                        }
                        addr += (nint)take;
                        len -= take;
                    }
                });
                return;
            }
            base.HarvestAll(sink);
        }

        public override void Hide(int index)
        {
            nint at = PieceAddress(index);
            nint p = Libc.Mmap(at, (nuint)BlockSize, Libc.PROT_NONE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE | Libc.MAP_FIXED, -1, 0);
            if (p != at)
            {
                throw new InsufficientMemoryException($"unmapping a page from a view failed: errno {Libc.Errno}");
            }
            Pieces[index] = null;
            Writable[index] = false;
        }

        public override void Dispose()
        {
            if (Base != 0)
            {
                Libc.Munmap(Base, Length);
                Base = 0;
            }
        }
    }
}
