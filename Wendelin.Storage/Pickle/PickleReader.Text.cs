using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Unicode;

namespace Wendelin.Storage.Pickle;

// The text arguments of protocol-0/1 opcodes (INT, LONG, FLOAT, STRING, UNICODE, GET, PUT, GLOBAL, INST, PERSID)
// and the UTF-8 decoding of BINUNICODE (spec/pickle.md PK-5).
public sealed partial class PickleReader
{
    /// <summary>Python 3.11's limit on the digits of an int given as text (PK-5); keeps parsing linear.</summary>
    internal const int MaxIntDigits = 4300;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private PickleValue ParseIntOpcode(ReadOnlySpan<byte> line)
    {
        // INT "00"/"01" are protocol-0 booleans (PK-5).
        if (line.Length == 2 && line[0] == (byte)'0' && (line[1] == (byte)'0' || line[1] == (byte)'1'))
        {
            return line[1] == (byte)'1' ? PickleValue.True : PickleValue.False;
        }
        return PickleInt.Of(ParseDecimal(line));
    }

    private long ParseMemoIndex(ReadOnlySpan<byte> line)
    {
        BigInteger v = ParseDecimal(line);
        if (v.Sign < 0 || v > long.MaxValue)
        {
            throw Fail($"memo index {v} out of range");
        }
        return (long)v;
    }

