using System.Collections.Concurrent;
using Wendelin.Storage.BTrees;

namespace Wendelin.Storage.Persistence;

/// <summary>
/// Maps Python class names (<c>module.Name</c>) to the C# types that load and save their records, and back
/// (spec/objects.md OB-7). The built-in registry knows PersistentMapping (also under its old alias
/// <c>ZODB.PersistentMapping</c>), PersistentList and the 28 BTree classes; applications and the arrays layer
/// register their own. A record of a class nobody registered loads as a <see cref="GenericPersistent"/>.
/// Thread-safe.
/// </summary>
public sealed class TypeRegistry
{
    private readonly ConcurrentDictionary<string, PythonClass> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, PythonClass> _byType = new();
    private readonly ConcurrentDictionary<(string Module, string Name), PythonClass?> _lookups = new();
    private readonly Lock _lock = new();

    /// <summary>A registry with the built-in classes.</summary>
    public TypeRegistry()
    {
        Register<PersistentMapping>("persistent.mapping", "PersistentMapping");
        RegisterAlias<PersistentMapping>("ZODB.PersistentMapping", "PersistentMapping");
        Register<PersistentList>("persistent.list", "PersistentList");
        RegisterAlias<PersistentList>("ZODB.PersistentList", "PersistentList");
        BTreeClasses.RegisterAll(this);
    }

    /// <summary>The registry databases use unless given another (built-ins plus whatever was registered in it).</summary>
    public static TypeRegistry Default { get; } = new();

    /// <summary>
    /// Registers <typeparamref name="T"/> as Python class <paramref name="module"/>.<paramref name="name"/>: records of
    /// that class load as <typeparamref name="T"/> and <typeparamref name="T"/> objects are saved under that name.
    /// Registering the same pair again is allowed; giving a name to another type, or a type another name, is an
    /// <see cref="ArgumentException"/> (use <see cref="RegisterAlias{T}"/> for extra names).
    /// </summary>
    public void Register<T>(string module, string name)
        where T : Persistent, new() => Register(typeof(T), module, name, static () => new T());

    /// <summary>Registers a type with an explicit factory (for types without a public parameterless constructor).</summary>
    public void Register(Type type, string module, string name, Func<Persistent> factory)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(factory);
        Validate(module, name);
        if (!typeof(Persistent).IsAssignableFrom(type) || type.IsAbstract)
        {
            throw new ArgumentException($"{type} is not a concrete Persistent type", nameof(type));
        }
        lock (_lock)
        {
            string full = module + "." + name;
            if (_byType.TryGetValue(type, out PythonClass? existing))
            {
                if (existing.FullName == full)
                {
                    return;
                }
                throw new ArgumentException($"{type} is already registered as {existing.FullName}; use RegisterAlias for another name", nameof(type));
            }
            if (_byName.TryGetValue(full, out PythonClass? other) && other.Type != type)
            {
                throw new ArgumentException($"{full} is already registered to {other.Type}", nameof(name));
            }
            var cls = new PythonClass(module, name, type, factory);
            _byName[full] = cls;
            _byType[type] = cls;
        }
    }

    /// <summary>Makes records of another Python name load as <typeparamref name="T"/> (it is still saved under its registered name).</summary>
    public void RegisterAlias<T>(string module, string name)
        where T : Persistent, new()
    {
        Validate(module, name);
        lock (_lock)
        {
            if (!_byType.TryGetValue(typeof(T), out PythonClass? canonical))
            {
                throw new ArgumentException($"register {typeof(T)} under its own name before giving it aliases", nameof(name));
            }
            string full = module + "." + name;
            if (_byName.TryGetValue(full, out PythonClass? other) && other.Type != typeof(T))
            {
                throw new ArgumentException($"{full} is already registered to {other.Type}", nameof(name));
            }
            _byName[full] = canonical;
        }
    }

    /// <summary>The C# type registered for a Python class, if any.</summary>
    public bool TryGetType(string module, string name, out Type? type)
    {
        if (_byName.TryGetValue(module + "." + name, out PythonClass? cls))
        {
            type = cls.Type;
            return true;
        }
        type = null;
        return false;
    }

    /// <summary>The Python <c>module.Name</c> a type is saved under; <see cref="ArgumentException"/> when unregistered.</summary>
    public string PythonNameOf(Type type) => ClassOf(type).FullName;

    internal PythonClass ClassOf(Type type) =>
        _byType.TryGetValue(type, out PythonClass? cls)
            ? cls
            : throw new ArgumentException($"{type} is not registered with a Python class name (TypeRegistry.Register)", nameof(type));

    /// <summary>The class registered for a record's class (memoized per name pair: records repeat a few classes).</summary>
    internal PythonClass? Find(string module, string name)
    {
        if (_lookups.TryGetValue((module, name), out PythonClass? cls))
        {
            return cls;
        }
        cls = _byName.TryGetValue(module + "." + name, out PythonClass? c) ? c : null;
        if (cls is not null)
        {
            _lookups[(module, name)] = cls;
        }
        return cls;
    }

    private static void Validate(string module, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(module);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (module.Contains('\n', StringComparison.Ordinal) || name.Contains('\n', StringComparison.Ordinal) || name.Contains('.', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{module}' / '{name}' is not a Python module and class name");
        }
    }
}

/// <summary>One registered class: its Python name, its C# type and how to make an empty instance.</summary>
internal sealed class PythonClass(string module, string name, Type type, Func<Persistent> factory)
{
    public string Module { get; } = module;

    public string Name { get; } = name;

    public string FullName { get; } = module + "." + name;

    public Type Type { get; } = type;

    public Func<Persistent> Factory { get; } = factory;

    /// <summary>The class as a pickle global (one instance, reused by every record written).</summary>
    public Pickle.PickleGlobal Global { get; } = new(module, name);
}
