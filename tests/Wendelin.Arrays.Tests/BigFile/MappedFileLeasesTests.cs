using Wendelin.Arrays.BigFile;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Arrays.Tests.BigFile;

/// <summary>
/// Leases of byte ranges of an OS file out of mapped windows (spec/bigfile.md BF-53, spec/zbigfile.md ZB-50): ranges
/// at any offset, inside a window or crossing its end, give the file's bytes; ranges past the end are declined.
/// </summary>
public sealed class MappedFileLeasesTests(ITestOutputHelper output)
{
    [Fact]
    public void Ranges_at_any_offset_lease_the_file_bytes()
    {
        if (!MappedFileLeases.Supported)
        {
            return; // declines everything elsewhere
        }
        int seed = Seeds.Announce(output, nameof(Ranges_at_any_offset_lease_the_file_bytes));
        var rnd = new Random(seed);
        int page = Environment.SystemPageSize;
        var content = new byte[10 * page + 123];
        rnd.NextBytes(content);
        using var dir = new TempDirectory("leases");
        string path = dir.File("f");
        File.WriteAllBytes(path, content);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        using var leases = new MappedFileLeases(stream.SafeFileHandle, 2L * page);
        for (int i = 0; i < 200; i++)
        {
            int at = rnd.Next(content.Length);
            int length = rnd.Next(1, Math.Min(3 * page, content.Length - at) + 1);
            BlockLease? lease = leases.TryLease(at, length);
            Assert.True(lease.HasValue, $"bytes {at}+{length} are cached and leased");
            using (lease.Value)
            {
                Assert.True(content.AsSpan(at, length).SequenceEqual(lease.Value.Data.Span), $"bytes {at}+{length}");
            }
        }
        Assert.Null(leases.TryLease(content.Length - 10, 11)); // past the end of the file
        leases.Dispose();
        Assert.Throws<ObjectDisposedException>(() => leases.TryLease(0, 1));
    }
}
