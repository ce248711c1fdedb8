namespace Wendelin.TestSupport;

/// <summary>
/// Locates the golden files under <c>tests/fixtures</c> (written by Python ZODB and wendelin.core; see
/// tests/fixtures/README.md). Tests read them in place or copy them to a <see cref="TempDirectory"/> before
/// changing them; the originals are never written.
/// </summary>
public static class Fixtures
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>Absolute path of the <c>tests/fixtures</c> folder of this checkout.</summary>
    public static string Root => RootPath.Value;

    /// <summary>Absolute path of a fixture file, e.g. <c>Path("basic.fs")</c> or <c>Path("upstream-zblk/py2_pickle1/zblk.fs")</c>.</summary>
    public static string Path(string relative)
    {
        string full = System.IO.Path.Combine(Root, relative);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"fixture '{relative}' not found under {Root}", full);
        }
        return full;
    }

    /// <summary>Reads a fixture's bytes.</summary>
    public static byte[] Bytes(string relative) => File.ReadAllBytes(Path(relative));

    /// <summary>Copies a fixture (and, if present, its companions such as <c>.index</c>) into <paramref name="dir"/> and returns the copy's path.</summary>
    public static string CopyTo(string relative, TempDirectory dir, string? newName = null, bool withCompanions = false)
    {
        string source = Path(relative);
        string target = System.IO.Path.Combine(dir.Path, newName ?? System.IO.Path.GetFileName(source));
        File.Copy(source, target, overwrite: true);
        if (withCompanions)
        {
            foreach (string suffix in new[] { ".index" })
            {
                if (File.Exists(source + suffix))
                {
                    File.Copy(source + suffix, target + suffix, overwrite: true);
                }
            }
        }
        return target;
    }

    private static string FindRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null)
        {
            string candidate = System.IO.Path.Combine(dir, "tests", "fixtures");
            if (Directory.Exists(candidate) && File.Exists(System.IO.Path.Combine(candidate, "basic.fs")))
            {
                return candidate;
            }
            dir = System.IO.Path.GetDirectoryName(dir);
        }
        throw new DirectoryNotFoundException($"tests/fixtures not found above {AppContext.BaseDirectory}");
    }
}
