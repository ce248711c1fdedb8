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
            Description = "Only the structural checks (ZODB's fstest and the pointer checks), not the objects",
        };
        var command = new Command("verify", "Check a FileStorage data file: structure, records, references, BTrees and ZBigFiles (spec/verify.md); one line per finding. Exit code 0 clean, 1 findings.")
        {
            file,
            structureOnly,
            json,
        };
        ToolSupport.SetAction(command, (parse, cancel) =>
        {
            string path = parse.GetRequiredValue(file);
            ToolSupport.CheckDataFileExists(path);
            TextWriter output = parse.InvocationConfiguration.Output;
            bool asJson = parse.GetValue(json);
            var verifier = new Verifier(path, new VerifyOptions { Objects = !parse.GetValue(structureOnly) });
            var findings = new List<Finding>();
            ToolProgress.Run(parse, "verify", progress =>
            {
                foreach (Finding f in verifier.Run(new Sink(progress), cancel))
                {
                    findings.Add(f);
                    if (!asJson)
                    {
                        progress.WriteLine(f.ToString());
                    }
                }
            });
            VerifyStats s = verifier.Stats;
            if (asJson)
            {
                ToolSupport.WriteJson(output, Json(path, s, findings));
            }
            else
            {
                string verdict = s.Clean ? "clean" : $"{s.Errors} errors, {s.Warnings} warnings";
                string notes = s.Infos > 0 ? $", {s.Infos} notes" : "";
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{path}: {s.FileSize} bytes, {s.Transactions} transactions, {s.Records} records, {s.Objects} objects: {verdict}{notes}"));
            }
            return s.Clean ? ToolSupport.CleanExit : ToolSupport.FindingsExit;
        }, cancelled: "nothing was changed (verify only reads)");
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
        public void Report(VerifyProgress value)
        {
            if (value.Phase == VerifyPhase.Structure)
            {
                progress.ReportBytes("structure", value.Done, value.Total);
            }
            else
            {
                progress.Report("objects", value.Done, value.Total);
            }
        }
    }
}
