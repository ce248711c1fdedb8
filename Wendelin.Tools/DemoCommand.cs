using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Wendelin.Arrays;
using Wendelin.Arrays.BigFile;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Persistence;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin demo</c>: the README's first command (spec/zbigfile.md §6). In a database file (created or
/// opened; <c>./wendelin-demo.fs</c> by default) it appends a float64 ZBigArray several times larger than its RAM
/// budget, chunk by chunk with a commit every so often (as upstream's demo does, to bound dirty data), computes
/// statistics streaming, changes a slice and commits, then reopens the database and checks everything; it prints
/// sizes, times, throughput and the process's peak memory. Ctrl+C stops it cleanly (what was committed stays).
/// </summary>
internal static class DemoCommand
{
    private const string Key = "wendelin-demo";

    public static Command Create()
    {
        var path = new Option<string>("--path") { Description = "the database file", DefaultValueFactory = _ => "wendelin-demo.fs" };
        var size = new Option<string>("--size") { Description = "array size (default 1G)", DefaultValueFactory = _ => "1G" };
        var budget = new Option<string>("--budget") { Description = "RAM budget of the array's page cache (default 128M)", DefaultValueFactory = _ => "128M" };
        var format = new Option<string?>("--format") { Description = "block format: zblk0, zblk1 or auto (default: WENDELIN_CORE_ZBLK_FMT, else zblk0)" };
        format.AcceptOnlyFromAmong("zblk0", "zblk1", "auto");
        var commitEvery = new Option<string>("--commit-every") { Description = "commit after every SIZE bytes appended (default 128M)", DefaultValueFactory = _ => "128M" };
        var command = new Command("demo", "Create an array bigger than its RAM budget in a database, compute with it, change it, reopen it and check it.")
        {
            path,
            size,
            budget,
            format,
            commitEvery,
        };
        command.SetAction((parse, cancel) =>
        {
            TextWriter output = parse.InvocationConfiguration.Output;
            int code = ToolSupport.Run("demo", parse, () =>
            {
                var options = new Options(
                    parse.GetValue(path)!,
                    Units.ParseSize(parse.GetValue(size)!, "--size"),
                    Units.ParseSize(parse.GetValue(budget)!, "--budget"),
                    parse.GetValue(format) switch { "zblk1" => ZBlkFormat.ZBlk1, "auto" => ZBlkFormat.Auto, "zblk0" => ZBlkFormat.ZBlk0, _ => null },
                    Units.ParseSize(parse.GetValue(commitEvery)!, "--commit-every"));
                try
                {
                    return Run(options, output, cancel);
                }
                catch (OperationCanceledException)
                {
                    output.WriteLine("cancelled: the transaction in progress was aborted; what was committed before stays in the database");
                    return 130;
                }
            });
            return Task.FromResult(code);
        });
        return command;
    }

    internal sealed record Options(string Path, long Size, long Budget, ZBlkFormat? Format, long CommitEvery, int BlockSize = ZBigFile.DefaultBlockSize);

    internal static int Run(Options o, TextWriter output, CancellationToken cancel)
    {
        long items = o.Size / 8;
        if (items < 1)
        {
            throw new ToolException($"--size {o.Size} is smaller than one float64 item");
        }
        if (o.Budget < o.BlockSize)
        {
            throw new ToolException($"--budget {Units.Bytes(o.Budget)} is smaller than one block ({Units.Bytes(o.BlockSize)})");
        }
        if (o.CommitEvery < 8)
        {
            throw new ToolException("--commit-every must be at least 8 bytes");
        }
        string full = Path.GetFullPath(o.Path);
        bool existed = File.Exists(full);
        long bytes = items * 8;
        var handleOptions = new FileHandleOptions { RamBudget = o.Budget };
        var total = Stopwatch.StartNew();
        output.WriteLine($"wendelin demo: {(existed ? "opened" : "created")} {full}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  a float64 ZBigArray of {items:N0} items ({Units.Bytes(bytes)}), RAM budget {Units.Bytes(o.Budget)} ({(double)bytes / o.Budget:F1}x smaller), {Units.Bytes(o.BlockSize)} blocks"));

