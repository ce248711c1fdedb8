using System.Buffers;
using System.Security.Cryptography;

namespace Wendelin.Arrays;

/// <summary>
/// The bytes of a whole array in C or F logical order, streamed in pieces of bounded size (for hashes, exports
/// and imports): each piece is a run of whole slices along the slowest axis of the requested order, gathered from
/// (or scattered to) the array's pages, so any array size costs a bounded buffer plus the paging budget.
/// </summary>
public static class ArrayBytes
{
    /// <summary>Bytes per piece handed to the callback (at least one slice).</summary>
    public const int PieceBytes = 8 << 20;

    /// <summary>Calls <paramref name="sink"/> with consecutive pieces of the array's bytes in <paramref name="order"/>.</summary>
    public static void Read(BigArray array, ArrayOrder order, Action<ReadOnlySpan<byte>> sink, int pieceBytes = PieceBytes)
    {
        ArgumentNullException.ThrowIfNull(array);
        ArgumentNullException.ThrowIfNull(sink);
        Walk(array, order, (view, buffer, strides) =>
        {
            view.Gather(ref buffer[0], strides);
            sink(buffer);
        }, 0, 0, pieceBytes);
    }

    /// <summary>
    /// Fills the array — or, with <paramref name="fromIndex"/>, only the items at index ≥ fromIndex along
    /// <paramref name="axis"/> (the tail an append added) — from consecutive pieces of bytes in
    /// <paramref name="order"/> that <paramref name="source"/> provides.
    /// </summary>
    public static void Write(BigArray array, ArrayOrder order, Action<Span<byte>> source, int axis = 0, long fromIndex = 0, int pieceBytes = PieceBytes)
    {
        ArgumentNullException.ThrowIfNull(array);
        ArgumentNullException.ThrowIfNull(source);
        Walk(array, order, (view, buffer, strides) =>
        {
            source(buffer);
            view.Scatter(ref buffer[0], strides);
        }, axis, fromIndex, pieceBytes);
    }

    /// <summary>SHA-256 of the array's bytes in <paramref name="order"/>, as lowercase hex.</summary>
    public static string Sha256(BigArray array, ArrayOrder order = ArrayOrder.C)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Read(array, order, piece => sha.AppendData(piece));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private delegate void PieceAction(ArrayView view, Span<byte> buffer, long[] denseStrides);

    private static void Walk(BigArray array, ArrayOrder order, PieceAction action, int restrictAxis, long restrictFrom, int pieceBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pieceBytes, 1);
        long[] shape = array.Shape.ToArray();
        if ((uint)restrictAxis >= (uint)shape.Length || restrictFrom < 0 || restrictFrom > shape[restrictAxis])
        {
            throw new ArgumentOutOfRangeException(nameof(restrictFrom));
        }
        shape[restrictAxis] -= restrictFrom;
        if (Layout.Size(shape) == 0)
        {
            return;
        }
        int axis = order == ArrayOrder.C ? 0 : shape.Length - 1;
        long slice = Layout.Size(shape) * array.ItemSize / shape[axis];
        long perPiece = Math.Max(1, pieceBytes / Math.Max(1, slice));
        if (slice * perPiece > Array.MaxLength)
        {
            throw new InvalidOperationException($"one slice of the array along axis {axis} is {slice} bytes, too large to stream through a buffer");
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(slice * perPiece, Layout.Size(shape) * array.ItemSize));
        try
        {
            var index = new Ix[shape.Length];
            for (long start = 0; start < shape[axis]; start += perPiece)
            {
                long stop = Math.Min(shape[axis], start + perPiece);
                for (int k = 0; k < index.Length; k++)
                {
                    long off = k == restrictAxis ? restrictFrom : 0;
                    index[k] = k == axis ? Ix.Slice(off + start, off + stop) : off > 0 ? Ix.Slice(off) : Ix.All;
                }
                using ArrayView view = array.View(index);
                long[] strides = Layout.Strides(view.Shape, array.ItemSize, order);
                action(view, buffer.AsSpan(0, (int)view.NBytes), strides);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
