using System.Text.Json.Nodes;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests.Undo;

/// <summary>
/// Undo against what ZODB wrote (spec/undo.md; tests/fixtures/undo.fs: U1 changed three objects and created one, U2
/// is ZODB's transactional undo of U1).
/// </summary>
public sealed class UndoFixtureTests
{
    private const long U1Position = 5013;
    private const long U2Position = 6241;
    private const long U2End = 6511;
    private const long T5EndInBasic = 5013;

    private static Tid StepTid(string scenario, string labelStart)
    {
        JsonNode steps = JsonNode.Parse(File.ReadAllText(Fixtures.Path("scenario.json")))![scenario]!["steps"]!;
        foreach (JsonNode? s in steps.AsArray())
        {
            if (s!["label"]!.GetValue<string>().StartsWith(labelStart, StringComparison.Ordinal))
            {
                return Tid.Parse(s["tid"]!.GetValue<string>());
            }
        }
        throw new InvalidOperationException(labelStart);
    }

    private static TransactionRecord Transaction(Fs.FileStorage fs, long position) =>
        fs.IteratorFrom(position).First();

    private static TransactionMetadata MetadataOf(TransactionRecord t) =>
        new(t.UserText, t.DescriptionText) { ExtensionBytes = t.ExtensionBytes };

    [Fact]
    public void Undoing_U1_writes_the_very_bytes_ZODB_wrote_for_U2() // UN-5, UN-7
    {
        using var dir = new TempDirectory("undo");
        byte[] zodb = Fixtures.Bytes("undo.fs");
        string path = dir.File("undo-u1.fs");
        File.WriteAllBytes(path, zodb.AsSpan(0, (int)U2Position).ToArray());
        TransactionRecord u2;
        using (var reference = Fs.FileStorage.Open(Fixtures.Path("undo.fs"), new FileStorageOptions { ReadOnly = true }))
        {
            u2 = Transaction(reference, U2Position);
        }
        Tid u1 = StepTid("undo", "U1");
        Assert.Equal(StepTid("undo", "U2"), u2.Tid);

        using (var fs = Fs.FileStorage.Open(path))
        {
            Assert.Equal(u1, fs.UndoLog(0, 1).Single().Tid);
            StorageTransaction t = fs.TpcBegin(MetadataOf(u2), u2.Tid);
            UndoResult result = fs.Undo(UndoLogEntry.EncodeId(u1), t);
            Assert.Equal(u2.Tid, result.Tid);
            Assert.Equal([new Oid(2), Oid.Root, new Oid(9), new Oid(8)], result.Oids);
            fs.TpcVote(t);
            fs.TpcFinish(t);
        }
        byte[] ours = File.ReadAllBytes(path);
        Assert.Equal(U2End, ours.Length);
        Assert.True(zodb.AsSpan(0, (int)U2End).SequenceEqual(ours), "the undo transaction differs from ZODB's U2");
    }

