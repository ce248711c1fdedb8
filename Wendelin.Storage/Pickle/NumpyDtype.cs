using System.Globalization;
using System.Numerics;

namespace Wendelin.Storage.Pickle;

/// <summary>One field of a structured (record) dtype.</summary>
public sealed record NumpyField(string Name, NumpyDtype Dtype, long Offset, PickleValue? Title);

/// <summary>
/// A numpy dtype as pickled inside ZBigArray's <c>_dtype</c> (wendelin-core §2.7, spec/pickle.md §8, PK-40..PK-42):
/// <c>numpy.dtype(typestr, align, copy)</c> rebuilt by REDUCE, then BUILD with the state tuple
/// <c>(version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])</c>.
/// <see cref="FromPickle"/> reads that form; <see cref="ToPickle"/> gives it back so that the writer reproduces
/// numpy's bytes (the flags keep their pickled kind, <c>False/True</c> or <c>0/1</c>).
/// </summary>
public sealed class NumpyDtype
{
    private NumpyDtype(string typeStr, PickleValue alignArg, PickleValue copyArg, int version, char byteOrder,
        (NumpyDtype Base, PickleValue Shape)? subarray, IReadOnlyList<NumpyField>? fields, long elementSize, long alignment,
        long flags, PickleValue? metadata)
    {
        TypeStr = typeStr;
        AlignArgument = alignArg;
        CopyArgument = copyArg;
        Version = version;
        ByteOrder = byteOrder;
        Subarray = subarray;
        Fields = fields;
        ElementSize = elementSize;
        Alignment = alignment;
        Flags = flags;
        Metadata = metadata;
    }

    /// <summary>The first constructor argument: kind letter and size, e.g. <c>f8</c>, <c>u1</c>, <c>S10</c>, <c>V12</c>.</summary>
    public string TypeStr { get; }

    /// <summary>The kind letter: b, i, u, f, c, S, U, V, M, m, O, ...</summary>
    public char Kind => TypeStr.Length > 0 ? TypeStr[0] : '?';

    /// <summary>The second constructor argument as pickled (<c>False</c> or <c>0</c>).</summary>
    public PickleValue AlignArgument { get; }

    /// <summary>The third constructor argument as pickled (<c>True</c> or <c>1</c>).</summary>
    public PickleValue CopyArgument { get; }

    /// <summary>State version: 3 (8 items) or 4 (9 items, with metadata).</summary>
    public int Version { get; }

    /// <summary><c>'&lt;'</c> little-endian, <c>'&gt;'</c> big-endian, <c>'|'</c> not applicable.</summary>
    public char ByteOrder { get; }

    /// <summary>For a subarray dtype: the base dtype and the shape (as pickled, normally a tuple of ints).</summary>
    public (NumpyDtype Base, PickleValue Shape)? Subarray { get; }

    /// <summary>For a structured dtype: the fields in order; null otherwise.</summary>
    public IReadOnlyList<NumpyField>? Fields { get; }

    /// <summary>State elsize: -1 for fixed-size scalar kinds, the size in bytes for flexible and record kinds.</summary>
    public long ElementSize { get; }

    /// <summary>State alignment: -1 for fixed-size scalar kinds.</summary>
    public long Alignment { get; }

    /// <summary>State flags (opaque, kept for the round trip).</summary>
    public long Flags { get; }

    /// <summary>The 9th state item (version 4): metadata, e.g. datetime unit info; null for version 3.</summary>
    public PickleValue? Metadata { get; }

    /// <summary>numpy's <c>descr.str</c>: byte order and type string, e.g. <c>&lt;f8</c>, <c>|u1</c>.</summary>
    public string Descr => ByteOrder + TypeStr;

    /// <summary>Bytes per element: the state's elsize when given, else the size in the type string.</summary>
    public long ItemSize
    {
        get
        {
            if (ElementSize > 0)
            {
                return ElementSize;
            }
            return long.TryParse(TypeStr.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out long n)
                ? (Kind == 'U' ? 4 * n : n) : -1;
        }
    }

