using System.Diagnostics;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// Seeded mutation test (style.md habits 4 and 9): the fixtures with random bit flips, byte overwrites, large
/// lengths, truncations, insertions, deletions and a mutated <c>.index</c>, opened read-only and read-write and
/// walked through every read (the same walk as the fuzz target <c>filestorage</c>). Only
/// <see cref="CorruptRecordException"/> may escape (and <see cref="PosKeyException"/> for deleted objects), and
/// nothing may hang.
/// </summary>
public sealed class MutationTests(ITestOutputHelper output)
{
    private const string DataPath = "/mutation/data.fs";

    public static TheoryData<string> Files =>
    [
        "basic.fs", "undo.fs", "packed.fs", "crash-status-c.fs", "crash-garbage-long.fs",
        "upstream-zblk/py2_pickle1/zblk.fs", "upstream-zblk/py3_pickle3/zblk.fs",
    ];

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Mutated_files_raise_only_corrupt_record_errors_and_never_hang(string fixture)
    {
        int seed = Seeds.Announce(output, $"{nameof(Mutated_files_raise_only_corrupt_record_errors_and_never_hang)}({fixture})");
        var rng = new Random(seed);
        byte[] original = Fixtures.Bytes(fixture);
        byte[]? index = File.Exists(Fixtures.Root + "/" + fixture + ".index") ? Fixtures.Bytes(fixture + ".index") : null;
        (long Start, long End)[] transactions = Transactions(original);
        int corrupt = 0, clean = 0;
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 300; i++)
        {
            (byte[] bytes, string what, long lo, long hi) = Mutate(original, rng);
            byte[]? idx = index is not null && rng.Next(3) == 0 ? Mutate(index, rng).Bytes : index;
            // FS-R2: a transaction the mutation did not touch is never dropped silently. Every transaction from the
            // first one not visible after a successful open on must overlap the mutated bytes [lo, hi).
            int firstTouched = Array.FindIndex(transactions, t => t.End > lo && t.Start < hi);
            int mustSurvive = firstTouched < 0 ? transactions.Length : firstTouched;
            Exception? result;
            try
            {
                result = await Task.Run(() => Exercise(bytes, idx, visible =>
                {
                    if (visible < mustSurvive)
                    {
                        return $"only {visible} transactions visible, the first {mustSurvive} were untouched";
                    }
                    for (int j = visible; j < transactions.Length; j++)
                    {
                        if (transactions[j].End <= lo || transactions[j].Start >= hi)
                        {
                            return $"transaction {j} at {transactions[j].Start} was untouched by the mutation but dropped ({visible} visible)";
                        }
                    }
                    return null;
                })).WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (TimeoutException)
            {
                Assert.Fail($"case {i} ({what}) hangs (seed {seed})");
                return;
            }
            if (result is not null and not MutantFound)
            {
                Assert.Fail($"case {i} ({what}) raised {result} (seed {seed})");
            }
            if (result is null)
            {
                clean++;
            }
            else
            {
                corrupt++;
            }
        }
        output.WriteLine($"{clean} mutants read cleanly, {corrupt} raised CorruptRecordException, {watch.ElapsedMilliseconds} ms");
    }

