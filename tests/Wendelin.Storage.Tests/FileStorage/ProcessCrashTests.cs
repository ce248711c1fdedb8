using Wendelin.CrashChild;
using Wendelin.Storage.Fs;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>
/// Real-process crashes (spec/filestorage.md FS-D3, FS-R4): a child process commits in a loop and prints each
/// acknowledged tid; it is killed with SIGKILL at random moments, 50 times on one file; after each kill the file
/// reopens with every acknowledged transaction and its data, and a full iteration reads every record. More kills:
/// <c>dotnet run -c Release --project tests/Wendelin.Benchmarks -- fs-crash-soak --kills 1000</c>.
/// </summary>
public sealed class ProcessCrashTests(ITestOutputHelper output)
{
    [Fact]
    public void Fifty_sigkills_lose_no_acknowledged_transaction()
    {
        int seed = Seeds.Announce(output, nameof(Fifty_sigkills_lose_no_acknowledged_transaction));
        using var dir = new TempDirectory("sigkill");
        bool lockChecked = false;
        CrashReport report = CrashDriver.Run(dir.Path, kills: 50, seed, maxRunMilliseconds: 250, output.WriteLine, path =>
        {
            // the child holds NAME.lock: a writer in this process is refused, a reader is not (FS-O3)
            var e = Assert.Throws<LockException>(() => Fs.FileStorage.Open(path));
            Assert.Contains(".lock", e.Message, StringComparison.Ordinal);
            using var reader = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
            lockChecked = true;
        });
        output.WriteLine(report.ToString());
        Assert.True(lockChecked);
        Assert.Equal(50, report.Kills);
        Assert.True(report.Acknowledged > 10, $"only {report.Acknowledged} transactions acknowledged in 50 runs");
        Assert.True(report.Transactions >= report.Acknowledged);
    }
}
