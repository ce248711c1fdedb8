using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Pickle;
using Oid = Wendelin.Storage.Oid;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin dump FILE [--json]</c>: every transaction and data record of a data file. The text form follows
/// ZODB's <c>fsdump</c>; the JSON form has exactly the layout of the fixtures' <c>NAME.dump.json</c>
/// (tests/fixtures/README.md): transactions with their records, positions, payload hashes and backpointers, then
/// the current revision of every object with its class, references, rendered state and whether the root reaches it.
/// </summary>
internal static class DumpCommand
{
    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument();
        Option<bool> json = ToolSupport.JsonOption("Write JSON in the layout of the fixtures' NAME.dump.json (tests/fixtures/README.md)");
        var command = new Command("dump", "List every transaction and data record of a FileStorage data file (like ZODB's fsdump).")
        {
            file,
            json,
        };
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            string path = parse.GetRequiredValue(file);
            using FileStorage fs = ToolSupport.OpenStorage(parse, path);
            TextWriter output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                ToolSupport.WriteJson(output, BuildJson(fs, path, cancel));
            }
            else
            {
                WriteText(fs, output, cancel);
            }
            return ToolSupport.CleanExit;
        });
        return command;
    }

    /// <summary>The text listing, in the format of ZODB's <c>fsdump</c>.</summary>
    internal static void WriteText(FileStorage fs, TextWriter output, CancellationToken cancel)
    {
        int i = 0;
        foreach (TransactionRecord t in fs.Iterator())
        {
            cancel.ThrowIfCancellationRequested();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Trans #{i:D5} tid={t.Tid} size={t.Length} time={t.Tid.ToTimeString()} offset={t.Position}"));
            output.WriteLine($"    status='{(char)t.Status}' user={Text.Repr(t.User.Span)} description={Text.Repr(t.Description.Span)}");
            int j = 0;
            foreach (DataRecord r in t.Records)
            {
                ReadOnlyMemory<byte>? data = r.ReadData();
                string size = data is not { } d ? "" : string.Create(CultureInfo.InvariantCulture, $" size={d.Length}");
                string cls = data is not { } p ? "undo or abort of object creation" : ClassName(p) ?? "?";
                string bp = r.DataTxn is Tid dt ? $" bp={dt}" : "";
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  data #{j:D5} oid={r.Oid.Value:x16}{size} class={cls}{bp}"));
                j++;
            }
            i++;
        }
    }

    /// <summary>The whole dump as the fixtures' JSON layout.</summary>
    internal static JsonObject BuildJson(FileStorage fs, string path, CancellationToken cancel)
    {
        var transactions = new JsonArray();
        foreach (TransactionRecord t in fs.Iterator())
        {
            cancel.ThrowIfCancellationRequested();
            var records = new JsonArray();
            foreach (DataRecord r in t.Records)
            {
                records.Add(RecordJson(r));
            }
            transactions.Add(new JsonObject
            {
                ["tid"] = t.Tid.ToString(),
                ["status"] = ((char)t.Status).ToString(),
                ["pos"] = t.Position,
                ["tlen"] = t.Length,
                ["user"] = TextOrHex(t.User.Span),
                ["description"] = TextOrHex(t.Description.Span),
                ["extension"] = ExtensionJson(t),
                ["extension_bytes_len"] = t.ExtensionBytes.Length,
                ["records"] = records,
            });
        }
        return new JsonObject
        {
            ["file"] = Path.GetFileName(path),
            ["file_size"] = new FileInfo(path).Length,
            ["transactions"] = transactions,
            ["last_tid"] = fs.LastTransaction.ToString(),
            ["object_count"] = fs.ObjectCount,
            ["objects"] = ObjectsJson(fs, cancel),
        };
    }

    private static JsonObject RecordJson(DataRecord r)
    {
        ReadOnlyMemory<byte>? data = r.ReadData();
        var o = new JsonObject
        {
            ["oid"] = r.Oid.ToString(),
            ["tid"] = r.Tid.ToString(),
            ["pos"] = r.Position,
            ["prev"] = r.Prev,
            ["tloc"] = r.Tloc,
            ["plen"] = r.DataLength,
            ["data_sha256"] = r.DataLength > 0 ? Sha256(data!.Value.Span) : null,
        };
        if (r.BackPointer is long back)
        {
            o["back"] = back;
            o["resolved_data_sha256"] = data is { } d ? Sha256(d.Span) : null;
            o["resolved_plen"] = data is { } e ? e.Length : null;
            o["creation_undone"] = data is null;
        }
        o["class"] = data is { } p ? ClassName(p) : null;
        return o;
    }

    private static JsonObject ObjectsJson(FileStorage fs, CancellationToken cancel)
    {
        var objects = new JsonObject();
        var refs = new Dictionary<Oid, List<Oid>>();
        foreach ((Oid oid, long pos) in fs.CurrentRecords())
        {
            cancel.ThrowIfCancellationRequested();
            LoadResult current;
            try
            {
                current = fs.Load(oid);
            }
            catch (PosKeyException)
            {
                objects[oid.ToString()] = new JsonObject { ["record_pos"] = pos, ["creation_undone"] = true };
                continue;
            }
            var o = new JsonObject
            {
                ["record_pos"] = pos,
                ["serial"] = current.Serial.ToString(),
            };
            try
            {
                ZodbRecord record = ZodbPickle.ReadRecord(current.Data);
                var strong = new SortedSet<Oid>();
                foreach (PersistentReference r in record.References)
                {
                    if (r.IsStrongSameDatabase)
                    {
                        strong.Add(r.Oid);
                    }
                }
                refs[oid] = [.. strong];
                o["class"] = record.ClassName;
                o["data_sha256"] = Sha256(current.Data.Span);
                o["refs"] = new JsonArray([.. strong.Select(x => (JsonNode)x.ToString())]);
                o["state"] = PickleJson.ToJsonNode(record.State);
            }
            catch (PickleException e)
            {
                refs[oid] = [];
                o["class"] = null;
                o["data_sha256"] = Sha256(current.Data.Span);
                o["error"] = e.Message;
            }
            objects[oid.ToString()] = o;
        }
        HashSet<Oid> reachable = Reachable(refs);
        foreach ((string key, JsonNode? node) in objects)
        {
            node!.AsObject()["reachable_from_root"] = reachable.Contains(Oid.Parse(key));
        }
        return objects;
    }

    private static HashSet<Oid> Reachable(Dictionary<Oid, List<Oid>> refs)
    {
        var seen = new HashSet<Oid>();
        var work = new Stack<Oid>();
        if (refs.ContainsKey(Oid.Root))
        {
            work.Push(Oid.Root);
        }
        while (work.Count > 0)
        {
            Oid oid = work.Pop();
            if (!seen.Add(oid) || !refs.TryGetValue(oid, out List<Oid>? targets))
            {
                continue;
            }
            foreach (Oid t in targets)
            {
                work.Push(t);
            }
        }
        seen.RemoveWhere(o => !refs.ContainsKey(o));
        return seen;
    }

    private static JsonNode? ExtensionJson(TransactionRecord t)
    {
        try
        {
            return PickleJson.ToJsonNode(t.ReadExtension());
        }
        catch (PickleException e)
        {
            return new JsonObject { ["$error"] = e.Message, ["$bytes"] = Convert.ToHexStringLower(t.ExtensionBytes.Span) };
        }
    }

    private static JsonObject TextOrHex(ReadOnlySpan<byte> bytes) =>
        System.Text.Unicode.Utf8.IsValid(bytes)
            ? new JsonObject { ["text"] = Encoding.UTF8.GetString(bytes) }
            : new JsonObject { ["hex"] = Convert.ToHexStringLower(bytes) };

    private static string? ClassName(ReadOnlyMemory<byte> data)
    {
        try
        {
            return ZodbPickle.GetClassName(data);
        }
        catch (PickleException)
        {
            return null;
        }
    }

    private static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
