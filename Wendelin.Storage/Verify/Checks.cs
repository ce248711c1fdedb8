namespace Wendelin.Storage.Verify;

/// <summary>One check of verification: its code, the severity of its findings and what it checks (spec/verify.md).</summary>
public sealed record Check(string Code, Severity Severity, string Title);

/// <summary>Every check verification makes, one code per check (spec/verify.md §2-§5).</summary>
public static class Checks
{
    // Structure (pass 1): ZODB's fstest, in fstest's order, then ours.
    public static readonly Check EmptyFile = new("V100", Severity.Error, "the file is empty");
    public static readonly Check FileHeader = new("V101", Severity.Error, "the file starts with FS30 or FS21");
    public static readonly Check TruncatedHeader = new("V102", Severity.Error, "a transaction header fits before the end of the file");
    public static readonly Check TidOrder = new("V103", Severity.Error, "transaction ids increase");
    public static readonly Check TransactionFits = new("V104", Severity.Error, "the transaction and its trailer fit in the file");
    public static readonly Check Checkpoint = new("V105", Severity.Error, "no transaction is left voted but unfinished (status 'c')");
    public static readonly Check Status = new("V106", Severity.Error, "the status byte is ' ', 'p', 'u' or 'c'");
    public static readonly Check HeaderLength = new("V107", Severity.Error, "the transaction length covers its header and metadata");
    public static readonly Check TruncatedRecord = new("V108", Severity.Error, "a data record header fits before the end of the file");
    public static readonly Check Tloc = new("V109", Severity.Error, "a data record's tloc names its transaction");
    public static readonly Check RecordFits = new("V110", Severity.Error, "a data record ends inside its transaction");
    public static readonly Check Trailer = new("V111", Severity.Error, "the redundant length after the records equals the transaction length");
    public static readonly Check VersionLength = new("V112", Severity.Error, "a data record has version length 0");
    public static readonly Check RecordTid = new("V113", Severity.Error, "a data record's tid is its transaction's tid");
    public static readonly Check PrevDirection = new("V114", Severity.Error, "prev points before the record");
    public static readonly Check PrevTarget = new("V115", Severity.Error, "prev points at a record of the same object with a smaller tid");
    public static readonly Check PrevCurrent = new("V116", Severity.Warning, "prev is the object's record current before the transaction");
    public static readonly Check BackDirection = new("V117", Severity.Error, "a backpointer points before its record");
    public static readonly Check BackTarget = new("V118", Severity.Error, "a backpointer points at a record of the same object in an earlier transaction");
    public static readonly Check MiddleDamage = new("V119", Severity.Error, "no valid transaction follows a damaged one (an open refuses such a file)");
    public static readonly Check TornTail = new("V120", Severity.Warning, "no torn tail (bytes a writable open cuts off the end)");
    public static readonly Check LengthOnly = new("V121", Severity.Info, "a damaged transaction would be intact with another length");
    public static readonly Check UndoneStatus = new("V122", Severity.Info, "no obsolete 'u' transaction (its records are ignored)");
    public static readonly Check InFlightTail = new("V123", Severity.Info, "no commit in progress at the end (a writer holds the lock; the tail is not checked)");

    // Objects (pass 2): ZODB's fsrefs over the current revision of every object.
    public static readonly Check Unreadable = new("V200", Severity.Error, "the current revision's data can be read");
    public static readonly Check Pickle = new("V201", Severity.Error, "the current revision is a ZODB record: two pickles, class and state");
    public static readonly Check MissingReference = new("V202", Severity.Error, "every reference names an object in the storage");
    public static readonly Check UndoneReference = new("V203", Severity.Error, "no reference names an object whose creation was undone or that was deleted");
    public static readonly Check FailedReference = new("V204", Severity.Error, "no reference names an object whose revision cannot be loaded");

