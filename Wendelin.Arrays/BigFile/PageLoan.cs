using System.Buffers;

namespace Wendelin.Arrays.BigFile;

/// <summary>
/// Lends the memory of one resident block as <see cref="Memory{T}"/> without copying it (spec/bigfile.md BF-56):
/// the block's RAM slot is leased (it is not reused, even if the page is evicted meanwhile) until the loan is
/// returned or moved to another block. One loan object is reused block after block: a memory it gave out is valid
/// only until the next <see cref="TryBorrow"/> or <see cref="Return"/>. The bytes are the page's as they are while
/// lent (the lender must not write the block meanwhile). The handle must outlive the loan.
/// </summary>
internal sealed unsafe class PageLoan : MemoryManager<byte>
{
    private readonly PageCache _cache;
    private byte* _memory;
    private int _length;
    private int _slot = -1;

    internal PageLoan(PageCache cache) => _cache = cache;

    /// <summary>True while a block is lent.</summary>
    public bool IsLent => _slot >= 0;

    /// <summary>
    /// Returns what is lent, then lends bytes [<paramref name="offset"/>, offset + <paramref name="length"/>) of
    /// <paramref name="block"/> when the block is resident in the cache (a spilled or uncached block is not lent:
    /// false). <see cref="MemoryManager{T}.Memory"/> is then those bytes.
    /// </summary>
    public bool TryBorrow(long block, int offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _cache.BlockSize - offset);
        Return();
        if (!_cache.TryLeaseResident(block, out byte* memory, out int slot))
        {
            return false;
        }
        _memory = memory + offset;
        _length = length;
        _slot = slot;
        return true;
    }

    /// <summary>Ends the loan (the slot may be reused from now on).</summary>
    public void Return()
    {
        int slot = _slot;
        if (slot < 0)
        {
            return;
        }
        _slot = -1;
        _memory = null;
        _length = 0;
        _cache.EndSlotLease(slot);
    }

    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_slot < 0, this);
        return new Span<byte>(_memory, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ObjectDisposedException.ThrowIf(_slot < 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        return new MemoryHandle(_memory + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing) => Return();
}
