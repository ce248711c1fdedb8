namespace Wendelin.Storage.IO;

/// <summary>
/// The one seam for file I/O under the FileStorage (style.md habit 6): positional reads and writes, length,
/// set length, flush to the OS and flush durable. The OS implementation uses <see cref="RandomAccess"/> (no
/// shared stream position, no user-space buffering, so readers never see bytes the storage has not published);
/// the in-memory one backs tests, fuzzing and <c>FileStorage.OpenInMemory</c>; tests add a crashing and a
/// faulty implementation.
/// </summary>
internal interface IStorageFile : IDisposable
{
    /// <summary>The path (for messages and side files).</summary>
    string Path { get; }

    bool CanWrite { get; }

    /// <summary>The current length in bytes.</summary>
    long Length { get; }

    /// <summary>
    /// Reads up to <c>buffer.Length</c> bytes at <paramref name="position"/>; returns the count read, which is
    /// smaller only at the end of the file.
    /// </summary>
    int ReadAt(long position, Span<byte> buffer);

    /// <summary>Writes all of <paramref name="data"/> at <paramref name="position"/>, extending the file if needed.</summary>
    void WriteAt(long position, ReadOnlySpan<byte> data);

    /// <summary>Truncates or extends the file (extension reads as zeros).</summary>
    void SetLength(long length);

    /// <summary>Makes every write so far durable (fsync): a durability point (spec/filestorage.md FS-D1).</summary>
    void FlushDurable();

    /// <summary>
    /// A hint that bytes [<paramref name="position"/>, position + length) will be read soon (spec/filestorage.md
    /// FS-L11): the OS file reads them in the background (into the OS page cache). Never fails, never changes what
    /// reads return.
    /// </summary>
    void WillNeed(long position, long length)
    {
    }

    /// <summary>
    /// A hint that bytes [<paramref name="position"/>, position + <paramref name="length"/>) were written and will be
    /// made durable soon: the OS may start writing them to disk now (FS-C4c). No durability is implied, errors are
    /// ignored; by default nothing is done.
    /// </summary>
    void StartWriteback(long position, long length)
    {
    }
}

/// <summary>How <see cref="IStorageFileSystem.Open"/> opens a file.</summary>
internal enum StorageFileMode
{
    /// <summary>An existing file, for reading only.</summary>
    ReadOnly,

    /// <summary>An existing file, for reading and writing.</summary>
    ReadWrite,

    /// <summary>Read-write; created empty when missing.</summary>
    OpenOrCreate,

    /// <summary>Read-write; created, or truncated to zero bytes when it exists.</summary>
    Create,
}

/// <summary>
/// The files around a data file (the data file itself, <c>.lock</c>, <c>.index</c>, <c>.trN</c>): open, test,
/// delete, rename over, lock. The OS implementation and the in-memory one are the only ones the product uses.
/// </summary>
internal interface IStorageFileSystem
{
    /// <summary>Opens a file; <see cref="FileStorageException"/> with a one-line reason when that is impossible.</summary>
    IStorageFile Open(string path, StorageFileMode mode);

    /// <summary>True when a regular file exists at <paramref name="path"/>.</summary>
    bool FileExists(string path);

    /// <summary>True when a directory exists at <paramref name="path"/>.</summary>
    bool DirectoryExists(string path);

    /// <summary>Deletes a file if it exists.</summary>
    void Delete(string path);

    /// <summary>Renames <paramref name="source"/> over <paramref name="destination"/> (atomic on one file system).</summary>
    void Replace(string source, string destination);

    /// <summary>
    /// Takes the exclusive inter-process lock <paramref name="lockPath"/> (zc.lockfile: a non-blocking exclusive
    /// <c>flock</c>, the content set to " PID\n"); <see cref="LockException"/> when another opener holds it.
    /// </summary>
    IDisposable Lock(string lockPath);

    /// <summary>
    /// True when another opener (another process, or another handle of this one) holds the lock
    /// <paramref name="lockPath"/> now: a writer may be committing. Probes without taking the lock, creating the
    /// file or writing it (verify's in-flight tail, spec/verify.md V123).
    /// </summary>
    bool IsLockHeld(string lockPath) => false;

    /// <summary>
    /// Makes the directory's entries durable (fsync of the directory): a rename, creation or deletion in it survives a
    /// crash once this returns (pack's swap, spec/pack.md PK-S). In memory there is nothing to do.
    /// </summary>
    void SyncDirectory(string directory)
    {
    }

    /// <summary>
    /// Gives the file <paramref name="existing"/> a second name <paramref name="link"/> (a hard link: both names reach
    /// the same bytes), replacing nothing: <paramref name="link"/> must not exist. Pack keeps the old data file as
    /// <c>NAME.old</c> this way before renaming the packed file over <c>NAME</c>, so no moment lacks a <c>NAME</c>.
    /// </summary>
    void HardLink(string existing, string link) =>
        throw new NotSupportedException($"{GetType().Name} cannot link {existing} to {link}");
}
