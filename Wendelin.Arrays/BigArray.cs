using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Wendelin.Arrays.BigFile;

namespace Wendelin.Arrays;

/// <summary>
/// An N-dimensional array of fixed-size items stored in a paged file (spec/arrays.md): the array's byte 0 is file
/// byte 0, items in C or F order, no header. Indexing returns <see cref="ArrayView"/>s over the real pages
/// (NumPy basic indexing); <see cref="Resize"/> is O(1) and <see cref="Append{T}(ReadOnlySpan{T}, ReadOnlySpan{long})"/>
/// O(δ). The state a persistent subclass keeps is <see cref="DType"/>, <see cref="Shape"/>, <see cref="Order"/> and
/// <see cref="Strides"/> (upstream's <c>_dtype</c>, <c>_shape</c>, <c>_order</c>, <c>_stridev</c>).
/// Not thread-safe.
/// </summary>
public partial class BigArray
{
    private long[] _shape;
    private long[] _strides;
    private readonly FileHandle? _handle;
    private readonly ArrayStore? _fixedStore;
    private HandleStore? _handleStore;
    private ArrayMapping? _itemBlock;   // the block item access last used (AR-10)
    private ArrayStore? _itemStore;
    private long _itemBlockIndex = -1;
    private ArrayStore? _readStore;      // the block the last item read was in (AR-10)
    private long _readBlock = -1;
    private ArrayStore? _writeStore;     // the block the last item write was in (AR-10)
    private long _writeBlock = -1;
    private int _writeRun;               // item writes in a row in that block

    /// <summary>
    /// Item writes in a row in one block after which the block is mapped (AR-10): a direct write costs about a
    /// microsecond, mapping a block a few hundred, so only a run of writes pays for the mapping.
    /// </summary>
    internal const int MapAfterWrites = 64;

    /// <summary>
    /// An array of <paramref name="shape"/> items of <paramref name="dtype"/> in <paramref name="order"/> over the
    /// pages of <paramref name="handle"/> (AR-5, AR-6): item bytes start at file byte 0.
    /// </summary>
    public BigArray(ReadOnlySpan<long> shape, DType dtype, FileHandle handle, ArrayOrder order = ArrayOrder.C)
        : this(shape, dtype, order)
    {
        _handle = handle ?? throw new ArgumentNullException(nameof(handle));
    }

    /// <summary>An array over <paramref name="store"/> (tests supply their own stores).</summary>
    internal BigArray(ReadOnlySpan<long> shape, DType dtype, ArrayOrder order, ArrayStore store)
        : this(shape, dtype, order)
    {
        _fixedStore = store ?? throw new ArgumentNullException(nameof(store));
    }

    /// <summary>
    /// For subclasses that supply the pages through <see cref="Handle"/> (ZBigArray opens its handle lazily):
    /// validates shape, dtype and order (AR-5) and computes the strides (AR-6).
    /// </summary>
    protected BigArray(ReadOnlySpan<long> shape, DType dtype, ArrayOrder order)
    {
        ArgumentNullException.ThrowIfNull(dtype);
        if (order is not (ArrayOrder.C or ArrayOrder.F))
        {
            throw new ArgumentException($"order must be C or F, not {order}", nameof(order));
        }
        DType = dtype;
        Order = order;
        _shape = Layout.CheckShape(shape, dtype.ItemSize);
        _strides = Layout.Strides(_shape, dtype.ItemSize, order);
    }

    /// <summary>
    /// For subclasses loading a saved state (<c>_dtype</c>, <c>_shape</c>, <c>_order</c>, <c>_stridev</c>): as the
    /// other constructor, and the saved strides must be the ones AR-6 gives (upstream uses <c>_stridev</c> as
    /// stored; we require it consistent and throw <see cref="ArgumentException"/> otherwise).
    /// </summary>
    protected BigArray(ReadOnlySpan<long> shape, DType dtype, ArrayOrder order, ReadOnlySpan<long> strides)
        : this(shape, dtype, order)
    {
        CheckStrides(strides);
    }

