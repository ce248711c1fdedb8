using System.Text;
using Wendelin.Arrays;
using Wendelin.TestSupport;

namespace Wendelin.Tools.Tests;

/// <summary>
/// A .npy header is input from outside (spec/tools.md TL-9): any corruption of a valid header either still reads or
/// fails with one <see cref="ToolException"/> naming the file, never another exception type, a hang or a huge
/// allocation. Seeded random corruptions (byte changes, cuts, insertions of header syntax) of the headers numpy writes
/// for plain and record dtypes in every version.
/// </summary>
public sealed class NpyHostileHeaderTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly byte[] Syntax = Encoding.ASCII.GetBytes("()[]{}'\",:0123456789-+eE.xTFNLU\\ <>|");

    private static List<byte[]> Valid()
    {
        var files = new List<byte[]>();
        foreach ((string descr, int size) in NpyRecordTests.NumpyDescrs.Select(row => ((string)row[0], (int)row[1])))
        {
            files.Add(NpyRecordTests.NumpyFile(descr, 2, size, seed: size));
        }
        DType[] plain = [DType.Float64, DType.Int8, DType.Bool, DType.Complex128, DType.Float16];
        foreach (DType t in plain)
        {
            files.Add(NpyHeader.Encode(t, [3, 4], ArrayOrder.C));
            files.Add(NpyHeader.Encode(t, [5], ArrayOrder.F));
        }
        // versions 2.0 and 3.0 (4-byte header length; 3.0 is UTF-8)
        foreach (byte major in (byte[])[2, 3])
        {
            string text = "{'descr': [('\u00e9t\u00e9', '<f4'), ('b', '|u1', (3,))], 'fortran_order': True, 'shape': (2, 7), }";
            byte[] body = major == 3 ? Encoding.UTF8.GetBytes(text) : Encoding.Latin1.GetBytes(text);
            int total = (12 + body.Length + 1 + 63) / 64 * 64;
            byte[] file = new byte[total];
            NpyHeader.Magic.CopyTo(file, 0);
            file[6] = major;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(8), (uint)(total - 12));
            body.CopyTo(file, 12);
            file.AsSpan(12 + body.Length, total - 12 - body.Length - 1).Fill((byte)' ');
            file[^1] = (byte)'\n';
            files.Add(file);
        }
        return files;
    }

    [Fact]
    public void Corrupted_headers_read_or_fail_with_one_ToolException()
    {
        int seed = Seeds.Announce(output, "npy header mutations");
        var random = new Random(seed);
        List<byte[]> valid = Valid();
        foreach (byte[] file in valid)
        {
            NpyHeader h = NpyHeader.Read(new MemoryStream(file), "valid.npy"); // the originals read
            Assert.True(h.DataOffset <= file.Length);
        }
        int failed = 0, read = 0;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] original = valid[random.Next(valid.Count)];
            byte[] bytes = Mutate(original, random);
            try
            {
                NpyHeader h = NpyHeader.Read(new MemoryStream(bytes), "m.npy");
                Assert.True(h.DataOffset >= 10 && h.DataOffset <= bytes.Length, $"mutation {i}: data offset {h.DataOffset}");
                read++;
            }
            catch (ToolException e)
            {
                Assert.StartsWith("m.npy", e.Message, StringComparison.Ordinal);
                failed++;
            }
            catch (Exception e)
            {
                Assert.Fail($"mutation {i} (seed {seed}) of a {original.Length}-byte header: {e.GetType().Name}: {e.Message}\n{Convert.ToHexString(bytes)}");
            }
        }
        output.WriteLine($"{read} still read, {failed} refused with ToolException");
        Assert.True(failed > 1000 && read > 100, $"{read} read, {failed} refused: the mutations should exercise both outcomes");
    }

    private static byte[] Mutate(byte[] original, Random random)
    {
        var b = new List<byte>(original);
        int edits = 1 + random.Next(4);
        for (int e = 0; e < edits && b.Count > 0; e++)
        {
            int at = random.Next(b.Count);
            switch (random.Next(5))
            {
                case 0:
                    b[at] = (byte)random.Next(256);
                    break;
                case 1:
                    b[at] = Syntax[random.Next(Syntax.Length)];
                    break;
                case 2:
                    b.Insert(at, Syntax[random.Next(Syntax.Length)]);
                    break;
                case 3:
                    b.RemoveAt(at);
                    break;
                default:
                    b.RemoveRange(at, b.Count - at); // cut
                    break;
            }
        }
        return [.. b];
    }
}
