using System.CommandLine;
using System.Text.Json.Nodes;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;

namespace Wendelin.Tools.Tests;

/// <summary><c>wendelin dump</c> and <c>wendelin tail</c> against the golden files, and their error messages.</summary>
public sealed class DumpTailTests
{
    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        return OperatorCommandTests.Run(args);
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("undo")]
    [InlineData("packed")]
    public void Dump_json_equals_the_fixture_dump_whole(string name)
    {
        (int code, string output, string error) = Run("dump", "--json", Fixtures.Path(name + ".fs"));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        string expectedText = File.ReadAllText(Fixtures.Path(name + ".dump.json"));
        JsonNode expected = JsonNode.Parse(expectedText)!;
        JsonNode actual = JsonNode.Parse(output)!;
        Assert.True(JsonNode.DeepEquals(expected, actual), "the dump differs from " + name + ".dump.json");
        // Same text too: the fixture was written by json.dumps(indent=1, ensure_ascii=False); ours escapes
        // non-ASCII characters (ensure_ascii=True). Written the same way, the two are identical.
        Assert.Equal(PythonJson.Serialize(expected, indent: 1) + "\n", output);
    }

    [Fact]
    public void Dump_text_lists_transactions_records_classes_and_backpointers()
    {
        (int code, string output, _) = Run("dump", Fixtures.Path("undo.fs"));
        Assert.Equal(0, code);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(13, lines.Count(l => l.StartsWith("Trans #", StringComparison.Ordinal)));
        Assert.StartsWith("Trans #00000 tid=040d3e530b3abd99 size=154 time=2026-11-25 02:27:02.631904 offset=4", lines[0], StringComparison.Ordinal);
        Assert.Equal("    status=' ' user='' description='initial database creation'", lines[1]);
        Assert.Equal("  data #00000 oid=0000000000000000 size=64 class=persistent.mapping.PersistentMapping", lines[2]);
        Assert.Contains("  data #00002 oid=0000000000000009 class=undo or abort of object creation", lines);
        Assert.Contains(lines, l => l.Contains("class=fixturemodel.Item bp=", StringComparison.Ordinal));
    }

    [Fact]
    public void Tail_shows_the_last_transactions_newest_first_like_fstail()
    {
        (int code, string output, _) = Run("tail", "-n", "2", Fixtures.Path("basic.fs"));
        Assert.Equal(0, code);
        Assert.Equal(
            "2026-11-25 02:27:02.542700: hash=a56545a9564f2e20e410fb0fc0b1ce1c4455d08c\n" +
            "user='' description='' length=11185 offset=30181 (+23)\n\n" +
            "2026-11-25 02:27:02.491609: hash=cd1a3d1b0c87c0e56dc4e7e3c12d2c12f8709092\n" +
            "user='bob' description='counter=6; drop item' length=11341 offset=18832 (+66)\n\n",
            output.ReplaceLineEndings("\n"));
        Assert.Equal(10, Run("tail", Fixtures.Path("basic.fs")).Output.Split("hash=").Length - 1);
        Assert.Equal(11, Run("tail", "-n", "100", Fixtures.Path("basic.fs")).Output.Split("hash=").Length - 1);
    }

    [Theory]
    [InlineData("dump")]
    [InlineData("tail")]
    public void Bad_inputs_get_one_line_messages_and_exit_code_2(string command)
    {
        using var dir = new TempDirectory("tools");
        File.WriteAllBytes(dir.File("empty.fs"), []);
        File.WriteAllText(dir.File("foreign.fs"), "this is a text file, not a database\n");
        string[] cases = [dir.File("missing.fs"), dir.Path, dir.File("empty.fs"), dir.File("foreign.fs"), Fixtures.Path("crash-flip-tlen-high.fs")];
        string[] expected = ["no such file", "is a directory", "is empty (0 bytes)", "is not a FileStorage data file", "refusing to cut committed transactions"];
        for (int i = 0; i < cases.Length; i++)
        {
            (int code, string output, string error) = Run(command, cases[i]);
            Assert.Equal(2, code);
            Assert.Equal("", output);
            Assert.Single(error.TrimEnd('\n').Split('\n'));
            Assert.StartsWith($"wendelin {command}: ", error, StringComparison.Ordinal);
            Assert.Contains(expected[i], error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_file_open_for_writing_elsewhere_is_read_without_its_lock()
    {
        using var dir = new TempDirectory("tools");
        string path = Fixtures.CopyTo("basic.fs", dir);
        using var writer = FileStorage.Open(path);
        StorageTransaction t = writer.TpcBegin(new TransactionMetadata("w", "voted, not finished"));
        writer.Store(t, new Oid(99), Tid.Zero, new byte[] { 1, 2, 3 });
        writer.TpcVote(t);
        (int code, string output, string error) = Run("tail", "-n", "1", path);
        Assert.Equal(0, code);
        Assert.Contains("offset=30181", output, StringComparison.Ordinal); // the voted transaction is not shown
        Assert.Equal($"note: {path}: the last {new FileInfo(path).Length - 41374} bytes (from 41374) are not a finished transaction and are left out: "
            + "a commit in progress in another process, or a file cut short (`wendelin verify FILE` tells)\n", error.ReplaceLineEndings("\n"));
        writer.TpcAbort(t);
        Assert.Throws<LockException>(() => FileStorage.Open(path));
    }
}
