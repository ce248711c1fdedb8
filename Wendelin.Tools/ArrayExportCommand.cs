using System.CommandLine;
using System.Diagnostics;
using Wendelin.Arrays;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin array export FILE ARRAYPATH OUT [--format npy|raw] [--at TID]</c>: writes an array as a NumPy .npy
/// file (or its raw bytes), streaming within the array's RAM budget; items in the array's own order
/// (<c>fortran_order</c> tells which).
/// </summary>
internal static class ArrayExportCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "the FileStorage data file" };
        var path = new Argument<string>("ARRAYPATH") { Description = "the array's path from the root, e.g. A or data/signal" };
        var outPath = new Argument<string>("OUT") { Description = "the file to write" };
        var format = new Option<string>("--format") { Description = "npy (default) or raw (the items' bytes only, in the array's order)", DefaultValueFactory = _ => "npy" };
        format.AcceptOnlyFromAmong("npy", "raw");
        var at = new Option<string?>("--at") { Description = "export the array as of this transaction id (16 hex digits)" };
        var command = new Command("export", "Write an array to a .npy file (NumPy format 1.0-3.0) or to raw bytes.")
        {
            file,
            path,
            outPath,
            format,
            at,
        };
        command.SetAction((parse, cancel) =>
        {
            TextWriter output = parse.InvocationConfiguration.Output;
            int code = ToolSupport.Run("array export", parse, () =>
            {
                using DatabaseAccess access = DatabaseAccess.OpenReadOnly(parse.GetRequiredValue(file), parse.GetValue(at));
                string p = parse.GetRequiredValue(path);
                ZBigArray a = ArrayPaths.Resolve(access.Connection, p);
                string target = parse.GetRequiredValue(outPath);
                if (Directory.Exists(target))
                {
                    throw new ToolException($"{target}: is a directory");
                }
                bool npy = parse.GetValue(format) != "raw";
                var clock = Stopwatch.StartNew();
                try
                {
                    using var stream = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                    if (npy)
                    {
                        stream.Write(NpyHeader.Encode(a.DType, a.Shape, a.Order));
                    }
                    ByteProgress.Run(output, $"export {p}", a.NBytes, report =>
                    {
                        long done = 0;
                        ArrayBytes.Read(a.AsBigArray(), a.Order, piece =>
                        {
                            cancel.ThrowIfCancellationRequested();
                            stream.Write(piece);
                            done += piece.Length;
                            report(done);
                        });
                    });
                }
                catch
                {
                    File.Delete(target);
                    throw;
                }
                output.WriteLine($"exported {p}: shape ({string.Join(", ", a.Shape.ToArray())}) {a.DType.Str} {a.Order} order, {Units.Bytes(a.NBytes)} in {clock.Elapsed.TotalSeconds:F1} s ({Units.Rate(a.NBytes, clock.Elapsed)}) to {target}");
                return 0;
            });
            return Task.FromResult(code);
        });
        return command;
    }
}
