namespace Wendelin.Storage.Pickle;

/// <summary>
/// A class or function named by module and name (opcodes GLOBAL, STACK_GLOBAL, INST). Nothing is imported:
/// the reader only records the names (PK-13). Two globals with the same names are equal and, like Python's
/// class objects, the writer pickles the second one as a memo reference.
/// </summary>
public sealed class PickleGlobal : PickleValue
{
    public PickleGlobal(string module, string name)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(name);
        Module = module;
        Name = name;
    }

    public override PickleKind Kind => PickleKind.Global;

    public string Module { get; }

    public string Name { get; }

    /// <summary><c>module.Name</c>, the form ZODB tools and the fixtures' JSON use.</summary>
    public string FullName => Module + "." + Name;

    public bool Is(string module, string name) => Module == module && Name == name;

    public override string Describe() => "global " + FullName;
}

/// <summary>How a <see cref="PickleObject"/> was built.</summary>
public enum PickleConstruction
{
    /// <summary>REDUCE: <c>callable(*args)</c>.</summary>
    Reduce,

    /// <summary>NEWOBJ: <c>cls.__new__(cls, *args)</c>.</summary>
    NewObj,

    /// <summary>NEWOBJ_EX: <c>cls.__new__(cls, *args, **kwargs)</c>.</summary>
    NewObjEx,

    /// <summary>INST (protocol 0): class named inline, arguments after a MARK.</summary>
    Inst,

    /// <summary>OBJ (protocol 1): class and arguments after a MARK.</summary>
    Obj,
}

/// <summary>
/// An object the pickle builds by calling something (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ) and then possibly
/// filling (APPEND/SETITEM on it) and giving state (BUILD). Nothing is called: the value records the recipe,
/// e.g. <c>numpy.dtype('f8', False, True)</c> with its BUILD state (spec/pickle.md §3).
/// </summary>
public sealed class PickleObject : PickleValue
{
    private List<PickleValue>? _listItems;
    private List<KeyValuePair<PickleValue, PickleValue>>? _dictItems;

    public PickleObject(PickleConstruction construction, PickleValue callable, PickleValue args, PickleValue? kwargs = null, PickleValue? state = null)
    {
        ArgumentNullException.ThrowIfNull(callable);
        ArgumentNullException.ThrowIfNull(args);
        if ((construction == PickleConstruction.NewObjEx) != (kwargs is not null))
        {
            throw new ArgumentException("kwargs are given exactly for NEWOBJ_EX", nameof(kwargs));
        }
        if (construction == PickleConstruction.Inst && (callable is not PickleGlobal g || !IsAsciiLine(g.Module) || !IsAsciiLine(g.Name)))
        {
            throw new ArgumentException("INST names its class as a global of ASCII names without newlines", nameof(callable));
        }
        Construction = construction;
        Callable = callable;
        Args = args;
        Kwargs = kwargs;
        State = state;
    }

    /// <summary><c>callable(*args)</c> then BUILD <paramref name="state"/> when given.</summary>
    public static PickleObject Reduce(PickleValue callable, PickleTuple args, PickleValue? state = null) =>
        new(PickleConstruction.Reduce, callable, args, null, state);

    /// <summary><c>cls.__new__(cls, *args)</c> then BUILD <paramref name="state"/> when given.</summary>
    public static PickleObject NewObj(PickleValue cls, PickleTuple args, PickleValue? state = null) =>
        new(PickleConstruction.NewObj, cls, args, null, state);

    public override PickleKind Kind => PickleKind.Object;

    public PickleConstruction Construction { get; }

    /// <summary>The callable (REDUCE) or class (the other constructions), usually a <see cref="PickleGlobal"/>.</summary>
    public PickleValue Callable { get; }

    /// <summary>The positional arguments, normally a <see cref="PickleTuple"/>.</summary>
    public PickleValue Args { get; }

    /// <summary>The keyword arguments of NEWOBJ_EX (a dict), else null.</summary>
    public PickleValue? Kwargs { get; }

    /// <summary>The BUILD state, or null when the pickle gave none.</summary>
    public PickleValue? State { get; set; }

    /// <summary>Items appended to the object (APPEND/APPENDS on it, e.g. a list subclass), or null.</summary>
    public IReadOnlyList<PickleValue>? ListItems => _listItems;

