namespace Wendelin.Storage.BTrees;

/// <summary>
/// A BTree family: its Python module and class prefix and its node sizes (spec/objects.md OB-40). The sizes are
/// BTrees' defaults, checked against Python's BTrees by growing real trees until they split: leaf 30 for OO, 60
/// for IO/LO/OI/OL, 120 for II/LL; interior 250 for object keys (OO/OI/OL), 500 for integer keys.
/// </summary>
public sealed class BTreeFamily
{
    public static readonly BTreeFamily OO = new("OO", 30, 250);
    public static readonly BTreeFamily IO = new("IO", 60, 500);
    public static readonly BTreeFamily LO = new("LO", 60, 500);
    public static readonly BTreeFamily OI = new("OI", 60, 250);
    public static readonly BTreeFamily OL = new("OL", 60, 250);
    public static readonly BTreeFamily II = new("II", 120, 500);
    public static readonly BTreeFamily LL = new("LL", 120, 500);

    private BTreeFamily(string prefix, int maxLeaf, int maxInternal)
    {
        Prefix = prefix;
        MaxLeaf = maxLeaf;
        MaxInternal = maxInternal;
    }

    /// <summary>The two-letter prefix: key kind then value kind (O object, I 32-bit int, L 64-bit int).</summary>
    public string Prefix { get; }

    /// <summary>The Python module holding the family's classes, e.g. <c>BTrees.LOBTree</c>.</summary>
    public string Module => "BTrees." + Prefix + "BTree";

    /// <summary>A bucket splits when it grows past this many items (Python <c>max_leaf_size</c>).</summary>
    public int MaxLeaf { get; }

    /// <summary>An interior node splits when it grows past this many children, the root at twice it (Python <c>max_internal_size</c>).</summary>
    public int MaxInternal { get; }

    public override string ToString() => Module;
}
