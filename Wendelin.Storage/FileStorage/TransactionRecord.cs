using System.Globalization;
using System.Text;
using Wendelin.Storage.Format;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Fs;

/// <summary>
/// One committed transaction as the iterator found it: header fields, metadata bytes as stored, and its data
/// records (read when <see cref="Records"/> is first used; the list can be enumerated any number of times).
/// </summary>
public sealed class TransactionRecord
{
    private readonly FileStorage _storage;
    private readonly long[] _recordPositions;
    private readonly long _end;
    private readonly ReadOnlyMemory<byte>[] _recordBytes;
    private IReadOnlyList<DataRecord>? _records;

    internal TransactionRecord(FileStorage storage, IStorageFile file, TxnHeader header, long position, ReadOnlyMemory<byte> metadata,
        long[] recordPositions, ReadOnlyMemory<byte>[] recordBytes, long end)
    {
        _storage = storage;
        File = file;
        _recordPositions = recordPositions;
        _end = end;
        _recordBytes = recordBytes; // per record: its bytes (header to end) when in memory, else empty
        Tid = header.Tid;
        Status = header.Status;
        Position = position;
        Length = header.Length;
        HeaderLength = header.HeaderLength;
        User = metadata[..header.UserLength];
        Description = metadata.Slice(header.UserLength, header.DescriptionLength);
        ExtensionBytes = metadata.Slice(header.UserLength + header.DescriptionLength, header.ExtensionLength);
    }

    public Tid Tid { get; }

    /// <summary>The data file this record was read from (a pack may replace the storage's file meanwhile).</summary>
    internal IStorageFile File { get; }

    public TransactionStatus Status { get; }

    /// <summary>Position of the transaction header.</summary>
    public long Position { get; }

    /// <summary>tlen: the length without the 8-byte trailer.</summary>
    public ulong Length { get; }

    /// <summary>hlen: header plus metadata; the first record starts at <see cref="Position"/> + this.</summary>
    public int HeaderLength { get; }

    public ReadOnlyMemory<byte> User { get; }

    public ReadOnlyMemory<byte> Description { get; }

    /// <summary>The extension exactly as stored: a pickled dict, or empty.</summary>
    public ReadOnlyMemory<byte> ExtensionBytes { get; }

    /// <summary>The bytes of the data records, <c>[Position + HeaderLength, Position + Length)</c>.</summary>
    public byte[] ReadRecordArea() => _storage.ReadRecordArea(this);

    /// <summary>The extension dict (<see cref="Pickle.PickleException"/> when its bytes are not a pickled dict).</summary>
    public Pickle.PickleDict ReadExtension() => Pickle.ZodbPickle.ReadExtension(ExtensionBytes);

    /// <summary><see cref="User"/> as UTF-8 text (invalid sequences replaced).</summary>
    public string UserText => Encoding.UTF8.GetString(User.Span);

    /// <summary><see cref="Description"/> as UTF-8 text (invalid sequences replaced).</summary>
    public string DescriptionText => Encoding.UTF8.GetString(Description.Span);

    /// <summary>Positions of the data records, in file order.</summary>
    public IReadOnlyList<long> RecordPositions => _recordPositions;

    /// <summary>The data records in file order.</summary>
    public IReadOnlyList<DataRecord> Records
    {
        get
        {
            IReadOnlyList<DataRecord>? r = _records;
            if (r is null)
            {
                var list = new DataRecord[_recordPositions.Length];
                for (int i = 0; i < list.Length; i++)
                {
                    list[i] = _storage.ReadRecord(File, _recordPositions[i], Position, _end, _recordBytes[i]);
                }
                _records = r = list;
            }
            return r;
        }
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"transaction {Tid} at {Position} ({_recordPositions.Length} records)");
}
