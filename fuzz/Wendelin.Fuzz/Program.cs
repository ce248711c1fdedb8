namespace Wendelin.Fuzz;

/// <summary>
/// SharpFuzz entry point: <c>wendelin-fuzz TARGET</c> runs one thin target (bytes in, public API out) under
/// libFuzzer/AFL. See fuzz/README.md for how to run each target.
/// </summary>
internal static class Program
{
    private static readonly Dictionary<string, Action<ReadOnlySpan<byte>>> Targets = new(StringComparer.Ordinal)
    {
        ["pickle"] = PickleTarget.Run,
        ["filestorage"] = FileStorageTarget.Run,
        ["objects"] = ObjectsTarget.Run,
        ["verify"] = VerifyTarget.Run,
    };

    public static int Main(string[] args)
    {
        if (args.Length != 1 || !Targets.TryGetValue(args[0], out Action<ReadOnlySpan<byte>>? target))
        {
            Console.Error.WriteLine($"usage: Wendelin.Fuzz TARGET   (targets: {string.Join(", ", Targets.Keys.Order(StringComparer.Ordinal))})");
            return 2;
        }
        SharpFuzz.Fuzzer.LibFuzzer.Run(span => target(span));
        return 0;
    }
}
