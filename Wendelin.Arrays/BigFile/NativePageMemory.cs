using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Wendelin.Arrays.BigFile;

/// <summary>
/// The copying backend (spec/bigfile.md BF-40): slots are NativeMemory blocks; a view is its own NativeMemory
/// buffer holding copies of its pages. A write through a view reaches the cache, and so other views created
/// later, at the next harvest (dirty query, writeout, disposing the view); views alive at the same time do not
/// see each other's writes until the cache rewrites them (reload after discard or invalidation).
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
            void* p = NativeMemory.AlignedAlloc((nuint)BlockSize, 4096);
            NativeMemory.Clear(p, (nuint)BlockSize);
            _slots[slot] = (nint)p;
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
            NativeMemory.AlignedFree((void*)_slots[slot]);
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
                nuint bytes = (nuint)blockCount * (nuint)blockSize;
                void* p = NativeMemory.AlignedAlloc(bytes, 4096);
                NativeMemory.Clear(p, bytes);
                Base = (nint)p;
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
                NativeMemory.AlignedFree((void*)Base);
                Base = 0;
            }
        }
    }
}
