using System.Security.Cryptography;
using System.Text.Json;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// The golden files written by Python ZODB read back exactly as its own iterator and record reader saw them
/// (tests/fixtures/NAME.dump.json): transactions, records, positions, payload hashes, backpointers, current
/// objects. The pickle-level parts (classes, states, references) are checked by the dump command's tests.
/// </summary>
public sealed class FixtureReadTests
{
    [Theory]
    [InlineData("basic")]
    [InlineData("undo")]
    [InlineData("packed")]
    public void Iterator_yields_every_transaction_and_record_of_the_dump(string name)
    {
        using JsonDocument dump = JsonDocument.Parse(Fixtures.Bytes(name + ".dump.json"));
        JsonElement root = dump.RootElement;
        using var fs = Fs.FileStorage.Open(Fixtures.Path(name + ".fs"), new FileStorageOptions { ReadOnly = true });
        Assert.Equal(root.GetProperty("file_size").GetInt64(), fs.Size);
        Assert.Equal(Tid.Parse(root.GetProperty("last_tid").GetString()!), fs.LastTransaction);
        Assert.Equal(root.GetProperty("object_count").GetInt64(), fs.ObjectCount);

        JsonElement[] expected = root.GetProperty("transactions").EnumerateArray().ToArray();
        TransactionRecord[] actual = fs.Iterator().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            JsonElement e = expected[i];
            TransactionRecord t = actual[i];
            Assert.Equal(e.GetProperty("tid").GetString(), t.Tid.ToString());
            Assert.Equal(e.GetProperty("status").GetString()![0], (char)t.Status);
            Assert.Equal(e.GetProperty("pos").GetInt64(), t.Position);
            Assert.Equal(e.GetProperty("tlen").GetUInt64(), t.Length);
            Assert.Equal(e.GetProperty("user").GetProperty("text").GetString(), t.UserText);
            Assert.Equal(e.GetProperty("description").GetProperty("text").GetString(), t.DescriptionText);
            Assert.Equal(e.GetProperty("extension_bytes_len").GetInt32(), t.ExtensionBytes.Length);
            JsonElement[] er = e.GetProperty("records").EnumerateArray().ToArray();
            Assert.Equal(er.Length, t.Records.Count);
            for (int j = 0; j < er.Length; j++)
            {
                AssertRecord(er[j], t.Records[j]);
            }
        }
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("undo")]
    [InlineData("packed")]
    public void Current_objects_load_as_the_dump_says(string name)
    {
        using JsonDocument dump = JsonDocument.Parse(Fixtures.Bytes(name + ".dump.json"));
        using var fs = Fs.FileStorage.Open(Fixtures.Path(name + ".fs"), new FileStorageOptions { ReadOnly = true });
        foreach (JsonProperty p in dump.RootElement.GetProperty("objects").EnumerateObject())
        {
            var oid = Oid.Parse(p.Name);
            JsonElement o = p.Value;
            if (o.TryGetProperty("creation_undone", out JsonElement undone) && undone.GetBoolean())
            {
                Assert.Throws<PosKeyException>(() => fs.Load(oid));
                Assert.Throws<PosKeyException>(() => fs.GetTid(oid));
                Assert.Throws<PosKeyException>(() => fs.LoadBefore(oid, Tid.Max));
                continue;
            }
            LoadResult r = fs.Load(oid);
            Assert.Equal(o.GetProperty("serial").GetString(), r.Serial.ToString());
            Assert.Equal(o.GetProperty("data_sha256").GetString(), Sha(r.Data.Span));
            Assert.Equal(r.Serial, fs.GetTid(oid));
            LoadBeforeResult? b = fs.LoadBefore(oid, Tid.Max);
            Assert.NotNull(b);
            Assert.Null(b.Value.NextSerial);
            Assert.Equal(r.Serial, b.Value.Serial);
            Assert.True(b.Value.Data.Span.SequenceEqual(r.Data.Span));
        }
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("undo")]
    [InlineData("packed")]
    public void Every_revision_loads_by_serial_and_before_the_next_one(string name)
    {
        using var fs = Fs.FileStorage.Open(Fixtures.Path(name + ".fs"), new FileStorageOptions { ReadOnly = true });
        var revisions = new Dictionary<Oid, List<DataRecord>>();
        foreach (TransactionRecord t in fs.Iterator())
        {
            foreach (DataRecord r in t.Records)
            {
                if (!revisions.TryGetValue(r.Oid, out List<DataRecord>? list))
                {
                    revisions[r.Oid] = list = [];
                }
                list.Add(r);
            }
        }
        foreach ((Oid oid, List<DataRecord> list) in revisions)
        {
            for (int i = 0; i < list.Count; i++)
            {
                DataRecord r = list[i];
                ReadOnlyMemory<byte>? read = r.ReadData();
                Tid? next = i + 1 < list.Count ? list[i + 1].Tid : null;
                if (read is not { } memory)
                {
                    Assert.Throws<PosKeyException>(() => fs.LoadSerial(oid, r.Tid));
                    Assert.Throws<PosKeyException>(() => fs.LoadBefore(oid, new Tid(r.Tid.Value + 1)));
                    continue;
                }
                ReadOnlySpan<byte> data = memory.Span;
                Assert.True(fs.LoadSerial(oid, r.Tid).Span.SequenceEqual(data));
                LoadBeforeResult? b = fs.LoadBefore(oid, new Tid(r.Tid.Value + 1));
                Assert.NotNull(b);
                Assert.Equal(r.Tid, b.Value.Serial);
                Assert.Equal(next, b.Value.NextSerial);
                Assert.True(b.Value.Data.Span.SequenceEqual(data));
            }
            if (list[0].Prev == 0)
            {
                Assert.Null(fs.LoadBefore(oid, list[0].Tid)); // did not exist before its first revision
            }
            IReadOnlyList<HistoryEntry> history = fs.History(oid, 1000);
            Assert.Equal(list.Select(r => r.Tid).Reverse(), history.Select(h => h.Tid));
        }
        Assert.Throws<PosKeyException>(() => fs.Load(new Oid(0xFFFF)));
        Assert.Throws<PosKeyException>(() => fs.LoadBefore(new Oid(0xFFFF), Tid.Max));
        Assert.Throws<PosKeyException>(() => fs.History(new Oid(0xFFFF)));
    }

    [Fact]
    public void Iterator_bounds_are_inclusive_and_may_fall_between_tids()
    {
        using var fs = Fs.FileStorage.Open(Fixtures.Path("basic.fs"), new FileStorageOptions { ReadOnly = true });
        Tid[] all = fs.Iterator().Select(t => t.Tid).ToArray();
        Assert.Equal(11, all.Length);
        Assert.Equal(all, fs.Iterator(Tid.Zero, new Tid(ulong.MaxValue)).Select(t => t.Tid));
        Assert.Equal(all[3..8], fs.Iterator(all[3], all[7]).Select(t => t.Tid));
        Assert.Equal(all[4..8], fs.Iterator(new Tid(all[3].Value + 1), new Tid(all[8].Value - 1)).Select(t => t.Tid));
        Assert.Equal(all[9..], fs.Iterator(all[9]).Select(t => t.Tid));
        Assert.Equal(all[..2], fs.Iterator(null, all[1]).Select(t => t.Tid));
        Assert.Equal([all[5]], fs.Iterator(all[5], all[5]).Select(t => t.Tid));
        Assert.Empty(fs.Iterator(new Tid(all[10].Value + 1)));
        Assert.Empty(fs.Iterator(all[6], all[5]));
        Assert.Equal(all[2..], fs.IteratorFrom(851).Select(t => t.Tid));
    }

    [Fact]
    public void Last_invalidations_and_record_iternext_walk_the_file()
    {
        using var fs = Fs.FileStorage.Open(Fixtures.Path("basic.fs"), new FileStorageOptions { ReadOnly = true });
        TransactionRecord[] all = fs.Iterator().ToArray();
        var last3 = fs.LastInvalidations(3);
        Assert.Equal(all[8..].Select(t => t.Tid), last3.Select(x => x.Tid));
        Assert.Equal(all[10].Records.Select(r => r.Oid).Distinct(), last3[2].Oids);
        Assert.Equal(11, fs.LastInvalidations(100).Count);
        Assert.Empty(fs.LastInvalidations(0));

        var oids = new List<Oid>();
        Oid next = Oid.Root;
        while (true)
        {
            RecordIteration? step = fs.RecordIterNext(next);
            Assert.NotNull(step);
            oids.Add(step.Oid);
            Assert.Equal(fs.GetTid(step.Oid), step.Serial);
            if (step.Next is not Oid n)
            {
                break;
            }
            next = n;
        }
        Assert.Equal(11, oids.Count);
        Assert.Equal(oids.Order(), oids);
        Assert.Null(fs.RecordIterNext(new Oid(oids[^1].Value + 1)));
    }

    [Fact]
    public void Time_travel_open_ends_before_the_stop_tid() // FS-O5
    {
        Tid[] all;
        using (var fs = Fs.FileStorage.Open(Fixtures.Path("basic.fs"), new FileStorageOptions { ReadOnly = true }))
        {
            all = fs.Iterator().Select(t => t.Tid).ToArray();
        }
        using var past = Fs.FileStorage.Open(Fixtures.Path("basic.fs"), new FileStorageOptions { ReadOnly = true, Stop = all[5] });
        Assert.Equal(all[4], past.LastTransaction);
        Assert.Equal(all[..5], past.Iterator().Select(t => t.Tid));
        Assert.Equal(3946, past.Size);
        Assert.Throws<ReadOnlyException>(() => past.NewOid());
        Assert.Throws<ReadOnlyException>(() => past.TpcBegin(new TransactionMetadata()));
    }

    private static void AssertRecord(JsonElement e, DataRecord r)
    {
        Assert.Equal(e.GetProperty("oid").GetString(), r.Oid.ToString());
        Assert.Equal(e.GetProperty("tid").GetString(), r.Tid.ToString());
        Assert.Equal(e.GetProperty("pos").GetInt64(), r.Position);
        Assert.Equal(e.GetProperty("prev").GetInt64(), r.Prev);
        Assert.Equal(e.GetProperty("tloc").GetInt64(), r.Tloc);
        Assert.Equal(e.GetProperty("plen").GetUInt64(), r.DataLength);
        ReadOnlyMemory<byte>? data = r.ReadData();
        if (r.DataLength > 0)
        {
            Assert.Null(r.BackPointer);
            Assert.Null(r.DataTxn);
            Assert.Equal(e.GetProperty("data_sha256").GetString(), Sha(data!.Value.Span));
            return;
        }
        Assert.Equal(e.GetProperty("back").GetInt64(), r.BackPointer);
        Assert.Equal(e.GetProperty("creation_undone").GetBoolean(), r.IsDeletion);
        if (r.IsDeletion)
        {
            Assert.Null(data);
            Assert.Null(r.DataTxn);
        }
        else
        {
            Assert.NotNull(r.DataTxn);
            Assert.Equal(e.GetProperty("resolved_plen").GetInt32(), data!.Value.Length);
            Assert.Equal(e.GetProperty("resolved_data_sha256").GetString(), Sha(data.Value.Span));
        }
    }

    internal static string Sha(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
