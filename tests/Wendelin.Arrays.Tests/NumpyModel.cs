namespace Wendelin.Arrays.Tests;

/// <summary>
/// A plain .NET model of a NumPy-style array over flat storage (the test oracle for the model-based properties):
/// items live in a growable list in C or F storage order; indexing selects per-axis index lists the way NumPy's
/// basic indexing is documented (no strides involved), and resize reinterprets the storage like upstream's
/// BigArray.resize.
/// </summary>
internal sealed class NumpyModel
{
    public NumpyModel(long[] shape, ArrayOrder order, List<long> storage)
    {
        Shape = shape;
        Order = order;
        Storage = storage;
    }

    public long[] Shape { get; private set; }

    public ArrayOrder Order { get; }

    /// <summary>Items in storage order; positions past the end read as 0.</summary>
    public List<long> Storage { get; }

    public long Size => Shape.Aggregate(1L, (a, b) => a * b);

    public long StoragePosition(long[] index)
    {
        long pos = 0;
        if (Order == ArrayOrder.C)
        {
            for (int k = 0; k < Shape.Length; k++)
            {
                pos = pos * Shape[k] + index[k];
            }
        }
        else
        {
            for (int k = Shape.Length - 1; k >= 0; k--)
            {
                pos = pos * Shape[k] + index[k];
            }
        }
        return pos;
    }

    public long Get(long[] index)
    {
        long p = StoragePosition(index);
        return p < Storage.Count ? Storage[(int)p] : 0;
    }

    public void Set(long[] index, long value)
    {
        long p = StoragePosition(index);
        while (Storage.Count <= p)
        {
            Storage.Add(0);
        }
        Storage[(int)p] = value;
    }

    public void Resize(long[] shape) => Shape = shape;

    /// <summary>One selected axis of an index: either a list of source indices (kept axis) or a new axis.</summary>
    public sealed record Axis(int SourceAxis, long[] Indices, bool Dropped, bool New);

    /// <summary>Resolves a NumPy basic index into per-axis selections, throwing like NumPy for bad indices.</summary>
    public List<Axis> Select(Ix[] index)
    {
        int ndim = Shape.Length;
        int real = index.Count(i => i.ToString() != "None" && i.ToString() != "...");
        if (index.Count(i => i.ToString() == "...") > 1)
        {
            throw new ArgumentException("multiple ellipsis");
        }
        if (real > ndim)
        {
            throw new ArgumentException("too many indices");
        }
        var expanded = new List<string>();
        foreach (Ix ix in index)
        {
            if (ix.ToString() == "...")
            {
                for (int e = 0; e < ndim - real; e++)
                {
                    expanded.Add(":");
                }
            }
            else
            {
                expanded.Add(ix.ToString());
            }
        }
        int realAfter = expanded.Count(s => s != "None");
        for (int e = realAfter; e < ndim; e++)
        {
            expanded.Add(":");
        }
        var axes = new List<Axis>();
        int a = 0;
        foreach (string s in expanded)
        {
            if (s == "None")
            {
                axes.Add(new Axis(-1, [0], false, true));
                continue;
            }
            long n = Shape[a];
            if (!s.Contains(':', StringComparison.Ordinal))
            {
                long i = long.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
                if (i < -n || i >= n)
                {
                    throw new ArgumentOutOfRangeException(nameof(index), "out of bounds");
                }
                axes.Add(new Axis(a, [i < 0 ? i + n : i], true, false));
            }
            else
            {
                axes.Add(new Axis(a, SliceIndices(s, n), false, false));
            }
            a++;
        }
        return axes;
    }

    /// <summary>The indices <c>range(n)[start:stop:step]</c> selects, enumerated the way Python's list slicing defines them.</summary>
    public static long[] SliceIndices(string text, long n)
    {
        string[] f = text.Split(':');
        long? start = f[0].Length == 0 ? null : long.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture);
        long? stop = f[1].Length == 0 ? null : long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture);
        long step = f.Length == 3 && f[2].Length > 0 ? long.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture) : 1;
        var result = new List<long>();
        // a candidate i is selected iff it lies between the (clamped) bounds and is reached from start by whole steps
        if (step > 0)
        {
            long s = start is null ? 0 : start.Value < 0 ? Math.Max(0, start.Value + n) : Math.Min(n, start.Value);
            long e = stop is null ? n : stop.Value < 0 ? Math.Max(0, stop.Value + n) : Math.Min(n, stop.Value);
            for (long i = s; i < e; i += step)
            {
                result.Add(i);
            }
        }
        else
        {
            long s = start is null ? n - 1 : start.Value < 0 ? Math.Max(-1, start.Value + n) : Math.Min(n - 1, start.Value);
            long e = stop is null ? -1 : stop.Value < 0 ? Math.Max(-1, stop.Value + n) : Math.Min(n - 1, stop.Value);
            for (long i = s; i > e; i += step)
            {
                result.Add(i);
            }
        }
        return result.ToArray();
    }

    /// <summary>Result shape of an index.</summary>
    public static long[] ResultShape(List<Axis> axes) => axes.Where(x => !x.Dropped).Select(x => (long)x.Indices.Length).ToArray();

    /// <summary>Every selected item as (result index, source index), result in C order.</summary>
    public IEnumerable<(long[] Result, long[] Source)> Items(List<Axis> axes)
    {
        long[] rshape = ResultShape(axes);
        if (rshape.Any(n => n == 0))
        {
            yield break;
        }
        long total = rshape.Aggregate(1L, (x, y) => x * y);
        var r = new long[rshape.Length];
        for (long t = 0; t < total; t++)
        {
            long rem = t;
            for (int k = rshape.Length - 1; k >= 0; k--)
            {
                r[k] = rem % rshape[k];
                rem /= rshape[k];
            }
            var src = new long[Shape.Length];
            int rk = 0;
            foreach (Axis ax in axes)
            {
                if (ax.New)
                {
                    rk++;
                    continue;
                }
                src[ax.SourceAxis] = ax.Dropped ? ax.Indices[0] : ax.Indices[r[rk]];
                if (!ax.Dropped)
                {
                    rk++;
                }
            }
            yield return ((long[])r.Clone(), src);
        }
    }

    /// <summary>The values selected by an index, in C order of the result.</summary>
    public long[] Read(Ix[] index)
    {
        List<Axis> axes = Select(index);
        return Items(axes).Select(x => Get(x.Source)).ToArray();
    }
}
