using System.Diagnostics;
using System.Globalization;

namespace Wendelin.Benchmarks;

/// <summary>
/// The benchmark harness (../../spec and shared/benchmarks.md rules): every measurement runs beside a baseline
/// in the same process, on the same data, and reports the median of several runs with min and max plus the
/// ratio to the baseline. We use this small harness instead of BenchmarkDotNet because the workloads need
/// cold-cache control, fsync, files of gigabytes and baselines that are themselves I/O, which BenchmarkDotNet's
/// microbenchmark model does not fit.
/// </summary>
internal sealed class Harness
{
    private readonly int _runs;

    public Harness(int runs) => _runs = Math.Max(3, runs);

    /// <summary>Times <paramref name="action"/> <c>runs</c> times (after <paramref name="setup"/> each time) and returns the samples in seconds.</summary>
    public Samples Measure(string name, Action action, Action? setup = null)
    {
        var seconds = new double[_runs];
        for (int i = 0; i < _runs; i++)
        {
            setup?.Invoke();
            long start = Stopwatch.GetTimestamp();
            action();
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        return new Samples(name, seconds);
    }

    /// <summary>
    /// Measures the actions in turn, <paramref name="runs"/> rounds, so that drift hits all alike; with
    /// <paramref name="warmup"/>, each action runs once untimed first (JIT tiers, caches, file system), so the rounds
    /// measure the steady state of every action alike.
    /// </summary>
    public static Samples[] Interleaved(int runs, params (string Name, Action Action)[] items) => Interleaved(runs, false, items);

    /// <inheritdoc cref="Interleaved(int, ValueTuple{string, Action}[])"/>
    public static Samples[] Interleaved(int runs, bool warmup, params (string Name, Action Action)[] items)
    {
        if (warmup)
        {
            foreach ((_, Action action) in items)
            {
                action();
            }
        }
        double[][] seconds = [.. items.Select(_ => new double[runs])];
        for (int r = 0; r < runs; r++)
        {
            for (int i = 0; i < items.Length; i++)
            {
                long start = Stopwatch.GetTimestamp();
                items[i].Action();
                seconds[i][r] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
        }
        return [.. items.Select((item, i) => new Samples(item.Name, seconds[i]))];
    }

    /// <summary>
    /// Times several actions in turns, rotating (A B C, B C A, C A B, …; <paramref name="setup"/> before each), so
    /// that drift of the shared machine and the effects of one run on the next hit them alike: same-run ratios of
    /// interleaved samples are steadier than of blocks.
    /// </summary>
    public Samples[] MeasureInterleaved(IReadOnlyList<(string Name, Action Action)> actions, Action? setup = null)
    {
        var seconds = new double[actions.Count][];
        for (int a = 0; a < actions.Count; a++)
        {
            seconds[a] = new double[_runs];
        }
        for (int i = 0; i < _runs; i++)
        {
            for (int k = 0; k < actions.Count; k++)
            {
                int a = (i + k) % actions.Count; // each round starts with the next action: no action always runs first
                setup?.Invoke();
                long start = Stopwatch.GetTimestamp();
                actions[a].Action();
                seconds[a][i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
        }
        var result = new Samples[actions.Count];
        for (int a = 0; a < actions.Count; a++)
        {
            result[a] = new Samples(actions[a].Name, seconds[a]);
        }
        return result;
    }

    /// <summary>Prints one line: name, median/min/max, throughput for <paramref name="units"/> units of <paramref name="unitName"/>, and the ratio of the medians.</summary>
    public static void Report(Samples measured, Samples baseline, double units, string unitName, bool higherIsBetter = true)
    {
        double m = units / measured.Median, b = units / baseline.Median;
        double ratio = higherIsBetter ? m / b : measured.Median / baseline.Median;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{measured.Name,-44} {Format(units / measured.Median)} {unitName}/s (min {Format(units / measured.Max)}, max {Format(units / measured.Min)})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{"  baseline: " + baseline.Name,-44} {Format(b)} {unitName}/s (min {Format(units / baseline.Max)}, max {Format(units / baseline.Min)})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"  ratio",-44} {ratio:0.000}x"));
    }

    public static string Format(double v) => v switch
    {
        >= 1e9 => string.Create(CultureInfo.InvariantCulture, $"{v / 1e9:0.00}G"),
        >= 1e6 => string.Create(CultureInfo.InvariantCulture, $"{v / 1e6:0.00}M"),
        >= 1e3 => string.Create(CultureInfo.InvariantCulture, $"{v / 1e3:0.00}k"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{v:0.00}"),
    };

    /// <summary>Asks the kernel to drop the page cache for one file (cold runs); no-op where unsupported.</summary>
    public static void DropFileCache(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        _ = PosixFadvise(fs.SafeFileHandle.DangerousGetHandle().ToInt32(), 0, 0, 4 /* POSIX_FADV_DONTNEED */);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "posix_fadvise")]
    private static extern int PosixFadvise(int fd, long offset, long len, int advice);
}

/// <summary>Timing samples of one measured thing, in seconds.</summary>
internal sealed record Samples(string Name, double[] Seconds)
{
    public double Median
    {
        get
        {
            double[] s = Seconds.Order().ToArray();
            return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        }
    }

    public double Min => Seconds.Min();

    public double Max => Seconds.Max();
}