    /// <summary>
    /// For a persistent subclass created before its state is known (a ZODB ghost): a placeholder empty uint8 array
    /// until <see cref="LoadState"/> sets the real one.
    /// </summary>
    protected BigArray()
        : this([0], Arrays.DType.UInt8, ArrayOrder.C)
    {
    }

    /// <summary>
    /// Replaces the whole state with one loaded from storage (<c>_dtype</c>, <c>_order</c>, <c>_shape</c>,
    /// <c>_stridev</c>): validated like a constructor (AR-5, AR-6; inconsistent strides throw
    /// <see cref="ArgumentException"/>); <see cref="OnLayoutChanged"/> is not called. Views taken before keep
    /// their own shape and dtype.
    /// </summary>
    protected void LoadState(DType dtype, ArrayOrder order, ReadOnlySpan<long> shape, ReadOnlySpan<long> strides)
    {
        ArgumentNullException.ThrowIfNull(dtype);
        if (order is not (ArrayOrder.C or ArrayOrder.F))
        {
            throw new ArgumentException($"order must be C or F, not {order}", nameof(order));
        }
        long[] s = Layout.CheckShape(shape, dtype.ItemSize);
        long[] computed = Layout.Strides(s, dtype.ItemSize, order);
        if (!strides.SequenceEqual(computed))
        {
            throw new ArgumentException($"strides ({Layout.Format(strides)}) are not the {order}-order strides ({Layout.Format(computed)}) of shape ({Layout.Format(s)}) with item size {dtype.ItemSize}", nameof(strides));
        }
        DType = dtype;
        Order = order;
        _shape = s;
        _strides = computed;
    }

    private void CheckStrides(ReadOnlySpan<long> strides)
    {
        if (!strides.SequenceEqual(_strides))
        {
            throw new ArgumentException($"strides ({Layout.Format(strides)}) are not the {Order}-order strides ({Layout.Format(_strides)}) of shape ({Layout.Format(_shape)}) with item size {DType.ItemSize}", nameof(strides));
        }
    }

    /// <summary>
    /// The handle whose pages hold the items. Subclasses constructed without one override it (it may change, e.g.
    /// after an invalidation; views taken before keep the old handle's pages).
    /// </summary>
    protected virtual FileHandle Handle => _handle ?? throw new InvalidOperationException("this array has no file handle");

    /// <summary>Where views get their pages: the handle (wrapped once per handle), or a test store.</summary>
    internal ArrayStore Store
    {
        get
        {
            if (_fixedStore is not null)
            {
                return _fixedStore;
            }
            FileHandle h = Handle;
            HandleStore? s = _handleStore;
            if (s is null || !ReferenceEquals(s.Handle, h))
            {
                _handleStore = s = new HandleStore(h);
            }
            return s;
        }
    }

    /// <summary>Called after <see cref="Shape"/> and <see cref="Strides"/> changed (resize, append); ZBigArray marks itself changed.</summary>
    protected virtual void OnLayoutChanged()
    {
    }

    // ---- attributes (AR-5..AR-7) ----

    /// <summary>Element type (<c>_dtype</c>).</summary>
    public DType DType { get; private set; }

    /// <summary>C or F (<c>_order</c>).</summary>
    public ArrayOrder Order { get; private set; }

    /// <summary>Length of each axis (<c>_shape</c>).</summary>
    public ReadOnlySpan<long> Shape => _shape;

    /// <summary>Byte step of each axis (<c>_stridev</c>): C stride_i = itemsize × prod(shape[i+1:]), F stride_i = itemsize × prod(shape[:i]).</summary>
    public ReadOnlySpan<long> Strides => _strides;

    /// <summary>Number of axes.</summary>
    public int NDim => _shape.Length;

    /// <summary>Bytes per item.</summary>
    public int ItemSize => DType.ItemSize;

    /// <summary>Number of items (product of the shape).</summary>
    public long Size => Layout.Size(_shape);

