using System.CommandLine;

namespace Wendelin.Tools;

/// <summary>Entry point of the <c>wendelin</c> command (spec/tools.md). Each subcommand lives in its own file.</summary>
internal static class Program
{
    public static int Main(string[] args) => Cli.Run(args);
}

/// <summary>Builds the command tree (also used by the tool's tests to run commands in-process).</summary>
internal static class Cli
{
    /// <summary>After Ctrl+C, how long a command may take to stop cleanly before the process exits anyway (TL-5).</summary>
    internal static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    public static RootCommand Build()
    {
        var root = new RootCommand(
            "wendelin: out-of-core arrays in ZODB FileStorage databases, and the operator's tools for them (spec/tools.md).\n" +
            "Exit codes: 0 done and clean, 1 findings (verify) or a refused undo, 2 usage or I/O error, 130 cancelled (Ctrl+C).");
        root.Add(ToolSupport.Verbose);
        root.Add(DumpCommand.Create());
        root.Add(TailCommand.Create());
        root.Add(StatsCommand.Create());
        root.Add(VerifyCommand.Create());
        root.Add(PackCommand.Create());
        root.Add(UndoLogCommand.Create());
        root.Add(UndoCommand.Create());
        root.Add(ReindexCommand.Create());
        root.Add(ArrayCommand.Create());
        root.Add(DemoCommand.Create());
        return root;
    }

    /// <summary>
    /// Parses and runs a command line: a usage error (unknown command or option, a missing or malformed value) is one
    /// line per problem with a hint, exit code 2 (TL-3); everything else is the command's own exit code. Ctrl+C cancels
    /// the command's token (TL-5).
    /// </summary>
    public static int Run(string[] args, InvocationConfiguration? configuration = null, CancellationToken cancel = default)
    {
        configuration ??= new InvocationConfiguration { ProcessTerminationTimeout = StopTimeout };
        ParseResult parse = Build().Parse(args);
        if (parse.Errors.Count > 0)
        {
            string command = ToolSupport.CommandName(parse.CommandResult);
            foreach (System.CommandLine.Parsing.ParseError e in parse.Errors)
            {
                string message = System.Text.RegularExpressions.Regex.Replace(e.Message, @"\s+", " ").Trim().TrimEnd('.');
                configuration.Error.WriteLine($"{command}: {message} (hint: `{command} --help`)");
            }
            return ToolSupport.ErrorExit;
        }
        return parse.InvokeAsync(configuration, cancel).GetAwaiter().GetResult();
    }
}
