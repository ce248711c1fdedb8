using System.CommandLine;
using System.Text.Json.Nodes;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.TestSupport;

namespace Wendelin.Tools.Tests;

/// <summary>
/// stats, verify, pack, undo-log, undo and reindex end to end on the fixtures, and every command on every bad input
/// (spec/tools.md TL-2 exit codes, TL-3 one-line errors, TL-4 opening files, TL-5 cancellation).
/// </summary>
public sealed class OperatorCommandTests
{
    internal static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Exit code 2, one line <c>wendelin COMMAND: ...expected... (hint: ...)</c>, no stack trace.</summary>
    internal static void AssertOneLineError((int Code, string Output, string Error) r, string command, string expected, string hint)
    {
        Assert.True(r.Code == 2, $"exit {r.Code}: {r.Error}");
        Assert.Single(r.Error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"wendelin {command}: ", r.Error, StringComparison.Ordinal);
        Assert.Contains(expected, r.Error, StringComparison.Ordinal);
        Assert.Contains("(hint: " + hint, r.Error, StringComparison.Ordinal);
        Assert.EndsWith(")", r.Error.TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Error, StringComparison.Ordinal);
    }

    /// <summary>Every command that takes a data file, with FILE where the file goes.</summary>
    public static TheoryData<string[]> CommandsOnAFile => new()
    {
        new[] { "dump", "FILE" }, new[] { "tail", "FILE" }, new[] { "stats", "FILE" }, new[] { "verify", "FILE" },
        new[] { "pack", "FILE", "--days", "1" }, new[] { "undo-log", "FILE" }, new[] { "undo", "FILE", "BA0+UxioCEQ=" },
        new[] { "reindex", "FILE" }, new[] { "array", "list", "FILE" }, new[] { "array", "info", "FILE", "A" },
        new[] { "array", "export", "FILE", "A", "OUT" }, new[] { "array", "import", "FILE", "A", "IN" },
    };

    /// <summary>The command line with FILE, and IN / OUT (a one-item .npy file / a file to write) in <paramref name="file"/>'s folder.</summary>
    internal static string[] With(string[] command, string file)
    {
        string folder = Directory.Exists(file) ? file : Path.GetDirectoryName(file)!;
        string input = Path.Combine(folder, "in.npy");
        if (command.Contains("IN") && !File.Exists(input))
        {
            File.WriteAllBytes(input, [.. NpyHeader.Encode(Arrays.DType.Float64, [1], Arrays.ArrayOrder.C), .. new byte[8]]);
        }
        return [.. command.Select(w => w switch
        {
            "FILE" => file,
            "IN" => input,
            "OUT" => Path.Combine(folder, "out.npy"),
            _ => w,
        })];
    }

    internal static string Name(string[] command) => command[0] == "array" ? "array " + command[1] : command[0];

    [Theory]
    [MemberData(nameof(CommandsOnAFile))]
    public void Bad_files_get_one_line_with_a_hint_and_exit_code_2(string[] command)
    {
        using var dir = new TempDirectory("tools-bad");
        File.WriteAllBytes(dir.File("empty.fs"), []);
        File.WriteAllBytes(dir.File("short.fs"), "FS"u8.ToArray());
        File.WriteAllText(dir.File("foreign.fs"), "this is a text file, not a database\n");
        string name = Name(command);
        bool verify = name == "verify";
        (string Path, string Expected, string Hint)[] cases =
        [
            (dir.Path, "is a directory, not a FileStorage data file", "give the data file inside it"),
            (dir.File("empty.fs"), "is empty (0 bytes)", "a data file starts with FS30 or FS21"),
            (dir.File("short.fs"), "is truncated: 2 bytes, shorter than the 4-byte header", "restore it from a copy"),
            (dir.File("foreign.fs"), "is not a FileStorage data file: it starts with 'this' (74686973), not FS30 or FS21", "give a ZODB FileStorage data file"),
        ];
        if (name != "array import")
        {
            cases = [(dir.File("missing.fs"), "no such file", "check the path"), .. cases];
        }
        foreach ((string path, string expected, string hint) in cases)
        {
            (int Code, string Output, string Error) r = Run(With(command, path));
            if (verify && path != dir.Path && !path.EndsWith("missing.fs", StringComparison.Ordinal))
            {
                // verify reports what is wrong with the bytes as findings: V100 empty, V101 not FS30/FS21
                Assert.Equal(1, r.Code);
                Assert.StartsWith(path.EndsWith("empty.fs", StringComparison.Ordinal) ? "V100 error at 0" : "V101 error at 0", r.Output, StringComparison.Ordinal);
                continue;
            }
            AssertOneLineError(r, name, expected, hint);
        }
        Assert.False(File.Exists(dir.File("out.npy")));
        Assert.Equal(0, new FileInfo(dir.File("empty.fs")).Length); // nothing was written to a refused file
    }

