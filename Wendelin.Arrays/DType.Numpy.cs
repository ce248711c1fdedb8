using System.Globalization;

namespace Wendelin.Arrays;

/// <summary>
/// NumPy's pickled dtype, as <c>numpy.dtype</c> reduces it (wendelin-core.md 2.7; spec/arrays.md AR-4): the
/// constructor arguments <c>(TypeStr, Align, Copy)</c> and the BUILD state
/// <c>(Version, ByteOrder, SubArray, Names, Fields, ElSize, Alignment, Flags[, Metadata])</c>. The pickle layer
/// (ZBigArray) converts between this and pickle values; <see cref="DType.FromNumpy"/> and
/// <see cref="DType.ToNumpy"/> convert between this and <see cref="DType"/>.
/// </summary>
/// <param name="TypeStr">Kind letter and size without byte order: <c>f8</c>, <c>u1</c>, <c>V12</c>, <c>S10</c>, <c>U5</c> (characters).</param>
/// <param name="Align">The second constructor argument (NumPy always writes 0/False).</param>
/// <param name="Version">State version: 3 (8 items) or 4 (9 items, with metadata).</param>
/// <param name="ByteOrder"><c>&lt;</c>, <c>&gt;</c> or <c>|</c>.</param>
/// <param name="SubArrayBase">For a subarray dtype: the element dtype; else null.</param>
/// <param name="SubArrayShape">For a subarray dtype: its shape; else null.</param>
/// <param name="Fields">For a record dtype: the fields in the order of the pickled <c>names</c> tuple; else null.</param>
/// <param name="ElSize">Item size for S, U, V and records; -1 for numbers.</param>
/// <param name="Alignment">Alignment for S, U, V and records; -1 for numbers.</param>
/// <param name="Flags">NumPy dtype flags (opaque).</param>
internal sealed record NumpyDTypeState(
    string TypeStr,
    bool Align,
    int Version,
    char ByteOrder,
    NumpyDTypeState? SubArrayBase,
    long[]? SubArrayShape,
    IReadOnlyList<NumpyDTypeField>? Fields,
    int ElSize,
    int Alignment,
    long Flags);

/// <summary>One entry of a pickled record dtype: <c>fields[name] = (dtype, offset[, title])</c>.</summary>
internal sealed record NumpyDTypeField(string Name, NumpyDTypeState Type, long Offset, string? Title);

public sealed partial class DType
{
    /// <summary>
    /// Builds the dtype a pickled NumPy dtype describes (AR-4). Inconsistent descriptions (item size not matching
    /// the type string, fields outside the record, unknown kinds) and object dtypes throw <see cref="ArgumentException"/>;
    /// the caller wraps it in its layer's exception with the record's position.
    /// </summary>
    internal static DType FromNumpy(NumpyDTypeState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        string ts = state.TypeStr;
        if (ts.Length == 0)
        {
            throw new ArgumentException("pickled dtype has an empty type string");
        }
        char kind = ts[0];
        if (kind == 'O')
        {
            throw ObjectRefused(ts);
        }
        if (kind is 'M' or 'm')
        {
            throw new ArgumentException($"dtype '{ts}': datetime and timedelta dtypes are not supported");
        }
        if (state.Version is not (3 or 4))
        {
            throw new ArgumentException($"dtype '{ts}': pickled state version {state.Version} is not 3 or 4");
        }
        if (ts.Length < 2 || !int.TryParse(ts.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int size) || size < 1)
        {
            throw new ArgumentException($"dtype '{ts}': type string needs a kind letter and a positive size");
        }
        char order = state.ByteOrder;
        if (order is not ('<' or '>' or '|' or '='))
        {
            throw new ArgumentException($"dtype '{ts}': byte order '{order}' is not one of < > | =");
        }

        if (state.Fields is { } fields)
        {
            if (kind != 'V')
            {
                throw new ArgumentException($"dtype '{ts}': a record dtype must have kind V");
            }
            if (state.ElSize != size)
            {
                throw new ArgumentException($"dtype '{ts}': record item size {state.ElSize} differs from the type string");
            }
            var list = new DTypeField[fields.Count];
            for (int i = 0; i < fields.Count; i++)
            {
                NumpyDTypeField f = fields[i];
                if (f.Offset < 0 || f.Offset > int.MaxValue)
                {
                    throw new ArgumentException($"dtype '{ts}': field '{f.Name}' has offset {f.Offset}");
                }
                list[i] = new DTypeField(f.Name, FromNumpy(f.Type), (int)f.Offset, f.Title);
            }
            bool aligned = state.Align || (state.Flags & 0x80) != 0;
            return Record(list, size, aligned, state.Alignment > 0 ? state.Alignment : null, state.Flags);
        }

        if (state.SubArrayBase is { } sub)
        {
            if (kind != 'V' || state.SubArrayShape is null)
            {
                throw new ArgumentException($"dtype '{ts}': a subarray dtype must have kind V and a shape");
            }
            DType b = FromNumpy(sub);
            DType d = SubArray(b, state.SubArrayShape);
            if (d.ItemSize != size)
            {
                throw new ArgumentException($"dtype '{ts}': subarray of {d.ItemSize} bytes differs from the type string");
            }
            return d;
        }

        DType plain = FromKindAndSize(kind, size, order, ts);
        if (state.ElSize != -1 && state.ElSize != plain.ItemSize)
        {
            throw new ArgumentException($"dtype '{ts}': pickled item size {state.ElSize} differs from the type string");
        }
        if (plain.Kind is DTypeKind.Bytes or DTypeKind.Unicode or DTypeKind.Void && state.Flags != plain.Flags)
        {
            return new DType(plain.Kind, plain.ItemSize, plain.ByteOrder, null, null, null, plain.Alignment, state.Flags, false);
        }
        return plain;
    }

    /// <summary>The pickled form NumPy writes for this dtype (AR-4): version 3, <c>Align</c> false.</summary>
    internal NumpyDTypeState ToNumpy()
    {
        string ts = string.Create(CultureInfo.InvariantCulture, $"{KindChar}{SizeInTypeStr}");
        if (Fields is { } fields)
        {
            var list = new NumpyDTypeField[fields.Count];
            for (int i = 0; i < fields.Count; i++)
            {
                list[i] = new NumpyDTypeField(fields[i].Name, fields[i].Type.ToNumpy(), fields[i].Offset, fields[i].Title);
            }
            return new NumpyDTypeState(ts, false, 3, '|', null, null, list, ItemSize, Alignment, Flags);
        }
        if (SubArrayBase is { } b)
        {
            return new NumpyDTypeState(ts, false, 3, '|', b.ToNumpy(), SubArrayShape.ToArray(), null, ItemSize, Alignment, Flags);
        }
        bool flexible = Kind is DTypeKind.Bytes or DTypeKind.Unicode or DTypeKind.Void;
        return new NumpyDTypeState(ts, false, 3, ByteOrder, null, null, null,
            flexible ? ItemSize : -1, flexible ? Alignment : -1, Flags);
    }
}
