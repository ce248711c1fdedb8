using System.Globalization;

namespace Wendelin.Storage.Format;

/// <summary>Which on-disk structure a <see cref="CorruptRecordException"/> is about (spec/filestorage.md §2).</summary>
public enum RecordKind
{
    /// <summary>The 4-byte magic at offset 0 (FS-1).</summary>
    FileHeader,

    /// <summary>The 23-byte transaction header and its metadata strings (FS-2).</summary>
    TransactionHeader,

    /// <summary>A whole transaction: its redundant trailing length, its tiling by data records (FS-3).</summary>
    Transaction,

    /// <summary>The 42-byte data record header and its payload (FS-4).</summary>
    DataHeader,

    /// <summary>The 8-byte backpointer of a data record without payload, or the chain it starts (FS-5).</summary>
    BackPointer,
}

/// <summary>
/// The one exception for bad bytes in a FileStorage data file (style.md habit 4): names the file, the byte
/// position, the record kind, the check that failed and a detail. Every reader of the format (open, recovery,
/// loads, the iterator, the tools) raises only this type for corrupt input.
/// </summary>
public class CorruptRecordException : FileStorageException
{
    public CorruptRecordException(string path, long position, RecordKind kind, string check, string detail)
        : base(Describe(path, position, kind, check, detail))
    {
        FilePath = path;
        Position = position;
        Kind = kind;
        Check = check;
        Detail = detail;
    }

    public CorruptRecordException()
    {
    }

    public CorruptRecordException(string message)
        : base(message)
    {
    }

    public CorruptRecordException(string message, Exception? inner)
        : base(message, inner)
    {
    }

    /// <summary>The data file.</summary>
    public string? FilePath { get; }

    /// <summary>Byte position of the record (or of the field) that failed the check.</summary>
    public long Position { get; }

    public RecordKind Kind { get; }

    /// <summary>The check that failed, in a few words (e.g. "redundant length", "record fits in transaction").</summary>
    public string? Check { get; }

    public string? Detail { get; }

    private static string Describe(string path, long position, RecordKind kind, string check, string detail) =>
        string.Create(CultureInfo.InvariantCulture, $"{path}: corrupt {KindText(kind)} at {position}: {detail} (failed check: {check})");

    private static string KindText(RecordKind kind) => kind switch
    {
        RecordKind.FileHeader => "file header",
        RecordKind.TransactionHeader => "transaction header",
        RecordKind.Transaction => "transaction",
        RecordKind.DataHeader => "data record",
        RecordKind.BackPointer => "backpointer",
        _ => kind.ToString(),
    };
}
