using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>NAME.index (spec/filestorage.md FS-I1..FS-I5): ZODB's files load, ours are ZODB's bytes, bad ones are ignored.</summary>
public sealed class IndexFileTests(ITestOutputHelper output)
{
    public static TheoryData<string> Upstream => ["py2_pickle1", "py2_pickle2", "py2_pickle3", "py3_pickle3"];

    [Theory]
    [MemberData(nameof(Upstream))]
    public void Upstream_files_open_with_their_index_and_without(string dialect)
    {
        using var dir = new TempDirectory("index");
        string withIndex = Fixtures.CopyTo($"upstream-zblk/{dialect}/zblk.fs", dir, "with.fs", withCompanions: true);
        string without = Fixtures.CopyTo($"upstream-zblk/{dialect}/zblk.fs", dir, "without.fs");
        File.Copy(withIndex, dir.File("rw.fs"));
        File.Copy(withIndex + ".index", dir.File("rw.fs.index"));

        using var a = Fs.FileStorage.Open(withIndex, new FileStorageOptions { ReadOnly = true });
        using var b = Fs.FileStorage.Open(without, new FileStorageOptions { ReadOnly = true });
        Assert.True(a.IndexLoaded, string.Join("; ", a.OpenLog));
        Assert.False(b.IndexLoaded);
        Assert.Equal(dialect.StartsWith("py2", StringComparison.Ordinal) ? Format.FileMagic.FS21 : Format.FileMagic.FS30, a.Magic);
        Assert.True(a.CopyIndex().ContentEquals(b.CopyIndex()));
        Assert.True(a.CopyIndex().ContentEquals(a.RebuildIndex()));
        Assert.Equal(b.LastTransaction, a.LastTransaction);
        Assert.Equal(b.Size, a.Size);
        Assert.Equal(new FileInfo(withIndex).Length, a.Size);

        int records = 0;
        foreach (TransactionRecord t in a.Iterator())
        {
            foreach (DataRecord r in t.Records)
            {
                Assert.NotNull(r.ReadData());
                records++;
            }
        }
        Assert.Equal(73, records);
        Assert.Equal(Tid.Parse("0285cbac3851eb99"), a.Load(new Oid(2)).Serial);
        Assert.Equal(Tid.Parse("0285cbac3851eb99"), a.Load(new Oid(3)).Serial);

        // writable opens keep (and rewrite) the index; a reopen loads ours
        using (var rw = Fs.FileStorage.Open(dir.File("rw.fs")))
        {
            Assert.True(rw.IndexLoaded);
        }
        using var again = Fs.FileStorage.Open(dir.File("rw.fs"), new FileStorageOptions { ReadOnly = true });
        Assert.True(again.IndexLoaded);
        Assert.True(again.CopyIndex().ContentEquals(b.CopyIndex()));
    }

    [Fact]
    public void Our_index_is_byte_for_byte_what_zodb_on_python_3_wrote() // FS-I4
    {
        using var fs = Fs.FileStorage.Open(Fixtures.Path("upstream-zblk/py3_pickle3/zblk.fs"), new FileStorageOptions { ReadOnly = true });
        byte[] ours = Fs.FileStorage.EncodeIndex(fs.CopyIndex(), fs.Size);
        Assert.Equal(Fixtures.Bytes("upstream-zblk/py3_pickle3/zblk.fs.index"), ours);
    }