    [Fact]
    public void Undo_on_a_copy_of_basic_fs_writes_the_backpointers_and_the_undone_creation_undo_fs_shows() // UN-5
    {
        using var dir = new TempDirectory("undo");
        string path = dir.File("basic-t5.fs");
        File.WriteAllBytes(path, Fixtures.Bytes("basic.fs").AsSpan(0, (int)T5EndInBasic).ToArray());
        using var zodb = Fs.FileStorage.Open(Fixtures.Path("undo.fs"), new FileStorageOptions { ReadOnly = true });
        TransactionRecord u1 = Transaction(zodb, U1Position);
        TransactionRecord u2 = Transaction(zodb, U2Position);

        using var fs = Fs.FileStorage.Open(path);
        var before = new Dictionary<Oid, byte[]>();
        foreach (DataRecord r in u1.Records)
        {
            try
            {
                before[r.Oid] = fs.Load(r.Oid).Data.ToArray();
            }
            catch (PosKeyException)
            {
            }
        }
        // U1 again, on basic.fs's history: the same payloads (the two programs wrote the same objects up to T5).
        StorageTransaction t = fs.TpcBegin(MetadataOf(u1));
        foreach (DataRecord r in u1.Records)
        {
            Tid serial = before.ContainsKey(r.Oid) ? fs.GetTid(r.Oid) : Tid.Zero;
            fs.Store(t, r.Oid, serial, r.ReadData()!.Value);
        }
        fs.TpcVote(t);
        Tid ourU1 = fs.TpcFinish(t);

        t = fs.TpcBegin(MetadataOf(u2));
        fs.Undo(UndoLogEntry.EncodeId(ourU1), t);
        fs.TpcVote(t);
        Tid ourU2 = fs.TpcFinish(t);

        TransactionRecord undo = fs.Iterator(ourU2).Single();
        Assert.Equal(u2.Records.Count, undo.Records.Count);
        for (int i = 0; i < undo.Records.Count; i++)
        {
            DataRecord mine = undo.Records[i];
            DataRecord theirs = u2.Records[i];
            Assert.Equal(theirs.Oid, mine.Oid);
            Assert.Equal(0UL, mine.DataLength); // a backpointer record, as ZODB writes
            Assert.Equal(theirs.BackPointer, mine.BackPointer); // same positions: the prefixes have the same layout
            Assert.Equal(theirs.Prev, mine.Prev);
            Assert.Equal(theirs.IsDeletion, mine.IsDeletion);
        }
        Assert.True(undo.Records.Single(r => r.Oid == new Oid(9)).IsDeletion); // the undone creation
        Assert.Throws<PosKeyException>(() => fs.Load(new Oid(9)));
        Assert.Throws<PosKeyException>(() => fs.GetTid(new Oid(9)));
        foreach ((Oid oid, byte[] data) in before)
        {
            LoadResult now = fs.Load(oid);
            Assert.Equal(data, now.Data.ToArray());
            Assert.Equal(ourU2, now.Serial);
        }

        // Undoing the undo redoes U1 (reference checklist 33): the created object comes back.
        t = fs.TpcBegin(new TransactionMetadata("alice", "redo"));
        fs.Undo(UndoLogEntry.EncodeId(ourU2), t);
        fs.TpcVote(t);
        fs.TpcFinish(t);
        foreach (DataRecord r in u1.Records)
        {
            Assert.Equal(r.ReadData()!.Value.ToArray(), fs.Load(r.Oid).Data.ToArray());
        }
    }

