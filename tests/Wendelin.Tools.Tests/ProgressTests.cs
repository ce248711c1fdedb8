using System.CommandLine;
using Spectre.Console;
using Wendelin.TestSupport;

namespace Wendelin.Tools.Tests;

[CollectionDefinition("progress", DisableParallelization = true)]
public sealed class ProgressCollection;

/// <summary>The progress helper (spec/tools.md TL-7): bars on a terminal, plain lines when redirected (it holds static test seams).</summary>
[Collection("progress")]
public sealed class ProgressTests
{
    [Fact]
    public void Redirected_output_gets_plain_progress_lines_per_phase_and_tenth()
    {
        TimeSpan saved = ToolProgress.PlainDelay;
        ToolProgress.PlainDelay = TimeSpan.Zero;
        try
        {
            (int code, _, string error) = OperatorCommandTests.Run("verify", Fixtures.Path("zbigarray-zblk1.fs"));
            Assert.Equal(0, code);
            string[] lines = error.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
            Assert.Contains(lines, l => l.StartsWith("verify: structure 0% (", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("verify: structure 100% (8.4 MiB of 8.4 MiB, ", StringComparison.Ordinal) && l.EndsWith("/s)", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("verify: objects 50% (", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("verify: objects 100% (", StringComparison.Ordinal));
            Assert.All(lines, l => Assert.Matches(@"^verify: (structure|objects) \d+0?% \(", l));
        }
        finally
        {
            ToolProgress.PlainDelay = saved;
        }
        ToolProgress.PlainDelay = ToolProgress.DefaultPlainDelay; // the product's delay: a quick run stays quiet
        try
        {
            Assert.Equal("", OperatorCommandTests.Run("verify", Fixtures.Path("zbigarray-zblk1.fs")).Error);
        }
        finally
        {
            ToolProgress.PlainDelay = saved;
        }
    }

    [Fact]
    public void Byte_phases_show_amounts_and_rates_as_lines_and_as_bars()
    {
        using var dir = new TempDirectory("progress-bytes");
        TimeSpan saved = ToolProgress.PlainDelay;
        ToolProgress.PlainDelay = TimeSpan.Zero;
        try
        {
            (int code, _, string error) = OperatorCommandTests.Run("array", "export", Fixtures.Path("zbigarray-zblk1.fs"), "A", dir.File("a.npy"));
            Assert.Equal(0, code);
            string[] lines = error.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
            Assert.Equal("export: A 0% (0 B of 7.6 MiB, ", lines[0][..30]);
            Assert.Matches(@"^export: A 100% \(7\.6 MiB of 7\.6 MiB, \d+\.\d s, \d+(\.\d)? \w+/s\)$", lines[^1]);
        }
        finally
        {
            ToolProgress.PlainDelay = saved;
        }
        var screen = new StringWriter();
        ToolProgress.TerminalOverride = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(screen),
        });
        try
        {
            (int code, string output, string error) = OperatorCommandTests.Run("array", "export", Fixtures.Path("zbigarray-zblk1.fs"), "A", dir.File("b.npy"));
            Assert.Equal(0, code);
            Assert.Equal("", error);
            Assert.StartsWith("exported A: shape (1000100,) <f8 C order, 7.6 MiB in ", output, StringComparison.Ordinal);
            Assert.Contains("export: A", screen.ToString(), StringComparison.Ordinal);
            Assert.Contains("7.6/7.6 MiB", screen.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            ToolProgress.TerminalOverride = null;
        }
        Assert.Equal(File.ReadAllBytes(dir.File("a.npy")), File.ReadAllBytes(dir.File("b.npy")));
        Assert.False(File.Exists(dir.File("a.npy.part")));
    }

    [Fact]
    public void A_phase_with_nothing_to_do_is_left_out()
    {
        // pack at the last transaction: nothing lies after the pack time, so "copy later transactions" has 0 bytes
        using var dir = new TempDirectory("progress-empty");
        string path = Fixtures.CopyTo("basic.fs", dir);
        TimeSpan saved = ToolProgress.PlainDelay;
        ToolProgress.PlainDelay = TimeSpan.Zero;
        try
        {
            (int code, _, string error) = OperatorCommandTests.Run("pack", path, "--days", "0");
            Assert.Equal(0, code);
            string[] lines = error.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
            Assert.Contains(lines, l => l.StartsWith("pack: scan 100% (", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains("copy later transactions", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains("(0 B of 0 B", StringComparison.Ordinal));
        }
        finally
        {
            ToolProgress.PlainDelay = saved;
        }
    }

    [Fact]
    public void A_terminal_gets_progress_bars()
    {
        var screen = new StringWriter();
        ToolProgress.TerminalOverride = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(screen),
        });
        try
        {
            using var dir = new TempDirectory("progress");
            string path = Fixtures.CopyTo("basic.fs", dir);
            (int code, string output, string error) = OperatorCommandTests.Run("pack", path, "--before", "040d3e5304dad522");
            Assert.Equal(0, code);
            Assert.Equal("", error);
            Assert.Contains("packed at", output, StringComparison.Ordinal);
            string bars = screen.ToString();
            Assert.Contains("pack: scan", bars, StringComparison.Ordinal);
            Assert.Contains("pack: copy later transactions", bars, StringComparison.Ordinal);
            Assert.Contains("100%", bars, StringComparison.Ordinal);
        }
        finally
        {
            ToolProgress.TerminalOverride = null;
        }
    }
}