    /// <summary>An optionally signed decimal integer, surrounding ASCII whitespace allowed.</summary>
    private BigInteger ParseDecimal(ReadOnlySpan<byte> line)
    {
        ReadOnlySpan<byte> s = line.Trim(" \t\r\f\v"u8);
        bool negative = false;
        if (s.Length > 0 && (s[0] == (byte)'-' || s[0] == (byte)'+'))
        {
            negative = s[0] == (byte)'-';
            s = s[1..];
        }
        if (s.Length == 0)
        {
            throw Fail("empty integer text");
        }
        if (s.Length > MaxIntDigits)
        {
            throw Fail($"integer text of {s.Length} digits exceeds the limit of {MaxIntDigits} (PK-5)");
        }
        foreach (byte b in s)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                throw Fail("integer text is not decimal digits (PK-5)");
            }
        }
        BigInteger v;
        if (s.Length <= 18)
        {
            long x = 0;
            foreach (byte b in s)
            {
                x = (x * 10) + (b - '0');
            }
            v = x;
        }
        else
        {
            v = BigInteger.Parse(Encoding.ASCII.GetString(s), NumberStyles.None, CultureInfo.InvariantCulture);
        }
        return negative ? -v : v;
    }

    private double ParseFloat(ReadOnlySpan<byte> line)
    {
        ReadOnlySpan<byte> s = line.Trim(" \t\r\f\v"u8);
        if (s.Length == 0 || s.Length > 1000)
        {
            throw Fail("float text empty or too long");
        }
        Span<char> chars = stackalloc char[s.Length];
        for (int i = 0; i < s.Length; i++)
        {
            byte b = s[i];
            if (b >= 0x80)
            {
                throw Fail("float text is not ASCII");
            }
            chars[i] = char.ToLowerInvariant((char)b);
        }
        ReadOnlySpan<char> t = chars;
        bool negative = false;
        ReadOnlySpan<char> body = t;
        if (body.Length > 0 && (body[0] == '-' || body[0] == '+'))
        {
            negative = body[0] == '-';
            body = body[1..];
        }
        if (body.SequenceEqual("inf") || body.SequenceEqual("infinity"))
        {
            return negative ? double.NegativeInfinity : double.PositiveInfinity;
        }
        if (body.SequenceEqual("nan"))
        {
            return double.NaN;
        }
        foreach (char c in body)
        {
            if (!(char.IsAsciiDigit(c) || c is '.' or 'e' or '+' or '-'))
            {
                throw Fail("float text is not a number (PK-5)");
            }
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
        {
            throw Fail("float text is not a number (PK-5)");
        }
        return v;
    }

    private string DecodeLineUtf8(ReadOnlySpan<byte> line)
    {
        try
        {
            return StrictUtf8.GetString(line);
        }
        catch (DecoderFallbackException)
        {
            throw Fail("name is not UTF-8");
        }
    }

    private string DecodeLineAscii(ReadOnlySpan<byte> line)
    {
        if (!Ascii.IsValid(line))
        {
            throw Fail("text argument is not ASCII");
        }
        return Encoding.ASCII.GetString(line);
    }

    /// <summary>UTF-8 with Python's "surrogatepass": 3-byte encodings of lone surrogates are accepted (PK-5).</summary>
    private static readonly string[] AsciiCharacters = CreateAsciiCharacters();

    private static string[] CreateAsciiCharacters()
    {
        var table = new string[128];
        for (int c = 0; c < table.Length; c++)
        {
            table[c] = ((char)c).ToString();
        }
        return table;
    }

    private string DecodeUtf8(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
        {
            return "";
        }
        if (bytes.Length == 1 && bytes[0] < 0x80)
        {
            // CPython keeps one string object per one-character text below U+0100 and our writer treats those as one
            // memo entry whatever the instance (PK-33), so one shared instance per ASCII character loses nothing.
            return AsciiCharacters[bytes[0]];
        }
        if (System.Text.Ascii.IsValid(bytes))
        {
            return string.Create(bytes.Length, bytes, static (chars, b) => System.Text.Ascii.ToUtf16(b, chars, out _));
        }
        char[] rented = ArrayPool<char>.Shared.Rent(bytes.Length);
        try
        {
            Span<char> dest = rented.AsSpan(0, bytes.Length);
            int written = 0;
            while (true)
            {
                OperationStatus status = Utf8.ToUtf16(bytes, dest[written..], out int read, out int w, replaceInvalidSequences: false);
                written += w;
                bytes = bytes[read..];
                if (status == OperationStatus.Done)
                {
                    return new string(dest[..written]);
                }
                // An encoded surrogate: ED A0..BF 80..BF.
                if (bytes.Length >= 3 && bytes[0] == 0xED && bytes[1] is >= 0xA0 and <= 0xBF && bytes[2] is >= 0x80 and <= 0xBF)
                {
                    dest[written++] = (char)(0xD000 | ((bytes[1] & 0x3F) << 6) | (bytes[2] & 0x3F));
                    bytes = bytes[3..];
                    continue;
                }
                throw Fail("text is not valid UTF-8 (PK-5)");
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>Python's "raw-unicode-escape": bytes are Latin-1 except \uXXXX and \UXXXXXXXX escapes.</summary>
    private string DecodeRawUnicodeEscape(ReadOnlySpan<byte> s)
    {
        var sb = new StringBuilder(s.Length);
        int i = 0;
        while (i < s.Length)
        {
            byte b = s[i];
            if (b == (byte)'\\' && i + 1 < s.Length && (s[i + 1] == (byte)'u' || s[i + 1] == (byte)'U'))
            {
                int digits = s[i + 1] == (byte)'u' ? 4 : 8;
                if (i + 2 + digits > s.Length || !TryHex(s.Slice(i + 2, digits), out uint cp))
                {
                    throw Fail("truncated \\uXXXX escape (PK-5)");
                }
                if (cp > 0x10FFFF)
                {
                    throw Fail("\\U escape beyond U+10FFFF (PK-5)");
                }
                if (cp >= 0x10000)
                {
                    sb.Append(char.ConvertFromUtf32((int)cp));
                }
                else
                {
                    sb.Append((char)cp);
                }
                i += 2 + digits;
                continue;
            }
            sb.Append((char)b);
            i++;
        }
        return sb.ToString();
    }

    /// <summary>The STRING opcode: a quoted literal decoded with Python's "escape_decode" (PK-5).</summary>
    private byte[] DecodeStringOpcode(ReadOnlySpan<byte> line)
    {
        if (line.Length < 2 || line[0] != line[^1] || (line[0] != (byte)'\'' && line[0] != (byte)'"'))
        {
            throw Fail("the STRING argument must be quoted (PK-5)");
        }
        ReadOnlySpan<byte> s = line[1..^1];
        var o = new List<byte>(s.Length);
        int i = 0;
        while (i < s.Length)
        {
            byte b = s[i++];
            if (b != (byte)'\\')
            {
                o.Add(b);
                continue;
            }
            if (i >= s.Length)
            {
                throw Fail("trailing \\ in string (PK-5)");
            }
            byte c = s[i++];
            switch (c)
            {
                case (byte)'\n':
                    break;
                case (byte)'\\':
                case (byte)'\'':
                case (byte)'"':
                    o.Add(c);
                    break;
                case (byte)'b':
                    o.Add(8);
                    break;
                case (byte)'f':
                    o.Add(12);
                    break;
                case (byte)'t':
                    o.Add(9);
                    break;
                case (byte)'n':
                    o.Add(10);
                    break;
                case (byte)'r':
                    o.Add(13);
                    break;
                case (byte)'v':
                    o.Add(11);
                    break;
                case (byte)'a':
                    o.Add(7);
                    break;
                case >= (byte)'0' and <= (byte)'7':
                    {
                        int v = c - '0';
                        for (int k = 0; k < 2 && i < s.Length && s[i] is >= (byte)'0' and <= (byte)'7'; k++)
                        {
                            v = (v * 8) + (s[i++] - '0');
                        }
                        o.Add((byte)v);
                        break;
                    }
                case (byte)'x':
                    {
                        if (i + 2 > s.Length || !TryHex(s.Slice(i, 2), out uint v))
                        {
                            throw Fail("invalid \\x escape (PK-5)");
                        }
                        o.Add((byte)v);
                        i += 2;
                        break;
                    }
                default:
                    o.Add((byte)'\\');
                    o.Add(c);
                    break;
            }
        }
        return o.ToArray();
    }

    private static bool TryHex(ReadOnlySpan<byte> s, out uint value)
    {
        value = 0;
        foreach (byte b in s)
        {
            int d = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                _ => -1,
            };
            if (d < 0)
            {
                return false;
            }
            value = (value << 4) | (uint)d;
        }
        return true;
    }
}