    // BTrees (pass 2), at the pickle level by class name.
    public static readonly Check TreeState = new("V300", Severity.Error, "a BTree or TreeSet state has one of BTrees' shapes");
    public static readonly Check BucketState = new("V301", Severity.Error, "a Bucket or Set state has one of BTrees' shapes");
    public static readonly Check KeyType = new("V302", Severity.Error, "keys and values have the family's types (32- or 64-bit ints, ordered objects)");
    public static readonly Check KeyOrder = new("V303", Severity.Error, "a bucket's keys strictly increase");
    public static readonly Check ChildKind = new("V304", Severity.Error, "a tree's children are all buckets of its family or all nodes of its class");
    public static readonly Check SeparatorRange = new("V305", Severity.Error, "separators increase and every key of child i lies in [key i, key i+1)");
    public static readonly Check FirstBucket = new("V306", Severity.Error, "a tree's first-bucket reference is its leftmost bucket");
    public static readonly Check BucketChain = new("V307", Severity.Error, "each bucket links to the next bucket in key order, the last to none");
    public static readonly Check EmptyBucket = new("V308", Severity.Error, "no bucket inside a tree is empty");
    public static readonly Check NodeSize = new("V309", Severity.Warning, "buckets and nodes are no larger than the family's sizes");
    public static readonly Check TreeShape = new("V310", Severity.Error, "a tree is a tree: no node reached twice, a sane depth");

    // wendelin.core ZBigFiles (pass 2).
    public static readonly Check ZBigFileState = new("V400", Severity.Error, "a ZBigFile's state is (blksize > 0, reference to its block table)");
    public static readonly Check BlockTable = new("V401", Severity.Error, "a ZBigFile's block table is an LOBTree");
    public static readonly Check BlockKey = new("V402", Severity.Error, "block numbers are ≥ 0");
    public static readonly Check BlockValue = new("V403", Severity.Error, "every block is a ZBlk0, ZBlk1 or legacy ZBlk");
    public static readonly Check ZBlk0Size = new("V404", Severity.Error, "a ZBlk0's state is bytes no longer than the block size");
    public static readonly Check ZBlk1State = new("V405", Severity.Error, "a ZBlk1's state is a reference to an IOBTree of chunks");
    public static readonly Check ChunkKey = new("V406", Severity.Error, "chunk offsets lie in [0, blksize)");
    public static readonly Check ChunkOverlap = new("V407", Severity.Error, "chunks do not overlap");
    public static readonly Check ChunkBounds = new("V408", Severity.Error, "every chunk ends within the block");
    public static readonly Check ZData = new("V409", Severity.Error, "every chunk is a ZData whose state is bytes");
    public static readonly Check EmptyZData = new("V410", Severity.Warning, "no chunk is empty (writers drop all-zero chunks)");
    public static readonly Check SharedBlock = new("V411", Severity.Warning, "no block object belongs to two blocks");

    /// <summary>All checks, in code order.</summary>
    public static IReadOnlyList<Check> All { get; } =
    [
        EmptyFile, FileHeader, TruncatedHeader, TidOrder, TransactionFits, Checkpoint, Status, HeaderLength, TruncatedRecord,
        Tloc, RecordFits, Trailer, VersionLength, RecordTid, PrevDirection, PrevTarget, PrevCurrent, BackDirection, BackTarget,
        MiddleDamage, TornTail, LengthOnly, UndoneStatus, InFlightTail,
        Unreadable, Pickle, MissingReference, UndoneReference, FailedReference,
        TreeState, BucketState, KeyType, KeyOrder, ChildKind, SeparatorRange, FirstBucket, BucketChain, EmptyBucket, NodeSize, TreeShape,
        ZBigFileState, BlockTable, BlockKey, BlockValue, ZBlk0Size, ZBlk1State, ChunkKey, ChunkOverlap, ChunkBounds, ZData, EmptyZData, SharedBlock,
    ];

    internal static Finding Make(Check check, long? position, Oid? oid, Tid? tid, string message) =>
        new(check.Code, check.Severity, position, oid, tid, message);
}
