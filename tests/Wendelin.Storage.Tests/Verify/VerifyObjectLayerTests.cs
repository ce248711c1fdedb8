using Wendelin.Storage.BTrees;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Verify;

/// <summary>Trees the object layer grows, splits and shrinks verify clean (no false alarm from V300-V310).</summary>
public sealed class VerifyObjectLayerTests(ITestOutputHelper output)
{
    [Fact]
    public void Trees_grown_split_and_shrunk_by_the_object_layer_verify_clean()
    {
        int seed = Seeds.Announce(output, "verify object layer");
        var random = new Random(seed);
        using var dir = new TempDirectory("verify-btrees");
        string path = dir.File("t.fs");
        using (var db = new Database(Fs.FileStorage.Open(path, new FileStorageOptions { Fsync = false })))
        using (Connection conn = db.Open())
        {
            var big = new LOBTree();
            var words = new OOBTree();
            var set = new IOTreeSet();
            conn.Root["big"] = big;
            conn.Root["words"] = words;
            conn.Root["set"] = set;
            for (long i = 0; i < 40_000; i++)
            {
                big[i * 3] = i;
            }
            for (int i = 0; i < 2_000; i++)
            {
                words[$"w{random.Next(100_000)}\U0001F600{i}"] = i;
                set.Add(random.Next());
            }
            conn.TransactionManager.Commit();
            for (long i = 0; i < 40_000; i += random.Next(1, 5))
            {
                big.Remove(i * 3);
            }
            for (long i = 5_000; i < 9_000; i++)
            {
                big.Remove(i * 3); // empties whole buckets: removed, chain relinked
            }
            conn.TransactionManager.Commit();
        }
        var verifier = new Wendelin.Storage.Verify.Verifier(path);
        var findings = verifier.Run().ToList();
        Assert.True(findings.Count == 0, string.Join("\n", findings));
        Assert.True(verifier.Stats.Objects > 100, $"{verifier.Stats.Objects} objects");
    }
}
