namespace Wendelin.Benchmarks;

/// <summary>
/// Benchmarks, outside the test suite:
/// <c>dotnet run -c Release --project tests/Wendelin.Benchmarks -- NAME [--runs N] [options]</c>.
/// Each benchmark prints its figures and the ratio to a baseline measured in the same run.
/// </summary>
internal static class Program
{
    /// <summary>Registered benchmarks: name → (description, entry taking the remaining arguments).</summary>
    internal static readonly SortedDictionary<string, (string Description, Func<BenchArgs, int> Run)> All =
        new(StringComparer.Ordinal);

    public static int Main(string[] args)
    {
        Registry.RegisterAll();
        if (args.Length == 0 || !All.TryGetValue(args[0], out var bench))
        {
            Console.Error.WriteLine("usage: dotnet run -c Release --project tests/Wendelin.Benchmarks -- NAME [--runs N] [--key value ...]");
            foreach (var (name, (description, _)) in All)
            {
                Console.Error.WriteLine($"  {name,-24} {description}");
            }
            return 2;
        }
        return bench.Run(new BenchArgs(args.Skip(1).ToArray()));
    }
}

/// <summary>Options of a benchmark run: <c>--key value</c> pairs.</summary>
internal sealed class BenchArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public BenchArgs(string[] args)
    {
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            _values[args[i].TrimStart('-')] = args[i + 1];
        }
    }

    public int Runs => Int("runs", 3);

    public int Int(string key, int fallback) => _values.TryGetValue(key, out string? v) ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    public long Long(string key, long fallback) => _values.TryGetValue(key, out string? v) ? long.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    public string Str(string key, string fallback) => _values.TryGetValue(key, out string? v) ? v : fallback;
}
