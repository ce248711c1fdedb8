namespace Wendelin.TestSupport;

/// <summary>A fresh directory under the system temp folder, deleted (best effort) on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string? tag = null)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(),
            "wendelin-tests", $"{tag ?? "t"}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>A path inside the directory (not created).</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // a file still open elsewhere; the OS temp cleaner takes it later
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
