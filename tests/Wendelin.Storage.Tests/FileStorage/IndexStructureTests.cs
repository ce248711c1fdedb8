using System.Buffers.Binary;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// The index's two layers (FS-I1): the hash table of new entries and the packed entries of a loaded NAME.index,
/// each against a plain dictionary, with dense, strided and scattered oids.
/// </summary>
public sealed class IndexStructureTests(ITestOutputHelper output)
{
    private static ulong NextOid(Random rng, int pattern, int i) => pattern switch
    {
        0 => (ulong)rng.Next(0, 5000), // dense, as ZODB allocates
        1 => (ulong)rng.Next(0, 4000) << 3, // every 8th: one place in each hash group
        2 => (ulong)rng.Next(0, 3000) << 16, // one per index prefix
        3 => (ulong)rng.NextInt64() | ((ulong)rng.Next(2) << 63), // anywhere in 64 bits
        _ => (ulong)i * 1024, // a large stride
    };

    [Fact]
    public void Hash_table_agrees_with_a_dictionary_for_every_oid_pattern()
    {
        int seed = Seeds.Announce(output, nameof(Hash_table_agrees_with_a_dictionary_for_every_oid_pattern));
        var rng = new Random(seed);
        for (int pattern = 0; pattern < 5; pattern++)
        {
            var table = new OidTable(rng.Next(0, 100));
            var model = new Dictionary<ulong, ulong>();
            var batch = new List<IndexEntry>();
            for (int i = 0; i < 30_000; i++)
            {
                ulong oid = NextOid(rng, pattern, i);
                long pos = rng.NextInt64(27, long.MaxValue);
                if (rng.Next(3) == 0)
                {
                    batch.Add(new IndexEntry(oid, pos));
                    if (batch.Count >= rng.Next(1, 700))
                    {
                        bool[] added = new bool[batch.Count];
                        table.SetMany(batch.ToArray(), added);
                        for (int k = 0; k < batch.Count; k++)
                        {
                            Assert.Equal(!model.ContainsKey(batch[k].Oid), added[k]);
                            model[batch[k].Oid] = (ulong)batch[k].Position;
                        }
                        batch.Clear();
                    }
                }
                else
                {
                    Assert.Equal(!model.ContainsKey(oid), table.Set(oid, (ulong)pos));
                    model[oid] = (ulong)pos;
                }
                if (i % 97 == 0)
                {
                    ulong probe = rng.Next(2) == 0 ? NextOid(rng, pattern, i) : oid;
                    Assert.Equal(model.TryGetValue(probe, out ulong want), table.TryGet(probe, out ulong got));
                    Assert.Equal(want, got);
                }
            }
            Assert.Equal(model.Count, table.Count);
            foreach ((ulong oid, ulong value) in model)
            {
                Assert.True(table.TryGet(oid, out ulong v));
                Assert.Equal(value, v);
            }
            ulong[] oids = new ulong[table.Count];
            long[] values = new long[table.Count];
            table.CopyTo(oids, values);
            Assert.Equal(model.Keys.Order(), oids.Order());
        }
    }

