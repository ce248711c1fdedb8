using System.Diagnostics;
using System.Globalization;
using Wendelin.Arrays;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;

namespace Wendelin.Benchmarks;

/// <summary>Shared pieces of the ZBigArray benchmarks: building test databases, timing individual operations, memory.</summary>
internal static class ZodbBench
{
    /// <summary>Item i of the float64 test arrays (exact in double, never all-zero blocks).</summary>
    public static double Value(long i) => (i % 1000) + 1;

    /// <summary>Opens (or builds once and keeps) a database holding root["a"] = float64 ZBigArray of <paramref name="bytes"/> in <paramref name="format"/>.</summary>
    public static string EnsureArrayDb(string dir, long bytes, ZBlkFormat format)
    {
        string path = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"wendelin-bench-{format}-{bytes >> 20}m.fs"));
        if (File.Exists(path))
        {
            EnsureIndex(path);
            return path;
        }
        string tmp = path + ".building";
        File.Delete(tmp);
        var clock = Stopwatch.StartNew();
        using (var db = new Database(FileStorage.Open(tmp, new FileStorageOptions { Create = true, Fsync = false })))
        {
            Connection c = db.Open();
            var a = new ZBigArray([0], DType.Float64) { BlockFormat = format, HandleOptions = new FileHandleOptions { RamBudget = 256L << 20 } };
            c.Root["a"] = a;
            c.TransactionManager.Commit();
            long items = bytes / 8;
            var piece = new double[1 << 20];
            for (long i = 0; i < items; i += piece.Length)
            {
                int n = (int)Math.Min(piece.Length, items - i);
                for (int k = 0; k < n; k++)
                {
                    piece[k] = Value(i + k);
                }
                a.Append<double>(piece.AsSpan(0, n));
                if ((i / piece.Length) % 32 == 31 || i + n == items)
                {
                    c.TransactionManager.Commit(); // 256 MiB per commit
                }
            }
            c.Dispose();
        }
        File.Move(tmp, path);
        File.Delete(tmp + ".index");
        EnsureIndex(path);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"built {path} ({bytes >> 20} MiB, {format}) in {clock.Elapsed.TotalSeconds:0.0} s"));
        return path;
    }

    /// <summary>
    /// Gives a test database its <c>.index</c>, as every FileStorage closed normally has (spec/filestorage.md), so the
    /// read-only opens of the benchmarks load the index instead of scanning every record's header (4,096 header reads
    /// at 8 GiB, most of them from disk after the cache is dropped). Skipped when another process holds the lock.
    /// </summary>
    private static void EnsureIndex(string path)
    {
        if (File.Exists(path + ".index"))
        {
            return;
        }
        try
        {
            FileStorage.Open(path).Dispose(); // a writable open writes NAME.index when it closes
        }
        catch (Wendelin.Storage.LockException)
        {
        }
    }

    /// <summary>p50, p90 and p99 of <paramref name="seconds"/> as text in milliseconds.</summary>
    public static string Percentiles(List<double> seconds, out double p50)
    {
        double[] s = [.. seconds.Order()];
        p50 = s[s.Length / 2];
        return string.Create(CultureInfo.InvariantCulture,
            $"p50 {s[s.Length / 2] * 1e3:0.000} ms, p90 {s[(int)(s.Length * 0.9)] * 1e3:0.000} ms, p99 {s[(int)(s.Length * 0.99)] * 1e3:0.000} ms");
    }

    /// <summary>VmHWM / VmRSS of this process.</summary>
    public static long Status(string key)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    /// <summary>Resets the peak-RSS mark (Linux: write 5 to /proc/self/clear_refs).</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