    [Theory]
    [MemberData(nameof(CommandsOnAFile))]
    public void A_file_damaged_in_the_middle_is_refused_with_a_verify_hint(string[] command)
    {
        if (command[0] == "verify")
        {
            return; // verify reports the damage (see the verify tests)
        }
        using var dir = new TempDirectory("tools-bad");
        string path = Fixtures.CopyTo("crash-flip-tlen-high.fs", dir);
        AssertOneLineError(Run(With(command, path)), Name(command), "refusing to cut committed transactions", "the file is damaged: `wendelin verify FILE` shows where");
        Assert.Equal(Fixtures.Bytes("crash-flip-tlen-high.fs"), File.ReadAllBytes(path));
        (int code, _, string error) = Run([.. With(command, path), "--verbose"]);
        Assert.Equal(2, code);
        Assert.Contains("   at ", error, StringComparison.Ordinal); // the stack trace, on request
    }

    [Theory]
    [InlineData("pack", "FILE", "--days", "1")]
    [InlineData("undo", "FILE", "BA0+UxioCEQ=")]
    [InlineData("reindex", "FILE")]
    [InlineData("array", "import", "FILE", "A", "IN")]
    public void A_database_locked_by_another_writer_is_refused_with_a_hint(params string[] command)
    {
        using var dir = new TempDirectory("tools-lock");
        string path = Fixtures.CopyTo("basic.fs", dir);
        using var writer = FileStorage.Open(path);
        AssertOneLineError(Run(With(command, path)), Name(command), "is locked: another process has the database open for writing",
            "stop that process first; the reading commands (dump, tail, stats, verify, undo-log, array list|info|export) work meanwhile");
        Assert.Equal(0, Run("tail", "-n", "1", path).Code);
    }

    [Fact]
    public void A_torn_tail_is_read_past_by_reading_commands_and_cut_with_a_note_by_writing_ones()
    {
        using var dir = new TempDirectory("tools-torn");
        string path = Fixtures.CopyTo("crash-truncated.fs", dir);
        foreach (string[] reading in new[] { new[] { "tail", "-n", "1", path }, new[] { "stats", path }, new[] { "array", "list", path } })
        {
            (int code, string output, string error) = Run(reading);
            Assert.Equal(0, code);
            Assert.Equal($"note: {path}: the last 5596 bytes (from 30181) are not a finished transaction and are left out: "
                + "a commit in progress in another process, or a file cut short (`wendelin verify FILE` tells)\n", error.ReplaceLineEndings("\n"));
            Assert.NotEqual("", output);
        }
        Assert.Contains("offset=18832", Run("tail", "-n", "1", path).Output, StringComparison.Ordinal); // T9: T10 is the torn tail
        Assert.Equal(Fixtures.Bytes("crash-truncated.fs"), File.ReadAllBytes(path)); // reading changes nothing
        Assert.Equal(1, Run("verify", path).Code);
        (int code2, _, string error2) = Run("reindex", path);
        Assert.Equal(0, code2);
        Assert.StartsWith("note: ", error2, StringComparison.Ordinal);
        Assert.Contains("cut a torn tail of 5596 bytes at 30181", error2, StringComparison.Ordinal);
        Assert.True(File.Exists(path + ".tr0"));
        Assert.Equal(0, Run("verify", path).Code);
    }

    [Fact]
    public void Usage_errors_exit_2_with_a_hint()
    {
        string basic = Fixtures.Path("basic.fs");
        foreach (string[] args in new[]
        {
            new[] { "pack", basic },
            new[] { "pack", basic, "--days", "1", "--before", "040d3e5304dad522" },
            new[] { "pack", basic, "--days", "-3" },
            new[] { "pack", basic, "--days", "many" },
            new[] { "undo-log", basic, "-n", "-1" },
            new[] { "verify", basic, "--frobnicate" },
            new[] { "undo", basic },
            new[] { "tail", basic, "-n", "-2" },
            new[] { "array", "export", basic, "A" },
            new[] { "array", "export", basic, "A", "a.npy", "--format", "csv" },
            new[] { "demo", "--size", "lots" },
            new[] { "demo", "--budget", "-1G" },
            new[] { "frob" },
        })
        {
            (int code, string output, string error) = Run(args);
            Assert.Equal(2, code);
            Assert.Equal("", output);
            string name = args[0] == "frob" ? "wendelin" : "wendelin " + Name(args);
            Assert.All(error.TrimEnd('\n').Split('\n'), line =>
            {
                Assert.StartsWith(name + ": ", line, StringComparison.Ordinal);
                Assert.EndsWith($"(hint: `{name} --help`)", line, StringComparison.Ordinal);
            });
        }
        using var dir = new TempDirectory("tools-usage");
        string path = Fixtures.CopyTo("basic.fs", dir);
        AssertOneLineError(Run("pack", path, "--before", "yesterday-ish"), "pack", "neither a UTC time nor a tid", "write a time like");
        AssertOneLineError(Run("undo", path, "nonsense"), "undo", "'nonsense' is neither an undo id nor a tid", "`wendelin undo-log FILE` lists both");
        AssertOneLineError(Run("undo", path, "0000000000000001"), "undo", "has no transaction 0000000000000001", "`wendelin undo-log FILE` lists");
        Assert.Equal(Fixtures.Bytes("basic.fs"), File.ReadAllBytes(path));
    }

