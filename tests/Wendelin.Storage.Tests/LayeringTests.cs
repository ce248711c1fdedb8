using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests;

/// <summary>References point down only: Tools → Arrays → Storage (style.md, "The map").</summary>
public sealed class LayeringTests
{
    [Fact]
    public void Storage_references_no_other_wendelin_assembly() =>
        Assert.Empty(Layering.WendelinReferencesOf("Wendelin.Storage"));
}
