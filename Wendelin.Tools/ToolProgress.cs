using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Wendelin.Tools;

/// <summary>
/// Progress of the long commands (verify, pack, array export and import, the demo; spec/tools.md TL-7). On a terminal:
/// Spectre.Console bars, one per phase, with the amount done (bytes and a rate for byte phases); they go to stdout
/// when stdout is the terminal (the command's result lines then go through <see cref="WriteLine"/>, above the bars),
/// else to stderr when that is the terminal. Otherwise (both redirected, or a test's own writers): plain lines on
/// stderr at each phase and each tenth, once the run has taken <see cref="PlainDelay"/>, so quick runs stay quiet and
/// logs stay readable. Reports may come from any thread.
/// </summary>
internal sealed class ToolProgress
{
    private const string BytesKey = "bytes";

    private readonly string _title;
    private readonly TextWriter _output;
    private readonly TextWriter? _plain;
    private readonly ProgressContext? _context;
    private readonly IAnsiConsole? _console;
    private readonly Lock _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Stopwatch _phaseClock = new();
    private ProgressTask? _task;
    private string? _phase;
    private int _tenth = -1;

    private ToolProgress(string title, TextWriter output, TextWriter? plain, ProgressContext? context, IAnsiConsole? console)
    {
        _title = title;
        _output = output;
        _plain = plain;
        _context = context;
        _console = console;
    }

    /// <summary>How long a run stays quiet before plain lines start (TL-7).</summary>
    internal static readonly TimeSpan DefaultPlainDelay = TimeSpan.FromSeconds(1);

    /// <summary>Plain lines start after this long, so quick runs stay quiet (test seam: tests set it).</summary>
    internal static TimeSpan PlainDelay { get; set; } = DefaultPlainDelay;

    /// <summary>Test seam: render bars on this console even when nothing is a terminal.</summary>
    internal static IAnsiConsole? TerminalOverride { get; set; }

    /// <summary>Runs <paramref name="body"/> with a progress sink (bars or plain lines, see the class).</summary>
    public static T Run<T>(ParseResult parse, string title, Func<ToolProgress, T> body)
    {
        TextWriter output = parse.InvocationConfiguration.Output;
        TextWriter error = parse.InvocationConfiguration.Error;
        (IAnsiConsole? terminal, bool onOutput) = Terminal(output, error);
        if (terminal is null)
        {
            return body(new ToolProgress(title, output, error, null, null));
        }
        return terminal.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 20 }, new PercentageColumn(), new AmountColumn(),
                new RemainingTimeColumn())
            .Start(ctx =>
            {
                var progress = new ToolProgress(title, output, null, ctx, onOutput ? terminal : null);
                T result = body(progress);
                progress.Complete();
                return result;
            });
    }

    /// <summary><see cref="Run{T}"/> without a result.</summary>
    public static void Run(ParseResult parse, string title, Action<ToolProgress> body) =>
        Run(parse, title, p =>
        {
            body(p);
            return 0;
        });

    /// <summary>The console to draw bars on and whether it is the command's stdout; null: plain lines.</summary>
    private static (IAnsiConsole? Console, bool OnOutput) Terminal(TextWriter output, TextWriter error)
    {
        if (TerminalOverride is { } test)
        {
            return (test, false);
        }
        if (Environment.GetEnvironmentVariable("TERM") == "dumb")
        {
            return (null, false);
        }
        if (ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected)
        {
            return (AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) }), true);
        }
        if (ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected)
        {
            return (AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }), false);
        }
        return (null, false);
    }

    /// <summary>Reports <paramref name="done"/> of <paramref name="total"/> items in <paramref name="phase"/> (a new phase starts a new bar).</summary>
    public void Report(string phase, long done, long total) => Update(phase, done, total, bytes: false);

    /// <summary>Reports <paramref name="done"/> of <paramref name="total"/> bytes in <paramref name="phase"/>: the amount and the rate show.</summary>
    public void ReportBytes(string phase, long done, long total) => Update(phase, done, total, bytes: true);

    /// <summary>A line of the command's output while progress shows: above the bars when they share stdout.</summary>
    public void WriteLine(string line)
    {
        lock (_gate)
        {
            if (_console is not null)
            {
                _console.Write(new Spectre.Console.Text(line + "\n"));
            }
            else
            {
                _output.WriteLine(line);
            }
        }
    }

    private void Update(string phase, long done, long total, bool bytes)
    {
        if (total <= 0)
        {
            return; // a phase with nothing to do shows no bar and no line (TL-7): no "100% (0 B of 0 B)"
        }
        lock (_gate)
        {
            done = Math.Clamp(done, 0, total);
            bool newPhase = _phase != phase;
            if (newPhase)
            {
                _phase = phase;
                _tenth = -1;
                _phaseClock.Restart();
            }
            if (_context is not null)
            {
                if (newPhase)
                {
                    FinishTask();
                    _task = _context.AddTask(Markup.Escape($"{_title}: {phase}"), maxValue: total);
                    _task.State.Update<bool>(BytesKey, _ => bytes);
                }
                _task!.MaxValue = total;
                _task.Value = done;
                return;
            }
            int tenth = (int)(done * 10 / total);
            if (tenth != _tenth && _clock.Elapsed >= PlainDelay)
            {
                _tenth = tenth;
                string amount = bytes
                    ? $"{Units.Bytes(done)} of {Units.Bytes(total)}, {Units.Seconds(_phaseClock.Elapsed)}, {Units.Rate(done, _phaseClock.Elapsed)}"
                    : string.Create(CultureInfo.InvariantCulture, $"{done:N0} of {total:N0}, {Units.Seconds(_phaseClock.Elapsed)}");
                _plain!.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_title}: {phase} {tenth * 10}% ({amount})"));
            }
        }
    }

    private void Complete()
    {
        lock (_gate)
        {
            FinishTask();
        }
    }

    private void FinishTask()
    {
        if (_task is not null)
        {
            _task.Value = _task.MaxValue;
            _task.StopTask();
        }
    }

    /// <summary>The amount done: <c>312.0 MiB/1.0 GiB 130 MiB/s</c> or <c>248.0/512.0 MiB 185 MiB/s</c> for bytes, <c>1,234/5,000</c> otherwise.</summary>
    private sealed class AmountColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            long done = (long)task.Value, total = (long)task.MaxValue;
            if (task.State.Get<bool>(BytesKey))
            {
                string rate = task.Speed is double s && !task.IsFinished ? " " + Units.Rate(s) : "";
                return new Spectre.Console.Text($"{Units.BytesOf(done, total)}{rate}", new Style(Color.Grey)) { Overflow = Overflow.Ellipsis };
            }
            return new Spectre.Console.Text(string.Create(CultureInfo.InvariantCulture, $"{done:N0}/{total:N0}"), new Style(Color.Grey));
        }
    }
}
