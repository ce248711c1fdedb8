using System.CommandLine;
using Wendelin.TestSupport;

namespace Wendelin.Tools.Tests;

/// <summary><c>wendelin demo</c> end to end, in process, at a tiny size; and its one-line errors.</summary>
public sealed class DemoTests
{
    internal static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Build().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void The_demo_creates_computes_changes_reopens_and_checks()
    {
        using var dir = new TempDirectory("demo");
        string db = dir.File("demo.fs");
        (int code, string output, string error) = Run("demo", "--path", db, "--size", "8M", "--budget", "2M", "--commit-every", "3M");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("created", output, StringComparison.Ordinal);
        Assert.Contains("1. appended 8.0 MiB in 3 commits", output, StringComparison.Ordinal);
        Assert.Contains("2. statistics (streaming): sum 523641600", output, StringComparison.Ordinal);
        Assert.Contains("4. reopened and checked", output, StringComparison.Ordinal);
        Assert.Contains("peak memory", output, StringComparison.Ordinal);
        Assert.Contains("append: 100%", output, StringComparison.Ordinal); // plain progress lines when not on a terminal
        Assert.True(File.Exists(db));

        // a second run opens the file and replaces the array
        (code, output, error) = Run("demo", "--path", db, "--size", "1M", "--budget", "2M", "--format", "zblk1");
        Assert.Equal(0, code);
        Assert.Contains("opened", output, StringComparison.Ordinal);
        Assert.Contains("block format ZBlk1", output, StringComparison.Ordinal);
        (code, output, _) = DemoTests.Run("array", "list", db);
        Assert.Equal(0, code);
        Assert.Contains("wendelin-demo", output, StringComparison.Ordinal);
        Assert.Contains("ZBlk1:1", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--budget", "1M", "smaller than one block")]
    [InlineData("--size", "lots", "is not a size")]
    [InlineData("--size", "4", "smaller than one float64 item")]
    [InlineData("--path", "DIR", "is a directory")]
    public void Bad_input_gets_one_line_and_exit_code_2(string option, string value, string expected)
    {
        using var dir = new TempDirectory("demo-bad");
        string v = value == "DIR" ? dir.Path : value;
        string[] args = option == "--path" ? ["demo", "--path", v, "--size", "1M"] : ["demo", "--path", dir.File("d.fs"), option, v];
        (int code, _, string error) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
        Assert.StartsWith("wendelin demo: ", error, StringComparison.Ordinal);
    }
}

/// <summary>Ctrl+C: the demo stops at the next chunk, aborts what is in progress and says so.</summary>
public sealed class DemoCancelTests
{
    [Fact]
    public async Task A_cancelled_demo_stops_cleanly_with_exit_code_130()
    {
        using var dir = new TempDirectory("demo-cancel");
        var output = new StringWriter();
        var error = new StringWriter();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        int code = await Cli.Build().Parse(["demo", "--path", dir.File("c.fs"), "--size", "4M", "--budget", "2M"])
            .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = output, Error = error }, cts.Token);
        Assert.Equal(130, code);
        Assert.Contains("cancelled", output.ToString(), StringComparison.Ordinal);
        Assert.Equal("", error.ToString());
    }
}
