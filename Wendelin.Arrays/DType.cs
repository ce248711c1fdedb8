using System.Globalization;
using System.Numerics;
using System.Text;

namespace Wendelin.Arrays;

/// <summary>The kind letter of a NumPy dtype (spec/arrays.md AR-1).</summary>
public enum DTypeKind
{
    /// <summary><c>b</c>: 1-byte boolean.</summary>
    Bool,
    /// <summary><c>i</c>: signed integer.</summary>
    Int,
    /// <summary><c>u</c>: unsigned integer.</summary>
    UInt,
    /// <summary><c>f</c>: IEEE floating point.</summary>
    Float,
    /// <summary><c>c</c>: complex (two floats).</summary>
    Complex,
    /// <summary><c>S</c>: fixed-length byte string, NUL padded.</summary>
    Bytes,
    /// <summary><c>U</c>: fixed-length UCS-4 string (item size = 4 × characters).</summary>
    Unicode,
    /// <summary><c>V</c>: raw bytes; a record (structured) dtype or a subarray dtype is also of this kind.</summary>
    Void,
}

/// <summary>One field of a record dtype: name, type, byte offset inside the record, optional title.</summary>
public sealed record DTypeField(string Name, DType Type, int Offset, string? Title = null);

/// <summary>
/// An element type as NumPy describes it (spec/arrays.md AR-1..AR-4): kind, item size, byte order, and for record
/// dtypes the fields, for subarray dtypes the base and shape. Immutable; equality is structural.
/// Object dtypes (and datetime dtypes) are refused: they cannot live in a memory-mapped array.
/// </summary>
public sealed partial class DType : IEquatable<DType>
{
    private static readonly char NativeOrder = BitConverter.IsLittleEndian ? '<' : '>';

    private DType(DTypeKind kind, int itemSize, char byteOrder, IReadOnlyList<DTypeField>? fields,
        DType? subArrayBase, long[]? subArrayShape, int alignment, long flags, bool alignedStruct)
    {
        Kind = kind;
        ItemSize = itemSize;
        ByteOrder = byteOrder;
        Fields = fields;
        SubArrayBase = subArrayBase;
        _subArrayShape = subArrayShape;
        Alignment = alignment;
        Flags = flags;
        IsAlignedStruct = alignedStruct;
    }

    private readonly long[]? _subArrayShape;

    /// <summary>Kind letter of the dtype.</summary>
    public DTypeKind Kind { get; }

    /// <summary>Size of one item in bytes (NumPy <c>itemsize</c>).</summary>
    public int ItemSize { get; }

    /// <summary><c>'&lt;'</c> little endian, <c>'&gt;'</c> big endian, <c>'|'</c> not applicable (1-byte, S, V, records).</summary>
    public char ByteOrder { get; }

    /// <summary>Fields in declaration order for a record dtype; null otherwise.</summary>
    public IReadOnlyList<DTypeField>? Fields { get; }

    /// <summary>For a subarray dtype (e.g. a field of type <c>('&lt;f8', (3,))</c>): the element dtype; else null.</summary>
    public DType? SubArrayBase { get; }

    /// <summary>For a subarray dtype: its shape; else empty.</summary>
    public ReadOnlySpan<long> SubArrayShape => _subArrayShape;

    /// <summary>NumPy's alignment of the dtype (1 for packed records, S and V; the natural alignment of numbers).</summary>
    public int Alignment { get; }

    /// <summary>NumPy's dtype flags, kept opaque so a record dtype round-trips through its pickled form (AR-4).</summary>
    public long Flags { get; }

    /// <summary>True for a record dtype created with <c>align=True</c> (NumPy's aligned struct).</summary>
    public bool IsAlignedStruct { get; }

    /// <summary>True for a record (structured) dtype.</summary>
    public bool IsRecord => Fields is not null;

    /// <summary>True when typed access needs no byte swapping on this machine.</summary>
    public bool IsNativeByteOrder => ByteOrder == '|' || ByteOrder == NativeOrder;

    /// <summary>The kind letter NumPy uses: b i u f c S U V.</summary>
    public char KindChar => Kind switch
    {
        DTypeKind.Bool => 'b',
        DTypeKind.Int => 'i',
        DTypeKind.UInt => 'u',
        DTypeKind.Float => 'f',
        DTypeKind.Complex => 'c',
        DTypeKind.Bytes => 'S',
        DTypeKind.Unicode => 'U',
        _ => 'V',
    };

