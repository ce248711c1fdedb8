using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Wendelin.Arrays;
using Wendelin.Storage.Fs;
using Wendelin.TestSupport;
using static Wendelin.Tools.Tests.DemoTests;

namespace Wendelin.Tools.Tests;

/// <summary><c>wendelin array list|info|export|import</c> end to end on the fixtures and on files they write, including bad input.</summary>
public sealed class ArrayCommandTests
{
    private static JsonObject Fixture(string name) => JsonNode.Parse(File.ReadAllText(Fixtures.Path(name)))!.AsObject();

    [Fact]
    public void List_names_every_array_with_shape_dtype_order_formats_and_bytes()
    {
        (int code, string output, string error) = Run("array", "list", Fixtures.Path("zbigarray-zblk1.fs"));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains("A ", lines[1], StringComparison.Ordinal);
        Assert.Contains("(1000100,)", lines[1], StringComparison.Ordinal);
        Assert.Contains("<f8", lines[1], StringComparison.Ordinal);
        Assert.Contains("ZBlk1:4", lines[1], StringComparison.Ordinal);
        Assert.Contains("(300, 500)", lines[2], StringComparison.Ordinal);

        (code, output, _) = Run("array", "ls", "--json", Fixtures.Path("zbigarray-zblk0.fs"));
        Assert.Equal(0, code);
        JsonArray list = JsonNode.Parse(output)!.AsArray();
        Assert.Equal(2, list.Count);
        Assert.Equal("A", (string)list[0]!["path"]!);
        Assert.Equal("0x0000000000000001", (string)list[0]!["oid"]!);
        Assert.Equal(4, (int)list[0]!["formats"]!["ZBlk0"]!);
        Assert.Equal(8000800, (long)list[0]!["nbytes"]!);
    }

