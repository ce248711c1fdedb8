using System.CommandLine;
using System.Globalization;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Persistence;

namespace Wendelin.Tools;

// The one way the commands open files (spec/tools.md TL-4): plain checks first, so that a missing file, a directory,
// an empty, foreign or truncated file and a lock held by another process each read as one line with its hint.
internal static partial class ToolSupport
{
    /// <summary>
    /// Checks that <paramref name="path"/> can be a FileStorage data file before anything opens it: it exists, is not a
    /// directory, is not empty, holds at least the 4-byte magic and that magic is FS30 or FS21.
    /// </summary>
    public static void CheckDataFile(string path)
    {
        CheckDataFileExists(path);
        long length = new FileInfo(path).Length;
        if (length == 0)
        {
            throw new ToolException($"{path}: is empty (0 bytes), not a FileStorage data file", "a data file starts with FS30 or FS21; check the path");
        }
        Span<byte> magic = stackalloc byte[4];
        int read;
        using (Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            read = RandomAccess.Read(handle, magic, 0);
        }
        if (read < 4)
        {
            throw new ToolException($"{path}: is truncated: {read} bytes, shorter than the 4-byte header of a FileStorage data file",
                "restore it from a copy");
        }
        if (!magic.SequenceEqual("FS30"u8) && !magic.SequenceEqual("FS21"u8))
        {
            throw new ToolException($"{path}: is not a FileStorage data file: it starts with {Printable(magic)}, not FS30 or FS21",
                "give a ZODB FileStorage data file such as Data.fs; if this one was, `wendelin verify FILE` describes the damage");
        }
    }

    /// <summary>The first checks of <see cref="CheckDataFile"/> only (verify reports what is wrong with the bytes as findings).</summary>
    public static void CheckDataFileExists(string path) => CheckExists(path, "a FileStorage data file", "give the data file inside it, e.g. DIR/Data.fs");

    /// <summary>Checks an input file of another kind (a .npy file): it exists and is not a directory.</summary>
    public static void CheckInputFile(string path, string kind) => CheckExists(path, kind, "give the file inside it");

