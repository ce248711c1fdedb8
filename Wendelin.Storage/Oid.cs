using System.Buffers.Binary;
using System.Globalization;

namespace Wendelin.Storage;

/// <summary>
/// A ZODB object id: 8 opaque bytes, compared as an unsigned big-endian 64-bit number (spec/filestorage.md).
/// Oid 0 (<see cref="Root"/>) is the root object.
/// </summary>
public readonly record struct Oid(ulong Value) : IComparable<Oid>
{
    /// <summary>The root object's oid, <c>z64</c>.</summary>
    public static readonly Oid Root = new(0);

    /// <summary>Reads an oid from its 8 big-endian bytes.</summary>
    public static Oid FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != 8)
        {
            throw new ArgumentException($"an oid is 8 bytes, got {bytes.Length}", nameof(bytes));
        }
        return new Oid(BinaryPrimitives.ReadUInt64BigEndian(bytes));
    }

    /// <summary>Writes the 8 big-endian bytes.</summary>
    public void WriteBytes(Span<byte> destination) => BinaryPrimitives.WriteUInt64BigEndian(destination, Value);

    /// <summary>The 8 big-endian bytes as a new array.</summary>
    public byte[] ToBytes()
    {
        byte[] b = new byte[8];
        WriteBytes(b);
        return b;
    }

    public int CompareTo(Oid other) => Value.CompareTo(other.Value);

    public static bool operator <(Oid a, Oid b) => a.Value < b.Value;

    public static bool operator >(Oid a, Oid b) => a.Value > b.Value;

    public static bool operator <=(Oid a, Oid b) => a.Value <= b.Value;

    public static bool operator >=(Oid a, Oid b) => a.Value >= b.Value;

    /// <summary>"0x" and 16 hex digits, the fixtures' JSON form.</summary>
    public override string ToString() => "0x" + Value.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>Parses "0x" + hex or plain hex.</summary>
    public static Oid Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ReadOnlySpan<char> s = text.AsSpan();
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            s = s[2..];
        }
        return new Oid(ulong.Parse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
    }
}
