using System.Numerics;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage;
using Wendelin.Storage.Persistence;
using Wendelin.Storage.Pickle;

namespace Wendelin.Arrays;

/// <summary>
/// A <see cref="BigArray"/> persisted in ZODB: wendelin.core's <c>wendelin.bigarray.array_zodb.ZBigArray</c>
/// (spec/zbigfile.md ZB-10..ZB-13). The record holds dtype, shape, order and strides and refers to a
/// <see cref="ZBigFile"/> whose blocks hold the items (byte 0 of the array is byte 0 of the file). Changes made
/// through views are stored when the connection's transaction commits and dropped when it aborts; shape changes
/// (<see cref="Append{T}(ReadOnlySpan{T}, ReadOnlySpan{long})"/>, <see cref="Resize"/>) change the record, so two
/// connections resizing one array at once conflict. Another connection's changes appear at this connection's
/// next transaction boundary: exactly the changed blocks are reloaded, and a new shape is seen without losing the
/// page cache.
/// <para>
/// Create one, then attach it to a connection (<see cref="Connection.Add"/>, or commit it reachable from the
/// root) before the first data access. Every member of the <see cref="BigArray"/> API is available here;
/// <see cref="AsBigArray"/> gives the array itself for APIs that take a <see cref="BigArray"/>. Like the
/// connection, an array is used by one thread at a time. Like upstream's <c>LivePersistent</c> it is never made
/// a ghost by cache trimming (its page cache lives with it).
/// </para>
/// </summary>
public sealed class ZBigArray : Persistent
{
    private readonly Face _array;
    private ZBigFile? _zfile;
    private PickleValue? _dtypePickle;
    private List<KeyValuePair<string, object?>>? _extra;
    private FileHandle? _handle;

    /// <summary>
    /// A new array of <paramref name="shape"/> items of <paramref name="dtype"/> in <paramref name="order"/>, all
    /// zeros, over a new <see cref="ZBigFile"/> of <paramref name="blockSize"/>-byte blocks (2 MiB by default).
    /// </summary>
    public ZBigArray(ReadOnlySpan<long> shape, DType dtype, ArrayOrder order = ArrayOrder.C, int blockSize = ZBigFile.DefaultBlockSize)
    {
        _array = new Face(this, shape, dtype, order);
        _zfile = new ZBigFile(blockSize);
    }

    /// <summary>For the type registry: an empty array that receives a loaded state.</summary>
    internal ZBigArray() => _array = new Face(this);

    protected override bool KeepInCache => true;

    // ---- persistent parts ----

    /// <summary>The file holding the items (<c>zfile</c>).</summary>
    public ZBigFile File
    {
        get
        {
            ReadAccess();
            return _zfile ?? throw new InvalidOperationException("the ZBigArray has no zfile");
        }
    }

    /// <summary>The format changed blocks are written in (the file's <see cref="ZBigFile.BlockFormat"/>).</summary>
    public ZBlkFormat BlockFormat
    {
        get => File.BlockFormat;
        set => File.BlockFormat = value;
    }

    /// <summary>Options of the page cache opened on first data access (RAM budget, backend); set them before that.</summary>
    public FileHandleOptions? HandleOptions { get; set; }

    /// <summary>The page cache of this array in its connection, opened on first use (ZB-13).</summary>
    public FileHandle FileHandle
    {
        get
        {
            ReadAccess();
            FileHandle? h = _handle;
            if (h is not null && !h.IsDisposedInternal)
            {
                return h;
            }
            Connection conn = PersistentConnection
                ?? throw new InvalidOperationException("the ZBigArray is not attached to a connection: add it (Connection.Add) or commit it before accessing its data");
            ZBigFile file = File;
            if (file.PersistentConnection is null)
            {
                conn.Add(file);
            }
            _handle = h = file.Open(HandleOptions);
            return h;
        }
    }

    /// <summary>Closes the page cache (uncommitted changes are lost); the next access opens a new one.</summary>
    public void ReleaseFileHandle()
    {
        _array.ReleaseItemCache();
        _handle?.Dispose();
        _handle = null;
    }

