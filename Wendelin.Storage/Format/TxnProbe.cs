using System.Buffers;
using System.Buffers.Binary;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Format;

/// <summary>
/// The search for a valid finished transaction after damaged bytes (spec/filestorage.md FS-R2): the open decides
/// with it between a torn tail and damage in the middle; verify resumes its scan where it finds one.
/// </summary>
internal static class TxnProbe
{
    /// <summary>
    /// FS-R2's probe: the first position ≥ <paramref name="from"/> where a complete, valid, finished transaction with
    /// a tid greater than <paramref name="last"/> starts — possibly moved from where it was written (bytes inserted
    /// or deleted before it), with the shift — or null. Candidates are filtered on the header bytes in memory (tid,
    /// status, lengths) before the full check.
    /// </summary>
    public static (long Position, Tid Tid, long Shift)? FindCommittedTransaction(IStorageFile file, long from, Tid last, long length)
    {
        const int Chunk = 1 << 20;
        const int Overlap = TxnHeader.Size;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Chunk + Overlap);
        using var probe = new FileWindow(file, length, 256 << 10);
        try
        {
            for (long basePos = from; basePos + TxnHeader.Size + TxnHeader.TrailerSize <= length; basePos += Chunk)
            {
                int got = file.ReadAt(basePos, buffer.AsSpan(0, (int)Math.Min(Chunk + Overlap, length - basePos)));
                ReadOnlySpan<byte> b = buffer.AsSpan(0, got);
                int limit = Math.Min(Chunk, got - TxnHeader.Size + 1);
                for (int i = 0; i < limit; i++)
                {
                    byte status = b[i + TxnHeader.StatusOffset];
                    if (status != (byte)TransactionStatus.Committed && status != (byte)TransactionStatus.Packed
                        && status != (byte)TransactionStatus.Undone)
                    {
                        continue;
                    }
                    ulong tid = BinaryPrimitives.ReadUInt64BigEndian(b[i..]);
                    if (tid <= last.Value)
                    {
                        continue;
                    }
                    long q = basePos + i;
                    ulong tlen = BinaryPrimitives.ReadUInt64BigEndian(b[(i + 8)..]);
                    if (tlen < TxnHeader.Size || tlen > (ulong)(length - q - TxnHeader.TrailerSize))
                    {
                        continue;
                    }
                    if (TxnScanner.Validate(probe, q, out TxnHeader h, null, relocatable: true, out long shift) is null && h.IsFinished)
                    {
                        return (q, h.Tid, shift);
                    }
                }
            }
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
