using System.Globalization;

namespace Wendelin.Storage.Pickle;

/// <summary>
/// The one error of the pickle layer (spec/pickle.md, PK-20): a pickle that cannot be read, a value that cannot be
/// written, or a value whose shape is not what the caller asked for. Names the byte offset in the input (-1 when
/// not reading), the opcode being executed (-1 when none) and what was wrong. Reading any byte string either
/// gives a value or throws this type, never another exception.
/// </summary>
public class PickleException : StorageException
{
    public PickleException(long offset, int opcode, string what)
        : base(Describe(offset, opcode, what))
    {
        Offset = offset;
        Opcode = opcode;
        What = what;
    }

    /// <summary>A shape or encoding error not tied to input bytes (offset and opcode -1).</summary>
    public PickleException(string message)
        : base(message)
    {
        Offset = -1;
        Opcode = -1;
        What = message;
    }

    public PickleException()
        : this("pickle error")
    {
    }

    public PickleException(string message, Exception? inner)
        : base(message, inner)
    {
        Offset = -1;
        Opcode = -1;
        What = message;
    }

    /// <summary>Byte offset in the input where the failing opcode starts (or the input ended); -1 when not reading.</summary>
    public long Offset { get; }

    /// <summary>The opcode byte being executed, or -1.</summary>
    public int Opcode { get; }

    /// <summary>What was wrong, without the position.</summary>
    public string What { get; }

    private static string Describe(long offset, int opcode, string what)
    {
        string op = opcode < 0 ? "" : string.Create(CultureInfo.InvariantCulture,
            $" (opcode 0x{opcode:x2} {Opcodes.Name(opcode)})");
        return offset < 0 ? $"pickle error{op}: {what}"
            : string.Create(CultureInfo.InvariantCulture, $"pickle error at offset {offset}{op}: {what}");
    }
}
