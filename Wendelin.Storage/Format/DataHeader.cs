using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Wendelin.Storage.Format;

/// <summary>
/// A data record header (spec/filestorage.md §2, FS-4), followed by the payload, or by an 8-byte backpointer
/// when plen is 0 (FS-5).
/// <code>
///  0  8  oid
///  8  8  tid    the enclosing transaction's tid
/// 16  8  prev   u64 position of the previous revision's record, 0 if none
/// 24  8  tloc   u64 position of the enclosing transaction
/// 32  2  vlen   u16, must be 0 (versions are gone)
/// 34  8  plen   u64 payload length; 0 means a backpointer follows
/// 42  .  payload (plen bytes) or backpointer (8 bytes: u64 position, 0 = no data)
/// </code>
/// </summary>
internal readonly struct DataHeader
{
    /// <summary>Size of the fixed header.</summary>
    public const int Size = 42;

    /// <summary>Size of the backpointer that replaces an empty payload.</summary>
    public const int BackPointerSize = 8;

    public DataHeader(Oid oid, Tid tid, long prev, long tloc, ushort versionLength, ulong dataLength)
    {
        Oid = oid;
        Tid = tid;
        Prev = prev;
        Tloc = tloc;
        VersionLength = versionLength;
        DataLength = dataLength;
    }

    public Oid Oid { get; }

    public Tid Tid { get; }

    /// <summary>prev: position of this object's previous record, 0 if none (raw u64 reinterpreted; see checks).</summary>
    public long Prev { get; }

    /// <summary>tloc: position of the enclosing transaction's header.</summary>
    public long Tloc { get; }

    public ushort VersionLength { get; }

    /// <summary>plen: the payload length; 0 for a backpointer record.</summary>
    public ulong DataLength { get; }

    public bool IsBackPointer => DataLength == 0;

    /// <summary>The whole record's length (call after <see cref="Check"/>, which bounds plen).</summary>
    public long RecordLength => Size + (DataLength == 0 ? BackPointerSize : (long)DataLength);

    public static DataHeader Parse(ReadOnlySpan<byte> b)
    {
        if (b.Length < Size)
        {
            throw new ArgumentException($"a data header is {Size} bytes, got {b.Length}", nameof(b));
        }
        return new DataHeader(
            new Oid(BinaryPrimitives.ReadUInt64BigEndian(b)),
            new Tid(BinaryPrimitives.ReadUInt64BigEndian(b[8..])),
            (long)BinaryPrimitives.ReadUInt64BigEndian(b[16..]),
            (long)BinaryPrimitives.ReadUInt64BigEndian(b[24..]),
            BinaryPrimitives.ReadUInt16BigEndian(b[32..]),
            BinaryPrimitives.ReadUInt64BigEndian(b[34..]));
    }

    public void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt64BigEndian(b, Oid.Value);
        BinaryPrimitives.WriteUInt64BigEndian(b[8..], Tid.Value);
        BinaryPrimitives.WriteUInt64BigEndian(b[16..], (ulong)Prev);
        BinaryPrimitives.WriteUInt64BigEndian(b[24..], (ulong)Tloc);
        BinaryPrimitives.WriteUInt16BigEndian(b[32..], VersionLength);
        BinaryPrimitives.WriteUInt64BigEndian(b[34..], DataLength);
    }

    public static long ReadBackPointer(ReadOnlySpan<byte> b) => (long)BinaryPrimitives.ReadUInt64BigEndian(b);

    public static void WriteBackPointer(Span<byte> b, long back) => BinaryPrimitives.WriteUInt64BigEndian(b, (ulong)back);

    /// <summary>
    /// The record checks (FS-4.1..FS-4.5): vlen is 0; the record lies in <c>[pos, limit)</c> (its transaction's data
    /// area, or the committed file for a record reached by a pointer); <c>prev</c> points before the record; when
    /// the transaction is known, <c>tloc</c> names it and the tid is its tid.
    /// </summary>
    public FormatError? Check(long pos, long limit, long txnPos, Tid? txnTid) => Check(pos, limit, txnPos, txnTid, 0);

    /// <summary>
    /// <see cref="Check(long, long, long, Tid?)"/> for a transaction that may have been moved by
    /// <paramref name="shift"/> bytes (recovery's probe, FS-R2): positions stored in the record (tloc, prev) are
    /// compared with the record's position minus the shift.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FormatError? Check(long pos, long limit, long txnPos, Tid? txnTid, long shift)
    {
        // The checks below, as one test that scans inline; the first failing one is named by Diagnose.
        long room = limit - pos - Size;
        ulong need = DataLength == 0 ? BackPointerSize : DataLength;
        if (VersionLength == 0 && room >= 0 && need <= (ulong)room && Prev >= 0 && Prev < pos - shift
            && (txnPos >= 0 ? Tloc == txnPos - shift : Tloc >= FileHeader.DataStart && Tloc < pos)
            && (txnTid is not Tid t || Tid == t))
        {
            return null;
        }
        return Diagnose(pos, limit, txnPos, txnTid, shift);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private FormatError? Diagnose(long pos, long limit, long txnPos, Tid? txnTid, long shift)
    {
        if (VersionLength != 0)
        {
            return Error(pos, "version length is 0", Inv($"vlen {VersionLength} (versions are not supported)"));
        }
        long room = limit - pos - Size;
        ulong need = DataLength == 0 ? BackPointerSize : DataLength;
        if (room < 0 || need > (ulong)room)
        {
            return Error(pos, "record fits", Inv($"plen {DataLength} runs past {limit}"));
        }
        if (Prev < 0 || Prev >= pos - shift)
        {
            return Error(pos, "prev points back", Inv($"prev {(ulong)Prev} is not before the record"));
        }
        if (txnPos >= 0 && Tloc != txnPos - shift)
        {
            return Error(pos, "tloc names the transaction", Inv($"tloc {(ulong)Tloc} != transaction position {txnPos}"));
        }
        if (txnPos < 0 && (Tloc < FileHeader.DataStart || Tloc >= pos))
        {
            return Error(pos, "tloc names a transaction before the record", Inv($"tloc {(ulong)Tloc}"));
        }
        if (txnTid is Tid t && Tid != t)
        {
            return Error(pos, "tid is the transaction's", Inv($"record tid {Tid} != transaction tid {t}"));
        }
        return null;
    }

    /// <summary>FS-5.1: a non-null backpointer points before its own record.</summary>
    public static FormatError? CheckBackPointer(long recordPos, long back)
    {
        if (back < 0 || back >= recordPos)
        {
            return new FormatError(RecordKind.BackPointer, recordPos, "backpointer points back",
                Inv($"back {(ulong)back} is not before the record"));
        }
        return null;
    }

    private static FormatError Error(long pos, string check, string detail) => new(RecordKind.DataHeader, pos, check, detail);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
