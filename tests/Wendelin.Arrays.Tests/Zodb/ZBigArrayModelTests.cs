using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests.Zodb;

/// <summary>
/// Property (2) of issue 5: random indexing, assignment, append and resize on a ZBigArray, with commits and
/// aborts, agree with a plain .NET model that follows upstream's semantics (resize moves no byte, so growing
/// again exposes what the file held); after every commit a second connection sees the committed array.
/// </summary>
public sealed class ZBigArrayModelTests(ITestOutputHelper output)
{
    private const int Bs = 8192;

    internal static Config SeededConfig(int seed, int maxTest) => Config.QuickThrowOnFailure.WithMaxTest(maxTest)
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd((ulong)seed), FSharpOption<int>.None)));

    [Fact]
    public void Random_operations_with_commits_and_aborts_agree_with_a_dotnet_array()
    {
        int seed = Seeds.Announce(output, nameof(Random_operations_with_commits_and_aborts_agree_with_a_dotnet_array));
        Gen<(int Seed, int Format)> cases = from s in Gen.Choose(0, int.MaxValue) from f in Gen.Choose(0, 2) select (s, f);
        Prop.ForAll(cases.ToArbitrary(), c => Run(c.Seed, (ZBlkFormat)c.Format, 60)).Check(SeededConfig(seed, 30));
    }

    /// <summary>The model: the file's items (no size: reads past the end are zeros) and the array's length.</summary>
    private sealed class Model
    {
        public List<long> File = [];
        public long Length;

        public long Get(long i) => i < File.Count ? File[(int)i] : 0;

        public void Set(long i, long v)
        {
            while (File.Count <= i)
            {
                File.Add(0);
            }
            File[(int)i] = v;
        }

        public Model Clone() => new() { File = [.. File], Length = Length };

        public long[] Items()
        {
            var r = new long[Length];
            for (long i = 0; i < Length; i++)
            {
                r[i] = Get(i);
            }
            return r;
        }
    }

    private static void Run(int seed, ZBlkFormat format, int steps)
    {
        var rnd = new Random(seed);
        using var t = new ZodbTestDb();
        Connection conn = t.Open();
        Connection peer = t.Open();
        var a = new ZBigArray([rnd.Next(0, 3000)], DType.Int64, blockSize: Bs) { BlockFormat = format };
        conn.Root["a"] = a;
        conn.TransactionManager.Commit();
        var committed = new Model { Length = a.Length };
        Model m = committed.Clone();
        for (int step = 0; step < steps; step++)
        {
            switch (rnd.Next(8))
            {
                case 0 when m.Length > 0:
                    {
                        long i = rnd.NextInt64(m.Length);
                        long v = rnd.NextInt64(-1000, 1000);
                        a.SetItem(v, i);
                        m.Set(i, v);
                        break;
                    }
                case 1:
                    {
                        (long start, long stop, long stepBy) = Slice(rnd, m.Length);
                        long v = rnd.NextInt64(-1000, 1000);
                        a.Assign([Ix.Slice(start, stop, stepBy)], v);
                        foreach (long i in Indices(m.Length, start, stop, stepBy))
                        {
                            m.Set(i, v);
                        }
                        break;
                    }
                case 2:
                    {
                        long[] values = new long[rnd.Next(0, 2000)];
                        for (int k = 0; k < values.Length; k++)
                        {
                            values[k] = rnd.NextInt64(1, 1000);
                        }
                        a.Append<long>(values);
                        for (int k = 0; k < values.Length; k++)
                        {
                            m.Set(m.Length + k, values[k]);
                        }
                        m.Length += values.Length;
                        break;
                    }
                case 3:
                    {
                        long n = rnd.NextInt64(0, 6000);
                        a.Resize(n);
                        m.Length = n;
                        break;
                    }
                case 4:
                    {
                        (long start, long stop, long stepBy) = Slice(rnd, m.Length);
                        using ArrayView v = a[Ix.Slice(start, stop, stepBy)];
                        long[] expected = [.. Indices(m.Length, start, stop, stepBy).Select(m.Get)];
                        Assert.Equal(expected, v.ToArray<long>());
                        break;
                    }
                case 5:
                    conn.TransactionManager.Abort();
                    m = committed.Clone();
                    break;
                default:
                    conn.TransactionManager.Commit();
                    committed = m.Clone();
                    peer.TransactionManager.Abort();
                    var pa = peer.Root.Get<ZBigArray>("a");
                    Assert.Equal(committed.Items(), pa.ToArray<long>());
                    break;
            }
            Assert.Equal([m.Length], a.Shape.ToArray());
            Assert.Equal(m.Items(), a.ToArray<long>());
        }
        conn.TransactionManager.Abort();
        conn.Dispose();
        peer.Dispose();
    }

    private static (long Start, long Stop, long Step) Slice(Random rnd, long n)
    {
        long step = rnd.Next(3) switch
        {
            0 => 1,
            1 => rnd.Next(2, 9),
            _ => -rnd.Next(1, 9),
        };
        long a = rnd.NextInt64(-n - 2, n + 3), b = rnd.NextInt64(-n - 2, n + 3);
        return (a, b, step);
    }

    /// <summary>CPython's slice.indices (AR-11).</summary>
    private static IEnumerable<long> Indices(long n, long start, long stop, long step)
    {
        static long Clamp(long v, long n, long lo, long hi) => v < 0 ? Math.Max(v + n, lo) : Math.Min(v, hi);
        long s, e;
        if (step > 0)
        {
            s = Clamp(start, n, 0, n);
            e = Clamp(stop, n, 0, n);
            for (long i = s; i < e; i += step)
            {
                yield return i;
            }
        }
        else
        {
            s = Clamp(start, n, -1, n - 1);
            e = Clamp(stop, n, -1, n - 1);
            for (long i = s; i > e; i += step)
            {
                yield return i;
            }
        }
    }
}
