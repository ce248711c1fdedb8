using Wendelin.Storage.Pickle;

namespace Wendelin.Benchmarks;

/// <summary>
/// Decoding a ZBlk0 record of a full 2 MiB block (spec/pickle.md PK-12: the block bytes are a slice of the record
/// buffer, not a copy), against a plain copy of the same record bytes in the same run. Also shown: decode plus
/// copying the block out (what a page fill does), and encoding the record.
/// </summary>
internal static class PickleZblk0Benchmark
{
    [Benchmark("pickle-zblk0", "decode a 2 MiB ZBlk0 record vs a plain copy of its bytes (also decode+copy-out, encode)")]
    public static int Run(BenchArgs args)
    {
        int blockSize = args.Int("blksize", 2 << 20);
        int iterations = args.Int("iterations", 200);
        byte[] block = new byte[blockSize];
        new Random(42).NextBytes(block);
        block[^1] = 1; // a full block: nothing to strip
        var cls = new PickleGlobal("wendelin.bigfile.file_zodb", "ZBlk0");
        byte[] record = ZodbPickle.WriteRecord(cls, new PickleBytes(block));
        byte[] copy = new byte[record.Length];
        byte[] page = new byte[blockSize];
        Console.WriteLine($"ZBlk0 record: {record.Length} bytes ({blockSize} block bytes), {iterations} iterations per run, {args.Runs} runs");

        long sink = 0;
        var h = new Harness(args.Runs);
        Samples decode = h.Measure("ZodbRecord.Read + state bytes", () =>
        {
            for (int i = 0; i < iterations; i++)
            {
                ZodbRecord r = ZodbRecord.Read(record);
                sink += r.State.AsBytes().Length;
            }
        });
        Samples baseline = h.Measure("plain copy of the record bytes", () =>
        {
            for (int i = 0; i < iterations; i++)
            {
                record.AsSpan().CopyTo(copy);
                sink += copy[i % copy.Length];
            }
        });
        Samples decodeCopy = h.Measure("decode + copy block into a page buffer", () =>
        {
            for (int i = 0; i < iterations; i++)
            {
                ZodbRecord r = ZodbRecord.Read(record);
                r.State.AsBytes().Span.CopyTo(page);
                sink += page[i % page.Length];
            }
        });
        var blockValue = new PickleBytes(block);
        Samples encode = h.Measure("ZodbPickle.WriteRecord (encode)", () =>
        {
            for (int i = 0; i < iterations; i++)
            {
                sink += ZodbPickle.WriteRecord(cls, blockValue).Length;
            }
        });
        var reused = new System.Buffers.ArrayBufferWriter<byte>(record.Length + 1024);
        Samples encodeInto = h.Measure("WriteRecord into a reused IBufferWriter", () =>
        {
            for (int i = 0; i < iterations; i++)
            {
                reused.ResetWrittenCount();
                sink += ZodbPickle.WriteRecord(reused, cls, blockValue);
            }
        });
        double bytes = (double)record.Length * iterations;
        Harness.Report(decode, baseline, bytes, "B");
        Harness.Report(decodeCopy, baseline, bytes, "B");
        Harness.Report(encode, baseline, bytes, "B");
        Harness.Report(encodeInto, baseline, bytes, "B");
        GC.KeepAlive(sink);
        return 0;
    }
}
