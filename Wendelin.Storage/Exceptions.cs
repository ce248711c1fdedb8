namespace Wendelin.Storage;

// The storage error family, named after ZODB's POSException.py in .NET casing (spec/filestorage.md, "Errors").
// Expected outcomes (end of file, "did not exist before") are return values, not exceptions.

/// <summary>Base of every storage error (ZODB <c>POSError</c>).</summary>
public class StorageException : Exception
{
    public StorageException()
    {
    }

    public StorageException(string message)
        : base(message)
    {
    }

    public StorageException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}

/// <summary>No such object, or the object's current revision is deleted / its creation undone (ZODB <c>POSKeyError</c>).</summary>
public class PosKeyException : StorageException
{
    public PosKeyException(Oid oid, string? detail = null)
        : base(detail is null ? $"no such object {oid}" : $"no such object {oid}: {detail}") => Oid = oid;

    public PosKeyException()
    {
    }

    public PosKeyException(string message)
        : base(message)
    {
    }

    public PosKeyException(string message, Exception? inner)
        : base(message, inner)
    {
    }

    public Oid Oid { get; }
}

/// <summary>
/// A write based on a revision that is no longer current (ZODB <c>ConflictError</c>): names the object, the
/// committed serial and the serial the writer based its change on.
/// </summary>
public class ConflictException : StorageException
{
    public ConflictException(Oid oid, Tid committedSerial, Tid givenSerial, string? className = null, string? detail = null)
        : base(Describe("conflict", oid, committedSerial, givenSerial, className, detail))
    {
        Oid = oid;
        CommittedSerial = committedSerial;
        GivenSerial = givenSerial;
        ClassName = className;
    }

    public ConflictException()
    {
    }

    public ConflictException(string message)
        : base(message)
    {
    }

    public ConflictException(string message, Exception? inner)
        : base(message, inner)
    {
    }

    protected ConflictException(string kind, Oid oid, Tid committedSerial, Tid givenSerial, string? className, string? detail)
        : base(Describe(kind, oid, committedSerial, givenSerial, className, detail))
    {
        Oid = oid;
        CommittedSerial = committedSerial;
        GivenSerial = givenSerial;
        ClassName = className;
    }

    public Oid Oid { get; }

    public Tid CommittedSerial { get; }

    public Tid GivenSerial { get; }

    public string? ClassName { get; }

    private static string Describe(string kind, Oid oid, Tid committed, Tid given, string? className, string? detail) =>
        $"database {kind} on object {oid}{(className is null ? "" : $" of class {className}")}: " +
        $"committed serial {committed}, this transaction's serial {given}{(detail is null ? "" : $" ({detail})")}";
}

/// <summary>An object read by the transaction changed before it committed (ZODB <c>ReadConflictError</c>).</summary>
public class ReadConflictException : ConflictException
{
    public ReadConflictException(Oid oid, Tid committedSerial, Tid givenSerial, string? className = null, string? detail = null)
        : base("read conflict", oid, committedSerial, givenSerial, className, detail)
    {
    }

    public ReadConflictException()
    {
    }

    public ReadConflictException(string message)
        : base(message)
    {
    }

    public ReadConflictException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}

/// <summary>Two-phase-commit misuse: wrong, duplicate or missing transaction (ZODB <c>StorageTransactionError</c>).</summary>
public class StorageTransactionException : StorageException
{
    public StorageTransactionException()
    {
    }

    public StorageTransactionException(string message)
        : base(message)
    {
    }

    public StorageTransactionException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}

/// <summary>A write on a read-only storage or a historical view (ZODB <c>ReadOnlyError</c>).</summary>
public class ReadOnlyException : StorageException
{
    public ReadOnlyException()
    {
    }

    public ReadOnlyException(string message)
        : base(message)
    {
    }

    public ReadOnlyException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}

/// <summary>An undo that cannot be done; names the object that blocks it (ZODB <c>UndoError</c>).</summary>
public class UndoException : StorageException
{
    public UndoException(string message, Oid? oid)
        : base(oid is null ? message : $"{message} (object {oid})") => Oid = oid;

    public UndoException()
    {
    }

    public UndoException(string message)
        : base(message)
    {
    }

    public UndoException(string message, Exception? inner)
        : base(message, inner)
    {
    }

    /// <summary>A message that already names its objects (several refusals at once), with the first blocking oid.</summary>
    protected UndoException(string message, Oid? oid, Exception? inner)
        : base(message, inner) => Oid = oid;

    public Oid? Oid { get; }
}

/// <summary>
/// A FileStorage refusal that is not about the bytes of a record (ZODB <c>FileStorageError</c>): over-long
/// transaction metadata, a storage closed after a failed commit, a file that is not a regular file.
/// Bad bytes are <see cref="Format.CorruptRecordException"/>, which derives from this type.
/// </summary>
public class FileStorageException : StorageException
{
    public FileStorageException()
    {
    }

    public FileStorageException(string message)
        : base(message)
    {
    }

    public FileStorageException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// The file is not a FileStorage data file: too short for the 4-byte magic, or a magic other than
/// <c>FS30</c>/<c>FS21</c> (ZODB <c>FileStorageFormatError</c>; spec/filestorage.md FS-1). It is a
/// <see cref="Format.CorruptRecordException"/> of the file header, so readers of arbitrary bytes catch one type.
/// </summary>
public class FileStorageFormatException : Format.CorruptRecordException
{
    public FileStorageFormatException(string path, string check, string detail)
        : base(path, 0, Format.RecordKind.FileHeader, check, detail)
    {
    }

    public FileStorageFormatException()
    {
    }

    public FileStorageFormatException(string message)
        : base(message)
    {
    }

    public FileStorageFormatException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// The data file's <c>NAME.lock</c> is held by another opener, in this or another process (zc.lockfile
/// <c>LockError</c>; spec/filestorage.md FS-O3).
/// </summary>
public class LockException : FileStorageException
{
    public LockException(string lockPath, string detail, Exception? inner = null)
        : base($"{lockPath}: couldn't lock: {detail}", inner) => LockPath = lockPath;

    public LockException()
    {
    }

    public LockException(string message)
        : base(message)
    {
    }

    public LockException(string message, Exception? inner)
        : base(message, inner)
    {
    }

    public string? LockPath { get; }
}
