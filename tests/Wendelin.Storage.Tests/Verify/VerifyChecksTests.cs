using System.Buffers.Binary;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;
using Wendelin.Storage.Pickle;
using Wendelin.Storage.Verify;
using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests.Verify;

/// <summary>Each check of spec/verify.md produced by a file damaged or built for it.</summary>
public sealed class VerifyChecksTests
{
    // basic.fs layout (tests/fixtures/basic.dump.json): T3 at 2734 (one record at 2791), T4 at 2912 (records at 2992
    // for 0x02, 3105 root, 3813 for 0x05; trailer at 3938), T5 at 3946.
    private static List<Finding> Damaged(string fixture, Action<byte[]> damage, Func<byte[], byte[]>? reshape = null)
    {
        byte[] bytes = Fixtures.Bytes(fixture);
        damage(bytes);
        if (reshape is not null)
        {
            bytes = reshape(bytes);
        }
        var fsys = new MemoryFileSystem();
        fsys.WriteAllBytes("/v.fs", bytes);
        return [.. new Verifier(() => fsys.Open("/v.fs", StorageFileMode.ReadOnly)).Run()];
    }

    private static void U64(byte[] b, long at, ulong v) => BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan((int)at), v);

    private static void AssertFinding(List<Finding> findings, string code, long position)
    {
        Assert.True(findings.Any(f => f.Code == code && f.Position == position),
            $"expected {code} at {position}, found:\n{string.Join("\n", findings)}");
        Check check = Checks.All.Single(c => c.Code == code);
        Assert.All(findings.Where(f => f.Code == code), f => Assert.Equal(check.Severity, f.Severity));
    }

    [Fact]
    public void V100_V101_empty_and_foreign_files()
    {
        var fsys = new MemoryFileSystem();
        fsys.WriteAllBytes("/e.fs", []);
        fsys.WriteAllBytes("/f.fs", "FS99 and the rest"u8);
        List<Finding> empty = [.. new Verifier(() => fsys.Open("/e.fs", StorageFileMode.ReadOnly)).Run()];
        List<Finding> foreign = [.. new Verifier(() => fsys.Open("/f.fs", StorageFileMode.ReadOnly)).Run()];
        Assert.Equal("V100", Assert.Single(empty).Code);
        Assert.Equal("V101", Assert.Single(foreign).Code);
        Assert.Contains("invalid file header", foreign[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void V103_time_stamp_reduction_and_V113_record_tids()
    {
        List<Finding> f = Damaged("basic.fs", b => b.AsSpan(2734, 8).CopyTo(b.AsSpan(3946))); // T5 gets T3's tid
        AssertFinding(f, "V103", 3946);
        AssertFinding(f, "V113", 4014);
    }

    [Fact]
    public void V106_invalid_status_is_damage_in_the_middle()
    {
        List<Finding> f = Damaged("basic.fs", b => b[2912 + 16] = (byte)'x');
        AssertFinding(f, "V106", 2912);
        AssertFinding(f, "V119", 2912);
    }

    [Fact]
    public void V107_length_shorter_than_the_header()
    {
        List<Finding> f = Damaged("basic.fs", b => U64(b, 2912 + 8, 10));
        AssertFinding(f, "V107", 2912);
    }

    [Fact]
    public void V108_record_header_cut_by_the_end_of_the_file()
    {
        // T3 made the last transaction, 20 bytes longer than its records: the next record header would run past the end.
        List<Finding> f = Damaged("basic.fs", b => U64(b, 2734 + 8, 190), b =>
        {
            byte[] r = new byte[2734 + 190 + 8];
            b.AsSpan(0, 2904).CopyTo(r);
            U64(r, 2734 + 190, 190);
            return r;
        });
        AssertFinding(f, "V108", 2904);
    }

    [Fact]
    public void V110_record_beyond_its_transaction()
    {
        List<Finding> f = Damaged("basic.fs", b => U64(b, 3813 + 34, 183));
        AssertFinding(f, "V110", 3813);
    }

    [Fact]
    public void V111_trailer_differs_from_the_length()
    {
        List<Finding> f = Damaged("basic.fs", b => b[3938 + 7] ^= 1);
        AssertFinding(f, "V111", 2912);
        AssertFinding(f, "V119", 2912);
        Assert.DoesNotContain(f, x => x.Code == "V121");
    }

    [Fact]
    public void V112_version_length()
    {
        List<Finding> f = Damaged("basic.fs", b => b[2992 + 33] = 1);
        AssertFinding(f, "V112", 2992);
    }

    [Fact]
    public void V114_V115_V116_prev_pointers()
    {
        AssertFinding(Damaged("basic.fs", b => U64(b, 2992 + 16, 5000)), "V114", 2992);
        AssertFinding(Damaged("basic.fs", b => U64(b, 2992 + 16, 2792)), "V115", 2992); // not a record start
        AssertFinding(Damaged("basic.fs", b => U64(b, 2992 + 16, 947)), "V115", 2992); // the root's record
        AssertFinding(Damaged("basic.fs", b => U64(b, 2992 + 16, 2053)), "V116", 2992); // an older revision, not the current
    }

    [Fact]
    public void V117_V118_backpointers_and_V200_an_unreadable_current_revision()
    {
        // undo.fs: U2's records at 6303 (0x02, back 4014) and 6403 (0x09, creation undone: back 0, still current).
        AssertFinding(Damaged("undo.fs", b => U64(b, 6303 + 42, 7000)), "V117", 6303);
        AssertFinding(Damaged("undo.fs", b => U64(b, 6303 + 42, 4127)), "V118", 6303); // the root's record
        List<Finding> f = Damaged("undo.fs", b => U64(b, 6403 + 42, 4127));
        AssertFinding(f, "V118", 6403);
        AssertFinding(f, "V200", 6403);
    }

    [Fact]
    public void V122_obsolete_undo_status()
    {
        List<Finding> f = Damaged("basic.fs", b => b[2734 + 16] = (byte)'u');
        AssertFinding(f, "V122", 2734);
        AssertFinding(f, "V116", 2992); // T4's prev names T3's record, which no longer counts
    }

    // Object-level checks on files built for them.

    private static readonly PickleGlobal NodeClass = new("tests", "Node");

    private sealed class Db : IDisposable
    {
        private readonly MemoryFileSystem _fsys = new();
        private readonly Fs.FileStorage _fs;

        public Db() => _fs = Fs.FileStorage.Open("/o.fs", new FileStorageOptions { Create = true }, _fsys);

        public Fs.FileStorage Storage => _fs;

        public Oid Put(ulong oid, string module, string name, PickleValue state) =>
            PutBytes(oid, ZodbPickle.WriteRecord(new PickleGlobal(module, name), state));

        public Oid PutBytes(ulong oid, byte[] data)
        {
            StorageTransaction t = _fs.TpcBegin(new TransactionMetadata());
            Tid serial = Tid.Zero;
            try
            {
                serial = _fs.History(new Oid(oid))[0].Tid;
            }
            catch (PosKeyException)
            {
            }
            _fs.Store(t, new Oid(oid), serial, data);
            _fs.TpcVote(t);
            _fs.TpcFinish(t);
            return new Oid(oid);
        }

        public List<Finding> Verify() => [.. new Verifier(() => _fsys.Open("/o.fs", StorageFileMode.ReadOnly)).Run()];

        public void Dispose() => _fs.Dispose();
    }

    private static PicklePersistentId Ref(ulong oid, string module, string name) => PicklePersistentId.Strong(new Oid(oid), new PickleGlobal(module, name));

    private static void AssertCodes(List<Finding> findings, params string[] codes)
    {
        foreach (string code in codes)
        {
            Assert.True(findings.Any(f => f.Code == code), $"expected {code}, found:\n{string.Join("\n", findings)}");
        }
    }

    [Fact]
    public void V201_to_V204_records_and_references()
    {
        using var db = new Db();
        db.PutBytes(3, "not a pickle"u8.ToArray());
        db.Put(2, "tests", "Node", new PickleTuple(1L, new PickleList()));
        StorageTransaction t = db.Storage.TpcBegin(new TransactionMetadata());
        db.Storage.DeleteObject(t, new Oid(2), db.Storage.GetTid(new Oid(2)));
        db.Storage.TpcVote(t);
        db.Storage.TpcFinish(t);
        db.Put(0, "tests", "Node", new PickleTuple(0L, new PickleList([Ref(1, "tests", "Node"), Ref(2, "tests", "Node"), Ref(3, "tests", "Node")])));
        List<Finding> f = db.Verify();
        Assert.Equal(["V201", "V202", "V203", "V204"], f.Select(x => x.Code).Order());
        Assert.All(f.Where(x => x.Code != "V201"), x => Assert.Equal(Oid.Root, x.Oid));
        Assert.Contains("0x0000000000000001 missing", f.Single(x => x.Code == "V202").Message, StringComparison.Ordinal);
    }

    private static PickleTuple Bucket(PickleValue? next, params PickleValue[] flat) =>
        next is null ? new PickleTuple(new PickleTuple(flat)) : new PickleTuple(new PickleTuple(flat), next);

    private static PicklePersistentId IOBucketRef(ulong oid) => Ref(oid, "BTrees.IOBTree", "IOBucket");

    /// <summary>An IOBTree at 1 over buckets 2 (keys 1, 2) and 3 (keys 10, 11), optionally damaged.</summary>
    private static List<Finding> Tree(Func<PickleValue[], PickleValue[]>? bucket2 = null, Func<PickleValue[], PickleValue[]>? bucket3 = null,
        PickleValue? tree = null, PickleValue? next2 = null)
    {
        using var db = new Db();
        PickleValue[] b2 = [1L, "a", 2L, "b"];
        PickleValue[] b3 = [10L, "c", 11L, "d"];
        db.Put(2, "BTrees.IOBTree", "IOBucket", Bucket(next2 ?? IOBucketRef(3), bucket2?.Invoke(b2) ?? b2));
        db.Put(3, "BTrees.IOBTree", "IOBucket", Bucket(null, bucket3?.Invoke(b3) ?? b3));
        db.Put(1, "BTrees.IOBTree", "IOBTree", tree ?? new PickleTuple(new PickleTuple(IOBucketRef(2), 10L, IOBucketRef(3)), IOBucketRef(2)));
        db.Put(0, "tests", "Node", new PickleTuple(0L, new PickleList([Ref(1, "BTrees.IOBTree", "IOBTree")])));
        return db.Verify();
    }

    [Fact]
    public void A_well_formed_tree_is_clean_and_each_BTree_invariant_is_checked()
    {
        Assert.Empty(Tree());
        AssertCodes(Tree(tree: "junk"), "V300");
        AssertCodes(Tree(next2: new PickleTuple(1L, 2L), bucket2: _ => [1L, "a", 2L]), "V301");
        AssertCodes(Tree(bucket2: _ => [1L, "a", 1L << 40, "b"]), "V302");
        AssertCodes(Tree(bucket2: _ => [2L, "a", 1L, "b"]), "V303");
        AssertCodes(Tree(tree: new PickleTuple(new PickleTuple(Ref(0, "tests", "Node"), 10L, IOBucketRef(3)), IOBucketRef(2))), "V304");
        AssertCodes(Tree(bucket3: _ => [5L, "c", 11L, "d"]), "V305");
        AssertCodes(Tree(tree: new PickleTuple(new PickleTuple(IOBucketRef(2), 10L, IOBucketRef(3)), IOBucketRef(3))), "V306");
        AssertCodes(Tree(next2: IOBucketRef(2)), "V307");
        AssertCodes(Tree(bucket3: _ => []), "V308");
        AssertCodes(Tree(bucket2: _ => [.. Enumerable.Range(1, 61).SelectMany(i => new PickleValue[] { (long)i - 60, "x" })]), "V309");
        AssertCodes(Tree(tree: new PickleTuple(new PickleTuple(IOBucketRef(2), 10L, IOBucketRef(2)), IOBucketRef(2))), "V310");
    }

    /// <summary>A ZBigFile (blksize 16) at 1 with blktab 2 {0: ZBlk0 3, 1: ZBlk1 4}, chunk table 5 {0: ZData 6, 8: ZData 7}.</summary>
    private static List<Finding> BigFile(PickleValue? fileState = null, PickleValue[]? blocks = null, PickleValue[]? chunks = null,
        byte[]? zblk0 = null, PickleValue? zblk1State = null, byte[]? zdata7 = null, string blktabClass = "LOBTree")
    {
        const string M = "wendelin.bigfile.file_zodb";
        using var db = new Db();
        db.Put(6, M, "ZData", new PickleBytes(new byte[8]));
        db.Put(7, M, "ZData", new PickleBytes(zdata7 ?? new byte[4]));
        PickleValue[] chunkItems = chunks ?? [0L, Ref(6, M, "ZData"), 8L, Ref(7, M, "ZData")];
        db.Put(5, "BTrees.IOBTree", "IOBTree", new PickleTuple(new PickleTuple(Bucket(null, chunkItems))));
        db.Put(4, M, "ZBlk1", zblk1State ?? Ref(5, "BTrees.IOBTree", "IOBTree"));
        db.Put(3, M, "ZBlk0", new PickleBytes(zblk0 ?? new byte[10]));
        PickleValue[] blockItems = blocks ?? [0L, Ref(3, M, "ZBlk0"), 1L, Ref(4, M, "ZBlk1")];
        string family = blktabClass[..2];
        db.Put(2, "BTrees." + family + "BTree", blktabClass, new PickleTuple(new PickleTuple(Bucket(null, blockItems))));
        db.Put(1, M, "ZBigFile", fileState ?? new PickleTuple(16L, Ref(2, "BTrees.LOBTree", "LOBTree")));
        db.Put(0, "tests", "Node", new PickleTuple(0L, new PickleList([Ref(1, M, "ZBigFile")])));
        return db.Verify();
    }

    [Fact]
    public void A_well_formed_ZBigFile_is_clean_and_each_ZBigFile_check_is_made()
    {
        const string M = "wendelin.bigfile.file_zodb";
        Assert.Empty(BigFile());
        AssertCodes(BigFile(fileState: new PickleTuple(0L, Ref(2, "BTrees.LOBTree", "LOBTree"))), "V400");
        AssertCodes(BigFile(blktabClass: "IOBTree"), "V401");
        AssertCodes(BigFile(blocks: [-1L, Ref(3, M, "ZBlk0"), 1L, Ref(4, M, "ZBlk1")]), "V402");
        AssertCodes(BigFile(blocks: [0L, Ref(0, "tests", "Node"), 1L, Ref(4, M, "ZBlk1")]), "V403");
        AssertCodes(BigFile(zblk0: new byte[20]), "V404");
        AssertCodes(BigFile(zblk1State: new PickleBytes(new byte[3])), "V405");
        AssertCodes(BigFile(chunks: [0L, Ref(6, M, "ZData"), 16L, Ref(7, M, "ZData")]), "V406");
        AssertCodes(BigFile(chunks: [0L, Ref(6, M, "ZData"), 4L, Ref(7, M, "ZData")]), "V407");
        AssertCodes(BigFile(chunks: [0L, Ref(6, M, "ZData"), 12L, Ref(7, M, "ZData")], zdata7: new byte[8]), "V408");
        AssertCodes(BigFile(chunks: [0L, Ref(6, M, "ZData"), 8L, Ref(3, M, "ZBlk0")]), "V409");
        AssertCodes(BigFile(zdata7: []), "V410");
        AssertCodes(BigFile(blocks: [0L, Ref(3, M, "ZBlk0"), 1L, Ref(3, M, "ZBlk0")]), "V411");
    }

    [Fact]
    public void Verification_reports_progress_and_can_be_cancelled()
    {
        var phases = new List<VerifyPhase>();
        var progress = new Collect(p => phases.Add(p.Phase));
        var verifier = new Verifier(Fixtures.Path("zbigarray-zblk1.fs"));
        Assert.Empty(verifier.Run(progress).ToList());
        Assert.Contains(VerifyPhase.Structure, phases);
        Assert.Contains(VerifyPhase.Objects, phases);
        Assert.True(verifier.Stats.Records > 100);

        using var cancel = new CancellationTokenSource();
        var stopper = new Collect(p =>
        {
            if (p.Done > 0)
            {
                cancel.Cancel();
            }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => new Verifier(Fixtures.Path("zbigarray-zblk1.fs")).Run(stopper, cancel.Token).ToList());
    }

    private sealed class Collect(Action<VerifyProgress> report) : IProgress<VerifyProgress>
    {
        public void Report(VerifyProgress value) => report(value);
    }
}
