using Wendelin.Storage.Fs;

namespace Wendelin.Storage.Tests;

/// <summary>Every file a test writes is checked afterwards (style.md habit 8).</summary>
internal static class VerifyAssert
{
    public static void Clean(string path)
    {
        using var fs = Fs.FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        foreach (TransactionRecord t in fs.Iterator())
        {
            foreach (DataRecord r in t.Records)
            {
                _ = r.ReadData();
            }
        }
    }
}
