using Wendelin.Arrays.Zodb;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;

namespace Wendelin.Arrays.Tests.Zodb;

/// <summary>
/// Arrays written here produce wendelin.core's records (spec/zbigfile.md ZB-1..ZB-5, ZB-10, ZB-31): replaying the
/// program behind the zbigarray fixtures — create A, fill it, change a slice, append, create and fill B — in each
/// format writes the same transactions with the same records, oids and order, byte for byte (tids aside).
/// </summary>
public sealed class RecordBytesTests
{
    [Theory]
    [InlineData("zbigarray-zblk0", ZBlkFormat.ZBlk0)]
    [InlineData("zbigarray-zblk1", ZBlkFormat.ZBlk1)]
    public void Replaying_the_fixture_scenario_writes_wendelin_cores_records(string fixture, ZBlkFormat format)
    {
        using var dir = new TempDirectory("zbig-replay");
        string path = dir.File("replay.fs");
        using (var db = new Database(FileStorage.Open(path, new FileStorageOptions { Create = true, Fsync = false })))
        {
            Replay(db, format);
        }
        List<(string User, string Description, List<(Oid Oid, byte[] Data)> Records)> expected = Transactions(Fixtures.Path(fixture + ".fs"));
        List<(string User, string Description, List<(Oid Oid, byte[] Data)> Records)> actual = Transactions(path);
        Assert.Equal(7, expected.Count);
        Assert.Equal(expected.Count, actual.Count);
        Assert.True(expected.Sum(t => t.Records.Count) >= (format == ZBlkFormat.ZBlk1 ? 2000 : 19));
        for (int t = 0; t < expected.Count; t++)
        {
            Assert.Equal(expected[t].User, actual[t].User);
            Assert.Equal(expected[t].Description, actual[t].Description);
            Assert.Equal(expected[t].Records.Select(r => r.Oid), actual[t].Records.Select(r => r.Oid));
            for (int r = 0; r < expected[t].Records.Count; r++)
            {
                Assert.True(expected[t].Records[r].Data.AsSpan().SequenceEqual(actual[t].Records[r].Data),
                    $"transaction {t} ({expected[t].Description}): record {r} of {expected[t].Records[r].Oid} differs");
            }
        }
    }

    /// <summary>The program that wrote the fixtures, as wendelin.core's users would write it.</summary>
    internal static void Replay(Database db, ZBlkFormat format)
    {
        Connection conn = db.Open();
        TransactionManager tm = conn.TransactionManager;
        void Commit(string description)
        {
            tm.Current.User = "fixturegen";
            tm.Current.Description = description;
            tm.Commit();
        }

        var a = new ZBigArray([1_000_000], DType.Float64) { BlockFormat = format };
        conn.Root["A"] = a;
        Commit("create A: 1-D float64 ZBigArray, 1000000 elements (no data yet)");

        var values = new double[1_000_000];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = i * 0.5;
        }
        a.CopyFrom<double>(values);
        Commit("fill A[i] = i * 0.5");

        a.Assign([Ix.Slice(1000, 1010)], -1.0);
        Commit("A[1000:1010] = -1");

        var tail = new double[100];
        for (int k = 0; k < tail.Length; k++)
        {
            tail[k] = (1_000_000 + k) * 0.5;
        }
        a.Append<double>(tail);
        Commit("A.append(100 elements: (1000000+k) * 0.5)");

        var b = new ZBigArray([300, 500], DType.Int32) { BlockFormat = format };
        conn.Root["B"] = b;
        Commit("create B: 2-D int32 ZBigArray (300, 500), C order");

        var bv = new int[300 * 500];
        for (int i = 0; i < 300; i++)
        {
            for (int j = 0; j < 500; j++)
            {
                bv[i * 500 + j] = i * 1000 + j;
            }
        }
        b.CopyFrom<int>(bv);
        Commit("fill B[i, j] = i*1000 + j");
        conn.Dispose();
    }

    internal static List<(string User, string Description, List<(Oid Oid, byte[] Data)> Records)> Transactions(string path)
    {
        using FileStorage fs = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        var list = new List<(string, string, List<(Oid, byte[])>)>();
        foreach (TransactionRecord t in fs.Iterator())
        {
            var records = new List<(Oid, byte[])>();
            foreach (DataRecord r in t.Records)
            {
                records.Add((r.Oid, r.ReadData()!.Value.ToArray()));
            }
            list.Add((t.UserText, t.DescriptionText, records));
        }
        return list;
    }
}
