using System.Collections.Concurrent;
using System.Globalization;
using Wendelin.Storage.Format;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Fs;

// Reading part of a payload (spec/filestorage.md FS-L10): where a revision's payload lies, found once and kept per
// record position, then positional reads of any range of it. For readers of large records that need a few bytes
// of them (an element of a 2 MiB array block) or want the bytes in a buffer of their own (a scan's ring).
public sealed partial class FileStorage
{
    /// <summary>
    /// Where the payload of <paramref name="oid"/>'s revision current just before <paramref name="before"/> lies
    /// (FS-L10): the same walk and the same checks as <see cref="LoadBefore(Oid, Tid)"/> (FS-L3, following
    /// backpointers, FS-5), without reading the payload. False when the object did not exist before
    /// <paramref name="before"/>; <see cref="PosKeyException"/> for an unknown oid or when that revision is a
    /// deletion. What the walk learns of each record is kept per record position (committed records never change),
    /// so locating the same revision again reads nothing. When this call reads the record, the payload's first
    /// bytes come with the header into <paramref name="head"/> (<paramref name="headLength"/> of them; 0 when the
    /// record was known, or is reached through a backpointer). With <paramref name="remember"/> false what this call
    /// reads is not kept (for the many small records a reader reads whole anyway, which would crowd out the others).
    /// </summary>
    internal bool TryLocateBefore(Oid oid, Tid before, out PayloadLocation location, Span<byte> head, out int headLength, bool remember = true)
    {
        ThrowIfUnusable();
        long pos, end;
        IStorageFile file;
        RecordCache records;
        _state.EnterReadLock();
        try
        {
            end = _end;
            file = _file;
            records = _records;
            if (!_index.TryGet(oid, out pos))
            {
                throw new PosKeyException(oid);
            }
        }
        finally
        {
            _state.ExitReadLock();
        }
        headLength = 0;
        Tid? next = null;
        RecordFacts r = Facts(file, remember ? records : null, pos, end, oid, head, ref headLength);
        while (r.Tid >= before)
        {
            next = r.Tid;
            headLength = 0;
            if (r.Prev == 0)
            {
                location = default;
                return false; // FS-L3: the object did not exist before `before`
            }
            RecordFacts p = Facts(file, remember ? records : null, r.Prev, end, oid, head, ref headLength);
            if (p.Tid >= r.Tid)
            {
                throw Corrupt(new FormatError(RecordKind.DataHeader, pos, "prev names an older revision",
                    $"prev record at {r.Prev} has tid {p.Tid}, not before {r.Tid}"));
            }
            pos = r.Prev;
            r = p;
        }
        if (r.PayloadPosition < 0)
        {
            throw new PosKeyException(oid, string.Create(CultureInfo.InvariantCulture, $"deleted or its creation undone as of {r.Tid}"));
        }
        location = new PayloadLocation(oid, r.Tid, next, r.PayloadPosition, r.PayloadLength, r.PayloadRecord, file);
        return true;
    }

    /// <summary>True while <paramref name="file"/> (a <see cref="PayloadLocation.File"/>) is the data file reads use now (no pack replaced it).</summary>
    internal bool IsCurrentFile(object? file) => file is not null && ReferenceEquals(Volatile.Read(ref _file), file);

    /// <summary>
    /// A location of <paramref name="length"/> bytes at <paramref name="position"/> of <paramref name="file"/> (one
    /// <see cref="IsCurrentFile"/> accepted), for <see cref="ReadPayload"/>: bytes a caller found earlier through
    /// <see cref="TryLocateBefore"/> and kept.
    /// </summary>
    internal static PayloadLocation LocationIn(object file, Oid oid, long position, int length) =>
        new(oid, Tid.Zero, null, position, length, position, (IStorageFile)file);

