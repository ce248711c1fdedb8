using Wendelin.Storage;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;
using Wendelin.Storage.Pickle;

namespace Wendelin.Arrays.Zodb;

/// <summary>
/// Where a block object being stored takes its bytes from when the connection pickles it: the dirty page of the
/// handle that stores it (ZB-30). The bytes are produced at that moment into one buffer of the source, reused for
/// the next object, so a commit of many dirty blocks never holds more than one block's payload in memory
/// (upstream drops its copy right after pickling too).
/// </summary>
internal interface IStoreSource
{
    /// <summary>
    /// The <paramref name="length"/> bytes at <paramref name="offset"/> of block <paramref name="block"/>, trailing
    /// zeros stripped, in the source's buffer: valid until the next call or the end of the store.
    /// </summary>
    ReadOnlyMemory<byte> ReadStripped(long block, int offset, int length);
}

/// <summary>Common base of the block objects (upstream's ZBlkBase).</summary>
internal abstract class ZBlkBase : Persistent
{
}

/// <summary>
/// <c>wendelin.bigfile.file_zodb.ZBlk0</c> (also read under the legacy name <c>ZBlk</c>): the whole block as one
/// bare byte string with trailing zeros stripped (ZB-3). A Python-2 <c>str</c> payload reads as bytes.
/// </summary>
internal sealed class ZBlk0 : ZBlkBase
{
    private ReadOnlyMemory<byte> _data;
    private IStoreSource? _source;
    private long _sourceBlock;
    private int _sourceLength;

    /// <summary>The stored bytes (trailing zeros stripped; shorter than a block).</summary>
    public ReadOnlyMemory<byte> Data
    {
        get
        {
            ReadAccess();
            return _source is null ? _data : _source.ReadStripped(_sourceBlock, 0, _sourceLength).ToArray();
        }
    }

    /// <summary>
    /// Marks the block changed with its bytes to be taken from <paramref name="source"/> when pickled. A ghost whose
    /// current revision the caller knows (<paramref name="knownSerial"/>) is not loaded first: its whole state is
    /// replaced anyway (ZB-30).
    /// </summary>
    internal void StoreFrom(IStoreSource source, long block, int blockSize, Tid? knownSerial = null)
    {
        if (knownSerial is { } serial && PersistentState == PersistentState.Ghost)
        {
            PersistentConnection?.AdoptGhostAt(this, serial);
        }
        WriteAccess();
        _source = source;
        _sourceBlock = block;
        _sourceLength = blockSize;
        _data = default;
    }

    /// <summary>The store this object was part of ended: it no longer reads the handle's pages.</summary>
    internal void DropSource() => _source = null;

    // the payload goes to the pickler as it is (no copy): bytes of the loaded state, or the source's buffer
    protected override object? GetState() =>
        new PickleBytes(_source is null ? _data : _source.ReadStripped(_sourceBlock, 0, _sourceLength));

    protected override void SetState(object? state)
    {
        _source = null;
        _data = ZodbBytes.Of(state, "ZBlk0 state");
    }

    protected override void ClearState()
    {
        _source = null;
        _data = default;
    }
}

/// <summary>
/// <c>wendelin.bigfile.file_zodb.ZBlk1</c>: a bare reference to an <c>IOBTree</c> (the chunk table) mapping byte
/// offsets in the block to <see cref="ZData"/> chunks (ZB-4, ZB-5).
/// </summary>
internal sealed class ZBlk1 : ZBlkBase
{
    private IOBTree? _chunks;

    /// <summary>The chunk table; created empty for a new block.</summary>
    public IOBTree ChunkTable
    {
        get
        {
            ReadAccess();
            if (_chunks is null)
            {
                WriteAccess();
                _chunks = new IOBTree();
            }
            return _chunks;
        }
    }

    internal IOBTree? ChunkTableOrNull
    {
        get
        {
            ReadAccess();
            return _chunks;
        }
    }

    protected override object? GetState() => _chunks;

    protected override void SetState(object? state) => _chunks = state switch
    {
        null => null,
        IOBTree t => t,
        _ => throw new FormatException($"a ZBlk1 state is a reference to an IOBTree, not {PythonValues.TypeName(state)}"),
    };

    protected override void ClearState() => _chunks = null;
}

/// <summary><c>wendelin.bigfile.file_zodb.ZData</c>: one chunk of a ZBlk1 block as a bare byte string, trailing zeros stripped.</summary>
internal sealed class ZData : Persistent
{
    private ReadOnlyMemory<byte> _data;
    private IStoreSource? _source;
    private long _sourceBlock;
    private int _sourceOffset;
    private int _sourceLength;

    public ReadOnlyMemory<byte> Data
    {
        get
        {
            ReadAccess();
            return _source is null ? _data : _source.ReadStripped(_sourceBlock, _sourceOffset, _sourceLength).ToArray();
        }
    }

    /// <summary>Marks the chunk changed, its bytes taken from <paramref name="source"/> when pickled.</summary>
    internal void StoreFrom(IStoreSource source, long block, int offset, int length)
    {
        WriteAccess();
        _source = source;
        _sourceBlock = block;
        _sourceOffset = offset;
        _sourceLength = length;
        _data = default;
    }

    /// <summary>The store this object was part of ended: it no longer reads the handle's pages.</summary>
    internal void DropSource() => _source = null;

    /// <summary>Where the bytes of the store in progress come from: block and offset in it (valid until <see cref="DropSource"/>).</summary>
    internal (long Block, int Offset)? Source => _source is null ? null : (_sourceBlock, _sourceOffset);

    protected override object? GetState() =>
        new PickleBytes(_source is null ? _data : _source.ReadStripped(_sourceBlock, _sourceOffset, _sourceLength));

    protected override void SetState(object? state)
    {
        _source = null;
        _data = ZodbBytes.Of(state, "ZData state");
    }

    protected override void ClearState()
    {
        _source = null;
        _data = default;
    }
}

/// <summary>Byte payloads as the object layer hands them over: Python-3 bytes, or a Python-2 str kept as its bytes.</summary>
internal static class ZodbBytes
{
    public static ReadOnlyMemory<byte> Of(object? state, string what) => state switch
    {
        byte[] b => b,
        PickleByteString s => s.Value,
        PickleBytes b => b.Value,
        _ => throw new FormatException($"{what} must be bytes, not {PythonValues.TypeName(state)}"),
    };
}
