using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using CommunityToolkit.HighPerformance;

namespace Wendelin.Arrays;

/// <summary>
/// A view of part of a <see cref="BigArray"/> (spec/arrays.md AR-12..AR-17): real memory over the array's pages,
/// with NumPy's shape and byte strides (negative for reversed slices, 0 for new axes). Reads and writes go
/// straight to the shared pages, so every view of one array aliases every other. The mapping stays valid until
/// this view and every sub-view taken from it are disposed; spans obtained from a view must not outlive it.
/// A view is not thread-safe (like a NumPy array).
/// </summary>
public sealed partial class ArrayView : IDisposable
{
    private readonly MappingLease? _lease; // null for an empty view (nothing mapped)
    private readonly Region _region;       // offsets relative to the mapping's first byte
    private bool _disposed;

    internal ArrayView(MappingLease? lease, Region region, DType dtype)
    {
        _lease = lease;
        _region = region;
        DType = dtype;
    }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Length of each axis.</summary>
    public ReadOnlySpan<long> Shape => _region.Shape;

    /// <summary>Byte step of each axis (NumPy <c>strides</c>).</summary>
    public ReadOnlySpan<long> Strides => _region.Strides;

    /// <summary>Number of axes.</summary>
    public int NDim => _region.NDim;

    /// <summary>Number of items.</summary>
    public long Size => _region.Size;

    /// <summary>Bytes of the items (Size × item size).</summary>
    public long NBytes => _region.Size * DType.ItemSize;

    /// <summary>True when the items lie one after another in C order (a flat span).</summary>
    public bool IsCContiguous => _region.IsCContiguous;

    /// <summary>True when the items lie one after another in F order.</summary>
    public bool IsFContiguous => _region.IsFContiguous;

    /// <summary>
    /// True when the view's memory is directly addressable (spans, TensorSpan, Span2D): it is empty or its mapping
    /// is resident. A windowed view (larger than the handle's resident limit) supports only bulk operations (AR-17).
    /// </summary>
    public bool IsResident => _lease is null || _lease.Mapping.IsResident;

    /// <summary>File byte offset of the first item (index 0 on every axis); meaningful for non-empty views.</summary>
    public long FileOffset => (_lease?.Mapping.FileOffset ?? 0) + _region.Offset;

    internal Region Region => _region;

    internal MappingLease? Lease => _lease;

    /// <summary>A sub-view by NumPy basic indexing (AR-8); it shares this view's mapping.</summary>
    public ArrayView this[params Ix[] index] => View(index);

    /// <summary>A sub-view by NumPy basic indexing (AR-8); it shares this view's mapping.</summary>
    public ArrayView View(params ReadOnlySpan<Ix> index)
    {
        CheckAlive();
        Region r = Indexing.Apply(_region, index);
        return Share(r, DType);
    }

    private ArrayView Share(Region r, DType dtype)
    {
        if (r.Size == 0 || _lease is null)
        {
            return new ArrayView(null, r, dtype);
        }
        _lease.AddRef();
        return new ArrayView(_lease, r, dtype);
    }

    // ---- items ----

    /// <summary>The item at <paramref name="index"/> (one integer per axis, negatives from the end).</summary>
    public T GetItem<T>(params ReadOnlySpan<long> index) where T : unmanaged
    {
        CheckType<T>();
        long off = _region.OffsetOfItem(index);
        using ArrayWindow w = AcquireItems(off, DType.ItemSize);
        return Unsafe.ReadUnaligned<T>(ref Unsafe.AddByteOffset(ref w.Start, (nint)(off - w.Offset)));
    }

    /// <summary>Writes the item at <paramref name="index"/>.</summary>
    public void SetItem<T>(T value, params ReadOnlySpan<long> index) where T : unmanaged
    {
        CheckType<T>();
        long off = _region.OffsetOfItem(index);
        using ArrayWindow w = AcquireItems(off, DType.ItemSize);
        Unsafe.WriteUnaligned(ref Unsafe.AddByteOffset(ref w.Start, (nint)(off - w.Offset)), value);
    }

