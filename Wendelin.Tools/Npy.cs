using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Wendelin.Arrays;

namespace Wendelin.Tools;

/// <summary>
/// NumPy's <c>.npy</c> file format, versions 1.0, 2.0 and 3.0 (numpy/lib/format.py): the magic <c>\x93NUMPY</c>,
/// the version, a little-endian header length (2 bytes in 1.0, 4 bytes later), a Python dict literal with
/// <c>descr</c>, <c>fortran_order</c> and <c>shape</c> padded with spaces and a newline so the data starts at a
/// multiple of 64, then the items in C or F order. <c>descr</c> is what numpy's <c>dtype_to_descr</c> writes
/// (spec/arrays.md AR-1a): a type string, or for a record the list of fields with <c>('', '|Vn')</c> padding
/// entries, <c>((title, name), type)</c> for titled fields, nested lists for nested records and a third item for
/// subarray fields; import reads all of it back the way numpy's <c>descr_to_dtype</c> does.
/// </summary>
internal sealed record NpyHeader(DType DType, bool FortranOrder, long[] Shape, long DataOffset, int Major)
{
    private const string NpyHint = "give a file written by numpy.save (format 1.0, 2.0 or 3.0)";

    public static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Bytes of data the header announces.</summary>
    public long DataBytes
    {
        get
        {
            long n = DType.ItemSize;
            foreach (long d in Shape)
            {
                n = checked(n * d);
            }
            return n;
        }
    }

