using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>The memos' identity map (PK-11): agrees with a dictionary keyed by identity, below and past its linear part.</summary>
public sealed class IdentityMapTests(ITestOutputHelper output)
{
    [Fact]
    public void Identity_map_agrees_with_a_reference_keyed_dictionary()
    {
        int seed = Seeds.Announce(output, nameof(Identity_map_agrees_with_a_reference_keyed_dictionary));
        var rng = new Random(seed);
        for (int round = 0; round < 50; round++)
        {
            var keys = new List<string>();
            for (int i = 0; i < rng.Next(1, 60); i++)
            {
                keys.Add(new string('k', rng.Next(1, 3))); // equal texts, distinct instances
            }
            var map = new IdentityMap<string, int>();
            var model = new Dictionary<string, int>(ReferenceEqualityComparer.Instance);
            for (int op = 0; op < 200; op++)
            {
                string k = keys[rng.Next(keys.Count)];
                if (rng.Next(2) == 0)
                {
                    int v = rng.Next();
                    map.Set(k, v);
                    model[k] = v;
                }
                Assert.Equal(model.TryGetValue(k, out int want), map.TryGetValue(k, out int got));
                Assert.Equal(want, got);
            }
            foreach (string k in keys)
            {
                Assert.Equal(model.ContainsKey(k), map.ContainsKey(k));
            }
            map.Clear();
            Assert.All(keys, k => Assert.False(map.ContainsKey(k)));
        }
    }
}