    /// <summary>True for plain numeric scalars: no fields, no subarray, no metadata.</summary>
    public bool IsSimple => Fields is null && Subarray is null && Metadata is null or PickleNone;

    /// <summary>True when multi-byte elements are stored big-endian.</summary>
    public bool IsBigEndian => ByteOrder == '>';

    /// <summary>
    /// The .NET element type of a simple numeric dtype (b1 bool, i1..i8, u1..u8, f2 Half, f4 float, f8 double,
    /// c16 Complex), or null (other kinds, structured, subarray). Byte order is <see cref="ByteOrder"/>.
    /// </summary>
    public Type? ScalarType => !IsSimple ? null : TypeStr switch
    {
        "b1" => typeof(bool),
        "i1" => typeof(sbyte),
        "u1" => typeof(byte),
        "i2" => typeof(short),
        "u2" => typeof(ushort),
        "i4" => typeof(int),
        "u4" => typeof(uint),
        "i8" => typeof(long),
        "u8" => typeof(ulong),
        "f2" => typeof(Half),
        "f4" => typeof(float),
        "f8" => typeof(double),
        "c16" => typeof(Complex),
        _ => null,
    };

    /// <summary>
    /// A simple dtype from numpy's <c>descr.str</c> (e.g. <c>&lt;f8</c>, <c>|u1</c>, <c>&gt;i4</c>), pickled as current
    /// numpy does: args <c>(typestr, False, True)</c>, state <c>(3, order, None, None, None, -1, -1, 0)</c>.
    /// </summary>
    public static NumpyDtype FromDescr(string descr)
    {
        ArgumentNullException.ThrowIfNull(descr);
        if (descr.Length < 3 || descr[0] is not ('<' or '>' or '|') || !char.IsAsciiLetter(descr[1]))
        {
            throw new ArgumentException($"not a dtype descr: '{descr}'", nameof(descr));
        }
        string typeStr = descr[1..];
        char order = descr[0];
        if (typeStr is "u1" or "i1" or "b1")
        {
            order = '|';
        }
        return new NumpyDtype(typeStr, PickleValue.False, PickleValue.True, 3, order, null, null, -1, -1, 0, null);
    }

    /// <summary>A structured dtype (numpy "V" kind) from its fields, as numpy pickles it.</summary>
    public static NumpyDtype Structured(IReadOnlyList<NumpyField> fields, long itemSize, long alignment = 1, long flags = 16)
    {
        ArgumentNullException.ThrowIfNull(fields);
        return new NumpyDtype("V" + itemSize.ToString(CultureInfo.InvariantCulture), PickleValue.False, PickleValue.True,
            3, '|', null, fields.ToArray(), itemSize, alignment, flags, null);
    }

    /// <summary>Reads the pickled form; <see cref="PickleException"/> when <paramref name="value"/> is not a numpy dtype (PK-41).</summary>
    public static NumpyDtype FromPickle(PickleValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Parse(value, new Dictionary<PickleValue, NumpyDtype>(ReferenceEqualityComparer.Instance), 0);
    }

    public static bool TryFromPickle(PickleValue value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out NumpyDtype? dtype)
    {
        try
        {
            dtype = FromPickle(value);
            return true;
        }
        catch (PickleException)
        {
            dtype = null;
            return false;
        }
    }

    /// <summary>The pickled form: REDUCE of <c>numpy.dtype</c> plus BUILD state (PK-42).</summary>
    public PickleObject ToPickle() => Encode(new Dictionary<NumpyDtype, PickleObject>(ReferenceEqualityComparer.Instance));

    public override string ToString() => Fields is null ? Descr : $"{Descr}[{string.Join(", ", Fields.Select(f => $"{f.Name}:{f.Dtype}@{f.Offset}"))}]";