    [Fact]
    public void Hash_table_refuses_the_empty_slot_marker_and_index_refuses_position_zero()
    {
        var table = new OidTable();
        Assert.Throws<ArgumentOutOfRangeException>(() => table.Set(1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.SetMany([new IndexEntry(1, -5)], new bool[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FsIndex().Set(new Oid(1), 0));
    }

    [Fact]
    public void Serials_are_known_only_as_long_as_the_position_they_came_with() // FS-C3
    {
        var index = new FsIndex();
        index.Set(new Oid(1), 100, new Tid(5));
        index.Set(new Oid(2), 200, new Tid(6));
        index.SetMany([new IndexEntry(3, 300)]);
        Assert.True(index.TryGet(new Oid(1), out long p, out Tid s));
        Assert.Equal((100L, new Tid(5)), (p, s));
        Assert.True(index.TryGet(new Oid(3), out p, out s));
        Assert.Equal((300L, Tid.Zero), (p, s)); // a scanned record: serial unknown
        index.Set(new Oid(1), 150); // moved without a tid: the old serial must not be reported
        Assert.True(index.TryGet(new Oid(1), out p, out s));
        Assert.Equal((150L, Tid.Zero), (p, s));
        index.SetMany([new IndexEntry(2, 250)]);
        Assert.True(index.TryGet(new Oid(2), out p, out s));
        Assert.Equal((250L, Tid.Zero), (p, s));
        index.Set(new Oid(2), 260, new Tid(9));
        Assert.True(index.TryGet(new Oid(2), out p, out s));
        Assert.Equal((260L, new Tid(9)), (p, s));
        Assert.Equal(3, index.Count);
    }

    /// <summary>The (prefix, bucket) pairs of NAME.index for sorted entries, as FS-I2 lays them out.</summary>
    private static List<(ReadOnlyMemory<byte>, ReadOnlyMemory<byte>)> Parts(SortedDictionary<ulong, long> entries)
    {
        var parts = new List<(ReadOnlyMemory<byte>, ReadOnlyMemory<byte>)>();
        foreach (IGrouping<ulong, KeyValuePair<ulong, long>> g in entries.GroupBy(kv => kv.Key >> 16))
        {
            KeyValuePair<ulong, long>[] items = [.. g];
            byte[] prefix = new byte[6];
            BinaryPrimitives.WriteUInt16BigEndian(prefix, (ushort)(g.Key >> 32));
            BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(2), (uint)g.Key);
            byte[] bucket = new byte[items.Length * 8];
            for (int i = 0; i < items.Length; i++)
            {
                BinaryPrimitives.WriteUInt16BigEndian(bucket.AsSpan(i * 2), (ushort)items[i].Key);
                long p = items[i].Value;
                BinaryPrimitives.WriteUInt16BigEndian(bucket.AsSpan((items.Length * 2) + (i * 6)), (ushort)(p >> 32));
                BinaryPrimitives.WriteUInt32BigEndian(bucket.AsSpan((items.Length * 2) + (i * 6) + 2), (uint)p);
            }
            parts.Add((prefix, bucket));
        }
        return parts;
    }

    [Fact]
    public void Loaded_entries_with_newer_ones_on_top_agree_with_a_dictionary()
    {
        int seed = Seeds.Announce(output, nameof(Loaded_entries_with_newer_ones_on_top_agree_with_a_dictionary));
        var rng = new Random(seed);
        for (int pattern = 0; pattern < 5; pattern++)
        {
            var loaded = new SortedDictionary<ulong, long>();
            int n = rng.Next(1, 20_000);
            for (int i = 0; i < n; i++)
            {
                loaded[NextOid(rng, pattern, i) & 0x0000_FFFF_FFFF_FFFF] = rng.NextInt64(27, 1L << 40);
            }
            if (pattern == 0)
            {
                for (ulong oid = 70_000; oid < 70_000 + 65_536; oid++)
                {
                    loaded[oid] = 1000 + (long)oid; // whole buckets of consecutive suffixes (direct lookup)
                }
            }
            PackedIndex packed = PackedIndex.Build(Parts(loaded), 1L << 40, out string? error)
                ?? throw new InvalidOperationException(error);
            var index = new FsIndex(packed);
            Assert.Equal(loaded.Count, index.Count);
            Assert.Equal(loaded.Keys.Max(), index.MaxOid.Value);
            var model = new Dictionary<ulong, long>(loaded);
            ulong[] loadedOids = [.. loaded.Keys];
            for (int i = 0; i < 5000; i++)
            {
                ulong oid = rng.Next(3) == 0 ? loadedOids[rng.Next(loadedOids.Length)] : NextOid(rng, pattern, i);
                long pos = rng.NextInt64(27, 1L << 50);
                index.Set(new Oid(oid), pos, new Tid(7));
                model[oid] = pos;
                if (i % 50 == 0)
                {
                    ulong probe = NextOid(rng, pattern, i);
                    Assert.Equal(model.TryGetValue(probe, out long want), index.TryGet(new Oid(probe), out long got));
                    Assert.Equal(want, got);
                }
            }
            Assert.Equal(model.Count, index.Count);
            Assert.Equal(model.Keys.Max(), index.MaxOid.Value);
            foreach ((ulong oid, long pos) in model)
            {
                Assert.True(index.TryGet(new Oid(oid), out long p, out Tid serial));
                Assert.Equal(pos, p);
                Assert.Equal(loaded.ContainsKey(oid) && loaded[oid] == pos ? Tid.Zero : new Tid(7), serial);
            }
            (ulong[] oids, long[] positions) = index.Sorted();
            Assert.Equal(model.Keys.Order(), oids);
            for (int i = 0; i < oids.Length; i++)
            {
                Assert.Equal(model[oids[i]], positions[i]);
            }
            Assert.Equal(oids, index.SortedOids());
            var rebuilt = new FsIndex();
            foreach ((ulong oid, long pos) in model)
            {
                rebuilt.Set(new Oid(oid), pos);
            }
            Assert.True(index.ContentEquals(rebuilt));
            Assert.True(rebuilt.ContentEquals(index));
            rebuilt.Set(new Oid(oids[0]), positions[0] + 1);
            Assert.False(index.ContentEquals(rebuilt));
        }
    }

    [Fact]
    public void Packed_entries_are_checked_before_they_are_trusted() // FS-I3, FS-I5
    {
        var good = new SortedDictionary<ulong, long> { [1] = 100, [2] = 200, [0x10001] = 300 };
        Assert.NotNull(PackedIndex.Build(Parts(good), 1000, out _));

        List<(ReadOnlyMemory<byte> Prefix, ReadOnlyMemory<byte> Bucket)> parts = Parts(good);
        Assert.Null(PackedIndex.Build([parts[1], parts[0]], 1000, out string? error)); // prefixes out of order
        Assert.Contains("does not follow", error, StringComparison.Ordinal);
        Assert.Null(PackedIndex.Build([parts[0], parts[0]], 1000, out _)); // a prefix twice

        byte[] swapped = parts[0].Bucket.ToArray();
        (swapped[0], swapped[1], swapped[2], swapped[3]) = (swapped[2], swapped[3], swapped[0], swapped[1]);
        Assert.Null(PackedIndex.Build([(parts[0].Prefix, swapped)], 1000, out error));
        Assert.Contains("not ascending", error, StringComparison.Ordinal);

        Assert.Null(PackedIndex.Build(Parts(good), 300, out error)); // a position at the saved end
        Assert.Contains("outside the data", error, StringComparison.Ordinal);
        Assert.Null(PackedIndex.Build(Parts(new SortedDictionary<ulong, long> { [5] = 26 }), 1000, out _));
        Assert.Null(PackedIndex.Build([(parts[0].Prefix, parts[0].Bucket[..7])], 1000, out _));
        Assert.Null(PackedIndex.Build([(parts[0].Prefix[..5], parts[0].Bucket)], 1000, out _));
        Assert.Null(PackedIndex.Build([(parts[0].Prefix, ReadOnlyMemory<byte>.Empty)], 1000, out _));
    }

    [Fact]
    public void An_index_file_with_unordered_suffixes_is_ignored_and_rebuilt() // FS-I5
    {
        var mem = new MemoryFileSystem();
        const string path = "/index/unordered.fs";
        using (var fs = Fs.FileStorage.Open(path, new FileStorageOptions(), mem))
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata());
            for (ulong i = 1; i <= 3; i++)
            {
                fs.Store(t, new Oid(i), Tid.Zero, new byte[50]);
            }
            fs.TpcVote(t);
            fs.TpcFinish(t);
        }
        byte[] index = mem.ReadAllBytes(path + ".index")!;
        // The one bucket holds suffixes 00 01, 00 02, 00 03: make them 00 02, 00 01, 00 03.
        int at = index.AsSpan().IndexOf(new byte[] { 0, 1, 0, 2, 0, 3 });
        Assert.True(at > 0);
        index[at + 1] = 2;
        index[at + 3] = 1;
        mem.WriteAllBytes(path + ".index", index);
        using var reopened = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }, mem);
        Assert.False(reopened.IndexLoaded);
        Assert.Contains(reopened.OpenLog, l => l.Contains("not ascending", StringComparison.Ordinal));
        Assert.Equal(3, reopened.ObjectCount);
        Assert.True(reopened.CopyIndex().ContentEquals(reopened.RebuildIndex()));
    }
}
