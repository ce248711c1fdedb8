using Wendelin.Storage.Persistence;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>
/// The fixtures' model classes (tests/fixtures/README.md): <c>fixturemodel.Node</c> with attributes name, value,
/// children (a list), and <c>fixturemodel.Item</c> with whatever attributes it was given. Written the way a C#
/// author maps a Python class: properties over the attribute dictionary, set in Python's __init__ order.
/// </summary>
public sealed class Node : Persistent
{
    public Node()
    {
    }

    public Node(string name, long value)
    {
        SetAttribute("name", name);
        SetAttribute("value", value);
        SetAttribute("children", new List<object?>());
    }

    public string Name
    {
        get => GetAttribute<string>("name");
        set => SetAttribute("name", value);
    }

    public long Value
    {
        get => GetAttribute<long>("value");
        set => SetAttribute("value", value);
    }

    /// <summary>The children list; call <see cref="Persistent.MarkChanged"/> after changing it in place (as in Python).</summary>
    public List<object?> Children => GetAttribute<List<object?>>("children");

    public void AddChild(Node child)
    {
        WriteAccess();
        Children.Add(child);
    }
}

/// <summary><c>fixturemodel.Item</c>: a bag of attributes.</summary>
public sealed class Item : Persistent
{
    public Item()
    {
    }

    public Item(string name) => SetAttribute("name", name);

    public object? this[string attribute]
    {
        get => GetAttribute<object?>(attribute);
        set => SetAttribute(attribute, value);
    }

    public IReadOnlyList<string> Names => AttributeNames;
}

/// <summary>A class with a field-based layout: fields mapped by hand in GetState/SetState (a tuple state, like ZBigFile's).</summary>
public sealed class Pair : Persistent
{
    private long _size;
    private Persistent? _target;

    public long Size
    {
        get => Get(ref _size);
        set => Set(ref _size, value);
    }

    public Persistent? Target
    {
        get => Get(ref _target);
        set => Set(ref _target, value);
    }

    protected override object? GetState() => new PyTuple(_size, _target);

    protected override void SetState(object? state)
    {
        var t = (PyTuple)state!;
        _size = (long)t[0]!;
        _target = (Persistent?)t[1];
    }

    protected override void ClearState()
    {
        _size = 0;
        _target = null;
    }
}

internal static class Model
{
    /// <summary>A registry with the built-ins plus the fixture model classes.</summary>
    public static TypeRegistry Registry()
    {
        var r = new TypeRegistry();
        r.Register<Node>("fixturemodel", "Node");
        r.Register<Item>("fixturemodel", "Item");
        r.Register<Pair>("wendelin_tests", "Pair");
        return r;
    }
}