        double sum = 0, min = 0, max = 0, mean = 0;
        long sliceStart = items / 2, sliceLength = Math.Min(items - sliceStart, Math.Max(1, items / 100));
        using (DatabaseAccess access = DatabaseAccess.OpenWritable(full, create: true))
        {
            Connection conn = access.Connection;
            TransactionManager tm = conn.TransactionManager;
            if (conn.Root.ContainsKey(Key))
            {
                output.WriteLine($"  (the array of a previous run is replaced; its blocks stay in the file until it is packed)");
            }
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
            int commits = 0;
            long chunk = Math.Max(1, Math.Min(items, Math.Min(8L << 20, o.CommitEvery) / 8));
            var buffer = new double[chunk];
            ByteProgress.Run(output, "append", bytes, report =>
            {
                long sinceCommit = 0;
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
                    if (sinceCommit >= o.CommitEvery || i + n == items)
                    {
                        tm.Current.Note(string.Create(CultureInfo.InvariantCulture, $"wendelin demo: append up to item {i + n}"));
                        tm.Commit();
                        commits++;
                        sinceCommit = 0;
                    }
                    report((i + n) * 8);
                }
            });
            clock.Stop();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"1. appended {Units.Bytes(bytes)} in {commits} commits: {clock.Elapsed.TotalSeconds:F1} s, {Units.Rate(bytes, clock.Elapsed)}"));

            // 2. statistics, streaming chunk by chunk within the budget
            clock.Restart();
            (sum, min, max) = Statistics(a, output, cancel);
            mean = sum / items;
            clock.Stop();
            Check(sum == ExpectedSum(0, items), $"sum {sum} differs from the expected {ExpectedSum(0, items)}");
            Check(min == 0 && max == (items > 999 ? 999 : items - 1), $"min {min} / max {max} are not the expected values");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"2. statistics (streaming): sum {sum:R}, mean {mean:R}, min {min:R}, max {max:R}: {clock.Elapsed.TotalSeconds:F1} s, {Units.Rate(bytes, clock.Elapsed)}"));

            // 3. change a slice and commit
            clock.Restart();
            cancel.ThrowIfCancellationRequested();
            a.Assign([Ix.Slice(sliceStart, sliceStart + sliceLength)], -1.0);
            tm.Current.Note("wendelin demo: a slice set to -1");
            tm.Commit();
            clock.Stop();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"3. set A[{sliceStart}:{sliceStart + sliceLength}] = -1 ({Units.Bytes(sliceLength * 8)}) and committed: {clock.Elapsed.TotalSeconds * 1000:F0} ms"));
        }

        // 4. reopen and check
        var check = Stopwatch.StartNew();
        using (DatabaseAccess access = DatabaseAccess.OpenWritable(full, create: false))
        {
            var a = access.Connection.Root.Get<ZBigArray>(Key);
            a.HandleOptions = handleOptions;
            Check(a.Shape.Length == 1 && a.Shape[0] == items, $"the reopened array has shape ({string.Join(", ", a.Shape.ToArray())}), not ({items})");
            (double s2, double mn2, _) = Statistics(a, output, cancel);
            double expected = sum - ExpectedSum(sliceStart, sliceStart + sliceLength) - sliceLength;
            Check(s2 == expected, $"after reopening the sum is {s2}, expected {expected}");
            Check(mn2 == -1, $"after reopening the minimum is {mn2}, expected -1");
            Check(a.GetItem<double>(sliceStart) == -1 && a.GetItem<double>(sliceStart + sliceLength - 1) == -1
                  && (sliceStart + sliceLength == items || a.GetItem<double>(sliceStart + sliceLength) == Value(sliceStart + sliceLength)),
                "the changed slice does not read back as written");
            check.Stop();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"4. reopened and checked: shape ({items}), sum {s2:R} as expected, the slice reads -1: {check.Elapsed.TotalSeconds:F1} s"));
        }
        long fileSize = new FileInfo(full).Length;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"database {Units.Bytes(fileSize)}; total {total.Elapsed.TotalSeconds:F1} s; peak memory of this process (VmHWM) {Units.Bytes(PeakMemory())}"));
        return 0;
    }

    /// <summary>Item i of the demo array: exact in double, with a known sum.</summary>
    private static double Value(long i) => i % 1000;

    /// <summary>Σ Value(i) for i in [from, to).</summary>
    private static double ExpectedSum(long from, long to)
    {
        static double Prefix(long n) => (double)(n / 1000) * 499500 + ((n % 1000) * ((n % 1000) - 1) / 2);
        return Prefix(to) - Prefix(from);
    }

    private static (double Sum, double Min, double Max) Statistics(ZBigArray a, TextWriter output, CancellationToken cancel)
    {
        double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        ByteProgress.Run(output, "statistics", a.NBytes, report =>
        {
            long done = 0;
            foreach (ArrayView chunk in a.Chunks())
            {
                cancel.ThrowIfCancellationRequested();
                sum += chunk.Sum();
                min = Math.Min(min, chunk.Min<double>());
                max = Math.Max(max, chunk.Max<double>());
                done += chunk.NBytes;
                report(done);
            }
        });
        return (sum, min, max);
    }

    private static void Check(bool ok, string what)
    {
        if (!ok)
        {
            throw new ToolException("check failed: " + what);
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
