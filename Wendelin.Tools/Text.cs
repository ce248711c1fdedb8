using System.Globalization;
using System.Text;

namespace Wendelin.Tools;

/// <summary>Text helpers shared by the commands.</summary>
internal static class Text
{
    /// <summary>
    /// A quoted form of stored text: UTF-8 shown as text between single quotes with <c>\\</c>, <c>\'</c>, <c>\n</c>,
    /// <c>\t</c> and other control characters escaped (like Python's repr); bytes that are not UTF-8 as <c>b'\xNN'</c>.
    /// </summary>
    public static string Repr(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder();
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            sb.Append('\'');
            foreach (char c in Encoding.UTF8.GetString(bytes))
            {
                AppendEscaped(sb, c);
            }
            return sb.Append('\'').ToString();
        }
        sb.Append("b'");
        foreach (byte b in bytes)
        {
            if (b is >= 0x20 and < 0x7F && b != (byte)'\\' && b != (byte)'\'')
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
            }
        }
        return sb.Append('\'').ToString();
    }

    private static void AppendEscaped(StringBuilder sb, char c)
    {
        switch (c)
        {
            case '\\':
                sb.Append("\\\\");
                break;
            case '\'':
                sb.Append("\\'");
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
            default:
                if (char.IsControl(c))
                {
                    sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
                }
                else
                {
                    sb.Append(c);
                }
                break;
        }
    }
}
