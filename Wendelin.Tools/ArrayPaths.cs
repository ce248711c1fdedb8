using System.Globalization;
using Wendelin.Arrays;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;

namespace Wendelin.Tools;

/// <summary>
/// Arrays are named by their path from the database root: keys of mappings (PersistentMapping, OOBTree, dicts,
/// attributes of objects of other classes) and indexes of lists, joined with '/', e.g. <c>A</c> or
/// <c>experiments/run1/signal</c>.
/// </summary>
internal static class ArrayPaths
{
    private const int MaxDepth = 32;

    private const string ListHint = "`wendelin array list FILE` lists the arrays and their paths";

    /// <summary>Every ZBigArray reachable from the root, in the order the walk meets them (each once).</summary>
    public static List<(string Path, ZBigArray Array)> FindAll(Connection conn)
    {
        var found = new List<(string, ZBigArray)>();
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        Walk(conn.Root, "", found, seen, 0);
        return found;
    }

    private static void Walk(object? value, string path, List<(string, ZBigArray)> found, HashSet<object> seen, int depth)
    {
        if (value is null || depth > MaxDepth || value is string or byte[] || (value.GetType().IsPrimitive))
        {
            return;
        }
        if (!seen.Add(value))
        {
            return;
        }
        if (value is ZBigArray a)
        {
            found.Add((path, a));
            return;
        }
        foreach ((string key, object? child) in Children(value))
        {
            Walk(child, path.Length == 0 ? key : path + "/" + key, found, seen, depth + 1);
        }
    }

    private static IEnumerable<(string Key, object? Value)> Children(object value)
    {
        switch (value)
        {
            case PersistentMapping m:
                foreach (KeyValuePair<object, object?> kv in m)
                {
                    yield return (KeyText(kv.Key), kv.Value);
                }
                break;
            case BTree<object, object?> t:
                foreach (KeyValuePair<object, object?> kv in t)
                {
                    yield return (KeyText(kv.Key), kv.Value);
                }
                break;
            case PersistentList l:
                for (int i = 0; i < l.Count; i++)
                {
                    yield return (i.ToString(CultureInfo.InvariantCulture), l[i]);
                }
                break;
            case GenericPersistent g:
                if (g.State is { } state)
                {
                    foreach ((string k, object? v) in Children(state))
                    {
                        yield return (k, v);
                    }
                }
                break;
            case OrderedDictionary<string, object?> sd:
                foreach (KeyValuePair<string, object?> kv in sd)
                {
                    yield return (kv.Key, kv.Value);
                }
                break;
            case OrderedDictionary<object, object?> od:
                foreach (KeyValuePair<object, object?> kv in od)
                {
                    yield return (KeyText(kv.Key), kv.Value);
                }
                break;
            case List<object?> list:
                for (int i = 0; i < list.Count; i++)
                {
                    yield return (i.ToString(CultureInfo.InvariantCulture), list[i]);
                }
                break;
            case PyTuple tuple:
                for (int i = 0; i < tuple.Count; i++)
                {
                    yield return (i.ToString(CultureInfo.InvariantCulture), tuple[i]);
                }
                break;
        }
    }

    private static string KeyText(object key) => key as string ?? PythonValues.Repr(key);

    /// <summary>The array at <paramref name="path"/>; <see cref="ToolException"/> naming what is missing.</summary>
    public static ZBigArray Resolve(Connection conn, string path)
    {
        object? v = Lookup(conn, path, out string missing);
        return v switch
        {
            ZBigArray a => a,
            null when missing.Length > 0 => throw new ToolException($"no array at '{path}': '{missing}' does not exist", ListHint),
            _ => throw new ToolException($"'{path}' is a {Describe(v)}, not a ZBigArray", ListHint),
        };
    }

    /// <summary>The object at <paramref name="path"/>, or null with the first missing segment in <paramref name="missing"/>.</summary>
    public static object? Lookup(Connection conn, string path, out string missing)
    {
        object? current = conn.Root;
        string[] parts = Split(path);
        string walked = "";
        foreach (string part in parts)
        {
            walked = walked.Length == 0 ? part : walked + "/" + part;
            object? next = null;
            bool found = false;
            foreach ((string key, object? child) in current is null ? [] : Children(current))
            {
                if (key == part)
                {
                    next = child;
                    found = true;
                    break;
                }
            }
            if (!found)
            {
                missing = walked;
                return null;
            }
            current = next;
        }
        missing = "";
        return current;
    }

    /// <summary>Sets root/…/parent[key] = <paramref name="value"/> where the parent is a PersistentMapping or an OOBTree.</summary>
    public static void Store(Connection conn, string path, ZBigArray value)
    {
        string[] parts = Split(path);
        string parentPath = string.Join('/', parts[..^1]);
        object? parent = parts.Length == 1 ? conn.Root : Lookup(conn, parentPath, out string missing);
        if (parent is null)
        {
            throw new ToolException($"cannot create '{path}': '{parentPath}' does not exist", "import into an existing PersistentMapping or OOBTree, or at the root (e.g. just A)");
        }
        switch (parent)
        {
            case PersistentMapping m:
                m[parts[^1]] = value;
                break;
            case OOBTree t:
                t[parts[^1]] = value;
                break;
            default:
                throw new ToolException($"cannot create '{path}': '{parentPath}' is a {Describe(parent)}, not a PersistentMapping or OOBTree", "import into a PersistentMapping or OOBTree, or at the root");
        }
    }

    private static string[] Split(string path)
    {
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            throw new ToolException($"'{path}' is not an array path", "an array path names at least one key below the root, e.g. A or data/signal");
        }
        return parts;
    }

    private static string Describe(object? v) => v switch
    {
        null => "None",
        GenericPersistent g => g.ClassName,
        Persistent p => p.GetType().Name,
        _ => v.GetType().Name,
    };
}