    /// <summary>Null when every read succeeded; the corruption error when one was found; any other exception: a bug.</summary>
    private static Exception? Exercise(byte[] bytes, byte[]? index, Func<int, string?> checkVisible)
    {
        CorruptRecordException? found = null;
        foreach (bool readOnly in new[] { true, false })
        {
            var mem = new MemoryFileSystem();
            mem.WriteAllBytes(DataPath, bytes);
            if (index is not null)
            {
                mem.WriteAllBytes(DataPath + ".index", index);
            }
            try
            {
                using var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions { ReadOnly = readOnly }, mem);
                Walk(fs);
                if (checkVisible(fs.Iterator().Count()) is string dropped)
                {
                    return new InvalidOperationException(dropped);
                }
            }
            catch (CorruptRecordException e)
            {
                found = e;
            }
            catch (Exception e)
            {
                return new InvalidOperationException($"{(readOnly ? "read-only" : "read-write")}: {e.GetType().Name}", e);
            }
        }
        return found is null ? null : new MutantFound(found);
    }

    private static void Walk(Fs.FileStorage fs)
    {
        foreach (TransactionRecord t in fs.Iterator())
        {
            _ = t.ReadRecordArea();
            foreach (DataRecord r in t.Records)
            {
                _ = r.ReadData();
            }
        }
        foreach (TransactionRecord t in fs.IterateBackward())
        {
            _ = t.Records.Count;
        }
        _ = fs.LastInvalidations(3);
        foreach ((Oid oid, _) in fs.CurrentRecords())
        {
            Expect(() => fs.Load(oid));
            Expect(() => fs.LoadBefore(oid, Tid.Max));
            Expect(() => fs.LoadBefore(oid, new Tid(fs.LastTransaction.Value / 2)));
            Expect(() => fs.History(oid, 50));
            Expect(() => fs.RecordIterNext(oid));
            Expect(() => fs.GetTid(oid));
        }
        _ = fs.Iterator(new Tid(fs.LastTransaction.Value - 1)).Count();
    }

    private static void Expect(Action read)
    {
        try
        {
            read();
        }
        catch (PosKeyException)
        {
        }
    }

    /// <summary>The transactions of an unmutated fixture: start and end (after the trailer).</summary>
    private static (long Start, long End)[] Transactions(byte[] original)
    {
        var mem = new MemoryFileSystem();
        mem.WriteAllBytes(DataPath, original);
        using var fs = Fs.FileStorage.Open(DataPath, new FileStorageOptions { ReadOnly = true, UseIndex = false }, mem);
        return [.. fs.Iterator().Select(t => (t.Position, t.Position + (long)t.Length + 8))];
    }

    /// <summary>A mutant, what was done, and the original byte range [Lo, Hi) it touched.</summary>
    private static (byte[] Bytes, string What, long Lo, long Hi) Mutate(byte[] original, Random rng)
    {
        byte[] b = (byte[])original.Clone();
        int kind = rng.Next(8);
        int at = rng.Next(Math.Max(1, b.Length));
        switch (kind)
        {
            case 0:
                int flips = rng.Next(1, 9);
                int lo = int.MaxValue, hi = 0;
                for (int i = 0; i < flips; i++)
                {
                    int p = rng.Next(b.Length);
                    b[p] ^= (byte)(1 << rng.Next(8));
                    (lo, hi) = (Math.Min(lo, p), Math.Max(hi, p + 1));
                }
                return (b, $"{flips} bit flips in [{lo}, {hi})", lo, hi);
            case 1:
                int n = rng.Next(1, 16);
                for (int i = 0; i < n && at + i < b.Length; i++)
                {
                    b[at + i] = (byte)rng.Next(256);
                }
                return (b, $"{n} random bytes at {at}", at, at + n);
            case 2:
                // a length-like field: 8 bytes with a large or small big-endian value
                ulong v = rng.Next(3) switch { 0 => ulong.MaxValue - (ulong)rng.Next(100), 1 => (ulong)rng.Next(0, 64), _ => (ulong)rng.NextInt64() };
                for (int i = 0; i < 8 && at + i < b.Length; i++)
                {
                    b[at + i] = (byte)(v >> (56 - 8 * i));
                }
                return (b, $"8-byte value {v} at {at}", at, at + 8);
            case 3:
                return (b[..at], $"truncated at {at}", at, long.MaxValue);
            case 4:
                byte[] ins = new byte[rng.Next(1, 64)];
                rng.NextBytes(ins);
                return ([.. b[..at], .. ins, .. b[at..]], $"{ins.Length} bytes inserted at {at}", at, at + 1);
            case 5:
                int del = Math.Min(rng.Next(1, 64), b.Length - at);
                return ([.. b[..at], .. b[(at + del)..]], $"{del} bytes deleted at {at}", at, at + Math.Max(del, 1));
            case 6:
                int len = Math.Min(rng.Next(8, 200), b.Length - at);
                int to = rng.Next(Math.Max(1, b.Length - len));
                Array.Copy(original, at, b, to, len);
                return (b, $"{len} bytes from {at} copied to {to}", to, to + len);
            default:
                int zeros = Math.Min(rng.Next(1, 300), b.Length - at);
                Array.Clear(b, at, zeros);
                return (b, $"{zeros} zero bytes at {at}", at, at + Math.Max(zeros, 1));
        }
    }

    private sealed class MutantFound(CorruptRecordException inner) : Exception(inner.Message, inner);
}
