using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Wendelin.Arrays.BigFile;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests.BigFile;

/// <summary>
/// Model-based property (spec/bigfile.md BF-12…BF-19): random writes through several overlapping views (resident
/// and windowed), commits (writeout + mark stored), aborts before and after writeout, and invalidations by
/// another writer, against byte-array models of the current bytes, the handle's clean base and the stored
/// blocks. Writes go through views or straight to the handle (<see cref="FileHandle.Write"/>, BF-55). After every
/// step every live view and a direct read of the whole file (BF-54) show the model's bytes and the dirty set is
/// exactly the blocks that differ; every writeout stores exactly those blocks, ascending. A small RAM budget makes
/// pages evict and spill.
/// </summary>
public sealed class FileHandleModelTests(ITestOutputHelper output)
{
    private const int Bs = 16 << 10;
    private const int Blocks = 8;
    private const int FileBytes = Blocks * Bs;

    private abstract record Op;

    private sealed record MapOp(int Offset, int Length, bool ReadOnly) : Op;

    private sealed record WriteOp(int View, int Offset, int Length, byte Value) : Op;

    private sealed record CloseOp(int View) : Op;

    private sealed record DirectWriteOp(int Offset, int Length, byte Value) : Op;

    private sealed record CommitOp : Op;

    private sealed record AbortOp(bool AfterWriteout) : Op;

    private sealed record InvalidateOp(int Block, int Seed) : Op;

