using System.Globalization;
using System.Runtime.CompilerServices;

namespace Wendelin.Storage.Format;

/// <summary>One data record found by <see cref="TxnScanner.Validate"/>: its oid and position.</summary>
internal readonly record struct RecordLocation(Oid Oid, long Position);

/// <summary>
/// Receives the data records of a transaction validated in memory (<see cref="TxnScanner.Validate{TVisitor}"/>), each
/// once its own checks passed: the header, its position and the record's bytes (header, then payload or backpointer).
/// A struct, so the walk calls it without a virtual call.
/// </summary>
internal interface IRecordVisitor
{
    void Record(in DataHeader header, long position, ReadOnlySpan<byte> record);
}

/// <summary>
/// Validates one whole transaction (spec/filestorage.md FS-2..FS-5): the header, its bounds, the data records
/// tiling the data area exactly, each record's own checks, and the redundant trailer. Open, recovery's resync
/// probe, the <c>.index</c> sanity check and verification all call this one walk.
/// </summary>
internal static class TxnScanner
{
    /// <summary>
    /// Checks the transaction at <paramref name="pos"/> against the window's end. On success returns null, sets
    /// <paramref name="header"/>, and (unless the status is 'u', whose records are skipped as ZODB does) appends
    /// its records to <paramref name="records"/> when given. The status is not judged here beyond being one of
    /// the four known bytes; callers decide what 'c' means where they found it.
    /// </summary>
    public static FormatError? Validate(FileWindow window, long pos, out TxnHeader header, List<RecordLocation>? records) =>
        Validate(window, pos, out header, records, relocatable: false, out _);

    /// <summary>
    /// <see cref="Validate(FileWindow, long, out TxnHeader, List{RecordLocation}?)"/>; when
    /// <paramref name="relocatable"/>, the transaction may sit <paramref name="shift"/> bytes away from where it was
    /// written (bytes inserted or deleted before it): its records' tloc must then all name the same original
    /// position, and prev and backpointers are checked against the original positions (recovery's probe, FS-R2).
    /// </summary>
    public static FormatError? Validate(FileWindow window, long pos, out TxnHeader header, List<RecordLocation>? records,
        bool relocatable, out long shift)
    {
        header = default;
        shift = 0;
        ReadOnlySpan<byte> hb = window.Read(pos, TxnHeader.Size);
        if (hb.Length < TxnHeader.Size)
        {
            return new FormatError(RecordKind.TransactionHeader, pos, "header fits in the file",
                Inv($"only {hb.Length} of {TxnHeader.Size} header bytes before the end at {window.End}"));
        }
        header = TxnHeader.Parse(hb);
        if (!header.IsKnownStatus)
        {
            return new FormatError(RecordKind.TransactionHeader, pos, "status byte",
                Inv($"0x{(byte)header.Status:x2} is none of ' ', 'p', 'c', 'u'"));
        }
        if (header.CheckBounds(pos, window.End) is FormatError bounds)
        {
            return bounds;
        }
        long dataEnd = header.TrailerPosition(pos);
        bool whole = window.KeepsBytes; // read the header area and each record in one piece (FileWindow.TryGetMemory)
        if (whole)
        {
            window.Read(pos, header.HeaderLength);
        }
        int start = records?.Count ?? 0;
        if (header.Status != TransactionStatus.Undone)
        {
            long rp = pos + header.HeaderLength;
            while (rp < dataEnd)
            {
                ReadOnlySpan<byte> db = window.Read(rp, DataHeader.Size);
                if (dataEnd - rp < DataHeader.Size || db.Length < DataHeader.Size)
                {
                    records?.RemoveRange(start, records.Count - start);
                    return new FormatError(RecordKind.DataHeader, rp, "record fits",
                        Inv($"{dataEnd - rp} bytes left in the transaction, a data header is {DataHeader.Size}"));
                }
                DataHeader dh = DataHeader.Parse(db);
                if (relocatable && rp == pos + header.HeaderLength)
                {
                    shift = pos - dh.Tloc;
                }
                if (dh.Check(rp, dataEnd, pos, header.Tid, shift) is FormatError e)
                {
                    records?.RemoveRange(start, records.Count - start);
                    return e;
                }
                if (dh.IsBackPointer)
                {
                    ReadOnlySpan<byte> bp = window.Read(rp + DataHeader.Size, DataHeader.BackPointerSize);
                    long back = DataHeader.ReadBackPointer(bp);
                    if (back != 0 && DataHeader.CheckBackPointer(rp - shift, back) is FormatError be)
                    {
                        records?.RemoveRange(start, records.Count - start);
                        return be;
                    }
                }
                if (whole && dh.RecordLength <= FileWindow.WholeRecordLimit)
                {
                    window.Read(rp, (int)dh.RecordLength);
                }
                records?.Add(new RecordLocation(dh.Oid, rp));
                rp += dh.RecordLength;
            }
            // rp == dataEnd: each record was checked to end at or before dataEnd, so the loop ends exactly there.
        }
        ReadOnlySpan<byte> tb = window.Read(dataEnd, TxnHeader.TrailerSize);
        ulong trailer = TxnHeader.ReadTrailer(tb);
        if (trailer != header.Length)
        {
            records?.RemoveRange(start, records.Count - start);
            return new FormatError(RecordKind.Transaction, pos, "redundant length",
                Inv($"trailer at {dataEnd} says {trailer}, header says {header.Length}"));
        }
        return null;
    }

