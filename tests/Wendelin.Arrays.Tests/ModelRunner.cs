using System.Text;

namespace Wendelin.Arrays.Tests;

/// <summary>
/// Runs a random sequence of operations (views by random basic indices, scalar/array/item assignment, append,
/// failing append, empty append, resize) on a BigArray and on a <see cref="NumpyModel"/>, checking after each that
/// the array and the model agree (spec/arrays.md AR-8..AR-15). Values are small integers converted to the dtype's
/// element type, so every dtype represents them exactly. A failure reports the operation trace.
/// </summary>
internal sealed class ModelRunner<T>(Func<long, T> fromLong, Func<T, long> toLong) where T : unmanaged
{
    private readonly StringBuilder _trace = new();

    public string Trace => _trace.ToString();

    /// <param name="array">A fresh array, all zero.</param>
    /// <param name="maxItems">Growth limit of the array in items (appends beyond it are skipped).</param>
    public void Run(BigArray array, int seed, int steps, long maxItems)
    {
        var rng = new Random(seed);
        var model = new NumpyModel(array.Shape.ToArray(), array.Order, []);
        _trace.Clear().Append(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"array {array} seed {seed}\n"));
        try
        {
            for (int step = 0; step < steps; step++)
            {
                int op = rng.Next(100);
                if (op < 30)
                {
                    ReadView(array, model, rng);
                }
                else if (op < 42)
                {
                    AssignScalar(array, model, rng);
                }
                else if (op < 54)
                {
                    AssignArray(array, model, rng);
                }
                else if (op < 62)
                {
                    SetItem(array, model, rng);
                }
                else if (op < 76)
                {
                    Append(array, model, rng, maxItems);
                }
                else if (op < 82)
                {
                    BadAppend(array, model, rng);
                }
                else if (op < 92)
                {
                    Resize(array, model, rng, maxItems);
                }
                else
                {
                    ViewOfView(array, model, rng);
                }
                CheckWhole(array, model);
            }
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException($"{e.GetType().Name}: {e.Message}\ntrace:\n{Trace}\n{e}");
        }
        catch (Xunit.Sdk.XunitException e)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\ntrace:\n{Trace}");
        }
    }

    private void Log(string s) => _trace.Append(s).Append('\n');

    private void CheckWhole(BigArray a, NumpyModel m)
    {
        Assert.Equal(m.Shape, a.Shape.ToArray());
        long[] expect = m.Read([]);
        long[] got = a.ToArray<T>().Select(toLong).ToArray();
        Assert.Equal(expect, got);
    }

    /// <summary>A random basic index for <paramref name="shape"/> (ints incl. out-of-range, slices, None, one Ellipsis).</summary>
    public static Ix[] RandomIndex(Random rng, long[] shape)
    {
        int count = rng.Next(shape.Length + 1);
        var list = new List<Ix>();
        for (int k = 0; k < count; k++)
        {
            list.Add(RandomEntry(rng, shape[k]));
        }
        if (rng.Next(4) == 0)
        {
            // an ellipsis standing for some axes: entries after it address the last axes
            int at = rng.Next(list.Count + 1);
            int after = list.Count - at;
            list.Insert(at, Ix.Ellipsis);
            for (int j = 0; j < after; j++)
            {
                long n = shape[shape.Length - after + j];
                if (list[at + 1 + j].ToString() != "None")
                {
                    list[at + 1 + j] = RandomEntry(rng, n);
                }
            }
        }
        if (rng.Next(3) == 0)
        {
            list.Insert(rng.Next(list.Count + 1), Ix.NewAxis);
        }
        if (rng.Next(25) == 0)
        {
            list.Add(0); // one index too many
        }
        return list.ToArray();
    }

    private static Ix RandomEntry(Random rng, long n)
    {
        int m = (int)n;
        int kind = rng.Next(10);
        if (kind < 4)
        {
            int i = rng.Next(25) == 0 ? (rng.Next(2) == 0 ? m : -m - 1) : m == 0 ? 0 : rng.Next(-m, m);
            return i;
        }
        long? Bound() => rng.Next(4) == 0 ? null : rng.Next(-m - 2, m + 3);
        long step = rng.Next(5) switch
        {
            0 or 1 => 1,
            2 => rng.Next(2, 5),
            3 => -rng.Next(1, 5),
            _ => new long[] { 7, -11, 100, -100 }[rng.Next(4)],
        };
        return Ix.Slice(Bound(), Bound(), step);
    }

    private static bool Expect(NumpyModel m, Ix[] index, out List<NumpyModel.Axis>? axes, out Type? error)
    {
        try
        {
            axes = m.Select(index);
            error = null;
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            axes = null;
            error = typeof(ArgumentOutOfRangeException);
            return false;
        }
        catch (ArgumentException)
        {
            axes = null;
            error = typeof(ArgumentException);
            return false;
        }
    }

    private void ReadView(BigArray a, NumpyModel m, Random rng)
    {
        Ix[] index = RandomIndex(rng, m.Shape);
        Log($"read {Ix.Format(index)}");
        if (!Expect(m, index, out var axes, out Type? error))
        {
            Exception? e = Record.Exception(() => a.View(index).Dispose());
            Assert.NotNull(e);
            Assert.Equal(error, e.GetType());
            return;
        }
        using ArrayView v = a.View(index);
        Assert.Equal(NumpyModel.ResultShape(axes!), v.Shape.ToArray());
        long[] expect = m.Items(axes!).Select(x => m.Get(x.Source)).ToArray();
        Assert.Equal(expect, v.ToArray<T>().Select(toLong).ToArray());
        if (v.Size > 0)
        {
            // F logical order, an item, and the reductions of the view
            T[] f = v.ToArray<T>(ArrayOrder.F);
            var items = m.Items(axes!).ToList();
            long[] fshape = v.Shape.ToArray();
            var byF = items.OrderBy(x => FKey(x.Result, fshape)).Select(x => m.Get(x.Source)).ToArray();
            Assert.Equal(byF, f.Select(toLong).ToArray());
            var pick = items[rng.Next(items.Count)];
            Assert.Equal(m.Get(pick.Source), toLong(v.GetItem<T>(pick.Result)));
            if (v.IsResident && v.Strides.ToArray().All(st => st >= 0) && Nested(v))
            {
                // AR-16: the same item through a TensorSpan over the view's memory
                var t = v.AsTensorSpan<T>();
                nint[] at = pick.Result.Length == 0 ? [0] : pick.Result.Select(x => (nint)x).ToArray();
                Assert.Equal(m.Get(pick.Source), toLong(t[at]));
            }
            Assert.Equal((double)expect.Sum(), v.Sum());
        }
    }

    /// <summary>Whether the axes longer than 1, sorted by stride, each step over the extent of the smaller ones.</summary>
    private static bool Nested(ArrayView v)
    {
        var axes = Enumerable.Range(0, v.NDim).Where(k => v.Shape[k] > 1).OrderBy(k => v.Strides[k]).ToArray();
        for (int i = 1; i < axes.Length; i++)
        {
            if (v.Strides[axes[i]] < v.Strides[axes[i - 1]] * v.Shape[axes[i - 1]])
            {
                Assert.Throws<InvalidOperationException>(() => v.AsTensorSpan<T>());
                return false;
            }
        }
        return true;
    }

    private static long FKey(long[] r, long[] shape)
    {
        long key = 0;
        for (int k = shape.Length - 1; k >= 0; k--)
        {
            key = key * shape[k] + r[k];
        }
        return key;
    }

    private void ViewOfView(BigArray a, NumpyModel m, Random rng)
    {
        Ix[] first = RandomIndex(rng, m.Shape);
        if (!Expect(m, first, out var axes, out _))
        {
            return;
        }
        using ArrayView v = a.View(first);
        long[] vshape = v.Shape.ToArray();
        Ix[] second = RandomIndex(rng, vshape.Length == 0 ? [] : vshape);
        if (vshape.Length == 0)
        {
            second = [];
        }
        Log($"view {Ix.Format(first)} then {Ix.Format(second)}");
        // the model of the first view: its items in C order as a fresh C-order array
        var inner = new NumpyModel(vshape, ArrayOrder.C, m.Items(axes!).Select(x => m.Get(x.Source)).ToList());
        if (!Expect(inner, second, out var axes2, out Type? error))
        {
            Exception? e = Record.Exception(() => v.View(second).Dispose());
            Assert.NotNull(e);
            Assert.Equal(error, e.GetType());
            return;
        }
        using ArrayView w = v.View(second);
        Assert.Equal(NumpyModel.ResultShape(axes2!), w.Shape.ToArray());
        Assert.Equal(inner.Items(axes2!).Select(x => inner.Get(x.Source)).ToArray(), w.ToArray<T>().Select(toLong).ToArray());
        // a write through the sub-view is seen through the array (aliasing)
        if (w.Size > 0)
        {
            long value = rng.Next(1, 200);
            w.Fill(fromLong(value));
            foreach (var (r, src) in inner.Items(axes2!))
            {
                inner.Set(src, value);
            }
            var outer = m.Items(axes!).ToList();
            for (int i = 0; i < outer.Count; i++)
            {
                m.Set(outer[i].Source, inner.Storage[i]);
            }
            Log($"  filled {value}");
        }
    }

    private void AssignScalar(BigArray a, NumpyModel m, Random rng)
    {
        Ix[] index = RandomIndex(rng, m.Shape);
        long value = rng.Next(0, 200);
        Log($"assign {Ix.Format(index)} = {value}");
        if (!Expect(m, index, out var axes, out Type? error))
        {
            Exception? e = Record.Exception(() => a.Assign(index, fromLong(value)));
            Assert.NotNull(e);
            Assert.Equal(error, e.GetType());
            return;
        }
        a.Assign(index, fromLong(value));
        foreach (var (_, src) in m.Items(axes!))
        {
            m.Set(src, value);
        }
    }

    private void AssignArray(BigArray a, NumpyModel m, Random rng)
    {
        Ix[] index = RandomIndex(rng, m.Shape);
        if (!Expect(m, index, out var axes, out _))
        {
            return;
        }
        long[] rs = NumpyModel.ResultShape(axes!);
        // a broadcastable source: drop some leading axes, set some to 1; sometimes a wrong one
        int drop = rs.Length == 0 ? 0 : rng.Next(rs.Length + 1);
        long[] vs = rs.Skip(drop).Select(n => rng.Next(4) == 0 ? 1 : n).ToArray();
        bool wrong = rng.Next(8) == 0 && vs.Length > 0;
        if (wrong)
        {
            int k = rng.Next(vs.Length);
            vs[k] = rs[k + drop] + 2; // neither 1 nor the target length: cannot broadcast
        }
        long count = vs.Aggregate(1L, (x, y) => x * y);
        long[] values = Enumerable.Range(0, (int)count).Select(_ => (long)rng.Next(0, 200)).ToArray();
        Log($"assign {Ix.Format(index)} = array shape ({string.Join(",", vs)}){(wrong ? " (wrong)" : "")}");
        T[] tv = values.Select(fromLong).ToArray();
        if (wrong)
        {
            long[] before = a.ToArray<T>().Select(toLong).ToArray();
            Assert.Throws<ArgumentException>(() => a.Assign<T>(index, tv, vs));
            Assert.Equal(before, a.ToArray<T>().Select(toLong).ToArray());
            return;
        }
        a.Assign<T>(index, tv, vs);
        foreach (var (r, src) in m.Items(axes!))
        {
            long pos = 0;
            int off = r.Length - vs.Length;
            for (int j = 0; j < vs.Length; j++)
            {
                pos = pos * vs[j] + (vs[j] == 1 ? 0 : r[j + off]);
            }
            m.Set(src, values[pos]);
        }
    }

    private void SetItem(BigArray a, NumpyModel m, Random rng)
    {
        if (m.Size == 0)
        {
            return;
        }
        long[] idx = m.Shape.Select(n => (long)rng.Next((int)n)).ToArray();
        if (rng.Next(2) == 0)
        {
            int k = rng.Next(idx.Length);
            idx[k] -= m.Shape[k]; // negative form
        }
        long value = rng.Next(0, 200);
        Log($"setitem [{string.Join(",", idx)}] = {value}");
        a.SetItem(fromLong(value), idx);
        long[] pos = idx.Select((i, k) => i < 0 ? i + m.Shape[k] : i).ToArray();
        m.Set(pos, value);
        Assert.Equal(value, toLong(a.GetItem<T>(idx)));
        long[] bad = (long[])pos.Clone();
        bad[0] = m.Shape[0];
        Assert.Throws<ArgumentOutOfRangeException>(() => a.GetItem<T>(bad));
    }

    private void Append(BigArray a, NumpyModel m, Random rng, long maxItems)
    {
        int axis = a.Order == ArrayOrder.C ? 0 : m.Shape.Length - 1;
        long delta = rng.Next(5) == 0 ? 0 : rng.Next(1, 5);
        long[] vs = (long[])m.Shape.Clone();
        vs[axis] = delta;
        long[] grown = (long[])m.Shape.Clone();
        grown[axis] += delta;
        if (grown.Aggregate(1L, (x, y) => x * y) > maxItems)
        {
            return;
        }
        long count = vs.Aggregate(1L, (x, y) => x * y);
        long[] values = Enumerable.Range(0, (int)count).Select(_ => (long)rng.Next(0, 200)).ToArray();
        Log($"append shape ({string.Join(",", vs)})");
        a.Append<T>(values.Select(fromLong).ToArray(), vs);
        if (delta == 0)
        {
            return; // AR-15: an empty append changes nothing
        }
        long n = m.Shape[axis];
        m.Resize(grown);
        var view = new NumpyModel(vs, ArrayOrder.C, values.ToList());
        foreach (var (r, src) in view.Items(view.Select([])))
        {
            long[] dst = (long[])r.Clone();
            dst[axis] += n;
            m.Set(dst, view.Get(src));
        }
    }

    private void BadAppend(BigArray a, NumpyModel m, Random rng)
    {
        int axis = a.Order == ArrayOrder.C ? 0 : m.Shape.Length - 1;
        long[] vs = (long[])m.Shape.Clone();
        vs[axis] = 1;
        if (vs.Length == 1)
        {
            vs = [1, 1]; // wrong number of axes
        }
        else
        {
            int k = axis == 0 ? 1 : 0;
            vs[k] += 1;
        }
        long count = vs.Aggregate(1L, (x, y) => x * y);
        Log($"bad append shape ({string.Join(",", vs)})");
        long[] before = a.Shape.ToArray();
        Assert.Throws<ArgumentException>(() => a.Append<T>(new T[count], vs));
        Assert.Equal(before, a.Shape.ToArray());
    }

    private void Resize(BigArray a, NumpyModel m, Random rng, long maxItems)
    {
        long[] shape = m.Shape.Select(n => (long)rng.Next(0, 6)).ToArray();
        if (shape.Aggregate(1L, (x, y) => x * y) > maxItems)
        {
            return;
        }
        Log($"resize ({string.Join(",", shape)})");
        // an old view keeps its shape and still aliases the file (AR-15)
        using ArrayView old = a.View();
        a.Resize(shape);
        m.Resize(shape);
        Assert.Equal(shape, a.Shape.ToArray());
        Assert.Equal(Layout.Strides(shape, a.ItemSize, a.Order), a.Strides.ToArray());
        _ = old.Size;
    }
}
