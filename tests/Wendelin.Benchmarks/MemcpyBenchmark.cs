namespace Wendelin.Benchmarks;

/// <summary>Sanity benchmark of the harness itself: a span copy against Buffer.MemoryCopy of the same bytes.</summary>
internal static class MemcpyBenchmark
{
    [Benchmark("memcpy", "harness self-check: Span.CopyTo vs Buffer.MemoryCopy of 256 MiB")]
    public static unsafe int Run(BenchArgs args)
    {
        long size = args.Long("bytes", 256L << 20);
        byte[] src = new byte[size], dst = new byte[size];
        Random.Shared.NextBytes(src);
        var h = new Harness(args.Runs);
        Samples copy = h.Measure("Span<byte>.CopyTo", () => src.AsSpan().CopyTo(dst));
        Samples baseline = h.Measure("Buffer.MemoryCopy", () =>
        {
            fixed (byte* s = src, d = dst)
            {
                Buffer.MemoryCopy(s, d, size, size);
            }
        });
        Harness.Report(copy, baseline, size, "B");
        return 0;
    }
}
