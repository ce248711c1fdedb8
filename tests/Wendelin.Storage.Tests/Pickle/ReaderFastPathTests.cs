using System.Text;
using Wendelin.Storage.Pickle;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>
/// The reader's fast paths (spec/pickle.md PK-3, PK-11, PK-21, PK-33): the memo kept in an array for the indices
/// picklers write and in a dictionary for any others, the sharing flag converters rely on, and text decoding.
/// </summary>
public sealed class ReaderFastPathTests(ITestOutputHelper output)
{
    private static byte[] P(params object[] parts)
    {
        var b = new List<byte>();
        foreach (object p in parts)
        {
            switch (p)
            {
                case byte x:
                    b.Add(x);
                    break;
                case int x:
                    b.Add((byte)x);
                    break;
                case char c:
                    b.Add((byte)c);
                    break;
                case string s:
                    b.AddRange(Encoding.ASCII.GetBytes(s));
                    break;
                case byte[] bytes:
                    b.AddRange(bytes);
                    break;
            }
        }
        return [.. b];
    }

    private static byte[] U32(uint v) => BitConverter.IsLittleEndian ? BitConverter.GetBytes(v) : [.. BitConverter.GetBytes(v).Reverse()];

    [Fact]
    public void Memo_indices_far_apart_overwritten_and_mixed_with_memoize_resolve_as_in_python()
    {
        // [] put at 5, 'x' put at 4e9, 'y' put at 5 (overwrite), MEMOIZE (index = number of entries = 2), then a list of
        // get 5, get 4e9, get 2.
        byte[] pickle = P(0x80, 4, ']', 'q', 5, 0x8c, 1, 'x', 'r', U32(4_000_000_000), '0', 0x8c, 1, 'y', 'q', 5, '0',
            0x8c, 1, 'z', 0x94, '0',
            '(', 'h', 5, 'j', U32(4_000_000_000), 'h', 2, 'l', '.');
        PickleList list = (PickleList)PickleReader.Read(pickle);
        Assert.Equal(["y", "x", "z"], list.Select(v => v.AsString()));
        PickleException e = Assert.Throws<PickleException>(() => PickleReader.Read(P(0x80, 3, 'N', 'q', 0, 'h', 1, '.')));
        Assert.Contains("memo entry 1 not found", e.Message, StringComparison.Ordinal);
        // a value put far away first (dictionary), then the array grows over its index and it is put again: found,
        // and counted once, so MEMOIZE takes Python's index len(memo) = 4
        byte[] moved = P(0x80, 4, 0x8c, 1, 'a', 'q', 20, '0', 0x8c, 1, 'b', 'q', 0, '0', 0x8c, 1, 'c', 'q', 1, '0',
            0x8c, 1, 'd', 'q', 21, '0', 0x8c, 1, 'e', 'q', 20, '0', 0x8c, 1, 'f', 0x94, '0', '(', 'h', 20, 'h', 4, 'h', 21, 't', '.');
        PickleTuple t = (PickleTuple)PickleReader.Read(moved);
        Assert.Equal(["e", "f", "d"], t.Select(v => v.AsString()));
    }

    [Fact]
    public void Random_memo_indices_agree_with_a_dictionary_model()
    {
        int seed = Seeds.Announce(output, nameof(Random_memo_indices_agree_with_a_dictionary_model));
        var rng = new Random(seed);
        for (int round = 0; round < 200; round++)
        {
            var model = new Dictionary<uint, string>();
            var body = new List<byte> { 0x80, 4 };
            int count = rng.Next(1, 60);
            for (int i = 0; i < count; i++)
            {
                string text = "v" + i;
                body.Add(0x8c);
                body.Add((byte)text.Length);
                body.AddRange(Encoding.ASCII.GetBytes(text));
                uint index;
                if (rng.Next(5) == 0)
                {
                    index = (uint)model.Count; // MEMOIZE
                    body.Add(0x94);
                }
                else
                {
                    index = rng.Next(3) switch { 0 => (uint)rng.Next(0, 300), 1 => (uint)rng.NextInt64(0, uint.MaxValue), _ => (uint)i };
                    body.Add((byte)'r');
                    body.AddRange(U32(index));
                }
                model[index] = text;
                body.Add((byte)'0');
            }
            uint[] keys = [.. model.Keys];
            body.Add((byte)'(');
            foreach (uint k in keys)
            {
                body.Add((byte)'j');
                body.AddRange(U32(k));
            }
            body.Add((byte)'l');
            body.Add((byte)'.');
            PickleList list = (PickleList)PickleReader.Read(body.ToArray());
            Assert.Equal(keys.Select(k => model[k]), list.Select(v => v.AsString()));
        }
    }

    [Fact]
    public void Records_say_whether_a_container_may_occur_twice()
    {
        var list = new PickleList([new PickleStr("a")]);
        var shared = new PickleDict();
        shared.Set("x", list);
        shared.Set("y", list);
        var plain = new PickleDict();
        plain.Set("x", new PickleList([new PickleStr("a")]));
        plain.Set("y", new PickleStr("same text twice"));
        plain.Set("z", new PickleStr("same text twice"));
        var global = new PickleGlobal("m", "C");
        Assert.True(ZodbRecord.Read(ZodbPickle.WriteRecord(global, shared)).SharesContainers);
        Assert.False(ZodbRecord.Read(ZodbPickle.WriteRecord(global, plain)).SharesContainers);
        // a reference to an object of the record's own class fetches the class from the memo: no container shared
        var refs = new PickleDict();
        refs.Set("r", PicklePersistentId.Strong(new Oid(7), global));
        Assert.False(ZodbRecord.Read(ZodbPickle.WriteRecord(global, refs)).SharesContainers);
        // DUP shares without the memo
        byte[] dup = P(0x80, 3, 'c', "m\nC\n", '.', 0x80, 3, ']', '2', 0x86, '.');
        ZodbRecord r = ZodbRecord.Read(dup);
        Assert.True(r.SharesContainers);
        PickleTuple t = (PickleTuple)r.State;
        Assert.Same(t[0], t[1]);
    }

    [Fact]
    public void Text_decodes_the_same_on_the_ascii_path_and_the_general_one()
    {
        string[] texts = ["", "a", "\u007f", "é", "name", "thing123", "mixed ascii and ü", "\U0001F600 emoji", new string('x', 300)];
        foreach (string s in texts)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(s);
            byte[] pickle = P(0x80, 3, 'X', U32((uint)utf8.Length), utf8, '.');
            Assert.Equal(s, PickleReader.Read(pickle).AsString());
        }
        // one instance per ASCII character (PK-33), fresh strings otherwise
        byte[] twoA = P(0x80, 3, 0x8c, 1, 'a', 0x8c, 1, 'a', 0x86, '.');
        PickleTuple t = (PickleTuple)PickleReader.Read(twoA);
        Assert.Same(((PickleStr)t[0]).Value, ((PickleStr)t[1]).Value);
        Assert.NotSame(t[0], t[1]); // the pickle values stay distinct (PK-11)
        byte[] invalid = P(0x80, 3, 0x8c, 2, 0xC3, 0x28, '.');
        Assert.Throws<PickleException>(() => PickleReader.Read(invalid));
    }
}