    /// <summary>The header of an array of <paramref name="dtype"/> and <paramref name="shape"/> in <paramref name="order"/>, as numpy writes it.</summary>
    public static byte[] Encode(DType dtype, ReadOnlySpan<long> shape, ArrayOrder order)
    {
        if (!dtype.HasNumpyDescr)
        {
            throw new ToolException($"dtype {dtype} has overlapping or out-of-order fields, which a .npy header cannot describe (numpy.save refuses it too)",
                "export it with --format raw");
        }
        var sb = new StringBuilder("{'descr': ");
        sb.Append(dtype.ToString());
        sb.Append(", 'fortran_order': ").Append(order == ArrayOrder.F ? "True" : "False");
        sb.Append(", 'shape': (");
        for (int i = 0; i < shape.Length; i++)
        {
            sb.Append(shape[i].ToString(CultureInfo.InvariantCulture));
            sb.Append(shape.Length == 1 ? "," : i < shape.Length - 1 ? ", " : "");
        }
        sb.Append("), }");
        string text = sb.ToString();
        bool latin1 = text.All(static c => c < 256);
        byte[] body = latin1 ? Encoding.Latin1.GetBytes(text) : Encoding.UTF8.GetBytes(text);
        int major = !latin1 ? 3 : body.Length + 1 + 10 <= 65535 ? 1 : 2;
        int prefix = 6 + 2 + (major == 1 ? 2 : 4);
        int total = (prefix + body.Length + 1 + 63) / 64 * 64;
        byte[] result = new byte[total];
        Magic.CopyTo(result, 0);
        result[6] = (byte)major;
        result[7] = 0;
        int headerLength = total - prefix;
        if (major == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(8), (ushort)headerLength);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(8), (uint)headerLength);
        }
        body.CopyTo(result, prefix);
        result.AsSpan(prefix + body.Length, total - prefix - body.Length - 1).Fill((byte)' ');
        result[^1] = (byte)'\n';
        return result;
    }

    /// <summary>Reads and checks the header at the start of <paramref name="file"/>; <see cref="ToolException"/> on anything malformed.</summary>
    public static NpyHeader Read(Stream file, string name)
    {
        Span<byte> prefix = stackalloc byte[12];
        if (ReadFully(file, prefix[..10]) < 10 || !prefix[..6].SequenceEqual(Magic))
        {
            throw new ToolException($"{name}: is not a .npy file (it does not start with \\x93NUMPY)", NpyHint);
        }
        int major = prefix[6], minor = prefix[7];
        if (major is not (1 or 2 or 3) || minor != 0)
        {
            throw new ToolException($"{name}: .npy version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)", NpyHint);
        }
        long headerLength;
        int prefixLength;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]);
            prefixLength = 10;
        }
        else
        {
            if (ReadFully(file, prefix[10..12]) < 2)
            {
                throw new ToolException($"{name}: is truncated inside its .npy header", NpyHint);
            }
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
            prefixLength = 12;
        }
        if (headerLength > 16 << 20)
        {
            throw new ToolException($"{name}: .npy header of {headerLength} bytes is implausibly long", NpyHint);
        }
        byte[] header = new byte[headerLength];
        if (ReadFully(file, header) < header.Length)
        {
            throw new ToolException($"{name}: is truncated inside its .npy header", NpyHint);
        }
        string text = major == 3 ? Encoding.UTF8.GetString(header) : Encoding.Latin1.GetString(header);
        object? parsed;
        try
        {
            parsed = PyLiteral.Parse(text);
        }
        catch (FormatException e)
        {
            throw new ToolException($"{name}: the .npy header is not a Python dict literal: {e.Message}", NpyHint);
        }
        if (parsed is not Dictionary<object, object?> dict)
        {
            throw new ToolException($"{name}: the .npy header is not a dict", NpyHint);
        }
        if (!dict.TryGetValue("descr", out object? descr) || !dict.TryGetValue("fortran_order", out object? fortran) || !dict.TryGetValue("shape", out object? shape))
        {
            throw new ToolException($"{name}: the .npy header lacks descr, fortran_order or shape", NpyHint);
        }
        DType dtype;
        try
        {
            dtype = ToDType(descr, 0);
        }
        catch (ArgumentException e)
        {
            throw new ToolException($"{name}: dtype {PyLiteral.Repr(descr)}: {ToolSupport.Plain(e.Message)}", NpyHint);
        }
        if (fortran is not bool f)
        {
            throw new ToolException($"{name}: fortran_order is not True or False", NpyHint);
        }
        if (shape is not object?[] dims || dims.Any(static d => d is not long n || n < 0))
        {
            throw new ToolException($"{name}: shape {PyLiteral.Repr(shape)} is not a tuple of non-negative ints", NpyHint);
        }
        long[] s = [.. dims.Select(static d => (long)d!)];
        if (s.Length == 0)
        {
            throw new ToolException($"{name}: a 0-d array (shape ()) cannot become a BigArray", NpyHint);
        }
        var h = new NpyHeader(dtype, f, s, prefixLength + headerLength, major);
        try
        {
            _ = h.DataBytes;
        }
        catch (OverflowException)
        {
            throw new ToolException($"{name}: shape {PyLiteral.Repr(shape)} overflows 64 bits", NpyHint);
        }
        return h;
    }

    // numpy.lib.format.descr_to_dtype: a str is a type string; a tuple (descr, shape) a subarray; a list the fields
    // of a record, each (name, descr[, shape]) with name a str or (title, name), laid out one after another; a
    // field named '' of a plain void type is padding: it takes its bytes and makes no field (AR-1a).
    private static DType ToDType(object? descr, int depth)
    {
        if (depth > 16)
        {
            throw new ArgumentException("nested too deeply");
        }
        switch (descr)
        {
            case string s:
                return DType.Parse(s);
            case object?[] { Length: 2 } sub:
                return DType.SubArray(ToDType(sub[0], depth + 1), SubShape(sub[1]));
            case List<object?> fields:
                var list = new List<DTypeField>();
                long offset = 0;
                foreach (object? f in fields)
                {
                    if (f is not object?[] { Length: 2 or 3 } t)
                    {
                        throw new ArgumentException("a record field is (name, dtype[, shape])");
                    }
                    (string name, string? title) = t[0] switch
                    {
                        string n => (n, (string?)null),
                        object?[] { Length: 2 } pair when pair[0] is string ti && pair[1] is string n2 => (n2, ti),
                        _ => throw new ArgumentException("a field name is a str or (title, name)"),
                    };
                    DType type = ToDType(t[1], depth + 1);
                    if (t.Length == 3)
                    {
                        type = DType.SubArray(type, SubShape(t[2]));
                    }
                    bool padding = name.Length == 0 && type.Kind == DTypeKind.Void && !type.IsRecord && type.SubArrayBase is null;
                    if (!padding)
                    {
                        if (name.Length == 0)
                        {
                            throw new ArgumentException($"a field without a name must be void padding ('|Vn'), not {type}");
                        }
                        if (offset > int.MaxValue)
                        {
                            throw new ArgumentException("record too large");
                        }
                        list.Add(new DTypeField(name, type, (int)offset, title));
                    }
                    offset += type.ItemSize;
                }
                if (list.Count == 0)
                {
                    throw new ArgumentException("a record needs at least one field that is not padding");
                }
                if (offset > int.MaxValue)
                {
                    throw new ArgumentException("record too large");
                }
                return DType.Record(list, (int)offset);
            default:
                throw new ArgumentException("descr is a type string, a (descr, shape) tuple or a list of fields");
        }
    }

    private static long[] SubShape(object? shape) => shape switch
    {
        long n => [n],
        object?[] dims when dims.All(static d => d is long) => [.. dims.Select(static d => (long)d!)],
        _ => throw new ArgumentException("a subarray shape is an int or a tuple of ints"),
    };

    private static int ReadFully(Stream s, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = s.Read(buffer[total..]);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }
}

/// <summary>
/// The Python literals of a .npy header: dicts, lists, tuples, str (single or double quotes, escapes), int,
/// True, False, None. Dicts have object keys; lists are <c>List&lt;object?&gt;</c>; tuples are <c>object?[]</c>.
/// </summary>
internal static class PyLiteral
{
    public static object? Parse(string text)
    {
        int pos = 0;
        object? v = Value(text, ref pos, 0);
        Skip(text, ref pos);
        if (pos != text.Length)
        {
            throw new FormatException($"unexpected '{text[pos]}' at {pos}");
        }
        return v;
    }

