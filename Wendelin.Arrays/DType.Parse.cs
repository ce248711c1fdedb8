using System.Globalization;

namespace Wendelin.Arrays;

public sealed partial class DType
{
    /// <summary>
    /// Parses a NumPy type string (AR-3): an optional byte order (<c>&lt; &gt; | =</c>), a kind letter
    /// (<c>b i u f c S a U V</c>) and a size (<c>&lt;f8</c>, <c>|u1</c>, <c>i4</c>, <c>S10</c>, <c>&gt;U5</c>, <c>V12</c>),
    /// <c>?</c> for bool, or a NumPy name (<c>float64</c>, <c>uint8</c>, <c>bool</c>, <c>complex128</c>, …).
    /// Object (<c>O</c>) and datetime (<c>M</c>, <c>m</c>) dtypes are refused with an <see cref="ArgumentException"/>.
    /// </summary>
    public static DType Parse(string typeStr)
    {
        ArgumentNullException.ThrowIfNull(typeStr);
        string s = typeStr.Trim();
        if (FromName(s) is { } named)
        {
            return named;
        }
        if (s.Length == 0)
        {
            throw new ArgumentException("empty dtype string", nameof(typeStr));
        }
        char order = '=';
        int i = 0;
        if (s[0] is '<' or '>' or '|' or '=')
        {
            order = s[0];
            i = 1;
        }
        if (i >= s.Length)
        {
            throw new ArgumentException($"dtype string '{typeStr}' has no kind letter", nameof(typeStr));
        }
        char kind = s[i++];
        string digits = s[i..];
        if (kind is 'O' || s.Equals("object", StringComparison.Ordinal))
        {
            throw ObjectRefused(typeStr);
        }
        if (kind is 'M' or 'm')
        {
            throw new ArgumentException($"dtype '{typeStr}': datetime and timedelta dtypes are not supported", nameof(typeStr));
        }
        if (kind == '?' && digits.Length == 0)
        {
            return Bool;
        }
        if (digits.Length == 0 || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int size) || size < 1)
        {
            throw new ArgumentException($"dtype string '{typeStr}' needs a positive size after the kind letter", nameof(typeStr));
        }
        return FromKindAndSize(kind, size, order, typeStr);
    }

    /// <summary>Tries <see cref="Parse"/>; false for malformed, object and datetime dtype strings.</summary>
    public static bool TryParse(string typeStr, out DType? dtype)
    {
        try
        {
            dtype = Parse(typeStr);
            return true;
        }
        catch (ArgumentException)
        {
            dtype = null;
            return false;
        }
    }

    internal static DType FromKindAndSize(char kind, int size, char order, string what)
    {
        try
        {
            return kind switch
            {
                'b' => Number(DTypeKind.Bool, size, order),
                'i' => Number(DTypeKind.Int, size, order),
                'u' => Number(DTypeKind.UInt, size, order),
                'f' => Number(DTypeKind.Float, size, order),
                'c' => Number(DTypeKind.Complex, size, order),
                'S' or 'a' => Bytes(size),
                'U' => Unicode(size, order),
                'V' => Void(size),
                'O' => throw ObjectRefused(what),
                _ => throw new ArgumentException($"dtype '{what}': unknown kind letter '{kind}'"),
            };
        }
        catch (ArgumentException e) when (!e.Message.StartsWith("dtype '", StringComparison.Ordinal))
        {
            throw new ArgumentException($"dtype '{what}': {e.Message}", e);
        }
    }

    internal static ArgumentException ObjectRefused(string what) => new(
        $"dtype '{what}' holds Python objects; a BigArray stores raw fixed-size items in memory-mapped pages and cannot hold objects (wendelin.core refuses them too)");

    private static DType? FromName(string name) => name switch
    {
        "bool" or "bool_" => Bool,
        "int8" => Int8,
        "int16" => Int16,
        "int32" => Int32,
        "int64" => Int64,
        "uint8" => UInt8,
        "uint16" => UInt16,
        "uint32" => UInt32,
        "uint64" => UInt64,
        "float16" or "half" => Float16,
        "float32" or "single" => Float32,
        "float64" or "double" => Float64,
        "complex64" => Complex64,
        "complex128" => Complex128,
        _ => null,
    };
}
