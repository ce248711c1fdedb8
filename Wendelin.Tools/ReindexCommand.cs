using System.CommandLine;
using System.Globalization;
using Wendelin.Storage.Fs;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin reindex FILE</c>: rebuilds <c>FILE.index</c> by scanning the whole data file (spec/filestorage.md FS-I2,
/// FS-I4), for an index that is lost, stale or suspected. Takes the database's lock; like every writable open it
/// recovers a torn tail (reported as a note).
/// </summary>
internal static class ReindexCommand
{
    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument();
        var command = new Command("reindex", "Rebuild FILE.index by scanning the whole data file (for an index that is lost, stale or suspect).")
        {
            file,
        };
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            string path = parse.GetRequiredValue(file);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            using FileStorage fs = ToolSupport.OpenStorageForWriting(parse, path, new FileStorageOptions { UseIndex = false });
            string state = File.Exists(fs.IndexPath) ? $"wrote {fs.IndexPath} ({new FileInfo(fs.IndexPath).Length} bytes)" : $"no index needed ({fs.IndexPath} removed)";
            parse.InvocationConfiguration.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{path}: scanned {fs.Size} bytes, {fs.ObjectCount} objects, last transaction {fs.LastTransaction}; {state} in {watch.Elapsed.TotalSeconds:0.###} s"));
            return ToolSupport.CleanExit;
        });
        return command;
    }
}
