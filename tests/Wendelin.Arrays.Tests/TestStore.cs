namespace Wendelin.Arrays.Tests;

/// <summary>
/// A store over one pinned byte array (tests only): every mapping addresses the same bytes, so views alias;
/// mappings longer than <see cref="ResidentLimit"/> are windowed and reached through Acquire, which lets tests
/// run the windowed code paths on small arrays.
/// </summary>
internal sealed class TestStore : ArrayStore
{
    private readonly byte[] _bytes;

    public TestStore(long capacity, int blockSize = 4096, long residentLimit = long.MaxValue, long ramBudget = 1L << 30)
    {
        RamBudget = ramBudget;
        _bytes = GC.AllocateArray<byte>((int)capacity, pinned: true);
        BlockSize = blockSize;
        ResidentLimit = residentLimit;
    }

    public byte[] Bytes => _bytes;

    public int Maps { get; private set; }

    public int Prefetches { get; private set; }

    public int LiveMappings { get; private set; }

    /// <summary>When set, Map throws IOException (a failing block load) once this many more maps succeeded.</summary>
    public int? FailAfterMaps { get; set; }

    public override int BlockSize { get; }

    public override long RamBudget { get; }

    /// <summary>Every Map and Prefetch in order: (kind, offset, length).</summary>
    public List<(string Kind, long Offset, long Length)> Events { get; } = [];

    public override long ResidentLimit { get; }

    public override object Identity => this;

    public override ArrayMapping Map(long offset, long length)
    {
        if (offset < 0 || length < 1 || offset + length > _bytes.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"{offset}+{length} outside the test store");
        }
        if (FailAfterMaps is int left)
        {
            if (left <= 0)
            {
                throw new IOException("test store: injected map failure");
            }
            FailAfterMaps = left - 1;
        }
        Maps++;
        LiveMappings++;
        Events.Add(("map", offset, length));
        return new Mapping(this, offset, length, length <= ResidentLimit);
    }

    /// <summary>When set, the store offers direct writes (as a file handle's store does, BF-55), recorded as "write" events.</summary>
    public bool DirectWrites { get; init; }

    public override bool HasDirectWrite => DirectWrites;

    public override void Write(long offset, ReadOnlySpan<byte> source)
    {
        if (!DirectWrites)
        {
            base.Write(offset, source);
            return;
        }
        if (offset < 0 || offset + source.Length > _bytes.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"{offset}+{source.Length} outside the test store");
        }
        Events.Add(("write", offset, source.Length));
        source.CopyTo(_bytes.AsSpan((int)offset));
    }

    public override void Prefetch(long offset, long length)
    {
        Prefetches++;
        Events.Add(("prefetch", offset, length));
    }

    private sealed class Mapping(TestStore store, long offset, long length, bool resident) : ArrayMapping(offset, length)
    {
        private bool _disposed;

        public override bool IsResident => resident;

        public override ref byte Start
        {
            get
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (!resident)
                {
                    throw new InvalidOperationException("windowed test mapping touched without a window");
                }
                return ref store._bytes[FileOffset];
            }
        }

        public override ArrayWindow Acquire(long offset, long length)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (offset < 0 || length < 0 || offset + length > Length)
            {
                throw new ArgumentOutOfRangeException(nameof(offset));
            }
            return new Window(store, FileOffset + offset, offset);
        }

        public override void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                store.LiveMappings--;
            }
        }
    }

    private sealed class Window(TestStore store, long fileOffset, long offset) : ArrayWindow
    {
        public override long Offset => offset;

        public override ref byte Start => ref store._bytes[fileOffset];

        public override void Dispose()
        {
        }
    }
}
