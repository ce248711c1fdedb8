using System.Globalization;
using System.Numerics;
using System.Text;

namespace Wendelin.Storage.Pickle;

/// <summary>Python's <c>None</c> (one instance).</summary>
public sealed class PickleNone : PickleValue
{
    internal static readonly PickleNone Instance = new();

    private PickleNone()
    {
    }

    public override PickleKind Kind => PickleKind.None;

    public override string Describe() => "None";
}

/// <summary>Python's <c>True</c> / <c>False</c> (two instances).</summary>
public sealed class PickleBool : PickleValue
{
    internal static readonly PickleBool TrueValue = new(true);
    internal static readonly PickleBool FalseValue = new(false);

    private PickleBool(bool value) => Value = value;

    public override PickleKind Kind => PickleKind.Bool;

    public bool Value { get; }

    public override string Describe() => Value ? "True" : "False";
}

/// <summary>
/// A Python <c>int</c> of any size: a <see cref="long"/> when it fits 64 bits, else a <see cref="BigInteger"/>
/// (the representation is normalised, so equal ints have equal representations).
/// </summary>
public sealed class PickleInt : PickleValue
{
    private static readonly PickleInt[] Small = CreateSmall();
    private readonly long _small;
    private readonly BigInteger? _big;

    private PickleInt(long value) => _small = value;

    private PickleInt(BigInteger value) => _big = value;

    public override PickleKind Kind => PickleKind.Int;

    /// <summary>True when the value fits a <see cref="long"/>.</summary>
    public bool IsInt64 => _big is null;

    /// <summary>The value; only when <see cref="IsInt64"/>.</summary>
    public long Int64Value => _big is null ? _small : throw Mismatch("an int within 64 bits");

    public BigInteger BigValue => _big ?? _small;

    public static PickleInt Of(long value) =>
        value is >= -256 and < 1024 ? Small[value + 256] : new PickleInt(value);

    public static PickleInt Of(BigInteger value) =>
        value >= long.MinValue && value <= long.MaxValue ? Of((long)value) : new PickleInt(value);

    public override string Describe() => _big is { } b ? "int " + b.ToString(CultureInfo.InvariantCulture)
        : "int " + _small.ToString(CultureInfo.InvariantCulture);

    private static PickleInt[] CreateSmall()
    {
        var a = new PickleInt[1280];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = new PickleInt(i - 256);
        }
        return a;
    }
}

/// <summary>A Python <c>float</c> (IEEE double).</summary>
public sealed class PickleFloat(double value) : PickleValue
{
    public override PickleKind Kind => PickleKind.Float;

    public double Value { get; } = value;

    public override string Describe() => "float " + Value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>
/// A Python-3 <c>str</c> (text). Lone surrogates are kept (Python reads pickled text with "surrogatepass").
/// </summary>
public sealed class PickleStr : PickleValue
{
    public PickleStr(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Value = value;
    }

    public override PickleKind Kind => PickleKind.Str;

    public string Value { get; }

    public override string Describe() => Value.Length <= 40 ? $"str '{Value}'" : $"str of {Value.Length} chars";
}

/// <summary>
/// Python-3 <c>bytes</c>. The bytes are not copied by the reader: <see cref="Value"/> may be a slice of the
/// record buffer that was read (PK-12), which must then stay unchanged while the value is in use.
/// </summary>
public sealed class PickleBytes(ReadOnlyMemory<byte> value) : PickleValue
{
    private int _hash;

    public override PickleKind Kind => PickleKind.Bytes;

    public ReadOnlyMemory<byte> Value { get; } = value;

    public int Length => Value.Length;

    public override string Describe() => $"bytes of length {Value.Length}";

    internal int ContentHash()
    {
        if (_hash == 0)
        {
            var h = new HashCode();
            h.AddBytes(Value.Span);
            int v = h.ToHashCode();
            _hash = v == 0 ? 1 : v;
        }
        return _hash;
    }
}

/// <summary>
/// A Python-2 <c>str</c> (8-bit string, opcodes STRING / BINSTRING / SHORT_BINSTRING), kept as its bytes
/// (spec/pickle.md PK-14). Python-2 ZODB used it both for binary data (oids, block payloads) and for text
/// (attribute names, dtype strings): callers decide by context, with <see cref="TryGetAscii"/> or <see cref="Decode"/>.
/// </summary>
public sealed class PickleByteString(ReadOnlyMemory<byte> value) : PickleValue
{
    public override PickleKind Kind => PickleKind.ByteString;

    public ReadOnlyMemory<byte> Value { get; } = value;

    public int Length => Value.Length;

    /// <summary>The text when every byte is ASCII (what Python-3 ZODB's unpickler gives); false otherwise.</summary>
    public bool TryGetAscii(out string text)
    {
        ReadOnlySpan<byte> s = Value.Span;
        if (System.Text.Ascii.IsValid(s))
        {
            text = Encoding.ASCII.GetString(s);
            return true;
        }
        text = "";
        return false;
    }

    /// <summary>Decodes the bytes with <paramref name="encoding"/> (e.g. Latin-1 or UTF-8).</summary>
    public string Decode(Encoding encoding)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        return encoding.GetString(Value.Span);
    }

    public override string Describe() => $"py2 str of length {Value.Length}";
}
