using System.Diagnostics;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>
/// Any byte string gives a value or one <see cref="PickleException"/> naming offset and opcode; never another
/// exception, a hang, unbounded memory or a stack overflow (spec/pickle.md §9, PK-20..PK-23).
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output)
{
    private static byte[] P(params object[] parts)
    {
        var b = new List<byte>();
        foreach (object p in parts)
        {
            switch (p)
            {
                case byte x:
                    b.Add(x);
                    break;
                case char c:
                    b.Add((byte)c);
                    break;
                case int i:
                    b.Add((byte)i);
                    break;
                case string s:
                    b.AddRange(System.Text.Encoding.Latin1.GetBytes(s));
                    break;
                case byte[] a:
                    b.AddRange(a);
                    break;
                default:
                    throw new ArgumentException(p.ToString());
            }
        }
        return b.ToArray();
    }

    private static PickleException Refused(byte[] data, int offset, int opcode)
    {
        var e = Assert.Throws<PickleException>(() => PickleReader.Read(data));
        Assert.Equal(offset, e.Offset);
        Assert.Equal(opcode, e.Opcode);
        Assert.Contains($"offset {offset}", e.Message, StringComparison.Ordinal);
        return e;
    }

    [Fact]
    public void Truncated_and_empty_inputs_name_the_offset()
    {
        Refused([], 0, -1);
        Refused(P(0x80, 3), 2, -1);
        Refused(P(0x80, 3, 'K'), 2, 'K');
        Refused(P(0x80, 3, 'N'), 3, -1);
        Refused(P(0x80, 3, 'X', 5, 0, 0, 0, "abc"), 2, 'X');
        Refused(P(0x80, 3, 'c', "mod\nname"), 2, 'c');
    }

    [Fact]
    public void Lengths_beyond_the_input_are_refused_before_any_allocation()
    {
        // PK-21: 4 GiB, 2^63 and negative lengths.
        Assert.Contains("exceeds", Refused(P(0x80, 3, 'B', 0xff, 0xff, 0xff, 0xff, '.'), 2, 'B').What, StringComparison.Ordinal);
        Refused(P(0x80, 4, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x80, '.'), 2, 0x8e);
        Refused(P(0x80, 4, 0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'N', '.'), 2, 0x95);
        Assert.Contains("negative", Refused(P(0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0xff, '.'), 2, 0x8b).What, StringComparison.Ordinal);
        Assert.Contains("negative", Refused(P('T', 0xfe, 0xff, 0xff, 0xff, '.'), 0, 'T').What, StringComparison.Ordinal);
    }

    [Fact]
    public void Refused_opcodes_cite_their_rule()
    {
        Assert.Contains("PK-7", Refused(P(0x80, 2, 0x82, 1, '.'), 2, 0x82).What, StringComparison.Ordinal);
        Assert.Contains("PK-8", Refused(P(0x80, 5, 0x97, '.'), 2, 0x97).What, StringComparison.Ordinal);
        Assert.Contains("PK-1", Refused(P(0x80, 6, 'N', '.'), 0, 0x80).What, StringComparison.Ordinal);
        Assert.Contains("PK-1", Refused(P(0xff, '.'), 0, 0xff).What, StringComparison.Ordinal);
        Assert.Contains("PK-9", Refused(P('K', 1, 'K', 2, 'a', '.'), 4, 'a').What, StringComparison.Ordinal);
        Assert.Contains("PK-9", Refused(P(')', '}', 'b', '.'), 2, 'b').What, StringComparison.Ordinal);
        Assert.Contains("PK-5", Refused(P('I', new string('7', 5000), "\n."), 0, 'I').What, StringComparison.Ordinal);
        Assert.Contains("PK-5", Refused(P('S', "abc\n."), 0, 'S').What, StringComparison.Ordinal);
        Assert.Contains("PK-5", Refused(P('X', 2, 0, 0, 0, 0xc3, 0x28, '.'), 0, 'X').What, StringComparison.Ordinal);
    }

    [Fact]
    public void Stack_memo_and_mark_misuse_are_refused()
    {
        Refused(P('.'), 0, '.');
        Refused(P('(', '.'), 1, '.');
        Refused(P('h', 7, '.'), 0, 'h');
        Refused(P('N', 'e', '.'), 1, 'e');
        Refused(P('(', 'q', 0, '.'), 1, 'q');
        Refused(P('(', 'K', 1, 'd', '.'), 3, 'd');
        Refused(P('}', '(', ']', 'K', 1, 'u', '.'), 5, 'u');
        Refused(P('}', ']', 'N', 's', '.'), 3, 's');
        Refused(P('(', 'o', '.'), 1, 'o');
        Refused(P('N', 'N', 0x93, '.'), 2, 0x93);
        Refused(P('p', "-1\n."), 0, 'p');
    }

    [Fact]
    public void Unhashable_keys_are_refused_like_Python()
    {
        Assert.Contains("unhashable", Refused(P('}', ']', 'K', 1, 's', '.'), 4, 's').What, StringComparison.Ordinal);
        Assert.Contains("unhashable", Refused(P(0x8f, '(', '}', 0x90, '.'), 3, 0x90).What, StringComparison.Ordinal);
    }

    [Fact]
    public void Deep_nesting_reads_but_recursive_walks_refuse_it()
    {
        // 200,000 nested lists: reading is iterative; equality, writing and rendering stop at MaxDepth (PK-22).
        const int n = 200_000;
        var data = new List<byte>();
        for (int i = 0; i < n; i++)
        {
            data.Add((byte)']');
        }
        for (int i = 0; i < n - 1; i++)
        {
            data.Add((byte)'a');
        }
        data.Add((byte)'.');
        PickleValue v = PickleReader.Read(data.ToArray());
        Assert.Throws<PickleException>(() => PickleWriter.Write(v));
        Assert.Throws<PickleException>(() => PickleJson.ToJsonNode(v));
        Assert.Throws<PickleException>(() => v.Equals(PickleReader.Read(data.ToArray())));
        Assert.StartsWith("<list", v.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_shared_DAG_stays_linear_everywhere()
    {
        // A(k) = (A(k-1), A(k-1)), 60 levels: 2^60 leaves, ~200 bytes of pickle (PK-21, PK-23).
        PickleValue Tower(string leaf)
        {
            var data = new List<byte> { (byte)'X', 1, 0, 0, 0, (byte)leaf[0] };
            for (int i = 0; i < 60; i++)
            {
                data.AddRange([(byte)'q', 0, (byte)'h', 0, 0x86]);
            }
            data.Add((byte)'.');
            return PickleReader.Read(data.ToArray());
        }
        PickleValue a = Tower("x"), b = Tower("x"), c = Tower("y");
        var sw = Stopwatch.StartNew();
        Assert.True(a.Equals(b));
        Assert.False(a.Equals(c));
        var dict = new PickleDict();
        dict.Set(a, 1);
        dict.Set(b, 2);
        dict.Set(c, 3);
        Assert.Equal(2, dict.Count);
        Assert.Equal(2, dict[a].AsInt64());
        byte[] written = PickleWriter.Write(a);
        Assert.True(written.Length < 1000);
        Assert.Contains("PK-23", Assert.Throws<PickleException>(() => PickleJson.ToJsonNode(a)).What, StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task Thousands_of_random_corruptions_give_a_value_or_PickleException()
    {
        int seed = Seeds.Announce(output, nameof(Thousands_of_random_corruptions_give_a_value_or_PickleException));
        const int cases = 25_000;
        List<byte[]> corpus = Corpus();
        var failures = new List<string>();
        int values = 0, refused = 0;
        TimeSpan slowest = TimeSpan.Zero;
        // The whole run is guarded: a hang fails the test instead of blocking the suite.
        var run = Task.Run(() =>
        {
            var rng = new Random(seed);
            for (int i = 0; i < cases && failures.Count < 5; i++)
            {
                byte[] original = corpus[rng.Next(10) == 0 ? rng.Next(corpus.Count) : rng.Next(Math.Min(corpus.Count, SmallCount))];
                byte[] mutated = Mutate(original, rng, corpus);
                long start = Stopwatch.GetTimestamp();
                try
                {
                    if (Exercise(mutated))
                    {
                        Interlocked.Increment(ref values);
                    }
                    else
                    {
                        Interlocked.Increment(ref refused);
                    }
                }
                catch (Exception e)
                {
                    lock (failures)
                    {
                        failures.Add($"case {i} (seed {seed}): {e.GetType().Name}: {e.Message}\n  input {Convert.ToHexString(mutated.AsSpan(0, Math.Min(mutated.Length, 160)))}\n{e.StackTrace}");
                    }
                }
                TimeSpan took = Stopwatch.GetElapsedTime(start);
                if (took > slowest)
                {
                    slowest = took;
                }
                if (took > TimeSpan.FromSeconds(5))
                {
                    failures.Add($"case {i} (seed {seed}) took {took}: input {Convert.ToHexString(mutated.AsSpan(0, Math.Min(mutated.Length, 160)))}");
                }
            }
        });
        try
        {
            await run.WaitAsync(TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"mutation run did not finish in 120 s (seed {seed}): a hang");
        }
        output.WriteLine($"{cases} corruptions: {values} decoded to a value, {refused} refused with PickleException; slowest case {slowest.TotalMilliseconds:0.0} ms");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
        Assert.True(refused > cases / 10 && values > cases / 100, "the corruptions should exercise both outcomes");
    }

    /// <summary>Runs every public reading path over one input; true when it decoded to a record.</summary>
    private static bool Exercise(byte[] data)
    {
        try
        {
            _ = ZodbPickle.GetClassName(data);
        }
        catch (PickleException)
        {
        }
        try
        {
            _ = ZodbPickle.ScanReferences(data);
        }
        catch (PickleException)
        {
        }
        try
        {
            var reader = new PickleReader(data);
            while (!reader.AtEnd)
            {
                _ = reader.ReadPickle();
            }
        }
        catch (PickleException)
        {
        }
        ZodbRecord rec;
        try
        {
            rec = ZodbRecord.Read(data);
        }
        catch (PickleException)
        {
            return false;
        }
        _ = rec.References;
        _ = rec.State.ToString();
        foreach (PickleValue v in new[] { rec.ClassMetadata, rec.State })
        {
            try
            {
                _ = PythonJson.Serialize(PickleJson.ToJsonNode(v, new PickleJsonOptions { SummarizeBytesLongerThan = 64, MaxNodes = 200_000 }));
            }
            catch (PickleException)
            {
            }
            _ = NumpyDtype.TryFromPickle(v, out _);
        }
        try
        {
            byte[] again = ZodbPickle.WriteRecord(rec.ClassMetadata, rec.State);
            ZodbRecord back = ZodbRecord.Read(again);
            if (!back.State.Equals(rec.State) || !back.ClassMetadata.Equals(rec.ClassMetadata))
            {
                throw new InvalidOperationException("a decoded value did not survive encode + decode");
            }
        }
        catch (PickleException)
        {
        }
        return true;
    }

    private const int SmallCount = 4000;

    /// <summary>Fixture records (small ones first), transaction extensions and the .index files.</summary>
    private static List<byte[]> Corpus()
    {
        var small = new List<byte[]>();
        var big = new List<byte[]>();
        foreach (string file in FsRecords.AllFiles)
        {
            FsRecords fs = FsRecords.Open(file);
            foreach (FsRecords.Record r in fs.DataRecords)
            {
                (r.Data.Length <= 8192 ? small : big).Add(r.Data.ToArray());
            }
            foreach (FsRecords.Txn t in fs.Transactions.Where(t => t.Extension.Length > 0))
            {
                small.Add(t.Extension.ToArray());
            }
        }
        foreach (string d in new[] { "py2_pickle1", "py2_pickle2", "py2_pickle3", "py3_pickle3" })
        {
            small.Add(Fixtures.Bytes($"upstream-zblk/{d}/zblk.fs.index"));
        }
        // distinct small records first, the rest after
        var rng = new Random(1);
        small = small.OrderBy(_ => rng.Next()).ToList();
        small.AddRange(big);
        return small;
    }

    private static readonly byte[] Interesting = [0x00, 0xff, 0x7f, 0x80, (byte)'\n', (byte)'(', (byte)'.', (byte)'0', 0x01, 0xfe];

    private static byte[] Mutate(byte[] src, Random rng, List<byte[]> corpus)
    {
        var b = new List<byte>(src);
        int rounds = 1 + (rng.Next(4) == 0 ? rng.Next(4) : 0);
        for (int r = 0; r < rounds && b.Count > 0; r++)
        {
            switch (rng.Next(10))
            {
                case 0:
                    {
                        int i = rng.Next(b.Count);
                        b[i] ^= (byte)(1 << rng.Next(8));
                        break;
                    }
                case 1:
                    b.RemoveAt(rng.Next(b.Count));
                    break;
                case 2:
                    {
                        int at = rng.Next(b.Count + 1);
                        byte[] ins = new byte[1 + rng.Next(8)];
                        rng.NextBytes(ins);
                        b.InsertRange(at, ins);
                        break;
                    }
                case 3:
                    {
                        int at = rng.Next(b.Count);
                        b.RemoveRange(at, Math.Min(b.Count - at, 1 + rng.Next(16)));
                        break;
                    }
                case 4:
                case 5:
                    EditArgument(b, rng);
                    break;
                case 6:
                    {
                        var ops = PickleDisassembler.Walk(b.ToArray());
                        if (ops.Count > 0)
                        {
                            b[ops[rng.Next(ops.Count)].Offset] = OpcodeBytes[rng.Next(OpcodeBytes.Length)];
                        }
                        break;
                    }
                case 7:
                    {
                        int at = rng.Next(b.Count), len = Math.Min(b.Count - at, 1 + rng.Next(32));
                        b.InsertRange(rng.Next(b.Count + 1), b.GetRange(at, len));
                        break;
                    }
                case 8:
                    {
                        byte[] other = corpus[rng.Next(Math.Min(corpus.Count, SmallCount))];
                        int at = rng.Next(other.Length), len = Math.Min(other.Length - at, 1 + rng.Next(64));
                        b.InsertRange(rng.Next(b.Count + 1), other.AsSpan(at, len).ToArray());
                        break;
                    }
                default:
                    {
                        // truncation
                        int keep = rng.Next(b.Count);
                        b.RemoveRange(keep, b.Count - keep);
                        break;
                    }
            }
            if (rng.Next(8) == 0 && b.Count > 0)
            {
                b[rng.Next(b.Count)] = Interesting[rng.Next(Interesting.Length)];
            }
        }
        return b.ToArray();
    }

    /// <summary>Edits the argument of a length-prefixed or memo opcode: 0, ±1, huge, negative, random.</summary>
    private static void EditArgument(List<byte> b, Random rng)
    {
        byte[] arr = b.ToArray();
        var ops = PickleDisassembler.Walk(arr).Where(o => o.Kind is PickleDisassembler.Arg.Length1 or PickleDisassembler.Arg.Length4
            or PickleDisassembler.Arg.Length8 or PickleDisassembler.Arg.Fixed).ToList();
        if (ops.Count == 0)
        {
            return;
        }
        PickleDisassembler.Op op = ops[rng.Next(ops.Count)];
        int width = op.Kind switch
        {
            PickleDisassembler.Arg.Length1 => 1,
            PickleDisassembler.Arg.Length4 => 4,
            PickleDisassembler.Arg.Length8 => 8,
            _ => Math.Min(op.ArgSize, 8),
        };
        ulong current = 0;
        for (int k = width - 1; k >= 0; k--)
        {
            current = (current << 8) | arr[op.ArgOffset + k];
        }
        ulong value = rng.Next(7) switch
        {
            0 => 0,
            1 => current + 1,
            2 => current - 1,
            3 => ulong.MaxValue,
            4 => 0x7fffffff,
            5 => 0x8000000000000000,
            _ => (ulong)rng.NextInt64(),
        };
        for (int k = 0; k < width; k++)
        {
            b[op.ArgOffset + k] = (byte)(value >> (8 * k));
        }
    }

    private static readonly byte[] OpcodeBytes = "(.012FILNPRSVabcdgilpstGJKMQTUXehjoqru}])BC"u8.ToArray()
        .Concat(Enumerable.Range(0x80, 0x19).Select(x => (byte)x)).ToArray();

    [Fact]
    public void The_mutator_edits_length_fields()
    {
        // guards the test above: EditArgument really lands on a length field of a real record
        byte[] rec = FsRecords.Open("basic.fs").DataRecords.First().Data.ToArray();
        var b = new List<byte>(rec);
        var rng = new Random(3);
        int changed = 0;
        for (int i = 0; i < 50; i++)
        {
            var copy = new List<byte>(b);
            EditArgument(copy, rng);
            changed += copy.SequenceEqual(b) ? 0 : 1;
        }
        Assert.True(changed > 30);
    }
}
