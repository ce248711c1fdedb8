using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// The crash-*.fs fixtures (tests/fixtures/crash-cases.json records what ZODB does on each); our behaviour is
/// spec/filestorage.md FS-R1..FS-R5 and its table "Crash cases: ZODB and us".
/// </summary>
public sealed class CrashFixtureTests
{
    private static readonly string[] BasicTids =
    [
        "040d3e52fe5f78dd", "040d3e52fe97f688", "040d3e52feda9311", "040d3e52ff12ec55", "040d3e52ff4ad5ee",
        "040d3e52ff82e811", "040d3e5309fa04ee", "040d3e530a320911", "040d3e530a69b000", "040d3e530aa18066",
        "040d3e530ad94e66",
    ];

    [Theory]
    [InlineData("crash-truncated.fs", 35777, 30181, 10)]
    [InlineData("crash-status-c.fs", 41374, 30181, 10)]
    [InlineData("crash-garbage-short.fs", 41384, 41374, 11)]
    [InlineData("crash-garbage-long.fs", 41438, 41374, 11)]
    [InlineData("crash-garbage-nonascii.fs", 41438, 41374, 11)]
    public void Torn_tail_is_ignored_read_only_and_cut_read_write_keeping_its_bytes(string name, long size, long end, int count)
    {
        using var dir = new TempDirectory("crash");
        string path = Fixtures.CopyTo(name, dir);
        byte[] original = File.ReadAllBytes(path);
        Assert.Equal(size, original.Length);

        using (var ro = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }))
        {
            AssertPrefix(ro, end, count);
            Assert.Contains(ro.OpenLog, m => m.Contains("torn tail", StringComparison.Ordinal));
        }
        Assert.Equal(original, File.ReadAllBytes(path)); // FS-O4: read-only never changes the file
        Assert.False(File.Exists(path + ".tr0"));
        Assert.False(File.Exists(path + ".lock"));

        using (var rw = Fs.FileStorage.Open(path))
        {
            AssertPrefix(rw, end, count);
        }
        Assert.Equal(original[..(int)end], File.ReadAllBytes(path));
        Assert.Equal(original[(int)end..], File.ReadAllBytes(path + ".tr0")); // FS-R3: the cut bytes are kept

        using (var again = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }))
        {
            AssertPrefix(again, end, count);
            Assert.Empty(again.OpenLog);
        }
    }

    [Theory]
    [InlineData("crash-flip-tlen-low.fs", 2904, "record fits")] // tlen 171: the records no longer tile it
    [InlineData("crash-flip-tlen-high.fs", 2734, "transaction fits in the file")]
    public void Damage_in_the_middle_is_refused_naming_the_position_and_what_follows(string name, long position, string check)
    {
        using var dir = new TempDirectory("crash");
        string path = Fixtures.CopyTo(name, dir);
        byte[] original = File.ReadAllBytes(path);
        foreach (bool readOnly in new[] { true, false })
        {
            var e = Assert.Throws<CorruptRecordException>(() => Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = readOnly }));
            Assert.Equal(position, e.Position);
            Assert.Equal(check, e.Check);
            Assert.Contains("the transaction at 2734 is damaged", e.Message, StringComparison.Ordinal);
            Assert.Contains("040d3e52ff4ad5ee follows at 2912", e.Message, StringComparison.Ordinal);
            Assert.Contains("refusing", e.Message, StringComparison.Ordinal);
            Assert.EndsWith($"(failed check: {check})", e.Message, StringComparison.Ordinal); // what was found first, then the check
            Assert.DoesNotContain($"{position}: {check}:", e.Message, StringComparison.Ordinal);
            Assert.Equal(path, e.FilePath);
        }
        Assert.Equal(original, File.ReadAllBytes(path)); // nothing cut, no side file
        Assert.False(File.Exists(path + ".tr0"));
        // the lock of the failed writable open was released
        using var ro = Fs.FileStorage.Open(Fixtures.Path("basic.fs"), new FileStorageOptions { ReadOnly = true });
        using (Fs.FileStorage.Open(Fixtures.CopyTo("basic.fs", dir, "other.fs")))
        {
        }
        File.WriteAllBytes(path, original);
        File.Delete(path + ".lock");
    }

    [Fact]
    public void Bytes_inserted_in_the_middle_are_refused_even_though_later_transactions_moved() // FS-R2
    {
        using var dir = new TempDirectory("crash");
        byte[] basic = Fixtures.Bytes("basic.fs");
        string path = dir.File("inserted.fs");
        File.WriteAllBytes(path, [.. basic[..2800], 1, 2, 3, 4, 5, .. basic[2800..]]);
        var e = Assert.Throws<CorruptRecordException>(() => Fs.FileStorage.Open(path));
        Assert.Contains("040d3e52ff4ad5ee follows at 2917 (written at 2912", e.Message, StringComparison.Ordinal);
        Assert.Equal(basic.Length + 5, new FileInfo(path).Length);
    }

    [Fact]
    public void Second_cut_goes_to_the_next_unused_side_file()
    {
        using var dir = new TempDirectory("crash");
        string path = Fixtures.CopyTo("crash-garbage-long.fs", dir);
        File.WriteAllText(path + ".tr0", "earlier");
        using (Fs.FileStorage.Open(path))
        {
        }
        Assert.Equal("earlier", File.ReadAllText(path + ".tr0"));
        Assert.Equal(64, new FileInfo(path + ".tr1").Length);
    }

    private static void AssertPrefix(Fs.FileStorage fs, long end, int count)
    {
        Assert.Equal(end, fs.Size);
        Assert.Equal(Tid.Parse(BasicTids[count - 1]), fs.LastTransaction); // the last surviving one (ZODB reports the damaged header's)
        Assert.Equal(BasicTids[..count], fs.Iterator().Select(t => t.Tid.ToString()));
        Assert.Equal(11, fs.ObjectCount);
        foreach (TransactionRecord t in fs.Iterator())
        {
            foreach (DataRecord r in t.Records)
            {
                _ = r.ReadData();
            }
        }
    }
}