    /// <summary>
    /// The same checks as <see cref="Validate(FileWindow, long, out TxnHeader, List{RecordLocation}?)"/>, over bytes
    /// already in memory: <paramref name="bytes"/> starts at <paramref name="pos"/> and holds the committed data up to
    /// <c>pos + bytes.Length</c> (at most <paramref name="end"/>). <paramref name="size"/> is set to the transaction's
    /// length with its trailer as soon as the header is read (the header's size before); when
    /// <paramref name="bytes"/> holds less than that, the result is null and nothing is visited: the caller reads more
    /// and calls again. Otherwise the records (unless the status is 'u') are handed to <paramref name="visitor"/> as
    /// they pass their checks, so a failure after some were visited leaves the caller to drop what it was given (a
    /// scan that stops at the first error).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static FormatError? Validate<TVisitor>(ReadOnlySpan<byte> bytes, long pos, long end, out TxnHeader header, out long size,
        ref TVisitor visitor)
        where TVisitor : struct, IRecordVisitor
    {
        header = default;
        size = TxnHeader.Size;
        if (bytes.Length < TxnHeader.Size)
        {
            return end - pos < TxnHeader.Size
                ? new FormatError(RecordKind.TransactionHeader, pos, "header fits in the file",
                    Inv($"only {end - pos} of {TxnHeader.Size} header bytes before the end at {end}"))
                : null;
        }
        header = TxnHeader.Parse(bytes);
        if (!header.IsKnownStatus)
        {
            return new FormatError(RecordKind.TransactionHeader, pos, "status byte",
                Inv($"0x{(byte)header.Status:x2} is none of ' ', 'p', 'c', 'u'"));
        }
        if (header.CheckBounds(pos, end) is FormatError bounds)
        {
            return bounds;
        }
        size = (long)header.Length + TxnHeader.TrailerSize;
        if (bytes.Length < size)
        {
            return null;
        }
        int dataEnd = (int)header.Length;
        if (header.Status != TransactionStatus.Undone)
        {
            Tid tid = header.Tid;
            int at = header.HeaderLength;
            while (at < dataEnd)
            {
                long rp = pos + at;
                if (dataEnd - at < DataHeader.Size)
                {
                    return new FormatError(RecordKind.DataHeader, rp, "record fits",
                        Inv($"{dataEnd - at} bytes left in the transaction, a data header is {DataHeader.Size}"));
                }
                DataHeader dh = DataHeader.Parse(bytes[at..]);
                if (dh.Check(rp, pos + dataEnd, pos, tid) is FormatError e)
                {
                    return e;
                }
                int length = (int)dh.RecordLength; // Check bounded it by the transaction
                if (dh.IsBackPointer)
                {
                    long back = DataHeader.ReadBackPointer(bytes[(at + DataHeader.Size)..]);
                    if (back != 0 && DataHeader.CheckBackPointer(rp, back) is FormatError be)
                    {
                        return be;
                    }
                }
                visitor.Record(dh, rp, bytes.Slice(at, length));
                at += length;
            }
        }
        ulong trailer = TxnHeader.ReadTrailer(bytes[dataEnd..]);
        if (trailer != header.Length)
        {
            return new FormatError(RecordKind.Transaction, pos, "redundant length",
                Inv($"trailer at {pos + dataEnd} says {trailer}, header says {header.Length}"));
        }
        return null;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