    /// <summary>Bytes of all items.</summary>
    public long NBytes => Size * DType.ItemSize;

    /// <summary>The major axis: first index of the largest stride (0 for C, the last for F, AR-7).</summary>
    public int MajorAxis => Layout.MajorAxis(_strides);

    /// <summary>Length along the major axis (upstream's <c>len(A)</c>; for F order the last axis, unlike NumPy).</summary>
    public long Length => _shape[MajorAxis];

    private Region WholeRegion => new(0, _shape, _strides, DType.ItemSize);

    // ---- views (AR-8, AR-9) ----

    /// <summary>A view by NumPy basic indexing; dispose it when done.</summary>
    public ArrayView this[params Ix[] index] => View(index);

    /// <summary>
    /// A view by NumPy basic indexing (AR-8): maps exactly the pages holding the selected items' byte span, from
    /// the first to the last selected item (AR-9). An out-of-range integer throws
    /// <see cref="ArgumentOutOfRangeException"/>; an out-of-range slice gives an empty view that maps nothing.
    /// </summary>
    public ArrayView View(params ReadOnlySpan<Ix> index)
    {
        Region r = Indexing.Apply(WholeRegion, index);
        return MapRegion(r);
    }

    internal ArrayView MapRegion(Region r)
    {
        if (r.Size == 0)
        {
            return new ArrayView(null, r, DType);
        }
        ArrayStore store = Store;
        ArrayMapping m = store.Map(r.Lo, r.Hi - r.Lo);
        return new ArrayView(new MappingLease(m, store), r.Shift(-r.Lo), DType);
    }

    // ---- items (AR-10) ----

    /// <summary>
    /// The item at <paramref name="index"/> (one integer per axis, negatives from the end). Over a file handle an
    /// item is read without mapping its block, unless the previous item read was in the same block: then the
    /// block is mapped and kept for the items that follow (AR-10).
    /// </summary>
    public T GetItem<T>(params ReadOnlySpan<long> index) where T : unmanaged
    {
        ArrayView.CheckElementType<T>(DType);
        long off = WholeRegion.OffsetOfItem(index);
        ArrayStore store = Store;
        if (store.HasDirectRead)
        {
            long block = off / store.BlockSize;
            bool mapped = _itemBlock is not null && ReferenceEquals(_itemStore, store) && _itemBlockIndex == block;
            bool again = ReferenceEquals(_readStore, store) && _readBlock == block;
            _readStore = store;
            _readBlock = block;
            if (!mapped && !again)
            {
                T value = default;
                store.Read(off, MemoryMarshal.AsBytes(new Span<T>(ref value)));
                return value;
            }
        }
        ArrayMapping? single = null;
        try
        {
            return Unsafe.ReadUnaligned<T>(ref ItemAt(off, ref single));
        }
        finally
        {
            single?.Dispose();
        }
    }

