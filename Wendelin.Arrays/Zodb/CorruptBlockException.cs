using Wendelin.Storage;

namespace Wendelin.Arrays.Zodb;

/// <summary>
/// A block of a <see cref="ZBigFile"/> cannot be read: its ZBlk object (or a chunk tree node or chunk of it) is
/// missing, is of an unexpected class, or holds data that breaks the layout rules of spec/zbigfile.md (ZB-1..ZB-8):
/// longer than a block, overlapping chunks, keys out of range. Names the block, the object and the rule.
/// </summary>
public sealed class CorruptBlockException : StorageException
{
    public CorruptBlockException(long block, Oid oid, string? className, string detail, Exception? inner = null)
        : base($"block {block} of the ZBigFile, object {oid}{(className is null ? "" : $" ({className})")}: {detail}", inner)
    {
        Block = block;
        Oid = oid;
        ClassName = className;
    }

    public CorruptBlockException()
    {
    }

    public CorruptBlockException(string message)
        : base(message)
    {
    }

    public CorruptBlockException(string message, Exception? inner)
        : base(message, inner)
    {
    }

    /// <summary>The block number being read.</summary>
    public long Block { get; }

    /// <summary>The object whose record is at fault.</summary>
    public Oid Oid { get; }

    /// <summary>Its class as recorded, when known.</summary>
    public string? ClassName { get; }
}
