namespace Wendelin.Tools.Tests;

public sealed class HelpTests
{
    [Fact]
    public void Help_exits_zero_and_names_the_command()
    {
        var output = new StringWriter();
        var config = new System.CommandLine.InvocationConfiguration { Output = output, Error = output };
        int code = Cli.Build().Parse(["--help"]).Invoke(config);
        Assert.Equal(0, code);
        Assert.Contains("wendelin", output.ToString(), StringComparison.Ordinal);
    }
}
