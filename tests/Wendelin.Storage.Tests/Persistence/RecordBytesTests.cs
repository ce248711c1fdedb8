using Wendelin.Storage.Persistence;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>
/// Records are written exactly as ZODB writes them (spec/objects.md OB-11, OB-12): the root ZODB creates, and every
/// object of the fixtures written back after loading (registered classes, generic objects of unknown classes,
/// BTrees inline and with separate buckets) comes out byte for byte as Python wrote it.
/// </summary>
public sealed class RecordBytesTests(ITestOutputHelper output)
{
    /// <summary>filestorage-format §8.9: the annotated 64-byte root record.</summary>
    private static readonly byte[] RootRecord = Convert.FromHexString(
        "80036370657273697374656e742e6d617070696e670a50657273697374656e744d617070696e670a7100" +
        "2e80037d710158040000006461746171027d7103732e");

    [Fact]
    public void A_new_database_gets_zodbs_root_in_zodbs_first_transaction()
    {
        var storage = new MemoryStorage();
        using var db = new Database(storage);
        MemoryTransactionRecord t0 = Assert.Single(storage.Transactions);
        Assert.Equal("initial database creation", t0.Metadata.Description);
        Assert.Equal("", t0.Metadata.User);
        Assert.Equal(0, t0.Metadata.ExtensionBytes.Length);
        Assert.Equal([Oid.Root], t0.Oids);
        Assert.Equal(RootRecord, storage.Load(Oid.Root).Data.ToArray());
        // and it is the same record Python wrote in the fixture
        using Database fixture = FixtureLoadTests.OpenFixture("basic", new TypeRegistry());
        Tid firstTid = Tid.Parse("040d3e52fe5f78dd");
        Assert.Equal(RootRecord, fixture.Storage.LoadSerial(Oid.Root, firstTid).ToArray());
        // a second database over the same storage does not create it again
        using var again = new Database(storage, new DatabaseOptions { OwnsStorage = false });
        Assert.Single(storage.Transactions);
    }

    public static TheoryData<string> Files => new("basic.fs", "undo.fs", "packed.fs", "zbigarray-zblk0.fs", "zbigarray-zblk1.fs", "upstream-zblk/py3_pickle3/zblk.fs");

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_reachable_fixture_object_is_written_back_byte_for_byte(string file)
    {
        foreach (TypeRegistry types in new[] { Model.Registry(), new TypeRegistry() })
        {
            Fs.FileStorage fs = Fs.FileStorage.Open(Fixtures.Path(file), new Fs.FileStorageOptions { ReadOnly = true });
            using var db = new Database(fs, new DatabaseOptions { Types = types });
            using Connection conn = db.Open();
            var seen = new HashSet<Oid> { Oid.Root };
            var queue = new Queue<Oid>([Oid.Root]);
            int n = 0;
            while (queue.Count > 0)
            {
                Oid oid = queue.Dequeue();
                LoadResult current = fs.Load(oid);
                Persistent obj = conn.Get(oid);
                obj.Activate();
                byte[] ours = new ObjectWriter(conn, null, addNewObjects: false).Serialize(obj);
                Assert.True(current.Data.Span.SequenceEqual(ours),
                    $"{file} {oid} ({obj.GetType().Name}): written back differently\n python {Convert.ToHexString(current.Data.Span[..Math.Min(120, current.Data.Length)])}\n ours   {Convert.ToHexString(ours.AsSpan(0, Math.Min(120, ours.Length)))}");
                n++;
                foreach (Oid r in ZodbPickle.StrongReferences(current.Data))
                {
                    if (seen.Add(r))
                    {
                        queue.Enqueue(r);
                    }
                }
            }
            output.WriteLine($"{file}: {n} objects written back identically ({(types == TypeRegistry.Default ? "default" : "given")} registry)");
            Assert.True(n >= 3);
        }
    }
}
