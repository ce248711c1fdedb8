using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Wendelin.Arrays;

/// <summary>
/// A reduction fed with runs of whole items (native byte order) (AR-22). Implementations are structs so the
/// generic drivers are specialised per kernel: one call per run, never per item.
/// </summary>
internal interface IReducer
{
    void Add(ReadOnlySpan<byte> items);

    /// <summary>Adds <paramref name="items"/> items whose bytes are all zero (a hole or a stripped block tail: they count, e.g. for Min/Max).</summary>
    void AddZeros(long items);
}

/// <summary>Receives a byte range piece by piece (streaming reads, AR-22): bytes, or a run known to be zeros.</summary>
internal interface IByteSink
{
    void Add(ReadOnlySpan<byte> bytes);

    void AddZeros(long count);
}

/// <summary>
/// Cuts a stream of byte pieces into whole items for a reducer: an item split across pieces (a block edge, or
/// the end of a block's stored bytes) is assembled in a small carry buffer; whole runs of zero items go to
/// <see cref="IReducer.AddZeros"/> without being read.
/// </summary>
internal struct ItemSink<TReducer>(TReducer reducer, int itemSize) : IByteSink where TReducer : struct, IReducer
{
    public TReducer Reducer = reducer;
    private readonly byte[] _carry = new byte[itemSize];
    private int _carried;

    public void Add(ReadOnlySpan<byte> bytes)
    {
        if (_carried > 0)
        {
            int take = Math.Min(itemSize - _carried, bytes.Length);
            bytes[..take].CopyTo(_carry.AsSpan(_carried));
            _carried += take;
            bytes = bytes[take..];
            if (_carried < itemSize)
            {
                return;
            }
            Reducer.Add(_carry);
            _carried = 0;
        }
        int whole = bytes.Length / itemSize * itemSize;
        if (whole > 0)
        {
            Reducer.Add(bytes[..whole]);
        }
        bytes[whole..].CopyTo(_carry);
        _carried = bytes.Length - whole;
    }

    public void AddZeros(long count)
    {
        if (_carried > 0)
        {
            int take = (int)Math.Min(itemSize - _carried, count);
            _carry.AsSpan(_carried, take).Clear();
            _carried += take;
            count -= take;
            if (_carried < itemSize)
            {
                return;
            }
            Reducer.Add(_carry);
            _carried = 0;
        }
        long items = count / itemSize;
        if (items > 0)
        {
            Reducer.AddZeros(items);
        }
        _carried = (int)(count - items * itemSize);
        _carry.AsSpan(0, _carried).Clear();
    }
}

/// <summary>Drivers that feed a reducer from a whole array (streaming, in chunks) or from a view (its runs).</summary>
internal static class Reduction
{
    /// <summary>Items per piece for kernels that convert or widen through a stack buffer.</summary>
    private const int Piece = 4096;

    /// <summary>
    /// Streams the array's bytes [0, NBytes) through <paramref name="reducer"/> with the store's read-only scan
    /// (AR-22: over a file handle, <c>FileHandle.Scan</c>, no views; else chunks of whole items of at most
    /// <paramref name="chunkBytes"/> with <paramref name="lookaheadBytes"/> prefetched). The array is contiguous,
    /// so reductions that ignore order need no strides.
    /// </summary>
    public static void Stream<TReducer>(ArrayStore store, long nbytes, int itemSize, long chunkBytes, long lookaheadBytes, ref TReducer reducer)
        where TReducer : struct, IReducer
    {
        var sink = new ItemSink<TReducer>(reducer, itemSize);
        store.Scan(0, nbytes, itemSize, chunkBytes, lookaheadBytes, ref sink);
        reducer = sink.Reducer;
    }

