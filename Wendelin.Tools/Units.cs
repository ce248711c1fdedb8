using System.Globalization;

namespace Wendelin.Tools;

/// <summary>Sizes, rates and times as people read them, and sizes as people type them (every command uses these).</summary>
internal static class Units
{
    private static readonly string[] Names = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

    /// <summary><c>512 B</c>, <c>1.5 KiB</c>, <c>128.0 MiB</c>: powers of 1024, one decimal past bytes.</summary>
    public static string Bytes(long n)
    {
        double v = n;
        int u = 0;
        while (Math.Abs(v) >= 1024 && u < Names.Length - 1)
        {
            v /= 1024;
            u++;
        }
        return u == 0 ? string.Create(CultureInfo.InvariantCulture, $"{n} B") : string.Create(CultureInfo.InvariantCulture, $"{v:F1} {Names[u]}");
    }

    /// <summary><c>248.0/512.0 MiB</c> when both sizes are in one unit, else <c>312.0 MiB/1.0 GiB</c>.</summary>
    public static string BytesOf(long done, long total)
    {
        string a = Bytes(done), b = Bytes(total);
        int space = a.LastIndexOf(' ');
        return space > 0 && b.EndsWith(a[space..], StringComparison.Ordinal) ? $"{a[..space]}/{b}" : $"{a}/{b}";
    }

    /// <summary>A throughput: <c>157 MiB/s</c>, <c>2.1 GiB/s</c> (whole MiB/s, one decimal otherwise).</summary>
    public static string Rate(long bytes, TimeSpan time) => Rate(bytes / Math.Max(time.TotalSeconds, 1e-9));

    /// <summary>A throughput of <paramref name="bytesPerSecond"/>.</summary>
    public static string Rate(double bytesPerSecond)
    {
        double v = bytesPerSecond;
        int u = 0;
        while (v >= 1024 && u < Names.Length - 1)
        {
            v /= 1024;
            u++;
        }
        return u == 2 ? string.Create(CultureInfo.InvariantCulture, $"{v:F0} {Names[u]}/s") : string.Create(CultureInfo.InvariantCulture, $"{v:F1} {Names[u]}/s");
    }

    /// <summary>Seconds with one decimal: <c>6.5 s</c>.</summary>
    public static string Seconds(TimeSpan time) => string.Create(CultureInfo.InvariantCulture, $"{time.TotalSeconds:F1} s");

    /// <summary>
    /// Parses a size: a number of bytes with an optional suffix K, M, G, T (powers of 1024; KB, KiB, MB, MiB… mean the
    /// same), e.g. <c>512M</c>, <c>2G</c>, <c>64KiB</c>, <c>1.5G</c>, <c>1000000</c>.
    /// </summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
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
        if (s.Length == 0 || !double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double v)
            || !double.IsFinite(v) || v * mul > long.MaxValue / 2)
        {
            return false;
        }
        bytes = (long)(v * mul);
        return true;
    }
}
