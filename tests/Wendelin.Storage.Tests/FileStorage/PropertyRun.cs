using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>Runs an FsCheck property from an announced seed, so every run replays with WENDELIN_TEST_SEED.</summary>
internal static class PropertyRun
{
    public static void Check<T>(ITestOutputHelper output, string name, Gen<T> gen, Action<T> body, int maxTest)
    {
        int seed = Seeds.Announce(output, name);
        Config config = Config.QuickThrowOnFailure
            .WithMaxTest(maxTest)
            .WithName(name)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd((ulong)(uint)seed), FSharpOption<int>.None)));
        Prop.ForAll(Arb.From(gen), body).Check(config);
    }
}
