using Wendelin.Storage.Fs;
using Wendelin.Storage.Pack;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pack;

/// <summary>
/// The streamed copies of phases C and D (spec/pack.md PK-C1, PK-D1) on a later region large enough for several copy
/// segments (copied by several workers at once) and with a transaction larger than a copy chunk.
/// </summary>
public sealed class PackCopyTests(ITestOutputHelper output)
{
    private static readonly PickleGlobal NodeClass = new("tests", "Node");

    /// <summary>A node <c>(value, [refs], padding)</c>: Graph's shape with a payload of <paramref name="size"/> bytes.</summary>
    private static byte[] Padded(long value, Oid[] refs, int size, Random random)
    {
        var list = new PickleList();
        foreach (Oid r in refs)
        {
            list.Add(PicklePersistentId.Strong(r, NodeClass));
        }
        byte[] padding = new byte[size];
        random.NextBytes(padding);
        return ZodbPickle.WriteRecord(NodeClass, new PickleTuple(value, list, new PickleBytes(padding)));
    }

    [Fact]
    public void A_later_region_of_several_segments_and_a_huge_transaction_reads_as_before_after_the_pack()
    {
        int seed = Seeds.Announce(output, "pack copy");
        var random = new Random(seed);
        using var dir = new TempDirectory("pack-copy");
        string path = dir.File("p.fs");
        string original = dir.File("original.fs");
        const int Objects = 8;
        var oids = new Oid[Objects];
        var laterTids = new List<Tid>();
        Tid packTid;
        using (var fs = Fs.FileStorage.Open(path))
        {
            for (int i = 0; i < Objects; i++)
            {
                oids[i] = fs.NewOid();
            }
            Oid u = fs.NewOid(); // changed once before the pack time, that change undone after it
            Graph.Commit(fs, "create", [(Oid.Root, Graph.Node(0, [.. oids, u])), (u, Graph.Node(1, [])), .. oids.Select(o => (o, Graph.Node(1, [])))]);
            for (int n = 0; n < 40; n++)
            {
                Graph.Commit(fs, "before", (oids[n % Objects], Padded(n, [], 4096, random)));
            }
            Graph.Commit(fs, "u=2", (u, Graph.Node(2, [])));
            string change = fs.UndoLog(0, 1)[0].Id;
            Oid gone = fs.NewOid(); // unreachable at the pack time: collected
            Graph.Commit(fs, "garbage", (gone, Graph.Node(9, [])));
            packTid = Graph.Commit(fs, "last before", (oids[0], Padded(-1, [oids[1]], 100, random)));
            // ~20 MiB after the pack time (three copy segments of 8 MiB), a transaction of 5 MiB (more than a copy
            // chunk) in the middle, and an undo whose backpointer points into the packed region.
            for (int n = 0; n < 400; n++)
            {
                int size = n == 200 ? 5 << 20 : random.Next(1, 96 << 10);
                Oid oid = oids[random.Next(Objects)];
                laterTids.Add(Graph.Commit(fs, "later", (oid, Padded(n, [oids[random.Next(Objects)]], size, random))));
                if (n == 300)
                {
                    StorageTransaction t = fs.TpcBegin(new TransactionMetadata("op", "undo u=2 after the pack time"));
                    fs.Undo(change, t); // u back to 1: a backpointer into the packed region
                    fs.TpcVote(t);
                    laterTids.Add(fs.TpcFinish(t));
                }
            }
            oids = [.. oids, u];
        }
        File.Copy(path, original);
        var before = new Dictionary<(Oid, Tid), byte[]?>();
        using (var fs = Fs.FileStorage.Open(original, new FileStorageOptions { ReadOnly = true, SaveIndex = false }))
        {
            foreach (Tid t in laterTids.Prepend(packTid))
            {
                foreach (Oid oid in oids.Prepend(Oid.Root))
                {
                    before[(oid, t)] = Graph.At(fs, oid, t);
                }
            }
        }
        using (var fs = Fs.FileStorage.Open(path))
        {
            PackResult r = fs.Pack(packTid);
            Assert.True(r.Packed);
            Assert.True(r.SizeAfter < r.SizeBefore);
            foreach (((Oid oid, Tid t), byte[]? data) in before)
            {
                Assert.Equal(data, Graph.At(fs, oid, t));
            }
        }
        VerifyAssert.Clean(path);
        using (var fs = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true, SaveIndex = false }))
        {
            foreach (((Oid oid, Tid t), byte[]? data) in before)
            {
                Assert.Equal(data, Graph.At(fs, oid, t)); // the index rebuilt from the file agrees with the pack's
            }
        }
    }
}
