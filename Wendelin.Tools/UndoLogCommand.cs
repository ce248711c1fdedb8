using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Wendelin.Storage;
using Wendelin.Storage.Fs;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin undo-log FILE [-n N] [--json]</c>: the undoable transactions, newest first, stopping at the packed ones
/// (spec/undo.md UN-1): undo id, tid, time, user, description, size. Read-only.
/// </summary>
internal static class UndoLogCommand
{
    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument();
        Option<int> count = ToolSupport.CountOption(20, "How many transactions to list");
        Option<bool> json = ToolSupport.JsonOption();
        var command = new Command("undo-log", "List the transactions that can be undone, newest first, with the ids `wendelin undo` takes (stops at packed ones).")
        {
            file,
            count,
            json,
        };
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            using FileStorage fs = ToolSupport.OpenStorage(parse, parse.GetRequiredValue(file));
            IReadOnlyList<UndoLogEntry> log = fs.UndoLog(0, parse.GetValue(count));
            if (parse.GetValue(json))
            {
                var list = new JsonArray();
                foreach (UndoLogEntry e in log)
                {
                    list.Add(new JsonObject
                    {
                        ["id"] = e.Id,
                        ["tid"] = e.Tid.ToString(),
                        ["time"] = e.Tid.ToTimeString(),
                        ["user"] = e.UserText,
                        ["description"] = e.DescriptionText,
                        ["size"] = e.Size,
                    });
                }
                ToolSupport.WriteJson(parse.InvocationConfiguration.Output, list);
                return ToolSupport.CleanExit;
            }
            var table = new Table().Border(TableBorder.Simple)
                .AddColumn("undo id").AddColumn("tid").AddColumn("time (UTC)").AddColumn("user").AddColumn("description")
                .AddColumn(new TableColumn("size").RightAligned());
            foreach (UndoLogEntry e in log)
            {
                table.AddRow(Markup.Escape(e.Id), e.Tid.ToString(), e.Tid.ToTimeString(), Markup.Escape(e.UserText),
                    Markup.Escape(e.DescriptionText.ReplaceLineEndings(" ")), e.Size.ToString(CultureInfo.InvariantCulture));
            }
            ToolSupport.TableConsole(parse).Write(table);
            return ToolSupport.CleanExit;
        });
        return command;
    }
}
