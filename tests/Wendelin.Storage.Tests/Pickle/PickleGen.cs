using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>FsCheck generators of pickle values: every kind of the value model, nested, with keys of any hashable kind.</summary>
internal static class PickleGen
{
    private static readonly string[] Modules = ["mod", "a.b.c", "persistent.mapping", "BTrees.OOBTree", "üñï.cödé", "x"];
    private static readonly string[] Names = ["C", "Thing", "OOBTree", "dtype", "Ünïcode", "_private"];

    public static Gen<PickleValue> Ints { get; } = Gen.OneOf(
        Gen.Choose(-300, 70000).Select(i => (PickleValue)i),
        Gen.Choose(int.MinValue, int.MaxValue).Select(i => (PickleValue)i),
        from a in Gen.Choose(int.MinValue, int.MaxValue)
        from b in Gen.Choose(int.MinValue, int.MaxValue)
        select (PickleValue)(((long)a << 32) ^ (uint)b),
        from n in Gen.Choose(0, 40)
        from bytes in Gen.ArrayOf(Gen.Choose(0, 255), n)
        select (PickleValue)new BigInteger(bytes.Select(x => (byte)x).ToArray()));

    public static Gen<PickleValue> Floats { get; } = Gen.OneOf(
        Gen.Elements(0.0, -0.0, 1.5, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, double.MaxValue, 3.14159)
            .Select(d => (PickleValue)d),
        from a in Gen.Choose(int.MinValue, int.MaxValue)
        from b in Gen.Choose(int.MinValue, int.MaxValue)
        select (PickleValue)BitConverter.Int64BitsToDouble(((long)a << 32) ^ (uint)b));

    public static Gen<string> Text { get; } =
        from n in Gen.Frequency((8, Gen.Choose(0, 12)), (1, Gen.Choose(200, 300)))
        from chars in Gen.ArrayOf(Gen.Frequency(
            (6, Gen.Choose(0x20, 0x7e)), (2, Gen.Choose(0, 0x1f)), (2, Gen.Choose(0x80, 0x7ff)),
            (1, Gen.Choose(0x800, 0xffff))).Select(c => (char)c), n)
        select new string(chars);

    public static Gen<byte[]> Binary { get; } =
        from n in Gen.Frequency((6, Gen.Choose(0, 10)), (2, Gen.Choose(250, 300)), (1, Gen.Choose(0, 1)))
        from bytes in Gen.ArrayOf(Gen.Choose(0, 255), n)
        select bytes.Select(x => (byte)x).ToArray();

    public static Gen<PickleGlobal> Globals { get; } =
        from m in Gen.Elements(Modules)
        from n in Gen.Elements(Names)
        select new PickleGlobal(m, n);

    /// <summary>Values usable as dict keys and set members.</summary>
    public static Gen<PickleValue> Hashable { get; } = Gen.Frequency(
        (1, Gen.Constant<PickleValue>(PickleValue.None)),
        (1, Gen.Elements<PickleValue>(PickleValue.True, PickleValue.False)),
        (4, Ints),
        (1, Floats),
        (4, Text.Select(s => (PickleValue)new PickleStr(s))),
        (2, Binary.Select(b => (PickleValue)new PickleBytes(b))),
        (1, Globals.Select(g => (PickleValue)g)));

    public static Gen<PickleValue> Leaf { get; } = Gen.Frequency(
        (8, Hashable),
        (1, Binary.Select(b => (PickleValue)new PickleByteString(b))));

    public static Gen<PickleValue> Value { get; } = Gen.Sized(size => Sized(Math.Min(size, 40)));

    public static Arbitrary<PickleValue> Arbitrary { get; } = Arb.From(Value);