    /// <summary>
    /// Writes the item at <paramref name="index"/>; unlike upstream this works for 1-D arrays too. Over a file handle
    /// an item is written without mapping its block, unless it is the <see cref="MapAfterWrites"/>th item write in a row
    /// in that block: then the block is mapped and kept for the items that follow (AR-10).
    /// </summary>
    public void SetItem<T>(T value, params ReadOnlySpan<long> index) where T : unmanaged
    {
        ArrayView.CheckElementType<T>(DType);
        long off = WholeRegion.OffsetOfItem(index);
        ArrayStore store = Store;
        if (store.HasDirectWrite)
        {
            long block = off / store.BlockSize;
            bool mapped = _itemBlock is not null && ReferenceEquals(_itemStore, store) && _itemBlockIndex == block;
            if (ReferenceEquals(_writeStore, store) && _writeBlock == block)
            {
                _writeRun++;
            }
            else
            {
                _writeStore = store;
                _writeBlock = block;
                _writeRun = 1;
            }
            if (!mapped && _writeRun < MapAfterWrites)
            {
                // item access left the kept mapping's block: release it (a live view costs every harvest a scan)
                ReleaseItemCache();
                store.Write(off, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));
                return;
            }
        }
        ArrayMapping? single = null;
        try
        {
            Unsafe.WriteUnaligned(ref ItemAt(off, ref single), value);
        }
        finally
        {
            single?.Dispose();
        }
    }

    /// <summary>
    /// The memory of the item at byte <paramref name="off"/> (AR-10): through a cached mapping of the item's block
    /// (one pinned page, kept until another block is needed or <see cref="ReleaseItemCache"/>), or, for an item
    /// that straddles two blocks, through a mapping of its own returned in <paramref name="single"/>.
    /// </summary>
    private ref byte ItemAt(long off, ref ArrayMapping? single)
    {
        ArrayStore store = Store;
        long bs = store.BlockSize;
        long block = off / bs;
        if (off + DType.ItemSize <= (block + 1) * bs && store.ResidentLimit >= bs)
        {
            if (_itemBlock is null || !ReferenceEquals(_itemStore, store) || _itemBlockIndex != block)
            {
                ReleaseItemCache();
                _itemBlock = store.Map(block * bs, bs);
                _itemStore = store;
                _itemBlockIndex = block;
            }
            return ref Unsafe.AddByteOffset(ref _itemBlock.Start, (nint)(off - block * bs));
        }
        single = store.Map(off, DType.ItemSize);
        return ref single.Start;
    }

    /// <summary>Releases the block mapping that item access keeps (its page is no longer pinned).</summary>
    public void ReleaseItemCache()
    {
        ArrayMapping? m = _itemBlock;
        _itemBlock = null;
        _itemStore = null;
        _itemBlockIndex = -1;
        m?.Dispose();
    }

    // ---- assignment (AR-13) ----

    /// <summary><c>A[index] = value</c> for a scalar: every selected item becomes <paramref name="value"/>.</summary>
    public void Assign<T>(ReadOnlySpan<Ix> index, T value) where T : unmanaged
    {
        ArrayView.CheckElementType<T>(DType);
        Region r = Indexing.Apply(WholeRegion, index);
        ScatterChunked(r, ref Unsafe.As<T, byte>(ref value), new long[r.NDim]);
    }

    /// <summary><c>A[index] = values</c>: a dense array of <paramref name="shape"/> (C order) broadcast to the selection.</summary>
    public void Assign<T>(ReadOnlySpan<Ix> index, ReadOnlySpan<T> values, ReadOnlySpan<long> shape) where T : unmanaged
    {
        ArrayView.CheckElementType<T>(DType);
        Region r = Indexing.Apply(WholeRegion, index);
        ScatterValues(r, values, shape);
    }

    /// <summary><c>A[index] = source</c>: a view (of this or another array, same dtype) broadcast to the selection.</summary>
    public void Assign(ReadOnlySpan<Ix> index, ArrayView source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Region r = Indexing.Apply(WholeRegion, index);
        ScatterView(r, source);
    }

    // ---- whole-array copies (AR-14) ----

    /// <summary>The whole array as a .NET array in C or F logical order.</summary>
    public T[] ToArray<T>(ArrayOrder order = ArrayOrder.C) where T : unmanaged
    {
        ArrayView.CheckElementType<T>(DType);
        if (Size > Array.MaxLength)
        {
            throw new InvalidOperationException($"{Size} items do not fit a .NET array; use Chunks");
        }
        var result = new T[Size];
        CopyTo<T>(result, order);
        return result;
    }

    /// <summary>Copies the whole array into <paramref name="destination"/> (exactly <see cref="Size"/> items) in C or F logical order.</summary>
    public void CopyTo<T>(Span<T> destination, ArrayOrder order = ArrayOrder.C) where T : unmanaged
    {
        ArrayView.CheckElementType<T>(DType);
        if (destination.Length != Size)
        {
            throw new ArgumentException($"destination has {destination.Length} items, the array {Size}", nameof(destination));
        }
        CopyRegion(WholeRegion, MemoryMarshal.AsBytes(destination), order);
    }

    /// <summary>
    /// <c>destination[...] = A[index]</c>: copies the selection (NumPy basic indexing, AR-8) into
    /// <paramref name="destination"/> (exactly as many items) in C or F logical order, without a view. A
    /// selection whose items lie in the file in that order (a range of rows, a block) is read straight into the
    /// destination (over a file handle: no mapping, nothing enters the cache, AR-14); others go chunk by chunk.
    /// </summary>
    public void CopyTo<T>(ReadOnlySpan<Ix> index, Span<T> destination, ArrayOrder order = ArrayOrder.C) where T : unmanaged
    {
        ArrayView.CheckElementType<T>(DType);
        Region r = Indexing.Apply(WholeRegion, index);
        if (destination.Length != r.Size)
        {
            throw new ArgumentException($"destination has {destination.Length} items, the selection {r.Size}", nameof(destination));
        }
        CopyRegion(r, MemoryMarshal.AsBytes(destination), order);
    }

    private void CopyRegion(Region r, Span<byte> destination, ArrayOrder order)
    {
        if (order is not (ArrayOrder.C or ArrayOrder.F))
        {
            throw new ArgumentException($"order must be C or F, not {order}", nameof(order));
        }
        if (r.Size == 0)
        {
            return;
        }
        ArrayStore store = Store;
        if (store.HasDirectRead && (order == ArrayOrder.C ? r.IsCContiguous : r.IsFContiguous))
        {
            store.Read(r.Lo, destination); // the items are these file bytes in this order
            return;
        }
        GatherChunked(r, ref MemoryMarshal.GetReference(destination), Layout.Strides(r.Shape, DType.ItemSize, order));
    }

    /// <summary>Overwrites the whole array from <paramref name="source"/> (exactly <see cref="Size"/> items, C or F logical order).</summary>
    public void CopyFrom<T>(ReadOnlySpan<T> source, ArrayOrder order = ArrayOrder.C) where T : unmanaged
    {
        ArrayView.CheckElementType<T>(DType);
        if (source.Length != Size)
        {
            throw new ArgumentException($"source has {source.Length} items, the array {Size}", nameof(source));
        }
        ScatterChunked(WholeRegion, ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(source)), Layout.Strides(_shape, DType.ItemSize, order));
    }

    // ---- chunked bulk copies ----

    /// <summary>
    /// Writes the items of a buffer (laid out with <paramref name="bufferStrides"/> over <paramref name="r"/>'s
    /// shape; 0 strides broadcast) into the selection <paramref name="r"/>, one chunk of at most
    /// <see cref="DefaultChunkBytes"/> mapped at a time, so a bulk write pins no more than a chunk (AR-13, AR-20).
    /// </summary>
    private void ScatterChunked(Region r, ref byte buffer, long[] bufferStrides)
    {
        if (r.Size == 0)
        {
            return;
        }
        var dense = new Region(0, r.Shape, bufferStrides, DType.ItemSize);
        ArrayStore store = Store;
        if (store.HasDirectWrite && ((r.IsCContiguous && dense.IsCContiguous) || (r.IsFContiguous && dense.IsFContiguous)))
        {
            // AR-13a: the buffer's items are the selection's file bytes in order: copied straight into the pages
            WriteDirect(store, r.Lo, ref Unsafe.AddByteOffset(ref buffer, (nint)dense.Lo), r.Size * DType.ItemSize);
            return;
        }
        foreach (Box box in Boxes.Split(r, DefaultChunkBytes))
        {
            Region sub = Boxes.Apply(r, box);
            long at = Boxes.Apply(dense, box).Offset;
            using ArrayView v = MapRegion(sub);
            v.Scatter(ref Unsafe.AddByteOffset(ref buffer, (nint)at), bufferStrides);
        }
    }

    /// <summary>Copies <paramref name="length"/> bytes from <paramref name="source"/> to file offset <paramref name="offset"/> by the store's direct write, in spans of at most 1 GiB.</summary>
    private static void WriteDirect(ArrayStore store, long offset, ref byte source, long length)
    {
        const int Piece = 1 << 30;
        for (long done = 0; done < length; done += Piece)
        {
            int n = (int)Math.Min(Piece, length - done);
            store.Write(offset + done, MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AddByteOffset(ref source, (nint)done), n));
        }
    }

    /// <summary>Reads the selection <paramref name="r"/> into a buffer laid out with <paramref name="bufferStrides"/>, chunk by chunk.</summary>
    private void GatherChunked(Region r, ref byte buffer, long[] bufferStrides)
    {
        if (r.Size == 0)
        {
            return;
        }
        var dense = new Region(0, r.Shape, bufferStrides, DType.ItemSize);
        foreach (Box box in Boxes.Split(r, DefaultChunkBytes))
        {
            Region sub = Boxes.Apply(r, box);
            long at = Boxes.Apply(dense, box).Offset;
            using ArrayView v = MapRegion(sub);
            v.Gather(ref Unsafe.AddByteOffset(ref buffer, (nint)at), bufferStrides);
        }
    }

    /// <summary>Writes dense C-order <paramref name="values"/> of <paramref name="shape"/>, broadcast to <paramref name="r"/> (AR-13).</summary>
    private void ScatterValues<T>(Region r, ReadOnlySpan<T> values, ReadOnlySpan<long> shape) where T : unmanaged
    {
        if (Layout.Size(shape) != values.Length)
        {
            throw new ArgumentException($"{values.Length} values do not make shape ({Layout.Format(shape)})", nameof(values));
        }
        long[] strides = Strided.BroadcastStrides(shape, Layout.Strides(shape, DType.ItemSize, ArrayOrder.C), r.Shape);
        ScatterChunked(r, ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(values)), strides);
    }

    /// <summary>Writes a view broadcast to <paramref name="r"/>, reading the whole source first (overlap-safe, AR-13).</summary>
    private void ScatterView(Region r, ArrayView source)
    {
        source.CheckAlive();
        if (source.DType != DType)
        {
            throw new ArgumentException($"cannot assign dtype {source.DType} to an array of dtype {DType}", nameof(source));
        }
        _ = Strided.BroadcastStrides(source.Shape, source.Strides, r.Shape);
        if (r.Size == 0 || source.Size == 0)
        {
            return;
        }
        if (source.NBytes > Array.MaxLength)
        {
            throw new InvalidOperationException($"a source of {source.NBytes} bytes is assigned through a .NET buffer; assign in chunks");
        }
        byte[] tmp = GC.AllocateUninitializedArray<byte>((int)source.NBytes);
        long[] dense = Layout.Strides(source.Shape, DType.ItemSize, ArrayOrder.C);
        source.Gather(ref MemoryMarshal.GetArrayDataReference(tmp), dense);
        ScatterChunked(r, ref MemoryMarshal.GetArrayDataReference(tmp), Strided.BroadcastStrides(source.Shape, dense, r.Shape));
    }

    // ---- resize and append (AR-15) ----

    /// <summary>
    /// Changes the shape in O(1) (AR-15, upstream semantics): only shape and strides are recomputed, no byte is
    /// moved or cleared. Growing exposes whatever the file holds there (zeros where never written, old items if
    /// the array was larger before); changing a non-major axis or the number of axes reinterprets the same bytes.
    /// Existing views keep their shape and keep aliasing the file.
    /// </summary>
    public void Resize(params ReadOnlySpan<long> newShape)
    {
        long[] shape = Layout.CheckShape(newShape, DType.ItemSize);
        _strides = Layout.Strides(shape, DType.ItemSize, Order);
        _shape = shape;
        OnLayoutChanged();
    }

    /// <summary>
    /// Appends <paramref name="values"/> (dense, C logical order, of shape <paramref name="shape"/>) along axis 0
    /// for C order or the last axis for F order, in O(δ) (AR-15). Every other axis must match exactly; an empty
    /// append (δ = 0) changes nothing; on failure the array is resized back and the error rethrown.
    /// </summary>
    public void Append<T>(ReadOnlySpan<T> values, ReadOnlySpan<long> shape) where T : unmanaged
    {
        ArrayView.CheckElementType<T>(DType);
        if (Layout.Size(shape) != values.Length)
        {
            throw new ArgumentException($"{values.Length} values do not make shape ({Layout.Format(shape)})", nameof(values));
        }
        long delta = CheckAppendShape(shape);
        if (delta == 0)
        {
            return;
        }
        long[] old = _shape;
        Region tail = GrowForAppend(delta);
        try
        {
            ScatterValues(tail, values, shape);
        }
        catch
        {
            Resize(old);
            throw;
        }
    }

    /// <summary>Appends a 1-D run of items to a 1-D array (shape (values.Length,)).</summary>
    public void Append<T>(ReadOnlySpan<T> values) where T : unmanaged => Append(values, [values.Length]);

    /// <summary>Appends a view (same dtype) like <see cref="Append{T}(ReadOnlySpan{T}, ReadOnlySpan{long})"/>.</summary>
    public void Append(ArrayView values)
    {
        ArgumentNullException.ThrowIfNull(values);
        values.CheckAlive();
        if (values.DType != DType)
        {
            throw new ArgumentException($"cannot append dtype {values.DType} to an array of dtype {DType}", nameof(values));
        }
        long delta = CheckAppendShape(values.Shape);
        if (delta == 0)
        {
            return;
        }
        long[] old = _shape;
        Region tail = GrowForAppend(delta);
        try
        {
            ScatterView(tail, values);
        }
        catch
        {
            Resize(old);
            throw;
        }
    }

    /// <summary>Appends a rectangular .NET array (e.g. <c>double[,]</c>) like <see cref="Append{T}(ReadOnlySpan{T}, ReadOnlySpan{long})"/>.</summary>
    public void Append(Array values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var shape = new long[values.Rank];
        for (int k = 0; k < shape.Length; k++)
        {
            shape[k] = values.GetLength(k);
        }
        long delta = CheckAppendShape(shape);
        if (delta == 0)
        {
            return;
        }
        long[] old = _shape;
        Region tail = GrowForAppend(delta);
        try
        {
            ArrayView.CheckDotNetArray(values, DType, tail.Shape);
            ScatterChunked(tail, ref MemoryMarshal.GetArrayDataReference(values), Layout.Strides(tail.Shape, DType.ItemSize, ArrayOrder.C));
        }
        catch
        {
            Resize(old);
            throw;
        }
    }

    private long CheckAppendShape(ReadOnlySpan<long> shape)
    {
        int axis = Layout.AppendAxis(NDim, Order);
        bool ok = shape.Length == NDim;
        for (int k = 0; ok && k < NDim; k++)
        {
            ok = k == axis || shape[k] == _shape[k];
        }
        if (!ok)
        {
            throw new ArgumentException(
                $"all the input array dimensions except for the concatenation axis must match exactly: cannot append shape ({Layout.Format(shape)}) to ({Layout.Format(_shape)}) along axis {axis}", nameof(shape));
        }
        return shape[axis];
    }

    /// <summary>Grows the append axis by <paramref name="delta"/> and returns the region of the new items.</summary>
    private Region GrowForAppend(long delta)
    {
        int axis = Layout.AppendAxis(NDim, Order);
        long n = _shape[axis];
        long[] grown = (long[])_shape.Clone();
        if (delta > long.MaxValue - n)
        {
            throw new ArgumentException($"appending {delta} to axis {axis} of length {n} overflows 64 bits");
        }
        grown[axis] = n + delta;
        Resize(grown);
        Ix[] tail = Order == ArrayOrder.C ? [Ix.Slice(n)] : [Ix.Ellipsis, Ix.Slice(n)];
        return Indexing.Apply(WholeRegion, tail);
    }

    public override string ToString() => $"{GetType().Name}(shape=({Layout.Format(Shape)}), dtype={DType.Str}, order={Order})";
}
