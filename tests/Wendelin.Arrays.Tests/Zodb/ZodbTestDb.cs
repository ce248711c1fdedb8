using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;

namespace Wendelin.Arrays.Tests.Zodb;

/// <summary>An in-memory FileStorage database with helpers for the ZBigFile tests (small 64 KiB blocks keep them fast).</summary>
internal sealed class ZodbTestDb : IDisposable
{
    public const int BlockSize = 64 * 1024;

    public ZodbTestDb(IStorage? storage = null) => Db = new Database(storage ?? FileStorage.OpenInMemory("zodb-test.fs"));

    public Database Db { get; }

    public Connection Open() => Db.Open();

    public static FileHandleOptions SmallBudget(int blocks = 4) => new() { RamBudget = (long)blocks * BlockSize };

    /// <summary>Creates root[name] = a new ZBigFile in <paramref name="format"/> and commits.</summary>
    public static ZBigFile NewFile(Connection conn, string name, ZBlkFormat format = ZBlkFormat.ZBlk0)
    {
        var f = new ZBigFile(BlockSize) { BlockFormat = format };
        conn.Root[name] = f;
        conn.TransactionManager.Commit();
        return f;
    }

    /// <summary>Writes <paramref name="value"/> into the first 8 bytes of <paramref name="block"/> (and <paramref name="offset"/> inside it).</summary>
    public static void Write(FileHandle h, long block, long value, int offset = 0)
    {
        using FileView v = h.Map(block * h.BlockSize + offset, 8);
        BitConverter.TryWriteBytes(v.Span, value);
    }

    public static long Read(FileHandle h, long block, int offset = 0)
    {
        using FileView v = h.Map(block * h.BlockSize + offset, 8, writable: false);
        return BitConverter.ToInt64(v.ReadOnlySpan);
    }

    public static byte[] ReadBlock(FileHandle h, long block)
    {
        using FileView v = h.Map(block * h.BlockSize, h.BlockSize, writable: false);
        return v.ReadOnlySpan.ToArray();
    }

    public void Dispose() => Db.Dispose();
}
