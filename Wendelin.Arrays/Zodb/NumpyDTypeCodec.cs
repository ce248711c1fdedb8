using System.Globalization;
using Wendelin.Storage.Pickle;

namespace Wendelin.Arrays.Zodb;

/// <summary>
/// ZBigArray's <c>_dtype</c> (spec/arrays.md AR-4, spec/pickle.md PK-40..PK-42): the pickle layer's
/// <see cref="NumpyDtype"/> reads numpy's reduce form; this turns it into the arrays' <see cref="DType"/> and back.
/// Arrays loaded from a record keep the dtype pickle as read, so it is written back unchanged.
/// </summary>
internal static class NumpyDTypeCodec
{
    /// <summary>The dtype a pickled numpy dtype describes; <see cref="ArgumentException"/> or <see cref="PickleException"/> when it is not one we support.</summary>
    public static DType FromPickle(PickleValue value) => DType.FromNumpy(ToState(NumpyDtype.FromPickle(value), 0));

    /// <summary>The pickle numpy writes for <paramref name="dtype"/> (numpy.dtype(typestr, False, True) then BUILD).</summary>
    public static PickleValue ToPickle(DType dtype) => Encode(dtype.ToNumpy());

    private static NumpyDTypeState ToState(NumpyDtype d, int depth)
    {
        if (depth > 32)
        {
            throw new ArgumentException("numpy dtype nested deeper than 32 levels");
        }
        bool align = d.AlignArgument switch
        {
            PickleBool b => b.Value,
            PickleInt i => i.IsInt64 && i.Int64Value != 0,
            _ => throw new ArgumentException($"numpy dtype align argument is a {d.AlignArgument.Describe()}"),
        };
        NumpyDTypeState? subBase = null;
        long[]? subShape = null;
        if (d.Subarray is { } sub)
        {
            subBase = ToState(sub.Base, depth + 1);
            subShape = sub.Shape switch
            {
                PickleTuple t => [.. t.Select(static v => v.AsInt64())],
                PickleInt i => [i.Int64Value],
                _ => throw new ArgumentException($"numpy subarray shape is a {sub.Shape.Describe()}"),
            };
        }
        List<NumpyDTypeField>? fields = null;
        if (d.Fields is { } fs)
        {
            fields = new List<NumpyDTypeField>(fs.Count);
            foreach (NumpyField f in fs)
            {
                string? title = f.Title is null or PickleNone ? null : f.Title.TryGetString(out string t) ? t : null;
                fields.Add(new NumpyDTypeField(f.Name, ToState(f.Dtype, depth + 1), f.Offset, title));
            }
        }
        return new NumpyDTypeState(d.TypeStr, align, d.Version, d.ByteOrder, subBase, subShape, fields,
            checked((int)d.ElementSize), checked((int)d.Alignment), d.Flags);
    }

    private static PickleObject Encode(NumpyDTypeState s)
    {
        var args = new PickleTuple(new PickleStr(s.TypeStr), PickleValue.FromBoolean(s.Align), PickleValue.True);
        PickleValue sub = PickleValue.None;
        if (s.SubArrayBase is { } b)
        {
            var shape = new PickleValue[s.SubArrayShape!.Length];
            for (int i = 0; i < shape.Length; i++)
            {
                shape[i] = PickleInt.Of(s.SubArrayShape[i]);
            }
            sub = new PickleTuple(Encode(b), new PickleTuple(shape));
        }
        PickleValue names = PickleValue.None, fields = PickleValue.None;
        if (s.Fields is { } fs)
        {
            var nameValues = new PickleValue[fs.Count];
            var dict = new PickleDict();
            for (int i = 0; i < fs.Count; i++)
            {
                NumpyDTypeField f = fs[i];
                var name = new PickleStr(f.Name);
                nameValues[i] = name;
                PickleTuple entry = f.Title is null
                    ? new PickleTuple(Encode(f.Type), PickleInt.Of(f.Offset))
                    : new PickleTuple(Encode(f.Type), PickleInt.Of(f.Offset), new PickleStr(f.Title));
                dict.Set(name, entry);
                if (f.Title is not null)
                {
                    dict.Set(new PickleStr(f.Title), entry);
                }
            }
            names = new PickleTuple(nameValues);
            fields = dict;
        }
        var state = new PickleTuple(
            PickleInt.Of(s.Version), new PickleStr(s.ByteOrder.ToString(CultureInfo.InvariantCulture)), sub, names, fields,
            PickleInt.Of(s.ElSize), PickleInt.Of(s.Alignment), PickleInt.Of(s.Flags));
        return PickleObject.Reduce(new PickleGlobal("numpy", "dtype"), args, state);
    }
}
