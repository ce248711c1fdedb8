using System.CommandLine;
using System.Text.Json.Nodes;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin array info FILE ARRAYPATH [--at TID] [--json]</c>: one array's shape, dtype, order, block size and
/// formats, and the sha256 of its bytes in C order (the fixtures' <c>sha256_c_order</c>; spec/zbigfile.md §6). Read-only.
/// </summary>
internal static class ArrayInfoCommand
{
    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument();
        Argument<string> path = ToolSupport.ArrayPathArgument();
        Option<string?> at = ToolSupport.AtOption();
        Option<bool> json = ToolSupport.JsonOption();
        var command = new Command("info", "Describe one array: shape, dtype, order, block size and formats, and the sha256 of its bytes in C order.")
        {
            file,
            path,
            at,
            json,
        };
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            TextWriter output = parse.InvocationConfiguration.Output;
            using ToolDatabase db = ToolSupport.OpenDatabase(parse, parse.GetRequiredValue(file), parse.GetValue(at));
            string p = parse.GetRequiredValue(path);
            JsonObject info = ArrayCommand.Describe(p, ArrayPaths.Resolve(db.Connection, p), hash: true, cancel);
            if (parse.GetValue(json))
            {
                ToolSupport.WriteJson(output, info);
                return ToolSupport.CleanExit;
            }
            foreach ((string key, JsonNode? value) in info)
            {
                output.WriteLine($"{key + ":",-16} {Text(value)}");
            }
            return ToolSupport.CleanExit;
        });
        return command;
    }

    /// <summary>A value as the text form shows it: a shape as a tuple <c>(300, 500)</c>, formats as <c>ZBlk0:3 ZBlk1:1</c>.</summary>
    private static string Text(JsonNode? value) => value switch
    {
        JsonArray a => "(" + string.Join(", ", a.Select(x => x?.ToString())) + (a.Count == 1 ? ",)" : ")"),
        JsonObject o => o.Count == 0 ? "-" : string.Join(' ', o.Select(kv => $"{kv.Key}:{kv.Value}")),
        null => "-",
        _ => value.ToString(),
    };
}
