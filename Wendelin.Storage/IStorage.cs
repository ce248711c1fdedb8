namespace Wendelin.Storage;

/// <summary>
/// What the object layer needs from a storage (ZODB's IStorage + IMVCCStorage subset), implemented by the
/// FileStorage and by an in-memory storage for tests. Reads may run on any thread concurrently with a commit;
/// one commit runs at a time (a second <see cref="TpcBegin"/> waits). Semantics follow
/// spec/filestorage.md ("Commit", "Reads"); errors are the <see cref="StorageException"/> family.
/// </summary>
public interface IStorage : IDisposable
{
    /// <summary>A human-readable name (the file path for a FileStorage).</summary>
    string Name { get; }

    bool IsReadOnly { get; }

    /// <summary>The tid of the last committed transaction, <see cref="Tid.Zero"/> when empty.</summary>
    Tid LastTransaction { get; }

    /// <summary>Number of objects (oids with any committed record).</summary>
    long ObjectCount { get; }

    /// <summary>Size in bytes of the committed data.</summary>
    long Size { get; }

    /// <summary>The current revision: its record bytes and serial. <see cref="PosKeyException"/> when absent or deleted.</summary>
    LoadResult Load(Oid oid);

    /// <summary>
    /// The revision current just before <paramref name="before"/> (MVCC read), or null when the object did not
    /// exist then. <see cref="PosKeyException"/> for an unknown oid or when that revision is a deletion.
    /// </summary>
    LoadBeforeResult? LoadBefore(Oid oid, Tid before);

    /// <summary>The record bytes of revision <paramref name="serial"/>; <see cref="PosKeyException"/> when there is none.</summary>
    ReadOnlyMemory<byte> LoadSerial(Oid oid, Tid serial);

    /// <summary>A new, never used oid. <see cref="ReadOnlyException"/> on a read-only storage.</summary>
    Oid NewOid();

    /// <summary>Starts a commit (blocks while another one runs) and returns its handle.</summary>
    StorageTransaction TpcBegin(TransactionMetadata metadata);

    /// <summary>
    /// Stores a new revision of <paramref name="oid"/> based on revision <paramref name="serial"/>
    /// (<see cref="Tid.Zero"/> for a new object); <see cref="ConflictException"/> at once when that is not
    /// the committed serial. The storage copies <paramref name="data"/> before returning: the caller may reuse it.
    /// </summary>
    void Store(StorageTransaction transaction, Oid oid, Tid serial, ReadOnlyMemory<byte> data);

    /// <summary>Insists that <paramref name="oid"/> is still at <paramref name="serial"/> (<see cref="ReadConflictException"/> if not).</summary>
    void CheckCurrentSerial(StorageTransaction transaction, Oid oid, Tid serial);

    /// <summary>First phase: writes the transaction (status 'c') and flushes it.</summary>
    void TpcVote(StorageTransaction transaction);

    /// <summary>
    /// Commit point: makes the transaction durable and visible, calls <paramref name="onCommitted"/> with the
    /// tid and the oids it wrote while readers cannot yet see it, and returns the tid.
    /// </summary>
    Tid TpcFinish(StorageTransaction transaction, Action<Tid, IReadOnlyList<Oid>>? onCommitted = null);

    /// <summary>Abandons the transaction (removes a voted transaction from the file). Ignored for a finished or foreign handle.</summary>
    void TpcAbort(StorageTransaction transaction);

    /// <summary>Raised after every commit with its tid and the oids it changed (for invalidation of other connections).</summary>
    event Action<Tid, IReadOnlyList<Oid>>? Committed;
}

/// <summary>
/// A storage that takes a large record in three parts, the middle one straight from the caller's memory
/// (spec/filestorage.md FS-C4b): the object layer passes a block's payload without pickling it into its record buffer.
/// </summary>
public interface IPayloadStorage
{
    /// <summary>Records whose payload has at least this many bytes are worth storing in parts.</summary>
    int DirectPayloadBytes { get; }

    /// <summary>
    /// <see cref="IStorage.Store"/> of the record whose data is <paramref name="head"/> ‖ <paramref name="payload"/> ‖
    /// <paramref name="tail"/>: same checks, same bytes in the storage. The parts are used before the call returns.
    /// </summary>
    void Store(StorageTransaction transaction, Oid oid, Tid serial, ReadOnlySpan<byte> head, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> tail);
}

/// <summary>A current revision: record bytes and serial.</summary>
public readonly record struct LoadResult(ReadOnlyMemory<byte> Data, Tid Serial);

/// <summary>A revision valid for tids in [<see cref="Serial"/>, <see cref="NextSerial"/>); NextSerial is null when it is still current.</summary>
public readonly record struct LoadBeforeResult(ReadOnlyMemory<byte> Data, Tid Serial, Tid? NextSerial);

/// <summary>User, description and extension of a transaction, as stored (UTF-8 text, extension pickle bytes).</summary>
public sealed record TransactionMetadata(string User = "", string Description = "", IReadOnlyDictionary<string, object?>? Extension = null)
{
    /// <summary>
    /// The extension exactly as stored (a pickled dict, empty for none). When set it is written verbatim and
    /// <see cref="Extension"/> is only informational.
    /// </summary>
    public ReadOnlyMemory<byte> ExtensionBytes { get; init; }
}

/// <summary>The handle of one commit in progress, returned by <see cref="IStorage.TpcBegin"/>.</summary>
public class StorageTransaction
{
    public StorageTransaction(TransactionMetadata metadata) => Metadata = metadata;

    public TransactionMetadata Metadata { get; }

    /// <summary>The tid chosen at begin.</summary>
    public Tid Tid { get; protected internal set; }
}
