namespace Wendelin.Storage.Pickle;

/// <summary>The forms of ZODB persistent ids (filestorage-format §8.4, spec/pickle.md §5).</summary>
public enum PersistentReferenceKind
{
    /// <summary><c>(oid, class)</c>: strong, same database, with class hint (the common form).</summary>
    Strong,

    /// <summary>bare <c>oid</c>: strong, same database, no class (class with <c>__getnewargs__</c>).</summary>
    OidOnly,

    /// <summary><c>['w', (oid,)]</c> or <c>['w', (oid, database)]</c>: persistent weak reference.</summary>
    Weak,

    /// <summary><c>['m', (database, oid, class)]</c>: cross-database strong reference.</summary>
    CrossDatabase,

    /// <summary><c>['n', (database, oid)]</c>: cross-database strong reference without class.</summary>
    CrossDatabaseOidOnly,

    /// <summary><c>[oid]</c>: legacy weak reference (read only).</summary>
    LegacyWeak,

    /// <summary>Any other pid object (no oid could be taken from it).</summary>
    Unknown,
}

/// <summary>
/// One persistent reference of a record, interpreted from its pid object. <see cref="Oid"/> is meaningful for
/// every kind but <see cref="PersistentReferenceKind.Unknown"/>. Oids may be Python-3 <c>bytes</c> or Python-2
/// 8-bit strings of length 8 (PK-16).
/// </summary>
public readonly record struct PersistentReference(PersistentReferenceKind Kind, Oid Oid, PickleValue? ClassHint, string? Database, PickleValue Pid)
{
    /// <summary>
    /// True for the forms pack's garbage collection follows: <c>(oid, class)</c> and bare oid
    /// (filestorage-format §7.4). Weak and cross-database references are not followed.
    /// </summary>
    public bool IsStrongSameDatabase => Kind is PersistentReferenceKind.Strong or PersistentReferenceKind.OidOnly;

    /// <summary><c>module.Name</c> of the class hint (a global, or a <c>(module, name)</c> tuple), else null.</summary>
    public string? ClassName => ClassHint switch
    {
        PickleGlobal g => g.FullName,
        PickleTuple { Count: 2 } t when t[0].TryGetString(out string m) && t[1].TryGetString(out string n) => m + "." + n,
        _ => null,
    };

    /// <summary>Interprets a pid object.</summary>
    public static PersistentReference FromPid(PickleValue pid)
    {
        ArgumentNullException.ThrowIfNull(pid);
        switch (pid)
        {
            case PickleTuple { Count: 2 } t when TryOid(t[0], out Oid oid):
                return new(PersistentReferenceKind.Strong, oid, t[1], null, pid);
            case PickleBytes or PickleByteString when TryOid(pid, out Oid oid):
                return new(PersistentReferenceKind.OidOnly, oid, null, null, pid);
            case PickleList { Count: 1 } l when TryOid(l[0], out Oid oid):
                return new(PersistentReferenceKind.LegacyWeak, oid, null, null, pid);
            case PickleList { Count: 2 } l when l[0].TryGetString(out string tag) && l[1] is PickleTuple args:
                return FromTagged(tag, args, pid);
            default:
                return Unknown(pid);
        }
    }

    private static PersistentReference FromTagged(string tag, PickleTuple a, PickleValue pid)
    {
        switch (tag)
        {
            case "w" when a.Count == 1 && TryOid(a[0], out Oid oid):
                return new(PersistentReferenceKind.Weak, oid, null, null, pid);
            case "w" when a.Count == 2 && TryOid(a[0], out Oid oid) && a[1].TryGetString(out string db):
                return new(PersistentReferenceKind.Weak, oid, null, db, pid);
            case "m" when a.Count == 3 && a[0].TryGetString(out string db) && TryOid(a[1], out Oid oid):
                return new(PersistentReferenceKind.CrossDatabase, oid, a[2], db, pid);
            case "n" when a.Count == 2 && a[0].TryGetString(out string db) && TryOid(a[1], out Oid oid):
                return new(PersistentReferenceKind.CrossDatabaseOidOnly, oid, null, db, pid);
            default:
                return Unknown(pid);
        }
    }

    private static PersistentReference Unknown(PickleValue pid) => new(PersistentReferenceKind.Unknown, default, null, null, pid);

    /// <summary>An oid: 8 bytes as Python-3 <c>bytes</c> or Python-2 <c>str</c>.</summary>
    public static bool TryOid(PickleValue v, out Oid oid)
    {
        ReadOnlyMemory<byte> m = v switch
        {
            PickleBytes b => b.Value,
            PickleByteString s => s.Value,
            _ => default,
        };
        if (m.Length == 8 && v.Kind is PickleKind.Bytes or PickleKind.ByteString)
        {
            oid = Oid.FromBytes(m.Span);
            return true;
        }
        oid = default;
        return false;
    }
}
