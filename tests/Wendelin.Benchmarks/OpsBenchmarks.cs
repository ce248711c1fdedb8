using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Wendelin.Storage;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Pack;
using Wendelin.Storage.Pickle;
using Wendelin.Storage.Verify;
using Wendelin.TestSupport;

namespace Wendelin.Benchmarks;

/// <summary>
/// Operator tools (spec/verify.md, spec/pack.md; shared/benchmarks.md workload 6): verify of a 1 GiB file against a
/// raw read of it, and pack of a history of many transactions against a copy of the bytes that survive.
/// </summary>
internal static class OpsBenchmarks
{
    private const string ZodbModule = "wendelin.bigfile.file_zodb";

    [Benchmark("verify", "verify (both passes) of a 1 GiB file vs a raw sequential read of it; shape=zblk0 (2 MiB blocks of a ZBigFile) or small (4 KiB objects)")]
    public static int Verify(BenchArgs args)
    {
        long bytes = args.Long("bytes", 1L << 30);
        string shape = args.Str("shape", "zblk0");
        using var dir = new TempDirectory("bench-verify");
        string path = dir.File("verify.fs");
        if (shape == "small")
        {
            BuildSmallObjects(path, bytes, args.Int("object", 4096));
        }
        else
        {
            BuildZBigFile(path, bytes);
        }
        long size = new FileInfo(path).Length;
        var check = new Verifier(path);
        int findings = check.Run().Count();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"file: {size >> 20} MiB ({shape}), {check.Stats.Transactions} transactions, {check.Stats.Records} records, {check.Stats.Objects} objects, {findings} findings"));
        if (findings != 0)
        {
            Console.Error.WriteLine("the generated file does not verify clean");
            return 1;
        }
        RawRead(path); // warm
        Samples[] s = Interleaved(args.Runs,
            ("verify, both passes (warm)", () => _ = new Verifier(path).Run().Count()),
            ("raw sequential read, 4 MiB buffer (warm)", () => RawRead(path)),
            ("verify --structure-only (warm; reads headers, not payloads)", () => _ = new Verifier(path, new VerifyOptions { Objects = false }).Run().Count()));
        Harness.Report(s[0], s[1], size, "B");
        Harness.Report(s[2], s[1], size, "B");
        if (args.Str("cold", "yes") == "yes")
        {
            Samples[] c = Interleaved(args.Runs,
                ("verify, both passes (cold)", () => Harness.DropFileCache(path), () => _ = new Verifier(path).Run().Count()),
                ("raw sequential read, 4 MiB buffer (cold)", () => Harness.DropFileCache(path), () => RawRead(path)));
            Harness.Report(c[0], c[1], size, "B");
        }
        return 0;
    }

    [Benchmark("pack", "workload 6: pack N transactions over 1,000 live objects (all history away; and half survives) vs a copy of the surviving bytes")]
    public static int Pack(BenchArgs args)
    {
        int transactions = args.Int("txns", 1_000_000);
        int objects = args.Int("objects", 1000);
        using var dir = new TempDirectory("bench-pack");
        string source = dir.File("history.fs");
        List<Tid> tids = BuildHistory(source, transactions, objects);
        long input = new FileInfo(source).Length;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"input: {input >> 20} MiB, {transactions} transactions over {objects} objects (+ the root)"));
        string work = dir.File("work.fs");
        string copy = dir.File("copy.bin");
        string only = args.Str("case", "both"); // both, all (all history away) or half (half survives)
        foreach ((string name, Tid packTid) in new[] { ("all history away", tids[^1]), ("half survives", tids[tids.Count / 2]) })
        {
            if (only != "both" && !name.StartsWith(only, StringComparison.Ordinal))
            {
                continue;
            }
            var phaseRuns = new List<string>();
            var packCall = new List<double>(); // the Pack call alone, without the close of the storage
            PackResult? result = null;
            FileStorage? open = null;
            long surviving = 0;
            Samples[] s = Interleaved(args.Runs, warmup: true,
                ($"pack, {name}", () =>
                {
                    // untimed: a fresh copy of the input, opened (ZODB packs an open storage too)
                    File.Copy(source, work, overwrite: true);
                    open = FileStorage.Open(work, new FileStorageOptions { SaveIndex = false });
                }, () =>
                {
                    var phases = new PhaseClock();
                    long start = System.Diagnostics.Stopwatch.GetTimestamp();
                    using (FileStorage fs = open!)
                    {
                        result = fs.Pack(packTid, null, phases);
                        packCall.Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds);
                        phases.Mark("close");
                    }
                    phaseRuns.Add(phases.ToString());
                    surviving = result.SizeAfter;
                }),
                ($"copy of the surviving bytes (read + write + fsync), {name}", null, () => CopyBytes(source, copy, surviving)),
                ($"raw read of the input, {name}", null, () => RawRead(source)));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {result!.SizeBefore >> 20} MiB → {result.SizeAfter >> 20} MiB ({result.SizeAfter} bytes), {result.RecordsKept} of {result.RecordsBefore} records before the pack time kept"));
            Console.WriteLine($"  phases of each run: {string.Join(" | ", phaseRuns.Skip(1))}");
            Harness.Report(s[0], s[2], input, "B");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{"  vs copy of the surviving bytes",-44} {s[1].Median / s[0].Median:0.000}x (pack {s[0].Median:0.000} s, copy {s[1].Median:0.000} s)"));
            // The close of the storage after the pack releases the old file (deleted by the swap) and with it its
            // pages in the OS cache: a cost of deleting the input, paid when the storage lets go of it, not of packing.
            var call = new Samples($"pack call alone (without the close), {name}", [.. packCall.Skip(1)]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{"  " + call.Name,-44} {Harness.Format(input / call.Median)}B/s (min {Harness.Format(input / call.Max)}, max {Harness.Format(input / call.Min)}); vs copy {s[1].Median / call.Median:0.000}x (pack {call.Median:0.000} s)"));
        }
        return 0;
    }

    /// <summary>When each pack phase started, from its progress reports.</summary>
    private sealed class PhaseClock : IProgress<PackProgress>
    {
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private readonly List<(string Phase, double Start)> _starts = [("start", 0)];

        public void Report(PackProgress value)
        {
            string phase = value.Phase.ToString();
            if (_starts[^1].Phase != phase)
            {
                _starts.Add((phase, _clock.Elapsed.TotalSeconds));
            }
        }

        /// <summary>A step after the pack's own phases (its return, the close of the storage).</summary>
        public void Mark(string step) => _starts.Add((step, _clock.Elapsed.TotalSeconds));

        public override string ToString()
        {
            double end = _clock.Elapsed.TotalSeconds;
            return string.Join(", ", _starts.Select((p, i) => string.Create(CultureInfo.InvariantCulture,
                $"{p.Phase} {((i + 1 < _starts.Count ? _starts[i + 1].Start : end) - p.Start) * 1000:0} ms")));
        }
    }

    private static Samples[] Interleaved(int runs, params (string Name, Action Action)[] items) =>
        Interleaved(runs, [.. items.Select(i => (i.Name, (Action?)null, i.Action))]);

    /// <summary>Runs the items interleaved, run by run (the disk drifts); each item's setup is not timed.</summary>
    private static Samples[] Interleaved(int runs, params (string Name, Action? Setup, Action Action)[] items) => Interleaved(runs, false, items);

    /// <summary>As above; with <paramref name="warmup"/> one untimed round first (the JIT's tiers settle).</summary>
    private static Samples[] Interleaved(int runs, bool warmup, params (string Name, Action? Setup, Action Action)[] items)
    {
        runs = Math.Max(3, runs);
        if (warmup)
        {
            foreach ((_, Action? setup, Action action) in items)
            {
                setup?.Invoke();
                action();
            }
        }
        double[][] seconds = [.. items.Select(_ => new double[runs])];
        for (int r = 0; r < runs; r++)
        {
            for (int i = 0; i < items.Length; i++)
            {
                items[i].Setup?.Invoke();
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                items[i].Action();
                seconds[i][r] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
        }
        return [.. items.Select((item, i) => new Samples(item.Name, seconds[i]))];
    }

    private static void RawRead(string path)
    {
        using SafeFileHandle f = File.OpenHandle(path);
        byte[] buffer = GC.AllocateUninitializedArray<byte>(4 << 20);
        long pos = 0;
        int n;
        while ((n = RandomAccess.Read(f, buffer, pos)) > 0)
        {
            pos += n;
        }
    }

    private static void CopyBytes(string source, string target, long count)
    {
        using SafeFileHandle from = File.OpenHandle(source);
        using SafeFileHandle to = File.OpenHandle(target, FileMode.Create, FileAccess.ReadWrite);
        byte[] buffer = GC.AllocateUninitializedArray<byte>(4 << 20);
        for (long pos = 0; pos < count;)
        {
            int n = RandomAccess.Read(from, buffer.AsSpan(0, (int)Math.Min(buffer.Length, count - pos)), pos);
            RandomAccess.Write(to, buffer.AsSpan(0, n), pos);
            pos += n;
        }
        RandomAccess.FlushToDisk(to);
    }

    private static PicklePersistentId Ref(ulong oid, string module, string name) => PicklePersistentId.Strong(new Oid(oid), new PickleGlobal(module, name));

    private static byte[] Record(string module, string name, PickleValue state) => ZodbPickle.WriteRecord(new PickleGlobal(module, name), state);

    /// <summary>A ZBigFile of 2 MiB ZBlk0 blocks filling about <paramref name="bytes"/>: root → ZBigFile → LOBTree (buckets of 60) → ZBlk0s.</summary>
    private static void BuildZBigFile(string path, long bytes)
    {
        const int BlockSize = 2 << 20;
        int blocks = (int)Math.Max(1, bytes / BlockSize);
        const int BucketSize = 60;
        int buckets = (blocks + BucketSize - 1) / BucketSize;
        ulong firstBlock = 100, firstBucket = 3;
        using var fs = FileStorage.Open(path, new FileStorageOptions { Create = true, Fsync = false, SaveIndex = false });
        byte[] payload = new byte[BlockSize];
        new Random(7).NextBytes(payload);
        for (int b = 0; b < blocks; b += 16)
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata("bench", "blocks"));
            for (int i = b; i < Math.Min(blocks, b + 16); i++)
            {
                payload[0] = (byte)i;
                fs.Store(t, new Oid(firstBlock + (ulong)i), Tid.Zero, Record(ZodbModule, "ZBlk0", new PickleBytes(payload)));
            }
            fs.TpcVote(t);
            fs.TpcFinish(t);
        }
        StorageTransaction m = fs.TpcBegin(new TransactionMetadata("bench", "structure"));
        var children = new List<PickleValue>();
        for (int k = 0; k < buckets; k++)
        {
            var flat = new List<PickleValue>();
            for (int i = k * BucketSize; i < Math.Min(blocks, (k + 1) * BucketSize); i++)
            {
                flat.Add((long)i);
                flat.Add(Ref(firstBlock + (ulong)i, ZodbModule, "ZBlk0"));
            }
            PickleTuple state = k + 1 < buckets
                ? new PickleTuple(new PickleTuple([.. flat]), Ref(firstBucket + (ulong)k + 1, "BTrees.LOBTree", "LOBucket"))
                : new PickleTuple(new PickleTuple([.. flat]));
            fs.Store(m, new Oid(firstBucket + (ulong)k), Tid.Zero, Record("BTrees.LOBTree", "LOBucket", state));
            if (k > 0)
            {
                children.Add((long)(k * BucketSize));
            }
            children.Add(Ref(firstBucket + (ulong)k, "BTrees.LOBTree", "LOBucket"));
        }
        fs.Store(m, new Oid(2), Tid.Zero, Record("BTrees.LOBTree", "LOBTree",
            new PickleTuple(new PickleTuple([.. children]), Ref(firstBucket, "BTrees.LOBTree", "LOBucket"))));
        fs.Store(m, new Oid(1), Tid.Zero, Record(ZodbModule, "ZBigFile", new PickleTuple((long)BlockSize, Ref(2, "BTrees.LOBTree", "LOBTree"))));
        var root = new PickleDict();
        root.Set("file", Ref(1, ZodbModule, "ZBigFile"));
        var mapping = new PickleDict();
        mapping.Set("data", root);
        fs.Store(m, Oid.Root, Tid.Zero, Record("persistent.mapping", "PersistentMapping", mapping));
        fs.TpcVote(m);
        fs.TpcFinish(m);
    }

    /// <summary>About <paramref name="bytes"/> of small objects (one per record), 64 per transaction, all referenced from the root by a tree of lists.</summary>
    private static void BuildSmallObjects(string path, long bytes, int objectSize)
    {
        int count = (int)(bytes / (objectSize + 60));
        using var fs = FileStorage.Open(path, new FileStorageOptions { Create = true, Fsync = false, SaveIndex = false });
        byte[] payload = new byte[objectSize];
        new Random(7).NextBytes(payload);
        var rootRefs = new PickleList();
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata("bench", "objects"));
        for (int i = 0; i < count; i++)
        {
            if (i > 0 && i % 64 == 0)
            {
                fs.TpcVote(t);
                fs.TpcFinish(t);
                t = fs.TpcBegin(new TransactionMetadata("bench", "objects"));
            }
            fs.Store(t, new Oid(1_000_000 + (ulong)i), Tid.Zero, Record("tests", "Blob", new PickleTuple((long)i, new PickleBytes(payload))));
        }
        // index objects of 1,000 references each, under the root
        for (int g = 0; g * 1000 < count; g++)
        {
            var refs = new PickleList();
            for (int i = g * 1000; i < Math.Min(count, (g + 1) * 1000); i++)
            {
                refs.Add(Ref(1_000_000 + (ulong)i, "tests", "Blob"));
            }
            fs.Store(t, new Oid(1 + (ulong)g), Tid.Zero, Record("tests", "Index", new PickleTuple(refs)));
            rootRefs.Add(Ref(1 + (ulong)g, "tests", "Index"));
        }
        fs.Store(t, Oid.Root, Tid.Zero, Record("tests", "Index", new PickleTuple(rootRefs)));
        fs.TpcVote(t);
        fs.TpcFinish(t);
    }

    /// <summary>
    /// Workload 6's history, written straight in the format (Format/ types; FileStorage commits would take minutes):
    /// the root referencing <paramref name="objects"/> objects, then <paramref name="transactions"/> transactions
    /// each changing one of them. Returns the tids.
    /// </summary>
    private static List<Tid> BuildHistory(string path, int transactions, int objects)
    {
        var tids = new List<Tid>(transactions + 1);
        var index = new long[objects + 1];
        byte[] user = "bench"u8.ToArray();
        byte[] description = "change"u8.ToArray();
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        stream.Write("FS30"u8);
        long pos = FileHeader.DataStart;
        ulong tid = Tid.FromDateTime(new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc)).Value;
        var refs = new PickleList();
        for (int i = 1; i <= objects; i++)
        {
            refs.Add(Ref((ulong)i, "tests", "Node"));
        }
        byte[] rootData = Record("tests", "Node", new PickleTuple(0L, refs));
        WriteTransaction(stream, ref pos, new Tid(tid), user, description, [(Oid.Root, rootData)], index);
        tids.Add(new Tid(tid));
        for (int i = 1; i <= objects; i++)
        {
            tid += 1000;
            WriteTransaction(stream, ref pos, new Tid(tid), user, description, [(new Oid((ulong)i), Record("tests", "Node", new PickleTuple(0L, new PickleList())))], index);
            tids.Add(new Tid(tid));
        }
        for (int n = 0; n < transactions - objects; n++)
        {
            tid += 1000;
            var oid = new Oid((ulong)(n % objects + 1));
            WriteTransaction(stream, ref pos, new Tid(tid), user, description, [(oid, Record("tests", "Node", new PickleTuple((long)n, new PickleList())))], index);
            tids.Add(new Tid(tid));
        }
        return tids;
    }

    private static void WriteTransaction(Stream stream, ref long pos, Tid tid, byte[] user, byte[] description, (Oid Oid, byte[] Data)[] records, long[] index)
    {
        int hlen = TxnHeader.Size + user.Length + description.Length;
        long tlen = hlen + records.Sum(r => DataHeader.Size + r.Data.Length);
        byte[] b = new byte[tlen + TxnHeader.TrailerSize];
        new TxnHeader(tid, (ulong)tlen, TransactionStatus.Committed, (ushort)user.Length, (ushort)description.Length, 0).Write(b);
        user.CopyTo(b, TxnHeader.Size);
        description.CopyTo(b, TxnHeader.Size + user.Length);
        int at = hlen;
        foreach ((Oid oid, byte[] data) in records)
        {
            new DataHeader(oid, tid, index[oid.Value], pos, 0, (ulong)data.Length).Write(b.AsSpan(at));
            data.CopyTo(b, at + DataHeader.Size);
            index[oid.Value] = pos + at;
            at += DataHeader.Size + data.Length;
        }
        TxnHeader.WriteTrailer(b.AsSpan((int)tlen), (ulong)tlen);
        stream.Write(b);
        pos += b.Length;
    }
}
