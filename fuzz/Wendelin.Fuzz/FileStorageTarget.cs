using Wendelin.Storage;
using Wendelin.Storage.Format;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;

namespace Wendelin.Fuzz;

/// <summary>
/// Fuzz target <c>filestorage</c>: arbitrary bytes as a data file, opened read-only and read-write (recovery) in
/// memory, then every read walked: iteration forwards and backwards with every record's data, every current
/// object's load, MVCC load and history, record iteration and the last invalidations. Only
/// <see cref="CorruptRecordException"/> (bad bytes) and <see cref="PosKeyException"/> (a deleted object, an
/// expected outcome) may come out; anything else is a bug. Seed corpus: tests/fixtures/*.fs.
/// </summary>
internal static class FileStorageTarget
{
    private const string DataPath = "/fuzz/data.fs";

    public static void Run(ReadOnlySpan<byte> data)
    {
        foreach (bool readOnly in new[] { true, false })
        {
            var mem = new MemoryFileSystem();
            mem.WriteAllBytes(DataPath, data);
            try
            {
                using var fs = FileStorage.Open(DataPath, new FileStorageOptions { ReadOnly = readOnly, SaveIndex = false }, mem);
                Walk(fs);
            }
            catch (CorruptRecordException)
            {
                // the documented outcome for bad bytes
            }
        }
    }

    private static void Walk(FileStorage fs)
    {
        foreach (TransactionRecord t in fs.Iterator())
        {
            foreach (DataRecord r in t.Records)
            {
                _ = r.ReadData();
            }
        }
        foreach (TransactionRecord t in fs.IterateBackward())
        {
            _ = t.ReadRecordArea();
        }
        _ = fs.LastInvalidations(3);
        foreach ((Oid oid, _) in fs.CurrentRecords())
        {
            Expect(() => fs.Load(oid));
            Expect(() => fs.LoadBefore(oid, Tid.Max));
            Expect(() => fs.History(oid, 5));
            Expect(() => fs.RecordIterNext(oid));
        }
    }

    private static void Expect(Action read)
    {
        try
        {
            read();
        }
        catch (PosKeyException)
        {
        }
    }
}
