using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using Wendelin.Storage.Fs;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin tail FILE [-n N]</c>: the last N transactions, newest first, as ZODB's <c>fstail</c> prints them:
/// the time, a SHA-1 of the transaction's data records, user, description, length, offset and header length.
/// Walks backwards through the trailers, so it costs the same on any file size.
/// </summary>
internal static class TailCommand
{
    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument();
        Option<int> count = ToolSupport.CountOption(10, "How many transactions to show");
        var command = new Command("tail", "Show the last transactions of a FileStorage data file, newest first (like ZODB's fstail).")
        {
            file,
            count,
        };
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            using FileStorage fs = ToolSupport.OpenStorage(parse, parse.GetRequiredValue(file));
            Write(fs, parse.GetValue(count), parse.InvocationConfiguration.Output, cancel);
            return ToolSupport.CleanExit;
        });
        return command;
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
