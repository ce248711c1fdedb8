using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Wendelin.CrashChild;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.TestSupport;

namespace Wendelin.Benchmarks;

/// <summary>
/// FileStorage figures (shared/benchmarks.md, workload 5 and its rules), each against a raw-I/O baseline measured in
/// the same run on the same bytes.
/// </summary>
internal static class FileStorageBenchmarks
{
    [Benchmark("fs-commit", "1-object commits/s with and without fsync vs raw append(+fsync) of the same bytes")]
    public static int Commit(BenchArgs args)
    {
        int commits = args.Int("commits", 1000);
        int size = args.Int("size", 100);
        int runs = Math.Max(3, args.Runs);
        using var dir = new TempDirectory("bench-commit");
        byte[] payload = new byte[size];
        Random.Shared.NextBytes(payload);
        byte[] txnBytes = OneCommitBytes(dir.File("probe.fs"), payload);
        foreach (bool fsync in new[] { true, false })
        {
            string path = dir.File($"commit-{fsync}.fs");
            string raw = dir.File($"raw-{fsync}.bin");
            // The disk is shared and drifts: the three are measured interleaved, run by run.
            Samples[] s = Harness.Interleaved(runs, warmup: true,
                ($"FileStorage commit (fsync {(fsync ? "on" : "off")})", () =>
                {
                    using var fs = FileStorage.Open(path, new FileStorageOptions { Create = true, Fsync = fsync, SaveIndex = false });
                    Tid serial = Tid.Zero;
                    for (int i = 0; i < commits; i++)
                    {
                        StorageTransaction t = fs.TpcBegin(new TransactionMetadata("bench", "commit"));
                        fs.Store(t, new Oid(1), serial, payload);
                        fs.TpcVote(t);
                        serial = fs.TpcFinish(t);
                    }
                }),
                ($"raw append of the same {txnBytes.Length} bytes{(fsync ? " + fdatasync" : "")}", () => RawAppend(raw, txnBytes, commits, fsync, twice: false)),
                (fsync ? "raw append + fdatasync, 1-byte write + fdatasync (our two durability points)" : "raw append, then a 1-byte write (vote and finish)",
                    () => RawAppend(raw, txnBytes, commits, fsync, twice: true)));
            Harness.Report(s[0], s[1], commits, "commits");
            Harness.Report(s[0], s[2], commits, "commits");
        }
        return 0;
    }