    [Fact]
    public void Undo_log_lists_basic_fs_newest_first_with_ZODB_ids_and_metadata() // UN-1
    {
        using var fs = Fs.FileStorage.Open(Fixtures.Path("basic.fs"), new FileStorageOptions { ReadOnly = true });
        List<TransactionRecord> all = [.. fs.Iterator()];
        IReadOnlyList<UndoLogEntry> log = fs.UndoLog();
        Assert.Equal(11, log.Count);
        for (int i = 0; i < log.Count; i++)
        {
            TransactionRecord t = all[all.Count - 1 - i];
            UndoLogEntry e = log[i];
            Assert.Equal(t.Tid, e.Tid);
            Assert.Equal(Convert.ToBase64String(t.Tid.ToBytes()), e.Id);
            Assert.Equal(12, e.Id.Length);
            Assert.Equal(t.User.ToArray(), e.User.ToArray());
            Assert.Equal(t.Description.ToArray(), e.Description.ToArray());
            Assert.Equal((long)t.Length, e.Size);
            Assert.Equal(t.Tid.TimeTime, e.Time);
        }
        // T7: non-ASCII user and description, its extension merged into ZODB's dict (extension keys win).
        UndoLogEntry t7 = log[3];
        Assert.Equal("zoë", t7.UserText);
        IReadOnlyDictionary<string, object?> d = t7.ToDictionary();
        Assert.Equal("non-ASCII ✓", ((Wendelin.Storage.Pickle.PickleValue)d["note"]!).AsString());
        Assert.Equal(7L, ((Wendelin.Storage.Pickle.PickleValue)d["n"]!).AsInt64());
        Assert.Equal(t7.Id, d["id"]);
        Assert.Equal(t7.Size, d["size"]);

        // Slices (reference checklist 44): [first, last), a negative last is a count; the filter counts accepted ones.
        Assert.Equal(log.Skip(2).Take(3).Select(e => e.Tid), fs.UndoLog(2, 5).Select(e => e.Tid));
        Assert.Equal(log.Skip(2).Take(3).Select(e => e.Tid), fs.UndoLog(2, -3).Select(e => e.Tid));
        Assert.Equal(log.Take(4).Select(e => e.Tid), fs.UndoLog(0, -4).Select(e => e.Tid));
        Assert.Empty(fs.UndoLog(5, 5));
        IReadOnlyList<UndoLogEntry> alice = fs.UndoLog(1, -2, e => e.UserText == "alice");
        Assert.Equal(log.Where(e => e.UserText == "alice").Skip(1).Take(2).Select(e => e.Tid), alice.Select(e => e.Tid));
        Assert.Equal("A9gSNFZ4mrw=", UndoLogEntry.EncodeId(new Tid(0x03D8123456789ABCUL)));
        Assert.Equal(new Tid(0x03D8123456789ABCUL), UndoLogEntry.DecodeId("A9gSNFZ4mrw="));
        Assert.Equal(new Tid(0x03D8123456789ABCUL), UndoLogEntry.DecodeId("03d8123456789abc"));
    }

    [Fact]
    public void Undo_log_stops_at_the_first_packed_transaction() // UN-1
    {
        using var fs = Fs.FileStorage.Open(Fixtures.Path("packed.fs"), new FileStorageOptions { ReadOnly = true });
        IReadOnlyList<UndoLogEntry> log = fs.UndoLog();
        Assert.Equal(5, log.Count); // T6..T10; T2, T4, T5 have status 'p'
        Assert.Equal(StepTid("basic", "T6"), log[^1].Tid);
        using var undo = Fs.FileStorage.Open(Fixtures.Path("undo.fs"), new FileStorageOptions { ReadOnly = true });
        Assert.Equal(13, undo.UndoLog().Count);
    }

    [Fact]
    public void Refusals_name_the_objects_that_block_the_undo() // UN-3, UN-4, UN-6
    {
        using var dir = new TempDirectory("undo");
        string path = Fixtures.CopyTo("basic.fs", dir);
        using var fs = Fs.FileStorage.Open(path);
        long size = fs.Size;
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata("op", "undo attempts"));

        // T3 set counter (0x02) to 1; later transactions changed it again.
        var later = Assert.Throws<UndoException>(() => fs.Undo(UndoLogEntry.EncodeId(StepTid("basic", "T3")), t));
        Assert.Equal(new Oid(2), later.Oid);
        Assert.Contains("Some data were modified by a later transaction", later.Message, StringComparison.Ordinal);
        Assert.Contains("0x0000000000000002", later.Message, StringComparison.Ordinal);

        // T2 created objects that were changed later, and changed the root, changed later too.
        var several = Assert.Throws<MultipleUndoException>(() => fs.Undo(UndoLogEntry.EncodeId(StepTid("basic", "T2")), t));
        Assert.Contains(several.Errors, e => e.Oid == new Oid(2) && e.Message.Contains("Can't undo an add transaction followed by conflicting transactions.", StringComparison.Ordinal));
        Assert.Contains(several.Errors, e => e.Oid == Oid.Root && e.Message.Contains("Some data were modified", StringComparison.Ordinal));
        Assert.DoesNotContain(several.Errors, e => e.Oid == new Oid(4)); // 0x04 was never changed after T2: fine alone

