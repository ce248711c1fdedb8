using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Wendelin.Arrays;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Persistence;
using Wendelin.Storage.Pickle;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin array list|info|export|import</c>: the ZBigArrays of a database (spec/zbigfile.md §6). Arrays are
/// named by their path from the root (<see cref="ArrayPaths"/>); <c>--at TID</c> reads a past state.
/// </summary>
internal static class ArrayCommand
{
    public static Command Create()
    {
        var command = new Command("array", "List, inspect, export and import the ZBigArrays of a database (.npy files).");
        command.Add(CreateList());
        command.Add(CreateInfo());
        command.Add(ArrayExportCommand.Create());
        command.Add(ArrayImportCommand.Create());
        return command;
    }

    private static Command CreateList()
    {
        var file = new Argument<string>("FILE") { Description = "the FileStorage data file" };
        var at = new Option<string?>("--at") { Description = "read the database as of this transaction id (16 hex digits)" };
        var json = new Option<bool>("--json") { Description = "write JSON" };
        var command = new Command("list", "List every ZBigArray reachable from the root: path, oid, shape, dtype, order, block formats, bytes.")
        {
            file,
            at,
            json,
        };
        command.Aliases.Add("ls");
        command.SetAction(parse =>
        {
            TextWriter output = parse.InvocationConfiguration.Output;
            return ToolSupport.Run("array list", parse, () =>
            {
                using DatabaseAccess access = DatabaseAccess.OpenReadOnly(parse.GetRequiredValue(file), parse.GetValue(at));
                List<(string Path, ZBigArray Array)> arrays = ArrayPaths.FindAll(access.Connection);
                if (parse.GetValue(json))
                {
                    var list = new JsonArray();
                    foreach ((string path, ZBigArray a) in arrays)
                    {
                        list.Add(Describe(path, a, access.Db.Types, hash: false));
                    }
                    output.WriteLine(PythonJson.Serialize(list, indent: 1));
                    return 0;
                }
                if (arrays.Count == 0)
                {
                    output.WriteLine("no ZBigArray is reachable from the root");
                    return 0;
                }
                output.WriteLine($"{"PATH",-24} {"OID",-18} {"SHAPE",-20} {"DTYPE",-6} {"ORDER",-5} {"BLOCKS",-28} {"BYTES",10}");
                foreach ((string path, ZBigArray a) in arrays)
                {
                    BlockCounts c = Count(a);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{path,-24} {a.PersistentOid,-18} {"(" + string.Join(", ", a.Shape.ToArray()) + ")",-20} {a.DType.Str,-6} {a.Order,-5} {c.Summary,-28} {Units.Bytes(a.NBytes),10}"));
                }
                return 0;
            });
        });
        return command;
    }

    private static Command CreateInfo()
    {
        var file = new Argument<string>("FILE") { Description = "the FileStorage data file" };
        var path = new Argument<string>("ARRAYPATH") { Description = "the array's path from the root, e.g. A or data/signal" };
        var at = new Option<string?>("--at") { Description = "read the database as of this transaction id (16 hex digits)" };
        var json = new Option<bool>("--json") { Description = "write JSON" };
        var command = new Command("info", "Describe one array: shape, dtype, order, block size and formats, sha256 of its bytes in C order.")
        {
            file,
            path,
            at,
            json,
        };
        command.SetAction(parse =>
        {
            TextWriter output = parse.InvocationConfiguration.Output;
            return ToolSupport.Run("array info", parse, () =>
            {
                using DatabaseAccess access = DatabaseAccess.OpenReadOnly(parse.GetRequiredValue(file), parse.GetValue(at));
                string p = parse.GetRequiredValue(path);
                ZBigArray a = ArrayPaths.Resolve(access.Connection, p);
                JsonObject info = Describe(p, a, access.Db.Types, hash: true);
                if (parse.GetValue(json))
                {
                    output.WriteLine(PythonJson.Serialize(info, indent: 1));
                    return 0;
                }
                foreach ((string key, JsonNode? value) in info)
                {
                    output.WriteLine($"{key + ":",-16} {(value is JsonValue v ? v.ToString() : value?.ToJsonString())}");
                }
                return 0;
            });
        });
        return command;
    }

    /// <summary>What <c>list --json</c> and <c>info --json</c> print about one array.</summary>
    internal static JsonObject Describe(string path, ZBigArray a, TypeRegistry types, bool hash)
    {
        BlockCounts c = Count(a);
        var shape = new JsonArray();
        foreach (long d in a.Shape)
        {
            shape.Add(d);
        }
        var formats = new JsonObject();
        foreach ((string cls, int n) in c.ByClass)
        {
            formats[cls] = n;
        }
        var o = new JsonObject
        {
            ["path"] = path,
            ["oid"] = a.PersistentOid?.ToString(),
            ["shape"] = shape,
            ["dtype"] = a.DType.Str,
            ["order"] = a.Order.ToString(),
            ["itemsize"] = a.ItemSize,
            ["nbytes"] = a.NBytes,
            ["blksize"] = a.File.BlockSize,
            ["blocks_spanned"] = c.Spanned,
            ["blocks_present"] = c.Present,
            ["formats"] = formats,
        };
        if (hash)
        {
            o["sha256_c_order"] = ArrayBytes.Sha256(a.AsBigArray(), ArrayOrder.C);
        }
        return o;
    }

    internal sealed record BlockCounts(long Spanned, int Present, SortedDictionary<string, int> ByClass)
    {
        public string Summary
        {
            get
            {
                var parts = new List<string>();
                foreach ((string cls, int n) in ByClass)
                {
                    parts.Add($"{cls}:{n}");
                }
                long holes = Spanned - Present;
                if (holes > 0)
                {
                    parts.Add($"holes:{holes}");
                }
                return parts.Count == 0 ? "-" : string.Join(' ', parts);
            }
        }
    }

    internal static BlockCounts Count(ZBigArray a)
    {
        var byClass = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int present = 0;
        long bs = a.File.BlockSize;
        long spanned = (a.NBytes + bs - 1) / bs;
        foreach ((long block, string cls) in a.File.Blocks())
        {
            if (block >= spanned)
            {
                continue; // blocks past the array's end (after a shrink) hold no items
            }
            present++;
            byClass[cls] = byClass.GetValueOrDefault(cls) + 1;
        }
        return new BlockCounts(spanned, present, byClass);
    }
}
