using System.Collections.Concurrent;
using FsCheck;
using FsCheck.Fluent;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests.Zodb;

/// <summary>
/// Property (1) of issue 5 (spec/zbigfile.md ZB-43..ZB-46): a writer connection on one thread makes random
/// writes (holes filled, zeros written over data, blocks across the table's bucket splits), switches the block
/// format and commits or aborts at random; a reader connection on another thread sees, at each of its
/// transaction boundaries, exactly the file as committed in the snapshot it moved to — through views kept across
/// boundaries and through fresh maps under a one-block budget, after cache minimization too — and the same bytes
/// for as long as it stays in that transaction. Never a stale or torn page.
/// </summary>
public sealed class InvalidationPropertyTests(ITestOutputHelper output)
{
    private const int Bs = 8192;
    private const int Blocks = 80; // more than the 60 entries of an LOBTree bucket: the table splits

    [Fact]
    public void A_reader_sees_exactly_the_committed_file_at_each_boundary()
    {
        int seed = Seeds.Announce(output, nameof(A_reader_sees_exactly_the_committed_file_at_each_boundary));
        Gen<(int Seed, int Steps)> cases = from s in Gen.Choose(0, int.MaxValue) from n in Gen.Choose(5, 40) select (s, n);
        int snapshots = 0;
        Prop.ForAll(cases.ToArbitrary(), c => snapshots += Run(c.Seed, c.Steps)).Check(ZBigArrayModelTests.SeededConfig(seed, 25));
        output.WriteLine($"{snapshots} distinct snapshots checked by readers");
        Assert.True(snapshots >= 50);
    }

    private sealed class Progress
    {
        public long ReaderAt;
        public readonly HashSet<Tid> Seen = [];
    }

    private static int Run(int seed, int steps)
    {
        using var t = new ZodbTestDb();
        var model = new ConcurrentDictionary<Tid, byte[]>();
        Connection setup = t.Open();
        setup.Root["f"] = new ZBigFile(Bs);
        setup.TransactionManager.Commit();
        model[t.Db.LastTransaction] = new byte[Blocks * Bs];
        setup.Dispose();

        var done = new ManualResetEventSlim();
        Exception? readerFailure = null;
        int checks = 0;
        var progress = new Progress();
        var reader = new Thread(() =>
        {
            try
            {
                checks = Reader(t, model, done, seed, progress);
            }
            catch (Exception e)
            {
                readerFailure = e;
            }
        });
        reader.Start();
        try
        {
            Writer(t, model, seed, steps, progress);
        }
        finally
        {
            done.Set();
            reader.Join();
        }
        if (readerFailure is not null)
        {
            throw new InvalidOperationException($"reader failed (seed {seed})", readerFailure);
        }
        Assert.True(checks > 0);
        return progress.Seen.Count;
    }

    private static void Writer(ZodbTestDb t, ConcurrentDictionary<Tid, byte[]> model, int seed, int steps, Progress progress)
    {
        var rnd = new Random(seed);
        Connection conn = t.Open();
        var f = conn.Root.Get<ZBigFile>("f");
        using FileHandle h = f.Open(new FileHandleOptions { RamBudget = 3 * Bs, ResidentViewLimit = 3 * Bs });
        byte[] committed = new byte[Blocks * Bs];
        byte[] current = (byte[])committed.Clone();
        for (int step = 0; step < steps; step++)
        {
            int writes = rnd.Next(1, 6);
            for (int w = 0; w < writes; w++)
            {
                long block = rnd.Next(4) == 0 ? rnd.Next(Blocks) : rnd.Next(6); // mostly a few hot blocks, sometimes anywhere
                int offset = rnd.Next(Bs);
                int length = Math.Min(rnd.Next(1, 3 * Bs / 2), Blocks * Bs - (int)(block * Bs) - offset);
                byte value = rnd.Next(5) == 0 ? (byte)0 : (byte)rnd.Next(1, 256);
                using FileView v = h.Map(block * Bs + offset, length);
                v.Span.Fill(value);
                current.AsSpan((int)(block * Bs) + offset, length).Fill(value);
            }
            if (rnd.Next(4) == 0)
            {
                f.BlockFormat = (ZBlkFormat)rnd.Next(3);
            }
            if (rnd.Next(5) == 0)
            {
                conn.TransactionManager.Abort();
                current = (byte[])committed.Clone();
            }
            else
            {
                conn.TransactionManager.Commit();
                committed = (byte[])current.Clone();
                Tid tid = t.Db.LastTransaction;
                model[tid] = committed;
                if (rnd.Next(2) == 0)
                {
                    // let the reader catch up now and then, so that it checks many intermediate snapshots
                    SpinWait.SpinUntil(() => (ulong)Interlocked.Read(ref progress.ReaderAt) >= tid.Value, 1000);
                }
            }
        }
        conn.Dispose();
    }

    private static int Reader(ZodbTestDb t, ConcurrentDictionary<Tid, byte[]> model, ManualResetEventSlim done, int seed, Progress progress)
    {
        var rnd = new Random(~seed);
        Connection conn = t.Open();
        using FileHandle h = conn.Root.Get<ZBigFile>("f").Open(new FileHandleOptions { RamBudget = Bs, ResidentViewLimit = 4 * Bs });
        using FileView kept = h.Map(0, 4 * Bs, writable: false); // shown across boundaries: reloaded in place
        int checks = 0;
        bool last = false;
        while (!last)
        {
            last = done.IsSet;
            if (rnd.Next(3) == 0)
            {
                conn.CacheMinimize();
            }
            conn.TransactionManager.Abort(); // a boundary
            Tid at = conn.SnapshotTid;
            byte[]? expected;
            while (!model.TryGetValue(at, out expected))
            {
                Thread.Yield(); // the writer records the model right after its commit returns
            }
            for (int pass = 0; pass < 2; pass++)
            {
                if (!kept.ReadOnlySpan.SequenceEqual(expected.AsSpan(0, 4 * Bs)))
                {
                    throw new InvalidOperationException($"a view kept across the boundary shows other bytes than the snapshot {at}");
                }
                for (int b = 0; b < Blocks; b++)
                {
                    using FileView v = h.Map((long)b * Bs, Bs, writable: false);
                    if (!v.ReadOnlySpan.SequenceEqual(expected.AsSpan(b * Bs, Bs)))
                    {
                        int i = 0;
                        while (v.ReadOnlySpan[i] == expected[b * Bs + i])
                        {
                            i++;
                        }
                        throw new InvalidOperationException($"block {b} differs from snapshot {at} at byte {i}: {v.ReadOnlySpan[i]} instead of {expected[b * Bs + i]} (pass {pass})");
                    }
                }
                checks++;
            }
            progress.Seen.Add(at);
            Interlocked.Exchange(ref progress.ReaderAt, (long)at.Value);
        }
        conn.Dispose();
        return checks;
    }
}
