using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Wendelin.Storage.Verify;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin verify FILE [--structure-only] [--json]</c>: every check of spec/verify.md (ZODB's fstest and fsrefs,
/// pointers, BTrees, ZBigFiles), one line per finding, with a progress bar on a terminal. Reads only: a database
/// in use can be verified. Exit 0 clean, 1 findings (errors or warnings), 2 when the file cannot be read.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        Argument<string> file = ToolSupport.FileArgument();
        Option<bool> json = ToolSupport.JsonOption();
        var structureOnly = new Option<bool>("--structure-only")
        {
            Description = "only the structural checks (ZODB's fstest and the pointer checks), not the objects",
        };
        var command = new Command("verify", "Check a FileStorage data file: structure, records, references, BTrees and ZBigFiles (spec/verify.md). Exit 0 clean, 1 findings, 2 error.")
        {
            file,
            structureOnly,
            json,
        };
        command.SetAction((parse, cancel) => ToolSupport.RunAsync("verify", parse, cancel, token =>
        {
            string path = parse.GetRequiredValue(file);
            ToolSupport.CheckPath(path);
            TextWriter output = parse.InvocationConfiguration.Output;
            bool asJson = parse.GetValue(json);
            var verifier = new Verifier(path, new VerifyOptions { Objects = !parse.GetValue(structureOnly) });
            var findings = new List<Finding>();
            ToolProgress.Run(parse, "verify", progress =>
            {
                var sink = new Sink(progress);
                foreach (Finding f in verifier.Run(sink, token))
                {
                    findings.Add(f);
                    if (!asJson)
                    {
                        output.WriteLine(f.ToString());
                    }
                }
                return 0;
            });
            VerifyStats s = verifier.Stats;
            if (asJson)
            {
                ToolSupport.WriteJson(output, Json(path, s, findings));
            }
            else
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{path}: {s.FileSize} bytes, {s.Transactions} transactions, {s.Records} records, {s.Objects} objects: {(s.Clean ? "clean" : $"{s.Errors} errors, {s.Warnings} warnings")}{(s.Infos > 0 ? $", {s.Infos} notes" : "")}"));
            }
            return s.Clean ? ToolSupport.CleanExit : ToolSupport.FindingsExit;
        }));
        return command;
    }

    private static JsonObject Json(string path, VerifyStats s, List<Finding> findings)
    {
        var list = new JsonArray();
        foreach (Finding f in findings)
        {
            list.Add(new JsonObject
            {
                ["code"] = f.Code,
                ["severity"] = f.Severity.ToString().ToLowerInvariant(),
                ["position"] = f.Position,
                ["oid"] = f.Oid?.ToString(),
                ["tid"] = f.Tid?.ToString(),
                ["message"] = f.Message,
            });
        }
        return new JsonObject
        {
            ["file"] = path,
            ["clean"] = s.Clean,
            ["size"] = s.FileSize,
            ["transactions"] = s.Transactions,
            ["records"] = s.Records,
            ["objects"] = s.Objects,
            ["errors"] = s.Errors,
            ["warnings"] = s.Warnings,
            ["notes"] = s.Infos,
            ["findings"] = list,
        };
    }

    private sealed class Sink(ToolProgress progress) : IProgress<VerifyProgress>
    {
        public void Report(VerifyProgress value) =>
            progress.Report(value.Phase == VerifyPhase.Structure ? "structure" : "objects", value.Done, value.Total);
    }
}
