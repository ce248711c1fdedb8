using System.Globalization;

namespace Wendelin.Storage.Pack;

/// <summary>How <c>FileStorage.Pack</c> packs (spec/pack.md).</summary>
public sealed record PackOptions
{
    /// <summary>
    /// Collect garbage: keep only objects reachable at the pack time from the root, or from any record written after
    /// it (PK-G1). Off: keep the pack-time revision of every object (ZODB's <c>pack_gc=False</c>).
    /// </summary>
    public bool Gc { get; init; } = true;

    /// <summary>Keep the previous data file as <c>NAME.old</c> (ZODB's <c>pack_keep_old</c>; an existing one is replaced).</summary>
    public bool KeepOld { get; init; }

    /// <summary>Test seam: runs after the reachability phase, before the packed file is written (a commit made here is a commit during the pack).</summary>
    internal Action? AfterGc { get; init; }

    /// <summary>Test seam: runs before each attempt's final copy under the commit lock.</summary>
    internal Action? BeforeSwap { get; init; }
}

/// <summary>The phases of a pack (spec/pack.md §2), in order.</summary>
public enum PackPhase
{
    /// <summary>A: scan the transactions up to the pack time.</summary>
    Scan,

    /// <summary>B: reachability from the root and from the records after the pack time.</summary>
    Reachability,

    /// <summary>C: write the kept revisions of the packed region.</summary>
    CopyPacked,

    /// <summary>D: copy the transactions after the pack time, including those committed meanwhile.</summary>
    CopyRest,

    /// <summary>E: swap the files.</summary>
    Swap,
}

/// <summary>Progress of a pack: the phase and the bytes of the input handled in it out of the bytes it will handle.</summary>
public readonly record struct PackProgress(PackPhase Phase, long Done, long Total);

/// <summary>What a pack did.</summary>
public sealed record PackResult
{
    /// <summary>True when the data file was replaced; false when there was nothing to pack (see <see cref="Reason"/>).</summary>
    public bool Packed { get; init; }

    /// <summary>Why nothing was packed: an empty storage, a redundant pack, nothing to remove.</summary>
    public string? Reason { get; init; }

    /// <summary>The pack time as a tid: transactions with tid ≤ this form the packed region.</summary>
    public Tid PackTid { get; init; }

    public long SizeBefore { get; init; }

    public long SizeAfter { get; init; }

    /// <summary>Transactions in the packed region before, and how many of them kept a record.</summary>
    public int PackedTransactionsBefore { get; init; }

    public int PackedTransactionsAfter { get; init; }

    /// <summary>Data records in the packed region before, and kept.</summary>
    public long RecordsBefore { get; init; }

    public long RecordsKept { get; init; }

    /// <summary>Objects that have no record any more (collected, or deleted before the pack time).</summary>
    public int ObjectsRemoved { get; init; }

    /// <summary>Objects the root did not reach at the pack time but a later record referenced: kept (PK-G1), ZODB drops them.</summary>
    public int KeptForLaterReferences { get; init; }

    /// <summary>Transactions committed while the pack ran, copied into the new file (PK-D2).</summary>
    public int CommittedDuringPack { get; init; }

    /// <summary>Times the pack started over because a commit made during it referenced a collected object (PK-D3).</summary>
    public int Restarts { get; init; }

    /// <summary>The previous data file, when kept.</summary>
    public string? OldPath { get; init; }

    public override string ToString() => Packed
        ? string.Create(CultureInfo.InvariantCulture,
            $"packed at {PackTid}: {SizeBefore} → {SizeAfter} bytes, {RecordsBefore - RecordsKept} of {RecordsBefore} records before the pack time removed, {ObjectsRemoved} objects removed")
        : $"nothing to pack: {Reason}";
}

/// <summary>A pack that cannot be done (ZODB <c>PackError</c>): a dangling reference, a record whose references cannot be read, a pack already running.</summary>
public class PackException : FileStorageException
{
    public PackException()
    {
    }

    public PackException(string message)
        : base(message)
    {
    }

    public PackException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}