    /// <summary>Items set on the object (SETITEM/SETITEMS on it, e.g. an OrderedDict), or null.</summary>
    public IReadOnlyList<KeyValuePair<PickleValue, PickleValue>>? DictItems => _dictItems;

    /// <summary><c>module.Name</c> of the callable when it is a global, else null.</summary>
    public string? ClassName => Callable is PickleGlobal g ? g.FullName : null;

    /// <summary>True when the callable is the global <paramref name="module"/>.<paramref name="name"/>.</summary>
    public bool Is(string module, string name) => Callable is PickleGlobal g && g.Is(module, name);

    public void AddListItem(PickleValue item)
    {
        ArgumentNullException.ThrowIfNull(item);
        (_listItems ??= []).Add(item);
    }

    public void AddDictItem(PickleValue key, PickleValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        (_dictItems ??= []).Add(new(key, value));
    }

    public override string Describe() => $"object of {ClassName ?? Callable.Describe()}";

    private static bool IsAsciiLine(string s) => System.Text.Ascii.IsValid(s) && !s.Contains('\n', StringComparison.Ordinal);
}

/// <summary>
/// A persistent id (opcodes BINPERSID / PERSID): a reference to another persistent object, left for the object
/// layer to resolve. <see cref="Pid"/> is the pickled id object; <see cref="Reference"/> interprets it in the forms
/// ZODB uses (spec/pickle.md §5).
/// </summary>
public sealed class PicklePersistentId : PickleValue
{
    public PicklePersistentId(PickleValue pid)
    {
        ArgumentNullException.ThrowIfNull(pid);
        Pid = pid;
    }

    public override PickleKind Kind => PickleKind.PersistentId;

    /// <summary>The id object: <c>(oid, class)</c>, a bare oid, <c>['w', ...]</c>, <c>['m', ...]</c>, <c>['n', ...]</c>, ...</summary>
    public PickleValue Pid { get; }

    /// <summary>The reference this id denotes (kind, oid, class hint, database).</summary>
    public PersistentReference Reference => PersistentReference.FromPid(Pid);

    /// <summary>A strong same-database reference with class hint: pid <c>(oid, class)</c>, ZODB's common form.</summary>
    public static PicklePersistentId Strong(Oid oid, PickleGlobal cls)
    {
        ArgumentNullException.ThrowIfNull(cls);
        return new PicklePersistentId(new PickleTuple([new PickleBytes(oid.ToBytes()), cls], owned: true));
    }

    /// <summary>A strong reference without class (pid = the oid alone), written for classes with <c>__getnewargs__</c>.</summary>
    public static PicklePersistentId OidOnly(Oid oid) => new(new PickleBytes(oid.ToBytes()));

    /// <summary>A persistent weak reference <c>['w', (oid,)]</c> (or <c>['w', (oid, database)]</c>).</summary>
    public static PicklePersistentId Weak(Oid oid, string? database = null)
    {
        PickleTuple t = database is null ? new PickleTuple([new PickleBytes(oid.ToBytes())], owned: true)
            : new PickleTuple([new PickleBytes(oid.ToBytes()), new PickleStr(database)], owned: true);
        return new PicklePersistentId(new PickleList([new PickleStr("w"), t]));
    }

    /// <summary>A cross-database reference <c>['m', (database, oid, class)]</c>.</summary>
    public static PicklePersistentId CrossDatabase(string database, Oid oid, PickleGlobal cls)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(cls);
        var t = new PickleTuple([new PickleStr(database), new PickleBytes(oid.ToBytes()), cls], owned: true);
        return new PicklePersistentId(new PickleList([new PickleStr("m"), t]));
    }

    /// <summary>A cross-database reference without class <c>['n', (database, oid)]</c>.</summary>
    public static PicklePersistentId CrossDatabaseOidOnly(string database, Oid oid)
    {
        ArgumentNullException.ThrowIfNull(database);
        var t = new PickleTuple([new PickleStr(database), new PickleBytes(oid.ToBytes())], owned: true);
        return new PicklePersistentId(new PickleList([new PickleStr("n"), t]));
    }

    public override string Describe() => "persistent id";
}
