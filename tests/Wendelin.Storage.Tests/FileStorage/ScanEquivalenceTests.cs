using System.Buffers.Binary;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// The batched readers (the forward iterator reading whole records into fresh chunks, the backward one reading whole
/// transactions, the opening scan merging records in batches) against a plain record-by-record walk of the file's
/// bytes, on the fixtures and on random files whose records straddle and exceed the read chunks; and damage found at
/// the same position and check by the batched iterator and by a transaction-by-transaction validation.
/// </summary>
public sealed class ScanEquivalenceTests(ITestOutputHelper output)
{
    private const string DataPath = "/scan/data.fs";

    private sealed record Rec(ulong Oid, ulong Tid, long Position, long Prev, long Tloc, ulong Plen, long? Back, byte[]? Data);

    private sealed record Txn(ulong Tid, long Position, ulong Length, byte Status, byte[] Meta, List<Rec> Records);

    /// <summary>The committed transactions of <paramref name="file"/> up to <paramref name="end"/>, header by header, record by record.</summary>
    private static List<Txn> Walk(byte[] file, long end)
    {
        var result = new List<Txn>();
        var payloadAt = new Dictionary<long, byte[]?>();
        for (long pos = 4; pos < end;)
        {
            ReadOnlySpan<byte> h = file.AsSpan((int)pos);
            ulong tid = BinaryPrimitives.ReadUInt64BigEndian(h);
            ulong tlen = BinaryPrimitives.ReadUInt64BigEndian(h[8..]);
            byte status = h[16];
            int hlen = 23 + BinaryPrimitives.ReadUInt16BigEndian(h[17..]) + BinaryPrimitives.ReadUInt16BigEndian(h[19..]) + BinaryPrimitives.ReadUInt16BigEndian(h[21..]);
            var txn = new Txn(tid, pos, tlen, status, h[23..hlen].ToArray(), []);
            for (long rp = pos + hlen; rp < pos + (long)tlen && status != (byte)'u';)
            {
                ReadOnlySpan<byte> d = file.AsSpan((int)rp);
                ulong plen = BinaryPrimitives.ReadUInt64BigEndian(d[34..]);
                long? back = plen == 0 ? (long)BinaryPrimitives.ReadUInt64BigEndian(d[42..]) : null;
                byte[]? data = plen == 0 ? (back == 0 ? null : payloadAt[back!.Value]) : d.Slice(42, (int)plen).ToArray();
                payloadAt[rp] = data;
                txn.Records.Add(new Rec(BinaryPrimitives.ReadUInt64BigEndian(d), BinaryPrimitives.ReadUInt64BigEndian(d[8..]),
                    rp, (long)BinaryPrimitives.ReadUInt64BigEndian(d[16..]), (long)BinaryPrimitives.ReadUInt64BigEndian(d[24..]), plen, back, data));
                rp += 42 + (plen == 0 ? 8 : (long)plen);
            }
            if (status != (byte)'u')
            {
                result.Add(txn);
            }
            pos += (long)tlen + 8;
        }
        return result;
    }

    private static void AssertSame(List<Txn> expected, IEnumerable<TransactionRecord> actual)
    {
        TransactionRecord[] got = [.. actual];
        Assert.Equal(expected.Count, got.Length);
        for (int i = 0; i < got.Length; i++)
        {
            Txn e = expected[i];
            TransactionRecord t = got[i];
            Assert.Equal((e.Tid, e.Position, e.Length, e.Status), (t.Tid.Value, t.Position, t.Length, (byte)t.Status));
            Assert.Equal(e.Meta, (byte[])[.. t.User.ToArray(), .. t.Description.ToArray(), .. t.ExtensionBytes.ToArray()]);
            Assert.Equal(e.Records.Count, t.Records.Count);
            for (int k = 0; k < e.Records.Count; k++)
            {
                Rec r = e.Records[k];
                DataRecord d = t.Records[k];
                Assert.Equal((r.Oid, r.Tid, r.Position, r.Prev, r.Tloc, r.Plen, r.Back), (d.Oid.Value, d.Tid.Value, d.Position, d.Prev, d.Tloc, d.DataLength, d.BackPointer));
                ReadOnlyMemory<byte>? data = d.ReadData();
                Assert.Equal(r.Data is null, data is null);
                if (r.Data is not null)
                {
                    Assert.True(data!.Value.Span.SequenceEqual(r.Data), $"data of record at {r.Position}");
                }
            }
        }
    }

