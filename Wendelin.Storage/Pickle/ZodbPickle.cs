using System.Text;
using System.Text.Unicode;

namespace Wendelin.Storage.Pickle;

/// <summary>
/// The ZODB uses of the codec in one place (spec/pickle.md §4-§6): records (two pickles, one memo), class names,
/// reference scans, the transaction extension and the <c>.index</c> pickles.
/// </summary>
public static class ZodbPickle
{
    /// <summary>The pickle protocol ZODB on Python 3 writes (records, extension, <c>.index</c>).</summary>
    public const int Protocol = 3;

    /// <summary>Reads a data record (see <see cref="ZodbRecord.Read"/>).</summary>
    public static ZodbRecord ReadRecord(ReadOnlyMemory<byte> data) => ZodbRecord.Read(data);

    /// <summary>
    /// The record's class as <c>module.Name</c>, the way ZODB's analysis tools take it (filestorage-format §8.2):
    /// straight from the GLOBAL opcode when the first pickle starts with one (after PROTO, or after MARK for the
    /// protocol-1 tuple forms), else by reading the first pickle and interpreting its form. Null when the class is
    /// a persistent reference. <see cref="PickleException"/> when the first pickle is unreadable or of no known form.
    /// </summary>
    public static string? GetClassName(ReadOnlyMemory<byte> data)
    {
        ReadOnlySpan<byte> d = data.Span;
        int i = d.Length >= 2 && d[0] == 0x80 ? 2 : 0;
        if (i + 1 < d.Length && d[i] == (byte)'(' && d[i + 1] == (byte)'c')
        {
            i++;
        }
        if (i < d.Length && d[i] == (byte)'c')
        {
            ReadOnlySpan<byte> rest = d[(i + 1)..];
            int nl1 = rest.IndexOf((byte)'\n');
            if (nl1 >= 0)
            {
                int nl2 = rest[(nl1 + 1)..].IndexOf((byte)'\n');
                if (nl2 >= 0 && Utf8.IsValid(rest[..nl1]) && Utf8.IsValid(rest.Slice(nl1 + 1, nl2)))
                {
                    return Encoding.UTF8.GetString(rest[..nl1]) + "." + Encoding.UTF8.GetString(rest.Slice(nl1 + 1, nl2));
                }
            }
        }
        return ReadClassMetadataOnly(data);
    }

    /// <summary>
    /// Every persistent reference of a record, in opcode order, in every form ZODB uses (spec/pickle.md §5):
    /// both pickles are read with one memo, nothing else is interpreted.
    /// </summary>
    public static IReadOnlyList<PersistentReference> ScanReferences(ReadOnlyMemory<byte> data)
    {
        var reader = new PickleReader(data);
        reader.ReadPickle();
        reader.ReadPickle();
        var refs = new PersistentReference[reader.PersistentIds.Count];
        for (int i = 0; i < refs.Length; i++)
        {
            refs[i] = reader.PersistentIds[i].Reference;
        }
        return refs;
    }

    /// <summary>
    /// The oids pack's garbage collection follows (ZODB <c>referencesf</c>, filestorage-format §7.4): strong
    /// same-database references, <c>(oid, class)</c> and bare oid, in order, repeats kept.
    /// </summary>
    public static IReadOnlyList<Oid> StrongReferences(ReadOnlyMemory<byte> data)
    {
        var oids = new List<Oid>();
        foreach (PersistentReference r in ScanReferences(data))
        {
            if (r.IsStrongSameDatabase)
            {
                oids.Add(r.Oid);
            }
        }
        return oids;
    }

    /// <summary>
    /// The transaction extension dict (filestorage-format §1.4, §8.10): empty bytes are the empty dict, else one
    /// pickle of a dict. <see cref="PickleException"/> for anything else.
    /// </summary>
    public static PickleDict ReadExtension(ReadOnlyMemory<byte> data)
    {
        if (data.IsEmpty)
        {
            return new PickleDict();
        }
        PickleValue v = PickleReader.Read(data);
        return v as PickleDict ?? throw new PickleException($"transaction extension is {v.Describe()}, not a dict");
    }

    /// <summary>
    /// Writes a data record as ZODB on Python 3 does (PK-3, PK-30): the class metadata pickle and the state pickle,
    /// protocol 3, one pickler whose memo continues from the first pickle into the second.
    /// </summary>
    public static byte[] WriteRecord(PickleValue classMetadata, PickleValue state)
    {
        ArgumentNullException.ThrowIfNull(classMetadata);
        ArgumentNullException.ThrowIfNull(state);
        using var buffer = new PooledBufferWriter(PickleWriter.SizeHint(state) + 256);
        var w = new PickleWriter(buffer);
        w.Dump(classMetadata);
        w.Dump(state);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Writes a data record into <paramref name="output"/> leaving out the first bytes payload of at least
    /// <paramref name="deferFrom"/> bytes (PK-39a): the record is the output with <paramref name="payload"/> inserted at
    /// <paramref name="at"/> (-1 when nothing was left out).
    /// </summary>
    internal static void WriteRecord(System.Buffers.IBufferWriter<byte> output, PickleValue classMetadata, PickleValue state, int deferFrom, out long at, out ReadOnlyMemory<byte> payload)
    {
        var w = new PickleWriter(output);
        w.DeferPayload(deferFrom);
        w.Dump(classMetadata);
        w.Dump(state);
        _ = w.TryTakeDeferred(out at, out payload);
    }

    /// <summary>Writes a data record into <paramref name="output"/>; returns the bytes written.</summary>
    public static long WriteRecord(System.Buffers.IBufferWriter<byte> output, PickleValue classMetadata, PickleValue state)
    {
        var w = new PickleWriter(output);
        w.Dump(classMetadata);
        w.Dump(state);
        return w.BytesWritten;
    }

    /// <summary>
    /// The transaction extension bytes ZODB writes for <paramref name="extension"/>: nothing for an empty dict,
    /// else one protocol-3 pickle of the dict (filestorage-format §8.10).
    /// </summary>
    public static byte[] WriteExtension(PickleDict extension)
    {
        ArgumentNullException.ThrowIfNull(extension);
        return extension.Count == 0 ? [] : PickleWriter.Write(extension);
    }

    private static string? ReadClassMetadataOnly(ReadOnlyMemory<byte> data)
    {
        PickleValue meta = new PickleReader(data).ReadPickle();
        switch (meta)
        {
            case PickleGlobal g:
                return g.FullName;
            case PicklePersistentId:
                return null;
            case PickleTuple { Count: 2 } t:
                switch (t[0])
                {
                    case PickleGlobal g:
                        return g.FullName;
                    case PicklePersistentId:
                        return null;
                    case PickleTuple { Count: 2 } mn when mn[0].TryGetString(out string m) && mn[1].TryGetString(out string n):
                        return m + "." + n;
                }
                if (t[0].TryGetString(out string module) && t[1].TryGetString(out string name))
                {
                    return module + "." + name;
                }
                break;
        }
        throw new PickleException($"class metadata is not one of ZODB's forms (PK-17): {meta.Describe()}");
    }
}
