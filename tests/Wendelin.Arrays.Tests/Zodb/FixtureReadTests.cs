using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json.Nodes;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;

namespace Wendelin.Arrays.Tests.Zodb;

/// <summary>
/// The golden files written by wendelin.core read bit-exactly (spec/zbigfile.md §2): both zbigarray fixtures at
/// every transaction they list, and the four upstream-zblk dialects (Python 2 protocols 1-3 on FS21, Python 3).
/// </summary>
public sealed class FixtureReadTests
{
    internal static JsonObject Json(string name) => JsonNode.Parse(File.ReadAllText(Fixtures.Path(name)))!.AsObject();

    internal static Database OpenReadOnly(string fixture) =>
        new(FileStorage.Open(Fixtures.Path(fixture), new FileStorageOptions { ReadOnly = true }));

    [Theory]
    [InlineData("zbigarray-zblk0")]
    [InlineData("zbigarray-zblk1")]
    public void Zbigarray_fixture_reads_bit_exactly_at_every_listed_transaction(string name)
    {
        JsonObject doc = Json(name + ".json");
        using Database db = OpenReadOnly(name + ".fs");
        foreach (JsonNode? t in doc["transactions"]!.AsArray())
        {
            Tid tid = Tid.Parse((string)t!["tid"]!);
            Connection conn = db.OpenAt(tid);
            try
            {
                foreach ((string key, JsonNode? expected) in t["arrays"]!.AsObject())
                {
                    var a = (ZBigArray)conn.Root[key]!;
                    JsonObject meta = doc["arrays"]![key]!.AsObject();
                    Assert.Equal(expected!["shape"]!.AsArray().Select(v => (long)v!).ToArray(), a.Shape.ToArray());
                    Assert.Equal((string)meta["dtype"]!, a.DType.Str);
                    Assert.Equal((string)meta["order"]!, a.Order.ToString());
                    Assert.Equal((int)meta["blksize"]!, a.File.BlockSize);
                    Assert.Equal((string)expected["sha256_c_order"]!, ArrayBytes.Sha256(a.AsBigArray(), ArrayOrder.C));
                }
            }
            finally
            {
                conn.Dispose();
            }
        }
    }

    [Theory]
    [InlineData("zbigarray-zblk0")]
    [InlineData("zbigarray-zblk1")]
    public void Current_state_matches_the_fixture_with_oids_blocks_classes_and_samples(string name)
    {
        JsonObject doc = Json(name + ".json");
        using Database db = OpenReadOnly(name + ".fs");
        Connection conn = db.Open();
        foreach ((string key, JsonNode? meta) in doc["arrays"]!.AsObject())
        {
            var a = (ZBigArray)conn.Root[key]!;
            Assert.Equal(Oid.Parse((string)meta!["oid"]!), a.PersistentOid);
            Assert.Equal(Oid.Parse((string)meta["zfile_oid"]!), a.File.PersistentOid);
            Assert.Equal((long)meta["nbytes"]!, a.NBytes);
            Assert.Equal((string)meta["sha256_storage_order"]!, ArrayBytes.Sha256(a.AsBigArray(), a.Order));
            var blocks = a.File.BlockTable.ToArray();
            JsonArray present = meta["blocks_present"]!.AsArray();
            Assert.Equal(present.Count, blocks.Length);
            for (int i = 0; i < blocks.Length; i++)
            {
                Assert.Equal((long)present[i]!["blk"]!, blocks[i].Key);
                var zblk = (Persistent)blocks[i].Value!;
                Assert.Equal(Oid.Parse((string)present[i]!["oid"]!), zblk.PersistentOid);
                Assert.Equal((string)present[i]!["class"]!, db.Types.PythonNameOf(zblk.GetType()));
            }
            JsonArray first = meta["sample"]!["first"]!.AsArray(), last = meta["sample"]!["last"]!.AsArray();
            long n = a.Size;
            for (int i = 0; i < first.Count; i++)
            {
                if (a.DType == DType.Float64)
                {
                    Assert.Equal((double)first[i]!, a.AsBigArray().View(Ix.Slice(null, null)).GetItem<double>(i));
                    Assert.Equal((double)last[i]!, a.GetItem<double>(n - last.Count + i));
                }
                else
                {
                    Assert.Equal((int)first[i]!, a.GetItem<int>(0, i));
                    Assert.Equal((int)last[i]!, a.GetItem<int>(a.Shape[0] - 1, a.Shape[1] - last.Count + i));
                }
            }
        }
        conn.Dispose();
    }