    [Fact]
    public void Index_round_trip_property_written_reread_equal_to_a_rebuilt_one()
    {
        Gen<(int Oid, int Size)[][]> workloads = Gen.Choose(1, 12).SelectMany(n => Gen.ArrayOf(
            Gen.Choose(0, 4).SelectMany(k => Gen.ArrayOf(
                Gen.Frequency((3, Gen.Choose(0, 40)), (1, Gen.Choose(65_530, 65_545)), (1, Gen.Choose(1 << 20, (1 << 20) + 3)))
                    .SelectMany(oid => Gen.Choose(1, 300).Select(size => (oid, size))), k)), n));
        PropertyRun.Check(output, nameof(Index_round_trip_property_written_reread_equal_to_a_rebuilt_one), workloads, workload =>
        {
            var mem = new MemoryFileSystem();
            const string path = "/index/data.fs";
            var serials = new Dictionary<int, Tid>();
            using (var fs = Fs.FileStorage.Open(path, new FileStorageOptions(), mem))
            {
                foreach ((int Oid, int Size)[] txn in workload)
                {
                    StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
                    foreach ((int oid, int size) in txn)
                    {
                        fs.Store(t, new Oid((ulong)oid), serials.GetValueOrDefault(oid, Tid.Zero), new byte[size]);
                    }
                    fs.TpcVote(t);
                    Tid tid = fs.TpcFinish(t);
                    foreach ((int oid, _) in txn)
                    {
                        serials[oid] = tid;
                    }
                }
            }
            using var reopened = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }, mem);
            bool expectIndex = reopened.Size >= 100;
            Assert.Equal(expectIndex, reopened.IndexLoaded);
            Assert.Equal(expectIndex, mem.FileExists(path + ".index"));
            Assert.True(reopened.CopyIndex().ContentEquals(reopened.RebuildIndex()));
            Assert.Equal(serials.Count, reopened.ObjectCount);
            foreach ((int oid, Tid serial) in serials)
            {
                Assert.Equal(serial, reopened.GetTid(new Oid((ulong)oid)));
            }
        }, maxTest: 40);
    }

    [Fact]
    public void A_large_index_of_thousands_of_prefixes_saves_and_restores() // checklist 101
    {
        var mem = new MemoryFileSystem();
        const string path = "/index/large.fs";
        using (var fs = Fs.FileStorage.Open(path, new FileStorageOptions(), mem))
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
            for (ulong i = 0; i < 5000; i++)
            {
                fs.Store(t, new Oid((i << 16) | (i & 0xFF)), Tid.Zero, new[] { (byte)i });
                fs.Store(t, new Oid((i << 16) | 0xFFFF), Tid.Zero, new[] { (byte)(i + 1) });
            }
            fs.TpcVote(t);
            fs.TpcFinish(t);
        }
        using var reopened = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }, mem);
        Assert.True(reopened.IndexLoaded);
        Assert.Equal(10_000, reopened.ObjectCount);
        Assert.True(reopened.CopyIndex().ContentEquals(reopened.RebuildIndex()));
        Assert.Equal(new byte[] { 77 & 0xFF }, reopened.Load(new Oid((77UL << 16) | 77)).Data.ToArray());
    }

    [Fact]
    public void Transactions_appended_after_the_index_was_saved_are_scanned()
    {
        var mem = new MemoryFileSystem();
        const string path = "/index/grow.fs";
        Tid first, second;
        using (var fs = Fs.FileStorage.Open(path, new FileStorageOptions(), mem))
        {
            first = Commit(fs, Oid.Root, Tid.Zero, 200);
        }
        byte[] staleIndex = mem.ReadAllBytes(path + ".index")!;
        using (var fs = Fs.FileStorage.Open(path, new FileStorageOptions { SaveIndex = false }, mem))
        {
            second = Commit(fs, new Oid(1), Tid.Zero, 10);
        }
        Assert.Equal(staleIndex, mem.ReadAllBytes(path + ".index")); // as a Python writer killed before close
        using var again = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }, mem);
        Assert.True(again.IndexLoaded);
        Assert.Equal(second, again.LastTransaction);
        Assert.Equal(first, again.GetTid(Oid.Root));
        Assert.Equal(second, again.GetTid(new Oid(1)));
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("scribbled")]
    [InlineData("stale")]
    [InlineData("wrong-positions")]
    [InlineData("old-dict")]
    [InlineData("empty")]
    public void A_bad_index_is_ignored_and_rebuilt(string damage) // checklist 80, 81
    {
        using var dir = new TempDirectory("index");
        string path = Fixtures.CopyTo("basic.fs", dir);
        using (Fs.FileStorage.Open(path))
        {
        }
        byte[] good = File.ReadAllBytes(path + ".index");
        byte[] bad = damage switch
        {
            "truncated" => good[..(good.Length / 2)],
            "scribbled" => Scribble(good),
            "stale" => Fs.FileStorage.EncodeIndex(new FsIndex(), 30181),
            "wrong-positions" => WrongPositions(path),
            "old-dict" => Storage.Pickle.PickleWriter.Write(new Storage.Pickle.PickleDict()),
            _ => [],
        };
        File.WriteAllBytes(path + ".index", bad);
        using var fs = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        Assert.False(fs.IndexLoaded);
        Assert.NotEmpty(fs.OpenLog);
        Assert.Equal(11, fs.ObjectCount);
        Assert.True(fs.CopyIndex().ContentEquals(fs.RebuildIndex()));
        foreach (TransactionRecord t in fs.Iterator())
        {
            Assert.NotNull(t.Records);
        }
    }

    private static byte[] Scribble(byte[] good)
    {
        byte[] b = (byte[])good.Clone();
        for (int i = 20; i < b.Length; i += 7)
        {
            b[i] ^= 0x5A;
        }
        return b;
    }

    private static byte[] WrongPositions(string path)
    {
        using var fs = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        FsIndex index = fs.CopyIndex();
        var shifted = new FsIndex();
        foreach ((Oid oid, long p) in index.Entries())
        {
            shifted.Set(oid, p == 30204 ? 18898 : p); // the root's last record swapped with counter's
        }
        return Fs.FileStorage.EncodeIndex(shifted, fs.Size);
    }

    private static Tid Commit(Fs.FileStorage fs, Oid oid, Tid serial, int size)
    {
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata("i", "index"));
        fs.Store(t, oid, serial, Encoding.ASCII.GetBytes(new string('x', size)));
        fs.TpcVote(t);
        return fs.TpcFinish(t);
    }
}