        var invalid = Assert.Throws<UndoException>(() => fs.Undo(UndoLogEntry.EncodeId(new Tid(0x0123456789ABCDEFUL)), t));
        Assert.Contains("Invalid transaction id", invalid.Message, StringComparison.Ordinal);
        Assert.Throws<UndoException>(() => fs.Undo("not an id", t));

        // Refusals leave the transaction as it was: a good undo still goes through in it (T10 is current).
        UndoResult ok = fs.Undo(UndoLogEntry.EncodeId(StepTid("basic", "T10")), t);
        Assert.Equal([Oid.Root], ok.Oids);
        fs.TpcVote(t);
        fs.TpcFinish(t);
        Assert.Equal(size + 23 + "op".Length + "undo attempts".Length + 50 + 8, fs.Size);
    }

    [Fact]
    public void Packed_transactions_are_not_undoable_and_misuse_is_refused() // UN-2
    {
        using var dir = new TempDirectory("undo");
        string path = Fixtures.CopyTo("packed.fs", dir);
        using (var fs = Fs.FileStorage.Open(path))
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
            var e = Assert.Throws<UndoException>(() => fs.Undo(UndoLogEntry.EncodeId(StepTid("basic", "T5")), t));
            Assert.Contains("non-undoable transaction", e.Message, StringComparison.Ordinal);
            fs.TpcAbort(t);
            Assert.Throws<StorageTransactionException>(() => fs.Undo(UndoLogEntry.EncodeId(StepTid("basic", "T10")), t));
        }
        using var ro = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        Assert.Throws<ReadOnlyException>(() => ro.Undo(UndoLogEntry.EncodeId(StepTid("basic", "T10")), new StorageTransaction(new TransactionMetadata())));
    }

    [Fact]
    public void Two_undos_in_one_transaction_compose() // UN-4, reference checklist 35
    {
        using var dir = new TempDirectory("undo");
        string path = Fixtures.CopyTo("basic.fs", dir);
        using var fs = Fs.FileStorage.Open(path);
        byte[] rootAtT8 = fs.LoadSerial(Oid.Root, StepTid("basic", "T8")).ToArray();
        byte[] counterAtT7 = fs.LoadSerial(new Oid(2), StepTid("basic", "T7")).ToArray();
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata("op", "undo T10 and T9"));
        fs.Undo(UndoLogEntry.EncodeId(StepTid("basic", "T10")), t);
        UndoResult r9 = fs.Undo(UndoLogEntry.EncodeId(StepTid("basic", "T9")), t);
        Assert.Equal([new Oid(2), Oid.Root], r9.Oids);
        fs.TpcVote(t);
        Tid tid = fs.TpcFinish(t);
        Assert.Equal(rootAtT8, fs.Load(Oid.Root).Data.ToArray());
        Assert.Equal(counterAtT7, fs.Load(new Oid(2)).Data.ToArray());
        TransactionRecord undo = fs.Iterator(tid).Single();
        // Two records for the root (the later wins), each prev = the committed record (FS-4.3, UN-5).
        Assert.Equal(3, undo.Records.Count);
        Assert.All(undo.Records, r => Assert.Equal(0UL, r.DataLength));
        Assert.Equal(undo.Records[0].Prev, undo.Records[2].Prev);
        Assert.Equal(StepTid("basic", "T8"), undo.Records[2].DataTxn);
    }

    [Fact]
    public void Undo_log_shows_the_last_20_by_default() // UN-1
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        for (int i = 0; i < 25; i++)
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata("u", "t" + i));
            fs.Store(t, new Oid(1), i == 0 ? Tid.Zero : fs.GetTid(new Oid(1)), new byte[] { (byte)i });
            fs.TpcVote(t);
            fs.TpcFinish(t);
        }
        IReadOnlyList<UndoLogEntry> log = fs.UndoLog();
        Assert.Equal(20, log.Count);
        Assert.Equal("t24", log[0].DescriptionText);
        Assert.Equal("t5", log[^1].DescriptionText);
        Assert.Equal(25, fs.UndoLog(0, 100).Count);
    }
}
