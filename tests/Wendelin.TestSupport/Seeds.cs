namespace Wendelin.TestSupport;

/// <summary>
/// Seeds for randomized tests. Every randomized test takes its seed from here and prints it, so a failure
/// replays with <c>WENDELIN_TEST_SEED=&lt;seed&gt; dotnet test --filter ...</c>.
/// </summary>
public static class Seeds
{
    /// <summary>The seed to use: <c>WENDELIN_TEST_SEED</c> when set, else a fresh random one.</summary>
    public static int Next()
    {
        string? fixedSeed = Environment.GetEnvironmentVariable("WENDELIN_TEST_SEED");
        if (fixedSeed is not null && int.TryParse(fixedSeed, out int s))
        {
            return s;
        }
        return Random.Shared.Next();
    }

    /// <summary>Picks a seed, writes it to the test output and returns it.</summary>
    public static int Announce(Xunit.Abstractions.ITestOutputHelper output, string what)
    {
        int seed = Next();
        output.WriteLine($"{what}: seed {seed} (replay with WENDELIN_TEST_SEED={seed})");
        return seed;
    }

    /// <summary>
    /// An FsCheck replay string for <c>Config.WithReplay</c>: <c>WENDELIN_FSCHECK_REPLAY</c> when set
    /// (FsCheck prints the value to use when a property fails), else null.
    /// </summary>
    public static string? FsCheckReplay => Environment.GetEnvironmentVariable("WENDELIN_FSCHECK_REPLAY");
}
