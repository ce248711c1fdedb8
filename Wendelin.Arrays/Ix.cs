using System.Globalization;
using System.Text;

namespace Wendelin.Arrays;

/// <summary>
/// One entry of a NumPy basic index (spec/arrays.md AR-8): an integer, a slice <c>start:stop:step</c>,
/// <see cref="NewAxis"/> (<c>None</c>) or <see cref="Ellipsis"/> (<c>...</c>). Integers and C# ranges convert
/// implicitly, so <c>a[3, 1..^1, Ix.Slice(step: -2)]</c> reads like <c>a[3, 1:-1, ::-2]</c>.
/// </summary>
public readonly struct Ix : IEquatable<Ix>
{
    internal enum IxKind : byte
    {
        Int,
        Slice,
        NewAxis,
        Ellipsis,
    }

    private Ix(IxKind kind, long value, long? start, long? stop, long step)
    {
        Kind = kind;
        Value = value;
        Start = start;
        Stop = stop;
        Step = step;
    }

    internal IxKind Kind { get; }

    internal long Value { get; }

    internal long? Start { get; }

    internal long? Stop { get; }

    internal long Step { get; }

    /// <summary>An integer index (negative counts from the end); the axis is dropped from the result.</summary>
    public static Ix At(long index) => new(IxKind.Int, index, null, null, 1);

    /// <summary>A slice <c>start:stop:step</c> with NumPy's defaults and clamping; <paramref name="step"/> must not be 0.</summary>
    public static Ix Slice(long? start = null, long? stop = null, long step = 1)
    {
        if (step == 0)
        {
            throw new ArgumentException("slice step cannot be zero", nameof(step));
        }
        return new(IxKind.Slice, 0, start, stop, step);
    }

    /// <summary><c>:</c>, the whole axis.</summary>
    public static Ix All => Slice();

    /// <summary><c>None</c> / <c>numpy.newaxis</c>: inserts an axis of length 1.</summary>
    public static Ix NewAxis => new(IxKind.NewAxis, 0, null, null, 1);

    /// <summary><c>...</c>: as many <c>:</c> as needed to index every axis (at most one per index).</summary>
    public static Ix Ellipsis => new(IxKind.Ellipsis, 0, null, null, 1);

    public static implicit operator Ix(long index) => At(index);

    public static implicit operator Ix(int index) => At(index);

    /// <summary>A C# range as a slice with step 1: <c>1..^1</c> is <c>1:-1</c>, <c>^3..</c> is <c>-3:</c>.</summary>
    public static implicit operator Ix(Range range) => Slice(FromIndex(range.Start, isStart: true), FromIndex(range.End, isStart: false));

    private static long? FromIndex(Index i, bool isStart)
    {
        if (!i.IsFromEnd)
        {
            return isStart && i.Value == 0 ? null : i.Value;
        }
        if (i.Value == 0)
        {
            // ^0: the end of the axis; as a start it selects nothing, as a stop it is the default
            return isStart ? long.MaxValue : null;
        }
        return -(long)i.Value;
    }

    public static Ix FromInt64(long index) => At(index);

    public static Ix FromInt32(int index) => At(index);

    public static Ix FromRange(Range range) => range;

    /// <summary>
    /// Parses NumPy index text: comma-separated entries, each an integer, a slice <c>[start]:[stop][:step]</c>,
    /// <c>None</c>/<c>newaxis</c> or <c>...</c>, e.g. <c>"1:-1, ..., ::-2, None"</c>.
    /// </summary>
    public static Ix[] Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        if (t.Length == 0)
        {
            return [];
        }
        string[] parts = t.Split(',');
        var result = new List<Ix>(parts.Length);
        for (int p = 0; p < parts.Length; p++)
        {
            string part = parts[p].Trim();
            if (part.Length == 0)
            {
                if (p == parts.Length - 1 && p > 0)
                {
                    break; // trailing comma as in "3,"
                }
                throw new ArgumentException($"empty entry in index '{text}'", nameof(text));
            }
            if (part is "..." or "Ellipsis")
            {
                result.Add(Ellipsis);
            }
            else if (part is "None" or "newaxis" or "np.newaxis" or "numpy.newaxis")
            {
                result.Add(NewAxis);
            }
            else if (part.Contains(':', StringComparison.Ordinal))
            {
                string[] f = part.Split(':');
                if (f.Length > 3)
                {
                    throw new ArgumentException($"slice '{part}' has more than two colons", nameof(text));
                }
                long? start = ParseOptional(f[0], text);
                long? stop = ParseOptional(f[1], text);
                long? step = f.Length == 3 ? ParseOptional(f[2], text) : null;
                result.Add(Slice(start, stop, step ?? 1));
            }
            else
            {
                result.Add(At(ParseLong(part, text)));
            }
        }
        return result.ToArray();
    }

    private static long? ParseOptional(string s, string text)
    {
        s = s.Trim();
        return s.Length == 0 || s == "None" ? null : ParseLong(s, text);
    }

    private static long ParseLong(string s, string text)
    {
        if (!long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
        {
            throw new ArgumentException($"'{s}' in index '{text}' is not an integer", nameof(text));
        }
        return v;
    }

    /// <summary>NumPy text of this entry: <c>3</c>, <c>1:-1:2</c>, <c>None</c>, <c>...</c>.</summary>
    public override string ToString()
    {
        switch (Kind)
        {
            case IxKind.Int:
                return Value.ToString(CultureInfo.InvariantCulture);
            case IxKind.NewAxis:
                return "None";
            case IxKind.Ellipsis:
                return "...";
            default:
                var sb = new StringBuilder();
                if (Start is { } a)
                {
                    sb.Append(a.ToString(CultureInfo.InvariantCulture));
                }
                sb.Append(':');
                if (Stop is { } b)
                {
                    sb.Append(b.ToString(CultureInfo.InvariantCulture));
                }
                if (Step != 1)
                {
                    sb.Append(':').Append(Step.ToString(CultureInfo.InvariantCulture));
                }
                return sb.ToString();
        }
    }

    /// <summary>NumPy text of a whole index, e.g. <c>[1:-1, ..., None]</c>.</summary>
    public static string Format(ReadOnlySpan<Ix> index)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < index.Length; i++)
        {
            sb.Append(i == 0 ? "" : ", ").Append(index[i].ToString());
        }
        return sb.Append(']').ToString();
    }

    public bool Equals(Ix other) => Kind == other.Kind && Value == other.Value && Start == other.Start && Stop == other.Stop && Step == other.Step;

    public override bool Equals(object? obj) => obj is Ix other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Kind, Value, Start, Stop, Step);

    public static bool operator ==(Ix left, Ix right) => left.Equals(right);

    public static bool operator !=(Ix left, Ix right) => !left.Equals(right);
}