    /// <summary>
    /// NumPy's <c>dtype.str</c>: byte order, kind letter and size, e.g. <c>&lt;f8</c>, <c>|u1</c>, <c>|V12</c>,
    /// <c>&lt;U5</c> (the size counts bytes, except for unicode where it counts characters).
    /// </summary>
    public string Str => string.Create(CultureInfo.InvariantCulture, $"{ByteOrder}{KindChar}{SizeInTypeStr}");

    /// <summary>The number in the type string: bytes, or characters for unicode.</summary>
    internal int SizeInTypeStr => Kind == DTypeKind.Unicode ? ItemSize / 4 : ItemSize;

    /// <summary>
    /// The .NET element type for typed views (AR-2): bool, sbyte…long, byte…ulong, Half, float, double,
    /// <see cref="Complex64"/>, <see cref="Complex"/>; null for S, U, V, records and numbers without a .NET type
    /// (float128), which are accessed as bytes or through a user struct of the same size.
    /// </summary>
    public Type? ElementType => (Kind, ItemSize) switch
    {
        (DTypeKind.Bool, 1) => typeof(bool),
        (DTypeKind.Int, 1) => typeof(sbyte),
        (DTypeKind.Int, 2) => typeof(short),
        (DTypeKind.Int, 4) => typeof(int),
        (DTypeKind.Int, 8) => typeof(long),
        (DTypeKind.UInt, 1) => typeof(byte),
        (DTypeKind.UInt, 2) => typeof(ushort),
        (DTypeKind.UInt, 4) => typeof(uint),
        (DTypeKind.UInt, 8) => typeof(ulong),
        (DTypeKind.Float, 2) => typeof(Half),
        (DTypeKind.Float, 4) => typeof(float),
        (DTypeKind.Float, 8) => typeof(double),
        (DTypeKind.Complex, 8) => typeof(Complex64),
        (DTypeKind.Complex, 16) => typeof(Complex),
        _ => null,
    };

    // ---- the common dtypes ----

    public static DType Bool { get; } = Scalar(DTypeKind.Bool, 1);
    public static DType Int8 { get; } = Scalar(DTypeKind.Int, 1);
    public static DType Int16 { get; } = Scalar(DTypeKind.Int, 2);
    public static DType Int32 { get; } = Scalar(DTypeKind.Int, 4);
    public static DType Int64 { get; } = Scalar(DTypeKind.Int, 8);
    public static DType UInt8 { get; } = Scalar(DTypeKind.UInt, 1);
    public static DType UInt16 { get; } = Scalar(DTypeKind.UInt, 2);
    public static DType UInt32 { get; } = Scalar(DTypeKind.UInt, 4);
    public static DType UInt64 { get; } = Scalar(DTypeKind.UInt, 8);
    public static DType Float16 { get; } = Scalar(DTypeKind.Float, 2);
    public static DType Float32 { get; } = Scalar(DTypeKind.Float, 4);
    public static DType Float64 { get; } = Scalar(DTypeKind.Float, 8);
    public static DType Complex64 { get; } = Scalar(DTypeKind.Complex, 8);
    public static DType Complex128 { get; } = Scalar(DTypeKind.Complex, 16);

    /// <summary>The native-order dtype whose <see cref="ElementType"/> is <typeparamref name="T"/>.</summary>
    public static DType Of<T>() where T : unmanaged
    {
        Type t = typeof(T);
        DType? d = t == typeof(bool) ? Bool
            : t == typeof(sbyte) ? Int8 : t == typeof(short) ? Int16 : t == typeof(int) ? Int32 : t == typeof(long) ? Int64
            : t == typeof(byte) ? UInt8 : t == typeof(ushort) ? UInt16 : t == typeof(uint) ? UInt32 : t == typeof(ulong) ? UInt64
            : t == typeof(Half) ? Float16 : t == typeof(float) ? Float32 : t == typeof(double) ? Float64
            : t == typeof(Arrays.Complex64) ? Complex64 : t == typeof(Complex) ? Complex128 : null;
        return d ?? throw new ArgumentException($"{t.Name} has no NumPy dtype; use DType.Void or a record dtype of {System.Runtime.CompilerServices.Unsafe.SizeOf<T>()} bytes", nameof(T));
    }

