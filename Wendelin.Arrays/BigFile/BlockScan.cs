using System.Buffers;
using System.Runtime.ExceptionServices;

namespace Wendelin.Arrays.BigFile;

/// <summary>
/// A one-pass, read-only walk over file bytes [offset, offset + length) of a handle, piece by piece, without
/// views (spec/bigfile.md BF-50…BF-53): each piece is part of one block, as the handle holds it when the scan
/// reaches that block. Blocks the cache holds are read from their own slots (dirty bytes included); the others
/// are read from the block file — into a small ring of reusable buffers, or as the block file's own memory
/// (<see cref="IBlockSource"/>) — by a read-ahead thread that keeps a few blocks ahead of the caller. Nothing
/// enters the cache and nothing is evicted. Use it like an enumerator:
/// <code>
/// using BlockScan scan = handle.Scan(0, length);
/// while (scan.MoveNext()) Consume(scan.Offset, scan.Current);
/// </code>
/// Not thread-safe (one consumer); other threads may use the handle meanwhile.
/// </summary>
public sealed unsafe class BlockScan : IDisposable
{
    /// <summary>Bytes of read-ahead a scan keeps in flight (its buffers and leases), in whole blocks, at least two.</summary>
    internal const long ReadAheadBytes = 8 << 20;

    /// <summary>Largest piece of zeros handed out at once (a hole or a stripped tail is cut into pieces of this size).</summary>
    internal const int ZeroPiece = 1 << 20;

    private static readonly byte[] Zeros = GC.AllocateArray<byte>(ZeroPiece, pinned: true);

    private readonly FileHandle _handle;
    private readonly PageCache _cache;
    private readonly IBlockFile _file;
    private readonly IBlockSource? _source;
    private readonly int _blockSize;
    private readonly long _offset;
    private readonly long _end;
    private readonly long _firstBlock;
    private readonly long _blockCount;

    // read-ahead: a ring of items for blocks [_released, _produced), filled by a pump on the thread pool
    private readonly object _gate = new();
    private readonly Item[] _ring;
    private readonly nint[] _ringBuffers;
    private readonly bool _background;
    private long _produced;
    private long _released;
    private bool _pumpRunning;
    private bool _pumpWaiting;
    private bool _stopping;

    /// <summary>How long the read-ahead thread waits for the consumer to free a buffer before it exits.</summary>
    private const int PumpIdleMilliseconds = 2000;

    // the consumer
    private long _index = -1;       // block being handed out, relative to _firstBlock
    private byte* _data;            // its stored bytes
    private int _dataLength;        // bytes at _data; the rest of the block is zeros
    private int _cursor;            // next byte of the block to hand out
    private int _stop;              // end of the scan's range within the block
    private int _leasedSlot = -1;   // cache slot held for the block
    private bool _holdsRingItem;    // ring item _index is in use
    private Item _own;              // a load made by the consumer itself
    private MemoryHandle _pin;      // pin of a leased block's memory
    private nint _ownBuffer;        // for the consumer's loads and spilled blocks
    private byte* _current;
    private int _currentLength;
    private bool _disposed;

    internal BlockScan(FileHandle handle, PageCache cache, long offset, long length)
    {
        _handle = handle;
        _cache = cache;
        _file = cache.File;
        _source = _file as IBlockSource;
        _blockSize = cache.BlockSize;
        _offset = offset;
        _end = offset + length;
        _firstBlock = offset / _blockSize;
        _blockCount = length == 0 ? 0 : (_end + _blockSize - 1) / _blockSize - _firstBlock;
        int depth = (int)Math.Clamp(ReadAheadBytes / _blockSize, 2, 64);
        _ring = new Item[depth];
        _ringBuffers = new nint[depth];
        // a thread is worth it from three blocks on, unless the block file has the OS read ahead itself
        _background = cache.LoadsInBackground && _blockCount > 2 && _source is not { ReadsAhead: true };
        Offset = offset;
    }

    /// <summary>File offset of <see cref="Current"/>'s first byte.</summary>
    public long Offset { get; private set; }

    /// <summary>
    /// The current piece: file bytes [<see cref="Offset"/>, Offset + Current.Length), within one block. Valid until
    /// the next <see cref="MoveNext"/> or <see cref="Dispose"/> (a piece of a cached block is the cache's own
    /// memory: a write through a view meanwhile shows in it, as in the view).
    /// </summary>
    public ReadOnlySpan<byte> Current => new(_current, _currentLength);

    /// <summary>True when the current piece is known to be all zeros (a hole, or a block's stripped tail), so a consumer may skip reading it.</summary>
    public bool IsZero { get; private set; }

