using System.Runtime.CompilerServices;

namespace Wendelin.Tools.Tests;

/// <summary>
/// In-process command runs of this assembly compare stderr with exact text; on a loaded machine a run can pass the
/// product's one-second quiet period (TL-7) and print plain progress lines, so the tests start with plain lines
/// off. The tests about progress (<see cref="ProgressTests"/>) set the delay they test and restore this one.
/// </summary>
internal static class QuietProgress
{
    [ModuleInitializer]
    internal static void Init() => ToolProgress.PlainDelay = TimeSpan.FromHours(1);
}
