using System.Text;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>Two-phase commit and the reads around it (spec/filestorage.md §5-§6; reference checklist §10).</summary>
public sealed class CommitTests
{
    private static byte[] Data(string s) => Encoding.UTF8.GetBytes(s);

    private static Tid Commit(Fs.FileStorage fs, params (Oid Oid, Tid Serial, string Data)[] stores)
    {
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata("u", "d"));
        foreach (var (oid, serial, data) in stores)
        {
            fs.Store(t, oid, serial, Data(data));
        }
        fs.TpcVote(t);
        return fs.TpcFinish(t);
    }

    [Fact]
    public void Empty_storage_has_no_transaction_and_hands_out_oid_1_first()
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        Assert.Equal(Tid.Zero, fs.LastTransaction);
        Assert.Equal(0, fs.ObjectCount);
        Assert.Equal(4, fs.Size);
        Assert.Equal(new Oid(1), fs.NewOid());
        Assert.Equal(new Oid(2), fs.NewOid());
        Assert.Empty(fs.Iterator());
        Assert.Empty(fs.LastInvalidations(5));
        Assert.Null(fs.RecordIterNext());
    }

    [Fact]
    public void Stored_object_loads_with_the_tid_finish_returned()
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        Tid t1 = Commit(fs, (Oid.Root, Tid.Zero, "root-1"));
        Assert.NotEqual(Tid.Zero, t1);
        Assert.Equal(t1, fs.LastTransaction);
        LoadResult r = fs.Load(Oid.Root);
        Assert.Equal("root-1", Encoding.UTF8.GetString(r.Data.Span));
        Assert.Equal(t1, r.Serial);
        Tid t2 = Commit(fs, (Oid.Root, t1, "root-2"));
        Assert.True(t2 > t1);
        Assert.Equal("root-2", Encoding.UTF8.GetString(fs.Load(Oid.Root).Data.Span));
        Assert.Equal("root-1", Encoding.UTF8.GetString(fs.LoadSerial(Oid.Root, t1).Span));
        Assert.Equal(1, fs.ObjectCount);
    }

    [Fact]
    public void Stale_serial_raises_conflict_naming_oid_and_both_serials() // FS-C3
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        Tid t1 = Commit(fs, (new Oid(5), Tid.Zero, "a"));
        Tid t2 = Commit(fs, (new Oid(5), t1, "b"));
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
        var e = Assert.Throws<ConflictException>(() => fs.Store(t, new Oid(5), t1, Data("c")));
        Assert.Equal(new Oid(5), e.Oid);
        Assert.Equal(t2, e.CommittedSerial);
        Assert.Equal(t1, e.GivenSerial);
        Assert.Throws<ConflictException>(() => fs.Store(t, new Oid(5), Tid.Zero, Data("c"))); // "new" but it exists
        fs.TpcAbort(t);
        Assert.Equal("b", Encoding.UTF8.GetString(fs.Load(new Oid(5)).Data.Span));
    }

    [Fact]
    public void Abort_before_and_after_vote_leaves_no_trace() // FS-C5
    {
        using var dir = new TempDirectory("commit");
        string path = dir.File("a.fs");
        using var fs = Fs.FileStorage.Open(path);
        Tid t1 = Commit(fs, (Oid.Root, Tid.Zero, "keep"));
        long size = fs.Size;

        StorageTransaction a = fs.TpcBegin(new TransactionMetadata());
        fs.Store(a, Oid.Root, t1, Data("lost-1"));
        fs.TpcAbort(a);
        Assert.Equal(size, new FileInfo(path).Length);

        StorageTransaction b = fs.TpcBegin(new TransactionMetadata());
        fs.Store(b, Oid.Root, t1, Data("lost-2"));
        fs.Store(b, new Oid(7), Tid.Zero, Data("lost-3"));
        fs.TpcVote(b);
        Assert.True(new FileInfo(path).Length > size);
        fs.TpcAbort(b);
        Assert.Equal(size, new FileInfo(path).Length);
        Assert.Equal(size, fs.Size);
        Assert.Equal("keep", Encoding.UTF8.GetString(fs.Load(Oid.Root).Data.Span));
        Assert.Throws<PosKeyException>(() => fs.Load(new Oid(7)));
        Assert.Equal(t1, fs.LastTransaction);

        Tid t2 = Commit(fs, (Oid.Root, t1, "next"));
        Assert.True(t2 > t1);
        Assert.Equal([t1, t2], fs.Iterator().Select(t => t.Tid));
    }

    [Fact]
    public void Misuse_of_the_protocol_raises_storage_transaction_errors()
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        var foreign = new StorageTransaction(new TransactionMetadata());
        Assert.Throws<StorageTransactionException>(() => fs.Store(foreign, Oid.Root, Tid.Zero, Data("x")));
        Assert.Throws<StorageTransactionException>(() => fs.TpcVote(foreign));
        Assert.Throws<StorageTransactionException>(() => fs.TpcFinish(foreign));
        fs.TpcAbort(foreign); // ignored
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
        Assert.Throws<StorageTransactionException>(() => fs.TpcFinish(t)); // before vote
        Assert.Throws<StorageTransactionException>(() => fs.Store(foreign, Oid.Root, Tid.Zero, Data("x")));
        Assert.Throws<ArgumentException>(() => fs.Store(t, Oid.Root, Tid.Zero, ReadOnlyMemory<byte>.Empty));
        fs.Store(t, Oid.Root, Tid.Zero, Data("x"));
        fs.TpcVote(t);
        Assert.Throws<StorageTransactionException>(() => fs.Store(t, Oid.Root, Tid.Zero, Data("y")));
        Assert.Throws<StorageTransactionException>(() => fs.TpcVote(t));
        Tid tid = fs.TpcFinish(t);
        Assert.Throws<StorageTransactionException>(() => fs.TpcFinish(t));
        fs.TpcAbort(t); // finished: ignored
        Assert.Equal(tid, fs.LastTransaction);
    }

    [Fact]
    public void A_second_begin_waits_for_the_first_commit_to_end() // FS-C1
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        StorageTransaction first = fs.TpcBegin(new TransactionMetadata());
        var started = new ManualResetEventSlim();
        Tid second = Tid.Zero;
        var thread = new Thread(() =>
        {
            started.Set();
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
            fs.Store(t, new Oid(2), Tid.Zero, Data("two"));
            fs.TpcVote(t);
            second = fs.TpcFinish(t);
        });
        thread.Start();
        started.Wait();
        Assert.False(thread.Join(200));
        fs.Store(first, new Oid(1), Tid.Zero, Data("one"));
        fs.TpcVote(first);
        Tid firstTid = fs.TpcFinish(first);
        Assert.True(thread.Join(10_000));
        Assert.True(second > firstTid);
    }

    [Fact]
    public void Readers_see_neither_a_voted_transaction_nor_its_bytes_until_finish() // FS-C2
    {
        using var dir = new TempDirectory("commit");
        string path = dir.File("v.fs");
        using var fs = Fs.FileStorage.Open(path);
        Tid t1 = Commit(fs, (Oid.Root, Tid.Zero, "old"));
        long size = fs.Size;
        var seen = new List<(Tid, IReadOnlyList<Oid>)>();
        fs.Committed += (tid, oids) => seen.Add((tid, oids));

        StorageTransaction t = fs.TpcBegin(new TransactionMetadata("someone", "voted"));
        fs.Store(t, Oid.Root, t1, Data("new"));
        fs.Store(t, new Oid(3), Tid.Zero, Data("three"));
        fs.TpcVote(t);
        byte[] onDisk = File.ReadAllBytes(path);
        Assert.Equal((byte)'c', onDisk[size + TxnHeader.StatusOffset]); // FS-D2: voted with status 'c'
        Assert.Equal("old", Encoding.UTF8.GetString(fs.Load(Oid.Root).Data.Span));
        Assert.Throws<PosKeyException>(() => fs.Load(new Oid(3)));
        Assert.Equal(size, fs.Size);
        Assert.Equal(t1, fs.LastTransaction);
        Assert.Single(fs.Iterator());
        Assert.Equal(t1, fs.LoadBefore(Oid.Root, Tid.Max)!.Value.Serial);
        using (var ro = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }))
        {
            Assert.Equal(t1, ro.LastTransaction); // another reader stops before the 'c' transaction
        }

        IReadOnlyList<Oid>? inCallback = null;
        string? loadedInCallback = null;
        Tid t2 = fs.TpcFinish(t, (tid, oids) =>
        {
            inCallback = oids;
            loadedInCallback = Encoding.UTF8.GetString(fs.Load(Oid.Root).Data.Span);
        });
        Assert.Equal("old", loadedInCallback); // the callback runs before readers can see the transaction
        Assert.Equal([Oid.Root, new Oid(3)], inCallback);
        Assert.Equal((byte)' ', File.ReadAllBytes(path)[size + TxnHeader.StatusOffset]); // FS-D3
        Assert.Equal("new", Encoding.UTF8.GetString(fs.Load(Oid.Root).Data.Span));
        Assert.Equal(t2, fs.LastTransaction);
        Assert.Equal(t2, Assert.Single(seen).Item1);
        Assert.Equal([Oid.Root, new Oid(3)], seen[0].Item2);
    }

    [Fact]
    public void Check_current_serial_raises_read_conflict_or_no_such_object()
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        Tid t1 = Commit(fs, (new Oid(1), Tid.Zero, "a"));
        Tid t2 = Commit(fs, (new Oid(1), t1, "b"));
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
        fs.CheckCurrentSerial(t, new Oid(1), t2);
        var e = Assert.Throws<ReadConflictException>(() => fs.CheckCurrentSerial(t, new Oid(1), t1));
        Assert.Equal((new Oid(1), t2, t1), (e.Oid, e.CommittedSerial, e.GivenSerial));
        Assert.Throws<PosKeyException>(() => fs.CheckCurrentSerial(t, new Oid(9), Tid.Zero));
        fs.TpcAbort(t);
    }

    [Fact]
    public void Load_before_edges() // checklist 23-28
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        var oid = new Oid(1);
        Assert.Throws<PosKeyException>(() => fs.LoadBefore(oid, Tid.Max));
        Tid t1 = Commit(fs, (oid, Tid.Zero, "v1"));
        Assert.Null(fs.LoadBefore(oid, Tid.Zero));
        Assert.Null(fs.LoadBefore(oid, t1));
        LoadBeforeResult r = fs.LoadBefore(oid, new Tid(t1.Value + 1))!.Value;
        Assert.Equal((t1, (Tid?)null), (r.Serial, r.NextSerial));
        Tid t2 = Commit(fs, (oid, t1, "v2"));
        r = fs.LoadBefore(oid, new Tid(t1.Value + 1))!.Value;
        Assert.Equal((t1, (Tid?)t2), (r.Serial, r.NextSerial));
        Assert.Equal("v1", Encoding.UTF8.GetString(r.Data.Span));
        r = fs.LoadBefore(oid, new Tid(t2.Value - 1))!.Value;
        Assert.Equal((t1, (Tid?)t2), (r.Serial, r.NextSerial));
        r = fs.LoadBefore(oid, Tid.Max)!.Value;
        Assert.Equal((t2, (Tid?)null), (r.Serial, r.NextSerial));
        for (int i = 0; i < 50; i++)
        {
            Commit(fs, (oid, fs.GetTid(oid), "v" + (i + 3)));
        }
        r = fs.LoadBefore(oid, t2)!.Value; // deep in the chain
        Assert.Equal("v1", Encoding.UTF8.GetString(r.Data.Span));
        Assert.Equal(t2, r.NextSerial);
        IReadOnlyList<HistoryEntry> h = fs.History(oid, 5);
        Assert.Equal(5, h.Count);
        Assert.True(h[0].Tid > h[1].Tid && h[1].Time > h[2].Time);
        Assert.Equal(52, fs.History(oid, 100).Count);
    }

    [Fact]
    public void Caller_chosen_tids_are_accepted_when_increasing() // checklist 27, FS-2.4
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        var oid = new Oid(1);
        for (ulong i = 1; i <= 3; i++)
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata(), new Tid(i));
            fs.Store(t, oid, i == 1 ? Tid.Zero : new Tid(i - 1), Data("r" + i));
            fs.TpcVote(t);
            Assert.Equal(new Tid(i), fs.TpcFinish(t));
        }
        LoadBeforeResult r = fs.LoadBefore(oid, new Tid(2))!.Value;
        Assert.Equal(("r1", new Tid(1), (Tid?)new Tid(2)), (Encoding.UTF8.GetString(r.Data.Span), r.Serial, r.NextSerial));
        Assert.Throws<ArgumentException>(() => fs.TpcBegin(new TransactionMetadata(), new Tid(3)));
        Tid next = Commit(fs, (oid, new Tid(3), "now"));
        Assert.True(next > new Tid(3));
    }

    [Fact]
    public void Empty_transactions_are_written_and_iterated() // checklist 18, 91
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        Tid a = Commit(fs);
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata("", "only a description"));
        fs.TpcVote(t);
        Tid b = fs.TpcFinish(t);
        TransactionRecord[] all = fs.Iterator().ToArray();
        Assert.Equal([a, b], all.Select(x => x.Tid));
        Assert.Empty(all[1].Records);
        Assert.Equal("only a description", all[1].DescriptionText);
        Assert.Equal("", all[1].UserText);
        Assert.Equal(0, all[1].ExtensionBytes.Length);
        Assert.Equal(b, fs.LastTransaction);
    }

    [Fact]
    public void Extension_dicts_are_pickled_as_zodb_does_and_read_back() // FS-2.5
    {
        using var basic = Fs.FileStorage.Open(Fixtures.Path("basic.fs"), new FileStorageOptions { ReadOnly = true });
        TransactionRecord[] fixture = basic.Iterator().ToArray();
        using var fs = Fs.FileStorage.OpenInMemory();
        var plain = new Dictionary<string, object?> { ["app"] = "fixturegen", ["step"] = 1 };
        var nested = new Dictionary<string, object?>
        {
            ["note"] = "non-ASCII \u2713",
            ["n"] = 7,
            ["nested"] = new Dictionary<string, object?> { ["k"] = new List<object?> { 1, 2 } },
        };
        foreach (IReadOnlyDictionary<string, object?> ext in new[] { plain, nested })
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata("zo\u00eb", "d", ext));
            fs.TpcVote(t);
            fs.TpcFinish(t);
        }
        TransactionRecord[] ours = fs.Iterator().ToArray();
        Assert.Equal(fixture[1].ExtensionBytes.ToArray(), ours[0].ExtensionBytes.ToArray()); // T1's bytes, as ZODB wrote them
        Assert.Equal(fixture[7].ExtensionBytes.ToArray(), ours[1].ExtensionBytes.ToArray()); // T7's
        Assert.Equal("fixturegen", ours[0].ReadExtension()["app"].AsString());
        Assert.Equal("zo\u00eb", ours[1].UserText);
        Assert.Throws<ArgumentException>(() => fs.TpcBegin(new TransactionMetadata(Extension: new Dictionary<string, object?> { ["x"] = new object() })));
        Assert.Empty(fs.Iterator().Last().Records); // and the gate was not left taken:
        StorageTransaction again = fs.TpcBegin(new TransactionMetadata());
        fs.TpcAbort(again);
    }

    [Fact]
    public void Metadata_longer_than_65535_bytes_is_refused() // checklist 82
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        string big = new('x', 65536);
        Assert.Throws<FileStorageException>(() => fs.TpcBegin(new TransactionMetadata(User: big)));
        Assert.Throws<FileStorageException>(() => fs.TpcBegin(new TransactionMetadata(Description: big)));
        Assert.Throws<FileStorageException>(() => fs.TpcBegin(new TransactionMetadata { ExtensionBytes = new byte[65536] }));
        Commit(fs); // the gate was not left taken
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata(new string('u', 65535), new string('d', 65535)));
        fs.TpcVote(t);
        fs.TpcFinish(t);
        Assert.Equal(65535, fs.Iterator().Last().User.Length);
    }

    [Fact]
    public void Store_bumps_the_oid_allocator() // checklist 85
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        Commit(fs, (new Oid(100), Tid.Zero, "x"));
        Assert.Equal(new Oid(101), fs.NewOid());
    }

    [Fact]
    public void Same_oid_twice_in_a_transaction_keeps_the_committed_prev_and_the_later_data()
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        Tid t1 = Commit(fs, (Oid.Root, Tid.Zero, "a"));
        Commit(fs, (Oid.Root, t1, "b"), (Oid.Root, t1, "c"));
        DataRecord[] records = fs.Iterator().Last().Records.ToArray();
        Assert.Equal(2, records.Length);
        Assert.Equal(records[0].Prev, records[1].Prev);
        Assert.Equal("c", Encoding.UTF8.GetString(fs.Load(Oid.Root).Data.Span));
    }

    [Fact]
    public void Deleted_object_reads_as_no_such_object_but_its_history_remains() // checklist 57
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        var oid = new Oid(4);
        Tid t1 = Commit(fs, (oid, Tid.Zero, "alive"));
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
        Assert.Throws<ConflictException>(() => fs.DeleteObject(t, oid, Tid.Zero));
        Assert.Throws<PosKeyException>(() => fs.DeleteObject(t, new Oid(99), Tid.Zero));
        fs.DeleteObject(t, oid, t1);
        fs.TpcVote(t);
        Tid t2 = fs.TpcFinish(t);
        Assert.Throws<PosKeyException>(() => fs.Load(oid));
        Assert.Throws<PosKeyException>(() => fs.GetTid(oid));
        Assert.Throws<PosKeyException>(() => fs.LoadBefore(oid, Tid.Max));
        LoadBeforeResult r = fs.LoadBefore(oid, t2)!.Value;
        Assert.Equal(("alive", t1, (Tid?)t2), (Encoding.UTF8.GetString(r.Data.Span), r.Serial, r.NextSerial));
        DataRecord deletion = fs.Iterator().Last().Records[0];
        Assert.True(deletion.IsDeletion);
        Assert.Null(deletion.ReadData());
        Assert.Equal(1, fs.ObjectCount);
    }

    [Fact]
    public void Data_and_serials_survive_close_and_reopen_and_read_only_refuses_writes() // checklist 95-98
    {
        using var dir = new TempDirectory("commit");
        string path = dir.File("p.fs");
        Tid t1, t2;
        using (var fs = Fs.FileStorage.Open(path))
        {
            t1 = Commit(fs, (Oid.Root, Tid.Zero, "one"), (new Oid(1), Tid.Zero, "x"));
            t2 = Commit(fs, (Oid.Root, t1, "two"));
        }
        using (var fs = Fs.FileStorage.Open(path))
        {
            Assert.Equal(t2, fs.LastTransaction);
            Assert.Equal((t2, "two"), (fs.Load(Oid.Root).Serial, Encoding.UTF8.GetString(fs.Load(Oid.Root).Data.Span)));
            Assert.Equal(new Oid(2), fs.NewOid());
            Tid t3 = Commit(fs, (Oid.Root, t2, "three"));
            Assert.True(t3 > t2);
        }
        using (var ro = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }))
        {
            Assert.True(ro.IsReadOnly);
            Assert.Equal("one", Encoding.UTF8.GetString(ro.LoadSerial(Oid.Root, t1).Span));
            Assert.Throws<ReadOnlyException>(() => ro.NewOid());
            Assert.Throws<ReadOnlyException>(() => ro.TpcBegin(new TransactionMetadata()));
            Assert.Throws<ReadOnlyException>(() => ro.Store(new StorageTransaction(new TransactionMetadata()), Oid.Root, Tid.Zero, Data("x")));
        }
        var missing = Assert.Throws<FileStorageException>(() => Fs.FileStorage.Open(dir.File("nope.fs"), new FileStorageOptions { ReadOnly = true }));
        Assert.Contains("no such file", missing.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true, Create = true }));
        Assert.Throws<ArgumentException>(() => Fs.FileStorage.Open(path, new FileStorageOptions { Stop = t1 }));
    }

    [Fact]
    public void Second_writable_opener_gets_a_lock_error_and_readers_need_no_lock() // FS-O3
    {
        using var dir = new TempDirectory("lock");
        string path = dir.File("l.fs");
        using (var fs = Fs.FileStorage.Open(path))
        {
            Commit(fs, (Oid.Root, Tid.Zero, "x"));
            var e = Assert.Throws<LockException>(() => Fs.FileStorage.Open(path));
            Assert.Contains(path + ".lock", e.Message, StringComparison.Ordinal);
            using var ro = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
            Assert.Equal(fs.LastTransaction, ro.LastTransaction);
        }
        Assert.Equal($" {Environment.ProcessId}\n", File.ReadAllText(path + ".lock")); // zc.lockfile's content, kept after release
        using (Fs.FileStorage.Open(path))
        {
        }
    }

    [Fact]
    public void New_file_gets_the_requested_magic_and_existing_files_keep_theirs()
    {
        using var dir = new TempDirectory("magic");
        string path = dir.File("m.fs");
        using (var fs = Fs.FileStorage.Open(path, new FileStorageOptions { Magic = FileMagic.FS21 }))
        {
            Commit(fs, (Oid.Root, Tid.Zero, "x"));
        }
        Assert.Equal("FS21", Encoding.ASCII.GetString(File.ReadAllBytes(path), 0, 4));
        using (var fs = Fs.FileStorage.Open(path))
        {
            Assert.Equal(FileMagic.FS21, fs.Magic);
        }
        File.WriteAllBytes(dir.File("foreign.fs"), Data("PK\u0003\u0004 not a storage"));
        var e = Assert.Throws<FileStorageFormatException>(() => Fs.FileStorage.Open(dir.File("foreign.fs"), new FileStorageOptions { ReadOnly = true }));
        Assert.Equal("magic", e.Check);
        File.WriteAllBytes(dir.File("short.fs"), Data("XY"));
        Assert.Throws<FileStorageFormatException>(() => Fs.FileStorage.Open(dir.File("short.fs"), new FileStorageOptions { ReadOnly = true }));
        File.WriteAllBytes(dir.File("torn.fs"), Data("FS3")); // FS-O1: a creation torn inside the magic
        using (var torn = Fs.FileStorage.Open(dir.File("torn.fs")))
        {
            Assert.Equal(Tid.Zero, torn.LastTransaction);
        }
        Assert.Equal("FS30", File.ReadAllText(dir.File("torn.fs")));
        Directory.CreateDirectory(dir.File("adir"));
        Assert.Contains("is a directory", Assert.Throws<FileStorageException>(() => Fs.FileStorage.Open(dir.File("adir"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_iterator_does_not_see_transactions_committed_after_it_was_created() // checklist 70
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        Tid first = Commit(fs, (Oid.Root, Tid.Zero, "a"));
        IEnumerable<TransactionRecord> iterator = fs.Iterator();
        Commit(fs, (Oid.Root, first, "b"));
        Assert.Equal([first], iterator.Select(t => t.Tid));
        Assert.Equal(2, fs.Iterator().Count());
    }

    [Fact]
    public void Tids_in_the_future_are_reported_at_open_and_new_tids_follow_them() // checklist 92, FS-O6
    {
        using var dir = new TempDirectory("future");
        string path = dir.File("f.fs");
        Tid future = Tid.FromDateTime(DateTime.UtcNow.AddDays(2));
        using (var fs = Fs.FileStorage.Open(path))
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata(), future);
            fs.Store(t, Oid.Root, Tid.Zero, Data("x"));
            fs.TpcVote(t);
            fs.TpcFinish(t);
        }
        using (var fs = Fs.FileStorage.Open(path))
        {
            Assert.Contains(fs.OpenLog, m => m.Contains("seconds in the future", StringComparison.Ordinal));
            Tid next = Commit(fs, (Oid.Root, future, "y"));
            Assert.True(next > future);
        }
    }

    [Fact]
    public void Tids_strictly_increase_across_fast_commits()
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        Tid last = Tid.Zero;
        for (int i = 0; i < 500; i++)
        {
            Tid t = Commit(fs);
            Assert.True(t > last);
            last = t;
        }
    }
}