    [Fact]
    public void Verify_reports_clean_files_and_each_crash_fixture()
    {
        (int code, string output, _) = Run("verify", Fixtures.Path("basic.fs"));
        Assert.Equal(0, code);
        Assert.EndsWith("11 transactions, 27 records, 11 objects: clean\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        foreach ((string file, string first) in new[]
        {
            ("crash-truncated.fs", "V104 error at 30181"), ("crash-status-c.fs", "V105 error at 30181"),
            ("crash-garbage-short.fs", "V102 error at 41374"), ("crash-garbage-long.fs", "V104 error at 41374"),
            ("crash-garbage-nonascii.fs", "V104 error at 41374"), ("crash-flip-tlen-low.fs", "V109 error at 2904"),
            ("crash-flip-tlen-high.fs", "V104 error at 2734"),
        })
        {
            (code, output, _) = Run("verify", Fixtures.Path(file));
            Assert.Equal(1, code);
            Assert.StartsWith(first, output, StringComparison.Ordinal);
        }
        (code, output, _) = Run("verify", Fixtures.Path("crash-flip-tlen-low.fs"), "--json");
        Assert.Equal(1, code);
        JsonNode json = JsonNode.Parse(output)!;
        Assert.False(json["clean"]!.GetValue<bool>());
        Assert.Equal(["V109", "V119", "V121"], json["findings"]!.AsArray().Select(f => f!["code"]!.GetValue<string>()));
        Assert.Equal(2904, json["findings"]![0]!["position"]!.GetValue<long>());
        (code, output, _) = Run("verify", Fixtures.Path("zbigarray-zblk0.fs"), "--structure-only", "--json");
        Assert.Equal(0, code);
        Assert.Equal(0, JsonNode.Parse(output)!["objects"]!.GetValue<int>());
    }