    /// <summary>Moves to the next piece; false at the end of the range.</summary>
    /// <exception cref="ObjectDisposedException">The scan or its handle was disposed.</exception>
    public bool MoveNext()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            if (_index >= 0 && _index < _blockCount && _cursor < _stop)
            {
                long blockStart = (_firstBlock + _index) * _blockSize;
                Offset = blockStart + _cursor;
                if (_cursor < _dataLength)
                {
                    int n = Math.Min(_stop, _dataLength) - _cursor;
                    _current = _data + _cursor;
                    _currentLength = n;
                    IsZero = false;
                    _cursor += n;
                }
                else
                {
                    int n = Math.Min(_stop - _cursor, ZeroPiece);
                    fixed (byte* z = Zeros)
                    {
                        _current = z; // pinned for the process's lifetime
                    }
                    _currentLength = n;
                    IsZero = true;
                    _cursor += n;
                }
                return true;
            }
            ReleaseBlock();
            if (_index + 1 >= _blockCount)
            {
                _index = _blockCount;
                _current = null;
                _currentLength = 0;
                return false;
            }
            _index++;
            try
            {
                EnterBlock();
            }
            catch
            {
                _index--; // the next MoveNext tries this block again
                _data = null;
                _dataLength = 0;
                _cursor = _stop = 0;
                throw;
            }
        }
    }

    /// <summary>Finds the bytes of block <see cref="_index"/>: from the cache, the read-ahead's load, or a load of its own.</summary>
    private void EnterBlock()
    {
        long block = _firstBlock + _index;
        long blockStart = block * _blockSize;
        _cursor = (int)(Math.Max(_offset, blockStart) - blockStart);
        _stop = (int)(Math.Min(_end, blockStart + _blockSize) - blockStart);
        bool ring = _background && WaitItem(_index);
        Item item = ring ? _ring[_index % _ring.Length] : default;
        long since = ring && !item.Cached ? item.Epoch : -1;
        while (true)
        {
            ScanTake take = _cache.TakeForScan(block, since, (byte*)_ownBuffer, out byte* slot, out int slotIndex, out long epoch);
            switch (take)
            {
                case ScanTake.Slot:
                    _leasedSlot = slotIndex;
                    _data = slot;
                    _dataLength = _blockSize;
                    DropLoads(ref ring);
                    return;
                case ScanTake.Copied:
                    _data = (byte*)_ownBuffer;
                    _dataLength = _blockSize;
                    DropLoads(ref ring);
                    return;
                case ScanTake.NeedBuffer:
                    _ownBuffer = (nint)_cache.RentScanBuffer();
                    continue;
                case ScanTake.Unchanged:
                    Item use = ring ? item : _own;
                    if (use.Error is { } error)
                    {
                        DropLoads(ref ring);
                        since = -1; // the read-ahead failed: load it here (its error, if it persists, is this caller's)
                        continue;
                    }
                    _holdsRingItem = ring;
                    if (use.Leased)
                    {
                        _pin = use.Lease.Data.Pin();
                        _data = (byte*)_pin.Pointer;
                        _dataLength = use.Lease.Data.Length;
                    }
                    else
                    {
                        _data = (byte*)use.Buffer;
                        _dataLength = use.Buffer == 0 ? 0 : _blockSize;
                    }
                    return;
                default: // Absent: no good load of this block yet
                    DropLoads(ref ring);
                    _own = Load(block, epoch, ref _ownBuffer);
                    if (_own.Error is { } e)
                    {
                        _own = default;
                        e.Throw();
                    }
                    since = epoch;
                    continue;
            }
        }
    }

    /// <summary>Releases the loads kept for the block being entered (the ring item, the consumer's own load).</summary>
    private void DropLoads(ref bool ring)
    {
        if (ring)
        {
            ReleaseRingItem(_index);
            ring = false;
        }
        _own.Dispose();
        _own = default;
    }

    /// <summary>Lets go of the block handed out last.</summary>
    private void ReleaseBlock()
    {
        if (_leasedSlot >= 0)
        {
            int slot = _leasedSlot;
            _leasedSlot = -1;
            _cache.EndSlotLease(slot);
        }
        if (_pin.Pointer is not null)
        {
            _pin.Dispose();
            _pin = default;
        }
        if (_holdsRingItem)
        {
            _holdsRingItem = false;
            ReleaseRingItem(_index);
        }
        _own.Dispose();
        _own = default;
        _data = null;
        _dataLength = 0;
        _cursor = _stop = 0;
    }

    /// <summary>
    /// Reads block <paramref name="block"/> from the block file: leased from an <see cref="IBlockSource"/> that
    /// hands it over, else loaded into <paramref name="buffer"/> (allocated on first need).
    /// </summary>
    private Item Load(long block, long epoch, ref nint buffer)
    {
        var item = new Item { Epoch = epoch };
        try
        {
            if (_source is not null && _source.TryLease(block, out BlockLease lease))
            {
                if (lease.Data.Length > _blockSize)
                {
                    int n = lease.Data.Length;
                    lease.Dispose();
                    throw new InvalidOperationException($"the block file handed over {n} bytes for block {block} of {_blockSize}");
                }
                item.Lease = lease;
                item.Leased = true;
            }
            else
            {
                if (buffer == 0)
                {
                    buffer = (nint)_cache.RentScanBuffer();
                }
                var span = new Span<byte>((void*)buffer, _blockSize);
                if (_file is not IWholeBlockLoader)
                {
                    span.Clear();
                }
                _file.LoadBlock(block, span);
                item.Buffer = buffer;
            }
            _cache.CountDirectLoad();
        }
#pragma warning disable CA1031 // not swallowed: the consumer rethrows it (or loads again and sees its own)
        catch (Exception e)
        {
            item.Error = ExceptionDispatchInfo.Capture(e);
        }
#pragma warning restore CA1031
        return item;
    }

    // ---------------------------------------------------------------- read-ahead

    /// <summary>Waits until the read-ahead has an item for block <paramref name="index"/>; false when it never will (already released).</summary>
    private bool WaitItem(long index)
    {
        lock (_gate)
        {
            if (index < _released)
            {
                return false;
            }
            while (_produced <= index)
            {
                if (!_pumpRunning)
                {
                    StartPump();
                }
                Monitor.Wait(_gate);
            }
            return true;
        }
    }

    private void ReleaseRingItem(long index)
    {
        Item item;
        lock (_gate)
        {
            item = _ring[index % _ring.Length];
            _ring[index % _ring.Length] = default;
            _released = index + 1;
            if (_pumpWaiting)
            {
                Monitor.PulseAll(_gate); // a ring position is free again
            }
            else if (!_pumpRunning && !_stopping && _produced < _blockCount)
            {
                StartPump(); // the read-ahead went idle while the consumer was busy elsewhere
            }
        }
        item.Dispose();
    }

    /// <summary>
    /// Starts the read-ahead thread (under the gate). A thread of its own rather than a thread-pool item: it
    /// blocks on I/O and on the consumer, and a consumer waiting for it must never wait for a busy pool.
    /// </summary>
    private void StartPump()
    {
        _pumpRunning = true;
        new Thread(static s => ((BlockScan)s!).Pump()) { IsBackground = true, Name = "Wendelin scan read-ahead" }.Start(this);
    }

    /// <summary>
    /// Loads blocks ahead of the consumer, keeping the ring full; exits at the end of the range, when the scan
    /// is disposed, or after <see cref="PumpIdleMilliseconds"/> without room (an abandoned scan leaves no thread).
    /// </summary>
    private void Pump()
    {
        while (true)
        {
            long index;
            lock (_gate)
            {
                while (!_stopping && _produced < _blockCount && _produced - _released >= _ring.Length)
                {
                    _pumpWaiting = true;
                    bool woken = Monitor.Wait(_gate, PumpIdleMilliseconds);
                    _pumpWaiting = false;
                    if (!woken)
                    {
                        break;
                    }
                }
                if (_stopping || _produced >= _blockCount || _produced - _released >= _ring.Length)
                {
                    _pumpRunning = false;
                    Monitor.PulseAll(_gate);
                    return;
                }
                index = _produced;
            }
            long block = _firstBlock + index;
            Item item;
            try
            {
                item = _cache.IsCached(block, out long epoch)
                    ? new Item { Cached = true, Epoch = epoch }
                    : Load(block, epoch, ref _ringBuffers[index % _ring.Length]);
            }
#pragma warning disable CA1031 // the handle was disposed: the consumer sees it when it gets there
            catch (Exception e)
            {
                item = new Item { Error = ExceptionDispatchInfo.Capture(e) };
            }
#pragma warning restore CA1031
            lock (_gate)
            {
                _ring[index % _ring.Length] = item;
                _produced++;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Stops the read-ahead, releases everything held and returns the buffers.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
            while (_pumpRunning)
            {
                Monitor.Wait(_gate);
            }
        }
        if (_holdsRingItem || _leasedSlot >= 0 || _pin.Pointer is not null)
        {
            ReleaseBlock();
        }
        _own.Dispose();
        for (long i = _released; i < _produced; i++)
        {
            _ring[i % _ring.Length].Dispose();
        }
        Array.Clear(_ring);
        for (int i = 0; i < _ringBuffers.Length; i++)
        {
            if (_ringBuffers[i] != 0)
            {
                _cache.ReturnScanBuffer((byte*)_ringBuffers[i]);
                _ringBuffers[i] = 0;
            }
        }
        if (_ownBuffer != 0)
        {
            _cache.ReturnScanBuffer((byte*)_ownBuffer);
            _ownBuffer = 0;
        }
        _current = null;
        _currentLength = 0;
        GC.KeepAlive(_handle);
    }

    /// <summary>One block read ahead: found in the cache, loaded into a buffer, leased, or failed.</summary>
    private struct Item
    {
        public long Epoch;
        public bool Cached;
        public nint Buffer;
        public BlockLease Lease;
        public bool Leased;
        public ExceptionDispatchInfo? Error;

        public readonly void Dispose() => Lease.Dispose();
    }
}
