using Wendelin.Arrays.Zodb;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;

namespace Wendelin.Tools;

/// <summary>A database opened by a command, with one connection (historical with <c>--at</c>); disposes both.</summary>
internal sealed class DatabaseAccess : IDisposable
{
    private DatabaseAccess(Database db, Connection conn)
    {
        Db = db;
        Connection = conn;
    }

    public Database Db { get; }

    public Connection Connection { get; }

    /// <summary>Opens <paramref name="path"/> read-only (no lock), as of <paramref name="at"/> when given.</summary>
    public static DatabaseAccess OpenReadOnly(string path, string? at)
    {
        FileStorage fs = ToolSupport.OpenForReading(path, TextWriter.Null);
        var db = new Database(fs);
        try
        {
            Connection conn = at is null ? db.Open() : db.OpenAt(ParseTid(at, fs));
            return new DatabaseAccess(db, conn);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>Opens <paramref name="path"/> for writing (locked), creating it when <paramref name="create"/> and missing.</summary>
    public static DatabaseAccess OpenWritable(string path, bool create)
    {
        if (Directory.Exists(path))
        {
            throw new ToolException($"{path}: is a directory, not a FileStorage data file");
        }
        bool exists = File.Exists(path);
        if (!exists && !create)
        {
            throw new ToolException($"{path}: no such file");
        }
        if (exists && new FileInfo(path).Length == 0)
        {
            throw new ToolException($"{path}: is empty (0 bytes), not a FileStorage data file");
        }
        FileStorage fs = FileStorage.Open(path, new FileStorageOptions { Create = !exists });
        var db = new Database(fs);
        return new DatabaseAccess(db, db.Open());
    }

    private static Tid ParseTid(string text, FileStorage fs)
    {
        Tid tid;
        try
        {
            tid = Tid.Parse(text);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new ToolException($"--at {text}: not a transaction id (16 hex digits, as 'wendelin dump' shows them)");
        }
        if (tid > fs.LastTransaction)
        {
            throw new ToolException($"--at {text}: after the last transaction of the file ({fs.LastTransaction})");
        }
        return tid;
    }

    /// <summary>Makes sure the wendelin classes are registered (the Arrays assembly's initializer does it when loaded).</summary>
    public static void EnsureClasses() => ZodbClasses.Register(TypeRegistry.Default);

    public void Dispose()
    {
        try
        {
            if (Connection.TransactionManager.HasCurrent)
            {
                Connection.TransactionManager.Abort();
            }
            Connection.Dispose();
        }
        finally
        {
            Db.Dispose();
        }
    }
}
