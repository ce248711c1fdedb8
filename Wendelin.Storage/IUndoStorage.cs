using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage;

/// <summary>
/// A storage that can undo committed transactions (ZODB's <c>IStorageUndoable</c>): the undo log and transactional
/// undo inside a commit (spec/undo.md). The FileStorage implements it; the object layer's <c>Database.Undo</c> uses it.
/// </summary>
public interface IUndoStorage : IStorage
{
    /// <summary>
    /// The undoable transactions, newest first, stopping at the first packed one (UN-1): the accepted entries with
    /// index in [<paramref name="first"/>, <paramref name="last"/>); a negative <paramref name="last"/> means at
    /// most −last entries.
    /// </summary>
    IReadOnlyList<UndoLogEntry> UndoLog(int first = 0, int last = -20, Func<UndoLogEntry, bool>? filter = null);

    /// <summary>
    /// Undoes the transaction named by <paramref name="undoId"/> (an <see cref="UndoLogEntry.Id"/>) inside the commit
    /// <paramref name="transaction"/>, between its begin and its vote (UN-2..UN-6). <see cref="UndoException"/> when
    /// it cannot be done; the transaction is then unchanged and may go on.
    /// </summary>
    UndoResult Undo(string undoId, StorageTransaction transaction);
}

/// <summary>What an undo wrote: the undo transaction's tid and the objects it changed (to invalidate).</summary>
public sealed record UndoResult(Tid Tid, IReadOnlyList<Oid> Oids);

/// <summary>
/// One entry of the undo log (ZODB's undo-log dict, filestorage-format §6.1): the id to pass to
/// <see cref="IUndoStorage.Undo"/>, the transaction's tid, time, user, description, size (tlen) and extension.
/// </summary>
public sealed class UndoLogEntry
{
    private PickleDict? _extension;

    public UndoLogEntry(Tid tid, ReadOnlyMemory<byte> user, ReadOnlyMemory<byte> description, long size, ReadOnlyMemory<byte> extensionBytes)
    {
        Tid = tid;
        User = user;
        Description = description;
        Size = size;
        ExtensionBytes = extensionBytes;
    }

    /// <summary>ZODB's undo id: the tid's 8 bytes in standard base64 (12 characters ending in '=').</summary>
    public string Id => EncodeId(Tid);

    public Tid Tid { get; }

    /// <summary>ZODB's <c>time</c>: Unix seconds of the tid (FS-T4).</summary>
    public double Time => Tid.TimeTime;

    /// <summary>ZODB's <c>user_name</c>, the bytes as stored.</summary>
    public ReadOnlyMemory<byte> User { get; }

    public ReadOnlyMemory<byte> Description { get; }

    /// <summary>ZODB's <c>size</c>: the transaction's tlen.</summary>
    public long Size { get; }

    public ReadOnlyMemory<byte> ExtensionBytes { get; }

    /// <summary>The extension dict; empty when there is none or its bytes are not a pickled dict (as ZODB does).</summary>
    public PickleDict Extension
    {
        get
        {
            if (_extension is null)
            {
                try
                {
                    _extension = ZodbPickle.ReadExtension(ExtensionBytes);
                }
                catch (PickleException)
                {
                    _extension = new PickleDict();
                }
            }
            return _extension;
        }
    }

    public string UserText => Encoding.UTF8.GetString(User.Span);

    public string DescriptionText => Encoding.UTF8.GetString(Description.Span);

    /// <summary>
    /// ZODB's dict: <c>id</c>, <c>time</c>, <c>user_name</c>, <c>description</c>, <c>size</c>, then the extension's
    /// str keys merged in, overriding those (filestorage-format §6.1, appendix B.12). Extension values are pickle values.
    /// </summary>
    public IReadOnlyDictionary<string, object?> ToDictionary()
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["id"] = Id,
            ["time"] = Time,
            ["user_name"] = User.ToArray(),
            ["description"] = Description.ToArray(),
            ["size"] = Size,
        };
        foreach (KeyValuePair<PickleValue, PickleValue> kv in Extension.Entries)
        {
            if (kv.Key.TryGetString(out string key))
            {
                d[key] = kv.Value;
            }
        }
        return d;
    }

    /// <summary>The undo id of a tid (base64 of its 8 big-endian bytes).</summary>
    public static string EncodeId(Tid tid)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, tid.Value);
        return Convert.ToBase64String(b);
    }

    /// <summary>
    /// The tid named by an undo id (base64 of 8 bytes), or, for operators, by 16 hex digits (with or without 0x);
    /// <see cref="UndoException"/> for anything else (ZODB: "Invalid transaction id").
    /// </summary>
    public static Tid DecodeId(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        string s = id.Trim();
        string hex = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? s[2..] : s;
        if (hex.Length == 16 && ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong v))
        {
            return new Tid(v);
        }
        Span<byte> b = stackalloc byte[9];
        if (s.Length == 12 && Convert.TryFromBase64String(s, b, out int n) && n == 8)
        {
            return new Tid(BinaryPrimitives.ReadUInt64BigEndian(b));
        }
        throw new UndoException($"Invalid transaction id '{id}': an undo id is 12 base64 characters (as the undo log shows) or a tid of 16 hex digits");
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Id} {Tid} {UserText} {DescriptionText}");
}

/// <summary>
/// An undo refused for several objects at once (ZODB <c>MultipleUndoErrors</c>): <see cref="Errors"/> lists each
/// object with its reason; <see cref="UndoException.Oid"/> is the first of them.
/// </summary>
public sealed class MultipleUndoException : UndoException
{
    public MultipleUndoException(IReadOnlyList<UndoException> errors)
        : base(Describe(errors), errors.Count > 0 ? errors[0].Oid : null, null) => Errors = errors;

    public IReadOnlyList<UndoException> Errors { get; }

    private static string Describe(IReadOnlyList<UndoException> errors) =>
        string.Join("; ", errors.Select(e => e.Message));
}
