namespace Wendelin.Arrays.Zodb;

/// <summary>
/// How a <see cref="ZBigFile"/> stores a changed block (spec/zbigfile.md ZB-20..ZB-23, wendelin-core §3): one
/// <c>ZBlk0</c> object holding the whole block, a <c>ZBlk1</c> tree of 4 KiB <c>ZData</c> chunks, or upstream's
/// <c>auto</c> heuristic choosing per block. The format only affects writes; every format is read.
/// </summary>
public enum ZBlkFormat
{
    /// <summary>One object per block: fast to read, a whole (stripped) block written per changed block.</summary>
    ZBlk0,

    /// <summary>An IOBTree of 4 KiB chunks per block: only changed chunks are written, reads load many objects.</summary>
    ZBlk1,

    /// <summary>Upstream HEAD's heuristic (ZB-22): ZBlk1 for small changes and growing tail blocks, ZBlk0 otherwise.</summary>
    Auto,
}

/// <summary>
/// The default write format and its environment variable (ZB-21). Like upstream, the variable
/// <c>WENDELIN_CORE_ZBLK_FMT</c> is read once, on first use: <c>ZBlk0</c>, <c>ZBlk1</c> or <c>auto</c> (exactly these
/// spellings); unset means <c>ZBlk0</c>, upstream's default in its local-cache mode (which is what this
/// implementation is: every handle has its own page cache); any other value, the empty string included, makes
/// <see cref="Default"/> throw <see cref="ZBlkFormatException"/>.
/// </summary>
public static class ZBlkFormats
{
    /// <summary>The environment variable upstream reads.</summary>
    public const string EnvironmentVariable = "WENDELIN_CORE_ZBLK_FMT";

    private static readonly Lazy<ZBlkFormat> FromEnv = new(
        () => Parse(Environment.GetEnvironmentVariable(EnvironmentVariable)), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// The format new <see cref="ZBigFile"/>s write with unless told otherwise.
    /// <see cref="ZBlkFormatException"/> when the environment variable holds an unknown value.
    /// </summary>
    public static ZBlkFormat Default => FromEnv.Value;

    /// <summary>Reads a value of <see cref="EnvironmentVariable"/>; null (unset) gives <see cref="ZBlkFormat.ZBlk0"/>.</summary>
    internal static ZBlkFormat Parse(string? value) => value switch
    {
        null or "ZBlk0" => ZBlkFormat.ZBlk0,
        "ZBlk1" => ZBlkFormat.ZBlk1,
        "auto" => ZBlkFormat.Auto,
        _ => throw new ZBlkFormatException(EnvironmentVariable, value),
    };

    /// <summary>The Python class name blocks of this format are stored under.</summary>
    internal static string Describe(this ZBlkFormat format) => format switch
    {
        ZBlkFormat.ZBlk0 => "ZBlk0",
        ZBlkFormat.ZBlk1 => "ZBlk1",
        _ => "auto",
    };
}

/// <summary>
/// A configuration error (spec/zbigfile.md ZB-21): <see cref="Variable"/> holds <see cref="Value"/>, which names no
/// block format; <see cref="Accepted"/> lists the spellings that do. Derives from <see cref="InvalidOperationException"/>
/// (what <see cref="ZBlkFormats.Default"/> threw before this type existed).
/// </summary>
public sealed class ZBlkFormatException : InvalidOperationException
{
    internal ZBlkFormatException(string variable, string value)
        : base($"{variable}='{value}' names no block format: the accepted values are ZBlk0, ZBlk1 and auto (unset means ZBlk0)")
    {
        Variable = variable;
        Value = value;
    }

    /// <summary>The environment variable read (<see cref="ZBlkFormats.EnvironmentVariable"/>).</summary>
    public string Variable { get; }

    /// <summary>The value it holds.</summary>
    public string Value { get; }

    /// <summary>The values it may hold, exactly so spelled.</summary>
    public static IReadOnlyList<string> Accepted { get; } = ["ZBlk0", "ZBlk1", "auto"];
}
