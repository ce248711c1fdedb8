using System.CommandLine;
using Wendelin.TestSupport;

namespace Wendelin.Tools.Tests;

/// <summary><c>wendelin demo</c> end to end, in process, at a tiny size; its file rules and one-line errors (spec/tools.md TL-8).</summary>
public sealed class DemoTests
{
    internal static (int Code, string Output, string Error) Run(params string[] args)
    {
        return OperatorCommandTests.Run(args);
    }

    [Fact]
    public void The_demo_creates_computes_changes_reopens_and_checks()
    {
        using var dir = new TempDirectory("demo");
        string db = dir.File("demo.fs");
        (int code, string output, string error) = Run("demo", "--path", db, "--size", "8M", "--budget", "2M", "--commit-every", "3M");
        Assert.Equal("", error); // nothing on stderr (progress lines are off in these tests, QuietProgress)
        Assert.Equal(0, code);
        string[] lines = output.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal($"wendelin demo: created {db}", lines[0]);
        Assert.Equal("  a float64 ZBigArray of 1,048,576 items (8.0 MiB), RAM budget 2.0 MiB (4.0x smaller), 2.0 MiB blocks", lines[1]);
        Assert.Equal("  block format ZBlk0, commit every 3.0 MiB", lines[2]);
        Assert.StartsWith("1. appended 8.0 MiB in 3 commits: ", lines[3], StringComparison.Ordinal);
        Assert.StartsWith("2. statistics (streaming): sum 523641600, mean 499.383544921875, min 0, max 999: ", lines[4], StringComparison.Ordinal);
        Assert.StartsWith("3. set A[524288:534773] = -1 (81.9 KiB) and committed: ", lines[5], StringComparison.Ordinal);
        Assert.StartsWith("4. reopened and checked: shape (1048576,), sum 518379065 as expected, the slice reads -1: ", lines[6], StringComparison.Ordinal);
        Assert.Matches(@"^database \d+\.\d MiB; total \d+\.\d s; peak memory of this process \(VmHWM\) \d+\.\d MiB$", lines[7]);
        Assert.Equal(8, lines.Length);
        Assert.Equal(0, Run("verify", db).Code);

        // a second run starts the demo's own file afresh: no garbage of the first run accumulates
        long first = new FileInfo(db).Length;
        (code, output, error) = Run("demo", "--path", db, "--size", "1M", "--budget", "2M", "--block-format", "zblk1");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.StartsWith($"wendelin demo: started {db} afresh (the previous demo's {Units.Bytes(first)} are gone)\n", output, StringComparison.Ordinal);
        Assert.Contains("block format ZBlk1", output, StringComparison.Ordinal);
        Assert.True(new FileInfo(db).Length < first / 4, "the second run's file holds only its own array");
        (code, output, _) = Run("array", "list", db);
        Assert.Equal(0, code);
        Assert.Contains("wendelin-demo", output, StringComparison.Ordinal);
        Assert.Contains("ZBlk1:1", output, StringComparison.Ordinal);
        Assert.Equal(0, Run("verify", db).Code);
    }

    [Fact]
    public void The_demo_leaves_other_databases_alone_and_refuses_a_locked_one()
    {
        using var dir = new TempDirectory("demo-other");
        string other = Fixtures.CopyTo("basic.fs", dir);
        OperatorCommandTests.AssertOneLineError(Run("demo", "--path", other, "--size", "1M"), "demo",
            "holds other data than the demo's (root keys: ", "give the demo a file of its own with --path");
        Assert.Equal(Fixtures.Bytes("basic.fs"), File.ReadAllBytes(other));

        string db = dir.File("demo.fs");
        Assert.Equal(0, Run("demo", "--path", db, "--size", "1M", "--budget", "2M").Code);
        byte[] before = File.ReadAllBytes(db);
        using (Storage.Fs.FileStorage.Open(db))
        {
            OperatorCommandTests.AssertOneLineError(Run("demo", "--path", db, "--size", "1M"), "demo",
                "is locked: another process has the database open for writing", "stop that process first");
        }
        Assert.Equal(before, File.ReadAllBytes(db));
    }

    [Theory]
    [InlineData("--budget", "1M", "--budget 1.0 MiB is smaller than one block (2.0 MiB) (hint: give at least 2M")]
    [InlineData("--size", "lots", "--size 'lots' is not a size (examples: 512M, 2G, 64KiB, 1000000) (hint: `wendelin demo --help`)")]
    [InlineData("--size", "4", "--size 4 is smaller than one float64 item (8 bytes) (hint: give a size such as 1G")]
    [InlineData("--commit-every", "0", "--commit-every 0 is smaller than one float64 item (8 bytes)")]
    [InlineData("--path", "DIR", "is a directory, not a FileStorage data file (hint: give the data file inside it")]
    [InlineData("--path", "EMPTY", "is empty (0 bytes), not a FileStorage data file")]
    public void Bad_input_gets_one_line_and_exit_code_2(string option, string value, string expected)
    {
        using var dir = new TempDirectory("demo-bad");
        File.WriteAllBytes(dir.File("empty.fs"), []);
        string v = value switch
        {
            "DIR" => dir.Path,
            "EMPTY" => dir.File("empty.fs"),
            _ => value,
        };
        string[] args = option == "--path" ? ["demo", "--path", v, "--size", "1M"] : ["demo", "--path", dir.File("d.fs"), option, v];
        (int code, string output, string error) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
        Assert.StartsWith("wendelin demo: ", error, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("d.fs")));
    }
}

/// <summary>Ctrl+C: the demo stops at the next chunk, aborts what is in progress and says so on stderr.</summary>
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
        Assert.Equal("wendelin demo: cancelled; the transaction in progress was aborted; what was committed before stays in the database\n",
            error.ToString().ReplaceLineEndings("\n"));
        Assert.Equal(0, OperatorCommandTests.Run("verify", dir.File("c.fs")).Code);
    }
}
