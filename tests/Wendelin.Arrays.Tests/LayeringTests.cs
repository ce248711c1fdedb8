using Wendelin.TestSupport;

namespace Wendelin.Arrays.Tests;

/// <summary>References point down only: Tools → Arrays → Storage (style.md, "The map").</summary>
public sealed class LayeringTests
{
    [Fact]
    public void Arrays_references_only_storage()
    {
        string[] refs = Layering.WendelinReferencesOf("Wendelin.Arrays");
        Assert.DoesNotContain("Wendelin.Tools", refs);
        Assert.All(refs, r => Assert.Equal("Wendelin.Storage", r));
    }
}
