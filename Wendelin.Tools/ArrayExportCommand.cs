using System.CommandLine;
using System.Diagnostics;
using Wendelin.Arrays;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin array export FILE ARRAYPATH OUT [--format npy|raw] [--at TID]</c>: writes an array as a NumPy .npy
/// file (or its raw bytes), streaming within the array's RAM budget, items in the array's own order
/// (<c>fortran_order</c> tells which; spec/zbigfile.md §6). The bytes go to <c>OUT.part</c>, renamed to OUT when
/// complete, so a failed or cancelled export leaves no partial OUT and an existing OUT untouched.
/// </summary>
internal static class ArrayExportCommand
{
    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument();
        Argument<string> path = ToolSupport.ArrayPathArgument();
        var outPath = new Argument<string>("OUT") { Description = "The file to write (replaced when complete if it exists)" };
        var format = new Option<string>("--format")
        {
            Description = "What to write: npy, a NumPy .npy file (format 1.0, 2.0 or 3.0), or raw, the items' bytes only, in the array's order",
            DefaultValueFactory = _ => "npy",
        };
        format.AcceptOnlyFromAmong("npy", "raw");
        Option<string?> at = ToolSupport.AtOption();
        var command = new Command("export", "Write an array to a NumPy .npy file or to raw bytes, streaming, with a progress bar.")
        {
            file,
            path,
            outPath,
            format,
            at,
        };
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            string target = parse.GetRequiredValue(outPath);
            ToolSupport.CheckOutputFile(target);
            using ToolDatabase db = ToolSupport.OpenDatabase(parse, parse.GetRequiredValue(file), parse.GetValue(at));
            string p = parse.GetRequiredValue(path);
            ZBigArray a = ArrayPaths.Resolve(db.Connection, p);
            bool npy = parse.GetValue(format) != "raw";
            var clock = Stopwatch.StartNew();
            string part = target + ".part";
            try
            {
                using (var stream = new FileStream(part, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    if (npy)
                    {
                        stream.Write(NpyHeader.Encode(a.DType, a.Shape, a.Order));
                    }
                    ToolProgress.Run(parse, "export", progress =>
                    {
                        long done = 0;
                        progress.ReportBytes(p, 0, a.NBytes);
                        ArrayBytes.Read(a.AsBigArray(), a.Order, piece =>
                        {
                            cancel.ThrowIfCancellationRequested();
                            stream.Write(piece);
                            done += piece.Length;
                            progress.ReportBytes(p, done, a.NBytes);
                        });
                    });
                }
                File.Move(part, target, overwrite: true);
            }
            catch
            {
                File.Delete(part);
                throw;
            }
            parse.InvocationConfiguration.Output.WriteLine(
                $"exported {p}: shape ({string.Join(", ", a.Shape.ToArray())}) {a.DType.Str} {a.Order} order, {Units.Bytes(a.NBytes)} in {Units.Seconds(clock.Elapsed)} ({Units.Rate(a.NBytes, clock.Elapsed)}) to {target}");
            return ToolSupport.CleanExit;
        }, cancelled: "nothing was written (the partial file was removed)");
        return command;
    }
}
