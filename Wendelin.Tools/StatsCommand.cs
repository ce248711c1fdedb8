using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.Pickle;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin stats FILE [--json]</c>: objects and bytes per class, like ZODB's <c>analyze</c>: for each class the
/// data records and their payload bytes, split into current revisions and older ones (what a pack can reclaim).
/// The class comes from the record's class pickle without loading anything; a backpointer counts under the class
/// of the revision it points to. Read-only.
/// </summary>
internal static class StatsCommand
{
    internal const string NoData = "(no data: deleted or creation undone)";
    internal const string Unreadable = "(unreadable class)";

    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument();
        Option<bool> json = ToolSupport.JsonOption();
        var command = new Command("stats", "Count objects and bytes per class, current and old revisions (like ZODB's analyze).")
        {
            file,
            json,
        };
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            string path = parse.GetRequiredValue(file);
            using FileStorage fs = ToolSupport.OpenStorage(parse, path);
            Stats s = Collect(fs, cancel);
            if (parse.GetValue(json))
            {
                ToolSupport.WriteJson(parse.InvocationConfiguration.Output, Json(path, fs, s));
            }
            else
            {
                Write(parse, path, fs, s);
            }
            return ToolSupport.CleanExit;
        });
        return command;
    }

    internal sealed class ClassStats
    {
        public long Records { get; set; }

        public long Bytes { get; set; }

        public long Current { get; set; }

        public long CurrentBytes { get; set; }

        public long Old => Records - Current;

        public long OldBytes => Bytes - CurrentBytes;
    }

    internal sealed record Stats(SortedDictionary<string, ClassStats> Classes, int Transactions, long Records, long Bytes, long CurrentBytes);

    internal static Stats Collect(FileStorage fs, CancellationToken cancel)
    {
        var current = new Dictionary<Oid, long>();
        foreach ((Oid oid, long pos) in fs.CurrentRecords())
        {
            current[oid] = pos;
        }
        var classes = new SortedDictionary<string, ClassStats>(StringComparer.Ordinal);
        int transactions = 0;
        long records = 0, bytes = 0, currentBytes = 0;
        foreach (TransactionRecord t in fs.Iterator())
        {
            cancel.ThrowIfCancellationRequested();
            transactions++;
            foreach (DataRecord r in t.Records)
            {
                ReadOnlyMemory<byte>? data = r.ReadData();
                string cls = data is not { } d ? NoData : ClassName(d);
                long size = data?.Length ?? 0;
                if (!classes.TryGetValue(cls, out ClassStats? c))
                {
                    classes[cls] = c = new ClassStats();
                }
                c.Records++;
                c.Bytes += size;
                records++;
                bytes += size;
                if (current.TryGetValue(r.Oid, out long pos) && pos == r.Position)
                {
                    c.Current++;
                    c.CurrentBytes += size;
                    currentBytes += size;
                }
            }
        }
        return new Stats(classes, transactions, records, bytes, currentBytes);
    }

    private static string ClassName(ReadOnlyMemory<byte> data)
    {
        try
        {
            return ZodbPickle.GetClassName(data) ?? "(persistent class)";
        }
        catch (PickleException)
        {
            return Unreadable;
        }
    }

    private static void Write(ParseResult parse, string path, FileStorage fs, Stats s)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("class")
            .AddColumn(new TableColumn("records").RightAligned())
            .AddColumn(new TableColumn("bytes").RightAligned())
            .AddColumn(new TableColumn("%").RightAligned())
            .AddColumn(new TableColumn("avg").RightAligned())
            .AddColumn(new TableColumn("current").RightAligned())
            .AddColumn(new TableColumn("current bytes").RightAligned())
            .AddColumn(new TableColumn("old").RightAligned())
            .AddColumn(new TableColumn("old bytes").RightAligned());
        foreach ((string cls, ClassStats c) in s.Classes.OrderByDescending(kv => kv.Value.Bytes).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            table.AddRow(Markup.Escape(cls), N(c.Records), N(c.Bytes), Pct(c.Bytes, s.Bytes), N(c.Records == 0 ? 0 : c.Bytes / c.Records),
                N(c.Current), N(c.CurrentBytes), N(c.Old), N(c.OldBytes));
        }
        table.AddRow("[bold]total[/]", N(s.Records), N(s.Bytes), Pct(s.Bytes, s.Bytes), N(s.Records == 0 ? 0 : s.Bytes / s.Records),
            N(fs.ObjectCount), N(s.CurrentBytes), N(s.Records - s.Classes.Values.Sum(c => c.Current)), N(s.Bytes - s.CurrentBytes));
        IAnsiConsole console = ToolSupport.TableConsole(parse);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{path}: {fs.Size} bytes, {s.Transactions} transactions, {s.Records} data records, {fs.ObjectCount} objects"));
        console.Write(table);
    }

    private static JsonObject Json(string path, FileStorage fs, Stats s)
    {
        var classes = new JsonArray();
        foreach ((string cls, ClassStats c) in s.Classes)
        {
            classes.Add(new JsonObject
            {
                ["class"] = cls,
                ["records"] = c.Records,
                ["bytes"] = c.Bytes,
                ["current"] = c.Current,
                ["current_bytes"] = c.CurrentBytes,
                ["old"] = c.Old,
                ["old_bytes"] = c.OldBytes,
            });
        }
        return new JsonObject
        {
            ["file"] = path,
            ["size"] = fs.Size,
            ["transactions"] = s.Transactions,
            ["records"] = s.Records,
            ["bytes"] = s.Bytes,
            ["objects"] = fs.ObjectCount,
            ["current_bytes"] = s.CurrentBytes,
            ["classes"] = classes,
        };
    }

    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    private static string Pct(long part, long whole) => whole == 0 ? "0.0" : (100.0 * part / whole).ToString("0.0", CultureInfo.InvariantCulture);
}