    public static string Repr(object? v) => v switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        string s => "'" + s + "'",
        object?[] t => "(" + string.Join(", ", t.Select(Repr)) + (t.Length == 1 ? ",)" : ")"),
        List<object?> l => "[" + string.Join(", ", l.Select(Repr)) + "]",
        Dictionary<object, object?> d => "{" + string.Join(", ", d.Select(kv => Repr(kv.Key) + ": " + Repr(kv.Value))) + "}",
        _ => v.ToString() ?? "",
    };

    private static void Skip(string s, ref int pos)
    {
        while (pos < s.Length && char.IsWhiteSpace(s[pos]))
        {
            pos++;
        }
    }

    private static object? Value(string s, ref int pos, int depth)
    {
        if (depth > 32)
        {
            throw new FormatException("nested deeper than 32 levels");
        }
        Skip(s, ref pos);
        if (pos >= s.Length)
        {
            throw new FormatException("unexpected end");
        }
        char c = s[pos];
        switch (c)
        {
            case '{':
                {
                    pos++;
                    var d = new Dictionary<object, object?>();
                    foreach ((object? k, object? v) in Items(s, ref pos, '}', depth, pairs: true, out _))
                    {
                        d[k ?? throw new FormatException("a None key")] = v;
                    }
                    return d;
                }
            case '[':
                pos++;
                return Items(s, ref pos, ']', depth, pairs: false, out _).Select(static kv => kv.Key).ToList();
            case '(':
                {
                    pos++;
                    List<(object? Key, object? Value)> items = Items(s, ref pos, ')', depth, pairs: false, out bool trailingComma);
                    if (items.Count == 1 && !trailingComma)
                    {
                        return items[0].Key; // parentheses only
                    }
                    return items.Select(static kv => kv.Key).ToArray();
                }
            case '\'' or '"':
                return Str(s, ref pos);
        }
        int start = pos;
        while (pos < s.Length && (char.IsAsciiLetterOrDigit(s[pos]) || s[pos] is '-' or '+' or '_'))
        {
            pos++;
        }
        string word = s[start..pos];
        switch (word)
        {
            case "True":
                return true;
            case "False":
                return false;
            case "None":
                return null;
        }
        string digits = word.EndsWith('L') ? word[..^1] : word;
        if (long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
        {
            return n;
        }
        throw new FormatException($"'{(word.Length > 0 ? word : c)}' at {start} is not a literal of a .npy header");
    }

    private static List<(object? Key, object? Value)> Items(string s, ref int pos, char close, int depth, bool pairs, out bool trailingComma)
    {
        var list = new List<(object?, object?)>();
        trailingComma = false;
        while (true)
        {
            Skip(s, ref pos);
            if (pos < s.Length && s[pos] == close)
            {
                pos++;
                return list;
            }
            trailingComma = false;
            object? k = Value(s, ref pos, depth + 1);
            object? v = null;
            if (pairs)
            {
                Skip(s, ref pos);
                if (pos >= s.Length || s[pos] != ':')
                {
                    throw new FormatException($"':' expected at {pos}");
                }
                pos++;
                v = Value(s, ref pos, depth + 1);
            }
            list.Add((k, v));
            Skip(s, ref pos);
            if (pos < s.Length && s[pos] == ',')
            {
                pos++;
                trailingComma = true;
            }
            else if (pos >= s.Length || s[pos] != close)
            {
                throw new FormatException($"',' or '{close}' expected at {pos}");
            }
        }
    }

    private static string Str(string s, ref int pos)
    {
        char quote = s[pos++];
        var sb = new StringBuilder();
        while (true)
        {
            if (pos >= s.Length)
            {
                throw new FormatException("unterminated string");
            }
            char c = s[pos++];
            if (c == quote)
            {
                return sb.ToString();
            }
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }
            if (pos >= s.Length)
            {
                throw new FormatException("unterminated escape");
            }
            char e = s[pos++];
            switch (e)
            {
                case 'n':
                    sb.Append('\n');
                    break;
                case 't':
                    sb.Append('\t');
                    break;
                case 'r':
                    sb.Append('\r');
                    break;
                case 'x' when pos + 2 <= s.Length:
                    sb.Append((char)int.Parse(s.AsSpan(pos, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    pos += 2;
                    break;
                case 'u' when pos + 4 <= s.Length:
                    sb.Append((char)int.Parse(s.AsSpan(pos, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    pos += 4;
                    break;
                case 'U' when pos + 8 <= s.Length:
                    int cp = int.Parse(s.AsSpan(pos, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    if (!Rune.IsValid(cp))
                    {
                        throw new FormatException($"\\U{s.Substring(pos, 8)} is not a character");
                    }
                    sb.Append(new Rune(cp).ToString());
                    pos += 8;
                    break;
                default:
                    sb.Append(e);
                    break;
            }
        }
    }
}
