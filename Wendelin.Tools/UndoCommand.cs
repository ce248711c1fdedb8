using System.CommandLine;
using System.Text.Json.Nodes;
using Wendelin.Storage;
using Wendelin.Storage.Fs;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin undo FILE TID... [--user U] [--description D] [--json]</c>: undoes one or more transactions in one new
/// transaction (spec/undo.md), each named by its undo id or tid as <c>undo-log</c> shows them. Takes the database's
/// lock. A refusal names the object that blocks it, writes nothing, and exits 1.
/// </summary>
internal static class UndoCommand
{
    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument();
        var ids = new Argument<string[]>("TID")
        {
            Description = "the transactions to undo: undo ids or tids (16 hex digits), as `wendelin undo-log` lists them",
            Arity = ArgumentArity.OneOrMore,
        };
        var user = new Option<string>("--user") { Description = "the user recorded with the undo transaction", DefaultValueFactory = _ => "wendelin" };
        var description = new Option<string?>("--description") { Description = "the description recorded (default: \"undo TID...\")" };
        Option<bool> json = ToolSupport.JsonOption();
        var command = new Command("undo", "Undo transactions: write a new transaction that restores the objects they changed (spec/undo.md).")
        {
            file,
            ids,
            user,
            description,
            json,
        };
        command.SetAction(parse => ToolSupport.Run("undo", parse, () =>
        {
            string[] targets = parse.GetRequiredValue(ids);
            var tids = targets.Select(UndoLogEntry.DecodeId).ToList();
            TextWriter output = parse.InvocationConfiguration.Output;
            TextWriter error = parse.InvocationConfiguration.Error;
            using FileStorage fs = ToolSupport.OpenForWriting(parse.GetRequiredValue(file), error);
            var metadata = new TransactionMetadata(parse.GetValue(user) ?? "",
                parse.GetValue(description) ?? "undo " + string.Join(" ", tids.Select(t => t.ToString())));
            StorageTransaction txn = fs.TpcBegin(metadata);
            var oids = new List<Oid>();
            try
            {
                foreach (Tid t in tids)
                {
                    oids.AddRange(fs.Undo(t, txn).Oids);
                }
                fs.TpcVote(txn);
            }
            catch (UndoException e)
            {
                fs.TpcAbort(txn);
                error.WriteLine($"wendelin undo: refused, nothing written: {e.Message.ReplaceLineEndings(" ")}");
                return ToolSupport.FindingsExit;
            }
            catch
            {
                fs.TpcAbort(txn);
                throw;
            }
            Tid tid = fs.TpcFinish(txn);
            if (parse.GetValue(json))
            {
                ToolSupport.WriteJson(output, new JsonObject
                {
                    ["tid"] = tid.ToString(),
                    ["undone"] = new JsonArray([.. tids.Select(t => (JsonNode)t.ToString())]),
                    ["oids"] = new JsonArray([.. oids.Distinct().Select(o => (JsonNode)o.ToString())]),
                });
            }
            else
            {
                output.WriteLine($"undone {string.Join(", ", tids)} in transaction {tid} ({tid.ToTimeString()}); objects: {string.Join(" ", oids.Distinct())}");
            }
            return ToolSupport.CleanExit;
        }));
        return command;
    }
}
