using System.IO.Hashing;
using System.Runtime.InteropServices;
using Wendelin.Arrays.BigFile.Linux;

namespace Wendelin.Arrays.BigFile;

/// <summary>
/// The copying backend (spec/bigfile.md BF-40): slots are NativeMemory blocks; a view is its own NativeMemory
/// buffer holding copies of its pages. A write through a view reaches the cache, and so other views created
/// later, at the next harvest (dirty query, writeout, disposing the view); views alive at the same time do not
/// see each other's writes until the cache rewrites them (reload after discard or invalidation). Slots and view
/// buffers come straight from the OS where it can (<see cref="OsMemory"/>), so that freeing them returns the memory
/// at once (BF-3).
/// </summary>
internal sealed unsafe class NativePageMemory : PageMemory
{
    private readonly List<nint> _slots = new();
    private readonly List<bool> _zero = new();
    private long _allocated;

    public NativePageMemory(int blockSize) : base(blockSize)
    {
    }

    public override bool SharesViews => false;

    public override long AllocatedBytes => _allocated;

    public override byte* Slot(int slot)
    {
        while (_slots.Count <= slot)
        {
            _slots.Add(0);
            _zero.Add(true);
        }
        if (_slots[slot] == 0)
        {
            _slots[slot] = (nint)OsMemory.AllocZeroed((nuint)BlockSize);
            _zero[slot] = true;
            _allocated += BlockSize;
        }
        return (byte*)_slots[slot];
    }

    public override bool IsZero(int slot) => slot < _zero.Count && _zero[slot];

    public override void Touched(int slot) => _zero[slot] = false;

    public override void Release(int slot)
    {
        if (slot < _slots.Count && _slots[slot] != 0)
        {
            OsMemory.Free((void*)_slots[slot], (nuint)BlockSize);
            _slots[slot] = 0;
            _zero[slot] = true;
            _allocated -= BlockSize;
        }
    }

    public override ViewMemory CreateView(int blockCount) => new CopiedViewMemory(blockCount, BlockSize);

    public override void Dispose()
    {
        for (int i = 0; i < _slots.Count; i++)
        {
            Release(i);
        }
    }

    /// <summary>A view buffer holding copies; remembers the hash of each unit as last synchronized with the cache.</summary>
    private sealed class CopiedViewMemory : ViewMemory
    {
        private readonly UInt128[]?[] _synced;
        private readonly int _unit = Environment.SystemPageSize;

        public CopiedViewMemory(int blockCount, int blockSize) : base(blockCount, blockSize)
        {
            _synced = new UInt128[]?[blockCount];
            if (blockCount > 0)
            {
                Base = (nint)OsMemory.AllocZeroed((nuint)blockCount * (nuint)blockSize);
            }
        }

        private byte* Piece(int index) => (byte*)Base + (long)index * BlockSize;

        public override void Show(int index, Page page, byte* slot, bool writable)
        {
            Writable[index] = writable;
            byte* dst = Piece(index);
            Buffer.MemoryCopy(slot, dst, BlockSize, BlockSize);
            int units = BlockSize / _unit;
            var hashes = _synced[index] ??= new UInt128[units];
            for (int u = 0; u < units; u++)
            {
                hashes[u] = XxHash128.HashToUInt128(new ReadOnlySpan<byte>(dst + (long)u * _unit, _unit));
            }
            Pieces[index] = page;
        }

        public override void Harvest(int index, IHarvestSink sink)
        {
            Page page = Pieces[index]!;
            UInt128[] hashes = _synced[index]!;
            byte* src = Piece(index);
            byte* slot = sink.SlotOf(page);
            for (int u = 0; u < hashes.Length; u++)
            {
                var bytes = new ReadOnlySpan<byte>(src + (long)u * _unit, _unit);
                UInt128 h = XxHash128.HashToUInt128(bytes);
                if (h != hashes[u])
                {
                    bytes.CopyTo(new Span<byte>(slot + (long)u * _unit, _unit));
                    hashes[u] = h;
                    sink.Suspect(page, u, 1);
                }
            }
        }

        public override void Hide(int index)
        {
            Pieces[index] = null;
            Writable[index] = false;
            _synced[index] = null;
        }

        public override void Dispose()
        {
            if (Base != 0)
            {
                OsMemory.Free((void*)Base, (nuint)BlockCount * (nuint)BlockSize);
                Base = 0;
            }
        }
    }
}

/// <summary>
/// Zeroed, page-aligned memory for page-cache slots and view buffers of the copying backend (BF-3, BF-40). On
/// Linux it is an anonymous private mapping, unmapped when freed: glibc's malloc keeps freed multi-MiB chunks in
/// its arenas once its dynamic mmap threshold has risen past their size, and a scan through copied windows then
/// grew the process by about the bytes scanned (+274 MiB for 256 MiB under a 32 MiB budget,
/// <c>FileHandleMemoryTests</c>) while the cache itself kept to its budget. Elsewhere: NativeMemory.
/// </summary>
internal static unsafe class OsMemory
{
    public static void* AllocZeroed(nuint bytes)
    {
        if (OperatingSystem.IsLinux())
        {
            nint p = Libc.Mmap(0, bytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
            if (p == Libc.MapFailed)
            {
                throw new InsufficientMemoryException($"mmap of {bytes} bytes for the page cache failed: errno {Libc.Errno}");
            }
            return (void*)p; // anonymous mappings are zero-filled
        }
        void* q = NativeMemory.AlignedAlloc(bytes, 4096);
        NativeMemory.Clear(q, bytes);
        return q;
    }

    public static void Free(void* p, nuint bytes)
    {
        if (OperatingSystem.IsLinux())
        {
            _ = Libc.Munmap((nint)p, bytes);
            return;
        }
        NativeMemory.AlignedFree(p);
    }
}
