using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wendelin.Storage;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;

namespace Wendelin.Tools;

/// <summary>
/// What the commands share: exit codes, the global <c>--verbose</c> option, opening a data file with plain checks
/// first, and turning every failure into one line on stderr with a hint (the stack trace only with --verbose).
/// </summary>
internal static class ToolSupport
{
    /// <summary>Success, nothing found.</summary>
    public const int CleanExit = 0;

    /// <summary>The command ran and found something: verify findings, an undo refused.</summary>
    public const int FindingsExit = 1;

    /// <summary>A usage or I/O error, a file that cannot be read as a data file, or a cancelled run.</summary>
    public const int ErrorExit = 2;

    /// <summary><c>--verbose</c>: the stack trace with an error, on every command.</summary>
    public static Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "on an error, also print the stack trace",
        Recursive = true,
    };

    /// <summary>The FILE argument every command takes.</summary>
    public static Argument<string> FileArgument() => new("FILE") { Description = "the FileStorage data file (e.g. Data.fs)" };

    /// <summary><c>--json</c> for commands whose output is data.</summary>
    public static Option<bool> JsonOption() => new("--json") { Description = "write the result as JSON on stdout" };

    /// <summary>Opens <paramref name="path"/> read-only (no lock: a file open for writing elsewhere can be read).</summary>
    public static FileStorage OpenForReading(string path, TextWriter error)
    {
        CheckPath(path);
        _ = error; // a read-only open changes nothing, so what it skips (a tail being written) needs no note
        return FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
    }

    /// <summary>Opens <paramref name="path"/> for writing (takes its lock; recovery may cut a torn tail, which is reported).</summary>
    public static FileStorage OpenForWriting(string path, TextWriter error, FileStorageOptions? options = null)
    {
        CheckPath(path);
        FileStorage fs = FileStorage.Open(path, options ?? new FileStorageOptions());
        Notes(fs, error);
        return fs;
    }

    public static void CheckPath(string path)
    {
        if (Directory.Exists(path))
        {
            throw new ToolException($"{path}: is a directory, not a FileStorage data file", "give the data file inside it, e.g. DIR/Data.fs");
        }
        if (!File.Exists(path))
        {
            throw new ToolException($"{path}: no such file", "check the path");
        }
        long length = new FileInfo(path).Length;
        if (length == 0)
        {
            throw new ToolException($"{path}: is empty (0 bytes), not a FileStorage data file", "a data file starts with FS30 or FS21");
        }
        if (length < 4)
        {
            throw new ToolException($"{path}: is truncated: {length} bytes, shorter than the 4-byte header of a FileStorage data file",
                "a data file starts with FS30 or FS21; restore it from a copy");
        }
    }

    private static void Notes(FileStorage fs, TextWriter error)
    {
        foreach (string line in fs.OpenLog)
        {
            error.WriteLine($"note: {line}");
        }
    }

    /// <summary>Runs a command body, mapping every failure to one line with a hint and <see cref="ErrorExit"/>.</summary>
    public static int Run(string command, ParseResult parse, Func<int> body)
    {
        TextWriter error = parse.InvocationConfiguration.Error;
        try
        {
            return body();
        }
        catch (Exception e)
        {
            return Fail(command, parse, error, e);
        }
    }

    /// <summary><see cref="Run"/> for commands that honour Ctrl+C: a cancellation is one line and <see cref="ErrorExit"/>.</summary>
    public static Task<int> RunAsync(string command, ParseResult parse, CancellationToken cancel, Func<CancellationToken, int> body)
    {
        TextWriter error = parse.InvocationConfiguration.Error;
        try
        {
            return Task.FromResult(body(cancel));
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            error.WriteLine($"wendelin {command}: cancelled");
            return Task.FromResult(ErrorExit);
        }
        catch (Exception e)
        {
            return Task.FromResult(Fail(command, parse, error, e));
        }
    }

    private static int Fail(string command, ParseResult parse, TextWriter error, Exception e)
    {
        (string message, string hint) = Describe(e);
        error.WriteLine($"wendelin {command}: {OneLine(message)} (hint: {hint})");
        if (parse.GetValue(Verbose))
        {
            error.WriteLine(e.ToString());
        }
        return ErrorExit;
    }

    /// <summary>The one-line message and hint for a failure.</summary>
    internal static (string Message, string Hint) Describe(Exception e) => e switch
    {
        ToolException t => (t.Message, t.Hint),
        LockException => (e.Message, "another process has the database open for writing; stop it first (read-only commands work meanwhile)"),
        FileStorageFormatException => (e.Message, "this is not a FileStorage data file: it must start with FS30 or FS21"),
        CorruptRecordException => (e.Message, "the file is damaged: run `wendelin verify FILE` to see where and how"),
        Storage.Pack.PackException => (e.Message, "run `wendelin verify FILE`; `--no-gc` packs without following references"),
        UndoException => (e.Message, "see `wendelin undo-log FILE`; undo later changes of that object first, or several transactions at once"),
        FileStorageException when e.Message.Contains("no such file", StringComparison.Ordinal) => (e.Message, "check the path"),
        FileStorageException when e.Message.Contains("permission denied", StringComparison.Ordinal) => (e.Message, "check the file's permissions"),
        UnauthorizedAccessException => (e.Message, "check the file's permissions"),
        StorageException or IOException => (e.Message, "check the file and the disk; --verbose shows the details"),
        _ => ($"internal error: {e.GetType().Name}: {e.Message}", "this is a bug; --verbose shows the stack trace to report"),
    };

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

    /// <summary>JSON as every command writes it: indented, UTF-8 text unescaped where JSON allows.</summary>
    public static void WriteJson(TextWriter output, JsonNode node)
    {
        output.Write(node.ToJsonString(JsonOptions));
        output.Write('\n');
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

/// <summary>An expected failure of a command, reported as one line with a hint.</summary>
internal sealed class ToolException(string message, string hint = "see `wendelin COMMAND --help`") : Exception(message)
{
    public string Hint { get; } = hint;
}