    [Fact]
    public void Pack_writes_what_ZODB_wrote_and_the_dump_equals_packed_dump_json()
    {
        using var dir = new TempDirectory("tools-pack");
        string path = Fixtures.CopyTo("basic.fs", dir, "packed.fs"); // named like the fixture, so the dumps compare whole
        (int code, string output, string error) = Run("pack", path, "--before", "040d3e5304dad522", "--keep-old");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("packed at 040d3e5304dad522", output, StringComparison.Ordinal);
        Assert.Contains("41374 → 38332 bytes", output, StringComparison.Ordinal);
        Assert.Contains("kept as " + path + ".old", output, StringComparison.Ordinal);
        Assert.Equal(Fixtures.Bytes("packed.fs"), File.ReadAllBytes(path));
        Assert.Equal(Fixtures.Bytes("basic.fs"), File.ReadAllBytes(path + ".old"));
        (code, output, _) = Run("dump", "--json", path);
        Assert.Equal(0, code);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(Fixtures.Path("packed.dump.json"))), JsonNode.Parse(output)));
        Assert.Equal(0, Run("verify", path).Code);

        (code, output, _) = Run("pack", path, "--before", "2026-11-25T02:27:01.137847Z", "--json");
        Assert.Equal(0, code);
        JsonNode again = JsonNode.Parse(output)!;
        Assert.False(again["packed"]!.GetValue<bool>());
        Assert.Equal("nothing before the pack time can be removed", again["reason"]!.GetValue<string>());
    }

    [Fact]
    public void Pack_by_days_with_and_without_gc()
    {
        using var dir = new TempDirectory("tools-pack");
        string gc = Fixtures.CopyTo("basic.fs", dir, "gc.fs");
        string nogc = Fixtures.CopyTo("basic.fs", dir, "nogc.fs");
        (int code, string output, _) = Run("pack", gc, "--days", "0", "--json");
        Assert.Equal(0, code);
        JsonNode r = JsonNode.Parse(output)!;
        Assert.True(r["packed"]!.GetValue<bool>());
        Assert.Equal(2, r["objects_removed"]!.GetValue<int>()); // 0x03 and 0x04: unreachable now
        Assert.False(File.Exists(gc + ".old"));
        Assert.Equal(0, Run("pack", nogc, "--days", "0", "--no-gc").Code);
        using var a = FileStorage.Open(gc, new FileStorageOptions { ReadOnly = true });
        using var b = FileStorage.Open(nogc, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(9, a.ObjectCount);
        Assert.Equal(11, b.ObjectCount);
        Assert.All(a.Iterator(), t => Assert.Equal(Storage.Format.TransactionStatus.Packed, t.Status));
    }

    [Fact]
    public void Undo_log_and_undo()
    {
        using var dir = new TempDirectory("tools-undo");
        string path = Fixtures.CopyTo("basic.fs", dir);
        (int code, string output, _) = Run("undo-log", path, "-n", "3", "--json");
        Assert.Equal(0, code);
        JsonArray log = JsonNode.Parse(output)!.AsArray();
        Assert.Equal(3, log.Count);
        Assert.Equal("040d3e530ad94e66", log[0]!["tid"]!.GetValue<string>());
        Assert.Equal("BA0+UwrZTmY=", log[0]!["id"]!.GetValue<string>());
        (code, output, _) = Run("undo-log", path);
        Assert.Equal(0, code);
        Assert.Contains("counter=6; drop item", output, StringComparison.Ordinal);
        Assert.Equal(11, output.Split('\n').Count(l => l.Contains("040d3e5", StringComparison.Ordinal)));

        byte[] before = File.ReadAllBytes(path);
        (code, _, string error) = Run("undo", path, "040d3e52ff12ec55"); // T3: counter changed later
        Assert.Equal(1, code);
        Assert.Contains("refused, nothing written: Some data were modified by a later transaction (object 0x0000000000000002)", error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));

        (code, output, _) = Run("undo", path, "BA0+UwrZTmY=", "040d3e530aa18066", "--description", "undo T10 and T9", "--json");
        Assert.Equal(0, code);
        JsonNode result = JsonNode.Parse(output)!;
        Assert.Equal(["0x0000000000000000", "0x0000000000000002"], result["oids"]!.AsArray().Select(o => o!.GetValue<string>()).Order());
        using var fs = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal("undo T10 and T9", fs.UndoLog(0, 1)[0].DescriptionText);
        Assert.Equal(fs.LoadSerial(Oid.Root, Tid.Parse("040d3e530a69b000")).ToArray(), fs.Load(Oid.Root).Data.ToArray());
    }

    [Fact]
    public void Stats_counts_objects_and_bytes_per_class()
    {
        (int code, string output, _) = Run("stats", Fixtures.Path("undo.fs"), "--json");
        Assert.Equal(0, code);
        JsonNode s = JsonNode.Parse(output)!;
        Assert.Equal(13, s["transactions"]!.GetValue<int>());
        Assert.Equal(s["records"]!.GetValue<long>(), s["classes"]!.AsArray().Sum(c => c!["records"]!.GetValue<long>()));
        JsonNode undone = s["classes"]!.AsArray().Single(c => c!["class"]!.GetValue<string>() == "(no data: deleted or creation undone)")!;
        Assert.Equal(1, undone["records"]!.GetValue<long>());
        JsonNode mapping = s["classes"]!.AsArray().Single(c => c!["class"]!.GetValue<string>() == "persistent.mapping.PersistentMapping")!;
        Assert.Equal(1, mapping["current"]!.GetValue<long>());
        (code, output, _) = Run("stats", Fixtures.Path("basic.fs"));
        Assert.Equal(0, code);
        Assert.Contains("fixturemodel.Node", output, StringComparison.Ordinal);
        Assert.Contains("total", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Reindex_rebuilds_the_index()
    {
        using var dir = new TempDirectory("tools-reindex");
        string path = Fixtures.CopyTo("basic.fs", dir);
        File.WriteAllText(path + ".index", "scribbled");
        (int code, string output, string error) = Run("reindex", path);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains("11 objects", output, StringComparison.Ordinal);
        using var fs = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        Assert.True(fs.IndexLoaded);
    }

    [Fact]
    public async Task Ctrl_C_cancels_verify_and_pack_cleanly()
    {
        using var dir = new TempDirectory("tools-cancel");
        string path = Fixtures.CopyTo("basic.fs", dir);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        foreach (string[] args in new[] { new[] { "verify", path }, new[] { "pack", path, "--days", "0" } })
        {
            var error = new StringWriter();
            int code = await Cli.Build().Parse(args).InvokeAsync(new InvocationConfiguration { Output = new StringWriter(), Error = error }, cancelled.Token);
            Assert.Equal(130, code);
            Assert.StartsWith($"wendelin {args[0]}: cancelled; ", error.ToString(), StringComparison.Ordinal);
        }
        Assert.Equal(Fixtures.Bytes("basic.fs"), File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".pack"));
    }
}
