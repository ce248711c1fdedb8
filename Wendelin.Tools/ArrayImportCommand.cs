using System.CommandLine;
using System.Diagnostics;
using Wendelin.Arrays;
using Wendelin.Arrays.Zodb;

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
        var file = new Argument<string>("FILE") { Description = "the FileStorage data file (created when missing)" };
        var path = new Argument<string>("ARRAYPATH") { Description = "the array's path from the root, e.g. A or data/signal" };
        var input = new Argument<string>("IN") { Description = "the .npy file to read" };
        var format = new Option<string?>("--format") { Description = "block format to write: zblk0, zblk1 or auto (default: WENDELIN_CORE_ZBLK_FMT, else zblk0)" };
        format.AcceptOnlyFromAmong("zblk0", "zblk1", "auto");
        var mode = new Option<string>("--mode") { Description = "create (default; fails if the path exists), replace, or append", DefaultValueFactory = _ => "create" };
        mode.AcceptOnlyFromAmong("create", "replace", "append");
        var commitEvery = new Option<string?>("--commit-every") { Description = "commit after every SIZE bytes (e.g. 256M); default: one transaction" };
        var command = new Command("import", "Create, replace or append to an array from a .npy file.")
        {
            file,
            path,
            input,
            format,
            mode,
            commitEvery,
        };
        command.SetAction((parse, cancel) =>
        {
            TextWriter output = parse.InvocationConfiguration.Output;
            int code = ToolSupport.Run("array import", parse, () =>
                Import(parse.GetRequiredValue(file), parse.GetRequiredValue(path), parse.GetRequiredValue(input), parse.GetValue(format),
                    parse.GetValue(mode)!, parse.GetValue(commitEvery), output, cancel));
            return Task.FromResult(code);
        });
        return command;
    }

    private static int Import(string dbPath, string arrayPath, string npyPath, string? format, string mode, string? commitEvery, TextWriter output, CancellationToken cancel)
    {
        if (Directory.Exists(npyPath))
        {
            throw new ToolException($"{npyPath}: is a directory");
        }
        if (!File.Exists(npyPath))
        {
            throw new ToolException($"{npyPath}: no such file");
        }
        long every = commitEvery is null ? 0 : Units.ParseSize(commitEvery, "--commit-every");
        using var npy = new FileStream(npyPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        NpyHeader header = NpyHeader.Read(npy, npyPath);
        long available = npy.Length - header.DataOffset;
        if (available < header.DataBytes)
        {
            throw new ToolException($"{npyPath}: truncated: the header announces {header.DataBytes} bytes of data, the file holds {available}");
        }
        ZBlkFormat? fmt = format switch
        {
            "zblk0" => ZBlkFormat.ZBlk0,
            "zblk1" => ZBlkFormat.ZBlk1,
            "auto" => ZBlkFormat.Auto,
            _ => null,
        };
        ArrayOrder order = header.FortranOrder ? ArrayOrder.F : ArrayOrder.C;
        using DatabaseAccess access = DatabaseAccess.OpenWritable(dbPath, create: true);
        var conn = access.Connection;
        object? existing = ArrayPaths.Lookup(conn, arrayPath, out _);
        ZBigArray array;
        int axis = 0;
        long from = 0;
        switch (mode)
        {
            case "append":
                array = existing as ZBigArray ?? throw new ToolException(existing is null
                    ? $"no array at '{arrayPath}' to append to (use --mode create)"
                    : $"'{arrayPath}' is not a ZBigArray");
                if (array.DType != header.DType)
                {
                    throw new ToolException($"cannot append {header.DType.Str} items to '{arrayPath}' of dtype {array.DType.Str}");
                }
                axis = array.Order == ArrayOrder.C ? 0 : array.NDim - 1;
                if (header.Shape.Length != array.NDim || Enumerable.Range(0, array.NDim).Any(k => k != axis && header.Shape[k] != array.Shape[k]))
                {
                    throw new ToolException($"cannot append shape ({string.Join(", ", header.Shape)}) to '{arrayPath}' of shape ({string.Join(", ", array.Shape.ToArray())}): every axis but {axis} must match");
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
                    throw new ToolException($"'{arrayPath}' exists already (use --mode replace or --mode append)");
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
        ByteProgress.Run(output, $"import {arrayPath}", total, report =>
        {
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
                report(done);
            }, axis, from, every > 0 ? (int)Math.Clamp(every, 1, ArrayBytes.PieceBytes) : ArrayBytes.PieceBytes);
        });
        Commit(conn, $"wendelin array import {arrayPath} from {Path.GetFileName(npyPath)}");
        commits++;
        output.WriteLine($"imported {arrayPath} ({mode}): shape ({string.Join(", ", array.Shape.ToArray())}) {array.DType.Str} {array.Order} order, {Units.Bytes(total)} in {clock.Elapsed.TotalSeconds:F1} s ({Units.Rate(total, clock.Elapsed)}), {commits} commit(s), blocks {ArrayCommand.Count(array).Summary}");
        return 0;
    }

    private static void Commit(Wendelin.Storage.Persistence.Connection conn, string note)
    {
        conn.TransactionManager.Current.Note(note);
        conn.TransactionManager.Commit();
    }
}
