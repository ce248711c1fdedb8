using Wendelin.Storage.Format;
using Wendelin.Storage.IO;

namespace Wendelin.Storage.Fs;

// Loading many small records at once (array blocks made of hundreds of chunk records, spec/zbigfile.md ZB-7):
// the same checks as a single load (FS-L1..FS-L3), fewer reads.
public sealed partial class FileStorage
{
    /// <summary>
    /// <see cref="LoadBefore(Oid, Tid)"/> of many objects with as few reads as possible: the current records of
    /// objects visible before <paramref name="before"/> are read together when they lie within
    /// <paramref name="window"/> bytes of each other, and every header is checked as a single load checks it. Each
    /// record's payload goes to <paramref name="sink"/> (in file order, with its index in <paramref name="oids"/>),
    /// valid only during the call; an object that did not exist before <paramref name="before"/> goes to
    /// <see cref="IRecordSink.Missing"/>. Older revisions and backpointers are loaded one by one.
    /// <see cref="PosKeyException"/> for an unknown oid.
    /// </summary>
    internal void LoadBeforeMany<TSink>(IReadOnlyList<Oid> oids, Tid before, ref TSink sink, int window = 4 << 20)
        where TSink : IRecordSink, allows ref struct
    {
        ThrowIfUnusable();
        int n = oids.Count;
        var items = new (long Position, int Index)[n];
        long end;
        IStorageFile file;
        _state.EnterReadLock();
        try
        {
            // one snapshot of the index, the end and the data file for all of them
            end = _end;
            file = _file;
            for (int i = 0; i < n; i++)
            {
                if (!_index.TryGet(oids[i], out long pos, out Tid serial))
                {
                    throw new PosKeyException(oids[i]);
                }
                items[i] = (serial < before ? pos : -1, i);
            }
        }
        finally
        {
            _state.ExitReadLock();
        }
        Array.Sort(items);
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(window);
        try
        {
            int k = 0;
            while (k < n)
            {
                (long start, int first) = items[k];
                if (start < 0)
                {
                    LoadOne(oids[first], first, before, ref sink);
                    k++;
                    continue;
                }
                int read = file.ReadAt(start, buffer.AsSpan(0, (int)Math.Min(window, end - start)));
                while (k < n && items[k].Position >= 0 && items[k].Position - start + DataHeader.Size <= read)
                {
                    (long pos, int index) = items[k];
                    int off = (int)(pos - start);
                    DataHeader h = DataHeader.Parse(buffer.AsSpan(off, DataHeader.Size));
                    if (h.Check(pos, end, -1, null) is FormatError fe)
                    {
                        throw Corrupt(fe);
                    }
                    if (h.Oid != oids[index])
                    {
                        throw Corrupt(new FormatError(RecordKind.DataHeader, pos, "record holds the expected object",
                            $"found {h.Oid}, expected {oids[index]}"));
                    }
                    if (h.IsBackPointer || h.Tid >= before || off + DataHeader.Size + (long)h.DataLength > read)
                    {
                        LoadOne(oids[index], index, before, ref sink);
                    }
                    else
                    {
                        sink.Record(index, buffer.AsSpan(off + DataHeader.Size, (int)h.DataLength), h.Tid);
                    }
                    k++;
                }
                if (k < n && items[k].Position == start)
                {
                    // not even this record's header was read (the committed data ends): load it alone
                    LoadOne(oids[items[k].Index], items[k].Index, before, ref sink);
                    k++;
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void LoadOne<TSink>(Oid oid, int index, Tid before, ref TSink sink)
        where TSink : IRecordSink, allows ref struct
    {
        if (LoadBefore(oid, before) is { } r)
        {
            sink.Record(index, r.Data.Span, r.Serial);
        }
        else
        {
            sink.Missing(index);
        }
    }
}

/// <summary>Receives the records of <see cref="FileStorage.LoadBeforeMany"/>.</summary>
internal interface IRecordSink
{
    /// <summary>The payload of the record of oid number <paramref name="index"/>, valid only during the call.</summary>
    void Record(int index, ReadOnlySpan<byte> data, Tid serial);

    /// <summary>Oid number <paramref name="index"/> did not exist before the bound.</summary>
    void Missing(int index);
}
