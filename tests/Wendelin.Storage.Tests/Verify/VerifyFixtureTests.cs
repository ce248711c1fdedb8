using System.Text.Json.Nodes;
using Wendelin.Storage.Verify;
using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests.Verify;

/// <summary>Verify on the golden files (spec/verify.md §6): the good ones are clean, each crash file's damage is found with its code and position.</summary>
public sealed class VerifyFixtureTests
{
    internal static List<Finding> Run(string path, VerifyOptions? options = null) => [.. new Verifier(path, options).Run()];

    [Theory]
    [InlineData("basic.fs")]
    [InlineData("undo.fs")]
    [InlineData("packed.fs")]
    [InlineData("zbigarray-zblk0.fs")]
    [InlineData("zbigarray-zblk1.fs")]
    [InlineData("upstream-zblk/py2_pickle1/zblk.fs")]
    [InlineData("upstream-zblk/py2_pickle2/zblk.fs")]
    [InlineData("upstream-zblk/py2_pickle3/zblk.fs")]
    [InlineData("upstream-zblk/py3_pickle3/zblk.fs")]
    public void Good_fixtures_are_clean(string name)
    {
        var verifier = new Verifier(Fixtures.Path(name));
        List<Finding> findings = [.. verifier.Run()];
        Assert.True(findings.Count == 0, string.Join("\n", findings));
        Assert.True(verifier.Stats.Clean);
        Assert.True(verifier.Stats.Transactions > 0);
        Assert.True(verifier.Stats.Objects > 0);
    }

    [Theory]
    [InlineData("crash-truncated.fs", "V104", 30181, "V120", 30181, null, 0)]
    [InlineData("crash-status-c.fs", "V105", 30181, "V120", 30181, null, 0)]
    [InlineData("crash-garbage-short.fs", "V102", 41374, "V120", 41374, null, 0)]
    [InlineData("crash-garbage-long.fs", "V104", 41374, "V120", 41374, null, 0)]
    [InlineData("crash-garbage-nonascii.fs", "V104", 41374, "V120", 41374, null, 0)]
    [InlineData("crash-flip-tlen-low.fs", "V109", 2904, "V119", 2734, "V121", 2734)]
    [InlineData("crash-flip-tlen-high.fs", "V104", 2734, "V119", 2734, "V121", 2734)]
    public void Each_crash_fixture_damage_is_found_with_its_code_and_position(string name, string code, long position,
        string code2, long position2, string? code3, long position3)
    {
        List<Finding> findings = Run(Fixtures.Path(name));
        var expected = new List<(string, long?)> { (code, position), (code2, position2) };
        if (code3 is not null)
        {
            expected.Add((code3, position3));
        }
        Assert.Equal(expected, findings.Select(f => (f.Code, f.Position)));
        // The first finding says what ZODB's fstest says (crash-cases.json), in the same words.
        JsonNode cases = JsonNode.Parse(File.ReadAllText(Fixtures.Path("crash-cases.json")))!;
        string fstest = cases["cases"]!.AsArray().Single(c => c!["file"]!.GetValue<string>() == name)!["fstest"]!["exception"]!.GetValue<string>();
        string words = fstest["FormatError: ".Length..].Replace(name + " ", "", StringComparison.Ordinal);
        Assert.Contains(words, findings[0].Message, StringComparison.Ordinal);
        // After the damage, the rest of the file checks out: no finding of pass 2.
        Assert.DoesNotContain(findings, f => f.Code.StartsWith("V2", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_check_has_its_own_code_and_is_listed_in_spec_verify_md()
    {
        Assert.Equal(Checks.All.Count, Checks.All.Select(c => c.Code).Distinct().Count());
        string spec = File.ReadAllText(Path.Combine(Fixtures.Root, "..", "..", "spec", "verify.md"));
        foreach (Check c in Checks.All)
        {
            Assert.Contains($"**{c.Code}**", spec, StringComparison.Ordinal);
        }
    }
}
