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

    public Oid? Oid { get; }
}
