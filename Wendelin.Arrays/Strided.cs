using System.Runtime.CompilerServices;

namespace Wendelin.Arrays;

/// <summary>
/// Item copies between strided layouts (AR-12): gather into and scatter from dense .NET buffers in C or F order,
/// region-to-region copies with broadcasting (stride 0), and fills. Works on raw bytes with the item size, with
/// adjacent axes coalesced and contiguous inner runs copied as one block; no per-item virtual calls.
/// Every offset handed in must address memory the caller owns for the whole layout.
/// </summary>
internal static class Strided
{
    /// <summary>
    /// Copies every item of <paramref name="shape"/> from <paramref name="src"/> + srcOffset (strides
    /// <paramref name="srcStrides"/>) to <paramref name="dst"/> + dstOffset (strides <paramref name="dstStrides"/>).
    /// The two layouts must not overlap unless they are identical.
    /// </summary>
    public static void Copy(ref byte dst, long dstOffset, ReadOnlySpan<long> dstStrides,
        ref byte src, long srcOffset, ReadOnlySpan<long> srcStrides, ReadOnlySpan<long> shape, int itemSize)
    {
        int nd = shape.Length;
        foreach (long n in shape)
        {
            if (n == 0)
            {
                return;
            }
        }
        Span<long> sh = nd <= 16 ? stackalloc long[nd] : new long[nd];
        Span<long> ds = nd <= 16 ? stackalloc long[nd] : new long[nd];
        Span<long> ss = nd <= 16 ? stackalloc long[nd] : new long[nd];
        int m = Coalesce(shape, dstStrides, srcStrides, sh, ds, ss);
        if (m == 0)
        {
            CopyItem(ref Unsafe.AddByteOffset(ref dst, (nint)dstOffset), ref Unsafe.AddByteOffset(ref src, (nint)srcOffset), itemSize);
            return;
        }
        long inner = sh[m - 1], dInner = ds[m - 1], sInner = ss[m - 1];
        Span<long> idx = m <= 16 ? stackalloc long[m] : new long[m];
        idx.Clear();
        long dOff = dstOffset, sOff = srcOffset;
        while (true)
        {
            CopyRun(ref Unsafe.AddByteOffset(ref dst, (nint)dOff), dInner, ref Unsafe.AddByteOffset(ref src, (nint)sOff), sInner, inner, itemSize);
            // odometer over the outer axes
            int k = m - 2;
            for (; k >= 0; k--)
            {
                idx[k]++;
                dOff += ds[k];
                sOff += ss[k];
                if (idx[k] < sh[k])
                {
                    break;
                }
                dOff -= ds[k] * sh[k];
                sOff -= ss[k] * sh[k];
                idx[k] = 0;
            }
            if (k < 0)
            {
                return;
            }
        }
    }

    /// <summary>Dense strides of <paramref name="shape"/> in the given logical order (the layout of a .NET buffer).</summary>
    public static long[] DenseStrides(ReadOnlySpan<long> shape, int itemSize, ArrayOrder order) => Layout.Strides(shape, itemSize, order);

    /// <summary>
    /// Broadcast strides of a source of shape <paramref name="srcShape"/> (strides <paramref name="srcStrides"/>)
    /// against <paramref name="dstShape"/> (NumPy rules, AR-13): axes aligned on the right, length-1 and missing
    /// axes repeat with stride 0; anything else throws <see cref="ArgumentException"/>.
    /// </summary>
    public static long[] BroadcastStrides(ReadOnlySpan<long> srcShape, ReadOnlySpan<long> srcStrides, ReadOnlySpan<long> dstShape)
    {
        var result = new long[dstShape.Length];
        int extra = srcShape.Length - dstShape.Length;
        for (int k = 0; k < extra; k++)
        {
            if (srcShape[k] != 1)
            {
                throw BroadcastError(srcShape, dstShape);
            }
        }
        for (int k = 0; k < dstShape.Length; k++)
        {
            int j = k + extra;
            if (j < 0)
            {
                result[k] = 0;
            }
            else if (srcShape[j] == dstShape[k])
            {
                result[k] = srcStrides[j];
            }
            else if (srcShape[j] == 1)
            {
                result[k] = 0;
            }
            else
            {
                throw BroadcastError(srcShape, dstShape);
            }
        }
        return result;
    }

