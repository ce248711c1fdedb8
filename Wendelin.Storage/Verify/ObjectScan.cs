using System.Buffers;
using System.Globalization;
using Wendelin.Storage.Format;
using Wendelin.Storage.IO;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Verify;

/// <summary>What pass 2 learned about one object's current revision.</summary>
internal sealed class ObjectInfo
{
    public long Position { get; init; }

    public Tid Serial { get; set; }

    public ObjectStatus Status { get; set; }

    /// <summary><c>module.Name</c> of the record's class, null when unreadable or a persistent class.</summary>
    public string? Class { get; set; }

    /// <summary>Strong same-database references with their class hints (fsrefs).</summary>
    public (Oid Oid, string? Hint)[] References { get; set; } = [];

    /// <summary>The state, kept (on its own copy of the bytes) for BTree nodes and buckets, ZBigFile and ZBlk1.</summary>
    public PickleValue? State { get; set; }

    /// <summary>For ZBlk0, ZBlk and ZData: the length of a bytes state; -1 when the state is not bytes.</summary>
    public long BytesLength { get; set; } = -1;
}

internal enum ObjectStatus
{
    Ok,

    /// <summary>The current revision says "no such object": its creation was undone, or it was deleted.</summary>
    Undone,

    /// <summary>The current revision could not be read or is not a ZODB record.</summary>
    Failed,
}

/// <summary>
/// Pass 2 (spec/verify.md §3): loads the current revision of every object, in file order, checks that it is a ZODB
/// record (two pickles, one memo), and classifies every strong reference as fsrefs does (missing, creation undone,
/// failed to load). It keeps what the BTree and ZBigFile checks need.
/// </summary>
internal sealed class ObjectScan
{
    internal const string ZodbModule = "wendelin.bigfile.file_zodb";
    internal const string ZBigFileClass = ZodbModule + ".ZBigFile";
    internal const string ZBlk0Class = ZodbModule + ".ZBlk0";
    internal const string ZBlkClass = ZodbModule + ".ZBlk";
    internal const string ZBlk1Class = ZodbModule + ".ZBlk1";
    internal const string ZDataClass = ZodbModule + ".ZData";

    private readonly IStorageFile _file;
    private readonly long _size;
    private readonly Dictionary<ulong, long> _index;
    private readonly VerifyStats _stats;
    private readonly IProgress<VerifyProgress>? _progress;
    private readonly CancellationToken _cancel;
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private const int SmallPayload = 256 << 10;
    private FileWindow? _window;

    public ObjectScan(IStorageFile file, Dictionary<ulong, long> index, VerifyStats stats, IProgress<VerifyProgress>? progress, CancellationToken cancel)
    {
        _file = file;
        _size = file.Length;
        _index = index;
        _stats = stats;
        _progress = progress;
        _cancel = cancel;
    }

    public Dictionary<ulong, ObjectInfo> Objects { get; } = [];