    private static Gen<Op> OpGen() => Gen.Frequency(
        (3, from off in Gen.Choose(0, FileBytes - 1)
            from len in Gen.Frequency((3, Gen.Choose(1, 2 * Bs)), (1, Gen.Choose(1, FileBytes)))
            from ro in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
            select (Op)new MapOp(off, Math.Min(len, FileBytes - off), ro)),
        (8, from v in Gen.Choose(0, 5)
            from off in Gen.Choose(0, FileBytes)
            from len in Gen.Frequency((3, Gen.Choose(1, 64)), (1, Gen.Choose(1, 3 * Bs)))
            from val in Gen.Choose(0, 255)
            select (Op)new WriteOp(v, off, len, (byte)val)),
        (2, Gen.Choose(0, 5).Select(v => (Op)new CloseOp(v))),
        (4, from off in Gen.Choose(0, FileBytes - 1)
            from len in Gen.Frequency((4, Gen.Choose(1, 16)), (1, Gen.Choose(1, 2 * Bs)))
            from val in Gen.Choose(0, 255)
            select (Op)new DirectWriteOp(off, Math.Min(len, FileBytes - off), (byte)val)),
        (2, Gen.Constant((Op)new CommitOp())),
        (1, Gen.Elements(false, true).Select(a => (Op)new AbortOp(a))),
        (2, from b in Gen.Choose(0, Blocks - 1)
            from s in Gen.Choose(0, 1000)
            select (Op)new InvalidateOp(b, s)));

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Random_operations_agree_with_the_model(string kind)
    {
        int seed = Seeds.Announce(output, $"{nameof(Random_operations_agree_with_the_model)}({kind})");
        Config config = Config.QuickThrowOnFailure.WithMaxTest(80)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd((ulong)seed), FSharpOption<int>.None)));
        using var scratch = new TempDirectory("bigfile-model");
        Prop.ForAll(Gen.ListOf(OpGen(), 40).Select(l => l.ToArray()).ToArbitrary(), ops => Run(kind, ops, scratch.Path))
            .Check(config);
    }

    private static bool Run(string kind, Op[] ops, string scratch)
    {
        var f = new RecordingBlockFile(Bs);
        var initial = new byte[FileBytes];
        new Random(ops.Length).NextBytes(initial.AsSpan(0, FileBytes / 2)); // the second half starts as holes
        f.Inner.Write(0, initial);
        byte[] file = (byte[])initial.Clone(), clean = (byte[])initial.Clone(), current = (byte[])initial.Clone();
        var views = new List<FileView>();
        bool shares = kind != "copying";
        using var h = new FileHandle(f, Backends.Options(kind, budget: 3L * Bs, residentLimit: 3L * Bs, scratch: scratch));
        try
        {
            foreach (Op op in ops)
            {
                switch (op)
                {
                    case MapOp m:
                        if (!shares)
                        {
                            CloseAll(views); // copies of one page in two live views diverge by design (BF-40)
                        }
                        views.Add(h.Map(m.Offset, m.Length, writable: !m.ReadOnly));
                        break;
                    case WriteOp w when views.Exists(x => x.IsWritable):
                        List<FileView> writable = views.FindAll(x => x.IsWritable);
                        FileView v = writable[w.View % writable.Count];
                        int off = (int)Math.Min(w.Offset, v.Length);
                        int len = (int)Math.Min(w.Length, v.Length - off);
                        WriteThrough(v, off, len, w.Value);
                        for (int i = 0; i < len; i++)
                        {
                            current[v.Offset + off + i] = (byte)(w.Value + i);
                        }
                        break;
                    case DirectWriteOp d:
                        var bytes = new byte[d.Length];
                        Fill(bytes, d.Value);
                        h.Write(d.Offset, bytes);
                        bytes.CopyTo(current, d.Offset);
                        break;
                    case CloseOp c when views.Count > 0:
                        int at = c.View % views.Count;
                        views[at].Dispose();
                        views.RemoveAt(at);
                        break;
                    case CommitOp:
                        WriteoutAndCheck(h, f, file, clean, current);
                        h.MarkStored();
                        Array.Copy(current, clean, FileBytes);
                        break;
                    case AbortOp a:
                        if (a.AfterWriteout)
                        {
                            WriteoutAndCheck(h, f, file, clean, current); // the block file keeps what was stored
                        }
                        h.DiscardDirty();
                        Array.Copy(file, current, FileBytes);
                        Array.Copy(file, clean, FileBytes);
                        break;
                    case InvalidateOp inv:
                        var theirs = new byte[Bs];
                        new Random(inv.Seed).NextBytes(theirs);
                        f.Inner.Write((long)inv.Block * Bs, theirs);
                        h.InvalidateBlock(inv.Block);
                        theirs.CopyTo(file, inv.Block * Bs);
                        theirs.CopyTo(clean, inv.Block * Bs);
                        theirs.CopyTo(current, inv.Block * Bs);
                        break;
                }
                CheckViews(views, current);
                var read = new byte[FileBytes];
                h.Read(0, read);
                if (!read.AsSpan().SequenceEqual(current))
                {
                    throw new InvalidOperationException($"after {op}: a direct read differs from the model");
                }
                long[] expected = ChangedBlocks(current, clean);
                long[] actual = h.DirtyBlocks();
                if (!expected.AsSpan().SequenceEqual(actual))
                {
                    throw new InvalidOperationException($"after {op}: dirty [{string.Join(",", actual)}], model [{string.Join(",", expected)}]");
                }
                FileHandleStatistics st = h.GetStatistics();
                if (st.ResidentBytes > Math.Max(st.RamBudget, st.PinnedBytes + Bs))
                {
                    throw new InvalidOperationException($"after {op}: {st.ResidentBytes} resident bytes over budget {st.RamBudget} with {st.PinnedBytes} pinned");
                }
            }
            var stored = new byte[FileBytes];
            f.Inner.Read(0, stored);
            if (!stored.AsSpan().SequenceEqual(file))
            {
                throw new InvalidOperationException("the block file differs from the model of the stored blocks");
            }
            return true;
        }
        finally
        {
            CloseAll(views);
        }
    }

    private static void WriteThrough(FileView v, int off, int len, byte value)
    {
        if (len == 0)
        {
            return;
        }
        if (v.IsResident)
        {
            Fill(v.GetSpan(off, len), value);
            return;
        }
        using ViewWindow w = v.Acquire(off, len);
        Fill(w.Span, value);
    }

    private static void Fill(Span<byte> s, byte value)
    {
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = (byte)(value + i);
        }
    }

    private static void WriteoutAndCheck(FileHandle h, RecordingBlockFile f, byte[] file, byte[] clean, byte[] current)
    {
        f.TakeStores();
        h.Writeout();
        long[] stores = f.TakeStores();
        long[] expected = ChangedBlocks(current, clean);
        if (!stores.AsSpan().SequenceEqual(expected))
        {
            throw new InvalidOperationException($"writeout stored [{string.Join(",", stores)}], model changed [{string.Join(",", expected)}]");
        }
        foreach (long b in stores)
        {
            Array.Copy(current, b * Bs, file, b * Bs, Bs);
        }
    }

    private static long[] ChangedBlocks(byte[] current, byte[] clean)
    {
        var list = new List<long>();
        for (int b = 0; b < Blocks; b++)
        {
            if (!current.AsSpan(b * Bs, Bs).SequenceEqual(clean.AsSpan(b * Bs, Bs)))
            {
                list.Add(b);
            }
        }
        return [.. list];
    }

    private static void CheckViews(List<FileView> views, byte[] current)
    {
        foreach (FileView v in views)
        {
            ReadOnlySpan<byte> expect = current.AsSpan((int)v.Offset, (int)v.Length);
            bool same;
            if (v.IsResident)
            {
                same = v.ReadOnlySpan.SequenceEqual(expect);
            }
            else
            {
                using ViewWindow w = v.Acquire(0, v.Length, writable: false); // read-only windows on pieces later made writable
                same = w.ReadOnlySpan.SequenceEqual(expect);
            }
            if (!same)
            {
                throw new InvalidOperationException($"view {v.Offset}+{v.Length} differs from the model");
            }
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