    /// <summary>A number or bool dtype of the given kind and size in the given byte order ('&lt;', '&gt;', '=' native, '|').</summary>
    public static DType Number(DTypeKind kind, int itemSize, char byteOrder = '=')
    {
        if (kind is DTypeKind.Bytes or DTypeKind.Unicode or DTypeKind.Void)
        {
            throw new ArgumentException($"{kind} is not a number kind", nameof(kind));
        }
        bool ok = kind switch
        {
            DTypeKind.Bool => itemSize == 1,
            DTypeKind.Int or DTypeKind.UInt => itemSize is 1 or 2 or 4 or 8,
            DTypeKind.Float => itemSize is 2 or 4 or 8 or 10 or 12 or 16,
            _ => itemSize is 8 or 16 or 20 or 24 or 32,
        };
        if (!ok)
        {
            throw new ArgumentException($"no NumPy {kind} dtype has item size {itemSize}", nameof(itemSize));
        }
        char order = NormalizeOrder(byteOrder, itemSize == 1 || kind == DTypeKind.Bool);
        return new DType(kind, itemSize, order, null, null, null, NaturalAlignment(kind, itemSize), 0, false);
    }

    /// <summary>Fixed-length byte string <c>S<paramref name="length"/></c>.</summary>
    public static DType Bytes(int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        return new DType(DTypeKind.Bytes, length, '|', null, null, null, 1, 0, false);
    }

    /// <summary>Fixed-length unicode string <c>U<paramref name="characters"/></c> (4 bytes a character).</summary>
    public static DType Unicode(int characters, char byteOrder = '=')
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(characters, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(characters, int.MaxValue / 4);
        return new DType(DTypeKind.Unicode, characters * 4, NormalizeOrder(byteOrder, false), null, null, null, 4, 0, false);
    }

    /// <summary>Raw bytes <c>V<paramref name="size"/></c>.</summary>
    public static DType Void(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        return new DType(DTypeKind.Void, size, '|', null, null, null, 1, 0, false);
    }

    /// <summary>A subarray dtype: <paramref name="shape"/> items of <paramref name="baseType"/> (NumPy <c>(base, shape)</c>).</summary>
    public static DType SubArray(DType baseType, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(baseType);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (long n in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(n, nameof(shape));
            count = Layout.CheckedMul(count, n, "subarray size");
        }
        long size = Layout.CheckedMul(count, baseType.ItemSize, "subarray size");
        if (size < 1 || size > int.MaxValue)
        {
            throw new ArgumentException($"subarray of {size} bytes is not a usable item size", nameof(shape));
        }
        return new DType(DTypeKind.Void, (int)size, '|', null, baseType, (long[])shape.Clone(), baseType.Alignment, baseType.Flags, false);
    }

