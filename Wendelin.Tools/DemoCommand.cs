using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Wendelin.Arrays;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Persistence;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin demo</c>: the README's first command (spec/zbigfile.md §6, spec/tools.md TL-8). It creates a database
/// file (<c>./wendelin-demo.fs</c> by default; a previous demo's file is started afresh, a file holding anything else
/// is refused), appends a float64 ZBigArray several times larger than its RAM budget chunk by chunk with a commit
/// every so often (as upstream's demo does, to bound dirty data), computes statistics streaming, changes a slice and
/// commits, then reopens the database and checks everything; it prints sizes, times, throughput and the process's
/// peak memory. Ctrl+C stops it cleanly (what was committed stays).
/// </summary>
internal static class DemoCommand
{
    /// <summary>The root key of the demo's array.</summary>
    internal const string Key = "wendelin-demo";

    public static Command Create()
    {
        var path = new Option<string>("--path")
        {
            HelpName = "FILE",
            Description = "The database file to create (a previous demo's file is started afresh; any other file is refused)",
            DefaultValueFactory = _ => "wendelin-demo.fs",
        };
        Option<long?> size = ToolSupport.SizeOption("--size", "Size of the float64 array [default: 1G]");
        Option<long?> budget = ToolSupport.SizeOption("--budget", "RAM budget of the array's page cache [default: 128M]");
        Option<string?> format = ArrayCommand.BlockFormatOption();
        Option<long?> commitEvery = ToolSupport.SizeOption("--commit-every", "Commit after every SIZE bytes appended [default: 128M]");
        var command = new Command("demo", "Create an array bigger than its RAM budget in a database, compute with it, change it, reopen it and check it.")
        {
            path,
            size,
            budget,
            format,
            commitEvery,
        };
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            var options = new Options(
                parse.GetValue(path)!,
                parse.GetValue(size) ?? (1L << 30),
                parse.GetValue(budget) ?? (128L << 20),
                ArrayCommand.BlockFormat(parse.GetValue(format)),
                parse.GetValue(commitEvery) ?? (128L << 20));
            return Run(parse, options, cancel);
        }, cancelled: "the transaction in progress was aborted; what was committed before stays in the database");
        return command;
    }

    internal sealed record Options(string Path, long Size, long Budget, ZBlkFormat? Format, long CommitEvery, int BlockSize = ZBigFile.DefaultBlockSize);

    internal static int Run(ParseResult parse, Options o, CancellationToken cancel)
    {
        TextWriter output = parse.InvocationConfiguration.Output;
        long items = o.Size / 8;
        if (items < 1)
        {
            throw new ToolException($"--size {o.Size} is smaller than one float64 item (8 bytes)", "give a size such as 1G or 256M");
        }
        if (o.Budget < o.BlockSize)
        {
            throw new ToolException($"--budget {Units.Bytes(o.Budget)} is smaller than one block ({Units.Bytes(o.BlockSize)})", "give at least 2M; the default is 128M");
        }
        if (o.CommitEvery < 8)
        {
            throw new ToolException($"--commit-every {o.CommitEvery} is smaller than one float64 item (8 bytes)", "give a size such as 128M");
        }
        long previous = CheckPrevious(parse, o.Path);
        long bytes = items * 8;
        var handleOptions = new FileHandleOptions { RamBudget = o.Budget };
        var total = Stopwatch.StartNew();
        double sum, mean, min, max;
        long sliceStart = items / 2, sliceLength = Math.Min(items - sliceStart, Math.Max(1, items / 100));
        using (ToolDatabase db = ToolSupport.OpenDatabaseForWriting(parse, o.Path, create: true, afresh: true))
        {
            output.WriteLine(previous < 0
                ? $"wendelin demo: created {Path.GetFullPath(o.Path)}"
                : $"wendelin demo: started {Path.GetFullPath(o.Path)} afresh (the previous demo's {Units.Bytes(previous)} are gone)");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  a float64 ZBigArray of {items:N0} items ({Units.Bytes(bytes)}), RAM budget {Units.Bytes(o.Budget)} ({(double)bytes / o.Budget:F1}x smaller), {Units.Bytes(o.BlockSize)} blocks"));
            Connection conn = db.Connection;
            TransactionManager tm = conn.TransactionManager;
            var a = new ZBigArray([0], DType.Float64, blockSize: o.BlockSize) { HandleOptions = handleOptions };
            if (o.Format is { } f)
            {
                a.BlockFormat = f;
            }
            conn.Root[Key] = a;
            tm.Current.Note("wendelin demo: new array");
            tm.Commit();
            output.WriteLine($"  block format {a.BlockFormat}, commit every {Units.Bytes(o.CommitEvery)}");

            // 1. append in chunks, committing every so often
            var clock = Stopwatch.StartNew();
            int commits = Append(parse, tm, a, items, o.CommitEvery, cancel);
            clock.Stop();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"1. appended {Units.Bytes(bytes)} in {commits} commits: {Units.Seconds(clock.Elapsed)}, {Units.Rate(bytes, clock.Elapsed)}"));

            // 2. statistics, streaming chunk by chunk within the budget
            clock.Restart();
            (sum, min, max) = Statistics(parse, "statistics", a, cancel);
            mean = sum / items;
            clock.Stop();
            Check(sum == ExpectedSum(0, items), $"sum {sum} differs from the expected {ExpectedSum(0, items)}");
            Check(min == 0 && max == (items > 999 ? 999 : items - 1), $"min {min} / max {max} are not the expected values");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"2. statistics (streaming): sum {sum:R}, mean {mean:R}, min {min:R}, max {max:R}: {Units.Seconds(clock.Elapsed)}, {Units.Rate(bytes, clock.Elapsed)}"));

            // 3. change a slice and commit
            clock.Restart();
            cancel.ThrowIfCancellationRequested();
            a.Assign([Ix.Slice(sliceStart, sliceStart + sliceLength)], -1.0);
            tm.Current.Note("wendelin demo: a slice set to -1");
            tm.Commit();
            clock.Stop();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"3. set A[{sliceStart}:{sliceStart + sliceLength}] = -1 ({Units.Bytes(sliceLength * 8)}) and committed: {clock.Elapsed.TotalMilliseconds:F0} ms"));
        }

        // 4. reopen (read-only, as a reader would) and check
        var check = Stopwatch.StartNew();
        using (ToolDatabase db = ToolSupport.OpenDatabase(parse, o.Path, at: null))
        {
            var a = db.Connection.Root.Get<ZBigArray>(Key);
            a.HandleOptions = handleOptions;
            Check(a.Shape.Length == 1 && a.Shape[0] == items, $"the reopened array has shape ({string.Join(", ", a.Shape.ToArray())}), not ({items})");
            (double s2, double mn2, _) = Statistics(parse, "check", a, cancel);
            double expected = sum - ExpectedSum(sliceStart, sliceStart + sliceLength) - sliceLength;
            Check(s2 == expected, $"after reopening the sum is {s2}, expected {expected}");
            Check(mn2 == -1, $"after reopening the minimum is {mn2}, expected -1");
            Check(a.GetItem<double>(sliceStart) == -1 && a.GetItem<double>(sliceStart + sliceLength - 1) == -1
                  && (sliceStart + sliceLength == items || a.GetItem<double>(sliceStart + sliceLength) == Value(sliceStart + sliceLength)),
                "the changed slice does not read back as written");
            check.Stop();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"4. reopened and checked: shape ({items}), sum {s2:R} as expected, the slice reads -1: {Units.Seconds(check.Elapsed)}"));
        }
        long fileSize = new FileInfo(o.Path).Length;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"database {Units.Bytes(fileSize)}; total {Units.Seconds(total.Elapsed)}; peak memory of this process (VmHWM) {Units.Bytes(PeakMemory())}"));
        return ToolSupport.CleanExit;
    }

    /// <summary>
    /// Whether the demo may (re)create <paramref name="path"/>: a missing file, or a data file whose root holds
    /// nothing but the demo's array (its size is returned; -1 when missing). A directory, a file that is no database
    /// and a database with other data are refused: the demo never destroys what it did not make.
    /// </summary>
    private static long CheckPrevious(ParseResult parse, string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            return -1;
        }
        using ToolDatabase db = ToolSupport.OpenDatabase(parse, path, at: null);
        long size = new FileInfo(path).Length;
        var others = new List<string>();
        foreach (KeyValuePair<object, object?> kv in db.Connection.Root)
        {
            if (!Equals(kv.Key, Key))
            {
                others.Add(kv.Key.ToString() ?? "?");
            }
        }
        if (others.Count > 0)
        {
            throw new ToolException($"{path}: holds other data than the demo's (root keys: {string.Join(", ", others.Take(5))}), so the demo leaves it alone",
                "give the demo a file of its own with --path");
        }
        return size;
    }

    /// <summary>Appends <paramref name="items"/> values in chunks, committing every <paramref name="commitEvery"/> bytes; returns the commits.</summary>
    private static int Append(ParseResult parse, TransactionManager tm, ZBigArray a, long items, long commitEvery, CancellationToken cancel)
    {
        long bytes = items * 8;
        long chunk = Math.Max(1, Math.Min(items, Math.Min(8L << 20, commitEvery) / 8));
        var buffer = new double[chunk];
        int commits = 0;
        ToolProgress.Run(parse, "demo", progress =>
        {
            long sinceCommit = 0;
            progress.ReportBytes("append", 0, bytes);
            for (long i = 0; i < items; i += chunk)
            {
                cancel.ThrowIfCancellationRequested();
                int n = (int)Math.Min(chunk, items - i);
                for (int k = 0; k < n; k++)
                {
                    buffer[k] = Value(i + k);
                }
                a.Append<double>(buffer.AsSpan(0, n));
                sinceCommit += n * 8L;
                if (sinceCommit >= commitEvery || i + n == items)
                {
                    tm.Current.Note(string.Create(CultureInfo.InvariantCulture, $"wendelin demo: append up to item {i + n}"));
                    tm.Commit();
                    commits++;
                    sinceCommit = 0;
                }
                progress.ReportBytes("append", (i + n) * 8, bytes);
            }
        });
        return commits;
    }

    /// <summary>Item i of the demo array: exact in double, with a known sum.</summary>
    private static double Value(long i) => i % 1000;

    /// <summary>Σ Value(i) for i in [from, to).</summary>
    private static double ExpectedSum(long from, long to)
    {
        static double Prefix(long n) => (double)(n / 1000) * 499500 + ((n % 1000) * ((n % 1000) - 1) / 2);
        return Prefix(to) - Prefix(from);
    }

    private static (double Sum, double Min, double Max) Statistics(ParseResult parse, string phase, ZBigArray a, CancellationToken cancel)
    {
        double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        ToolProgress.Run(parse, "demo", progress =>
        {
            long done = 0;
            progress.ReportBytes(phase, 0, a.NBytes);
            foreach (ArrayView chunk in a.Chunks())
            {
                cancel.ThrowIfCancellationRequested();
                sum += chunk.Sum();
                min = Math.Min(min, chunk.Min<double>());
                max = Math.Max(max, chunk.Max<double>());
                done += chunk.NBytes;
                progress.ReportBytes(phase, done, a.NBytes);
            }
        });
        return (sum, min, max);
    }

    private static void Check(bool ok, string what)
    {
        if (!ok)
        {
            throw new ToolException("check failed: " + what, "this is a bug; --verbose shows where");
        }
    }

    /// <summary>The process's peak resident memory: VmHWM on Linux, the peak working set elsewhere.</summary>
    internal static long PeakMemory()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        return Process.GetCurrentProcess().PeakWorkingSet64;
    }
}