    /// <summary>The array itself, for APIs that take a <see cref="BigArray"/> (its state is loaded first).</summary>
    public BigArray AsBigArray()
    {
        ReadAccess();
        return _array;
    }

    private void LayoutChanged()
    {
        if (PersistentConnection is { IsReadOnly: true } c)
        {
            throw new ReadOnlyException($"the connection is a read-only view of the database at {c.At}");
        }
        MarkChanged();
    }

    private void CheckWritable()
    {
        if (PersistentConnection is { IsReadOnly: true } c)
        {
            throw new ReadOnlyException($"the connection is a read-only view of the database at {c.At}");
        }
    }

    // ---- state (ZB-10, ZB-11) ----

    protected override object? GetState()
    {
        var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["_dtype"] = _dtypePickle ??= NumpyDTypeCodec.ToPickle(_array.DType),
            ["_shape"] = Tuple(_array.Shape),
            ["_order"] = _array.Order == ArrayOrder.F ? "F" : "C",
            ["_stridev"] = Tuple(_array.Strides),
        };
        if (_extra is not null)
        {
            foreach (KeyValuePair<string, object?> kv in _extra)
            {
                dict[kv.Key] = kv.Value;
            }
        }
        var slots = new OrderedDictionary<string, object?>(StringComparer.Ordinal) { ["zfile"] = _zfile };
        return new PyTuple(dict, slots);
    }

    private static PyTuple Tuple(ReadOnlySpan<long> values)
    {
        var items = new object?[values.Length];
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = values[i];
        }
        return new PyTuple(items);
    }

    /// <summary>
    /// Reads upstream's state (ZB-11): the 2-tuple (dict, slots), or a plain dict holding <c>zfile</c>; keys may be
    /// Python-2 strings; <c>_order</c> missing means C; shape and strides may hold numpy integer scalars or Python
    /// longs; strides must be the ones the shape, order and item size give.
    /// </summary>
    protected override void SetState(object? state)
    {
        var attrs = new List<KeyValuePair<string, object?>>();
        switch (state)
        {
            case PyTuple { Count: 2 } t:
                AddEntries(t[0], attrs);
                AddEntries(t[1], attrs);
                break;
            case PyTuple:
                throw new FormatException($"a ZBigArray state is (dict, slots), not a tuple of {((PyTuple)state).Count}");
            default:
                AddEntries(state, attrs);
                break;
        }
        PickleValue? dtypePickle = null;
        object? shapeValue = null, strideValue = null, zfile = null;
        string order = "C";
        bool haveShape = false, haveStrides = false;
        var extra = new List<KeyValuePair<string, object?>>();
        foreach ((string key, object? value) in attrs)
        {
            switch (key)
            {
                case "_dtype":
                    dtypePickle = value as PickleValue ?? throw new FormatException($"ZBigArray _dtype is a {PythonValues.TypeName(value)}, not a numpy dtype");
                    break;
                case "_shape":
                    shapeValue = value;
                    haveShape = true;
                    break;
                case "_stridev":
                    strideValue = value;
                    haveStrides = true;
                    break;
                case "_order":
                    order = Text(value, "_order");
                    break;
                case "zfile":
                    zfile = value;
                    break;
                default:
                    if (!key.StartsWith("_v_", StringComparison.Ordinal) && !key.StartsWith("_p_", StringComparison.Ordinal))
                    {
                        extra.Add(new(key, value));
                    }
                    break;
            }
        }
        if (dtypePickle is null || !haveShape)
        {
            throw new FormatException("a ZBigArray state needs _dtype and _shape");
        }
        DType dtype = NumpyDTypeCodec.FromPickle(dtypePickle);
        ArrayOrder o = order switch
        {
            "C" => ArrayOrder.C,
            "F" => ArrayOrder.F,
            _ => throw new FormatException($"ZBigArray _order is '{order}', not 'C' or 'F'"),
        };
        long[] shape = Ints(shapeValue, "_shape");
        long[] strides = haveStrides ? Ints(strideValue, "_stridev") : Layout.Strides(Layout.CheckShape(shape, dtype.ItemSize), dtype.ItemSize, o);
        _array.Load(dtype, o, shape, strides);
        _dtypePickle = dtypePickle;
        _zfile = zfile as ZBigFile ?? throw new FormatException($"ZBigArray zfile is a {PythonValues.TypeName(zfile)}, not a ZBigFile");
        _extra = extra.Count == 0 ? null : extra;
    }

    protected override void ClearState()
    {
        // the page cache and the views stay: an invalidated array reloads only its metadata (ZB-13)
        _zfile = null;
        _extra = null;
    }

    private static void AddEntries(object? dict, List<KeyValuePair<string, object?>> into)
    {
        switch (dict)
        {
            case null:
                return;
            case OrderedDictionary<string, object?> sd:
                into.AddRange(sd);
                return;
            case OrderedDictionary<object, object?> od:
                foreach ((object k, object? v) in od)
                {
                    into.Add(new(Text(k, "an attribute name"), v));
                }
                return;
            default:
                throw new FormatException($"a ZBigArray state part is a {PythonValues.TypeName(dict)}, not a dict");
        }
    }

    private static string Text(object? v, string what) => v switch
    {
        string s => s,
        PickleValue p when p.TryGetString(out string s) => s,
        _ => throw new FormatException($"ZBigArray {what} is a {PythonValues.TypeName(v)}, not a str"),
    };

    private static long[] Ints(object? v, string what)
    {
        IReadOnlyList<object?> items = v switch
        {
            PyTuple t => t,
            List<object?> l => l,
            _ => [v], // upstream before 2.0 kept a bare int as given
        };
        var r = new long[items.Count];
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = Int(items[i], what);
        }
        return r;
    }

    private static long Int(object? v, string what)
    {
        switch (v)
        {
            case long l:
                return l;
            case BigInteger b when b >= long.MinValue && b <= long.MaxValue:
                return (long)b;
            case PickleObject o when o.Construction == PickleConstruction.Reduce && o.Callable is PickleGlobal { Name: "scalar" } g
                && g.Module is "numpy.core.multiarray" or "numpy._core.multiarray"
                && o.Args is PickleTuple { Count: 2 } a:
                // a numpy integer scalar: (dtype, raw bytes in that dtype's order)
                DType dt = NumpyDTypeCodec.FromPickle(a[0]);
                ReadOnlySpan<byte> raw = a[1].AsBytes().Span;
                if (dt.Kind is not (DTypeKind.Int or DTypeKind.UInt) || raw.Length != dt.ItemSize)
                {
                    throw new FormatException($"ZBigArray {what} holds a numpy scalar of dtype {dt.Str}, not an integer");
                }
                bool little = dt.ByteOrder == '<' || (dt.ByteOrder is '|' or '=' && BitConverter.IsLittleEndian);
                var value = new BigInteger(raw, isUnsigned: dt.Kind == DTypeKind.UInt, isBigEndian: !little);
                if (value < 0 || value > long.MaxValue)
                {
                    throw new FormatException($"ZBigArray {what} holds {value}");
                }
                return (long)value;
            default:
                throw new FormatException($"ZBigArray {what} holds a {PythonValues.TypeName(v)}, not an int");
        }
    }

    // ---- the BigArray API (each member loads a ghost first) ----

    public DType DType => AsBigArray().DType;

    public ArrayOrder Order => AsBigArray().Order;

    public ReadOnlySpan<long> Shape => AsBigArray().Shape;

    public ReadOnlySpan<long> Strides => AsBigArray().Strides;

    public int NDim => AsBigArray().NDim;

    public int ItemSize => AsBigArray().ItemSize;

    public long Size => AsBigArray().Size;

    public long NBytes => AsBigArray().NBytes;

    public int MajorAxis => AsBigArray().MajorAxis;

    public long Length => AsBigArray().Length;

    public long DefaultChunkBytes => AsBigArray().DefaultChunkBytes;

    public ArrayView this[params Ix[] index] => AsBigArray().View(index);

    public ArrayView View(params ReadOnlySpan<Ix> index) => AsBigArray().View(index);

    public T GetItem<T>(params ReadOnlySpan<long> index) where T : unmanaged => AsBigArray().GetItem<T>(index);

    public void SetItem<T>(T value, params ReadOnlySpan<long> index) where T : unmanaged => AsBigArray().SetItem(value, index);

    public void ReleaseItemCache() => _array.ReleaseItemCache();

    public void Assign<T>(ReadOnlySpan<Ix> index, T value) where T : unmanaged => AsBigArray().Assign(index, value);

    public void Assign<T>(ReadOnlySpan<Ix> index, ReadOnlySpan<T> values, ReadOnlySpan<long> shape) where T : unmanaged =>
        AsBigArray().Assign(index, values, shape);

    public void Assign(ReadOnlySpan<Ix> index, ArrayView source) => AsBigArray().Assign(index, source);

    public T[] ToArray<T>(ArrayOrder order = ArrayOrder.C) where T : unmanaged => AsBigArray().ToArray<T>(order);

    public void CopyTo<T>(Span<T> destination, ArrayOrder order = ArrayOrder.C) where T : unmanaged => AsBigArray().CopyTo(destination, order);

    public void CopyTo<T>(ReadOnlySpan<Ix> index, Span<T> destination, ArrayOrder order = ArrayOrder.C) where T : unmanaged =>
        AsBigArray().CopyTo(index, destination, order);

    public void CopyFrom<T>(ReadOnlySpan<T> source, ArrayOrder order = ArrayOrder.C) where T : unmanaged => AsBigArray().CopyFrom(source, order);

    /// <summary>Changes the shape in O(1) (AR-15); the record changes, so a concurrent resize elsewhere conflicts.</summary>
    public void Resize(params ReadOnlySpan<long> newShape)
    {
        CheckWritable();
        AsBigArray().Resize(newShape);
    }

    public void Append<T>(ReadOnlySpan<T> values, ReadOnlySpan<long> shape) where T : unmanaged
    {
        CheckWritable();
        AsBigArray().Append(values, shape);
    }

    public void Append<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        CheckWritable();
        AsBigArray().Append(values);
    }

    public void Append(ArrayView values)
    {
        CheckWritable();
        AsBigArray().Append(values);
    }

    public void Append(Array values)
    {
        CheckWritable();
        AsBigArray().Append(values);
    }

    public IEnumerable<ArrayView> Chunks(long maxChunkBytes = 0) => AsBigArray().Chunks(maxChunkBytes);

    public IEnumerable<ArrayView> Rows() => AsBigArray().Rows();

    public double Sum(long chunkBytes = 0) => AsBigArray().Sum(chunkBytes);

    public Int128 SumInteger(long chunkBytes = 0) => AsBigArray().SumInteger(chunkBytes);

    public Complex SumComplex(long chunkBytes = 0) => AsBigArray().SumComplex(chunkBytes);

    public double Mean(long chunkBytes = 0) => AsBigArray().Mean(chunkBytes);

    public T Min<T>(long chunkBytes = 0) where T : unmanaged, INumber<T> => AsBigArray().Min<T>(chunkBytes);

    public T Max<T>(long chunkBytes = 0) where T : unmanaged, INumber<T> => AsBigArray().Max<T>(chunkBytes);

    public override string ToString() =>
        PersistentState == PersistentState.Ghost ? $"<ZBigArray oid {PersistentOid} ghost>" : $"ZBigArray(shape=({Layout.Format(_array.Shape)}), dtype={_array.DType.Str}, order={_array.Order})";

    /// <summary>The BigArray behind a ZBigArray: its pages come from the array's handle; layout changes mark the record changed.</summary>
    private sealed class Face : BigArray
    {
        private readonly ZBigArray _owner;

        public Face(ZBigArray owner)
        {
            _owner = owner;
        }

        public Face(ZBigArray owner, ReadOnlySpan<long> shape, DType dtype, ArrayOrder order)
            : base(shape, dtype, order)
        {
            _owner = owner;
        }

        protected override FileHandle Handle => _owner.FileHandle;

        protected override void OnLayoutChanged() => _owner.LayoutChanged();

        public void Load(DType dtype, ArrayOrder order, long[] shape, long[] strides)
        {
            try
            {
                LoadState(dtype, order, shape, strides);
            }
            catch (ArgumentException ex)
            {
                throw new FormatException(ex.Message, ex);
            }
        }
    }
}
