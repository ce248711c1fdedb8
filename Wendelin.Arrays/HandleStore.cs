using System.Runtime.InteropServices;
using Wendelin.Arrays.BigFile;

namespace Wendelin.Arrays;

/// <summary>The array store over a paging <see cref="FileHandle"/> (AR-21): views are FileViews, windows ViewWindows.</summary>
internal sealed class HandleStore(FileHandle handle) : ArrayStore
{
    public FileHandle Handle => handle;

    public override int BlockSize => handle.BlockSize;

    public override long RamBudget => handle.RamBudget;

    public override long ResidentLimit => handle.ResidentViewLimit;

    public override object Identity => handle;

    public override ArrayMapping Map(long offset, long length) => new Mapping(handle.Map(offset, length));

    public override void Prefetch(long offset, long length)
    {
        // a hint: a failed prefetch surfaces again when the block is really loaded
        Task t = handle.Prefetch(offset, length);
        if (!t.IsCompleted)
        {
            t.ContinueWith(static x => _ = x.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        else if (t.IsFaulted)
        {
            _ = t.Exception;
        }
    }

    public override bool HasDirectRead => true;

    public override void Read(long offset, Span<byte> destination) => handle.Read(offset, destination);

    public override bool HasDirectWrite => true;

    public override void Write(long offset, ReadOnlySpan<byte> source) => handle.Write(offset, source);

    /// <summary>A read-only scan without views (spec/bigfile.md BF-50): no chunks are mapped, nothing enters the cache.</summary>
    public override void Scan<TSink>(long offset, long length, int itemSize, long chunkBytes, long lookaheadBytes, ref TSink sink)
    {
        using BlockScan scan = handle.Scan(offset, length);
        while (scan.MoveNext())
        {
            if (scan.IsZero)
            {
                sink.AddZeros(scan.Current.Length);
            }
            else
            {
                sink.Add(scan.Current);
            }
        }
    }

    private sealed class Mapping(FileView view) : ArrayMapping(view.Offset, view.Length)
    {
        public override bool IsResident => view.IsResident;

        // the whole mapping is contiguous memory; a span can cover at most 2 GiB of it, so only its first byte is taken
        public override ref byte Start => ref MemoryMarshal.GetReference(view.GetSpan(0, (int)Math.Min(view.Length, int.MaxValue)));

        public override ArrayWindow Acquire(long offset, long length) => new Window(view.Acquire(offset, length));

        public override void Dispose() => view.Dispose();
    }

    private sealed class Window(ViewWindow window) : ArrayWindow
    {
        public override long Offset => window.Offset;

        public override ref byte Start => ref MemoryMarshal.GetReference(window.GetSpan(0, (int)Math.Min(window.Length, int.MaxValue)));

        public override void Dispose() => window.Dispose();
    }
}
