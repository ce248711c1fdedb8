using System.Collections.Concurrent;
using System.Diagnostics;
using Wendelin.Storage.Fs;
using Wendelin.TestSupport;

namespace Wendelin.Tools.Tests;

/// <summary>
/// The real program in a process of its own (spec/tools.md TL-4, TL-5, TL-7): a lock held by another process,
/// Ctrl+C as a real SIGINT, and plain progress lines when both streams are redirected.
/// </summary>
public sealed class ProcessTests
{
    private static Process Start(params string[] args) => Start(null, args);

    private static Process Start(IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "wendelin.dll");
        string host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var info = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }
        info.Environment.Remove("TERM");
        info.Environment.Remove("WENDELIN_CORE_ZBLK_FMT");
        foreach ((string name, string? value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[name] = value;
        }
        return Process.Start(info)!;
    }

    private static (int Code, string Output, string Error) RunProcess(params string[] args) => RunProcess(null, args);

    private static (int Code, string Output, string Error) RunProcess(IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        using Process p = Start(environment, args);
        Task<string> output = p.StandardOutput.ReadToEndAsync();
        Task<string> error = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), "the command did not finish");
        return (p.ExitCode, output.Result, error.Result);
    }

    [Fact]
    public void A_lock_held_by_another_process_is_one_line_with_a_hint_and_readers_still_work()
    {
        using var dir = new TempDirectory("process-lock");
        string path = Fixtures.CopyTo("basic.fs", dir);
        using (FileStorage.Open(path)) // this process is the other writer
        {
            OperatorCommandTests.AssertOneLineError(RunProcess("pack", path, "--days", "0"), "pack",
                $"{path}: is locked: another process has the database open for writing", "stop that process first");
            (int code, string output, string error) = RunProcess("undo-log", path, "-n", "1", "--json");
            Assert.Equal(0, code);
            Assert.Equal("", error);
            Assert.Contains("040d3e530ad94e66", output, StringComparison.Ordinal);
        }
        Assert.Equal(Fixtures.Bytes("basic.fs"), File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData(null, "{\"0-2\":\"ZBlk0\"}")]
    [InlineData("ZBlk0", "{\"0-2\":\"ZBlk0\"}")]
    [InlineData("ZBlk1", "{\"0-2\":\"ZBlk1\"}")]
    [InlineData("auto", "{\"0-1\":\"ZBlk0\",\"2\":\"ZBlk1\"}")]
    public void The_default_block_format_follows_WENDELIN_CORE_ZBLK_FMT(string? value, string runs)
    {
        // spec/zbigfile.md ZB-21: import without --block-format writes in ZBlkFormats.Default, which a fresh process
        // reads from the variable (unset: ZBlk0; auto: full blocks ZBlk0, the small growing tail ZBlk1, ZB-22)
        using var dir = new TempDirectory("process-zblk-fmt");
        const int blksize = 2 << 20;
        long items = (2L * blksize + blksize / 8) / 8; // two full blocks and an eighth of a third
        byte[] header = NpyHeader.Encode(Wendelin.Arrays.DType.Float64, [items], Wendelin.Arrays.ArrayOrder.C);
        var data = new byte[items * 8];
        new Random(5).NextBytes(data);
        string npy = dir.File("in.npy"), db = dir.File("f.fs");
        File.WriteAllBytes(npy, [.. header, .. data]);
        var env = new Dictionary<string, string?>();
        if (value is not null)
        {
            env["WENDELIN_CORE_ZBLK_FMT"] = value;
        }
        (int code, _, string error) = RunProcess(env, "array", "import", db, "A", npy);
        Assert.True(code == 0, error);
        (code, string output, error) = DemoTests.Run("array", "info", "--json", db, "A");
        Assert.True(code == 0, error);
        var info = System.Text.Json.Nodes.JsonNode.Parse(output)!.AsObject();
        Assert.Equal(runs, info["block_formats"]!.ToJsonString());
    }

    [Theory]
    [InlineData("array", "import", "DB", "A", "NPY")]
    [InlineData("demo", "--path", "DB", "--size", "1M")]
    public void A_bad_WENDELIN_CORE_ZBLK_FMT_is_a_one_line_configuration_error(params string[] command)
    {
        // spec/zbigfile.md ZB-21, tools.md TL-3/§4: the variable, its value and the accepted values; nothing created
        using var dir = new TempDirectory("process-zblkfmt");
        string db = dir.File("new.fs"), npy = dir.File("a.npy");
        File.WriteAllBytes(npy, [.. NpyHeader.Encode(Wendelin.Arrays.DType.Float64, [2], Wendelin.Arrays.ArrayOrder.C), .. new byte[16]]);
        string[] args = [.. command.Select(a => a switch { "DB" => db, "NPY" => npy, _ => a })];
        var env = new Dictionary<string, string?> { ["WENDELIN_CORE_ZBLK_FMT"] = "bogus" };
        (int code, string output, string error) = RunProcess(env, args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        string name = command[0] == "array" ? "wendelin array import" : "wendelin demo";
        Assert.Equal($"{name}: WENDELIN_CORE_ZBLK_FMT='bogus' names no block format: the accepted values are ZBlk0, ZBlk1 and auto "
            + "(unset means ZBlk0) (hint: set WENDELIN_CORE_ZBLK_FMT to one of them, unset it, or pass --block-format zblk0|zblk1|auto)\n",
            error.ReplaceLineEndings("\n"));
        Assert.False(File.Exists(db));
        // the option overrides the variable
        (code, _, error) = RunProcess(env, [.. args, "--block-format", "zblk1"]);
        Assert.True(code == 0, error);
    }

    [Fact]
    public void A_fresh_process_reads_arrays_as_arrays()
    {
        // in a process where nothing has loaded Wendelin.Arrays yet, the root's ZBigArray must still load as one
        (int code, string output, string error) = RunProcess("array", "info", "--json", Fixtures.Path("zbigarray-zblk1.fs"), "A");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        string expected = (string)System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Fixtures.Path("zbigarray-zblk1.json")))!["arrays"]!["A"]!["sha256_c_order"]!;
        Assert.Contains($"\"sha256_c_order\": \"{expected}\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_C_stops_the_demo_cleanly_and_redirected_progress_is_plain_lines()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return; // SIGINT is sent with kill(1)
        }
        using var dir = new TempDirectory("process-cancel");
        string db = dir.File("demo.fs");
        using Process p = Start("demo", "--path", db, "--size", "8G", "--commit-every", "64M");
        var lines = new BlockingCollection<string>();
        Task<string> output = p.StandardOutput.ReadToEndAsync();
        var error = new System.Text.StringBuilder();
        Task reader = Task.Run(() =>
        {
            while (p.StandardError.ReadLine() is { } line)
            {
                error.Append(line).Append('\n');
                lines.Add(line);
            }
            lines.CompleteAdding();
        });
        // the first plain progress line comes after a second of work
        Assert.True(lines.TryTake(out string? first, 60_000), "no progress line on stderr");
        Assert.Matches(@"^demo: append \d+% \((\d+ B|\d+\.\d [KMG]iB) of 8\.0 GiB, \d+\.\d s, \d+(\.\d)? \w+/s\)$", first);
        var clock = Stopwatch.StartNew();
        using (Process kill = Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }
        Assert.True(p.WaitForExit(60_000), "the demo did not stop after SIGINT");
        await reader;
        string stdout = await output;
        Assert.True(clock.Elapsed < Cli.StopTimeout, $"stopped after {clock.Elapsed}, not by itself");
        Assert.Equal(130, p.ExitCode);
        string[] errorLines = error.ToString().TrimEnd('\n').Split('\n');
        Assert.Equal("wendelin demo: cancelled; the transaction in progress was aborted; what was committed before stays in the database", errorLines[^1]);
        Assert.All(errorLines[..^1], l => Assert.Matches(@"^demo: append \d+% \(", l));
        Assert.DoesNotContain('\u001b', error.ToString() + stdout); // no terminal escapes when redirected
        Assert.StartsWith($"wendelin demo: created {db}\n", stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("1. appended", stdout, StringComparison.Ordinal);
        (int code, string verified, _) = OperatorCommandTests.Run("verify", db);
        Assert.True(code == 0, verified); // the commits made before Ctrl+C are whole
    }
}
