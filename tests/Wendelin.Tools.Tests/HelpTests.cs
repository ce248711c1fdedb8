using System.CommandLine;

namespace Wendelin.Tools.Tests;

/// <summary>spec/tools.md TL-1: every command has --help, and the command tree speaks one style.</summary>
public sealed class HelpTests
{
    /// <summary>Every command that runs (not the groups), as its words after <c>wendelin</c>.</summary>
    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string>();
        foreach ((string[] words, Command _) in Leaves(Cli.Build(), []))
        {
            data.Add(string.Join(' ', words));
        }
        return data;
    }

    private static IEnumerable<(string[] Words, Command Command)> Leaves(Command command, string[] words)
    {
        if (command.Subcommands.Count == 0)
        {
            yield return (words, command);
        }
        foreach (Command sub in command.Subcommands)
        {
            foreach ((string[] w, Command c) in Leaves(sub, [.. words, sub.Name]))
            {
                yield return (w, c);
            }
        }
    }

    [Fact]
    public void The_tree_has_every_command_the_issues_name()
    {
        string[] names = [.. Leaves(Cli.Build(), []).Select(leaf => string.Join(' ', leaf.Words))];
        Assert.Equal(
            ["dump", "tail", "stats", "verify", "pack", "undo-log", "undo", "reindex", "array list", "array info", "array export", "array import", "demo"],
            names);
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_has_help_with_usage_arguments_and_the_global_options(string command)
    {
        (int code, string output, string error) = OperatorCommandTests.Run([.. command.Split(' '), "--help"]);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        Assert.Matches($@"Usage:\s+\S+ {System.Text.RegularExpressions.Regex.Escape(command)} ", output); // the program's name: testhost here
        Assert.Contains("-v, --verbose", output, StringComparison.Ordinal);
        if (command != "demo")
        {
            Assert.Contains("The FileStorage data file (e.g. Data.fs)", output, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("<n>", output, StringComparison.Ordinal); // value names are spelled out (N, SIZE, TID, FILE)
    }

    [Fact]
    public void Root_help_lists_the_commands_and_the_exit_codes()
    {
        (int code, string output, _) = OperatorCommandTests.Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("Exit codes: 0 done and clean, 1 findings (verify) or a refused undo, 2 usage or I/O error, 130 cancelled", output, StringComparison.Ordinal);
        foreach (string name in new[] { "dump", "tail", "stats", "verify", "pack", "undo-log", "undo", "reindex", "array", "demo" })
        {
            Assert.Contains($"  {name} ", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Descriptions_read_the_same_way_everywhere()
    {
        foreach ((string[] words, Command command) in Leaves(Cli.Build(), []))
        {
            string name = string.Join(' ', words);
            Assert.False(string.IsNullOrWhiteSpace(command.Description), $"{name}: no description");
            Assert.True(char.IsUpper(command.Description![0]) && command.Description.EndsWith('.'), $"{name}: '{command.Description}' is not a sentence");
            foreach (Argument a in command.Arguments)
            {
                Assert.True(a.Description is { Length: > 0 } d && char.IsUpper(d[0]) && !d.EndsWith('.'), $"{name} {a.Name}: '{a.Description}'");
                Assert.Equal(a.Name.ToUpperInvariant(), a.Name);
            }
            string? file = command.Arguments.FirstOrDefault(a => a.Name == "FILE")?.Description;
            if (file is not null)
            {
                Assert.StartsWith("The FileStorage data file (e.g. Data.fs)", file, StringComparison.Ordinal);
            }
            foreach (Option o in command.Options)
            {
                if (o.Name is "--help" or "--version")
                {
                    continue;
                }
                Assert.True(o.Description is { Length: > 0 } d && char.IsUpper(d[0]) && !d.EndsWith('.'), $"{name} {o.Name}: '{o.Description}'");
                Assert.StartsWith("--", o.Name, StringComparison.Ordinal);
            }
        }
    }
}
