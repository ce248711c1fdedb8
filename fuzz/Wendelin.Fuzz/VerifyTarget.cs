using Wendelin.Storage.IO;
using Wendelin.Storage.Verify;

namespace Wendelin.Fuzz;

/// <summary>
/// Fuzz target <c>verify</c>: arbitrary bytes as a data file, verified in memory (both passes). Verification reports
/// bad bytes as findings, so nothing at all may come out of it: any exception is a bug. Seed corpus:
/// tests/fixtures/*.fs.
/// </summary>
internal static class VerifyTarget
{
    private const string DataPath = "/fuzz/verify.fs";

    public static void Run(ReadOnlySpan<byte> data)
    {
        var mem = new MemoryFileSystem();
        mem.WriteAllBytes(DataPath, data);
        var verifier = new Verifier(() => mem.Open(DataPath, StorageFileMode.ReadOnly));
        foreach (Finding f in verifier.Run())
        {
            _ = f.Code;
        }
    }
}
