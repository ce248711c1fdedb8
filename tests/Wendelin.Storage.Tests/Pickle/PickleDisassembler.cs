using System.Buffers.Binary;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>Test-only opcode walk (like Python's pickletools.genops) used to find opcodes and length fields.</summary>
internal static class PickleDisassembler
{
    /// <summary>How an opcode's argument is laid out.</summary>
    public enum Arg
    {
        None,
        Fixed,
        Line,
        TwoLines,
        Length1,
        Length4,
        Length8,
    }

    public readonly record struct Op(int Offset, byte Code, Arg Kind, int ArgOffset, int ArgSize);

    public static Arg KindOf(byte op, out int fixedSize)
    {
        fixedSize = 0;
        switch (op)
        {
            case 0x80 or (byte)'K' or (byte)'h' or (byte)'q' or 0x82:
                fixedSize = 1;
                return Arg.Fixed;
            case (byte)'M' or 0x83:
                fixedSize = 2;
                return Arg.Fixed;
            case (byte)'J' or (byte)'j' or (byte)'r' or 0x84:
                fixedSize = 4;
                return Arg.Fixed;
            case (byte)'G' or 0x95:
                fixedSize = 8;
                return Arg.Fixed;
            case (byte)'I' or (byte)'L' or (byte)'F' or (byte)'S' or (byte)'V' or (byte)'g' or (byte)'p' or (byte)'P':
                return Arg.Line;
            case (byte)'c' or (byte)'i':
                return Arg.TwoLines;
            case (byte)'C' or (byte)'U' or 0x8c or 0x8a:
                return Arg.Length1;
            case (byte)'B' or (byte)'T' or (byte)'X' or 0x8b:
                return Arg.Length4;
            case 0x8d or 0x8e or 0x96:
                return Arg.Length8;
            default:
                return Arg.None;
        }
    }

    /// <summary>The opcodes of the pickles in <paramref name="data"/> until the data ends or an argument does not fit.</summary>
    public static List<Op> Walk(ReadOnlySpan<byte> data)
    {
        var ops = new List<Op>();
        int pos = 0;
        while (pos < data.Length)
        {
            int start = pos;
            byte op = data[pos++];
            Arg kind = KindOf(op, out int size);
            int argOffset = pos;
            switch (kind)
            {
                case Arg.Fixed:
                    break;
                case Arg.Line:
                    size = data[pos..].IndexOf((byte)'\n') + 1;
                    break;
                case Arg.TwoLines:
                    {
                        int a = data[pos..].IndexOf((byte)'\n') + 1;
                        int b = a == 0 ? -1 : data[(pos + a)..].IndexOf((byte)'\n') + 1;
                        size = a == 0 || b == 0 ? -1 : a + b;
                        break;
                    }
                case Arg.Length1:
                    size = pos < data.Length ? 1 + data[pos] : -1;
                    break;
                case Arg.Length4:
                    size = pos + 4 <= data.Length ? 4 + (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(data[pos..]), int.MaxValue - 8) : -1;
                    break;
                case Arg.Length8:
                    size = pos + 8 <= data.Length ? 8 + (int)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(data[pos..]), int.MaxValue - 8) : -1;
                    break;
            }
            if (size < 0 || (long)pos + size > data.Length || (kind == Arg.Line && size == 0))
            {
                break;
            }
            ops.Add(new Op(start, op, kind, argOffset, size));
            pos += size;
        }
        return ops;
    }

    public static IEnumerable<byte> Opcodes(ReadOnlySpan<byte> data) => Walk(data).Select(o => o.Code);
}
