using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Wendelin.Storage.Pickle;

/// <summary>Options of <see cref="PickleJson"/>.</summary>
public sealed record PickleJsonOptions
{
    /// <summary>Full bytes everywhere (what the fixtures' <c>*.dump.json</c> files hold).</summary>
    public static PickleJsonOptions Default { get; } = new();

    /// <summary>
    /// Bytes longer than this are rendered as <c>{"$bytes_summary": {"len", "sha256", "head_hex"}}</c>
    /// (the fixtures' <c>zbigarray-*.json</c> sample records); null renders all bytes in full.
    /// </summary>
    public int? SummarizeBytesLongerThan { get; init; }

    /// <summary>How many leading bytes a summary shows in <c>head_hex</c>.</summary>
    public int SummaryHeadBytes { get; init; } = 16;

    /// <summary>
    /// Most JSON nodes one rendering may produce. A value that shares substructures renders each share in full, so a
    /// small pickle can expand exponentially; past this budget rendering fails with <see cref="PickleException"/> (PK-23).
    /// </summary>
    public long MaxNodes { get; init; } = 1_000_000;
}

/// <summary>
/// Renders values as JSON in the convention of the fixtures (tests/fixtures/README.md, spec/pickle.md §7):
/// <c>null/true/false</c>, numbers, strings and lists stand for themselves; a dict whose keys are all strings is a
/// JSON object; everything else is tagged: <c>$int</c> (|n| ≥ 2^53), <c>$float</c> (inf, -inf, nan), <c>$bytes</c>,
/// <c>$bytes_summary</c>, <c>$tuple</c>, <c>$dict</c>, <c>$ref</c> (+ <c>class</c>), <c>$global</c>, <c>$obj</c>
/// (+ <c>args</c>, <c>state</c>), and our additions <c>$set</c>, <c>$frozenset</c>, <c>$pid</c>, <c>$cycle</c>.
/// Floats carry Python's repr text. Write the result with <see cref="PythonJson"/> to get Python's exact text.
/// </summary>
public static class PickleJson
{
    private const long MaxExactDouble = 1L << 53;

    /// <summary>The JSON node of <paramref name="value"/> (null for None).</summary>
    public static JsonNode? ToJsonNode(PickleValue value, PickleJsonOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        var r = new Renderer(options ?? PickleJsonOptions.Default);
        return r.Render(value, 0);
    }

    /// <summary>Compact JSON text in Python's <c>json.dumps</c> format (used by <see cref="PickleValue.ToString"/>).</summary>
    public static string ToJsonString(PickleValue value, PickleJsonOptions? options = null)
    {
        try
        {
            return PythonJson.Serialize(ToJsonNode(value, options));
        }
        catch (PickleException e)
        {
            return $"<{value.Describe()}: {e.What}>";
        }
    }

    /// <summary>"0x" and 16 hex digits, the fixtures' oid form.</summary>
    public static string OidText(Oid oid) => oid.ToString();

    private sealed class Renderer(PickleJsonOptions options)
    {
        private readonly HashSet<PickleValue> _inProgress = new(ReferenceEqualityComparer.Instance);
        private long _nodes;

        public JsonNode? Render(PickleValue v, int depth)
        {
            if (++_nodes > options.MaxNodes)
            {
                throw new PickleException($"value renders to more than {options.MaxNodes} JSON nodes (PK-23)");
            }
            switch (v)
            {
                case PickleNone:
                    return null;
                case PickleBool b:
                    return JsonValue.Create(b.Value);
                case PickleInt i:
                    return RenderInt(i);
                case PickleFloat f:
                    return RenderFloat(f.Value);
                case PickleStr s:
                    return JsonValue.Create(s.Value);
                case PickleBytes b:
                    return RenderBytes(b.Value.Span);
                case PickleByteString s:
                    return s.TryGetAscii(out string text) ? JsonValue.Create(text) : RenderBytes(s.Value.Span);
                case PickleGlobal g:
                    return new JsonObject { ["$global"] = g.FullName };
            }
            if (depth >= PickleValue.MaxDepth)
            {
                throw new PickleException($"value nested deeper than {PickleValue.MaxDepth} levels (PK-22)");
            }
            if (!_inProgress.Add(v))
            {
                return new JsonObject { ["$cycle"] = v.Kind.ToString().ToLowerInvariant() };
            }
            try
            {
                return RenderContainer(v, depth + 1);
            }
            finally
            {
                _inProgress.Remove(v);
            }
        }