    private static byte[] OneCommitBytes(string path, byte[] payload)
    {
        using (var fs = FileStorage.Open(path, new FileStorageOptions { Create = true, Fsync = false, SaveIndex = false }))
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata("bench", "commit"));
            fs.Store(t, new Oid(1), Tid.Zero, payload);
            fs.TpcVote(t);
            fs.TpcFinish(t);
        }
        byte[] all = File.ReadAllBytes(path);
        return all[4..];
    }

    private static void RawAppend(string path, byte[] bytes, int count, bool fsync, bool twice)
    {
        using SafeFileHandle f = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
        long pos = 0;
        for (int i = 0; i < count; i++)
        {
            RandomAccess.Write(f, bytes, pos);
            if (fsync)
            {
                DataSync(f);
            }
            if (twice)
            {
                RandomAccess.Write(f, bytes.AsSpan(16, 1), pos + 16);
                if (fsync)
                {
                    DataSync(f);
                }
            }
            pos += bytes.Length;
        }
    }

    /// <summary>fdatasync where there is one (the baseline of shared/benchmarks.md), else a full flush.</summary>
    internal static void DataSync(SafeFileHandle f)
    {
        if (!OperatingSystem.IsLinux() || Fdatasync(f) != 0)
        {
            RandomAccess.FlushToDisk(f);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static extern int Fdatasync(SafeFileHandle fd);

    [Benchmark("fs-load", "random Load/s from a 1 GiB file vs raw positional reads of the same records")]
    public static int Load(BenchArgs args)
    {
        long bytes = args.Long("bytes", 1L << 30);
        int objectSize = args.Int("object", 4096);
        int loads = args.Int("loads", 200_000);
        using var dir = new TempDirectory("bench-load");
        string path = dir.File("load.fs");
        int objects = Build(path, bytes, objectSize);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"file: {new FileInfo(path).Length >> 20} MiB, {objects} objects of {objectSize} bytes"));
        using var fs = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        var rng = new Random(42);
        int[] picks = new int[loads];
        for (int i = 0; i < loads; i++)
        {
            picks[i] = rng.Next(objects);
        }
        IReadOnlyList<(Oid Oid, long Position)> index = fs.CurrentRecords();
        var positions = new Dictionary<Oid, long>(index.Count);
        foreach ((Oid oid, long p) in index)
        {
            positions[oid] = p;
        }
        long sink = 0;
        using SafeFileHandle raw = File.OpenHandle(path);
        byte[] header = new byte[42];
        byte[] buffer = new byte[objectSize];
        Samples[] s = Harness.Interleaved(Math.Max(3, args.Runs), warmup: true,
            ("FileStorage.Load (random oid)", () =>
            {
                foreach (int k in picks)
                {
                    sink += fs.Load(new Oid((ulong)k + 1)).Data.Length;
                }
            }),
            ("raw: pread header + payload at the same positions", () =>
            {
                foreach (int k in picks)
                {
                    long p = positions[new Oid((ulong)k + 1)];
                    RandomAccess.Read(raw, header, p);
                    sink += RandomAccess.Read(raw, buffer, p + 42);
                }
            }));
        (Samples ours, Samples baseline) = (s[0], s[1]);
        Harness.Report(ours, baseline, loads, "loads");
        GC.KeepAlive(sink);
        return 0;
    }

    [Benchmark("fs-iterate", "iteration MB/s (every record's data) vs a raw sequential read of the same file")]
    public static int Iterate(BenchArgs args)
    {
        long bytes = args.Long("bytes", 1L << 30);
        int objectSize = args.Int("object", 4096);
        using var dir = new TempDirectory("bench-iterate");
        string path = dir.File("iterate.fs");
        Build(path, bytes, objectSize);
        long size = new FileInfo(path).Length;
        using var fs = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        long sink = 0;
        Samples[] s = Harness.Interleaved(Math.Max(3, args.Runs), warmup: true,
            ("FileStorage.Iterator + ReadData of every record", () =>
            {
                foreach (TransactionRecord t in fs.Iterator())
                {
                    foreach (DataRecord r in t.Records)
                    {
                        sink += r.ReadData()!.Value.Length;
                    }
                }
            }),
            ("raw sequential read (1 MiB RandomAccess reads)", () => sink += SequentialRead(path)),
            ("raw read into fresh 80 KiB arrays (memory that outlives the loop, as payloads must)", () => sink += SequentialReadFresh(path)));
        Harness.Report(s[0], s[1], size, "B");
        Harness.Report(s[0], s[2], size, "B");
        GC.KeepAlive(sink);
        return 0;
    }

    /// <summary>
    /// A sequential read where every 80 KiB goes into a new array, as an iterator that hands out payloads must place
    /// them (the baseline above reuses one cache-resident buffer, whose bytes are overwritten at the next read).
    /// </summary>
    private static long SequentialReadFresh(string path)
    {
        using SafeFileHandle f = File.OpenHandle(path);
        long total = 0, pos = 0;
        int n;
        while (true)
        {
            byte[] buffer = GC.AllocateUninitializedArray<byte>(80 << 10);
            if ((n = RandomAccess.Read(f, buffer, pos)) <= 0)
            {
                break;
            }
            pos += n;
            total += buffer[0];
        }
        return total + pos;
    }

    [Benchmark("fs-open", "open time of a 100,000-transaction file with and without .index, rebuild vs sequential read")]
    public static int Open(BenchArgs args)
    {
        int transactions = args.Int("txns", 100_000);
        int objects = args.Int("objects", 10_000);
        using var dir = new TempDirectory("bench-open");
        string path = dir.File("open.fs");
        var rng = new Random(7);
        var serials = new Tid[objects];
        byte[] payload = new byte[64];
        using (var fs = FileStorage.Open(path, new FileStorageOptions { Create = true, Fsync = false }))
        {
            for (int i = 0; i < transactions; i++)
            {
                int k = rng.Next(objects);
                StorageTransaction t = fs.TpcBegin(new TransactionMetadata("bench", "open"));
                rng.NextBytes(payload);
                fs.Store(t, new Oid((ulong)k + 1), serials[k], payload);
                fs.TpcVote(t);
                serials[k] = fs.TpcFinish(t);
            }
        } // close writes NAME.index
        long size = new FileInfo(path).Length;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"file: {transactions} transactions, {size >> 20} MiB, .index {new FileInfo(path + ".index").Length} bytes"));
        long sink = 0;
        Samples[] s = Harness.Interleaved(Math.Max(7, args.Runs), warmup: true,
            ("open read-only with NAME.index", () =>
            {
                using var fs = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
                if (!fs.IndexLoaded)
                {
                    throw new InvalidOperationException("index not loaded");
                }
            }),
            ("open read-only rebuilding the index (scan)", () =>
            {
                using var fs = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true, UseIndex = false });
            }),
            ("raw sequential read of the file", () => sink += SequentialRead(path)));
        (Samples withIndex, Samples without, Samples read) = (s[0], s[1], s[2]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"open with .index: {withIndex.Median * 1e3:0.00} ms (min {withIndex.Min * 1e3:0.00}, max {withIndex.Max * 1e3:0.00}); without: {without.Median * 1e3:0.0} ms (min {without.Min * 1e3:0.0}, max {without.Max * 1e3:0.0}); ratio {without.Median / withIndex.Median:0.0}x"));
        Harness.Report(without, read, size, "B");
        GC.KeepAlive(sink);
        return 0;
    }

    [Benchmark("fs-crash-soak", "SIGKILL a committing child process many times (--kills N, default 500); every acknowledged transaction must survive")]
    public static int CrashSoak(BenchArgs args)
    {
        int kills = args.Int("kills", 500);
        int seed = args.Int("seed", Environment.TickCount);
        using var dir = new TempDirectory("crash-soak");
        Console.WriteLine($"seed {seed}");
        CrashReport report = CrashDriver.Run(dir.Path, kills, seed, args.Int("max-ms", 300), line =>
        {
            if (line.StartsWith("kill ", StringComparison.Ordinal) && line.Split(' ')[1].TrimEnd(':') is string n && int.Parse(n, CultureInfo.InvariantCulture) % 50 == 49)
            {
                Console.WriteLine(line);
            }
        });
        Console.WriteLine(report);
        return 0;
    }

    /// <summary>Fills a data file with about <paramref name="bytes"/> bytes of distinct objects (100 per transaction, no fsync).</summary>
    private static int Build(string path, long bytes, int objectSize)
    {
        int objects = (int)(bytes / (objectSize + 42));
        byte[] payload = new byte[objectSize];
        var rng = new Random(1);
        using var fs = FileStorage.Open(path, new FileStorageOptions { Create = true, Fsync = false, SaveIndex = false });
        for (int i = 0; i < objects;)
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata("bench", "fill"));
            for (int j = 0; j < 100 && i < objects; j++, i++)
            {
                rng.NextBytes(payload);
                fs.Store(t, new Oid((ulong)i + 1), Tid.Zero, payload);
            }
            fs.TpcVote(t);
            fs.TpcFinish(t);
        }
        return objects;
    }

    private static long SequentialRead(string path)
    {
        using SafeFileHandle f = File.OpenHandle(path);
        byte[] buffer = new byte[1 << 20];
        long total = 0, pos = 0;
        int n;
        while ((n = RandomAccess.Read(f, buffer, pos)) > 0)
        {
            pos += n;
            total += buffer[0];
        }
        return total + pos;
    }
}
