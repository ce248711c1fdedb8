using Wendelin.Storage.Fs;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Tests.Pack;

/// <summary>
/// Records of a small object graph for pack tests: each object is a <c>tests.Node</c> whose state is
/// <c>(value, [refs...])</c>, the references strong persistent ids <c>(oid, class)</c> as ZODB writes them.
/// </summary>
internal static class Graph
{
    private static readonly PickleGlobal NodeClass = new("tests", "Node");

    public static byte[] Node(long value, IEnumerable<Oid> refs)
    {
        var list = new PickleList();
        foreach (Oid r in refs)
        {
            list.Add(PicklePersistentId.Strong(r, NodeClass));
        }
        return ZodbPickle.WriteRecord(NodeClass, new PickleTuple(value, list));
    }

    public static (long Value, List<Oid> Refs) Read(ReadOnlyMemory<byte> data)
    {
        ZodbRecord r = ZodbPickle.ReadRecord(data);
        PickleTuple t = r.State.AsTuple();
        var refs = new List<Oid>();
        foreach (PersistentReference p in r.References)
        {
            refs.Add(p.Oid);
        }
        return (t[0].AsInt64(), refs);
    }

    /// <summary>Commits one transaction of stores; returns its tid.</summary>
    public static Tid Commit(Fs.FileStorage fs, string description, params (Oid Oid, byte[] Data)[] stores)
    {
        StorageTransaction t = fs.TpcBegin(new TransactionMetadata("graph", description));
        foreach ((Oid oid, byte[] data) in stores)
        {
            Tid serial;
            try
            {
                serial = fs.GetTid(oid);
            }
            catch (PosKeyException)
            {
                serial = Serial(fs, oid);
            }
            fs.Store(t, oid, serial, data);
        }
        fs.TpcVote(t);
        return fs.TpcFinish(t);
    }

    /// <summary>The committed serial of an object whose current revision may be a deletion (Tid.Zero when unknown).</summary>
    private static Tid Serial(Fs.FileStorage fs, Oid oid)
    {
        try
        {
            return fs.History(oid, 1)[0].Tid;
        }
        catch (PosKeyException)
        {
            return Tid.Zero;
        }
    }

    /// <summary>The data of <paramref name="oid"/> as of just after <paramref name="at"/>, or null when it has none then.</summary>
    public static byte[]? At(Fs.FileStorage fs, Oid oid, Tid at)
    {
        try
        {
            return fs.LoadBefore(oid, new Tid(at.Value + 1))?.Data.ToArray();
        }
        catch (PosKeyException)
        {
            return null;
        }
    }

    /// <summary>The objects reachable from the root as of just after <paramref name="at"/>, with their data.</summary>
    public static Dictionary<Oid, byte[]> Reachable(Fs.FileStorage fs, Tid at, IEnumerable<Oid>? extraRoots = null)
    {
        var seen = new Dictionary<Oid, byte[]>();
        var work = new Stack<Oid>();
        work.Push(Oid.Root);
        foreach (Oid o in extraRoots ?? [])
        {
            work.Push(o);
        }
        while (work.Count > 0)
        {
            Oid oid = work.Pop();
            if (seen.ContainsKey(oid) || At(fs, oid, at) is not byte[] data)
            {
                continue;
            }
            seen[oid] = data;
            foreach (Oid r in Read(data).Refs)
            {
                work.Push(r);
            }
        }
        return seen;
    }
}
