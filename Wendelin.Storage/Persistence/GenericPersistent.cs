namespace Wendelin.Storage.Persistence;

/// <summary>
/// A record of a class no one registered (spec/objects.md OB-9): it keeps the class name, the class part of the
/// record and the state as loaded, can be inspected, and is written back as it was (references inside it stay
/// live objects, so what it reaches stays reachable). <see cref="ReplaceState"/> changes it.
/// </summary>
public sealed class GenericPersistent : Persistent
{
    public GenericPersistent()
        : this("builtins", "object")
    {
    }

    internal GenericPersistent(string module, string name)
    {
        Module = module;
        Name = name;
    }

    /// <summary>The Python module of the class.</summary>
    public string Module { get; internal set; }

    /// <summary>The Python class name.</summary>
    public string Name { get; internal set; }

    /// <summary><c>module.Name</c>.</summary>
    public string ClassName => Module + "." + Name;

    /// <summary>The class part of the record as loaded (a pickle value), written back verbatim; null until loaded.</summary>
    public Pickle.PickleValue? ClassMetadata { get; internal set; }

    /// <summary>True when the record's class part carried new-args (then references to it are bare oids).</summary>
    internal bool HadNewArgs { get; set; }

    protected override bool HasNewArgs => HadNewArgs;

    /// <summary>The state as loaded, in the live value model (loads a ghost).</summary>
    public object? State
    {
        get
        {
            ReadAccess();
            return GetState();
        }
    }

    /// <summary>An attribute of a dict state, or <paramref name="fallback"/> (loads a ghost).</summary>
    public object? GetAttributeValue(string name, object? fallback = null) =>
        TryGetAttributeRaw(name, out object? v) ? v : fallback;

    /// <summary>Replaces the state; the object is saved at the next commit.</summary>
    public void ReplaceState(object? state)
    {
        WriteAccess();
        SetState(state);
    }
}