    private static NumpyDtype Parse(PickleValue value, Dictionary<PickleValue, NumpyDtype> seen, int depth)
    {
        if (seen.TryGetValue(value, out NumpyDtype? known))
        {
            return known;
        }
        if (depth > 32)
        {
            throw new PickleException("numpy dtype nested deeper than 32 levels (PK-41)");
        }
        if (value is not PickleObject { Construction: PickleConstruction.Reduce, Callable: PickleGlobal g } o
            || g.Name != "dtype" || g.Module is not ("numpy" or "numpy.core.multiarray" or "numpy._core.multiarray"))
        {
            throw value.Mismatch("a numpy.dtype (PK-41)");
        }
        PickleTuple args = o.Args.AsTuple().ExpectCount(3);
        string typeStr = args[0].AsString();
        if (o.State is not PickleTuple st || st.Count is not (8 or 9))
        {
            throw new PickleException($"numpy dtype state must be a tuple of 8 or 9 items (PK-41), got {o.State?.Describe() ?? "none"}");
        }
        int version = (int)st[0].AsInt64();
        string order = st[1].AsString();
        if (order.Length != 1)
        {
            throw new PickleException($"numpy dtype byte order '{order}' is not one character (PK-41)");
        }
        (NumpyDtype, PickleValue)? subarray = null;
        if (st[2] is not PickleNone)
        {
            PickleTuple sub = st[2].AsTuple().ExpectCount(2);
            subarray = (Parse(sub[0], seen, depth + 1), sub[1]);
        }
        List<NumpyField>? fields = null;
        if (st[3] is not PickleNone)
        {
            PickleTuple names = st[3].AsTuple();
            PickleDict dict = st[4].AsDict();
            fields = new List<NumpyField>(names.Count);
            foreach (PickleValue n in names)
            {
                PickleTuple f = dict[n].AsTuple();
                if (f.Count is not (2 or 3))
                {
                    throw new PickleException("numpy dtype field must be (dtype, offset[, title]) (PK-41)");
                }
                fields.Add(new NumpyField(n.AsString(), Parse(f[0], seen, depth + 1), f[1].AsInt64(), f.Count == 3 ? f[2] : null));
            }
        }
        else if (st[4] is not PickleNone)
        {
            throw new PickleException("numpy dtype has fields but no names (PK-41)");
        }
        var d = new NumpyDtype(typeStr, args[1], args[2], version, order[0], subarray, fields,
            st[5].AsInt64(), st[6].AsInt64(), st[7].AsInt64(), st.Count == 9 ? st[8] : null);
        seen[value] = d;
        return d;
    }

    private PickleObject Encode(Dictionary<NumpyDtype, PickleObject> done)
    {
        // A dtype met twice (e.g. two fields of one type object) is one object in numpy: keep the sharing.
        if (done.TryGetValue(this, out PickleObject? known))
        {
            return known;
        }
        var args = new PickleTuple(new PickleStr(TypeStr), AlignArgument, CopyArgument);
        PickleValue sub = Subarray is { } s ? new PickleTuple(s.Base.Encode(done), s.Shape) : PickleValue.None;
        PickleValue names = PickleValue.None, fields = PickleValue.None;
        if (Fields is not null)
        {
            var nameValues = new PickleValue[Fields.Count];
            var dict = new PickleDict();
            for (int i = 0; i < Fields.Count; i++)
            {
                NumpyField f = Fields[i];
                var name = new PickleStr(f.Name);
                nameValues[i] = name;
                PickleTuple entry = f.Title is null
                    ? new PickleTuple(f.Dtype.Encode(done), PickleInt.Of(f.Offset))
                    : new PickleTuple(f.Dtype.Encode(done), PickleInt.Of(f.Offset), f.Title);
                dict.Set(name, entry);
                if (f.Title is not null and not PickleNone)
                {
                    dict.Set(f.Title, entry);
                }
            }
            names = new PickleTuple(nameValues);
            fields = dict;
        }
        var items = new List<PickleValue>(9)
        {
            PickleInt.Of(Version), new PickleStr(ByteOrder.ToString()), sub, names, fields,
            PickleInt.Of(ElementSize), PickleInt.Of(Alignment), PickleInt.Of(Flags),
        };
        if (Metadata is not null)
        {
            items.Add(Metadata);
        }
        var o = PickleObject.Reduce(new PickleGlobal("numpy", "dtype"), args, PickleTuple.FromItems(items));
        done[this] = o;
        return o;
    }
}
