using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>
/// spec/objects.md OB-33a: over a storage that takes records in parts (IPayloadStorage), the connection passes a
/// large bytes payload apart from the rest of its record; the storage receives exactly the record a plain storage
/// receives whole, and small records still go whole.
/// </summary>
public sealed class PayloadStoreConnectionTests
{
    /// <summary>A storage taking parts: each part store is recorded and assembled into a whole store of the inner storage.</summary>
    private sealed class PartsStorage(MemoryStorage inner, int threshold) : IStorage, IPayloadStorage
    {
        public List<(Oid Oid, int Head, int Payload, int Tail)> PartStores { get; } = [];

        public int DirectPayloadBytes => threshold;

        public void Store(StorageTransaction transaction, Oid oid, Tid serial, ReadOnlySpan<byte> head, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> tail)
        {
            PartStores.Add((oid, head.Length, payload.Length, tail.Length));
            inner.Store(transaction, oid, serial, (byte[])[.. head, .. payload, .. tail]);
        }

        public string Name => inner.Name;

        public bool IsReadOnly => inner.IsReadOnly;

        public Tid LastTransaction => inner.LastTransaction;

        public long ObjectCount => inner.ObjectCount;

        public long Size => inner.Size;

        public LoadResult Load(Oid oid) => inner.Load(oid);

        public LoadBeforeResult? LoadBefore(Oid oid, Tid before) => inner.LoadBefore(oid, before);

        public ReadOnlyMemory<byte> LoadSerial(Oid oid, Tid serial) => inner.LoadSerial(oid, serial);

        public Oid NewOid() => inner.NewOid();

        public StorageTransaction TpcBegin(TransactionMetadata metadata) => inner.TpcBegin(metadata);

        public void Store(StorageTransaction transaction, Oid oid, Tid serial, ReadOnlyMemory<byte> data) => inner.Store(transaction, oid, serial, data);

        public void CheckCurrentSerial(StorageTransaction transaction, Oid oid, Tid serial) => inner.CheckCurrentSerial(transaction, oid, serial);

        public void TpcVote(StorageTransaction transaction) => inner.TpcVote(transaction);

        public Tid TpcFinish(StorageTransaction transaction, Action<Tid, IReadOnlyList<Oid>>? onCommitted = null) => inner.TpcFinish(transaction, onCommitted);

        public void TpcAbort(StorageTransaction transaction) => inner.TpcAbort(transaction);

        public event Action<Tid, IReadOnlyList<Oid>>? Committed
        {
            add => inner.Committed += value;
            remove => inner.Committed -= value;
        }

        public void Dispose() => inner.Dispose();
    }

    private static Dictionary<Oid, byte[]> Commit(IStorage storage, byte[] big, byte[] small)
    {
        using var db = new Database(storage, new DatabaseOptions { Types = Model.Registry(), OwnsStorage = false });
        using Connection conn = db.Open();
        var a = new Item("a");
        a["payload"] = big;
        var b = new Item("b");
        b["payload"] = small;
        conn.Root["a"] = a;
        conn.Root["b"] = b;
        conn.TransactionManager.Commit();
        Oid[] oids = [Oid.Root, a.PersistentOid!.Value, b.PersistentOid!.Value];
        return oids.ToDictionary(o => o, o => storage.Load(o).Data.ToArray());
    }

    [Fact]
    public void A_large_payload_goes_apart_and_the_storage_gets_the_whole_record_a_plain_storage_gets()
    {
        var random = new Random(7);
        byte[] big = new byte[5000];
        random.NextBytes(big);
        byte[] small = new byte[100];
        random.NextBytes(small);
        using var plain = new MemoryStorage();
        using var parts = new PartsStorage(new MemoryStorage(), threshold: 4096);
        Dictionary<Oid, byte[]> expected = Commit(plain, big, small);
        Dictionary<Oid, byte[]> actual = Commit(parts, big, small);
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (Oid oid in expected.Keys)
        {
            Assert.Equal(expected[oid], actual[oid]);
        }
        (Oid stored, int head, int payload, int tail) = Assert.Single(parts.PartStores);
        Assert.Equal(expected.Keys.ElementAt(1), stored);
        Assert.Equal(big.Length, payload);
        Assert.Equal(expected[stored].Length, head + payload + tail);
    }
}
