using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;

namespace Wendelin.Arrays.Tests;

/// <summary>
/// The whole process's memory, for the tests that bound it (spec/bigfile.md BF-3): resident set size and its peak
/// from <c>/proc/self/status</c>, with the peak mark reset before a measured phase and a sampling thread as a second
/// opinion where the reset is not allowed. <see cref="Release"/> gives back what earlier phases left (a full
/// compacting, decommitting GC, then glibc's <c>malloc_trim</c>) so that a baseline taken after it is not inflated
/// by a write phase that came before.
/// </summary>
internal static partial class ProcessMemory
{
    public const long MiB = 1 << 20;

    public static long Rss() => Status("VmRSS:");

    public static long Peak() => Status("VmHWM:");

    /// <summary>Collects everything collectable, returns the freed GC heap to the OS, trims the C heap.</summary>
    public static void Release()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc: nothing to trim
        }
    }

    /// <summary>Starts measuring: releases, takes the baseline RSS, resets the peak mark, starts sampling.</summary>
    public static Meter Start() => new();

    /// <summary>A measured phase: <see cref="Stop"/> gives the baseline and the peak RSS during the phase.</summary>
    internal sealed class Meter
    {
        private readonly Thread _sampler;
        private readonly bool _reset;
        private long _sampled;
        private volatile bool _stop;

        public Meter()
        {
            Release();
            Baseline = Rss();
            _reset = ResetPeak();
            _sampled = Baseline;
            _sampler = new Thread(() =>
            {
                while (!_stop)
                {
                    long r = Rss();
                    if (r > Volatile.Read(ref _sampled))
                    {
                        Volatile.Write(ref _sampled, r);
                    }
                    Thread.Sleep(1);
                }
            }) { IsBackground = true };
            _sampler.Start();
        }

        public long Baseline { get; }

        /// <summary>Peak RSS of the phase: the kernel's mark when it could be reset, and never less than what was sampled.</summary>
        public long PeakRss { get; private set; }

        public bool PeakMarkReset => _reset;

        public long Growth => PeakRss - Baseline;

        public Meter Stop()
        {
            _stop = true;
            _sampler.Join();
            long sampled = Math.Max(Volatile.Read(ref _sampled), Rss());
            PeakRss = _reset ? Math.Max(Peak(), sampled) : sampled;
            return this;
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"RSS {Baseline / MiB} MiB before, peak {PeakRss / MiB} MiB (+{Growth / MiB} MiB; peak mark reset: {_reset})");
    }

    private static long Status(string key)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    /// <summary>Resets the kernel's peak-RSS mark VmHWM (Linux: write 5 to /proc/self/clear_refs).</summary>
    private static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
