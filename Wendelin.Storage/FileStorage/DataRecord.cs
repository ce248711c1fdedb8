using System.Globalization;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Fs;

/// <summary>
/// One data record: its header fields, the backpointer when it has no payload, and (ZODB's <c>data_txn</c>) the
/// tid of the record that backpointer points to directly. <see cref="ReadData"/> reads the payload, following
/// backpointers.
/// </summary>
public sealed class DataRecord
{
    private readonly FileStorage _storage;
    private readonly ReadOnlyMemory<byte> _payload;

    internal DataRecord(FileStorage storage, IStorageFile file, Oid oid, Tid tid, long position, long prev, long tloc, ulong dataLength,
        long? backPointer, Tid? dataTxn, long end, ReadOnlyMemory<byte> payload)
    {
        _storage = storage;
        File = file;
        _payload = payload;
        Oid = oid;
        Tid = tid;
        Position = position;
        Prev = prev;
        Tloc = tloc;
        DataLength = dataLength;
        BackPointer = backPointer;
        DataTxn = dataTxn;
        End = end;
    }

    public Oid Oid { get; }

    public Tid Tid { get; }

    public long Position { get; }

    /// <summary>Position of the object's previous record, 0 if none.</summary>
    public long Prev { get; }

    /// <summary>Position of the enclosing transaction.</summary>
    public long Tloc { get; }

    /// <summary>plen: the stored payload length (0 for a backpointer record).</summary>
    public ulong DataLength { get; }

    /// <summary>The backpointer when the record has no payload (0 = no data: deletion or creation undone), else null.</summary>
    public long? BackPointer { get; }

    /// <summary>For a backpointer record, the tid of the record it points to; else null.</summary>
    public Tid? DataTxn { get; }

    /// <summary>True when this revision has no data (null backpointer: deleted, or its creation undone).</summary>
    public bool IsDeletion => BackPointer == 0;

    internal long End { get; }

    /// <summary>The data file this record was read from (a pack may replace the storage's file meanwhile).</summary>
    internal IStorageFile File { get; }

    /// <summary>
    /// The revision's payload, following backpointers; null when it has none (deletion, creation undone). For a
    /// record of a transaction the iterator read whole this is a slice of its bytes, without I/O.
    /// </summary>
    public ReadOnlyMemory<byte>? ReadData()
    {
        if (DataLength > 0 && _payload.Length == (long)DataLength)
        {
            return _payload;
        }
        return _storage.ReadRecordData(this);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"record {Oid} {Tid} at {Position} plen {DataLength}");
}
