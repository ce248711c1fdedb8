using Wendelin.Storage.IO;

namespace Wendelin.Storage.Format;

/// <summary>The 4-byte identifier of a data file (spec/filestorage.md FS-1): which pickle dialect its records use.</summary>
public enum FileMagic
{
    /// <summary><c>FS30</c>: ZODB on Python 3, protocol-3 pickles. The default for new files.</summary>
    FS30,

    /// <summary><c>FS21</c>: ZODB on Python 2 (protocol 1, 2 or 3 pickles with 8-bit strings).</summary>
    FS21,
}

/// <summary>
/// The file header (spec/filestorage.md §2, FS-1): exactly the 4 magic bytes at offset 0; the first transaction
/// starts at offset 4; a file of exactly 4 bytes is an empty storage.
/// </summary>
internal static class FileHeader
{
    /// <summary>Size of the header: the magic.</summary>
    public const int Size = 4;

    /// <summary>Position of the first transaction.</summary>
    public const long DataStart = Size;

    public static ReadOnlySpan<byte> Bytes(FileMagic magic) => magic == FileMagic.FS21 ? "FS21"u8 : "FS30"u8;

    /// <summary>Reads and checks the magic; <see cref="FileStorageFormatException"/> for a short or foreign file.</summary>
    public static FileMagic Read(IStorageFile file)
    {
        Span<byte> b = stackalloc byte[Size];
        int n = file.ReadAt(0, b);
        if (n < Size)
        {
            throw new FileStorageFormatException(file.Path, "file too short",
                $"{n} bytes, not a FileStorage data file (a data file starts with the 4 bytes FS30 or FS21)");
        }
        return Parse(file.Path, b);
    }

    /// <summary>Checks 4 magic bytes.</summary>
    public static FileMagic Parse(string path, ReadOnlySpan<byte> b)
    {
        if (b.SequenceEqual("FS30"u8))
        {
            return FileMagic.FS30;
        }
        if (b.SequenceEqual("FS21"u8))
        {
            return FileMagic.FS21;
        }
        throw new FileStorageFormatException(path, "magic",
            $"starts with {Convert.ToHexString(b[..Math.Min(b.Length, Size)])}, not a FileStorage data file (FS30 or FS21)");
    }

    /// <summary>True when the file (shorter than the magic) holds the start of one of the two magics: a torn creation.</summary>
    public static bool IsMagicPrefix(IStorageFile file)
    {
        Span<byte> b = stackalloc byte[Size];
        int n = file.ReadAt(0, b);
        return n < Size && ("FS30"u8.StartsWith(b[..n]) || "FS21"u8.StartsWith(b[..n]));
    }

    public static void Write(IStorageFile file, FileMagic magic) => file.WriteAt(0, Bytes(magic));
}
