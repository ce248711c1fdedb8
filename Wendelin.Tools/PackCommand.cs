using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Pack;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin pack FILE (--days N | --before TIME) [--no-gc] [--keep-old] [--json]</c>: removes history before the
/// pack time and, with GC, objects nothing reaches (spec/pack.md). Takes the database's lock; a progress bar on a
/// terminal; Ctrl+C before the swap leaves the file as it was.
/// </summary>
internal static class PackCommand
{
    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument();
        var days = new Option<double>("--days")
        {
            Description = "Pack away the history older than N days (fractions allowed; 0: up to now)",
            HelpName = "N",
        };
        var before = new Option<string?>("--before")
        {
            HelpName = "TIME",
            Description = "Pack away the history before TIME: a UTC date and time (2026-11-25T02:27:01Z, 2026-11-25 02:27:01.5) or a tid (16 hex digits)",
        };
        var noGc = new Option<bool>("--no-gc") { Description = "Keep every object's state at the pack time: do not collect unreachable objects" };
        var keepOld = new Option<bool>("--keep-old") { Description = "Keep the previous data file as FILE.old" };
        Option<bool> json = ToolSupport.JsonOption();
        var command = new Command("pack", "Pack a FileStorage data file: drop the history before a time (--days N or --before TIME) and, with garbage collection, unreachable objects (spec/pack.md).")
        {
            file,
            days,
            before,
            noGc,
            keepOld,
            json,
        };
        command.Validators.Add(result =>
        {
            bool hasDays = result.GetResult(days) is not null;
            bool hasBefore = result.GetResult(before) is not null;
            if (hasDays == hasBefore)
            {
                result.AddError("give exactly one of --days N and --before TIME");
            }
            else if (hasDays && DaysValue(result, days) is double d && (d < 0 || double.IsNaN(d) || double.IsInfinity(d)))
            {
                result.AddError($"--days must be a number ≥ 0, got {d.ToString(CultureInfo.InvariantCulture)}");
            }
        });
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            string path = parse.GetRequiredValue(file);
            Tid packTid = parse.GetValue(before) is string text
                ? ParseTime(text)
                : Tid.FromDateTime(DateTime.UtcNow.AddDays(-parse.GetValue(days)));
            var options = new PackOptions { Gc = !parse.GetValue(noGc), KeepOld = parse.GetValue(keepOld) };
            TextWriter output = parse.InvocationConfiguration.Output;
            using FileStorage fs = ToolSupport.OpenStorageForWriting(parse, path);
            PackResult r = ToolProgress.Run(parse, "pack", progress => fs.Pack(packTid, options, new Sink(progress), cancel));
            if (parse.GetValue(json))
            {
                ToolSupport.WriteJson(output, Json(path, r));
            }
            else if (!r.Packed)
            {
                output.WriteLine($"{path}: nothing to pack at {packTid} ({packTid.ToTimeString()}): {r.Reason}");
            }
            else
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{path}: packed at {packTid} ({packTid.ToTimeString()}): {r.SizeBefore} → {r.SizeAfter} bytes; {r.PackedTransactionsBefore} transactions before the pack time → {r.PackedTransactionsAfter}, {r.RecordsKept} of {r.RecordsBefore} records kept, {r.ObjectsRemoved} objects removed"));
                if (r.KeptForLaterReferences > 0)
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {r.KeptForLaterReferences} objects unreachable at the pack time were kept because later transactions reference them"));
                }
                if (r.CommittedDuringPack > 0)
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {r.CommittedDuringPack} transactions committed during the pack were copied"));
                }
                if (r.OldPath is string old)
                {
                    output.WriteLine($"  the previous file is kept as {old}");
                }
            }
            return ToolSupport.CleanExit;
        }, cancelled: "the data file is unchanged");
        return command;
    }

    /// <summary>The value of --days, or null when it did not convert (the parser reports that itself).</summary>
    private static double? DaysValue(System.CommandLine.Parsing.CommandResult result, Option<double> days)
    {
        try
        {
            return result.GetValue(days);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A pack time: a tid of 16 hex digits, or a UTC date and time.</summary>
    internal static Tid ParseTime(string text)
    {
        if (ToolSupport.TryParseTid(text, out Tid tid))
        {
            return tid;
        }
        if (DateTime.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTime utc)
            && utc.Year >= 1900)
        {
            return Tid.FromDateTime(utc);
        }
        throw new ToolException($"--before '{text}' is neither a UTC time nor a tid", "write a time like 2026-11-25T02:27:01Z or a tid of 16 hex digits");
    }

    private static JsonObject Json(string path, PackResult r) => new()
    {
        ["file"] = path,
        ["packed"] = r.Packed,
        ["reason"] = r.Reason,
        ["pack_tid"] = r.PackTid.ToString(),
        ["pack_time"] = r.PackTid.ToTimeString(),
        ["size_before"] = r.SizeBefore,
        ["size_after"] = r.SizeAfter,
        ["packed_transactions_before"] = r.PackedTransactionsBefore,
        ["packed_transactions_after"] = r.PackedTransactionsAfter,
        ["records_before"] = r.RecordsBefore,
        ["records_kept"] = r.RecordsKept,
        ["objects_removed"] = r.ObjectsRemoved,
        ["kept_for_later_references"] = r.KeptForLaterReferences,
        ["committed_during_pack"] = r.CommittedDuringPack,
        ["old_file"] = r.OldPath,
    };

    /// <summary>The pack's phases as bars: bytes of the input, except phase C (kept revisions, counted).</summary>
    private sealed class Sink(ToolProgress progress) : IProgress<PackProgress>
    {
        public void Report(PackProgress value)
        {
            switch (value.Phase)
            {
                case PackPhase.Scan:
                    progress.ReportBytes("scan", value.Done, value.Total);
                    break;
                case PackPhase.Reachability:
                    progress.ReportBytes("reachability", value.Done, value.Total);
                    break;
                case PackPhase.CopyPacked:
                    progress.Report("copy packed region", value.Done, value.Total);
                    break;
                case PackPhase.CopyRest:
                    progress.ReportBytes("copy later transactions", value.Done, value.Total);
                    break;
                default:
                    progress.Report("swap", value.Done, value.Total);
                    break;
            }
        }
    }
}
