using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Wendelin.Arrays.BigFile;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests.BigFile;

/// <summary>
/// Model-based property for the read paths without views (spec/bigfile.md BF-50…BF-54): random writes through
/// views, commits, aborts and invalidations by another writer drive the cache through every state (absent,
/// resident clean and dirty, spilled, evicted, invalidated; a 3-block budget over 8 blocks), and after every
/// step random ranges read by <see cref="FileHandle.Scan"/> and <see cref="FileHandle.Read"/> must equal the
/// model of what views show, without changing the cache (loads, evictions, resident pages); no dirty query runs before a scan, so on the
/// copying backend the scan itself must bring in the views' unharvested writes. Runs on
/// every backend with a block file that leases its own bytes, one that leases ZBlk0-like stripped payloads, and
/// a plain one that only loads.
/// </summary>
public sealed class FileHandleScanModelTests(ITestOutputHelper output)
{
    private const int Bs = 16 << 10;
    private const int Blocks = 8;
    private const int FileBytes = Blocks * Bs;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string backend in new[] { "mapped-wp", "mapped-hash", "copying" })
        {
            foreach (string source in new[] { "memory", "stripped", "plain" })
            {
                data.Add(backend, source);
            }
        }
        return data;
    }

    private abstract record Op;

    private sealed record MapOp(int Offset, int Length) : Op;

    private sealed record WriteOp(int View, int Offset, int Length, byte Value) : Op;

    private sealed record CloseOp(int View) : Op;

    private sealed record CommitOp : Op;

    private sealed record AbortOp : Op;

    private sealed record InvalidateOp(int Block, int Seed, int Zeros) : Op;

    private sealed record ScanOp(int Offset, int Length, int WriteAt) : Op;

    private static Gen<Op> OpGen() => Gen.Frequency(
        (3, from off in Gen.Choose(0, FileBytes - 1)
            from len in Gen.Choose(1, 2 * Bs)
            select (Op)new MapOp(off, Math.Min(len, FileBytes - off))),
        (8, from v in Gen.Choose(0, 5)
            from off in Gen.Choose(0, FileBytes)
            from len in Gen.Frequency((3, Gen.Choose(1, 64)), (1, Gen.Choose(1, 3 * Bs)))
            from val in Gen.Choose(0, 255)
            select (Op)new WriteOp(v, off, len, (byte)val)),
        (2, Gen.Choose(0, 5).Select(v => (Op)new CloseOp(v))),
        (2, Gen.Constant((Op)new CommitOp())),
        (1, Gen.Constant((Op)new AbortOp())),
        (2, from b in Gen.Choose(0, Blocks - 1)
            from s in Gen.Choose(0, 1000)
            from z in Gen.Choose(0, Bs)
            select (Op)new InvalidateOp(b, s, z)),
        (3, from off in Gen.Choose(0, FileBytes)
            from len in Gen.Choose(0, FileBytes)
            from w in Gen.Choose(-1, FileBytes - 1)
            select (Op)new ScanOp(off, Math.Min(len, FileBytes - off), w)));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Scans_and_reads_equal_the_model_in_every_cache_state(string backend, string source)
    {
        int seed = Seeds.Announce(output, $"{nameof(Scans_and_reads_equal_the_model_in_every_cache_state)}({backend}, {source})");
        Config config = Config.QuickThrowOnFailure.WithMaxTest(30)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd((ulong)seed), FSharpOption<int>.None)));
        using var scratch = new TempDirectory("bigfile-scan-model");
        Prop.ForAll(Gen.ListOf(OpGen(), 30).Select(l => l.ToArray()).ToArbitrary(), ops => Run(backend, source, ops, scratch.Path))
            .Check(config);
    }

    private static (IBlockFile File, MemoryBlockFile Store) Source(string source) => source switch
    {
        "memory" => Both(new MemoryBlockFile(Bs)),
        "stripped" => (new StrippedBlockFile(Bs) is var s ? (s, s.Inner) : default),
        _ => (new HalvesBlockFile(Bs) is var p ? (p, p.Inner) : default),
    };

    private static (IBlockFile, MemoryBlockFile) Both(MemoryBlockFile m) => (m, m);

    private static bool Run(string backend, string source, Op[] ops, string scratch)
    {
        (IBlockFile file, MemoryBlockFile store) = Source(source);
        var rnd = new Random(ops.Length * 31 + 7);
        var current = new byte[FileBytes];
        for (int b = 0; b < Blocks / 2; b++)
        {
            rnd.NextBytes(current.AsSpan(b * Bs, Bs - rnd.Next(Bs))); // trailing zeros of random length; the second half holes
        }
        store.Write(0, current);
        var views = new List<FileView>();
        using var h = new FileHandle(file, Backends.Options(backend, budget: 3L * Bs, residentLimit: 3L * Bs, scratch: scratch));
        try
        {
            foreach (Op op in ops)
            {
                switch (op)
                {
                    case MapOp m:
                        if (backend == "copying")
                        {
                            CloseAll(views); // copies of one page in two live views diverge by design (BF-40)
                        }
                        views.Add(h.Map(m.Offset, m.Length));
                        break;
                    case WriteOp w when views.Count > 0:
                        FileView v = views[w.View % views.Count];
                        int off = (int)Math.Min(w.Offset, v.Length);
                        int len = (int)Math.Min(w.Length, v.Length - off);
                        WriteThrough(v, off, len, w.Value, current);
                        break;
                    case CloseOp c when views.Count > 0:
                        views[c.View % views.Count].Dispose();
                        views.RemoveAt(c.View % views.Count);
                        break;
                    case CommitOp:
                        h.Writeout();
                        h.MarkStored();
                        break;
                    case AbortOp:
                        h.DiscardDirty();
                        store.Read(0, current);
                        break;
                    case InvalidateOp inv:
                        var theirs = new byte[Bs];
                        new Random(inv.Seed).NextBytes(theirs.AsSpan(0, Bs - inv.Zeros));
                        store.Write((long)inv.Block * Bs, theirs);
                        h.InvalidateBlock(inv.Block);
                        theirs.CopyTo(current, inv.Block * Bs);
                        break;
                    case ScanOp s:
                        CheckScan(h, s, current, views, backend);
                        break;
                }
                CheckScan(h, new ScanOp(0, FileBytes, -1), current, views, backend);
                CheckRead(h, rnd, current);
            }
            return true;
        }
        finally
        {
            CloseAll(views);
        }
    }

    /// <summary>A scan of the range equals the model, leaves the cache as it was, and its pieces are well formed; with WriteAt ≥ 0 a write made through a view while the scan is under way (to a block it has not reached) shows in it.</summary>
    private static void CheckScan(FileHandle h, ScanOp s, byte[] current, List<FileView> views, string backend)
    {
        // let background prefetches queued by earlier maps finish (requests are served in order): their loads are not the scan's
        h.Prefetch(64L * FileBytes, 1).GetAwaiter().GetResult();
        FileHandleStatistics before = h.GetStatistics();
        var got = new byte[s.Length];
        long next = s.Offset;
        FileView? late = null;
        try
        {
            using BlockScan scan = h.Scan(s.Offset, s.Length);
            while (scan.MoveNext())
            {
                ReadOnlySpan<byte> piece = scan.Current;
                if (scan.Offset != next || piece.IsEmpty || scan.Offset / Bs != (scan.Offset + piece.Length - 1) / Bs)
                {
                    throw new InvalidOperationException($"scan {s}: piece {scan.Offset}+{piece.Length} after {next}");
                }
                if (scan.IsZero && piece.ContainsAnyExcept((byte)0))
                {
                    throw new InvalidOperationException($"scan {s}: a zero piece at {scan.Offset} holds data");
                }
                piece.CopyTo(got.AsSpan((int)(scan.Offset - s.Offset)));
                next += piece.Length;
                long reached = (next + Bs - 1) / Bs * Bs; // the scan holds the block it is in; later ones are fair game
                if (s.WriteAt >= reached && s.WriteAt < s.Offset + s.Length && late is null && backend != "copying")
                {
                    late = h.Map(s.WriteAt, 1);
                    late.Span[0] ^= 0x5A;
                    current[s.WriteAt] ^= 0x5A;
                }
            }
        }
        finally
        {
            if (late is not null)
            {
                views.Add(late); // keeps its page pinned like any view of the test
            }
        }
        if (next != s.Offset + s.Length || !got.AsSpan().SequenceEqual(current.AsSpan(s.Offset, s.Length)))
        {
            throw new InvalidOperationException($"scan {s} differs from the model (ended at {next})");
        }
        FileHandleStatistics after = h.GetStatistics();
        if (late is null && (after.Loads != before.Loads || after.Evictions != before.Evictions || after.ResidentBytes != before.ResidentBytes))
        {
            throw new InvalidOperationException($"scan {s} changed the cache: loads {before.Loads}->{after.Loads}, evictions {before.Evictions}->{after.Evictions}, resident {before.ResidentBytes}->{after.ResidentBytes}");
        }
    }

    private static void CheckRead(FileHandle h, Random rnd, byte[] current)
    {
        int off = rnd.Next(FileBytes);
        int len = rnd.Next(4) == 0 ? Bs : rnd.Next(FileBytes - off + 1);
        len = Math.Min(len, FileBytes - off);
        if (rnd.Next(3) == 0)
        {
            off = off / Bs * Bs; // a whole block, read straight into the destination
            len = Bs;
        }
        var got = new byte[len];
        h.Read(off, got);
        if (!got.AsSpan().SequenceEqual(current.AsSpan(off, len)))
        {
            throw new InvalidOperationException($"Read({off}, {len}) differs from the model");
        }
    }

    private static void WriteThrough(FileView v, int off, int len, byte value, byte[] current)
    {
        if (len == 0)
        {
            return;
        }
        Span<byte> s = v.IsResident ? v.GetSpan(off, len) : default;
        using ViewWindow? w = v.IsResident ? null : v.Acquire(off, len);
        if (w is not null)
        {
            s = w.Span;
        }
        for (int i = 0; i < len; i++)
        {
            s[i] = (byte)(value + i);
            current[v.Offset + off + i] = (byte)(value + i);
        }
    }

    private static void CloseAll(List<FileView> views)
    {
        foreach (FileView v in views)
        {
            v.Dispose();
        }
        views.Clear();
    }
}
