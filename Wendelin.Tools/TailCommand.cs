using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Wendelin.Storage.Fs;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin tail FILE [-n N]</c>: the last N transactions, newest first, as ZODB's <c>fstail</c> prints them:
/// the time, a SHA-1 of the transaction's data records, user, description, length, offset and header length.
/// Walks backwards through the trailers, so it costs the same on any file size. <c>--json</c> writes the transactions
/// in the layout of <c>dump --json</c> (tests/fixtures/README.md), newest first, each with the fstail hash.
/// </summary>
internal static class TailCommand
{
    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument();
        Option<int> count = ToolSupport.CountOption(10, "How many transactions to show");
        Option<bool> json = ToolSupport.JsonOption("Write JSON: the transactions in the layout of dump --json, newest first, each with its fstail hash");
        var command = new Command("tail", "Show the last transactions of a FileStorage data file, newest first (like ZODB's fstail).")
        {
            file,
            count,
            json,
        };
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            string path = parse.GetRequiredValue(file);
            using FileStorage fs = ToolSupport.OpenStorage(parse, path);
            TextWriter output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                ToolSupport.WriteJson(output, BuildJson(fs, path, parse.GetValue(count), cancel));
            }
            else
            {
                Write(fs, parse.GetValue(count), output, cancel);
            }
            return ToolSupport.CleanExit;
        });
        return command;
    }

    /// <summary><c>{"file", "last_tid", "transactions": [...]}</c>, the transactions as dump writes them plus <c>hash</c>.</summary>
    internal static JsonObject BuildJson(FileStorage fs, string path, int count, CancellationToken cancel)
    {
        var transactions = new JsonArray();
        if (count > 0)
        {
            foreach (TransactionRecord t in fs.IterateBackward())
            {
                cancel.ThrowIfCancellationRequested();
                JsonObject o = DumpCommand.TransactionJson(t);
                o["hash"] = Convert.ToHexStringLower(SHA1.HashData(t.ReadRecordArea()));
                transactions.Add(o);
                if (transactions.Count == count)
                {
                    break;
                }
            }
        }
        return new JsonObject
        {
            ["file"] = Path.GetFileName(path),
            ["last_tid"] = fs.LastTransaction.ToString(),
            ["transactions"] = transactions,
        };
    }

    internal static void Write(FileStorage fs, int count, TextWriter output, CancellationToken cancel)
    {
        if (count == 0)
        {
            return;
        }
        int shown = 0;
        foreach (TransactionRecord t in fs.IterateBackward())
        {
            cancel.ThrowIfCancellationRequested();
            string hash = Convert.ToHexStringLower(SHA1.HashData(t.ReadRecordArea()));
            output.WriteLine($"{t.Tid.ToTimeString()}: hash={hash}");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"user={Text.Repr(t.User.Span)} description={Text.Repr(t.Description.Span)} length={t.Length} offset={t.Position} (+{t.HeaderLength})"));
            output.WriteLine();
            if (++shown == count)
            {
                break;
            }
        }
    }
}
