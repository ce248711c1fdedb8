using Wendelin.Storage.Verify;

namespace Wendelin.Storage.Tests;

/// <summary>Every file a test writes is verified afterwards (style.md habit 8).</summary>
internal static class VerifyAssert
{
    public static void Clean(string path)
    {
        var verifier = new Verifier(path);
        List<Finding> findings = [.. verifier.Run()];
        Assert.True(findings.Count == 0, $"{path} does not verify clean:\n{string.Join("\n", findings)}");
    }

    /// <summary>
    /// <paramref name="path"/>, derived from <paramref name="original"/>, has no structural finding and no object
    /// finding (code and object) that the original does not have: it introduced no damage.
    /// </summary>
    public static void NoNewFindings(string original, string path)
    {
        // A reference to an object whose creation was undone (V203) becomes one to a missing object (V202) when the pack
        // drops the undone object: the same dangling reference.
        static string Kind(string code) => code == "V203" ? "V202" : code;
        var before = new HashSet<(string, Oid?)>(new Verifier(original).Run().Select(f => (Kind(f.Code), f.Oid)));
        List<Finding> findings = [.. new Verifier(path).Run().Where(f => f.Code.StartsWith("V1", StringComparison.Ordinal) || !before.Contains((Kind(f.Code), f.Oid)))];
        Assert.True(findings.Count == 0, $"{path} has findings {original} does not have:\n{string.Join("\n", findings)}");
    }
}
