using System.Globalization;
using System.Text;

namespace Wendelin.Arrays;

/// <summary>The dtype's NumPy <c>descr</c> text (spec/arrays.md AR-1a), as .npy headers carry it.</summary>
public sealed partial class DType
{
    /// <summary>
    /// NumPy's <c>descr</c> text, as <c>numpy.lib.format.dtype_to_descr</c> writes it into a .npy header (AR-1a):
    /// the type string for plain dtypes (<c>'&lt;f8'</c>); for a record whose fields lie in increasing,
    /// non-overlapping order, the list of <c>('name', type[, shape])</c> tuples with the gaps and the tail as
    /// <c>('', '|Vn')</c> padding entries and a titled field named <c>(('title', 'name'), type)</c>. A record with
    /// overlapping or out-of-order fields has no list form (NumPy cannot save it either): its text is the
    /// <c>{'names':…,'formats':…,'offsets':…,'itemsize':…}</c> form, for display only.
    /// </summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        AppendDescr(sb);
        return sb.ToString();
    }

    /// <summary>
    /// True when <see cref="ToString"/> is NumPy's list form all the way down (AR-1a), i.e. a .npy header can carry
    /// this dtype: no record, here or nested, has overlapping or out-of-order fields.
    /// </summary>
    internal bool HasNumpyDescr
    {
        get
        {
            if (SubArrayBase is not null)
            {
                return SubArrayBase.HasNumpyDescr;
            }
            if (Fields is null)
            {
                return true;
            }
            if (!HasOrderedFields())
            {
                return false;
            }
            foreach (DTypeField f in Fields)
            {
                if (!f.Type.HasNumpyDescr)
                {
                    return false;
                }
            }
            return true;
        }
    }

    private void AppendDescr(StringBuilder sb)
    {
        if (SubArrayBase is not null)
        {
            sb.Append('(');
            SubArrayBase.AppendDescr(sb);
            sb.Append(", ");
            AppendShape(sb, SubArrayShape);
            sb.Append(')');
            return;
        }
        if (Fields is null)
        {
            sb.Append('\'').Append(ByteOrder).Append(KindChar)
              .Append((Kind == DTypeKind.Unicode ? ItemSize / 4 : ItemSize).ToString(CultureInfo.InvariantCulture)).Append('\'');
            return;
        }
        if (HasOrderedFields())
        {
            sb.Append('[');
            long offset = 0;
            bool first = true;
            foreach (DTypeField f in Fields)
            {
                AppendPadding(sb, f.Offset - offset, ref first);
                sb.Append(first ? "(" : ", (");
                first = false;
                if (f.Title is { } title)
                {
                    sb.Append('(');
                    AppendPyStr(sb, title);
                    sb.Append(", ");
                    AppendPyStr(sb, f.Name);
                    sb.Append(')');
                }
                else
                {
                    AppendPyStr(sb, f.Name);
                }
                sb.Append(", ");
                if (f.Type.SubArrayBase is { } b)
                {
                    b.AppendDescr(sb);
                    sb.Append(", ");
                    AppendShape(sb, f.Type.SubArrayShape);
                }
                else
                {
                    f.Type.AppendDescr(sb);
                }
                sb.Append(')');
                offset = (long)f.Offset + f.Type.ItemSize;
            }
            AppendPadding(sb, ItemSize - offset, ref first);
            sb.Append(']');
            return;
        }
        sb.Append("{'names': [");
        for (int i = 0; i < Fields.Count; i++)
        {
            sb.Append(i == 0 ? "" : ", ");
            AppendPyStr(sb, Fields[i].Name);
        }
        sb.Append("], 'formats': [");
        for (int i = 0; i < Fields.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }
            Fields[i].Type.AppendDescr(sb);
        }
        sb.Append("], 'offsets': [");
        for (int i = 0; i < Fields.Count; i++)
        {
            sb.Append(i == 0 ? "" : ", ").Append(Fields[i].Offset.ToString(CultureInfo.InvariantCulture));
        }
        sb.Append("], 'itemsize': ").Append(ItemSize.ToString(CultureInfo.InvariantCulture)).Append('}');
    }

    // Fields in increasing, non-overlapping order at this level (NumPy's _array_descr raises otherwise).
    private bool HasOrderedFields()
    {
        long offset = 0;
        foreach (DTypeField f in Fields!)
        {
            if (f.Offset < offset)
            {
                return false;
            }
            offset = (long)f.Offset + f.Type.ItemSize;
        }
        return offset <= ItemSize;
    }

    private static void AppendPadding(StringBuilder sb, long bytes, ref bool first)
    {
        if (bytes > 0)
        {
            sb.Append(first ? "('', '|V" : ", ('', '|V").Append(bytes.ToString(CultureInfo.InvariantCulture)).Append("')");
            first = false;
        }
    }

    // Python's repr of a str: single quotes unless the text holds a ' and no ", backslash escapes for the quote and
    // the backslash, \n \r \t, and \xNN / \uNNNN / \UNNNNNNNN for what Python does not print (control, format,
    // separator other than the space, private-use and unassigned characters), so the header reads back the same.
    private static void AppendPyStr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        foreach (Rune r in s.EnumerateRunes())
        {
            int c = r.Value;
            if (c == quote || c == '\\')
            {
                sb.Append('\\').Append((char)c);
            }
            else if (c is '\n' or '\r' or '\t')
            {
                sb.Append(c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t");
            }
            else if (c != ' ' && Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format
                or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.Surrogate)
            {
                sb.Append(c < 0x100 ? "\\x" + c.ToString("x2", CultureInfo.InvariantCulture)
                    : c < 0x10000 ? "\\u" + c.ToString("x4", CultureInfo.InvariantCulture)
                    : "\\U" + c.ToString("x8", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(r.ToString());
            }
        }
        sb.Append(quote);
    }

    private static void AppendShape(StringBuilder sb, ReadOnlySpan<long> shape)
    {
        sb.Append('(');
        for (int i = 0; i < shape.Length; i++)
        {
            sb.Append(i == 0 ? "" : ", ").Append(shape[i].ToString(CultureInfo.InvariantCulture));
        }
        sb.Append(shape.Length == 1 ? ",)" : ")");
    }
}
