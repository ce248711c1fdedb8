using System.Numerics;

namespace Wendelin.Storage.Pickle;

/// <summary>What a <see cref="PickleValue"/> is (spec/pickle.md §3, the value model).</summary>
public enum PickleKind
{
    None,
    Bool,
    Int,
    Float,
    Str,
    Bytes,
    ByteString,
    Tuple,
    List,
    Dict,
    Set,
    Global,
    Object,
    PersistentId,
}

/// <summary>
/// A value a pickle can hold (spec/pickle.md §3). Values form a graph, not a tree: the reader gives the same
/// instance wherever the pickle refers to one memo entry, and the writer emits a memo reference (BINGET) wherever
/// the same instance appears again, as Python's pickler does for the same object (PK-11). <see cref="Equals(object)"/>
/// is structural (kinds, values and order; cycles allowed); Python's dictionary-key equality, where
/// <c>1 == 1.0 == True</c>, is used only for keys of a <see cref="PickleDict"/> and members of a <see cref="PickleSet"/>.
/// Typed accessors (<see cref="AsInt64"/>, <see cref="AsTuple"/>, ...) throw <see cref="PickleException"/> when the
/// value is of another kind, so a state of an unexpected shape fails like any other corrupt record.
/// </summary>
public abstract class PickleValue : IEquatable<PickleValue>
{
    /// <summary>Values nested deeper than this are refused by every recursive walk (PK-22).</summary>
    public const int MaxDepth = 1000;

    private protected PickleValue()
    {
    }

    public abstract PickleKind Kind { get; }

    /// <summary>Python's <c>None</c>.</summary>
    public static PickleNone None => PickleNone.Instance;

    public static PickleBool True => PickleBool.TrueValue;

    public static PickleBool False => PickleBool.FalseValue;

    public bool IsNone => Kind == PickleKind.None;

    // ---- factories (the named alternates of the implicit conversions) ----

    public static PickleInt FromInt64(long value) => PickleInt.Of(value);

    public static PickleInt FromBigInteger(BigInteger value) => PickleInt.Of(value);

    public static PickleFloat FromDouble(double value) => new(value);

    public static PickleBool FromBoolean(bool value) => value ? PickleBool.TrueValue : PickleBool.FalseValue;

    public static PickleStr FromString(string value) => new(value);

    public static PickleBytes FromBytes(ReadOnlyMemory<byte> value) => new(value);

    public static implicit operator PickleValue(long value) => PickleInt.Of(value);

    public static implicit operator PickleValue(int value) => PickleInt.Of(value);

    public static implicit operator PickleValue(BigInteger value) => PickleInt.Of(value);

    public static implicit operator PickleValue(double value) => new PickleFloat(value);

    public static implicit operator PickleValue(bool value) => FromBoolean(value);

    public static implicit operator PickleValue(string value) => new PickleStr(value);

    public static implicit operator PickleValue(byte[] value) => new PickleBytes(value);

    // ---- typed accessors ----

    /// <summary>The integer (an int that fits 64 bits, or a bool as 0/1 like Python).</summary>
    public long AsInt64()
    {
        if (TryGetInt64(out long v))
        {
            return v;
        }
        throw Mismatch(this is PickleInt ? "an int within 64 bits" : "an int");
    }

    public bool TryGetInt64(out long value)
    {
        switch (this)
        {
            case PickleInt i when i.IsInt64:
                value = i.Int64Value;
                return true;
            case PickleBool b:
                value = b.Value ? 1 : 0;
                return true;
            default:
                value = 0;
                return false;
        }
    }

    public BigInteger AsBigInteger() => this switch
    {
        PickleInt i => i.BigValue,
        PickleBool b => b.Value ? BigInteger.One : BigInteger.Zero,
        _ => throw Mismatch("an int"),
    };

    /// <summary>A float, or an int converted like Python's <c>float(x)</c>.</summary>
    public double AsDouble() => this switch
    {
        PickleFloat f => f.Value,
        PickleInt i => i.IsInt64 ? i.Int64Value : (double)i.BigValue,
        _ => throw Mismatch("a float"),
    };

    public bool AsBoolean() => this is PickleBool b ? b.Value : throw Mismatch("a bool");

    /// <summary>
    /// Text: a Python-3 <c>str</c>, or a Python-2 <c>str</c> that is ASCII (how Python-3 ZODB reads such strings,
    /// spec/pickle.md PK-14).
    /// </summary>
    public string AsString() => this switch
    {
        PickleStr s => s.Value,
        PickleByteString b when b.TryGetAscii(out string? text) => text,
        _ => throw Mismatch("a str"),
    };

    public bool TryGetString(out string value)
    {
        switch (this)
        {
            case PickleStr s:
                value = s.Value;
                return true;
            case PickleByteString b when b.TryGetAscii(out string? text):
                value = text;
                return true;
            default:
                value = "";
                return false;
        }
    }

    /// <summary>Binary data: Python-3 <c>bytes</c> or a Python-2 <c>str</c> (no copy).</summary>
    public ReadOnlyMemory<byte> AsBytes() => this switch
    {
        PickleBytes b => b.Value,
        PickleByteString s => s.Value,
        _ => throw Mismatch("bytes"),
    };

    public PickleTuple AsTuple() => this as PickleTuple ?? throw Mismatch("a tuple");

    public PickleList AsList() => this as PickleList ?? throw Mismatch("a list");

    public PickleDict AsDict() => this as PickleDict ?? throw Mismatch("a dict");

    public PickleSet AsSet() => this as PickleSet ?? throw Mismatch("a set");

    public PickleGlobal AsGlobal() => this as PickleGlobal ?? throw Mismatch("a global");

    public PickleObject AsObject() => this as PickleObject ?? throw Mismatch("an object");

    public PicklePersistentId AsPersistentId() => this as PicklePersistentId ?? throw Mismatch("a persistent id");

    /// <summary>The exception for "expected <paramref name="expected"/> here".</summary>
    public PickleException Mismatch(string expected) =>
        new($"expected {expected}, got {Describe()}");

    /// <summary>A short description for messages: the kind and, for scalars, the value.</summary>
    public virtual string Describe() => Kind.ToString().ToLowerInvariant();

    // ---- equality ----

    /// <summary>Structural equality (spec/pickle.md §3): same kinds, values and order, recursively; cycles allowed.</summary>
    public bool Equals(PickleValue? other) => other is not null && PickleEquality.Structural(this, other);

    public override bool Equals(object? obj) => obj is PickleValue v && Equals(v);

    /// <summary>A hash consistent with structural equality (looks a few levels deep only).</summary>
    public override int GetHashCode() => PickleEquality.StructuralHash(this, 3);

    public override string ToString() => PickleJson.ToJsonString(this);
}