    /// <summary>
    /// Copies payload bytes [<paramref name="offset"/>, offset + destination.Length) of a located revision into
    /// <paramref name="destination"/>, cut at the payload's end: returns how many were copied. One positional read
    /// of the data file the location was found in (after a pack, the file it replaced).
    /// </summary>
    internal int ReadPayload(in PayloadLocation location, long offset, Span<byte> destination)
    {
        if (location.File is null || offset < 0 || offset > location.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), string.Create(CultureInfo.InvariantCulture,
                $"offset {offset} is outside the payload of {location.Length} bytes"));
        }
        int n = (int)Math.Min(destination.Length, location.Length - offset);
        if (n > 0 && location.File.ReadAt(location.Position + offset, destination[..n]) < n)
        {
            throw Corrupt(new FormatError(RecordKind.DataHeader, location.RecordPosition, "payload fits", "file ends inside the payload"));
        }
        return n;
    }

    /// <summary>
    /// A hint (FS-L11) that the current records of <paramref name="oids"/> will be read soon: for each, the data file's
    /// bytes [record position, + <paramref name="length"/>) as the index gives it, in file order (a range that
    /// starts shortly after the previous one's end joins it), are handed to the file to read in the
    /// background. Nothing is read or checked here (an oid not in the
    /// index is skipped; a reader at an older tid may want other records: the hint is then only wasted), and what
    /// reads return is unchanged.
    /// </summary>
    internal void WillNeedCurrent(ReadOnlySpan<Oid> oids, long length)
    {
        if (oids.IsEmpty || length <= 0 || oids.Length > MaxHintRecords)
        {
            return;
        }
        Span<long> positions = stackalloc long[oids.Length];
        int n = 0;
        IStorageFile file;
        _state.EnterReadLock();
        try
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return;
            }
            file = _file;
            foreach (Oid oid in oids)
            {
                if (_index.TryGet(oid, out long pos))
                {
                    positions[n++] = pos;
                }
            }
        }
        finally
        {
            _state.ExitReadLock();
        }
        // in file order, so each run of records is read forward (the kernel's read-ahead then builds large folios);
        // a record that follows the range before it closely joins it
        positions = positions[..n];
        positions.Sort();
        for (int i = 0; i < positions.Length;)
        {
            long from = positions[i], to = from + length;
            for (i++; i < positions.Length && positions[i] >= from && positions[i] <= to + HintGap; i++)
            {
                to = Math.Max(to, positions[i] + length);
            }
            file.WillNeed(from, to - from);
        }
    }

    /// <summary>Records one <see cref="WillNeedCurrent"/> call hints at most.</summary>
    internal const int MaxHintRecords = 256;

    /// <summary>Hinted ranges this close are merged into one (the bytes between them are read too).</summary>
    private const long HintGap = 64 << 10;

    /// <summary>What a read of the record at <paramref name="pos"/> finds (or found before).</summary>
    private RecordFacts Facts(IStorageFile file, RecordCache? records, long pos, long end, Oid oid, Span<byte> head, ref int headLength)
    {
        if (records is not null && records.TryGet(pos, out RecordFacts known) && known.Oid == oid)
        {
            return known;
        }
        Span<byte> buffer = stackalloc byte[DataHeader.Size + Math.Min(head.Length, MaxHeadBytes)];
        DataHeader h = ReadDataHeader(file, pos, end, oid, buffer, out int got);
        long payloadRecord = pos;
        DataHeader target = h;
        if (h.IsBackPointer)
        {
            long at = pos;
            while (target.IsBackPointer)
            {
                long back = ReadBackPointer(file, at);
                if (back == 0)
                {
                    var deleted = new RecordFacts(oid, h.Tid, h.Prev, -1, 0, pos);
                    records?.Add(pos, deleted);
                    return deleted;
                }
                target = ReadDataHeader(file, back, end, oid);
                at = back;
            }
            payloadRecord = at;
        }
        else
        {
            headLength = (int)Math.Min(got - DataHeader.Size, (long)h.DataLength);
            buffer.Slice(DataHeader.Size, headLength).CopyTo(head);
        }
        if (target.DataLength > (ulong)Array.MaxLength)
        {
            throw new FileStorageException(string.Create(CultureInfo.InvariantCulture,
                $"{Name}: record of {oid} at {payloadRecord} holds {target.DataLength} bytes, more than one array can hold"));
        }
        var facts = new RecordFacts(oid, h.Tid, h.Prev, payloadRecord + DataHeader.Size, (int)target.DataLength, payloadRecord);
        records?.Add(pos, facts);
        return facts;
    }

    /// <summary>Payload bytes a locating read takes along with the header at most (a 4 KiB array chunk's record fits).</summary>
    private const int MaxHeadBytes = 4608;
}

/// <summary>
/// Where one revision's payload is (<see cref="FileStorage.TryLocateBefore"/>): its serial and the next revision's
/// (null when current), the payload's position and length in <see cref="File"/>, and the position of the record
/// that holds it (for error messages).
/// </summary>
internal readonly record struct PayloadLocation(Oid Oid, Tid Serial, Tid? NextSerial, long Position, int Length, long RecordPosition, IStorageFile File);

/// <summary>One data record as a locating walk needs it; <see cref="PayloadPosition"/> is -1 for a deletion.</summary>
internal readonly record struct RecordFacts(Oid Oid, Tid Tid, long Prev, long PayloadPosition, int PayloadLength, long PayloadRecord);

/// <summary>
/// What locating walks learned of records, by position in one data file (a pack's new file gets a new cache): a
/// committed record never changes, so an entry stays true. Bounded: emptied when full.
/// </summary>
internal sealed class RecordCache
{
    private const int Capacity = 1 << 16;

    private readonly ConcurrentDictionary<long, RecordFacts> _facts = new();
    private int _count;

    public bool TryGet(long position, out RecordFacts facts) => _facts.TryGetValue(position, out facts);

    public void Add(long position, in RecordFacts facts)
    {
        if (Interlocked.Increment(ref _count) > Capacity)
        {
            _facts.Clear();
            Interlocked.Exchange(ref _count, 1);
        }
        _facts[position] = facts;
    }
}
