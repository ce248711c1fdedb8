namespace Wendelin.Storage.Persistence;

/// <summary>
/// A record could not be turned into an object (its class part or state has an unexpected shape, or the
/// class's <c>SetState</c> refused it): names the object, its class and what failed.
/// </summary>
public sealed class ObjectStateException : StorageException
{
    public ObjectStateException(Oid oid, string? className, string detail, Exception? inner = null)
        : base($"cannot load object {oid}{(className is null ? "" : $" of class {className}")}: {detail}", inner)
    {
        Oid = oid;
        ClassName = className;
    }

    public ObjectStateException()
    {
    }

    public ObjectStateException(string message)
        : base(message)
    {
    }

    public ObjectStateException(string message, Exception? inner)
        : base(message, inner)
    {
    }

    public Oid Oid { get; }

    public string? ClassName { get; }
}

/// <summary>A state refers to an object of another connection or database (ZODB <c>InvalidObjectReference</c>).</summary>
public sealed class InvalidObjectReferenceException : StorageException
{
    public InvalidObjectReferenceException()
    {
    }

    public InvalidObjectReferenceException(string message)
        : base(message)
    {
    }

    public InvalidObjectReferenceException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}
