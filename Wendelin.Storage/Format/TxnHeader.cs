using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Wendelin.Storage.Format;

/// <summary>
/// A transaction header (spec/filestorage.md §2, FS-2, FS-3): 23 bytes, then user, description and extension, then the
/// data records, then an 8-byte copy of the length (the trailer, FS-3).
/// <code>
///  0  8  tid
///  8  8  tlen   u64: length of the transaction excluding the 8-byte trailer
/// 16  1  status ' ' 'p' 'c' 'u'
/// 17  2  ulen   u16
/// 19  2  dlen   u16
/// 21  2  elen   u16
/// 23  .  user, description, extension (ulen + dlen + elen bytes)
/// </code>
/// </summary>
internal readonly struct TxnHeader
{
    /// <summary>Size of the fixed header.</summary>
    public const int Size = 23;

    /// <summary>Size of the redundant length after the data records.</summary>
    public const int TrailerSize = 8;

    /// <summary>Offset of the status byte, the one byte finish rewrites (FS-D3).</summary>
    public const int StatusOffset = 16;

    /// <summary>Maximum length of user, description and extension (u16 fields).</summary>
    public const int MaxMetadataLength = ushort.MaxValue;

    public TxnHeader(Tid tid, ulong length, TransactionStatus status, ushort userLength, ushort descriptionLength, ushort extensionLength)
    {
        Tid = tid;
        Length = length;
        Status = status;
        UserLength = userLength;
        DescriptionLength = descriptionLength;
        ExtensionLength = extensionLength;
    }

    public Tid Tid { get; }

    /// <summary>tlen: the transaction's length without the trailer.</summary>
    public ulong Length { get; }

    /// <summary>The status byte (any value: <see cref="IsKnownStatus"/> tells whether it is one of the four).</summary>
    public TransactionStatus Status { get; }

    public ushort UserLength { get; }

    public ushort DescriptionLength { get; }

    public ushort ExtensionLength { get; }

    /// <summary>hlen: the fixed header plus the three metadata strings; the first data record starts here.</summary>
    public int HeaderLength => Size + UserLength + DescriptionLength + ExtensionLength;

    public bool IsKnownStatus => Status is TransactionStatus.Committed or TransactionStatus.Packed
        or TransactionStatus.Checkpoint or TransactionStatus.Undone;

    /// <summary>True for the statuses of a finished transaction: ' ', 'p' and 'u'.</summary>
    public bool IsFinished => Status is TransactionStatus.Committed or TransactionStatus.Packed or TransactionStatus.Undone;

    /// <summary>Decodes the 23 fixed bytes (no checks: see <see cref="CheckBounds"/>).</summary>
    public static TxnHeader Parse(ReadOnlySpan<byte> b)
    {
        if (b.Length < Size)
        {
            throw new ArgumentException($"a transaction header is {Size} bytes, got {b.Length}", nameof(b));
        }
        return new TxnHeader(
            new Tid(BinaryPrimitives.ReadUInt64BigEndian(b)),
            BinaryPrimitives.ReadUInt64BigEndian(b[8..]),
            (TransactionStatus)b[StatusOffset],
            BinaryPrimitives.ReadUInt16BigEndian(b[17..]),
            BinaryPrimitives.ReadUInt16BigEndian(b[19..]),
            BinaryPrimitives.ReadUInt16BigEndian(b[21..]));
    }

    /// <summary>Encodes the 23 fixed bytes.</summary>
    public void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt64BigEndian(b, Tid.Value);
        BinaryPrimitives.WriteUInt64BigEndian(b[8..], Length);
        b[StatusOffset] = (byte)Status;
        BinaryPrimitives.WriteUInt16BigEndian(b[17..], UserLength);
        BinaryPrimitives.WriteUInt16BigEndian(b[19..], DescriptionLength);
        BinaryPrimitives.WriteUInt16BigEndian(b[21..], ExtensionLength);
    }

    public static ulong ReadTrailer(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadUInt64BigEndian(b);

    public static void WriteTrailer(Span<byte> b, ulong length) => BinaryPrimitives.WriteUInt64BigEndian(b, length);

    /// <summary>
    /// FS-2.1/FS-2.2: <c>tlen ≥ hlen</c> and the transaction with its trailer fits in <c>[pos, end)</c>. On success
    /// the positions derived from tlen cannot overflow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FormatError? CheckBounds(long pos, long end)
    {
        long room = end - pos - TrailerSize;
        return Length >= (ulong)HeaderLength && room >= 0 && Length <= (ulong)room ? null : DiagnoseBounds(pos, end);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private FormatError? DiagnoseBounds(long pos, long end)
    {
        if (Length < (ulong)HeaderLength)
        {
            return new FormatError(RecordKind.TransactionHeader, pos, "length covers the header",
                Inv($"tlen {Length} < header length {HeaderLength}"));
        }
        long room = end - pos - TrailerSize;
        if (room < 0 || Length > (ulong)room)
        {
            return new FormatError(RecordKind.TransactionHeader, pos, "transaction fits in the file",
                Inv($"tlen {Length} + {TrailerSize} runs past the end of the data at {end}"));
        }
        return null;
    }

    /// <summary>Position just after the trailer (call after <see cref="CheckBounds"/>).</summary>
    public long NextPosition(long pos) => pos + (long)Length + TrailerSize;

    /// <summary>Position of the trailer (call after <see cref="CheckBounds"/>).</summary>
    public long TrailerPosition(long pos) => pos + (long)Length;

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
