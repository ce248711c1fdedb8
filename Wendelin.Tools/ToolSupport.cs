using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json.Nodes;
using Wendelin.Storage;
using Wendelin.Storage.Format;
using Wendelin.Storage.Pickle;

namespace Wendelin.Tools;

/// <summary>
/// What every command shares (spec/tools.md): the exit codes, the arguments and options spelled the same way
/// everywhere, the one runner that turns a failure into one line with a hint (TL-3) and Ctrl+C into exit code 130
/// (TL-5), and the one JSON writer. Opening files is in ToolSupport.Open.cs.
/// </summary>
internal static partial class ToolSupport
{
    /// <summary>Success, nothing found (TL-2).</summary>
    public const int CleanExit = 0;

    /// <summary>The command ran and found something: verify findings, an undo refused (TL-2).</summary>
    public const int FindingsExit = 1;

    /// <summary>A usage or I/O error, or a file that cannot be used as asked (TL-2).</summary>
    public const int ErrorExit = 2;

    /// <summary>Cancelled by Ctrl+C (SIGINT) or SIGTERM: 128 + SIGINT, as shells report an interrupted program (TL-5).</summary>
    public const int CancelledExit = 130;

    /// <summary><c>--verbose</c>: the stack trace with an error, on every command.</summary>
    public static Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "Print the stack trace with an error",
        Recursive = true,
    };

    /// <summary>The FILE argument: the same name and words on every command.</summary>
    public static Argument<string> FileArgument(bool created = false) => new("FILE")
    {
        Description = created ? "The FileStorage data file (e.g. Data.fs); created when missing" : "The FileStorage data file (e.g. Data.fs)",
    };

    /// <summary>The ARRAYPATH argument of the array commands.</summary>
    public static Argument<string> ArrayPathArgument() => new("ARRAYPATH")
    {
        Description = "The array's path from the root: keys joined by '/', e.g. A or data/signal (`wendelin array list` shows them)",
    };

    /// <summary><c>--json</c> for commands whose output is data (written by <see cref="WriteJson"/>).</summary>
    public static Option<bool> JsonOption(string? description = null) => new("--json")
    {
        Description = description ?? "Write the result as JSON on stdout",
    };

    /// <summary><c>--at TID</c>: read a past state (checked against the file by <see cref="OpenDatabase"/>).</summary>
    public static Option<string?> AtOption() => new("--at")
    {
        HelpName = "TID",
        Description = "Read the database as of transaction TID (16 hex digits, as `wendelin undo-log` and `dump` show them)",
    };

    /// <summary><c>-n, --count N</c>: how many entries to show; a negative count is a usage error.</summary>
    public static Option<int> CountOption(int defaultValue, string description)
    {
        var count = new Option<int>("--count", "-n")
        {
            HelpName = "N",
            Description = description,
            DefaultValueFactory = _ => defaultValue,
        };
        count.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError($"-n/--count must be 0 or more, got {r.GetValueOrDefault<int>()}");
            }
        });
        return count;
    }

    /// <summary>
    /// A size option (<c>512M</c>, <c>2G</c>, <c>64KiB</c>, bytes; null when not given): a malformed size is a usage
    /// error. The description names the default, which the command applies.
    /// </summary>
    public static Option<long?> SizeOption(string name, string description) => new(name)
    {
        HelpName = "SIZE",
        Description = description,
        CustomParser = r =>
        {
            string text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (Units.TryParseSize(text, out long bytes))
            {
                return bytes;
            }
            r.AddError($"{name} '{text}' is not a size (examples: 512M, 2G, 64KiB, 1000000)");
            return null;
        },
    };

    /// <summary>
    /// Sets <paramref name="command"/>'s action: <paramref name="body"/> runs on a worker thread (so that Ctrl+C reaches
    /// its token while it runs), a failure becomes one line on stderr with a hint and <see cref="ErrorExit"/> (the stack
    /// trace only with --verbose), a cancellation one line, <paramref name="cancelled"/> saying what it left, and
    /// <see cref="CancelledExit"/>.
    /// </summary>
    public static void SetAction(Command command, Func<ParseResult, CancellationToken, int> body, string? cancelled = null)
    {
        command.SetAction((parse, cancel) => Task.Run(() => Execute(parse, cancel, body, cancelled), CancellationToken.None));
    }

    private static int Execute(ParseResult parse, CancellationToken cancel, Func<ParseResult, CancellationToken, int> body, string? cancelled)
    {
        string name = CommandName(parse.CommandResult);
        TextWriter error = parse.InvocationConfiguration.Error;
        try
        {
            return body(parse, cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            error.WriteLine(cancelled is null ? $"{name}: cancelled" : $"{name}: cancelled; {cancelled}");
            return CancelledExit;
        }
        catch (Exception e)
        {
            (string message, string? hint) = Describe(e);
            error.WriteLine($"{name}: {OneLine(message)} (hint: {hint ?? $"`{name} --help` explains the arguments"})");
            if (parse.GetValue(Verbose))
            {
                error.WriteLine(e.ToString());
            }
            return ErrorExit;
        }
    }

    /// <summary><c>wendelin array export</c> for the command a parse result names.</summary>
    internal static string CommandName(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult c && c.Command is not RootCommand; r = r.Parent)
        {
            names.Add(c.Command.Name);
        }
        names.Reverse();
        return names.Count == 0 ? "wendelin" : "wendelin " + string.Join(' ', names);
    }

    /// <summary>The one-line message and hint for a failure (null hint: the command's --help).</summary>
    internal static (string Message, string? Hint) Describe(Exception e) => e switch
    {
        ToolException t => (t.Message, t.Hint),
        LockException => (e.Message, LockedHint),
        FileStorageFormatException => (e.Message, "this is not a FileStorage data file: it must start with FS30 or FS21"),
        CorruptRecordException => (e.Message, "the file is damaged: `wendelin verify FILE` shows where and how"),
        Storage.Pack.PackException => (e.Message, "run `wendelin verify FILE`; `--no-gc` packs without following references"),
        UndoException => (e.Message, "`wendelin undo-log FILE` lists what can be undone"),
        UnauthorizedAccessException => (e.Message, "check the file's permissions"),
        FileStorageException when e.Message.Contains("permission denied", StringComparison.Ordinal) => (e.Message, "check the file's permissions"),
        DirectoryNotFoundException or FileNotFoundException => (e.Message, "check the path"),
        StorageException or IOException => (e.Message, "check the file and the disk; --verbose shows the details"),
        _ => ($"internal error: {e.GetType().Name}: {e.Message}", "this is a bug; --verbose shows the stack trace to report"),
    };

    internal const string LockedHint =
        "stop that process first; the reading commands (dump, tail, stats, verify, undo-log, array list|info|export) work meanwhile";

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    /// <summary>
    /// A Spectre console over the command's output for tables: colours and the terminal's width when it is the
    /// process's own stdout on a terminal, plain text 200 columns wide otherwise (files, pipes, tests).
    /// </summary>
    public static Spectre.Console.IAnsiConsole TableConsole(ParseResult parse)
    {
        TextWriter output = parse.InvocationConfiguration.Output;
        bool terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Out = new Spectre.Console.AnsiConsoleOutput(output),
            Ansi = terminal ? Spectre.Console.AnsiSupport.Detect : Spectre.Console.AnsiSupport.No,
            ColorSystem = terminal ? Spectre.Console.ColorSystemSupport.Detect : Spectre.Console.ColorSystemSupport.NoColors,
            Interactive = Spectre.Console.InteractionSupport.No,
        });
        if (!terminal)
        {
            console.Profile.Width = 200;
        }
        return console;
    }

    /// <summary>
    /// The one JSON writer (TL-6): the text Python's <c>json.dumps(value, indent=1)</c> writes, the format of the
    /// fixtures' JSON files, so <c>dump --json</c> of a fixture is byte for byte its NAME.dump.json.
    /// </summary>
    public static void WriteJson(TextWriter output, JsonNode node)
    {
        output.Write(PythonJson.Serialize(node, indent: 1));
        output.Write('\n');
    }
}

/// <summary>
/// An expected failure of a command, reported as one line with a hint (null: the command's --help); the inner
/// exception, if any, shows with --verbose.
/// </summary>
internal sealed class ToolException(string message, string? hint = null, Exception? inner = null) : Exception(message, inner)
{
    public string? Hint { get; } = hint;
}
