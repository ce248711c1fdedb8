using System.Buffers.Binary;
using System.Text;

namespace Wendelin.Arrays.Zodb;

/// <summary>
/// A shortcut for the two records a block read decodes by the thousand (ZB-7): a <c>ZBlk0</c> or <c>ZData</c>
/// record written by Python 3 ZODB or by us has exactly the form
/// <c>PROTO 3 · GLOBAL 'wendelin.bigfile.file_zodb NAME' · BINPUT · STOP · PROTO 3 · SHORT_BINBYTES|BINBYTES · BINPUT · STOP</c>.
/// When a record has that form byte for byte its payload is sliced out directly; any other form (Python 2
/// strings, other protocols, other memo opcodes) returns false and the caller uses the general pickle reader, which
/// gives the same bytes for these records (tested on every fixture record).
/// </summary>
internal static class ZBlkRecord
{
    private static readonly byte[] ZBlk0Class = ClassPickle("ZBlk0");
    private static readonly byte[] ZDataClass = ClassPickle("ZData");

    private static byte[] ClassPickle(string name) =>
        [0x80, 0x03, (byte)'c', .. Encoding.ASCII.GetBytes("wendelin.bigfile.file_zodb\n" + name + "\n"), (byte)'q', 0x00, (byte)'.'];

    public static bool TryPayload(ReadOnlyMemory<byte> record, string name, out ReadOnlyMemory<byte> payload)
    {
        if (TryPayload(record.Span, name, out int offset, out int length))
        {
            payload = record.Slice(offset, length);
            return true;
        }
        payload = default;
        return false;
    }

    /// <summary>The same on a span: the payload's offset and length in <paramref name="r"/>.</summary>
    public static bool TryPayload(ReadOnlySpan<byte> r, string name, out int offset, out int size) =>
        TryLayout(r, r.Length >= 3 ? r[^3..] : default, r.Length, name, out offset, out size);

    /// <summary>Bytes of a record's start that <see cref="TryLayout"/> needs at most (the class pickle, PROTO and the bytes opcode).</summary>
    public const int HeadBytes = 64;

    /// <summary>
    /// The same from parts of a record of <paramref name="length"/> bytes: its first bytes <paramref name="head"/> (at
    /// least <see cref="HeadBytes"/> of them, or the whole record) and its last 3 bytes <paramref name="tail"/>. So a
    /// reader can find where the payload lies without reading it (a partial read, a read into a buffer of its own).
    /// </summary>
    public static bool TryLayout(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long length, string name, out int offset, out int size)
    {
        offset = size = 0;
        byte[] cls = name == "ZBlk0" ? ZBlk0Class : ZDataClass;
        if (tail.Length != 3 || head.Length > length || !head.StartsWith(cls))
        {
            return false;
        }
        ReadOnlySpan<byte> r = head;
        int p = cls.Length;
        if (r.Length < p + 3 || r[p] != 0x80 || r[p + 1] != 0x03)
        {
            return false;
        }
        p += 2;
        long bytes;
        switch (r[p])
        {
            case (byte)'C': // SHORT_BINBYTES
                if (r.Length < p + 2)
                {
                    return false;
                }
                bytes = r[p + 1];
                p += 2;
                break;
            case (byte)'B': // BINBYTES
                if (r.Length < p + 5)
                {
                    return false;
                }
                bytes = BinaryPrimitives.ReadUInt32LittleEndian(r[(p + 1)..]);
                p += 5;
                break;
            default:
                return false;
        }
        // the payload, then BINPUT 1 and STOP ending the record
        if (bytes != length - p - 3 || tail[0] != (byte)'q' || tail[1] != 0x01 || tail[2] != (byte)'.')
        {
            return false;
        }
        offset = p;
        size = (int)bytes;
        return true;
    }
}
