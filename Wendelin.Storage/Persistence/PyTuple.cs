using System.Collections;

namespace Wendelin.Storage.Persistence;

/// <summary>
/// A Python tuple in a live state (spec/objects.md OB-10): immutable, ordered, compared and hashed by content
/// with Python's equality (<c>1 == 1.0 == True</c>).
/// </summary>
public sealed class PyTuple : IReadOnlyList<object?>, IEquatable<PyTuple>
{
    private readonly object?[] _items;

    public PyTuple(params object?[] items)
    {
        ArgumentNullException.ThrowIfNull(items);
        _items = (object?[])items.Clone();
    }

    private PyTuple(object?[] items, bool owned) => _items = owned ? items : (object?[])items.Clone();

    /// <summary>The empty tuple.</summary>
    public static PyTuple Empty { get; } = new([], owned: true);

    internal static PyTuple Own(object?[] items) => new(items, owned: true);

    public int Count => _items.Length;

    public object? this[int index] => _items[index];

    public ReadOnlySpan<object?> AsSpan() => _items;

    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(PyTuple? other) => other is not null && PythonValues.Equal(this, other);

    public override bool Equals(object? obj) => obj is PyTuple t && Equals(t);

    public override int GetHashCode() => PythonValues.Hash(this);

    public override string ToString() => PythonValues.Repr(this);
}
