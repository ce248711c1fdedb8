using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Wendelin.Arrays;
using Wendelin.Arrays.Zodb;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin array list FILE [--at TID] [--json]</c> (alias <c>ls</c>): every ZBigArray reachable from the root with
/// its path, oid, shape, dtype, order, block-format mix and size (spec/zbigfile.md §6). Read-only.
/// </summary>
internal static class ArrayListCommand
{
    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument();
        Option<string?> at = ToolSupport.AtOption();
        Option<bool> json = ToolSupport.JsonOption();
        var command = new Command("list", "List every ZBigArray reachable from the root: path, oid, shape, dtype, order, block formats, size.")
        {
            file,
            at,
            json,
        };
        command.Aliases.Add("ls");
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            TextWriter output = parse.InvocationConfiguration.Output;
            using ToolDatabase db = ToolSupport.OpenDatabase(parse, parse.GetRequiredValue(file), parse.GetValue(at));
            List<(string Path, ZBigArray Array)> arrays = ArrayPaths.FindAll(db.Connection);
            if (parse.GetValue(json))
            {
                var list = new JsonArray();
                foreach ((string path, ZBigArray a) in arrays)
                {
                    cancel.ThrowIfCancellationRequested();
                    list.Add(ArrayCommand.Describe(path, a, hash: false, cancel));
                }
                ToolSupport.WriteJson(output, list);
                return ToolSupport.CleanExit;
            }
            if (arrays.Count == 0)
            {
                output.WriteLine("no ZBigArray is reachable from the root");
                return ToolSupport.CleanExit;
            }
            output.WriteLine($"{"PATH",-24} {"OID",-18} {"SHAPE",-20} {"DTYPE",-6} {"ORDER",-5} {"BLOCKS",-28} {"SIZE",10}");
            foreach ((string path, ZBigArray a) in arrays)
            {
                cancel.ThrowIfCancellationRequested();
                ArrayCommand.BlockCounts c = ArrayCommand.Count(a);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{path,-24} {a.PersistentOid,-18} {"(" + string.Join(", ", a.Shape.ToArray()) + ")",-20} {a.DType.Str,-6} {a.Order,-5} {c.Summary,-28} {Units.Bytes(a.NBytes),10}"));
            }
            return ToolSupport.CleanExit;
        });
        return command;
    }
}
