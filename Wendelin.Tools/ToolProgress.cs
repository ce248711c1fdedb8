using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace Wendelin.Tools;

/// <summary>
/// Progress for long commands (verify, pack; the array export and the demo use it too): on a terminal, Spectre.Console
/// progress bars on stderr, one bar per phase; when stderr is redirected (or the command runs inside a test with its
/// own writers), plain lines at each phase and every tenth once the run has taken a second, so logs stay readable. Reports may come from any thread.
/// </summary>
internal sealed class ToolProgress
{
    private readonly TextWriter? _plain;
    private readonly ProgressContext? _context;
    private readonly string _title;
    private readonly Lock _gate = new();
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private ProgressTask? _task;
    private string? _phase;
    private int _tenth = -1;

    private ToolProgress(string title, TextWriter? plain, ProgressContext? context)
    {
        _title = title;
        _plain = plain;
        _context = context;
    }

    /// <summary>Plain lines start after this long, so quick runs stay quiet.</summary>
    internal static TimeSpan PlainDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Test seam: render progress bars even when stderr is not a terminal.</summary>
    internal static IAnsiConsole? TerminalOverride { get; set; }

    /// <summary>
    /// Runs <paramref name="body"/> with a progress sink: bars when stderr is a terminal and the command writes to the
    /// process's own stderr, plain lines otherwise.
    /// </summary>
    public static T Run<T>(ParseResult parse, string title, Func<ToolProgress, T> body)
    {
        TextWriter error = parse.InvocationConfiguration.Error;
        IAnsiConsole? terminal = TerminalOverride;
        if (terminal is null && ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected)
        {
            terminal = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        }
        if (terminal is null)
        {
            return body(new ToolProgress(title, error, null));
        }
        return terminal.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var progress = new ToolProgress(title, null, ctx);
                try
                {
                    return body(progress);
                }
                finally
                {
                    progress.Complete();
                }
            });
    }

    /// <summary>Reports <paramref name="done"/> of <paramref name="total"/> in <paramref name="phase"/> (a new phase starts a new bar).</summary>
    public void Report(string phase, long done, long total)
    {
        lock (_gate)
        {
            double fraction = total <= 0 ? 1 : Math.Clamp((double)done / total, 0, 1);
            if (_context is not null)
            {
                if (_phase != phase)
                {
                    if (_task is not null)
                    {
                        _task.Value = _task.MaxValue;
                        _task.StopTask();
                    }
                    _task = _context.AddTask($"{_title}: {Markup.Escape(phase)}", maxValue: 1000);
                    _phase = phase;
                }
                _task!.Value = fraction * 1000;
                return;
            }
            int tenth = (int)(fraction * 10);
            if ((_phase != phase || tenth != _tenth) && _clock.Elapsed >= PlainDelay)
            {
                _phase = phase;
                _tenth = tenth;
                _plain!.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_title}: {phase} {tenth * 10}%"));
            }
        }
    }

    private void Complete()
    {
        lock (_gate)
        {
            if (_task is not null)
            {
                _task.Value = _task.MaxValue;
                _task.StopTask();
            }
        }
    }
}