    /// <summary>Feeds the items of <paramref name="view"/> (any strides, resident or windowed) through <paramref name="reducer"/> in runs.</summary>
    public static void Over<TReducer>(ArrayView view, ref TReducer reducer) where TReducer : struct, IReducer
    {
        view.CheckAlive();
        if (view.Size == 0)
        {
            return;
        }
        foreach (Box box in view.WindowBoxes())
        {
            Region sub = Boxes.Apply(view.Region, box);
            using ArrayWindow w = view.AcquireItems(sub.Lo, sub.Hi - sub.Lo);
            Runs(ref w.Start, sub.Shift(-w.Offset), ref reducer);
        }
    }

    /// <summary>
    /// Feeds the items of region <paramref name="r"/> (offsets from <paramref name="start"/>). Order does not
    /// matter to a reduction, so axes are reordered by |stride| and merged where contiguous; long contiguous runs
    /// go to the reducer directly, short or strided ones are gathered into a pooled buffer and fed in batches.
    /// </summary>
    private static void Runs<TReducer>(ref byte start, Region r, ref TReducer reducer) where TReducer : struct, IReducer
    {
        int size = r.ItemSize;
        if (r.IsCContiguous || r.IsFContiguous)
        {
            long lo = r.Lo, total = r.Hi - r.Lo;
            long max = (long)(int.MaxValue / size) * size;
            for (long done = 0; done < total; done += max)
            {
                int len = (int)Math.Min(max, total - done);
                reducer.Add(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AddByteOffset(ref start, (nint)(lo + done)), len));
            }
            return;
        }
        // axes longer than 1, largest |stride| first; a negative stride walks the same items from the other end
        long offset = r.Offset;
        var axes = new List<(long N, long Stride)>();
        for (int k = 0; k < r.NDim; k++)
        {
            if (r.Shape[k] > 1)
            {
                long st = r.Strides[k];
                if (st < 0)
                {
                    offset += (r.Shape[k] - 1) * st;
                    st = -st;
                }
                axes.Add((r.Shape[k], st));
            }
        }
        axes.Sort((a, b) => b.Stride.CompareTo(a.Stride));
        for (int k = axes.Count - 1; k > 0; k--)
        {
            if (axes[k - 1].Stride == axes[k].Stride * axes[k].N)
            {
                axes[k - 1] = (axes[k - 1].N * axes[k].N, axes[k].Stride);
                axes.RemoveAt(k);
            }
        }
        int nd = axes.Count;
        long inner = axes[nd - 1].N, innerStride = axes[nd - 1].Stride;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Piece * size);
        int filled = 0; // items in the buffer
        try
        {
            var idx = new long[nd - 1];
            long off = offset;
            while (true)
            {
                if (innerStride == size && inner >= Piece)
                {
                    for (long i = 0; i < inner; i += int.MaxValue / size)
                    {
                        int count = (int)Math.Min(int.MaxValue / size, inner - i);
                        reducer.Add(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AddByteOffset(ref start, (nint)(off + i * size)), count * size));
                    }
                }
                else
                {
                    for (long i = 0; i < inner;)
                    {
                        int count = (int)Math.Min(Piece - filled, inner - i);
                        Strided.GatherRun(ref buffer[filled * size], ref Unsafe.AddByteOffset(ref start, (nint)(off + i * innerStride)), innerStride, count, size);
                        filled += count;
                        i += count;
                        if (filled == Piece)
                        {
                            reducer.Add(buffer.AsSpan(0, filled * size));
                            filled = 0;
                        }
                    }
                }
                int k = nd - 2;
                for (; k >= 0; k--)
                {
                    idx[k]++;
                    off += axes[k].Stride;
                    if (idx[k] < axes[k].N)
                    {
                        break;
                    }
                    off -= axes[k].Stride * axes[k].N;
                    idx[k] = 0;
                }
                if (k < 0)
                {
                    break;
                }
            }
            if (filled > 0)
            {
                reducer.Add(buffer.AsSpan(0, filled * size));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // ---- kernels ----

    /// <summary>Sum of float64 items, vectorised by TensorPrimitives per run.</summary>
    internal struct SumFloat64 : IReducer
    {
        public double Total;

        public void Add(ReadOnlySpan<byte> items) => Total += TensorPrimitives.Sum(MemoryMarshal.Cast<byte, double>(items));

        public readonly void AddZeros(long items)
        {
        }
    }

    /// <summary>Sum of float32 items: pieces summed in float by TensorPrimitives, pieces accumulated in double.</summary>
    internal struct SumFloat32 : IReducer
    {
        public double Total;

        public void Add(ReadOnlySpan<byte> items)
        {
            ReadOnlySpan<float> v = MemoryMarshal.Cast<byte, float>(items);
            for (int i = 0; i < v.Length; i += Piece)
            {
                Total += TensorPrimitives.Sum(v.Slice(i, Math.Min(Piece, v.Length - i)));
            }
        }

        public readonly void AddZeros(long items)
        {
        }
    }

    /// <summary>Sum of float16 items: converted to float32 per piece, summed, accumulated in double.</summary>
    internal struct SumFloat16 : IReducer
    {
        public double Total;

        public void Add(ReadOnlySpan<byte> items)
        {
            ReadOnlySpan<Half> v = MemoryMarshal.Cast<byte, Half>(items);
            Span<float> f = stackalloc float[Piece];
            for (int i = 0; i < v.Length; i += Piece)
            {
                int n = Math.Min(Piece, v.Length - i);
                TensorPrimitives.ConvertToSingle(v.Slice(i, n), f[..n]);
                Total += TensorPrimitives.Sum<float>(f[..n]);
            }
        }

        public readonly void AddZeros(long items)
        {
        }
    }

    /// <summary>Exact sum of 8/16/32-bit integers: widened to 64 bits per piece, summed, accumulated in Int128.</summary>
    internal struct SumSmallInt<T> : IReducer where T : unmanaged, IBinaryInteger<T>
    {
        public Int128 Total;

        public void Add(ReadOnlySpan<byte> items)
        {
            ReadOnlySpan<T> v = MemoryMarshal.Cast<byte, T>(items);
            Span<long> wide = stackalloc long[Piece];
            for (int i = 0; i < v.Length; i += Piece)
            {
                int n = Math.Min(Piece, v.Length - i);
                TensorPrimitives.ConvertTruncating<T, long>(v.Slice(i, n), wide[..n]);
                Total += TensorPrimitives.Sum<long>(wide[..n]);
            }
        }

        public readonly void AddZeros(long items)
        {
        }
    }

    /// <summary>Exact sum of int64: high and low 32-bit halves summed separately (no overflow), combined in Int128.</summary>
    internal struct SumInt64 : IReducer
    {
        public Int128 Total;

        public void Add(ReadOnlySpan<byte> items)
        {
            ReadOnlySpan<long> v = MemoryMarshal.Cast<byte, long>(items);
            Span<long> part = stackalloc long[Piece];
            for (int i = 0; i < v.Length; i += Piece)
            {
                int n = Math.Min(Piece, v.Length - i);
                ReadOnlySpan<long> s = v.Slice(i, n);
                TensorPrimitives.ShiftRightArithmetic(s, 32, part[..n]);
                Int128 hi = TensorPrimitives.Sum<long>(part[..n]);
                TensorPrimitives.BitwiseAnd(s, 0xFFFF_FFFFL, part[..n]);
                Int128 lo = TensorPrimitives.Sum<long>(part[..n]);
                Total += (hi << 32) + lo;
            }
        }

        public readonly void AddZeros(long items)
        {
        }
    }

    /// <summary>Exact sum of uint64, like <see cref="SumInt64"/> with logical shifts.</summary>
    internal struct SumUInt64 : IReducer
    {
        public Int128 Total;

        public void Add(ReadOnlySpan<byte> items)
        {
            ReadOnlySpan<ulong> v = MemoryMarshal.Cast<byte, ulong>(items);
            Span<ulong> part = stackalloc ulong[Piece];
            for (int i = 0; i < v.Length; i += Piece)
            {
                int n = Math.Min(Piece, v.Length - i);
                ReadOnlySpan<ulong> s = v.Slice(i, n);
                TensorPrimitives.ShiftRightLogical(s, 32, part[..n]);
                Int128 hi = TensorPrimitives.Sum<ulong>(part[..n]);
                TensorPrimitives.BitwiseAnd(s, 0xFFFF_FFFFUL, part[..n]);
                Int128 lo = TensorPrimitives.Sum<ulong>(part[..n]);
                Total += (hi << 32) + lo;
            }
        }

        public readonly void AddZeros(long items)
        {
        }
    }

    /// <summary>Number of true (non-zero) bools.</summary>
    internal struct CountTrue : IReducer
    {
        public Int128 Total;

        public void Add(ReadOnlySpan<byte> items) => Total += items.Length - items.Count((byte)0);

        public readonly void AddZeros(long items)
        {
        }
    }

    /// <summary>Sum of complex64 items (float pairs), accumulated in double.</summary>
    internal struct SumComplex64 : IReducer
    {
        public double Re;
        public double Im;

        public void Add(ReadOnlySpan<byte> items)
        {
            ReadOnlySpan<float> v = MemoryMarshal.Cast<byte, float>(items);
            for (int i = 0; i + 1 < v.Length; i += 2)
            {
                Re += v[i];
                Im += v[i + 1];
            }
        }

        public readonly void AddZeros(long items)
        {
        }
    }

    /// <summary>Sum of complex128 items (double pairs).</summary>
    internal struct SumComplex128 : IReducer
    {
        public double Re;
        public double Im;

        public void Add(ReadOnlySpan<byte> items)
        {
            ReadOnlySpan<double> v = MemoryMarshal.Cast<byte, double>(items);
            for (int i = 0; i + 1 < v.Length; i += 2)
            {
                Re += v[i];
                Im += v[i + 1];
            }
        }

        public readonly void AddZeros(long items)
        {
        }
    }

    /// <summary>Minimum (NaN-propagating like NumPy) by TensorPrimitives per run.</summary>
    internal struct MinOf<T> : IReducer where T : unmanaged, INumber<T>
    {
        public T Value;
        public bool Any;

        public void Add(ReadOnlySpan<byte> items)
        {
            ReadOnlySpan<T> v = MemoryMarshal.Cast<byte, T>(items);
            if (v.IsEmpty)
            {
                return;
            }
            T m = TensorPrimitives.Min(v);
            Value = Any ? Lesser(Value, m) : m;
            Any = true;
        }

        public void AddZeros(long items)
        {
            if (items > 0)
            {
                Value = Any ? Lesser(Value, T.Zero) : T.Zero;
                Any = true;
            }
        }

        private static T Lesser(T a, T b) => T.IsNaN(a) || T.IsNaN(b) ? (T.IsNaN(a) ? a : b) : T.Min(a, b);
    }

    /// <summary>Maximum (NaN-propagating like NumPy) by TensorPrimitives per run.</summary>
    internal struct MaxOf<T> : IReducer where T : unmanaged, INumber<T>
    {
        public T Value;
        public bool Any;

        public void Add(ReadOnlySpan<byte> items)
        {
            ReadOnlySpan<T> v = MemoryMarshal.Cast<byte, T>(items);
            if (v.IsEmpty)
            {
                return;
            }
            T m = TensorPrimitives.Max(v);
            Value = Any ? Greater(Value, m) : m;
            Any = true;
        }

        public void AddZeros(long items)
        {
            if (items > 0)
            {
                Value = Any ? Greater(Value, T.Zero) : T.Zero;
                Any = true;
            }
        }

        private static T Greater(T a, T b) => T.IsNaN(a) || T.IsNaN(b) ? (T.IsNaN(a) ? a : b) : T.Max(a, b);
    }
}
