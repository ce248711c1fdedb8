using System.CommandLine;

namespace Wendelin.Tools;

/// <summary>Entry point of the <c>wendelin</c> command. Each subcommand lives in its own file.</summary>
internal static class Program
{
    public static int Main(string[] args) => Cli.Build().Parse(args).Invoke();
}

/// <summary>Builds the command tree (also used by the tool's tests to run commands in-process).</summary>
internal static class Cli
{
    public static RootCommand Build()
    {
        var root = new RootCommand(
            "wendelin: out-of-core arrays in ZODB FileStorage databases, and the operator's tools for them.");
        root.Add(DumpCommand.Create());
        root.Add(TailCommand.Create());
        root.Add(ArrayCommand.Create());
        root.Add(DemoCommand.Create());
        return root;
    }
}