        private JsonNode? RenderContainer(PickleValue v, int depth)
        {
            switch (v)
            {
                case PickleTuple t:
                    return new JsonObject { ["$tuple"] = RenderItems(t, depth) };
                case PickleList l:
                    return RenderItems(l, depth);
                case PickleDict d:
                    {
                        bool textKeys = true;
                        foreach (var e in d.Entries)
                        {
                            if (!e.Key.TryGetString(out _))
                            {
                                textKeys = false;
                                break;
                            }
                        }
                        if (textKeys)
                        {
                            var o = new JsonObject();
                            foreach (var e in d.Entries)
                            {
                                o[e.Key.AsString()] = Render(e.Value, depth);
                            }
                            return o;
                        }
                        return new JsonObject { ["$dict"] = RenderPairs(d.Entries, depth) };
                    }
                case PickleSet s:
                    return new JsonObject { [s.IsFrozen ? "$frozenset" : "$set"] = RenderItems(s.Items, depth) };
                case PickleObject o:
                    {
                        var j = new JsonObject
                        {
                            ["$obj"] = o.Callable is PickleGlobal g ? JsonValue.Create(g.FullName) : Render(o.Callable, depth),
                            ["args"] = o.Args is PickleTuple a ? RenderItems(a, depth) : Render(o.Args, depth),
                        };
                        if (o.Kwargs is not null)
                        {
                            j["kwargs"] = Render(o.Kwargs, depth);
                        }
                        j["state"] = o.State is null ? null : Render(o.State, depth);
                        if (o.ListItems is not null)
                        {
                            j["listitems"] = RenderItems(o.ListItems, depth);
                        }
                        if (o.DictItems is not null)
                        {
                            j["dictitems"] = RenderPairs(o.DictItems, depth);
                        }
                        return j;
                    }
                case PicklePersistentId p:
                    {
                        PersistentReference r = p.Reference;
                        switch (r.Kind)
                        {
                            case PersistentReferenceKind.Strong:
                                return new JsonObject
                                {
                                    ["$ref"] = r.Oid.ToString(),
                                    ["class"] = r.ClassHint is PickleGlobal g ? JsonValue.Create(g.FullName) : Render(r.ClassHint!, depth),
                                };
                            case PersistentReferenceKind.OidOnly:
                                return new JsonObject { ["$ref"] = r.Oid.ToString() };
                            default:
                                return new JsonObject { ["$pid"] = Render(p.Pid, depth) };
                        }
                    }
                default:
                    throw new PickleException($"cannot render {v.Describe()}");
            }
        }

        private JsonArray RenderItems(IEnumerable<PickleValue> items, int depth)
        {
            var a = new JsonArray();
            foreach (PickleValue item in items)
            {
                a.Add(Render(item, depth));
            }
            return a;
        }

        private JsonArray RenderPairs(IEnumerable<KeyValuePair<PickleValue, PickleValue>> pairs, int depth)
        {
            var a = new JsonArray();
            foreach (var e in pairs)
            {
                a.Add(new JsonArray(Render(e.Key, depth), Render(e.Value, depth)));
            }
            return a;
        }

        private static JsonNode RenderInt(PickleInt i)
        {
            if (i.IsInt64 && i.Int64Value > -MaxExactDouble && i.Int64Value < MaxExactDouble)
            {
                return JsonValue.Create(i.Int64Value);
            }
            BigInteger b = i.BigValue;
            // Decimal conversion is quadratic; Python refuses ints above 4300 digits, we give those in hex (PK-5).
            string text = b.GetBitLength() > 14000
                ? (b.Sign < 0 ? "-0x" + BigInteger.Abs(b).ToString("x", CultureInfo.InvariantCulture) : "0x" + b.ToString("x", CultureInfo.InvariantCulture))
                : b.ToString(CultureInfo.InvariantCulture);
            return new JsonObject { ["$int"] = text };
        }

        private static JsonNode RenderFloat(double d)
        {
            if (double.IsNaN(d))
            {
                return new JsonObject { ["$float"] = "nan" };
            }
            if (double.IsInfinity(d))
            {
                return new JsonObject { ["$float"] = d > 0 ? "inf" : "-inf" };
            }
            return JsonNode.Parse(PythonJson.FloatRepr(d))!;
        }

        private JsonNode RenderBytes(ReadOnlySpan<byte> b)
        {
            if (options.SummarizeBytesLongerThan is int limit && b.Length > limit)
            {
                return new JsonObject
                {
                    ["$bytes_summary"] = new JsonObject
                    {
                        ["len"] = b.Length,
                        ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(b)),
                        ["head_hex"] = Convert.ToHexStringLower(b[..Math.Min(b.Length, options.SummaryHeadBytes)]),
                    },
                };
            }
            return new JsonObject { ["$bytes"] = Convert.ToHexStringLower(b) };
        }
    }
}