    private static ArgumentException BroadcastError(ReadOnlySpan<long> src, ReadOnlySpan<long> dst) =>
        new($"could not broadcast input array from shape ({Layout.Format(src)}) into shape ({Layout.Format(dst)})");

    /// <summary>
    /// Drops length-1 axes and merges neighbours that are contiguous in both layouts; returns the number of axes
    /// left (0 means a single item).
    /// </summary>
    private static int Coalesce(ReadOnlySpan<long> shape, ReadOnlySpan<long> d, ReadOnlySpan<long> s, Span<long> sh, Span<long> ds, Span<long> ss)
    {
        int m = 0;
        for (int k = 0; k < shape.Length; k++)
        {
            if (shape[k] == 1)
            {
                continue;
            }
            if (m > 0 && ds[m - 1] == d[k] * shape[k] && ss[m - 1] == s[k] * shape[k])
            {
                sh[m - 1] *= shape[k];
                ds[m - 1] = d[k];
                ss[m - 1] = s[k];
                continue;
            }
            sh[m] = shape[k];
            ds[m] = d[k];
            ss[m] = s[k];
            m++;
        }
        return m;
    }

    /// <summary>Copies <paramref name="n"/> items <paramref name="stride"/> bytes apart into a dense run.</summary>
    public static void GatherRun(ref byte dst, ref byte src, long stride, long n, int itemSize) => CopyRun(ref dst, itemSize, ref src, stride, n, itemSize);

    private static void CopyRun(ref byte dst, long dStride, ref byte src, long sStride, long n, int itemSize)
    {
        if (dStride == itemSize && sStride == itemSize)
        {
            long bytes = n * itemSize;
            while (bytes > 0)
            {
                uint piece = (uint)Math.Min(bytes, 1L << 30);
                Unsafe.CopyBlockUnaligned(ref dst, ref src, piece);
                dst = ref Unsafe.AddByteOffset(ref dst, (nint)piece);
                src = ref Unsafe.AddByteOffset(ref src, (nint)piece);
                bytes -= piece;
            }
            return;
        }
        nint d = (nint)dStride, s = (nint)sStride;
        switch (itemSize)
        {
            case 1:
                for (long i = 0; i < n; i++, dst = ref Unsafe.AddByteOffset(ref dst, d), src = ref Unsafe.AddByteOffset(ref src, s))
                {
                    dst = src;
                }
                break;
            case 2:
                for (long i = 0; i < n; i++, dst = ref Unsafe.AddByteOffset(ref dst, d), src = ref Unsafe.AddByteOffset(ref src, s))
                {
                    Unsafe.WriteUnaligned(ref dst, Unsafe.ReadUnaligned<ushort>(ref src));
                }
                break;
            case 4:
                for (long i = 0; i < n; i++, dst = ref Unsafe.AddByteOffset(ref dst, d), src = ref Unsafe.AddByteOffset(ref src, s))
                {
                    Unsafe.WriteUnaligned(ref dst, Unsafe.ReadUnaligned<uint>(ref src));
                }
                break;
            case 8:
                for (long i = 0; i < n; i++, dst = ref Unsafe.AddByteOffset(ref dst, d), src = ref Unsafe.AddByteOffset(ref src, s))
                {
                    Unsafe.WriteUnaligned(ref dst, Unsafe.ReadUnaligned<ulong>(ref src));
                }
                break;
            default:
                for (long i = 0; i < n; i++, dst = ref Unsafe.AddByteOffset(ref dst, d), src = ref Unsafe.AddByteOffset(ref src, s))
                {
                    Unsafe.CopyBlockUnaligned(ref dst, ref src, (uint)itemSize);
                }
                break;
        }
    }

    private static void CopyItem(ref byte dst, ref byte src, int itemSize) => Unsafe.CopyBlockUnaligned(ref dst, ref src, (uint)itemSize);
}
