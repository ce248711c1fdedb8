using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wendelin.Storage.Pickle;

/// <summary>
/// Writes JSON text exactly as Python's <c>json.dumps(obj, indent=N, ensure_ascii=True)</c> does (the format of the
/// fixtures' JSON files, spec/pickle.md §7): ", " and ": " separators (",\n" with indent), every character outside
/// printable ASCII escaped as lowercase <c>\uXXXX</c>, empty containers as <c>{}</c> / <c>[]</c>. Numbers are written
/// with their own text (a parsed number keeps its text; <see cref="PickleJson"/> gives floats Python's repr).
/// </summary>
public static class PythonJson
{
    /// <summary>JSON text of <paramref name="node"/>; <paramref name="indent"/> null for one line.</summary>
    public static string Serialize(JsonNode? node, int? indent = null)
    {
        var sb = new StringBuilder();
        Write(sb, node, indent, 0, 0);
        return sb.ToString();
    }

    /// <summary>Python's <c>repr(float)</c> of a finite double: shortest round-trip digits, exponent outside 1e-4..1e16.</summary>
    public static string FloatRepr(double d)
    {
        if (!double.IsFinite(d))
        {
            return double.IsNaN(d) ? "nan" : d > 0 ? "inf" : "-inf";
        }
        if (d == 0)
        {
            return double.IsNegative(d) ? "-0.0" : "0.0";
        }
        string r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOfAny(['E', 'e']);
        string mantissa = e < 0 ? r : r[..e];
        int exp10 = e < 0 ? 0 : int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        int dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        string digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        int intDigits = dot < 0 ? mantissa.Length : dot;
        // value = 0.digits * 10^decpt
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0')
        {
            lead++;
        }
        digits = digits[lead..];
        int decpt = intDigits - lead + exp10;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0)
        {
            digits = "0";
        }
        var sb = new StringBuilder();
        if (d < 0)
        {
            sb.Append('-');
        }
        if (decpt is > -4 and <= 16)
        {
            if (decpt <= 0)
            {
                sb.Append("0.").Append('0', -decpt).Append(digits);
            }
            else if (decpt < digits.Length)
            {
                sb.Append(digits, 0, decpt).Append('.').Append(digits, decpt, digits.Length - decpt);
            }
            else
            {
                sb.Append(digits).Append('0', decpt - digits.Length).Append(".0");
            }
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1)
            {
                sb.Append('.').Append(digits, 1, digits.Length - 1);
            }
            int x = decpt - 1;
            sb.Append('e').Append(x < 0 ? '-' : '+').Append(Math.Abs(x).ToString("00", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonNode? node, int? indent, int level, int guard)
    {
        if (guard > 10_000)
        {
            throw new InvalidOperationException("JSON nested too deeply");
        }
        switch (node)
        {
            case null:
                sb.Append("null");
                return;
            case JsonObject o:
                {
                    if (o.Count == 0)
                    {
                        sb.Append("{}");
                        return;
                    }
                    sb.Append('{');
                    bool first = true;
                    foreach (var (key, value) in o)
                    {
                        Separator(sb, indent, level + 1, first);
                        first = false;
                        WriteString(sb, key);
                        sb.Append(": ");
                        Write(sb, value, indent, level + 1, guard + 1);
                    }
                    Close(sb, indent, level);
                    sb.Append('}');
                    return;
                }
            case JsonArray a:
                {
                    if (a.Count == 0)
                    {
                        sb.Append("[]");
                        return;
                    }
                    sb.Append('[');
                    bool first = true;
                    foreach (JsonNode? item in a)
                    {
                        Separator(sb, indent, level + 1, first);
                        first = false;
                        Write(sb, item, indent, level + 1, guard + 1);
                    }
                    Close(sb, indent, level);
                    sb.Append(']');
                    return;
                }
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case JsonValueKind.String:
                        WriteString(sb, v.GetValue<string>());
                        return;
                    case JsonValueKind.True:
                        sb.Append("true");
                        return;
                    case JsonValueKind.False:
                        sb.Append("false");
                        return;
                    case JsonValueKind.Null:
                        sb.Append("null");
                        return;
                    default:
                        sb.Append(v.ToJsonString());
                        return;
                }
        }
    }

    private static void Separator(StringBuilder sb, int? indent, int level, bool first)
    {
        if (indent is int n)
        {
            if (!first)
            {
                sb.Append(',');
            }
            sb.Append('\n').Append(' ', n * level);
        }
        else if (!first)
        {
            sb.Append(", ");
        }
    }

    private static void Close(StringBuilder sb, int? indent, int level)
    {
        if (indent is int n)
        {
            sb.Append('\n').Append(' ', n * level);
        }
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                case '\b':
                    sb.Append("\\b");
                    break;
                case '\f':
                    sb.Append("\\f");
                    break;
                default:
                    if (c < 0x20 || c > 0x7e)
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        sb.Append('"');
    }
}
