using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Wendelin.Tools;

/// <summary>
/// Progress of a long step: a progress bar when the command writes to an interactive terminal, otherwise
/// (redirected, or tests writing to a StringWriter) plain lines at every tenth of the way and at the end.
/// </summary>
internal static class ByteProgress
{
    /// <summary>True when <paramref name="output"/> is the process's console and the console is a terminal.</summary>
    public static bool IsInteractive(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb";

    /// <summary>
    /// Runs <paramref name="work"/>, which reports its progress (in units of <paramref name="total"/>, e.g. bytes)
    /// through the callback it is given.
    /// </summary>
    public static void Run(TextWriter output, string label, long total, Action<Action<long>> work)
    {
        if (IsInteractive(output))
        {
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    ProgressTask task = ctx.AddTask(label, maxValue: Math.Max(1, total));
                    work(done => task.Value = Math.Min(done, total));
                    task.Value = task.MaxValue;
                });
            return;
        }
        var clock = Stopwatch.StartNew();
        int lastTenth = -1;
        work(done =>
        {
            int tenth = total <= 0 ? 10 : (int)(Math.Min(done, total) * 10 / total);
            if (tenth > lastTenth && tenth < 10)
            {
                lastTenth = tenth;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label}: {tenth * 10}% ({Units.Bytes(done)} of {Units.Bytes(total)}, {clock.Elapsed.TotalSeconds:F1} s)"));
            }
        });
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label}: 100% ({Units.Bytes(total)}, {clock.Elapsed.TotalSeconds:F1} s)"));
    }
}

/// <summary>Sizes and rates as people read them, and sizes as people type them.</summary>
internal static class Units
{
    public static string Bytes(long n)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = n;
        int u = 0;
        while (Math.Abs(v) >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }
        return u == 0 ? string.Create(CultureInfo.InvariantCulture, $"{n} B") : string.Create(CultureInfo.InvariantCulture, $"{v:F1} {units[u]}");
    }

    public static string Rate(long bytes, TimeSpan time) =>
        string.Create(CultureInfo.InvariantCulture, $"{bytes / Math.Max(time.TotalSeconds, 1e-9) / (1 << 20):F0} MiB/s");

    /// <summary>Parses <c>512M</c>, <c>2G</c>, <c>64KiB</c>, <c>1000000</c> (bytes); throws <see cref="ToolException"/> otherwise.</summary>
    public static long ParseSize(string text, string what)
    {
        string s = text.Trim();
        long mul = 1;
        string[] suffixes = ["KIB", "MIB", "GIB", "TIB", "KB", "MB", "GB", "TB", "K", "M", "G", "T", "B"];
        foreach (string suffix in suffixes)
        {
            if (s.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                mul = suffix[0] switch
                {
                    'K' => 1L << 10,
                    'M' => 1L << 20,
                    'G' => 1L << 30,
                    'T' => 1L << 40,
                    _ => 1,
                };
                s = s[..^suffix.Length].Trim();
                break;
            }
        }
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < 0 || double.IsNaN(v) || v * mul > long.MaxValue / 2)
        {
            throw new ToolException($"{what}: '{text}' is not a size (examples: 512M, 2G, 64KiB)");
        }
        return (long)(v * mul);
    }
}