    private static Gen<PickleValue> Sized(int size)
    {
        if (size <= 1)
        {
            return Leaf;
        }
        Gen<PickleValue> child = Gen.Sized(_ => Sized(size / 3));
        Gen<PickleValue[]> items = Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(child, n));
        Gen<PickleValue> keyTuple = Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Hashable, n)).Select(a => (PickleValue)new PickleTuple(a));
        Gen<PickleValue> key = Gen.Frequency((5, Hashable), (1, keyTuple));
        return Gen.Frequency(
            (6, Leaf),
            (3, items.Select(a => (PickleValue)new PickleTuple(a))),
            (3, items.Select(a => (PickleValue)new PickleList(a))),
            (3, from ks in Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(key, n))
                from vs in Gen.ArrayOf(child, ks.Length)
                select (PickleValue)MakeDict(ks, vs)),
            (1, from ms in Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(key, n))
                from frozen in Gen.Elements(true, false)
                select (PickleValue)new PickleSet(ms, frozen)),
            (2, Objects(child, items)),
            (2, PersistentIds(child)));
    }

    private static PickleDict MakeDict(PickleValue[] keys, PickleValue[] values)
    {
        var d = new PickleDict();
        for (int i = 0; i < keys.Length; i++)
        {
            d.Set(keys[i], values[i]);
        }
        return d;
    }

    private static Gen<PickleValue> Objects(Gen<PickleValue> child, Gen<PickleValue[]> items) =>
        from kind in Gen.Elements(PickleConstruction.Reduce, PickleConstruction.NewObj, PickleConstruction.NewObjEx,
            PickleConstruction.Inst, PickleConstruction.Obj)
        from cls in Globals
        from args in items
        from kwargsKeys in Gen.ArrayOf(Text, 2)
        from hasState in Gen.Elements(true, false)
        from state in child
        from listItems in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(child, n))
        from dictKeys in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Hashable, n))
        select MakeObject(kind, cls, args, kwargsKeys, hasState ? state : null, listItems, dictKeys);

    private static PickleValue MakeObject(PickleConstruction kind, PickleGlobal cls, PickleValue[] args, string[] kwargsKeys,
        PickleValue? state, PickleValue[] listItems, PickleValue[] dictKeys)
    {
        PickleValue? kwargs = null;
        if (kind == PickleConstruction.NewObjEx)
        {
            var d = new PickleDict();
            foreach (string k in kwargsKeys)
            {
                d.Set(k, k.Length);
            }
            kwargs = d;
        }
        if (kind == PickleConstruction.Inst && !System.Text.Ascii.IsValid(cls.FullName))
        {
            cls = new PickleGlobal("ascii.module", "Name");
        }
        var o = new PickleObject(kind, cls, new PickleTuple(args), kwargs, state);
        foreach (PickleValue v in listItems)
        {
            o.AddListItem(v);
        }
        foreach (PickleValue k in dictKeys)
        {
            o.AddDictItem(k, PickleValue.None);
        }
        return o;
    }

    private static Gen<PickleValue> PersistentIds(Gen<PickleValue> child) =>
        from oid in Gen.Choose(0, int.MaxValue)
        from cls in Globals
        from kind in Gen.Choose(0, 5)
        from other in child
        select kind switch
        {
            0 => PicklePersistentId.Strong(new Oid((ulong)oid), cls),
            1 => PicklePersistentId.OidOnly(new Oid((ulong)oid)),
            2 => PicklePersistentId.Weak(new Oid((ulong)oid)),
            3 => PicklePersistentId.CrossDatabase("other", new Oid((ulong)oid), cls),
            4 => PicklePersistentId.CrossDatabaseOidOnly("other", new Oid((ulong)oid)),
            _ => (PickleValue)new PicklePersistentId(other),
        };

    /// <summary>A quick-check configuration that replays from <paramref name="seed"/> (printed by the caller).</summary>
    public static Config Config(int seed, int maxTest) => FsCheck.Config.QuickThrowOnFailure
        .WithMaxTest(maxTest)
        .WithEndSize(40)
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd((ulong)(uint)seed, 0x9E3779B97F4A7C15UL), FSharpOption<int>.None)));

    public static int Seed(ITestOutputHelper output, string what) => Seeds.Announce(output, what);
}
