using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;
using Wendelin.Storage.Pack;
using Wendelin.Storage.Tests.FileStorage;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pack;

/// <summary>Packing a storage that is open and being committed to (spec/pack.md PK-D2, PK-D3, PK-S5).</summary>
public sealed class OnlinePackTests(ITestOutputHelper output)
{
    /// <summary>root → a → b; then a drops b (b unreachable); returns the storage with the tids.</summary>
    private static (Tid Unlinked, Oid A, Oid B) Unreachable(Fs.FileStorage fs)
    {
        Oid a = fs.NewOid();
        Oid b = fs.NewOid();
        Graph.Commit(fs, "create", (Oid.Root, Graph.Node(0, [a])), (a, Graph.Node(1, [b])), (b, Graph.Node(2, [])));
        Tid unlinked = Graph.Commit(fs, "unlink b", (a, Graph.Node(1, [])));
        return (unlinked, a, b);
    }

    [Fact]
    public void An_object_unreachable_at_the_pack_time_but_referenced_later_is_kept() // PK-G1 (ZODB drops it)
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        (Tid packTid, Oid a, Oid b) = Unreachable(fs);
        Graph.Commit(fs, "link b again", (a, Graph.Node(1, [b]))); // e.g. a connection that still held b
        PackResult r = fs.Pack(packTid);
        Assert.True(r.Packed);
        Assert.Equal(1, r.KeptForLaterReferences);
        Assert.Equal(Graph.Node(2, []), fs.Load(b).Data.ToArray());
    }

    [Fact]
    public void An_undo_after_the_pack_time_keeps_the_revision_it_restores_and_the_history_exact() // PK-G3
    {
        using var dir = new TempDirectory("pack-pin");
        string path = dir.File("p.fs");
        string original = dir.File("original.fs");
        Oid x;
        Tid packTid;
        using (var fs = Fs.FileStorage.Open(path))
        {
            x = fs.NewOid();
            Graph.Commit(fs, "create", (Oid.Root, Graph.Node(0, [x])), (x, Graph.Node(1, [])));
            Graph.Commit(fs, "x=2", (x, Graph.Node(2, [])));
            string change = fs.UndoLog(0, 1)[0].Id;
            packTid = Graph.Commit(fs, "unlink x", (Oid.Root, Graph.Node(0, [])));
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata("op", "undo x=2 after the pack time"));
            fs.Undo(change, t); // x back to 1: a backpointer into the packed region
            fs.TpcVote(t);
            fs.TpcFinish(t);
        }
        File.Copy(path, original);
        using (var fs = Fs.FileStorage.Open(path))
        {
            Assert.True(fs.Pack(packTid).Packed);
            Assert.Equal(Graph.Node(1, []), fs.Load(x).Data.ToArray());
            Assert.Equal(Graph.Node(2, []), Graph.At(fs, x, packTid)); // the pack-time revision stays
        }
        VerifyAssert.Clean(path);
    }

    [Fact]
    public void A_second_pack_while_one_runs_is_refused_and_undo_goes_on_meanwhile()
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        (Tid packTid, Oid a, _) = Unreachable(fs);
        PackException? second = null;
        int undoLog = -1;
        PackResult r = fs.Pack(packTid, new PackOptions
        {
            AfterGc = () =>
            {
                second = Assert.Throws<PackException>(() => fs.Pack(packTid));
                undoLog = fs.UndoLog().Count;
            },
        });
        Assert.True(r.Packed);
        Assert.Contains("Already packing", second!.Message, StringComparison.Ordinal);
        Assert.Equal(2, undoLog);
        Assert.Empty(fs.UndoLog()); // everything is packed now
        Assert.False(fs.Pack(packTid).Packed); // and a later pack runs again
        _ = a;
    }

    [Fact]
    public void A_commit_during_the_pack_is_copied_into_the_packed_file() // PK-D2
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        (Tid packTid, Oid a, _) = Unreachable(fs);
        Tid during = Tid.Zero;
        PackResult r = fs.Pack(packTid, new PackOptions { AfterGc = () => during = Graph.Commit(fs, "during", (a, Graph.Node(7, []))) });
        Assert.True(r.Packed);
        Assert.Equal(0, r.Restarts);
        Assert.Equal(1, r.CommittedDuringPack);
        Assert.Equal(during, fs.LastTransaction);
        Assert.Equal(during, fs.Iterator().Last().Tid);
        Assert.Equal(Graph.Node(7, []), fs.Load(a).Data.ToArray());
    }

    [Fact]
    public void A_commit_during_the_pack_that_references_a_collected_object_makes_the_pack_start_over() // PK-D3
    {
        using var fs = Fs.FileStorage.OpenInMemory();
        (Tid packTid, Oid a, Oid b) = Unreachable(fs);
        int calls = 0;
        PackResult r = fs.Pack(packTid, new PackOptions
        {
            AfterGc = () =>
            {
                if (calls++ == 0)
                {
                    Graph.Commit(fs, "relink during the pack", (a, Graph.Node(1, [b])));
                }
            },
        });
        Assert.True(r.Packed);
        Assert.Equal(1, r.Restarts);
        Assert.Equal(2, calls);
        Assert.Equal(Graph.Node(2, []), fs.Load(b).Data.ToArray()); // kept: the second attempt saw the reference
    }

    [Fact]
    public void Commits_and_loads_on_other_threads_go_on_through_the_pack() // PK-D2, PK-S5
    {
        int seed = Seeds.Announce(output, "online pack");
        using var dir = new TempDirectory("online-pack");
        string path = dir.File("o.fs");
        using var fs = Fs.FileStorage.Open(path, new FileStorageOptions { Fsync = false });
        var oids = new List<Oid>();
        for (int i = 0; i < 20; i++)
        {
            oids.Add(fs.NewOid());
        }
        Graph.Commit(fs, "root", [(Oid.Root, Graph.Node(0, oids)), .. oids.Select(o => (o, Graph.Node(0, [])))]);
        for (int i = 1; i <= 300; i++)
        {
            Graph.Commit(fs, "history", (oids[i % oids.Count], Graph.Node(i, [])));
        }
        Tid packTid = fs.LastTransaction;
        var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<Oid, long>();
        using var stop = new CancellationTokenSource();
        Exception? failure = null;
        var writer = new Thread(() =>
        {
            try
            {
                var random = new Random(seed);
                for (long v = 1000; !stop.IsCancellationRequested; v++)
                {
                    Oid o = oids[random.Next(oids.Count)];
                    Graph.Commit(fs, "concurrent", (o, Graph.Node(v, [])));
                    acknowledged[o] = v;
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        var reader = new Thread(() =>
        {
            try
            {
                var random = new Random(seed + 1);
                while (!stop.IsCancellationRequested)
                {
                    Oid o = oids[random.Next(oids.Count)];
                    (long value, _) = Graph.Read(fs.Load(o).Data);
                    Assert.True(value >= 0);
                    _ = fs.LoadBefore(o, packTid);
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        writer.Start();
        reader.Start();
        Thread.Sleep(20);
        PackResult r = fs.Pack(packTid, new PackOptions { BeforeSwap = () => Thread.Sleep(20) });
        Thread.Sleep(50);
        stop.Cancel();
        writer.Join();
        reader.Join();
        Assert.Null(failure);
        Assert.True(r.Packed);
        output.WriteLine($"{r.CommittedDuringPack} commits during the pack");
        foreach ((Oid o, long v) in acknowledged)
        {
            Assert.True(Graph.Read(fs.Load(o).Data).Value >= v);
        }
        fs.Dispose();
        VerifyAssert.Clean(path);
        using var reopened = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        foreach ((Oid o, long v) in acknowledged)
        {
            Assert.True(Graph.Read(reopened.Load(o).Data).Value >= v);
        }
    }

    [Fact]
    public void A_cancelled_pack_leaves_everything_as_it_was() // PK-S4, PK-S5
    {
        using var dir = new TempDirectory("pack-cancel");
        string path = Fixtures.CopyTo("basic.fs", dir);
        using var fs = Fs.FileStorage.Open(path);
        foreach (PackPhase phase in new[] { PackPhase.Scan, PackPhase.Reachability, PackPhase.CopyPacked, PackPhase.CopyRest })
        {
            using var cancel = new CancellationTokenSource();
            var progress = new SynchronousProgress(p =>
            {
                if (p.Phase == phase)
                {
                    cancel.Cancel();
                }
            });
            Assert.ThrowsAny<OperationCanceledException>(() => fs.Pack(Tid.Parse("040d3e5304dad522"), null, progress, cancel.Token));
            Assert.Equal(Fixtures.Bytes("basic.fs"), File.ReadAllBytes(path));
            Assert.False(File.Exists(path + ".pack"));
        }
        Assert.True(fs.Pack(Tid.Parse("040d3e5304dad522")).Packed); // and the storage can still pack
    }

    private sealed class SynchronousProgress(Action<PackProgress> report) : IProgress<PackProgress>
    {
        public void Report(PackProgress value) => report(value);
    }

    [Fact]
    public void An_io_failure_at_any_write_of_the_pack_leaves_the_data_file_as_it_was() // PK-S4, reference checklist 100
    {
        const string Name = "/mem/f.fs";
        byte[] original;
        {
            var fsys = new MemoryFileSystem();
            using var fs = Fs.FileStorage.Open(Name, new FileStorageOptions { Create = true }, fsys);
            PackPropertyTests.Build(fs, [new(0, 0, 1, 0), new(0, 1, 2, 0), new(1, 0, 0, 0), new(3, 1, 5, 0), new(0, 0, 3, 0)]);
            fs.Dispose();
            original = fsys.ReadAllBytes(Name)!;
        }
        for (int failAt = 1; ; failAt++)
        {
            var faulty = new FailingPackFileSystem(Name + ".pack", failAt);
            faulty.Inner.WriteAllBytes(Name, original);
            using var fs = Fs.FileStorage.Open(Name, new FileStorageOptions(), faulty);
            Tid packTid = fs.LastTransaction;
            try
            {
                fs.Pack(packTid);
            }
            catch (FileStorageException e)
            {
                Assert.Contains("the data file is unchanged", e.Message, StringComparison.Ordinal);
                Assert.Equal(original, faulty.Inner.ReadAllBytes(Name));
                Assert.False(faulty.Inner.FileExists(Name + ".pack"));
                Assert.NotNull(fs.Load(Oid.Root).Data.ToArray()); // the storage goes on
                continue;
            }
            Assert.True(failAt > 2, "the pack never wrote");
            Assert.True(faulty.Inner.ReadAllBytes(Name)!.Length < original.Length);
            break;
        }
    }

    /// <summary>A file system whose NAME.pack fails its Nth write, set-length or flush with an I/O error.</summary>
    private sealed class FailingPackFileSystem(string packPath, int failAt) : IStorageFileSystem
    {
        private int _calls;

        public MemoryFileSystem Inner { get; } = new();

        public IStorageFile Open(string path, StorageFileMode mode)
        {
            IStorageFile f = Inner.Open(path, mode);
            return path == packPath ? new Failing(f, this) : f;
        }

        public bool FileExists(string path) => Inner.FileExists(path);

        public bool DirectoryExists(string path) => false;

        public void Delete(string path) => Inner.Delete(path);

        public void Replace(string source, string destination) => Inner.Replace(source, destination);

        public IDisposable Lock(string lockPath) => Inner.Lock(lockPath);

        public void HardLink(string existing, string link) => Inner.HardLink(existing, link);

        private void Tick()
        {
            if (++_calls == failAt)
            {
                throw new IOException($"injected failure of write {failAt} (disk full)");
            }
        }

        private sealed class Failing(IStorageFile inner, FailingPackFileSystem owner) : IStorageFile
        {
            public string Path => inner.Path;

            public bool CanWrite => inner.CanWrite;

            public long Length => inner.Length;

            public int ReadAt(long position, Span<byte> buffer) => inner.ReadAt(position, buffer);

            public void WriteAt(long position, ReadOnlySpan<byte> data)
            {
                owner.Tick();
                inner.WriteAt(position, data);
            }

            public void SetLength(long length)
            {
                owner.Tick();
                inner.SetLength(length);
            }

            public void FlushDurable()
            {
                owner.Tick();
                inner.FlushDurable();
            }

            public void Dispose() => inner.Dispose();
        }
    }
}
