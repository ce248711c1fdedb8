using System.Globalization;

namespace Wendelin.Storage.Verify;

/// <summary>How bad a finding is.</summary>
public enum Severity
{
    /// <summary>Something a reader or a writer of the file will trip over (fstest and fsrefs errors).</summary>
    Error,

    /// <summary>Inconsistent but harmless to readers (a torn tail a writable open cuts, an oversized bucket).</summary>
    Warning,

    /// <summary>Worth knowing, not a defect (what a damaged transaction would be if only its length were fixed).</summary>
    Info,
}

/// <summary>
/// One result of verification: the check's code (spec/verify.md, one code per check), its severity, the byte
/// position, the object and transaction when they apply, and a one-line message.
/// </summary>
public sealed record Finding(string Code, Severity Severity, long? Position, Oid? Oid, Tid? Tid, string Message)
{
    public override string ToString()
    {
        string where = Position is long p ? string.Create(CultureInfo.InvariantCulture, $" at {p}") : "";
        string oid = Oid is Oid o ? $" oid {o}" : "";
        string tid = Tid is Tid t ? $" tid {t}" : "";
        return $"{Code} {Severity.ToString().ToLowerInvariant()}{where}{oid}{tid}: {Message}";
    }
}

/// <summary>The passes of verification (spec/verify.md §1).</summary>
public enum VerifyPhase
{
    /// <summary>Pass 1: every transaction and record, from the first byte to the last.</summary>
    Structure,

    /// <summary>Pass 2: the current revision of every object, its pickles and references, BTrees, ZBigFiles.</summary>
    Objects,
}

/// <summary>Progress of verification: the pass, and bytes (structure) or objects (objects) done out of the total.</summary>
public readonly record struct VerifyProgress(VerifyPhase Phase, long Done, long Total);

/// <summary>What to verify.</summary>
public sealed record VerifyOptions
{
    /// <summary>Run pass 2 (object-level checks). Off: only the structural checks of ZODB's fstest and ours.</summary>
    public bool Objects { get; init; } = true;
}

/// <summary>Counts gathered while verifying (complete once the finding stream has been read to its end).</summary>
public sealed class VerifyStats
{
    public long FileSize { get; internal set; }

    public int Transactions { get; internal set; }

    public long Records { get; internal set; }

    public int Objects { get; internal set; }

    public int Errors { get; internal set; }

    public int Warnings { get; internal set; }

    public int Infos { get; internal set; }

    /// <summary>True when nothing but <see cref="Severity.Info"/> was found.</summary>
    public bool Clean => Errors == 0 && Warnings == 0;

    internal void Count(Finding f)
    {
        switch (f.Severity)
        {
            case Severity.Error:
                Errors++;
                break;
            case Severity.Warning:
                Warnings++;
                break;
            default:
                Infos++;
                break;
        }
    }
}