    /// <summary>Checks that a file can be written at <paramref name="path"/>: not a directory, in a folder that exists.</summary>
    public static void CheckOutputFile(string path)
    {
        if (Directory.Exists(path))
        {
            throw new ToolException($"{path}: is a directory", "give the name of the file to write, e.g. DIR/A.npy");
        }
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new ToolException($"{path}: the folder {folder} does not exist", "create it first or check the path");
        }
    }

    private static void CheckExists(string path, string kind, string directoryHint)
    {
        if (Directory.Exists(path))
        {
            throw new ToolException($"{path}: is a directory, not {kind}", directoryHint);
        }
        if (!File.Exists(path))
        {
            throw new ToolException($"{path}: no such file", "check the path");
        }
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            chars[i] = bytes[i] is >= 0x20 and < 0x7F ? (char)bytes[i] : '.';
        }
        return $"'{new string(chars)}' ({Convert.ToHexStringLower(bytes)})";
    }

    /// <summary>
    /// Opens a data file read-only: no lock is taken, so a database open for writing elsewhere can be read. What the
    /// open skipped (a torn tail: a truncated file or a commit in progress elsewhere) is a note on stderr.
    /// </summary>
    public static FileStorage OpenStorage(ParseResult parse, string path)
    {
        CheckDataFile(path);
        FileStorage fs = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        TextWriter error = parse.InvocationConfiguration.Error;
        long length = new FileInfo(path).Length;
        if (length > fs.Size)
        {
            // The storage's own note calls this a torn tail; to a reader it may as well be a commit in progress.
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"note: {path}: the last {length - fs.Size} bytes (from {fs.Size}) are not a finished transaction and are left out: a commit in progress in another process, or a file cut short (`wendelin verify FILE` tells)"));
        }
        foreach (string line in fs.OpenLog)
        {
            if (!line.Contains("torn tail", StringComparison.Ordinal))
            {
                error.WriteLine($"note: {line}");
            }
        }
        return fs;
    }

    /// <summary>
    /// Opens a data file for writing: takes its lock (held elsewhere: one line saying so), and like every
    /// writable open cuts a torn tail into FILE.trN, which is a note on stderr. <paramref name="create"/>: a missing
    /// file is created; <see cref="FileStorageOptions.Create"/>: the file is created afresh (emptied if it exists).
    /// </summary>
    public static FileStorage OpenStorageForWriting(ParseResult parse, string path, FileStorageOptions? options = null, bool create = false)
    {
        options ??= new FileStorageOptions();
        bool creating = options.Create || (create && !File.Exists(path) && !Directory.Exists(path));
        if (!creating)
        {
            CheckDataFile(path);
        }
        FileStorage fs;
        try
        {
            fs = FileStorage.Open(path, options with { Create = creating });
        }
        catch (LockException e) when (e.LockPath is not null)
        {
            throw new ToolException($"{path}: is locked: another process has the database open for writing", LockedHint, e);
        }
        Notes(fs, parse.InvocationConfiguration.Error);
        return fs;
    }

    private static void Notes(FileStorage fs, TextWriter error)
    {
        foreach (string line in fs.OpenLog)
        {
            error.WriteLine($"note: {line}");
        }
    }

    /// <summary>
    /// Opens a database read-only with one connection, as of transaction <paramref name="at"/> (the <c>--at</c> text)
    /// when given: a tid of 16 hex digits between the file's first and last transactions.
    /// </summary>
    public static ToolDatabase OpenDatabase(ParseResult parse, string path, string? at)
    {
        EnsureArrayClasses();
        FileStorage fs = OpenStorage(parse, path);
        Database? db = null;
        try
        {
            Tid? tid = at is null ? null : CheckTid(ParseTid(at, "--at"), fs, "--at");
            db = new Database(fs);
            return new ToolDatabase(db, tid is Tid t ? db.OpenAt(t) : db.Open());
        }
        catch
        {
            if (db is null)
            {
                fs.Dispose();
            }
            else
            {
                db.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// Opens a database for writing (locked) with one connection; <paramref name="create"/>: a missing file is created;
    /// <paramref name="afresh"/>: an existing file is emptied first (the demo's own file).
    /// </summary>
    public static ToolDatabase OpenDatabaseForWriting(ParseResult parse, string path, bool create, bool afresh = false)
    {
        EnsureArrayClasses();
        FileStorage fs = OpenStorageForWriting(parse, path, new FileStorageOptions { Create = afresh }, create);
        var db = new Database(fs);
        try
        {
            return new ToolDatabase(db, db.Open());
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Registers wendelin.core's classes (ZBigArray, ZBigFile, ZBlk*) before a record is loaded: the Arrays assembly's
    /// initializer does it, but only once something has loaded that assembly, which a command may not have done yet.
    /// </summary>
    private static void EnsureArrayClasses() =>
        System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(typeof(Arrays.ZBigArray).Module.ModuleHandle);

    /// <summary>A tid as the commands take it: 16 hex digits, optionally after 0x.</summary>
    public static bool TryParseTid(string text, out Tid tid)
    {
        string s = text.Trim();
        string hex = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? s[2..] : s;
        if (hex.Length == 16 && ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong v))
        {
            tid = new Tid(v);
            return true;
        }
        tid = Tid.Zero;
        return false;
    }

    /// <summary><see cref="TryParseTid"/>, or one line naming <paramref name="option"/>.</summary>
    public static Tid ParseTid(string text, string option) => TryParseTid(text, out Tid tid)
        ? tid
        : throw new ToolException($"{option} '{text}' is not a transaction id", TidHint);

    internal const string TidHint = "a tid is 16 hex digits, e.g. 040d3e530ad94e66, as `wendelin undo-log FILE` and `wendelin dump FILE` show them";

    /// <summary>Checks that the file has a state at <paramref name="tid"/>: not before its first transaction, not after its last.</summary>
    private static Tid CheckTid(Tid tid, FileStorage fs, string option)
    {
        Tid? first = null;
        foreach (TransactionRecord t in fs.Iterator())
        {
            first = t.Tid;
            break;
        }
        if (first is not Tid f)
        {
            throw new ToolException($"{option} {tid}: the database has no transaction yet", TidHint);
        }
        if (tid < f)
        {
            throw new ToolException($"{option} {tid}: before the first transaction of the file ({f})", TidHint);
        }
        if (tid > fs.LastTransaction)
        {
            throw new ToolException($"{option} {tid}: after the last transaction of the file ({fs.LastTransaction})", TidHint);
        }
        return tid;
    }
}

/// <summary>A database a command opened, with its one connection (historical with <c>--at</c>); disposes both.</summary>
internal sealed class ToolDatabase(Database db, Connection connection) : IDisposable
{
    public Database Db { get; } = db;

    public Connection Connection { get; } = connection;

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