    public static TheoryData<string> Fixture =>
    [
        "basic.fs", "undo.fs", "packed.fs", "zbigarray-zblk0.fs", "zbigarray-zblk1.fs",
        "upstream-zblk/py2_pickle1/zblk.fs", "upstream-zblk/py3_pickle3/zblk.fs",
    ];

    [Theory]
    [MemberData(nameof(Fixture))]
    public void Batched_iteration_equals_a_record_by_record_walk_of_the_fixture(string fixture)
    {
        byte[] bytes = Fixtures.Bytes(fixture);
        var mem = new MemoryFileSystem();
        mem.WriteAllBytes(DataPath, bytes);
        using var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions { ReadOnly = true }, mem);
        List<Txn> expected = Walk(bytes, fs.Size);
        AssertSame(expected, fs.Iterator());
        AssertSame([.. Enumerable.Reverse(expected)], fs.IterateBackward());
        Assert.True(fs.CopyIndex().ContentEquals(fs.RebuildIndex()));
    }

    /// <summary>A random file: payloads from 1 byte to past the 80 KiB read chunk, deletions, up to 300 transactions.</summary>
    private static byte[] RandomFile(Random rng, bool huge, int maxTransactions = 300)
    {
        var mem = new MemoryFileSystem();
        var serials = new Dictionary<ulong, Tid>();
        using (var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions { SaveIndex = false }, mem))
        {
            int txns = rng.Next(1, maxTransactions);
            for (int i = 0; i < txns; i++)
            {
                StorageTransaction t = fs.TpcBegin(new TransactionMetadata(new string('u', rng.Next(0, 40)), new string('d', rng.Next(0, 3000))));
                int n = rng.Next(0, 12);
                var stored = new Dictionary<ulong, bool>();
                for (int k = 0; k < n; k++)
                {
                    ulong oid = (ulong)rng.Next(0, 40);
                    Tid serial = serials.GetValueOrDefault(oid, Tid.Zero);
                    if (serials.ContainsKey(oid) && !stored.ContainsKey(oid) && rng.Next(10) == 0)
                    {
                        fs.DeleteObject(t, new Oid(oid), serial);
                        stored[oid] = true;
                        continue;
                    }
                    int size = rng.Next(4) switch
                    {
                        0 => rng.Next(1, 20),
                        1 => rng.Next(20, 5000),
                        2 => rng.Next(70_000, 90_000),
                        _ => rng.Next(1, 200_000),
                    };
                    byte[] data = new byte[size];
                    rng.NextBytes(data);
                    fs.Store(t, new Oid(oid), serial, data);
                    stored[oid] = true;
                }
                if (huge && i == txns / 2)
                {
                    byte[] big = new byte[FileWindow.WholeRecordLimit + 1000]; // read on demand, not through the window
                    rng.NextBytes(big);
                    fs.Store(t, new Oid(1000), serials.GetValueOrDefault(1000UL, Tid.Zero), big);
                    stored[1000] = true;
                }
                fs.TpcVote(t);
                Tid tid = fs.TpcFinish(t);
                foreach (ulong oid in stored.Keys)
                {
                    serials[oid] = tid;
                }
            }
        }
        return mem.ReadAllBytes(DataPath)!;
    }

    [Fact]
    public void Batched_iteration_equals_a_record_by_record_walk_of_random_files()
    {
        int seed = Seeds.Announce(output, nameof(Batched_iteration_equals_a_record_by_record_walk_of_random_files));
        var rng = new Random(seed);
        for (int round = 0; round < 12; round++)
        {
            byte[] bytes = RandomFile(rng, huge: round == 0);
            var mem = new MemoryFileSystem();
            mem.WriteAllBytes(DataPath, bytes);
            using var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions { ReadOnly = true }, mem);
            Assert.Equal(bytes.Length, fs.Size);
            List<Txn> expected = Walk(bytes, fs.Size);
            AssertSame(expected, fs.Iterator());
            AssertSame([.. Enumerable.Reverse(expected)], fs.IterateBackward());
            if (expected.Count > 2)
            {
                Tid from = expected[expected.Count / 2].Tid is var t ? new Tid(t) : default;
                AssertSame(expected[(expected.Count / 2)..], fs.Iterator(from));
            }
            Assert.True(fs.CopyIndex().ContentEquals(fs.RebuildIndex()));
            foreach (Txn txn in expected)
            {
                foreach (Rec r in txn.Records)
                {
                    Assert.True(fs.CopyIndex().TryGet(new Oid(r.Oid), out _));
                }
            }
        }
    }

    [Fact]
    public void Damage_is_reported_by_the_batched_iterator_where_validation_finds_it()
    {
        int seed = Seeds.Announce(output, nameof(Damage_is_reported_by_the_batched_iterator_where_validation_finds_it));
        var rng = new Random(seed);
        int damaged = 0;
        for (int round = 0; round < 80; round++)
        {
            byte[] bytes = RandomFile(rng, huge: false, maxTransactions: 40);
            var mem = new MemoryFileSystem();
            mem.WriteAllBytes(DataPath, bytes);
            using var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions { ReadOnly = true }, mem);
            // Damage the committed bytes under the open storage (as a failing disk would), then read them again.
            byte[] bad = (byte[])bytes.Clone();
            // Half of the mutations hit a transaction or record header (where the checks look), half anywhere.
            List<Txn> txns = Walk(bytes, fs.Size);
            Txn victim = txns[rng.Next(txns.Count)];
            long headerAt = victim.Records.Count > 0 && rng.Next(2) == 0
                ? victim.Records[rng.Next(victim.Records.Count)].Position + rng.Next(50)
                : victim.Position + rng.Next(23);
            int at = rng.Next(2) == 0 ? (int)headerAt : rng.Next(4, bad.Length);
            bad[at] ^= (byte)(1 << rng.Next(8));
            if (rng.Next(2) == 0)
            {
                bad[at] = 0xFF;
            }
            using (IStorageFile f = mem.Open(DataPath, StorageFileMode.ReadWrite))
            {
                f.WriteAt(0, bad);
            }
            FormatError? expected = null;
            using (IStorageFile f = mem.Open(DataPath, StorageFileMode.ReadOnly))
            using (var window = new FileWindow(f, fs.Size))
            {
                for (long pos = 4; pos < fs.Size;)
                {
                    expected = TxnScanner.Validate(window, pos, out TxnHeader h, null);
                    if (expected is null && !h.IsFinished)
                    {
                        expected = new FormatError(RecordKind.TransactionHeader, pos, "status", "");
                    }
                    if (expected is not null)
                    {
                        break;
                    }
                    pos = h.NextPosition(pos);
                }
            }
            if (expected is FormatError e)
            {
                damaged++;
                CorruptRecordException x = Assert.Throws<CorruptRecordException>(() =>
                {
                    foreach (TransactionRecord t in fs.Iterator())
                    {
                        foreach (DataRecord r in t.Records)
                        {
                            r.ReadData();
                        }
                    }
                });
                Assert.Equal((e.Position, e.Kind, e.Check), (x.Position, x.Kind, x.Check));
            }
            else
            {
                List<Txn>? walked = null;
                try
                {
                    walked = Walk(bad, fs.Size);
                }
                catch (KeyNotFoundException)
                {
                    // a backpointer now points back at no record: valid as a position (FS-5.1), caught when followed
                }
                if (walked is null)
                {
                    Assert.Throws<CorruptRecordException>(() =>
                    {
                        foreach (TransactionRecord t in fs.Iterator())
                        {
                            foreach (DataRecord r in t.Records)
                            {
                                r.ReadData();
                            }
                        }
                    });
                }
                else
                {
                    AssertSame(walked, fs.Iterator()); // only payload bytes changed: read as they are now
                }
            }
        }
        Assert.True(damaged > 10, $"only {damaged} of 80 mutations damaged a header");
    }
}