    [Theory]
    [InlineData("py2_pickle1")]
    [InlineData("py2_pickle2")]
    [InlineData("py2_pickle3")]
    [InlineData("py3_pickle3")]
    public void Upstream_dialects_read_to_the_same_bytes(string dialect)
    {
        using Database db = OpenReadOnly($"upstream-zblk/{dialect}/zblk.fs");
        Connection conn = db.Open();
        var file = conn.Get<ZBigFile>(new Oid(1));
        Assert.Equal(2097152, file.BlockSize);
        Assert.Equal(8388608, file.StoredSize);
        using FileHandle h = file.Open();
        using FileView v = h.Map(0, file.StoredSize, writable: false);
        byte[] expected = new byte[file.StoredSize];
        int bs = file.BlockSize;
        // block 1: ZBlk0, 16 KiB of big-endian uint32 0, 1, 2, ... ; block 3: ZBlk1, 128 KiB of it at the start and reversed at the end
        for (int i = 0; i < 4096; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(expected.AsSpan(bs + 4 * i), (uint)i);
        }
        for (int i = 0; i < 32768; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(expected.AsSpan(3 * bs + 4 * i), (uint)i);
        }
        expected.AsSpan(3 * bs, 128 * 1024).CopyTo(expected.AsSpan(4 * bs - 128 * 1024));
        expected.AsSpan(4 * bs - 128 * 1024).Reverse();
        using ViewWindow w = v.Acquire(0, v.Length, writable: false);
        Assert.True(expected.AsSpan().SequenceEqual(w.ReadOnlySpan), $"{dialect}: bytes differ");
        ZBigFileHandle glue = file.OpenHandles().Single(x => ReferenceEquals(x.Handle, h));
        Assert.True(glue.LoadedInfo(3)!.Regular);
        Assert.Equal(64 + 3, glue.LoadedInfo(3)!.Inner.Length); // 64 ZData, the IOBTree and its 2 buckets
        conn.Dispose();
    }

    [Theory]
    [InlineData("py2_pickle1")]
    [InlineData("py2_pickle2")]
    [InlineData("py2_pickle3")]
    [InlineData("py3_pickle3")]
    public void Upstream_dialects_are_reachable_from_the_root(string dialect)
    {
        // Python-2 roots have str keys kept as bytes: they load as text (spec/pickle.md PK-14, objects.md OB-10)
        using Database db = OpenReadOnly($"upstream-zblk/{dialect}/zblk.fs");
        Connection conn = db.Open();
        Assert.Equal(["zbigf", "zblk0", "zblk1"], conn.Root.Keys.Cast<string>().Order(StringComparer.Ordinal));
        var file = Assert.IsType<ZBigFile>(conn.Root["zbigf"]);
        Assert.Same(conn.Get<ZBigFile>(new Oid(1)), file);
        Assert.IsType<ZBlk0>(conn.Root["zblk0"]);
        Assert.IsType<ZBlk1>(conn.Root["zblk1"]);
        Assert.Equal(2097152, file.BlockSize);
        using FileHandle h = file.Open();
        using FileView v = h.Map(0, file.StoredSize, writable: false);
        using ViewWindow w = v.Acquire(file.BlockSize, 8, writable: false);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(w.ReadOnlySpan[4..]));
        conn.Dispose();
    }

    [Theory]
    [InlineData("py2_pickle2")]
    [InlineData("py3_pickle3")]
    public void A_legacy_ZBlk_record_reads_as_ZBlk0(string dialect)
    {
        // wendelin.core's first block class was file_zodb.ZBlk, later kept as an alias of ZBlk0 (spec/zbigfile.md ZB-1):
        // the fixture's ZBlk0 record (oid 2) and the block table's reference to it rewritten with that name, by hand
        using var dir = new TempDirectory("zblk-legacy");
        string path = Fixtures.CopyTo($"upstream-zblk/{dialect}/zblk.fs", dir);
        byte[] zblk0 = "\nZBlk0\n"u8.ToArray(), zblk = "\nZBlk\n"u8.ToArray();
        using (var fs = FileStorage.Open(path, new FileStorageOptions { Fsync = false }))
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata(Description: "legacy ZBlk"));
            foreach (Oid oid in new[] { new Oid(2), new Oid(0x47) }) // the ZBlk0 and the LOBTree naming it
            {
                LoadResult r = fs.Load(oid);
                byte[] data = Replace(r.Data.ToArray(), zblk0, zblk);
                Assert.NotEqual(r.Data.Length, data.Length);
                fs.Store(t, oid, r.Serial, data);
            }
            fs.TpcVote(t);
            fs.TpcFinish(t);
        }
        using var db = new Database(FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }));
        Assert.Contains("wendelin.bigfile.file_zodb\nZBlk\n", System.Text.Encoding.Latin1.GetString(db.Storage.Load(new Oid(2)).Data.Span), StringComparison.Ordinal);
        Connection conn = db.Open();
        var file = conn.Get<ZBigFile>(new Oid(1));
        Assert.IsType<ZBlk0>(conn.Get<Persistent>(new Oid(2)));
        using FileHandle h = file.Open();
        using FileView v = h.Map(0, file.StoredSize, writable: false);
        using ViewWindow w = v.Acquire(file.BlockSize, file.BlockSize, writable: false);
        for (int i = 0; i < 4096; i++)
        {
            Assert.Equal((uint)i, BinaryPrimitives.ReadUInt32BigEndian(w.ReadOnlySpan[(4 * i)..]));
        }
        Assert.True(w.ReadOnlySpan[16384..].IndexOfAnyExcept((byte)0) < 0, "zeros after the 16 KiB of the ZBlk0 payload");
        conn.Dispose();
    }

    private static byte[] Replace(byte[] data, byte[] from, byte[] to)
    {
        var output = new List<byte>(data.Length);
        for (int i = 0; i < data.Length;)
        {
            if (data.AsSpan(i).StartsWith(from))
            {
                output.AddRange(to);
                i += from.Length;
            }
            else
            {
                output.Add(data[i++]);
            }
        }
        return [.. output];
    }

    [Fact]
    public void Upstream_zblk1_has_the_layout_upstream_describes()
    {
        using Database db = OpenReadOnly("upstream-zblk/py3_pickle3/zblk.fs");
        Connection conn = db.Open();
        var file = conn.Get<ZBigFile>(new Oid(1));
        var z1 = (ZBlk1)file.BlockTable[3]!;
        var keys = z1.ChunkTable.Keys.ToArray();
        Assert.Equal(64, keys.Length);
        Assert.Equal(0, keys[0]);
        Assert.Equal(126976, keys[31]);
        Assert.Equal(1966080, keys[32]);
        Assert.Equal(2093056, keys[^1]);
        Assert.Equal(4089, ((ZData)z1.ChunkTable[2093056]!).Data.Length);
        Assert.Equal(4094, ((ZData)z1.ChunkTable[1966080]!).Data.Length);
        Assert.Equal(16384, ((ZBlk0)file.BlockTable[1]!).Data.Length);
        conn.Dispose();
        _ = CultureInfo.InvariantCulture;
    }
}

