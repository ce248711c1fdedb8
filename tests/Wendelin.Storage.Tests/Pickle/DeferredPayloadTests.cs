using FsCheck;
using FsCheck.Fluent;
using Wendelin.Storage.Pickle;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pickle;

/// <summary>
/// spec/pickle.md PK-39a: a record written with its first large bytes payload left out is, with the payload put
/// back where the writer says, exactly the record written whole.
/// </summary>
public sealed class DeferredPayloadTests(ITestOutputHelper output)
{
    private static byte[] Assemble(ReadOnlySpan<byte> written, long at, ReadOnlyMemory<byte> payload) =>
        at < 0 ? written.ToArray() : [.. written[..(int)at], .. payload.Span, .. written[(int)at..]];

    [Fact]
    public void A_record_with_its_payload_put_back_is_the_whole_record()
    {
        int seed = PickleGen.Seed(output, nameof(A_record_with_its_payload_put_back_is_the_whole_record));
        Gen<int> thresholds = Gen.Elements(1, 2, 3, 8, 100, 256, 300);
        Check.One(PickleGen.Config(seed, 300), Prop.ForAll(PickleGen.Arbitrary, PickleGen.Globals.ToArbitrary(), thresholds.ToArbitrary(), (state, cls, from) =>
        {
            byte[] whole = ZodbPickle.WriteRecord(cls, state);
            using var buffer = new PooledBufferWriter(64);
            ZodbPickle.WriteRecord(buffer, cls, state, from, out long at, out ReadOnlyMemory<byte> payload);
            bool sized = at < 0 || payload.Length >= from;
            return sized && whole.AsSpan().SequenceEqual(Assemble(buffer.WrittenSpan, at, payload));
        }));
    }

    [Fact]
    public void Only_the_first_large_payload_is_left_out_and_small_ones_stay()
    {
        byte[] big = [.. Enumerable.Range(0, 1000).Select(i => (byte)i)];
        byte[] other = [.. Enumerable.Range(0, 2000).Select(i => (byte)(i * 7))];
        var state = new PickleTuple(new PickleBytes(new byte[] { 1, 2, 3 }), new PickleBytes(big), new PickleByteString(other));
        var cls = new PickleGlobal("wendelin.bigfile.file_zodb", "ZBlk0");
        using var buffer = new PooledBufferWriter(64);
        ZodbPickle.WriteRecord(buffer, cls, state, 1000, out long at, out ReadOnlyMemory<byte> payload);
        Assert.True(at > 0);
        Assert.Equal(big, payload.ToArray());
        Assert.Equal(ZodbPickle.WriteRecord(cls, state).Length - big.Length, buffer.WrittenSpan.Length); // the 2000 bytes are in
        Assert.Equal(ZodbPickle.WriteRecord(cls, state), Assemble(buffer.WrittenSpan, at, payload));

        using var none = new PooledBufferWriter(64);
        ZodbPickle.WriteRecord(none, cls, state, 5000, out long nothing, out _);
        Assert.Equal(-1, nothing);
        Assert.Equal(ZodbPickle.WriteRecord(cls, state), none.WrittenSpan.ToArray());
    }
}
