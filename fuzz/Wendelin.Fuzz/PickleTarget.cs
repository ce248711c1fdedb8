using Wendelin.Storage.Pickle;

namespace Wendelin.Fuzz;

/// <summary>
/// Fuzz target "pickle" (fuzz/README.md): bytes in, the pickle codec's public API out. The only exception allowed
/// to escape is <see cref="PickleException"/>, caught here; anything else is a finding (spec/pickle.md PK-20).
/// A decoded record must also survive encode + decode unchanged.
/// </summary>
internal static class PickleTarget
{
    private static readonly PickleJsonOptions Json = new() { SummarizeBytesLongerThan = 64, MaxNodes = 100_000 };

    public static void Run(ReadOnlySpan<byte> input)
    {
        byte[] data = input.ToArray();
        try
        {
            _ = ZodbPickle.GetClassName(data);
        }
        catch (PickleException)
        {
        }
        try
        {
            var reader = new PickleReader(data);
            while (!reader.AtEnd)
            {
                _ = reader.ReadPickle();
            }
        }
        catch (PickleException)
        {
        }
        ZodbRecord record;
        try
        {
            record = ZodbRecord.Read(data);
        }
        catch (PickleException)
        {
            return;
        }
        _ = record.References;
        _ = NumpyDtype.TryFromPickle(record.State, out _);
        try
        {
            _ = PythonJson.Serialize(PickleJson.ToJsonNode(record.State, Json));
        }
        catch (PickleException)
        {
        }
        byte[] again;
        try
        {
            again = ZodbPickle.WriteRecord(record.ClassMetadata, record.State);
        }
        catch (PickleException)
        {
            return;
        }
        ZodbRecord back = ZodbRecord.Read(again);
        if (!back.State.Equals(record.State) || !back.ClassMetadata.Equals(record.ClassMetadata))
        {
            throw new InvalidOperationException("a decoded record changed through encode + decode");
        }
    }
}
