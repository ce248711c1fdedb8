using Wendelin.Fuzz;
using Wendelin.Storage.Tests.Pickle;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>
/// The "objects" fuzz target (fuzz/Wendelin.Fuzz/ObjectsTarget.cs) over every fixture record and seeded mutations of
/// them: loading fails only with ObjectStateException, using a loaded object only with the storage family or a
/// BTree invariant error, and what loads is written back to the same state (spec/objects.md OB-6, OB-44).
/// </summary>
public sealed class ObjectsFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Fixture_records_and_their_mutations_load_or_fail_cleanly()
    {
        int seed = Seeds.Announce(output, nameof(Fixture_records_and_their_mutations_load_or_fail_cleanly));
        var rng = new Random(seed);
        int n = 0;
        foreach (string file in FsRecords.AllFiles)
        {
            foreach (FsRecords.Record r in FsRecords.Open(file).DataRecords.Where(r => r.Data.Length <= 1 << 14).Take(120))
            {
                byte[] data = r.Data.ToArray();
                ObjectsTarget.Run(data);
                for (int m = 0; m < 12; m++)
                {
                    ObjectsTarget.Run(Mutate(data, rng));
                    n++;
                }
            }
        }
        ObjectsTarget.Run([]);
        output.WriteLine($"{n} mutated records");
        Assert.True(n > 2000, $"{n} mutations");
    }

    private static byte[] Mutate(byte[] data, Random rng)
    {
        byte[] d = (byte[])data.Clone();
        switch (rng.Next(4))
        {
            case 0:
                for (int k = rng.Next(1, 4); k > 0 && d.Length > 0; k--)
                {
                    d[rng.Next(d.Length)] ^= (byte)(1 << rng.Next(8));
                }
                return d;
            case 1:
                return d.AsSpan(0, rng.Next(d.Length + 1)).ToArray();
            case 2:
                {
                    // a byte of another opcode in a random place
                    int at = rng.Next(d.Length + 1);
                    byte[] ops = [0x29, 0x5d, 0x7d, 0x85, 0x86, 0x4e, 0x51, 0x68, 0x2e, 0x28, 0x74];
                    return [.. d.AsSpan(0, at), ops[rng.Next(ops.Length)], .. d.AsSpan(at)];
                }
            default:
                if (d.Length > 1)
                {
                    int a = rng.Next(d.Length), len = rng.Next(1, Math.Min(16, d.Length - a) + 1);
                    return [.. d.AsSpan(0, a), .. d.AsSpan(a + len)];
                }
                return d;
        }
    }
}