    /// <summary>
    /// A record dtype with fields packed one after another (NumPy's default, <c>align=False</c>), or aligned to
    /// each field's alignment with the item size rounded to the largest alignment (<paramref name="align"/>).
    /// </summary>
    public static DType Record(IReadOnlyList<(string Name, DType Type)> fields, bool align = false)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var list = new DTypeField[fields.Count];
        long offset = 0;
        int maxAlign = 1;
        for (int i = 0; i < fields.Count; i++)
        {
            var (name, type) = fields[i];
            ArgumentNullException.ThrowIfNull(type);
            if (align)
            {
                offset = (offset + type.Alignment - 1) / type.Alignment * type.Alignment;
                maxAlign = Math.Max(maxAlign, type.Alignment);
            }
            if (offset > int.MaxValue)
            {
                throw new ArgumentException("record too large", nameof(fields));
            }
            list[i] = new DTypeField(name, type, (int)offset, null);
            offset += type.ItemSize;
        }
        if (align)
        {
            offset = (offset + maxAlign - 1) / maxAlign * maxAlign;
        }
        if (offset > int.MaxValue)
        {
            throw new ArgumentException("record too large", nameof(fields));
        }
        return Record(list, (int)offset, align);
    }

    /// <summary>A record dtype with explicit field offsets and item size (NumPy's <c>{'names','formats','offsets','itemsize'}</c> form).</summary>
    public static DType Record(IReadOnlyList<DTypeField> fields, int itemSize, bool alignedStruct = false)
        => Record(fields, itemSize, alignedStruct, alignment: null, flags: null);

    internal static DType Record(IReadOnlyList<DTypeField> fields, int itemSize, bool alignedStruct, int? alignment, long? flags)
    {
        ArgumentNullException.ThrowIfNull(fields);
        if (fields.Count == 0)
        {
            throw new ArgumentException("a record dtype needs at least one field", nameof(fields));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(itemSize, 1);
        var names = new HashSet<string>(StringComparer.Ordinal);
        int maxAlign = 1;
        foreach (DTypeField f in fields)
        {
            ArgumentNullException.ThrowIfNull(f);
            ArgumentNullException.ThrowIfNull(f.Type);
            if (string.IsNullOrEmpty(f.Name))
            {
                throw new ArgumentException("record field names must not be empty", nameof(fields));
            }
            if (!names.Add(f.Name))
            {
                throw new ArgumentException($"duplicate record field name '{f.Name}'", nameof(fields));
            }
            if (f.Offset < 0 || (long)f.Offset + f.Type.ItemSize > itemSize)
            {
                throw new ArgumentException($"field '{f.Name}' ({f.Type.Str} at offset {f.Offset}) does not fit in a {itemSize}-byte record", nameof(fields));
            }
            maxAlign = Math.Max(maxAlign, f.Type.Alignment);
        }
        // NumPy: a structured dtype has NPY_NEEDS_PYAPI (0x10); align=True adds NPY_ALIGNED_STRUCT (0x80) (AR-4).
        long defaultFlags = 0x10 | (alignedStruct ? 0x80 : 0);
        return new DType(DTypeKind.Void, itemSize, '|', fields.ToArray(), null, null,
            alignment ?? (alignedStruct ? maxAlign : 1), flags ?? defaultFlags, alignedStruct);
    }

    /// <summary>The field named <paramref name="name"/> of a record dtype.</summary>
    public DTypeField Field(string name)
    {
        if (Fields is not null)
        {
            foreach (DTypeField f in Fields)
            {
                if (f.Name == name)
                {
                    return f;
                }
            }
        }
        throw new ArgumentException($"dtype {this} has no field '{name}'", nameof(name));
    }

    /// <summary>This dtype with the other byte order ('&lt;' ↔ '&gt;'); '|' dtypes are returned unchanged.</summary>
    public DType WithByteOrder(char byteOrder)
    {
        if (ByteOrder == '|' || Fields is not null || SubArrayBase is not null)
        {
            return this;
        }
        char order = NormalizeOrder(byteOrder, false);
        return order == ByteOrder ? this : new DType(Kind, ItemSize, order, null, null, null, Alignment, Flags, false);
    }

    private static DType Scalar(DTypeKind kind, int size) => Number(kind, size);

    private static char NormalizeOrder(char order, bool notApplicable)
    {
        if (notApplicable)
        {
            return order is '<' or '>' or '=' or '|' ? '|' : throw BadOrder(order);
        }
        return order switch
        {
            '<' or '>' => order,
            '=' or '|' => NativeOrder,
            _ => throw BadOrder(order),
        };
    }

    private static ArgumentException BadOrder(char order) =>
        new($"byte order must be one of '<', '>', '=', '|', not '{order}'", nameof(order));

    private static int NaturalAlignment(DTypeKind kind, int itemSize) => kind switch
    {
        DTypeKind.Complex => itemSize / 2 > 8 ? 16 : itemSize / 2,
        _ => itemSize > 8 ? 16 : itemSize,
    };

    // ---- equality and text ----

    public bool Equals(DType? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }
        if (other is null || Kind != other.Kind || ItemSize != other.ItemSize || ByteOrder != other.ByteOrder)
        {
            return false;
        }
        if (!Equals(SubArrayBase, other.SubArrayBase) || !SubArrayShape.SequenceEqual(other.SubArrayShape))
        {
            return false;
        }
        if (Fields is null || other.Fields is null)
        {
            return Fields is null && other.Fields is null;
        }
        if (Fields.Count != other.Fields.Count)
        {
            return false;
        }
        for (int i = 0; i < Fields.Count; i++)
        {
            if (!Fields[i].Equals(other.Fields[i]))
            {
                return false;
            }
        }
        return true;
    }

    public override bool Equals(object? obj) => obj is DType d && Equals(d);

    public override int GetHashCode() => HashCode.Combine(Kind, ItemSize, ByteOrder, Fields?.Count ?? -1, SubArrayBase);

    public static bool operator ==(DType? a, DType? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(DType? a, DType? b) => !(a == b);
}

/// <summary>NumPy's <c>complex64</c>: two float32 (real, imaginary), 8 bytes.</summary>
public readonly record struct Complex64(float Real, float Imaginary)
{
    public static implicit operator Complex(Complex64 c) => new(c.Real, c.Imaginary);

    public static explicit operator Complex64(Complex c) => new((float)c.Real, (float)c.Imaginary);
}