    // ---- typed memory ----

    /// <summary>The items as one span, for a C-contiguous view of at most <see cref="int.MaxValue"/> items (AR-16).</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        CheckType<T>();
        if (Size == 0)
        {
            return [];
        }
        if (!IsCContiguous)
        {
            throw new InvalidOperationException($"a view with strides ({Layout.Format(Strides)}) is not contiguous; use AsTensorSpan, CopyTo or Chunks");
        }
        if (Size > int.MaxValue)
        {
            throw new InvalidOperationException($"a view of {Size} items does not fit a Span; use AsTensorSpan or Chunks");
        }
        return MemoryMarshal.CreateSpan(ref Unsafe.As<byte, T>(ref Unsafe.AddByteOffset(ref Start, (nint)_region.Offset)), (int)Size);
    }

    /// <summary>The view's bytes as one span, for a C-contiguous view of at most 2 GiB.</summary>
    public Span<byte> AsBytes()
    {
        CheckAlive();
        if (Size == 0)
        {
            return [];
        }
        if (!IsCContiguous || NBytes > int.MaxValue)
        {
            throw new InvalidOperationException("AsBytes needs a C-contiguous view of at most 2 GiB");
        }
        return MemoryMarshal.CreateSpan(ref Unsafe.AddByteOffset(ref Start, (nint)_region.Offset), (int)NBytes);
    }

    /// <summary>
    /// The view as an n-dimensional <see cref="TensorSpan{T}"/> (AR-16). TensorSpan needs at least one item,
    /// non-negative strides that are multiples of the item size, and nested axes (each stepping over the whole
    /// extent of the axes with smaller strides): views with reversed axes, of zero size, or that step over a minor
    /// axis (e.g. every third row of an F-order array) throw <see cref="InvalidOperationException"/>; use
    /// <see cref="CopyTo{T}(Span{T}, ArrayOrder)"/> for those.
    /// </summary>
    public TensorSpan<T> AsTensorSpan<T>() where T : unmanaged
    {
        CheckType<T>();
        if (Size == 0)
        {
            throw new InvalidOperationException("a TensorSpan cannot have a zero-length axis");
        }
        int nd = NDim;
        var lengths = new nint[Math.Max(nd, 1)];
        var strides = new nint[Math.Max(nd, 1)];
        if (nd == 0)
        {
            lengths[0] = 1; // a 0-d view is a TensorSpan of one item
        }
        long reach = 0;
        for (int k = 0; k < nd; k++)
        {
            long s = _region.Strides[k];
            lengths[k] = (nint)_region.Shape[k];
            if (_region.Shape[k] == 1)
            {
                strides[k] = 0; // never applied; TensorSpan accepts 0 (not other values) for length-1 axes
                continue;
            }
            if (s < 0 || s % DType.ItemSize != 0)
            {
                throw new InvalidOperationException($"strides ({Layout.Format(Strides)}) cannot be a TensorSpan (negative or not a multiple of the item size {DType.ItemSize})");
            }
            strides[k] = (nint)(s / DType.ItemSize);
            reach += (_region.Shape[k] - 1) * strides[k];
        }
        if (!IsNested(lengths, strides))
        {
            throw new InvalidOperationException($"strides ({Layout.Format(Strides)}) interleave axes (a step over a minor axis); TensorSpan only describes nested layouts, use CopyTo");
        }
        ref T first = ref Unsafe.As<byte, T>(ref Unsafe.AddByteOffset(ref Start, (nint)_region.Offset));
        // the items from the first one to the end of the mapping are all addressable
        long dataLength = Math.Max(reach + 1, (_lease!.Mapping.Length - _region.Offset) / DType.ItemSize);
        return TensorMarshal.CreateTensorSpan(ref first, (nint)dataLength, lengths, strides, pinned: true);
    }

    /// <summary>
    /// TensorSpan's layout rule: ordered by stride, each axis (longer than 1) must step over the whole extent of the
    /// smaller ones (stride ≥ smaller stride × its length).
    /// </summary>
    private static bool IsNested(nint[] lengths, nint[] strides)
    {
        var axes = new List<int>();
        for (int k = 0; k < lengths.Length; k++)
        {
            if (lengths[k] > 1)
            {
                axes.Add(k);
            }
        }
        axes.Sort((x, y) => strides[x].CompareTo(strides[y]));
        for (int i = 1; i < axes.Count; i++)
        {
            if ((long)strides[axes[i]] < (long)strides[axes[i - 1]] * lengths[axes[i - 1]])
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// A 2-D view as <see cref="Span2D{T}"/> (AR-16): rows along axis 0, items of a row contiguous (axis-1 stride =
    /// item size), row stride a non-negative multiple of the item size not below a row.
    /// </summary>
    public Span2D<T> AsSpan2D<T>() where T : unmanaged
    {
        CheckType<T>();
        if (NDim != 2)
        {
            throw new InvalidOperationException($"Span2D needs a 2-D view, this one has {NDim} axes");
        }
        long rows = Shape[0], cols = Shape[1];
        if (rows == 0 || cols == 0)
        {
            return Span2D<T>.Empty;
        }
        int size = DType.ItemSize;
        long colStride = cols == 1 ? size : Strides[1];
        long rowStride = rows == 1 ? cols * size : Strides[0];
        if (colStride != size || rowStride < cols * size || rowStride % size != 0 || rows > int.MaxValue || cols > int.MaxValue)
        {
            throw new InvalidOperationException($"strides ({Layout.Format(Strides)}) cannot be a Span2D (rows must be contiguous, ascending and not overlap)");
        }
        long pitch = rowStride / size - cols;
        if (pitch > int.MaxValue)
        {
            throw new InvalidOperationException("row pitch too large for Span2D");
        }
        ref T first = ref Unsafe.As<byte, T>(ref Unsafe.AddByteOffset(ref Start, (nint)_region.Offset));
        return Span2D<T>.DangerousCreate(ref first, (int)rows, (int)cols, (int)pitch);
    }

    // ---- copies ----

    /// <summary>Copies the items into <paramref name="destination"/> (exactly <see cref="Size"/> items) in C or F logical order (AR-14).</summary>
    public void CopyTo<T>(Span<T> destination, ArrayOrder order = ArrayOrder.C) where T : unmanaged
    {
        CheckType<T>();
        if (destination.Length != Size)
        {
            throw new ArgumentException($"destination has {destination.Length} items, the view {Size}", nameof(destination));
        }
        Gather(ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(destination)), Layout.Strides(_region.Shape, DType.ItemSize, order));
    }

    /// <summary>The items as a new .NET array in C or F logical order.</summary>
    public T[] ToArray<T>(ArrayOrder order = ArrayOrder.C) where T : unmanaged
    {
        CheckType<T>();
        if (Size > Array.MaxLength)
        {
            throw new InvalidOperationException($"{Size} items do not fit a .NET array; use Chunks");
        }
        var result = new T[Size];
        CopyTo<T>(result, order);
        return result;
    }

    /// <summary>Copies into a rectangular .NET array of the same shape (e.g. <c>double[,]</c>; .NET arrays are C order).</summary>
    public void CopyTo(Array destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        CheckAlive();
        CheckDotNetArray(destination, DType, Shape);
        Gather(ref MemoryMarshal.GetArrayDataReference(destination), Layout.Strides(_region.Shape, DType.ItemSize, ArrayOrder.C));
    }

    /// <summary>Copies from a rectangular .NET array of the same shape (.NET arrays are C order).</summary>
    public void CopyFrom(Array source)
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckAlive();
        CheckDotNetArray(source, DType, Shape);
        Scatter(ref MemoryMarshal.GetArrayDataReference(source), Layout.Strides(_region.Shape, DType.ItemSize, ArrayOrder.C));
    }

    /// <summary>Writes <paramref name="source"/> (exactly <see cref="Size"/> items, C or F logical order) into the view.</summary>
    public void CopyFrom<T>(ReadOnlySpan<T> source, ArrayOrder order = ArrayOrder.C) where T : unmanaged
    {
        CheckType<T>();
        if (source.Length != Size)
        {
            throw new ArgumentException($"source has {source.Length} items, the view {Size}", nameof(source));
        }
        Assign(source, _region.Shape, order);
    }

    /// <summary>Sets every item to <paramref name="value"/> (a broadcast scalar, AR-13).</summary>
    public void Fill<T>(T value) where T : unmanaged
    {
        CheckType<T>();
        Scatter(ref Unsafe.As<T, byte>(ref value), new long[NDim]);
    }

    /// <summary>
    /// Assigns <paramref name="values"/>, a dense array of shape <paramref name="shape"/> in <paramref name="order"/>,
    /// broadcast to this view's shape by NumPy's rules (AR-13); a shape that does not broadcast throws
    /// <see cref="ArgumentException"/> and writes nothing.
    /// </summary>
    public void Assign<T>(ReadOnlySpan<T> values, ReadOnlySpan<long> shape, ArrayOrder order = ArrayOrder.C) where T : unmanaged
    {
        CheckType<T>();
        long count = Layout.Size(shape);
        if (count != values.Length)
        {
            throw new ArgumentException($"{values.Length} values do not make shape ({Layout.Format(shape)})", nameof(values));
        }
        long[] srcStrides = Strided.BroadcastStrides(shape, Layout.Strides(shape, DType.ItemSize, order), _region.Shape);
        Scatter(ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(values)), srcStrides);
    }

    /// <summary>
    /// Assigns another view (same dtype), broadcast to this view's shape (AR-13). Overlapping views of one array
    /// are handled as NumPy does: the source is read completely before anything is written.
    /// </summary>
    public void Assign(ArrayView source)
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckAlive();
        source.CheckAlive();
        if (source.DType != DType)
        {
            throw new ArgumentException($"cannot assign dtype {source.DType} to a view of dtype {DType}", nameof(source));
        }
        _ = Strided.BroadcastStrides(source._region.Shape, source._region.Strides, _region.Shape);
        if (Size == 0 || source.Size == 0)
        {
            return; // broadcasting an empty source means the target is empty too
        }
        if (source.NBytes > Array.MaxLength)
        {
            throw new InvalidOperationException($"a source of {source.NBytes} bytes is assigned through a .NET buffer; assign in chunks");
        }
        // the source goes through a dense buffer: this also makes overlapping views of one array safe
        byte[] tmp = GC.AllocateUninitializedArray<byte>((int)source.NBytes);
        long[] dense = Layout.Strides(source._region.Shape, DType.ItemSize, ArrayOrder.C);
        source.Gather(ref MemoryMarshal.GetArrayDataReference(tmp), dense);
        long[] tmpStrides = Strided.BroadcastStrides(source._region.Shape, dense, _region.Shape);
        Scatter(ref MemoryMarshal.GetArrayDataReference(tmp), tmpStrides);
    }

    /// <summary>Copies every item into a buffer laid out with <paramref name="bufferStrides"/> (same shape).</summary>
    internal void Gather(ref byte buffer, long[] bufferStrides)
    {
        if (Size == 0)
        {
            return;
        }
        var dense = new Region(0, _region.Shape, bufferStrides, DType.ItemSize);
        foreach (Box box in WindowBoxes())
        {
            Region sub = Boxes.Apply(_region, box);
            using ArrayWindow w = AcquireItems(sub.Lo, sub.Hi - sub.Lo);
            Region d = Boxes.Apply(dense, box);
            Strided.Copy(ref buffer, d.Offset, bufferStrides, ref w.Start, sub.Offset - w.Offset, sub.Strides, sub.Shape, DType.ItemSize);
        }
    }

    /// <summary>Writes every item from a buffer laid out with <paramref name="bufferStrides"/> (same shape, 0 to broadcast).</summary>
    internal void Scatter(ref byte buffer, long[] bufferStrides)
    {
        if (Size == 0)
        {
            return;
        }
        var dense = new Region(0, _region.Shape, bufferStrides, DType.ItemSize);
        foreach (Box box in WindowBoxes())
        {
            Region sub = Boxes.Apply(_region, box);
            using ArrayWindow w = AcquireItems(sub.Lo, sub.Hi - sub.Lo);
            Region d = Boxes.Apply(dense, box);
            Strided.Copy(ref w.Start, sub.Offset - w.Offset, sub.Strides, ref buffer, d.Offset, bufferStrides, sub.Shape, DType.ItemSize);
        }
    }

    /// <summary>The boxes bulk operations walk: the whole view when resident, else pieces that fit a window.</summary>
    internal IEnumerable<Box> WindowBoxes()
    {
        if (_lease is null || _lease.Mapping.IsResident)
        {
            return [new Box(new long[NDim], _region.Shape)];
        }
        ArrayStore store = _lease.Store;
        long limit = Math.Max(store.BlockSize, Math.Min(store.ResidentLimit, store.RamBudget / 4) / store.BlockSize * store.BlockSize);
        return Boxes.Split(_region, limit);
    }

    /// <summary>Pins bytes [offset, offset+length) of the mapping (offsets as in the region).</summary>
    internal ArrayWindow AcquireItems(long offset, long length)
    {
        CheckAlive();
        if (_lease is null)
        {
            throw new InvalidOperationException("an empty view has no memory");
        }
        return _lease.Mapping.IsResident ? new ResidentWindow(_lease.Mapping) : _lease.Mapping.Acquire(offset, length);
    }

    // ---- structured access ----

    /// <summary>
    /// A view of one field of a record dtype (NumPy <c>a['name']</c>, AR-18): same shape and strides, the field's dtype;
    /// a subarray field adds its axes at the end.
    /// </summary>
    public ArrayView Field(string name)
    {
        CheckAlive();
        DTypeField f = DType.Field(name);
        DType t = f.Type;
        Region r = _region.Shift(f.Offset);
        if (t.SubArrayBase is { } b)
        {
            long[] subStrides = Layout.Strides(t.SubArrayShape, b.ItemSize, ArrayOrder.C);
            r = new Region(r.Offset, [.. r.Shape, .. t.SubArrayShape], [.. r.Strides, .. subStrides], b.ItemSize);
            t = b;
        }
        else
        {
            r = new Region(r.Offset, r.Shape, r.Strides, t.ItemSize);
        }
        return Share(r, t);
    }

    /// <summary>
    /// Reinterprets the minor axis (smallest |stride|) as one record of <paramref name="recordType"/> (upstream's
    /// <c>xnumpy.structured</c>, AR-19); the result drops that axis. Throws <see cref="ArgumentException"/> when the
    /// minor stride is negative or not the item size, or the record size is not axis length × item size.
    /// </summary>
    public ArrayView Structured(DType recordType)
    {
        ArgumentNullException.ThrowIfNull(recordType);
        CheckAlive();
        if (NDim == 0)
        {
            throw new ArgumentException("a 0-d view has no minor axis", nameof(recordType));
        }
        int minor = 0;
        for (int k = 1; k < NDim; k++)
        {
            if (Math.Abs(_region.Strides[k]) < Math.Abs(_region.Strides[minor]))
            {
                minor = k;
            }
        }
        long stride = _region.Strides[minor];
        if (stride < 0)
        {
            throw new ArgumentException("minor-axis stride is negative", nameof(recordType));
        }
        if (stride != DType.ItemSize && _region.Shape[minor] > 1)
        {
            throw new ArgumentException($"minor-axis stride {stride} is not the item size {DType.ItemSize}", nameof(recordType));
        }
        if (recordType.ItemSize != _region.Shape[minor] * DType.ItemSize)
        {
            throw new ArgumentException($"dtype of {recordType.ItemSize} bytes does not cover the minor axis of {_region.Shape[minor]} × {DType.ItemSize} bytes", nameof(recordType));
        }
        var shape = new List<long>(_region.Shape);
        var strides = new List<long>(_region.Strides);
        shape.RemoveAt(minor);
        strides.RemoveAt(minor);
        return Share(new Region(_region.Offset, shape.ToArray(), strides.ToArray(), recordType.ItemSize), recordType);
    }

    // ---- plumbing ----

    /// <summary>Releases this view's share of the mapping; using it afterwards throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _lease?.Release();
    }

    internal ref byte Start
    {
        get
        {
            CheckAlive();
            if (_lease is null)
            {
                return ref Unsafe.NullRef<byte>();
            }
            if (!_lease.Mapping.IsResident)
            {
                throw new InvalidOperationException(
                    $"this view maps {_lease.Mapping.Length} bytes, more than the handle keeps resident ({_lease.Store.ResidentLimit}); take spans of smaller views (BigArray.Chunks) or copy");
            }
            return ref _lease.Mapping.Start;
        }
    }

    internal void CheckAlive() => ObjectDisposedException.ThrowIf(_disposed, this);

    internal void CheckType<T>() where T : unmanaged
    {
        CheckAlive();
        CheckElementType<T>(DType);
    }

    internal static void CheckElementType<T>(DType dtype) where T : unmanaged
    {
        Type? e = dtype.ElementType;
        if (e is not null ? e != typeof(T) : Unsafe.SizeOf<T>() != dtype.ItemSize)
        {
            throw new ArgumentException(e is not null
                ? $"items of dtype {dtype.Str} are {e.Name}, not {typeof(T).Name}"
                : $"items of dtype {dtype} are {dtype.ItemSize} bytes; {typeof(T).Name} has {Unsafe.SizeOf<T>()}", nameof(T));
        }
        if (!dtype.IsNativeByteOrder)
        {
            throw new NotSupportedException($"dtype {dtype.Str} is not in this machine's byte order; typed access would need swapping (read the bytes instead)");
        }
    }

    /// <summary>Checks that a rectangular .NET array can hold items of <paramref name="dtype"/> in <paramref name="shape"/>.</summary>
    internal static void CheckDotNetArray(Array a, DType dtype, ReadOnlySpan<long> shape)
    {
        Type? et = a.GetType().GetElementType();
        (bool unmanaged, int size) = et is null || !et.IsValueType ? (false, 0) : ItemTypes.GetOrAdd(et, Describe);
        if (!unmanaged)
        {
            throw new ArgumentException("need an array of unmanaged items", nameof(a));
        }
        if (dtype.ElementType is { } e ? e != et : size != dtype.ItemSize)
        {
            throw new ArgumentException($"items of dtype {dtype.Str} cannot be copied as {et!.Name}", nameof(a));
        }
        if (!dtype.IsNativeByteOrder)
        {
            throw new NotSupportedException($"dtype {dtype.Str} is not in this machine's byte order");
        }
        if (a.Rank != shape.Length)
        {
            throw new ArgumentException($"array of rank {a.Rank} does not match the {shape.Length} axes", nameof(a));
        }
        for (int k = 0; k < shape.Length; k++)
        {
            if (a.GetLength(k) != shape[k])
            {
                throw new ArgumentException($"array lengths do not match the shape ({Layout.Format(shape)})", nameof(a));
            }
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, (bool Unmanaged, int Size)> ItemTypes = new();

    /// <summary>Whether a .NET array's element type holds no references, and its managed size.</summary>
    private static (bool, int) Describe(Type t) =>
        ((bool, int))typeof(ArrayView).GetMethod(nameof(DescribeOf), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(t).Invoke(null, null)!;

    private static (bool, int) DescribeOf<T>() => (!RuntimeHelpers.IsReferenceOrContainsReferences<T>(), Unsafe.SizeOf<T>());

    public override string ToString() => $"ArrayView(shape=({Layout.Format(Shape)}), dtype={DType.Str}, strides=({Layout.Format(Strides)}))";
}
