using System.CommandLine;
using System.Diagnostics;
using Wendelin.Arrays;
using Wendelin.Arrays.Zodb;
using Wendelin.Storage.Persistence;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin array import FILE ARRAYPATH IN.npy [--format zblk0|zblk1|auto] [--mode create|replace|append]
/// [--commit-every SIZE]</c>: makes an array from a .npy file (the database is created when missing), replaces
/// one, or appends to one along its append axis; in one transaction, or committing every SIZE bytes so that a
/// huge import bounds its dirty data.
/// </summary>
internal static class ArrayImportCommand
{
    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument(created: true);
        Argument<string> path = ToolSupport.ArrayPathArgument();
        var input = new Argument<string>("IN") { Description = "The .npy file to read (NumPy format 1.0, 2.0 or 3.0; C or Fortran order)" };
        Option<string?> format = ArrayCommand.BlockFormatOption();
        var mode = new Option<string>("--mode")
        {
            Description = "What to do: create a new array (refused if the path exists), replace the array at the path, or append to it along its append axis",
            DefaultValueFactory = _ => "create",
        };
        mode.AcceptOnlyFromAmong("create", "replace", "append");
        Option<long?> commitEvery = ToolSupport.SizeOption("--commit-every", "Commit after every SIZE bytes, to bound a huge import's dirty data [default: one transaction]");
        var command = new Command("import", "Create, replace or append to an array from a NumPy .npy file, with a progress bar (the database is created when missing).")
        {
            file,
            path,
            input,
            format,
            mode,
            commitEvery,
        };
        ToolSupport.SetAction(command, (parse, cancel) =>
            Import(parse, parse.GetRequiredValue(file), parse.GetRequiredValue(path), parse.GetRequiredValue(input), parse.GetValue(format),
                parse.GetValue(mode)!, parse.GetValue(commitEvery) ?? 0, cancel),
            cancelled: "the transaction in progress was aborted; what --commit-every committed before stays");
        return command;
    }

    private static int Import(ParseResult parse, string dbPath, string arrayPath, string npyPath, string? format, string mode, long every, CancellationToken cancel)
    {
        TextWriter output = parse.InvocationConfiguration.Output;
        ToolSupport.CheckInputFile(npyPath, "a .npy file");
        using var npy = new FileStream(npyPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        NpyHeader header = NpyHeader.Read(npy, npyPath);
        long available = npy.Length - header.DataOffset;
        if (available < header.DataBytes)
        {
            throw new ToolException($"{npyPath}: is truncated: the header announces {header.DataBytes} bytes of data, the file holds {available}",
                "write it again with numpy.save");
        }
        ZBlkFormat? fmt = ArrayCommand.BlockFormat(format);
        ArrayOrder order = header.FortranOrder ? ArrayOrder.F : ArrayOrder.C;
        using ToolDatabase db = ToolSupport.OpenDatabaseForWriting(parse, dbPath, create: mode != "append");
        Connection conn = db.Connection;
        object? existing = ArrayPaths.Lookup(conn, arrayPath, out _);
        ZBigArray array;
        int axis = 0;
        long from = 0;
        switch (mode)
        {
            case "append":
                array = existing as ZBigArray ?? throw (existing is null
                    ? new ToolException($"no array at '{arrayPath}' to append to", "use --mode create to make it")
                    : new ToolException($"'{arrayPath}' is not a ZBigArray", "`wendelin array list FILE` lists the arrays"));
                if (array.DType != header.DType)
                {
                    throw new ToolException($"cannot append {header.DType.Str} items to '{arrayPath}' of dtype {array.DType.Str}", "the .npy file must have the array's dtype");
                }
                axis = array.Order == ArrayOrder.C ? 0 : array.NDim - 1;
                if (header.Shape.Length != array.NDim || Enumerable.Range(0, array.NDim).Any(k => k != axis && header.Shape[k] != array.Shape[k]))
                {
                    throw new ToolException($"cannot append shape ({string.Join(", ", header.Shape)}) to '{arrayPath}' of shape ({string.Join(", ", array.Shape.ToArray())}): every axis but {axis} must match", "the .npy file must have the array's shape along the other axes");
                }
                if (fmt is { } f)
                {
                    array.BlockFormat = f;
                }
                from = array.Shape[axis];
                long[] grown = array.Shape.ToArray();
                grown[axis] += header.Shape[axis];
                array.Resize(grown);
                break;
            default:
                if (existing is not null && mode == "create")
                {
                    throw new ToolException($"'{arrayPath}' exists already", "use --mode replace or --mode append");
                }
                array = new ZBigArray(header.Shape, header.DType, order);
                if (fmt is { } f2)
                {
                    array.BlockFormat = f2;
                }
                ArrayPaths.Store(conn, arrayPath, array);
                conn.Add(array);
                break;
        }
        var clock = Stopwatch.StartNew();
        long total = header.DataBytes, done = 0, sinceCommit = 0;
        int commits = 0;
        ToolProgress.Run(parse, "import", progress =>
        {
            progress.ReportBytes(arrayPath, 0, total);
            ArrayBytes.Write(array.AsBigArray(), order, piece =>
            {
                cancel.ThrowIfCancellationRequested();
                if (every > 0 && sinceCommit >= every)
                {
                    Commit(conn, $"wendelin array import {arrayPath}: {done} of {total} bytes");
                    commits++;
                    sinceCommit = 0;
                }
                npy.ReadExactly(piece);
                done += piece.Length;
                sinceCommit += piece.Length;
                progress.ReportBytes(arrayPath, done, total);
            }, axis, from, every > 0 ? (int)Math.Clamp(every, 1, ArrayBytes.PieceBytes) : ArrayBytes.PieceBytes);
        });
        Commit(conn, $"wendelin array import {arrayPath} from {Path.GetFileName(npyPath)}");
        commits++;
        output.WriteLine($"imported {arrayPath} ({mode}): shape ({string.Join(", ", array.Shape.ToArray())}) {array.DType.Str} {array.Order} order, {Units.Bytes(total)} in {Units.Seconds(clock.Elapsed)} ({Units.Rate(total, clock.Elapsed)}), {commits} commit(s), blocks {ArrayCommand.Count(array).Summary}");
        return 0;
    }

    private static void Commit(Connection conn, string note)
    {
        conn.TransactionManager.Current.Note(note);
        conn.TransactionManager.Commit();
    }
}
