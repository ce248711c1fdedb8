using Wendelin.Arrays.BigFile;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;

namespace Wendelin.Arrays.Zodb;

/// <summary>
/// <c>wendelin.bigfile.file_zodb.ZBigFile</c>: a file of fixed-size blocks stored in ZODB (spec/zbigfile.md ZB-1,
/// ZB-2). Its state is the 2-tuple <c>(blksize, blktab)</c>, <c>blktab</c> an <c>LOBTree</c> from block number to
/// the block's <c>ZBlk0</c>/<c>ZBlk1</c> object; a missing block is a hole (zeros) and the file has no size.
/// <see cref="Open"/> gives a transactional <see cref="FileHandle"/> over it: its changed blocks are stored when the
/// connection's transaction commits and dropped when it aborts, and blocks other connections change are
/// invalidated at this connection's transaction boundaries (ZB-40..ZB-47).
/// Like upstream's <c>LivePersistent</c> it is never turned into a ghost by cache trimming.
/// </summary>
public sealed class ZBigFile : Persistent
{
    /// <summary>The block size of new files and arrays: 2 MiB, as upstream.</summary>
    public const int DefaultBlockSize = 2 << 20;

    private int _blockSize;
    private LOBTree? _blockTable;
    private ZBlkFormat? _format;
    private readonly List<ZBigFileHandle> _handles = [];

    /// <summary>A new, empty file of <paramref name="blockSize"/>-byte blocks (a positive multiple of the OS page size).</summary>
    public ZBigFile(int blockSize = DefaultBlockSize)
    {
        if (blockSize <= 0 || blockSize % Environment.SystemPageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize,
                $"the block size must be a positive multiple of the OS page size ({Environment.SystemPageSize})");
        }
        _blockSize = blockSize;
        _blockTable = new LOBTree();
    }

    /// <summary>For the type registry: an empty object that receives a loaded state.</summary>
    internal ZBigFile()
    {
    }

    /// <summary>Block size in bytes (<c>blksize</c>).</summary>
    public int BlockSize => Get(ref _blockSize);

    /// <summary>
    /// The format changed blocks are written in (not stored: a property of this object in memory, like upstream's
    /// process-wide setting). Defaults to <see cref="ZBlkFormats.Default"/>.
    /// </summary>
    public ZBlkFormat BlockFormat
    {
        get => _format ??= ZBlkFormats.Default;
        set
        {
            if (value is not (ZBlkFormat.ZBlk0 or ZBlkFormat.ZBlk1 or ZBlkFormat.Auto))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "not a ZBlk format");
            }
            _format = value;
        }
    }

    /// <summary>The block table (<c>blktab</c>): block number → ZBlk object.</summary>
    internal LOBTree BlockTable
    {
        get
        {
            ReadAccess();
            return _blockTable ?? throw new InvalidOperationException("the ZBigFile has no block table");
        }
    }

    /// <summary>
    /// The blocks present in the block table, ascending, with the Python class of each block object
    /// (<c>ZBlk0</c>, <c>ZBlk1</c>, the legacy <c>ZBlk</c> reads as ZBlk0; another class is named as recorded).
    /// Missing blocks are holes. The block objects are not loaded.
    /// </summary>
    public IEnumerable<(long Block, string Format)> Blocks()
    {
        foreach (KeyValuePair<long, object?> kv in BlockTable)
        {
            yield return (kv.Key, kv.Value switch
            {
                ZBlk0 => "ZBlk0",
                ZBlk1 => "ZBlk1",
                GenericPersistent g => g.ClassName,
                _ => kv.Value?.GetType().Name ?? "None",
            });
        }
    }

    /// <summary>Size of the file as WCFS computes it: (largest block number + 1) × block size; 0 when empty.</summary>
    public long StoredSize
    {
        get
        {
            LOBTree t = BlockTable;
            return t.Count == 0 ? 0 : checked((t.MaxKey() + 1) * BlockSize);
        }
    }

    protected override bool KeepInCache => true;

    /// <summary>
    /// Opens a transactional handle on this file in its connection (upstream <c>fileh_open</c>): views of it are
    /// real memory; changes are stored as ZBlk objects in <see cref="BlockFormat"/> when the connection's
    /// transaction commits and discarded when it aborts (ZB-40). The file must belong to a connection (added or
    /// loaded). Dispose the handle when done; closing the connection for good disposes it too.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file is not attached to a connection.</exception>
    public FileHandle Open(FileHandleOptions? options = null)
    {
        Connection conn = PersistentConnection
            ?? throw new InvalidOperationException("the ZBigFile is not attached to a connection: add it (Connection.Add) or commit it first");
        ReadAccess();
        var glue = new ZBigFileHandle(this, conn, options);
        lock (_handles)
        {
            _handles.Add(glue);
        }
        return glue.Handle;
    }

    internal void Forget(ZBigFileHandle handle)
    {
        lock (_handles)
        {
            _handles.Remove(handle);
        }
    }

    /// <summary>The handles open on this file (for tests and tools).</summary>
    internal ZBigFileHandle[] OpenHandles()
    {
        lock (_handles)
        {
            return [.. _handles];
        }
    }

    protected override object? GetState() => PyTuple.Own([(long)_blockSize, _blockTable]);

    protected override void SetState(object? state)
    {
        if (state is not PyTuple { Count: 2 } t)
        {
            throw new FormatException($"a ZBigFile state is the tuple (blksize, blktab), not {PythonValues.TypeName(state)}");
        }
        long blockSize = t[0] switch
        {
            long l => l,
            System.Numerics.BigInteger b when b >= 0 && b <= int.MaxValue => (long)b,
            _ => throw new FormatException($"ZBigFile blksize is {PythonValues.Repr(t[0])}, not an int"),
        };
        if (blockSize <= 0 || blockSize > int.MaxValue)
        {
            throw new FormatException($"ZBigFile blksize {blockSize} is not a positive 32-bit size");
        }
        _blockSize = (int)blockSize;
        _blockTable = t[1] as LOBTree
            ?? throw new FormatException($"ZBigFile blktab is {PythonValues.TypeName(t[1])}, not an LOBTree");
    }

    protected override void ClearState()
    {
        _blockSize = 0;
        _blockTable = null;
    }
}
