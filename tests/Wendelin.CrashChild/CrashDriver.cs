using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Wendelin.Storage;
using Wendelin.Storage.Fs;

namespace Wendelin.CrashChild;

/// <summary>What a crash loop found.</summary>
public sealed record CrashReport(int Kills, int Acknowledged, int Transactions, long Records, long FileBytes, int CutTails);

/// <summary>
/// The real-process crash loop (spec/filestorage.md FS-R4, FS-D3): start the child on one data file, let it commit
/// for a random while, kill it with SIGKILL, reopen the file (recovering a torn tail), check that every transaction
/// the child acknowledged is there with the data it wrote, and that a full iteration reads every record; repeat on
/// the same file. Used by the test suite (≥ 50 kills) and by the soak benchmark.
/// </summary>
public static class CrashDriver
{
    /// <summary>A short content hash (16 hex digits of SHA-256).</summary>
    public static string Hash(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data))[..16];

    /// <summary>The child's entry assembly, next to this one.</summary>
    public static string ChildPath => Path.Combine(AppContext.BaseDirectory, "Wendelin.CrashChild.dll");

    public static CrashReport Run(string directory, int kills, int seed, int maxRunMilliseconds, Action<string> log, Action<string>? onChildRunning = null)
    {
        var rng = new Random(seed);
        string path = Path.Combine(directory, "crash.fs");
        var acknowledged = new Dictionary<Tid, string>();
        int transactions = 0, cut = 0;
        long records = 0;
        for (int k = 0; k < kills; k++)
        {
            var acks = new ConcurrentQueue<string>();
            using var ready = new ManualResetEventSlim();
            var psi = new ProcessStartInfo(DotnetHost())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add("exec");
            psi.ArgumentList.Add(ChildPath);
            psi.ArgumentList.Add(path);
            psi.ArgumentList.Add(rng.Next().ToString(CultureInfo.InvariantCulture));
            var errors = new ConcurrentQueue<string>();
            using var child = new Process { StartInfo = psi };
            child.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }
                if (e.Data == "READY")
                {
                    ready.Set();
                }
                else
                {
                    acks.Enqueue(e.Data);
                }
            };
            child.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    errors.Enqueue(e.Data);
                }
            };
            child.Start();
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            if (!ready.Wait(TimeSpan.FromSeconds(60)) )
            {
                child.Kill();
                child.WaitForExit();
                throw new InvalidOperationException($"kill {k}: the child never got ready: {string.Join(" | ", errors)}");
            }
            if (k == 0)
            {
                onChildRunning?.Invoke(path);
            }
            Thread.Sleep(rng.Next(0, maxRunMilliseconds + 1));
            if (child.HasExited)
            {
                throw new InvalidOperationException($"kill {k}: the child exited by itself ({child.ExitCode}): {string.Join(" | ", errors)}");
            }
            child.Kill(); // SIGKILL
            child.WaitForExit(); // also drains the redirected output
            foreach (string line in acks)
            {
                Ack(line, acknowledged);
            }

            using (var fs = FileStorage.Open(path))
            {
                cut += fs.OpenLog.Count(m => m.Contains("torn tail", StringComparison.Ordinal));
                (int txns, long recs) = Verify(fs, acknowledged, k);
                transactions = txns;
                records = recs;
                if (txns - acknowledged.Count > k + 1)
                {
                    throw new InvalidOperationException($"kill {k}: {txns - acknowledged.Count} unacknowledged transactions, at most one per kill expected");
                }
            }
            log(string.Create(CultureInfo.InvariantCulture,
                $"kill {k}: {acks.Count} acknowledged this run, {acknowledged.Count} in all, file {new FileInfo(path).Length} bytes"));
        }
        return new CrashReport(kills, acknowledged.Count, transactions, records, new FileInfo(path).Length, cut);
    }

    private static void Ack(string line, Dictionary<Tid, string> acknowledged)
    {
        string[] parts = line.Split(' ', 3);
        if (parts.Length < 2 || parts[0] != "ACK")
        {
            throw new InvalidOperationException($"unexpected child output: {line}");
        }
        acknowledged[Tid.Parse(parts[1])] = parts.Length == 3 ? parts[2] : "";
    }

    private static (int Transactions, long Records) Verify(FileStorage fs, Dictionary<Tid, string> acknowledged, int kill)
    {
        int found = 0, transactions = 0;
        long records = 0;
        Tid last = Tid.Zero;
        foreach (TransactionRecord t in fs.Iterator())
        {
            if (t.Tid <= last)
            {
                throw new InvalidOperationException($"kill {kill}: tids do not increase at {t.Position}");
            }
            last = t.Tid;
            transactions++;
            var signature = new List<string>();
            foreach (DataRecord r in t.Records)
            {
                ReadOnlyMemory<byte> data = r.ReadData() ?? throw new InvalidOperationException($"kill {kill}: record without data at {r.Position}");
                signature.Add($"{r.Oid}:{Hash(data.Span)}");
                records++;
            }
            if (acknowledged.TryGetValue(t.Tid, out string? expected))
            {
                found++;
                if (expected != string.Join(";", signature))
                {
                    throw new InvalidOperationException($"kill {kill}: transaction {t.Tid} holds {string.Join(";", signature)}, the child wrote {expected}");
                }
            }
        }
        if (found != acknowledged.Count)
        {
            var missing = acknowledged.Keys.Where(tid => !fs.Iterator(tid, tid).Any()).Take(3);
            throw new InvalidOperationException($"kill {kill}: {acknowledged.Count - found} acknowledged transactions lost, e.g. {string.Join(", ", missing)}");
        }
        return (transactions, records);
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