/// <summary>The block-record shortcut (ZBlkRecord, ZB-7) gives exactly what the general pickle reader gives.</summary>
public sealed class ZBlkRecordTests
{
    [Theory]
    [InlineData("zbigarray-zblk0.fs", true)]
    [InlineData("zbigarray-zblk1.fs", true)]
    [InlineData("upstream-zblk/py3_pickle3/zblk.fs", true)]
    [InlineData("upstream-zblk/py2_pickle1/zblk.fs", false)]
    [InlineData("upstream-zblk/py2_pickle2/zblk.fs", false)]
    [InlineData("upstream-zblk/py2_pickle3/zblk.fs", false)]
    public void The_shortcut_agrees_with_the_pickle_reader_on_every_block_record(string fixture, bool applies)
    {
        using var fs = Wendelin.Storage.Fs.FileStorage.Open(Wendelin.TestSupport.Fixtures.Path(fixture), new Wendelin.Storage.Fs.FileStorageOptions { ReadOnly = true });
        int checkedRecords = 0;
        foreach (Wendelin.Storage.Fs.TransactionRecord t in fs.Iterator())
        {
            foreach (Wendelin.Storage.Fs.DataRecord r in t.Records)
            {
                ReadOnlyMemory<byte> data = r.ReadData()!.Value;
                var rec = Wendelin.Storage.Pickle.ZodbPickle.ReadRecord(data);
                foreach (string name in new[] { "ZBlk0", "ZData" })
                {
                    bool fast = ZBlkRecord.TryPayload(data, name, out ReadOnlyMemory<byte> payload);
                    if (rec.ClassName == "wendelin.bigfile.file_zodb." + name)
                    {
                        Assert.Equal(applies, fast);
                        if (fast)
                        {
                            Assert.True(payload.Span.SequenceEqual(rec.State.AsBytes().Span));
                        }
                        checkedRecords++;
                    }
                    else
                    {
                        Assert.False(fast);
                    }
                }
            }
        }
        Assert.True(checkedRecords > 0);
    }
}