    [Theory]
    [InlineData("py2_pickle1")]
    [InlineData("py2_pickle2")]
    [InlineData("py2_pickle3")]
    public void List_and_info_open_Python2_databases(string dialect)
    {
        // the root of a Python-2 database has Python-2 str keys (spec/pickle.md PK-14): list walks it, info finds the path
        string path = Fixtures.Path($"upstream-zblk/{dialect}/zblk.fs");
        (int code, string output, string error) = Run("array", "list", path);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("no ZBigArray is reachable from the root", output, StringComparison.Ordinal);
        (code, _, error) = Run("array", "info", path, "zbigf");
        Assert.Equal(2, code);
        Assert.Contains("'zbigf' is a ZBigFile, not a ZBigArray", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("zbigarray-zblk0")]
    [InlineData("zbigarray-zblk1")]
    public void Info_gives_the_fixture_hashes_now_and_at_every_older_tid(string name)
    {
        JsonObject doc = Fixture(name + ".json");
        foreach (JsonNode? t in doc["transactions"]!.AsArray())
        {
            foreach ((string key, JsonNode? expected) in t!["arrays"]!.AsObject())
            {
                (int code, string output, string error) = Run("array", "info", "--json", "--at", (string)t["tid"]!, Fixtures.Path(name + ".fs"), key);
                Assert.Equal("", error);
                Assert.Equal(0, code);
                JsonObject info = JsonNode.Parse(output)!.AsObject();
                Assert.Equal((string)expected!["sha256_c_order"]!, (string)info["sha256_c_order"]!);
                Assert.Equal(expected["shape"]!.ToJsonString(), info["shape"]!.ToJsonString());
            }
        }
        // the final state against everything the fixture says of each array
        foreach ((string key, JsonNode? node) in doc["arrays"]!.AsObject())
        {
            JsonObject expected = node!.AsObject();
            (int code, string output, string error) = Run("array", "info", "--json", Fixtures.Path(name + ".fs"), key);
            Assert.True(code == 0, error);
            JsonObject info = JsonNode.Parse(output)!.AsObject();
            Assert.Equal((string)expected["oid"]!, (string)info["oid"]!);
            Assert.Equal(expected["shape"]!.ToJsonString(), info["shape"]!.ToJsonString());
            Assert.Equal((string)expected["dtype"]!, (string)info["dtype"]!);
            Assert.Equal((string)expected["order"]!, (string)info["order"]!);
            Assert.Equal((int)expected["itemsize"]!, (int)info["itemsize"]!);
            Assert.Equal((long)expected["nbytes"]!, (long)info["nbytes"]!);
            Assert.Equal((long)expected["blksize"]!, (long)info["blksize"]!);
            Assert.Equal((long)expected["blocks_spanned"]!, (long)info["blocks_spanned"]!);
            JsonArray present = expected["blocks_present"]!.AsArray();
            Assert.Equal(present.Count, (int)info["blocks_present"]!);
            // formats: a count per class, and the runs of blocks per class, both from the fixture's list of blocks
            var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var runs = new List<string>();
            long runStart = -1, prev = -2;
            string? runClass = null;
            foreach (JsonNode? b in present)
            {
                string cls = ((string)b!["class"]!)["wendelin.bigfile.file_zodb.".Length..];
                long blk = (long)b["blk"]!;
                counts[cls] = counts.GetValueOrDefault(cls) + 1;
                if (blk != prev + 1 || cls != runClass)
                {
                    if (runClass is not null)
                    {
                        runs.Add(Run1(runStart, prev, runClass));
                    }
                    runStart = blk;
                    runClass = cls;
                }
                prev = blk;
            }
            if (runClass is not null)
            {
                runs.Add(Run1(runStart, prev, runClass));
            }
            Assert.Equal(counts, info["formats"]!.AsObject().ToDictionary(kv => kv.Key, kv => (int)kv.Value!));
            Assert.Equal(runs, info["block_formats"]!.AsObject().Select(kv => Run1Text(kv.Key, (string)kv.Value!)).ToList());
            Assert.Equal((string)expected["sha256_c_order"]!, (string)info["sha256_c_order"]!);
        }

        static string Run1(long first, long last, string cls) => first == last ? $"{first}:{cls}" : $"{first}-{last}:{cls}";

        static string Run1Text(string key, string cls) => $"{key}:{cls}";
    }

    [Fact]
    public void Info_gives_the_runs_of_block_formats_of_a_mixed_array_with_holes()
    {
        using var dir = new TempDirectory("array-runs");
        string db = dir.File("m.fs");
        const int bs = 64 * 1024;
        using (var database = new Wendelin.Storage.Persistence.Database(FileStorage.Open(db, new FileStorageOptions { Create = true, Fsync = false })))
        {
            var c = database.Open();
            var a = new ZBigArray([8L * bs], DType.UInt8, blockSize: bs) { BlockFormat = Wendelin.Arrays.Zodb.ZBlkFormat.ZBlk0 };
            c.Root["m"] = a;
            c.TransactionManager.Commit();
            foreach (long b in new long[] { 0, 1, 2, 6, 7 })
            {
                a.SetItem((byte)1, b * bs);
            }
            c.TransactionManager.Commit();
            a.BlockFormat = Wendelin.Arrays.Zodb.ZBlkFormat.ZBlk1;
            a.SetItem((byte)2, 4L * bs);
            a.SetItem((byte)2, 1L * bs + 5); // block 1 becomes a ZBlk1 between ZBlk0 blocks
            c.TransactionManager.Commit();
            c.Dispose();
        }
        (int code, string output, string error) = Run("array", "info", "--json", db, "m");
        Assert.True(code == 0, error);
        JsonObject info = JsonNode.Parse(output)!.AsObject();
        Assert.Equal("{\"0\":\"ZBlk0\",\"1\":\"ZBlk1\",\"2\":\"ZBlk0\",\"4\":\"ZBlk1\",\"6-7\":\"ZBlk0\"}", info["block_formats"]!.ToJsonString());
        Assert.Equal("{\"ZBlk0\":4,\"ZBlk1\":2}", info["formats"]!.ToJsonString());
        Assert.Equal(6, (int)info["blocks_present"]!);
        Assert.Equal(8, (long)info["blocks_spanned"]!);
        (code, output, _) = Run("array", "info", db, "m");
        Assert.Equal(0, code);
        Assert.Contains("0:ZBlk0 1:ZBlk1 2:ZBlk0 4:ZBlk1 6-7:ZBlk0", output, StringComparison.Ordinal);
    }

    [Fact]
    public void List_at_an_older_tid_shows_the_arrays_as_they_were()
    {
        JsonObject doc = Fixture("zbigarray-zblk1.json");
        foreach (JsonNode? t in doc["transactions"]!.AsArray())
        {
            (int code, string output, string error) = Run("array", "ls", "--json", "--at", (string)t!["tid"]!, Fixtures.Path("zbigarray-zblk1.fs"));
            Assert.True(code == 0, error);
            JsonArray list = JsonNode.Parse(output)!.AsArray();
            JsonObject expected = t["arrays"]!.AsObject();
            Assert.Equal(expected.Select(kv => kv.Key).Order(StringComparer.Ordinal), list.Select(a => (string)a!["path"]!).Order(StringComparer.Ordinal));
            foreach (JsonNode? a in list)
            {
                Assert.Equal(expected[(string)a!["path"]!]!["shape"]!.ToJsonString(), a["shape"]!.ToJsonString());
            }
            if ((string)t["label"]! == "create A (all zeros, no blocks)")
            {
                Assert.Equal(0, (int)list[0]!["blocks_present"]!);
                Assert.Empty(list[0]!["formats"]!.AsObject());
            }
        }
        // the text form too: before B was created only A is listed
        string first = (string)doc["transactions"]![0]!["tid"]!;
        (int c, string text, _) = Run("array", "list", "--at", first, Fixtures.Path("zbigarray-zblk1.fs"));
        Assert.Equal(0, c);
        Assert.Equal(2, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("(1000000,)", text, StringComparison.Ordinal);
        Assert.DoesNotContain("(300, 500)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_writes_numpys_npy_bytes_and_raw_bytes()
    {
        using var dir = new TempDirectory("export");
        JsonObject doc = Fixture("zbigarray-zblk0.json");
        string npy = dir.File("b.npy");
        (int code, string output, string error) = Run("array", "export", Fixtures.Path("zbigarray-zblk0.fs"), "B", npy);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("exported B", output, StringComparison.Ordinal);
        byte[] file = File.ReadAllBytes(npy);
        // numpy.save of an int32 (300, 500) array: version 1.0, header padded to 128 bytes
        string header = Encoding.Latin1.GetString(file, 10, BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(8)));
        Assert.Equal("\x93NUMPY\x01\x00", Encoding.Latin1.GetString(file, 0, 8));
        Assert.Equal("{'descr': '<i4', 'fortran_order': False, 'shape': (300, 500), }".PadRight(117) + "\n", header);
        Assert.Equal((string)doc["arrays"]!["B"]!["sha256_c_order"]!, Convert.ToHexStringLower(SHA256.HashData(file.AsSpan(128))));

        string raw = dir.File("a.raw");
        (code, _, _) = Run("array", "export", "--format", "raw", "--at", (string)doc["transactions"]![2]!["tid"]!, Fixtures.Path("zbigarray-zblk0.fs"), "A", raw);
        Assert.Equal(0, code);
        Assert.Equal((string)doc["transactions"]![2]!["arrays"]!["A"]!["sha256_c_order"]!, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(raw))));
    }

    [Fact]
    public void Import_creates_appends_replaces_in_chunked_commits_and_round_trips()
    {
        using var dir = new TempDirectory("import");
        JsonObject doc = Fixture("zbigarray-zblk1.json");
        string npy = dir.File("a.npy"), db = dir.File("new.fs");
        Assert.Equal(0, Run("array", "export", Fixtures.Path("zbigarray-zblk1.fs"), "A", npy).Code);

        (int code, string output, string error) = Run("array", "import", "--block-format", "zblk1", "--commit-every", "2M", db, "data/A", npy);
        Assert.Equal(2, code); // the parent mapping does not exist
        Assert.Contains("'data' does not exist", error, StringComparison.Ordinal);

        (code, output, error) = Run("array", "import", "--block-format", "zblk1", "--commit-every", "2M", db, "A", npy);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("4 commit(s)", output, StringComparison.Ordinal);
        Assert.Contains("ZBlk1:4", output, StringComparison.Ordinal);
        JsonObject info = JsonNode.Parse(Run("array", "info", "--json", db, "A").Output)!.AsObject();
        Assert.Equal((string)doc["arrays"]!["A"]!["sha256_c_order"]!, (string)info["sha256_c_order"]!);

        (code, _, error) = Run("array", "import", db, "A", npy);
        Assert.Equal(2, code);
        Assert.Contains("exists already", error, StringComparison.Ordinal);

        (code, output, _) = Run("array", "import", "--mode", "append", db, "A", npy);
        Assert.Equal(0, code);
        Assert.Contains("shape (2000200,)", output, StringComparison.Ordinal);
        info = JsonNode.Parse(Run("array", "info", "--json", db, "A").Output)!.AsObject();
        using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            byte[] data = File.ReadAllBytes(npy)[128..];
            sha.AppendData(data);
            sha.AppendData(data);
            Assert.Equal(Convert.ToHexStringLower(sha.GetHashAndReset()), (string)info["sha256_c_order"]!);
        }

        (code, output, _) = Run("array", "import", "--mode", "replace", "--block-format", "zblk0", db, "A", npy);
        Assert.Equal(0, code);
        Assert.Contains("ZBlk0:4", output, StringComparison.Ordinal);
        Assert.Equal((string)doc["arrays"]!["A"]!["sha256_c_order"]!, (string)JsonNode.Parse(Run("array", "info", "--json", db, "A").Output)!["sha256_c_order"]!);
        using (FileStorage fs = FileStorage.Open(db, new FileStorageOptions { ReadOnly = true }))
        {
            Assert.Equal(1 + 4 + 1 + 1, fs.Iterator().Count()); // creation, 4 chunked commits, append, replace
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Import_reads_every_npy_version_and_fortran_order(int major)
    {
        using var dir = new TempDirectory("npy");
        // a (3, 4) int16 F-order array whose item (i, j) is 10*i + j, stored column by column
        var values = new short[12];
        for (int j = 0, k = 0; j < 4; j++)
        {
            for (int i = 0; i < 3; i++)
            {
                values[k++] = (short)(10 * i + j);
            }
        }
        string text = "{'descr': '<i2', 'fortran_order': True, 'shape': (3, 4), }";
        byte[] body = major == 3 ? Encoding.UTF8.GetBytes(text) : Encoding.Latin1.GetBytes(text);
        int prefix = major == 1 ? 10 : 12;
        int total = (prefix + body.Length + 1 + 63) / 64 * 64;
        byte[] file = new byte[total + 24];
        NpyHeader.Magic.CopyTo(file, 0);
        file[6] = (byte)major;
        if (major == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), (ushort)(total - prefix));
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(8), (uint)(total - prefix));
        }
        body.CopyTo(file, prefix);
        file.AsSpan(prefix + body.Length, total - prefix - body.Length - 1).Fill((byte)' ');
        file[total - 1] = (byte)'\n';
        for (int k = 0; k < 12; k++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(file.AsSpan(total + 2 * k), values[k]);
        }
        string npy = dir.File("f.npy"), db = dir.File("f.fs");
        File.WriteAllBytes(npy, file);
        (int code, string output, string error) = Run("array", "import", db, "F", npy);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("shape (3, 4) <i2 F order", output, StringComparison.Ordinal);
        JsonObject info = JsonNode.Parse(Run("array", "info", "--json", db, "F").Output)!.AsObject();
        Assert.Equal("F", (string)info["order"]!);
        byte[] c = new byte[24];
        for (int i = 0, k = 0; i < 3; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                BinaryPrimitives.WriteInt16LittleEndian(c.AsSpan(2 * k++), (short)(10 * i + j));
            }
        }
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(c)), (string)info["sha256_c_order"]!);
        // exported back: numpy's bytes (an F-order array keeps fortran_order True)
        string back = dir.File("back.npy");
        Assert.Equal(0, Run("array", "export", db, "F", back).Code);
        byte[] again = File.ReadAllBytes(back);
        Assert.Contains("'fortran_order': True", Encoding.Latin1.GetString(again, 0, 128), StringComparison.Ordinal);
        Assert.Equal(file.AsSpan(total).ToArray(), again.AsSpan(128).ToArray());
    }

    [Fact]
    public void Npy_headers_round_trip_for_records_and_big_endian_dtypes()
    {
        var rec = DType.Record([("x", DType.Int32), ("v", DType.SubArray(DType.Float32, 3))]);
        byte[] h = NpyHeader.Encode(rec, [5], ArrayOrder.C);
        NpyHeader back = NpyHeader.Read(new MemoryStream(h), "mem");
        Assert.Equal(rec, back.DType);
        Assert.Equal([5L], back.Shape);
        Assert.Equal(h.Length, back.DataOffset);
        NpyHeader be = NpyHeader.Read(new MemoryStream(NpyHeader.Encode(DType.Parse(">f8"), [2, 2], ArrayOrder.F)), "mem");
        Assert.Equal('>', be.DType.ByteOrder);
        Assert.True(be.FortranOrder);
    }

    [Fact]
    public void Bad_inputs_get_one_line_messages_and_exit_code_2()
    {
        using var dir = new TempDirectory("array-bad");
        string fixture = Fixtures.Path("zbigarray-zblk0.fs");
        File.WriteAllText(dir.File("not.npy"), "hello, this is not numpy");
        byte[] good = NpyHeader.Encode(DType.Float64, [10], ArrayOrder.C);
        File.WriteAllBytes(dir.File("short.npy"), [.. good, .. new byte[16]]);
        byte[] obj = Encoding.Latin1.GetBytes("\x93NUMPY\x01\x00");
        string objHeader = "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }".PadRight(117) + "\n";
        File.WriteAllBytes(dir.File("obj.npy"), [.. obj, 118, 0, .. Encoding.Latin1.GetBytes(objHeader), .. new byte[24]]);
        string dateHeader = "{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (3,), }".PadRight(117) + "\n";
        File.WriteAllBytes(dir.File("date.npy"), [.. obj, 118, 0, .. Encoding.Latin1.GetBytes(dateHeader), .. new byte[24]]);
        var cases = new (string[] Args, string Expected)[]
        {
            (["array", "list", dir.File("missing.fs")], "no such file"),
            (["array", "list", dir.Path], "is a directory"),
            (["array", "info", fixture, "C"], "no array at 'C'"),
            (["array", "info", "--at", "nonsense", fixture, "A"], "not a transaction id"),
            (["array", "info", "--at", "7fffffffffffffff", fixture, "A"], "after the last transaction"),
            (["array", "export", fixture, "A", dir.Path], "is a directory"),
            (["array", "import", dir.File("n.fs"), "A", dir.File("not.npy")], "not a .npy file"),
            (["array", "import", dir.File("n.fs"), "A", dir.File("short.npy")], "truncated"),
            (["array", "import", dir.File("n.fs"), "A", dir.File("obj.npy")], "object"),
            (["array", "import", dir.File("n.fs"), "A", dir.File("date.npy")], "datetime and timedelta dtypes are not supported (hint: "),
            (["array", "import", dir.File("n.fs"), "A", dir.File("missing.npy")], "no such file"),
            (["array", "import", "--mode", "append", dir.File("n.fs"), "Z", dir.File("short.npy")], "truncated"),
        };
        foreach ((string[] args, string expected) in cases)
        {
            (int code, _, string error) = Run(args);
            Assert.True(code == 2, $"{string.Join(' ', args)}: exit {code}, {error}");
            Assert.Contains(expected, error, StringComparison.Ordinal);
            Assert.Single(error.Trim().Split('\n'));
            Assert.DoesNotContain("(Parameter", error, StringComparison.Ordinal); // no C# parameter names (TL-3)
        }
        // append with a mismatching dtype or shape
        string db = dir.File("m.fs");
        File.WriteAllBytes(dir.File("ten.npy"), [.. good, .. new byte[80]]);
        Assert.Equal(0, Run("array", "import", db, "A", dir.File("ten.npy")).Code);
        File.WriteAllBytes(dir.File("i4.npy"), [.. NpyHeader.Encode(DType.Int32, [2], ArrayOrder.C), .. new byte[8]]);
        (int c2, _, string e2) = Run("array", "import", "--mode", "append", db, "A", dir.File("i4.npy"));
        Assert.Equal(2, c2);
        Assert.Contains("cannot append <i4 items", e2, StringComparison.Ordinal);
        File.WriteAllBytes(dir.File("2d.npy"), [.. NpyHeader.Encode(DType.Float64, [1, 2], ArrayOrder.C), .. new byte[16]]);
        (c2, _, e2) = Run("array", "import", "--mode", "append", db, "A", dir.File("2d.npy"));
        Assert.Equal(2, c2);
        Assert.Contains("every axis but 0 must match", e2, StringComparison.Ordinal);
    }
}
