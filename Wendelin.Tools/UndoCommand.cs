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
            Description = "The transactions to undo: undo ids or tids (16 hex digits), as `wendelin undo-log` lists them",
            Arity = ArgumentArity.OneOrMore,
        };
        var user = new Option<string>("--user")
        {
            HelpName = "USER",
            Description = "The user recorded with the undo transaction",
            DefaultValueFactory = _ => "wendelin",
        };
        var description = new Option<string?>("--description")
        {
            HelpName = "TEXT",
            Description = "The description recorded with the undo transaction [default: undo TID...]",
        };
        Option<bool> json = ToolSupport.JsonOption();
        var command = new Command("undo", "Undo transactions in one new transaction that restores what they changed (spec/undo.md). Exit code 1 when refused.")
        {
            file,
            ids,
            user,
            description,
            json,
        };
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            List<Tid> tids = [.. parse.GetRequiredValue(ids).Select(Decode)];
            TextWriter output = parse.InvocationConfiguration.Output;
            TextWriter error = parse.InvocationConfiguration.Error;
            string path = parse.GetRequiredValue(file);
            using FileStorage fs = ToolSupport.OpenStorageForWriting(parse, path);
            foreach (Tid t in tids)
            {
                CheckExists(fs, t, path);
            }
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
                string hint = e.Oid is null && e is not MultipleUndoException
                    ? "`wendelin undo-log FILE` lists what can be undone"
                    : "undo the later transactions that changed that object first, or together with this one";
                error.WriteLine($"wendelin undo: refused, nothing written: {e.Message.ReplaceLineEndings(" ")} (hint: {hint})");
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
        });
        return command;
    }

    /// <summary>An undo id (base64, as undo-log lists it) or a tid.</summary>
    private static Tid Decode(string id)
    {
        try
        {
            return UndoLogEntry.DecodeId(id);
        }
        catch (UndoException e)
        {
            throw new ToolException($"'{id}' is neither an undo id nor a tid", "`wendelin undo-log FILE` lists both for each undoable transaction", e);
        }
    }

    /// <summary>A tid the file does not have is a usage error, not a refusal: found walking back from the end.</summary>
    private static void CheckExists(FileStorage fs, Tid tid, string path)
    {
        foreach (TransactionRecord t in fs.IterateBackward())
        {
            if (t.Tid == tid)
            {
                return;
            }
            if (t.Tid < tid)
            {
                break;
            }
        }
        throw new ToolException($"{path}: has no transaction {tid}", "`wendelin undo-log FILE` lists the transactions that can be undone");
    }
}