    public IEnumerable<Finding> Run()
    {
        var order = new List<KeyValuePair<ulong, long>>(_index);
        order.Sort((a, b) => a.Value.CompareTo(b.Value));
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 << 10);
        _window = new FileWindow(_file, _size);
        try
        {
            int done = 0;
            long step = Math.Max(1, order.Count / 1000);
            foreach ((ulong oidValue, long pos) in order)
            {
                _cancel.ThrowIfCancellationRequested();
                var oid = new Oid(oidValue);
                var info = new ObjectInfo { Position = pos };
                Objects[oidValue] = info;
                _stats.Objects++;
                Finding? f = Load(oid, info, ref buffer);
                if (f is not null)
                {
                    yield return f;
                }
                if (++done % step == 0 || done == order.Count)
                {
                    _progress?.Report(new VerifyProgress(VerifyPhase.Objects, done, order.Count));
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _window.Dispose();
        }
        foreach (Finding f in CheckReferences())
        {
            yield return f;
        }
    }

    /// <summary>Reads and decodes one current revision; a finding when it cannot.</summary>
    private Finding? Load(Oid oid, ObjectInfo info, ref byte[] buffer)
    {
        long pos = info.Position;
        DataHeader h;
        try
        {
            h = ReadHeader(pos, oid);
            info.Serial = h.Tid;
            Span<byte> b = stackalloc byte[DataHeader.BackPointerSize];
            while (h.IsBackPointer)
            {
                ReadOnlySpan<byte> bp = _window!.Read(pos + DataHeader.Size, DataHeader.BackPointerSize);
                bp.CopyTo(b);
                if (bp.Length < b.Length)
                {
                    throw new FormatException(Inv($"the backpointer at {pos} lies past the end"));
                }
                long back = DataHeader.ReadBackPointer(b);
                if (back == 0)
                {
                    info.Status = ObjectStatus.Undone;
                    return null;
                }
                if (back < 0 || back >= pos)
                {
                    throw new FormatException(Inv($"the backpointer chain does not go back at {pos} (back {(ulong)back})"));
                }
                pos = back;
                h = ReadHeader(pos, oid);
            }
            if (h.DataLength > (ulong)(_size - pos - DataHeader.Size) || h.DataLength > (ulong)Array.MaxLength)
            {
                throw new FormatException(Inv($"the payload of {h.DataLength} bytes at {pos} runs past the end of the file"));
            }
        }
        catch (FormatException e)
        {
            info.Status = ObjectStatus.Failed;
            return Checks.Make(Checks.Unreadable, info.Position, oid, info.Serial, "failed to load: " + e.Message);
        }
        int length = (int)h.DataLength;
        if (buffer.Length < length)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = ArrayPool<byte>.Shared.Rent(length);
        }
        if (length <= SmallPayload)
        {
            _window!.Read(pos + DataHeader.Size, length).CopyTo(buffer); // objects come in file order: one read per window
        }
        else
        {
            _file.ReadAt(pos + DataHeader.Size, buffer.AsSpan(0, length));
        }
        ReadOnlyMemory<byte> data = buffer.AsMemory(0, length);
        try
        {
            string? cls = ZodbPickle.GetClassName(data);
            if (cls is not null && Keeps(cls))
            {
                data = data.ToArray(); // its state outlives the read buffer
            }
            ZodbRecord record = ZodbPickle.ReadRecord(data);
            cls = record.ClassName;
            info.Class = cls is null ? null : Intern(cls);
            var refs = new List<(Oid, string?)>();
            foreach (PersistentReference r in record.References)
            {
                if (r.IsStrongSameDatabase)
                {
                    refs.Add((r.Oid, r.ClassName is string hint ? Intern(hint) : null));
                }
            }
            info.References = [.. refs];
            if (cls is not null)
            {
                if (Keeps(cls))
                {
                    info.State = record.State;
                }
                else if (cls is ZBlk0Class or ZBlkClass or ZDataClass)
                {
                    info.BytesLength = record.State switch
                    {
                        PickleBytes b => b.Length,
                        PickleByteString s => s.Length,
                        _ => -1,
                    };
                }
            }
            return null;
        }
        catch (PickleException e)
        {
            info.Status = ObjectStatus.Failed;
            return Checks.Make(Checks.Pickle, info.Position, oid, info.Serial, "failed to load: not a ZODB record: " + e.Message);
        }
    }

    private static bool Keeps(string cls) => cls.StartsWith("BTrees.", StringComparison.Ordinal) || cls is ZBigFileClass or ZBlk1Class;

    private DataHeader ReadHeader(long pos, Oid oid)
    {
        ReadOnlySpan<byte> b = pos < FileHeader.DataStart ? [] : _window!.Read(pos, DataHeader.Size);
        if (b.Length < DataHeader.Size)
        {
            throw new FormatException(Inv($"no data record at {pos}"));
        }
        DataHeader h = DataHeader.Parse(b);
        if (h.Oid != oid)
        {
            throw new FormatException(Inv($"the record at {pos} is of object {h.Oid}"));
        }
        return h;
    }

    /// <summary>fsrefs: every strong reference of every loaded object names an object that loads.</summary>
    private IEnumerable<Finding> CheckReferences()
    {
        foreach ((ulong oidValue, ObjectInfo info) in Objects)
        {
            if (info.Status != ObjectStatus.Ok)
            {
                continue;
            }
            var seen = new HashSet<ulong>();
            foreach ((Oid target, string? hint) in info.References)
            {
                if (!seen.Add(target.Value))
                {
                    continue;
                }
                string what = $"'{hint ?? "<unknown>"}'";
                string from = $"{info.Class ?? "?"} refers to";
                if (!Objects.TryGetValue(target.Value, out ObjectInfo? t))
                {
                    yield return Checks.Make(Checks.MissingReference, info.Position, new Oid(oidValue), info.Serial,
                        $"{from} oid {target} missing: {what}");
                }
                else if (t.Status == ObjectStatus.Undone)
                {
                    yield return Checks.Make(Checks.UndoneReference, info.Position, new Oid(oidValue), info.Serial,
                        $"{from} oid {target} object creation was undone (or it was deleted): {what}");
                }
                else if (t.Status == ObjectStatus.Failed)
                {
                    yield return Checks.Make(Checks.FailedReference, info.Position, new Oid(oidValue), info.Serial,
                        $"{from} oid {target} failed to load: {what}");
                }
            }
        }
    }

    private string Intern(string s)
    {
        if (_names.TryGetValue(s, out string? known))
        {
            return known;
        }
        _names[s] = s;
        return s;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
