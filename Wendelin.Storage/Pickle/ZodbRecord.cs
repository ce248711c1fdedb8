namespace Wendelin.Storage.Pickle;

/// <summary>The class-metadata forms of a record's first pickle (filestorage-format §8.2, spec/pickle.md §4).</summary>
public enum ClassMetadataForm
{
    /// <summary>#1: the class alone (a global, or a persistent reference for a persistent class).</summary>
    Class,

    /// <summary>#2 / #6: <c>(class, args)</c>, args a tuple (newargs or legacy initargs).</summary>
    ClassWithArgs,

    /// <summary>#5: <c>(class, None)</c>.</summary>
    ClassWithNone,

    /// <summary>#3: <c>((module, name), None)</c>.</summary>
    NameWithNone,

    /// <summary>#4 / #7: <c>((module, name), args)</c>.</summary>
    NameWithArgs,

    /// <summary><c>(module, name)</c> alone, accepted by ZODB's analysis tools.</summary>
    Name,
}

/// <summary>
/// A ZODB data record decoded: the class-metadata pickle and the state pickle, read back to back with one memo
/// (PK-3). <see cref="ClassName"/> is <c>module.Name</c>; <see cref="PersistentIds"/> are all persistent ids of both
/// pickles in order.
/// </summary>
public sealed class ZodbRecord
{
    private ZodbRecord(PickleValue classMetadata, PickleValue state, int classPickleLength, int length, IReadOnlyList<PicklePersistentId> pids)
    {
        ClassMetadata = classMetadata;
        State = state;
        ClassPickleLength = classPickleLength;
        Length = length;
        PersistentIds = pids;
        (Form, Class, ClassArgs, Module, Name) = InterpretClass(classMetadata);
    }

    /// <summary>The first pickle as read.</summary>
    public PickleValue ClassMetadata { get; }

    /// <summary>The second pickle: the object's state (what <c>__setstate__</c> receives).</summary>
    public PickleValue State { get; }

    public ClassMetadataForm Form { get; }

    /// <summary>The class: a <see cref="PickleGlobal"/>, a <see cref="PicklePersistentId"/> (persistent class), or the (module, name) tuple.</summary>
    public PickleValue Class { get; }

    /// <summary>The second item of the class tuple (newargs, initargs or None), null for form #1.</summary>
    public PickleValue? ClassArgs { get; }

    /// <summary>Module of the class, null when the class is a persistent reference.</summary>
    public string? Module { get; }

    /// <summary>Name of the class, null when the class is a persistent reference.</summary>
    public string? Name { get; }

    /// <summary><c>module.Name</c>, or null when the class is a persistent reference.</summary>
    public string? ClassName => Module is null ? null : Module + "." + Name;

    /// <summary>Bytes of the first pickle (the state pickle starts here).</summary>
    public int ClassPickleLength { get; }

    /// <summary>Bytes read for both pickles (bytes after them are ignored, as ZODB does).</summary>
    public int Length { get; }

    /// <summary>The persistent ids of both pickles, in opcode order.</summary>
    public IReadOnlyList<PicklePersistentId> PersistentIds { get; }

    /// <summary>Every persistent reference of the record, in order (spec/pickle.md §5).</summary>
    public IReadOnlyList<PersistentReference> References
    {
        get
        {
            var r = new PersistentReference[PersistentIds.Count];
            for (int i = 0; i < r.Length; i++)
            {
                r[i] = PersistentIds[i].Reference;
            }
            return r;
        }
    }

    /// <summary>Reads a record: two pickles sharing one memo (PK-3).</summary>
    public static ZodbRecord Read(ReadOnlyMemory<byte> data)
    {
        var reader = new PickleReader(data);
        PickleValue cls = reader.ReadPickle();
        int classLength = reader.Position;
        PickleValue state = reader.ReadPickle();
        return new ZodbRecord(cls, state, classLength, reader.Position, reader.PersistentIds)
        {
            SharesContainers = reader.SharesContainers,
        };
    }

    /// <summary>True when a bytes, tuple, list or dict value may occur more than once in the record (see <see cref="PickleReader"/>).</summary>
    internal bool SharesContainers { get; private init; }

    private static (ClassMetadataForm, PickleValue, PickleValue?, string?, string?) InterpretClass(PickleValue meta)
    {
        switch (meta)
        {
            case PickleGlobal g:
                return (ClassMetadataForm.Class, g, null, g.Module, g.Name);
            case PicklePersistentId:
                return (ClassMetadataForm.Class, meta, null, null, null);
            case PickleTuple { Count: 2 } t:
                {
                    PickleValue cls = t[0], args = t[1];
                    bool none = args is PickleNone;
                    switch (cls)
                    {
                        case PickleGlobal g:
                            return (none ? ClassMetadataForm.ClassWithNone : ClassMetadataForm.ClassWithArgs, g, args, g.Module, g.Name);
                        case PicklePersistentId:
                            return (none ? ClassMetadataForm.ClassWithNone : ClassMetadataForm.ClassWithArgs, cls, args, null, null);
                        case PickleTuple { Count: 2 } mn when mn[0].TryGetString(out string m) && mn[1].TryGetString(out string n):
                            return (none ? ClassMetadataForm.NameWithNone : ClassMetadataForm.NameWithArgs, mn, args, m, n);
                    }
                    if (cls.TryGetString(out string module) && args.TryGetString(out string name))
                    {
                        return (ClassMetadataForm.Name, t, null, module, name);
                    }
                    break;
                }
        }
        throw new PickleException($"class metadata is not one of ZODB's forms (PK-17): {meta.Describe()}");
    }
}
