using System.Diagnostics;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Verify;

/// <summary>
/// Seeded mutation test of verify (style.md habits 4 and 9; the fuzz target <c>verify</c>): the fixtures with bit
/// flips, large values written over lengths and pointers, truncations, insertions and deletions. Verification turns
/// every one of them into findings: no exception may come out, and nothing may hang.
/// </summary>
public sealed class VerifyMutationTests(ITestOutputHelper output)
{
    public static TheoryData<string> Files => ["basic.fs", "undo.fs", "packed.fs", "upstream-zblk/py2_pickle1/zblk.fs", "upstream-zblk/py3_pickle3/zblk.fs"];

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Mutated_files_give_findings_never_exceptions(string fixture)
    {
        int seed = Seeds.Announce(output, $"verify mutations of {fixture}");
        var rng = new Random(seed);
        byte[] original = Fixtures.Bytes(fixture);
        var watch = Stopwatch.StartNew();
        int withFindings = 0;
        for (int i = 0; i < 200; i++)
        {
            (byte[] bytes, string what) = Mutate(original, rng);
            try
            {
                await Task.Run(() => Wendelin.Fuzz.VerifyTarget.Run(bytes)).WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (TimeoutException)
            {
                Assert.Fail($"mutation {i} ({what}) hangs verify");
            }
            catch (Exception e)
            {
                Assert.Fail($"mutation {i} ({what}): {e}");
            }
            var fsys = new IO.MemoryFileSystem();
            fsys.WriteAllBytes("/m.fs", bytes);
            if (new Storage.Verify.Verifier(() => fsys.Open("/m.fs", IO.StorageFileMode.ReadOnly)).Run().Any())
            {
                withFindings++;
            }
        }
        output.WriteLine($"{withFindings} of 200 mutations had findings, {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.True(withFindings > 0); // most bytes of the zblk files are block data, where a change is no finding
    }

    private static (byte[], string) Mutate(byte[] original, Random rng)
    {
        byte[] b = (byte[])original.Clone();
        int at = rng.Next(b.Length);
        switch (rng.Next(6))
        {
            case 0:
                b[at] ^= (byte)(1 << rng.Next(8));
                return (b, $"bit flip at {at}");
            case 1:
                int n = Math.Min(8, b.Length - at);
                rng.NextBytes(b.AsSpan(at, n));
                return (b, $"{n} random bytes at {at}");
            case 2:
                int m = Math.Min(8, b.Length - at);
                b.AsSpan(at, m).Fill(rng.Next(2) == 0 ? (byte)0xFF : (byte)0x7F);
                return (b, $"large value at {at}");
            case 3:
                return (b[..at], $"truncated at {at}");
            case 4:
                byte[] extra = new byte[rng.Next(1, 64)];
                rng.NextBytes(extra);
                return ([.. b[..at], .. extra, .. b[at..]], $"{extra.Length} bytes inserted at {at}");
            default:
                int d = Math.Min(rng.Next(1, 64), b.Length - at);
                return ([.. b[..at], .. b[(at + d)..]], $"{d} bytes deleted at {at}");
        }
    }
}
