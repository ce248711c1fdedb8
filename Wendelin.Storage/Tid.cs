using System.Buffers.Binary;
using System.Globalization;

namespace Wendelin.Storage;

/// <summary>
/// A ZODB transaction id (also an object revision's serial): 8 bytes holding a UTC timestamp
/// (spec/filestorage.md, "Transaction ids"), compared as an unsigned big-endian 64-bit number.
/// The timestamp encoding lives in the other part of this type.
/// </summary>
public readonly partial record struct Tid(ulong Value) : IComparable<Tid>
{
    /// <summary><c>z64</c>: the serial of a new object and <c>LastTransaction</c> of an empty storage.</summary>
    public static readonly Tid Zero = new(0);

    /// <summary>The largest tid ZODB uses as a "before" bound for current data (<c>7FFF…FF</c>).</summary>
    public static readonly Tid Max = new(0x7FFF_FFFF_FFFF_FFFFUL);

    public static Tid FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != 8)
        {
            throw new ArgumentException($"a tid is 8 bytes, got {bytes.Length}", nameof(bytes));
        }
        return new Tid(BinaryPrimitives.ReadUInt64BigEndian(bytes));
    }

    public void WriteBytes(Span<byte> destination) => BinaryPrimitives.WriteUInt64BigEndian(destination, Value);

    public byte[] ToBytes()
    {
        byte[] b = new byte[8];
        WriteBytes(b);
        return b;
    }

    public int CompareTo(Tid other) => Value.CompareTo(other.Value);

    public static bool operator <(Tid a, Tid b) => a.Value < b.Value;

    public static bool operator >(Tid a, Tid b) => a.Value > b.Value;

    public static bool operator <=(Tid a, Tid b) => a.Value <= b.Value;

    public static bool operator >=(Tid a, Tid b) => a.Value >= b.Value;

    /// <summary>16 hex digits without prefix, the fixtures' JSON form.</summary>
    public override string ToString() => Value.ToString("x16", CultureInfo.InvariantCulture);

    public static Tid Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ReadOnlySpan<char> s = text.AsSpan();
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            s = s[2..];
        }
        return new Tid(ulong.Parse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
    }
}
