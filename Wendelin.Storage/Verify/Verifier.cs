using Wendelin.Storage.IO;

namespace Wendelin.Storage.Verify;

/// <summary>
/// Verification of a FileStorage data file (spec/verify.md): every check of ZODB's fstest and fsrefs, ours on
/// pointers and backpointers, BTree invariants and ZBigFile consistency, as a stream of findings. It reads the file
/// only (no lock, nothing written: a file open for writing elsewhere can be verified), never stops at the first
/// problem, reports progress and honours cancellation (<see cref="OperationCanceledException"/>).
/// </summary>
public sealed class Verifier
{
    private readonly Func<IStorageFile> _open;
    private readonly Func<bool> _writerActive;

    /// <summary>A verifier of the data file at <paramref name="path"/> (opened when <see cref="Run"/> starts).</summary>
    public Verifier(string path, VerifyOptions? options = null)
        : this(OsFileSystem.Instance, Path.GetFullPath(Check(path)), options)
    {
    }

    /// <summary>A verifier of <paramref name="path"/> in <paramref name="fileSystem"/>; its NAME.lock tells whether a writer is active (V123).</summary>
    internal Verifier(IStorageFileSystem fileSystem, string path, VerifyOptions? options = null)
        : this(() => fileSystem.Open(path, StorageFileMode.ReadOnly), options, () => fileSystem.IsLockHeld(path + ".lock"))
    {
    }

    internal Verifier(Func<IStorageFile> open, VerifyOptions? options = null, Func<bool>? writerActive = null)
    {
        _open = open;
        _writerActive = writerActive ?? (static () => false);
        Options = options ?? new VerifyOptions();
    }

    private static string Check(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return path;
    }

    public VerifyOptions Options { get; }

    /// <summary>Counts of what was read and found; complete when the stream of <see cref="Run"/> has ended.</summary>
    public VerifyStats Stats { get; private set; } = new();

    /// <summary>
    /// The findings, lazily: pass 1 (structure) streams as it scans; pass 2 (objects) follows. Opening the file can
    /// fail with <see cref="FileStorageException"/> (no such file, a directory, permission).
    /// </summary>
    public IEnumerable<Finding> Run(IProgress<VerifyProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Stats = new VerifyStats();
        return Iterate(progress, cancellationToken);
    }

    private IEnumerable<Finding> Iterate(IProgress<VerifyProgress>? progress, CancellationToken cancel)
    {
        // A writer holding the lock when verification starts (or when it meets the tail) may be appending a
        // transaction: the bytes past the last finished one are then a commit in progress, not damage (V123).
        bool writerAtStart = _writerActive();
        using IStorageFile file = _open();
        VerifyStats stats = Stats;
        stats.FileSize = file.Length;
        var structure = new StructureScan(file, stats, progress, cancel, () => writerAtStart || _writerActive());
        foreach (Finding f in structure.Run())
        {
            stats.Count(f);
            yield return f;
        }
        if (!Options.Objects || !structure.HasData)
        {
            yield break;
        }
        var objects = new ObjectScan(file, structure.Index, stats, progress, cancel);
        foreach (Finding f in objects.Run())
        {
            stats.Count(f);
            yield return f;
        }
        cancel.ThrowIfCancellationRequested();
        var trees = new BTreeCheck(objects.Objects);
        foreach (Finding f in trees.Run())
        {
            stats.Count(f);
            yield return f;
        }
        foreach (Finding f in new ZBigFileCheck(objects.Objects, trees).Run())
        {
            stats.Count(f);
            yield return f;
        }
    }
}
