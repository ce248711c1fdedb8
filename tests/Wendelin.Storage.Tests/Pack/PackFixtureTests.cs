using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Pack;
using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests.Pack;

/// <summary>Pack against what ZODB wrote (spec/pack.md; tests/fixtures/packed.fs is basic.fs packed by ZODB with GC).</summary>
public sealed class PackFixtureTests
{
    private static JsonNode Scenario => JsonNode.Parse(File.ReadAllText(Fixtures.Path("scenario.json")))!;

    private static Tid PackTid => Tid.Parse(Scenario["packed"]!["pack_tid"]!.GetValue<string>());

    [Fact]
    public void The_scenario_pack_time_converts_to_its_pack_tid() // PK-A1
    {
        double unix = Scenario["packed"]!["pack_time_unix"]!.GetValue<double>();
        Assert.Equal(PackTid, Tid.FromUnixTime(unix));
    }

    [Fact]
    public void Packing_basic_fs_at_the_scenario_time_writes_packed_fs_byte_for_byte() // PK-C1..PK-D1, PK-S1
    {
        using var dir = new TempDirectory("pack");
        string path = Fixtures.CopyTo("basic.fs", dir);
        PackResult result;
        using (var fs = Fs.FileStorage.Open(path))
        {
            result = fs.Pack(PackTid);
            Assert.True(result.Packed, result.Reason);
            Assert.Equal(38332, fs.Size);
            Assert.Equal(10, fs.ObjectCount);
            Assert.Throws<PosKeyException>(() => fs.Load(new Oid(3))); // doomed: unreachable at the pack time
            Assert.NotNull(fs.Load(new Oid(4)).Data.ToArray()); // item: reachable then, unlinked only later
        }
        Assert.Equal(41374, result.SizeBefore);
        Assert.Equal(38332, result.SizeAfter);
        Assert.Equal(6, result.PackedTransactionsBefore);
        Assert.Equal(3, result.PackedTransactionsAfter);
        Assert.Equal(1, result.ObjectsRemoved);
        Assert.Equal(0, result.KeptForLaterReferences);
        Assert.Equal(Fixtures.Bytes("packed.fs"), File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".pack"));
        Assert.False(File.Exists(path + ".old"));
        Assert.True(File.Exists(path + ".index")); // the new index, written after the swap
    }

    [Fact]
    public void The_packed_file_matches_packed_dump_json_record_by_record() // PK-C1: status 'p', prev reset, positions
    {
        using var dir = new TempDirectory("pack");
        string path = Fixtures.CopyTo("basic.fs", dir);
        using (var fs = Fs.FileStorage.Open(path))
        {
            fs.Pack(PackTid);
        }
        JsonNode dump = JsonNode.Parse(File.ReadAllText(Fixtures.Path("packed.dump.json")))!;
        using var packed = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        List<TransactionRecord> ours = [.. packed.Iterator()];
        JsonArray theirs = dump["transactions"]!.AsArray();
        Assert.Equal(theirs.Count, ours.Count);
        for (int i = 0; i < ours.Count; i++)
        {
            JsonNode t = theirs[i]!;
            Assert.Equal(t["tid"]!.GetValue<string>(), ours[i].Tid.ToString());
            Assert.Equal(t["status"]!.GetValue<string>(), ((char)ours[i].Status).ToString());
            Assert.Equal(t["pos"]!.GetValue<long>(), ours[i].Position);
            Assert.Equal(t["tlen"]!.GetValue<ulong>(), ours[i].Length);
            JsonArray records = t["records"]!.AsArray();
            Assert.Equal(records.Count, ours[i].Records.Count);
            for (int j = 0; j < records.Count; j++)
            {
                DataRecord r = ours[i].Records[j];
                Assert.Equal(records[j]!["oid"]!.GetValue<string>(), r.Oid.ToString());
                Assert.Equal(records[j]!["pos"]!.GetValue<long>(), r.Position);
                Assert.Equal(records[j]!["prev"]!.GetValue<long>(), r.Prev);
                Assert.Equal(records[j]!["tloc"]!.GetValue<long>(), r.Tloc);
                Assert.Equal(records[j]!["plen"]!.GetValue<ulong>(), r.DataLength);
                Assert.Equal(records[j]!["data_sha256"]!.GetValue<string>(), Convert.ToHexStringLower(SHA256.HashData(r.ReadData()!.Value.Span)));
            }
        }
        Assert.Equal(dump["object_count"]!.GetValue<long>(), packed.ObjectCount);
        Assert.Equal(dump["last_tid"]!.GetValue<string>(), packed.LastTransaction.ToString());
    }

    [Fact]
    public void Packing_again_at_the_same_or_an_earlier_time_is_a_no_op() // PK-A3, reference checklist 55
    {
        using var dir = new TempDirectory("pack");
        string path = Fixtures.CopyTo("packed.fs", dir);
        using var fs = Fs.FileStorage.Open(path);
        PackResult same = fs.Pack(PackTid);
        Assert.False(same.Packed);
        Assert.Contains("nothing before the pack time can be removed", same.Reason, StringComparison.Ordinal);
        PackResult earlier = fs.Pack(Tid.Parse("040d3e52ff4ad5ee")); // T4: T2, T4 and T5 after them are all 'p'
        Assert.False(earlier.Packed);
        Assert.Contains("previous pack", earlier.Reason, StringComparison.Ordinal);
        Assert.Equal(Fixtures.Bytes("packed.fs"), File.ReadAllBytes(path));
        PackResult before = fs.Pack(new Tid(0x0300000000000000UL));
        Assert.False(before.Packed);
        Assert.Contains("no transaction", before.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Packing_keeps_the_old_file_on_request_and_the_storage_goes_on() // PK-S2, reference checklist 99
    {
        using var dir = new TempDirectory("pack");
        string path = Fixtures.CopyTo("basic.fs", dir);
        using (var fs = Fs.FileStorage.Open(path))
        {
            PackResult r = fs.Pack(PackTid, new PackOptions { KeepOld = true });
            Assert.Equal(path + ".old", r.OldPath);
            Assert.Equal(Fixtures.Bytes("basic.fs"), File.ReadAllBytes(path + ".old"));
            // The storage serves and commits on the new file.
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata("op", "after pack"));
            fs.Store(t, new Oid(2), fs.GetTid(new Oid(2)), fs.Load(new Oid(2)).Data);
            fs.TpcVote(t);
            Tid tid = fs.TpcFinish(t);
            Assert.Equal(tid, fs.Iterator().Last().Tid);
            Assert.Equal(fs.LoadSerial(new Oid(2), Tid.Parse("040d3e530aa18066")).ToArray(), fs.Load(new Oid(2)).Data.ToArray());
        }
        VerifyAssert.Clean(path);
        using var reopened = Fs.FileStorage.Open(path);
        Assert.True(reopened.IndexLoaded);
    }

    [Fact]
    public void Packing_an_empty_or_fresh_storage_is_a_no_op() // reference checklist 46
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        Assert.False(fs.Pack(Tid.Now()).Packed);
        Assert.Throws<ArgumentException>(() => fs.Pack(Tid.Zero));
        using var ro = Fs.FileStorage.Open(Fixtures.Path("basic.fs"), new FileStorageOptions { ReadOnly = true });
        Assert.Throws<ReadOnlyException>(() => ro.Pack(PackTid));
    }

    [Fact]
    public void Packing_without_gc_keeps_unreachable_objects_pack_time_revisions() // PK-G5, reference checklist 53
    {
        using var dir = new TempDirectory("pack");
        string path = Fixtures.CopyTo("basic.fs", dir);
        using var fs = Fs.FileStorage.Open(path);
        byte[] doomed = fs.Load(new Oid(3)).Data.ToArray();
        PackResult r = fs.Pack(PackTid, new PackOptions { Gc = false });
        Assert.True(r.Packed);
        Assert.Equal(0, r.ObjectsRemoved);
        Assert.Equal(doomed, fs.Load(new Oid(3)).Data.ToArray());
        Assert.Equal(11, fs.ObjectCount);
        Assert.All(fs.Iterator(null, PackTid), t => Assert.Equal(TransactionStatus.Packed, t.Status));
    }

    [Fact]
    public void Damage_found_by_the_pack_stops_it_and_leaves_the_file_alone() // PK-A1, reference checklist 88
    {
        using var dir = new TempDirectory("pack");
        string path = Fixtures.CopyTo("basic.fs", dir);
        using var fs = Fs.FileStorage.Open(path);
        using (var scribble = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            scribble.Position = 2912 + 1026; // T4's trailer no longer equals its length
            scribble.WriteByte(0x55);
        }
        byte[] damaged = File.ReadAllBytes(path);
        var e = Assert.Throws<CorruptRecordException>(() => fs.Pack(PackTid));
        Assert.Equal("redundant length", e.Check);
        Assert.Equal(2912, e.Position);
        Assert.Equal(damaged, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".pack"));
    }

    [Fact]
    public void Damage_after_the_pack_time_is_reported_as_a_forward_scan_reports_it() // PK-A1 with the backward walk
    {
        byte[] original = File.ReadAllBytes(Fixtures.Path("basic.fs"));
        var later = new List<(long Position, ulong Length)>();
        for (long pos = FileHeader.DataStart; pos < original.Length;)
        {
            TxnHeader h = TxnHeader.Parse(original.AsSpan((int)pos));
            if (h.Tid > PackTid)
            {
                later.Add((pos, h.Length));
            }
            pos = h.NextPosition(pos);
        }
        Assert.True(later.Count >= 3);
        foreach ((long tpos, ulong tlen) in later)
        {
            using var dir = new TempDirectory("pack");
            string path = dir.File("basic.fs");
            File.WriteAllBytes(path, original);
            using var fs = Fs.FileStorage.Open(path);
            using (var scribble = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            {
                scribble.Position = tpos + (long)tlen + 7; // the trailer no longer equals the length: the walk back from the end goes astray
                scribble.WriteByte((byte)(original[scribble.Position] ^ 0x10));
            }
            byte[] damaged = File.ReadAllBytes(path);
            var e = Assert.Throws<CorruptRecordException>(() => fs.Pack(PackTid));
            Assert.Equal("redundant length", e.Check);
            Assert.Equal(tpos, e.Position);
            Assert.Equal(damaged, File.ReadAllBytes(path));
            Assert.False(File.Exists(path + ".pack"));
        }
    }
}
