namespace Wendelin.Storage.Format;

/// <summary>The status byte of a transaction header (spec/filestorage.md FS-2.3).</summary>
public enum TransactionStatus : byte
{
    /// <summary><c>' '</c>: committed (written by finish).</summary>
    Committed = 0x20,

    /// <summary><c>'p'</c>: committed, rewritten by pack (no history, not undoable).</summary>
    Packed = 0x70,

    /// <summary><c>'c'</c>: voted, not finished: the logical end of the file, never a committed transaction.</summary>
    Checkpoint = 0x63,

    /// <summary><c>'u'</c>: obsolete non-transactional undo; valid, its records are not indexed.</summary>
    Undone = 0x75,
}
