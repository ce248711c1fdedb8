using Wendelin.Storage;
using Wendelin.Storage.Fs;

namespace Wendelin.Tools;

/// <summary>
/// What the read-only commands share: opening a data file with plain checks first, and turning every expected
/// failure (bad path, directory, empty or foreign file, corrupt bytes, I/O errors) into one line on stderr and
/// exit code 2 — never a stack trace.
/// </summary>
internal static class ToolSupport
{
    /// <summary>Exit code of a usage or I/O error, or of a file that cannot be read as a data file.</summary>
    public const int ErrorExit = 2;

    /// <summary>Opens <paramref name="path"/> read-only (no lock: a file open for writing elsewhere can be read).</summary>
    public static FileStorage OpenForReading(string path)
    {
        if (Directory.Exists(path))
        {
            throw new ToolException($"{path}: is a directory, not a FileStorage data file");
        }
        if (!File.Exists(path))
        {
            throw new ToolException($"{path}: no such file");
        }
        if (new FileInfo(path).Length == 0)
        {
            throw new ToolException($"{path}: is empty (0 bytes), not a FileStorage data file");
        }
        return FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
    }

    /// <summary>Runs a command body, mapping expected failures to one line and <see cref="ErrorExit"/>.</summary>
    public static int Run(string command, TextWriter error, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is ToolException or StorageException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"wendelin {command}: {OneLine(e.Message)}");
            return ErrorExit;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}

/// <summary>An expected failure of a command, reported as one line.</summary>
internal sealed class ToolException(string message) : Exception(message);
