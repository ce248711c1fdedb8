using Wendelin.Fuzz;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>The "pickle" fuzz target (fuzz/Wendelin.Fuzz/PickleTarget.cs) runs clean over its seed corpus and truncations of it.</summary>
public sealed class FuzzTargetTests(ITestOutputHelper output)
{
    [Fact]
    public void Fuzz_target_runs_clean_over_the_seed_corpus()
    {
        int seed = Seeds.Announce(output, nameof(Fuzz_target_runs_clean_over_the_seed_corpus));
        var rng = new Random(seed);
        int n = 0;
        foreach (string file in FsRecords.AllFiles)
        {
            foreach (FsRecords.Record r in FsRecords.Open(file).DataRecords.Where(r => r.Data.Length <= 1 << 16).Take(300))
            {
                PickleTarget.Run(r.Data.Span);
                PickleTarget.Run(r.Data.Span[..rng.Next(r.Data.Length)]);
                n++;
            }
        }
        PickleTarget.Run(Fixtures.Bytes("upstream-zblk/py3_pickle3/zblk.fs.index"));
        PickleTarget.Run([]);
        output.WriteLine($"{n} corpus records and their truncations");
        Assert.True(n > 600, $"{n} records");
    }
}
