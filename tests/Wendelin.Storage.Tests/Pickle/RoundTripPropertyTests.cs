using FsCheck;
using FsCheck.Fluent;
using Wendelin.Storage.Pickle;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>FsCheck round-trip properties over generated values (spec/pickle.md §3, §6); seeds are printed and replayable.</summary>
public sealed class RoundTripPropertyTests(ITestOutputHelper output)
{
    [Fact]
    public void Encode_then_decode_gives_an_equal_value()
    {
        int seed = PickleGen.Seed(output, nameof(Encode_then_decode_gives_an_equal_value));
        Check.One(PickleGen.Config(seed, 400), Prop.ForAll(PickleGen.Arbitrary, v =>
        {
            byte[] bytes = PickleWriter.Write(v);
            var reader = new PickleReader(bytes);
            PickleValue back = reader.ReadPickle();
            return reader.AtEnd && v.Equals(back) && back.Equals(v);
        }));
    }

    [Fact]
    public void Reencoding_a_decoded_value_gives_the_same_bytes()
    {
        int seed = PickleGen.Seed(output, nameof(Reencoding_a_decoded_value_gives_the_same_bytes));
        Check.One(PickleGen.Config(seed, 300), Prop.ForAll(PickleGen.Arbitrary, v =>
        {
            byte[] once = PickleWriter.Write(v);
            byte[] twice = PickleWriter.Write(PickleReader.Read(once));
            return once.AsSpan().SequenceEqual(twice);
        }));
    }

    [Fact]
    public void Shared_and_cyclic_values_round_trip_with_their_sharing()
    {
        int seed = PickleGen.Seed(output, nameof(Shared_and_cyclic_values_round_trip_with_their_sharing));
        Check.One(PickleGen.Config(seed, 200), Prop.ForAll(PickleGen.Arbitrary, v =>
        {
            var cyclic = new PickleList([v]);
            cyclic.Add(cyclic);
            var root = new PickleTuple(v, new PickleList([v]), cyclic);
            PickleTuple back = PickleReader.Read(PickleWriter.Write(root)).AsTuple();
            bool shared = v is PickleNone or PickleBool or PickleInt or PickleFloat or PicklePersistentId
                || ReferenceEquals(back[0], back[1].AsList()[0]);
            PickleList c = back[2].AsList();
            return root.Equals(back) && shared && ReferenceEquals(c[1], c);
        }));
    }

    [Fact]
    public void Records_round_trip_with_class_state_and_references()
    {
        int seed = PickleGen.Seed(output, nameof(Records_round_trip_with_class_state_and_references));
        Check.One(PickleGen.Config(seed, 200), Prop.ForAll(PickleGen.Arbitrary, PickleGen.Globals.ToArbitrary(), (state, cls) =>
        {
            byte[] bytes = ZodbPickle.WriteRecord(cls, state);
            ZodbRecord rec = ZodbRecord.Read(bytes);
            int pids = CountPersistentIds(state);
            return rec.ClassName == cls.FullName && rec.State.Equals(state) && rec.Length == bytes.Length
                && rec.PersistentIds.Count == pids && ZodbPickle.ScanReferences(bytes).Count == pids
                && ZodbPickle.GetClassName(bytes) == cls.FullName;
        }));
    }

    [Fact]
    public void Fast_mode_round_trips_acyclic_values_without_memo_opcodes()
    {
        int seed = PickleGen.Seed(output, nameof(Fast_mode_round_trips_acyclic_values_without_memo_opcodes));
        Check.One(PickleGen.Config(seed, 200), Prop.ForAll(PickleGen.Arbitrary, v =>
        {
            byte[] bytes = PickleWriter.Write(v, fast: true);
            return PickleReader.Read(bytes).Equals(v) && !UsesMemo(bytes);
        }));
    }

    [Fact]
    public void Json_rendering_is_total_and_deterministic()
    {
        int seed = PickleGen.Seed(output, nameof(Json_rendering_is_total_and_deterministic));
        Check.One(PickleGen.Config(seed, 200), Prop.ForAll(PickleGen.Arbitrary, v =>
        {
            string a = PythonJson.Serialize(PickleJson.ToJsonNode(v), 1);
            string b = PythonJson.Serialize(PickleJson.ToJsonNode(PickleReader.Read(PickleWriter.Write(v))), 1);
            return a == b && a.All(c => c < 0x7f);
        }));
    }

    private static int CountPersistentIds(PickleValue v) => v switch
    {
        PicklePersistentId p => 1 + CountPersistentIds(p.Pid),
        PickleTuple t => t.Sum(CountPersistentIds),
        PickleList l => l.Sum(CountPersistentIds),
        PickleDict d => d.Sum(e => CountPersistentIds(e.Key) + CountPersistentIds(e.Value)),
        PickleSet s => s.Sum(CountPersistentIds),
        PickleObject o => CountPersistentIds(o.Callable) + CountPersistentIds(o.Args) + (o.Kwargs is null ? 0 : CountPersistentIds(o.Kwargs))
            + (o.State is null ? 0 : CountPersistentIds(o.State)) + (o.ListItems?.Sum(CountPersistentIds) ?? 0)
            + (o.DictItems?.Sum(e => CountPersistentIds(e.Key) + CountPersistentIds(e.Value)) ?? 0),
        _ => 0,
    };

    /// <summary>True when the opcode stream has a PUT/GET (walks opcodes with the reader's own framing).</summary>
    private static bool UsesMemo(byte[] bytes) => PickleDisassembler.Opcodes(bytes).Any(op =>
        op is (byte)'q' or (byte)'r' or (byte)'h' or (byte)'j' or (byte)'p' or (byte)'g' or 0x94);
}
