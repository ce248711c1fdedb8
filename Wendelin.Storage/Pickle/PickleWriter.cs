using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using System.Text.Unicode;

namespace Wendelin.Storage.Pickle;

/// <summary>
/// Writes values as protocol-3 pickles exactly as ZODB's pickler on Python 3 (zodbpickle's C pickler) writes the
/// same objects (spec/pickle.md §6, PK-30..PK-39): same opcodes, same memo PUT/GET decisions, same batching, no
/// FRAME. Successive <see cref="Dump"/> calls share the memo, as ZODB's record writer does for the class and state
/// pickles (PK-3). In fast mode (ZODB's <c>.index</c> file, filestorage-format §3.5) nothing is memoized (PK-37).
/// </summary>
public sealed class PickleWriter
{
    /// <summary>Python's batch size for APPENDS / SETITEMS.</summary>
    internal const int BatchSize = 1000;

    private readonly IBufferWriter<byte> _out;
    private readonly bool _fast;
    private readonly IdentityMap<PickleValue, int> _memo = new();
    // The memo entries of objects Python has once whatever our instances (PK-33): created when first needed.
    private List<(string Module, string Name, int Index)>? _globals; // searched in order while short
    private Dictionary<(string, string), int>? _globalMap; // then by hash
    private Dictionary<ulong, int>? _pidOids;
    // CPython's singletons (PK-33) met so far: key = one-character string's code (-1 for ""), or 0x1000 + the byte of
    // a one-byte bytes (0x0FFF for b""); at most 514 keys, searched in order.
    private (int Key, int Index)[]? _singletons;
    private int _singletonCount;
    private readonly HashSet<PickleValue>? _fastInProgress;
    private int _memoCount;
    private long _written;
    private int _deferFrom;                 // PK-39a: byte payloads of at least this many bytes are left out (0: none)
    private long _deferredAt = -1;          // where the payload left out belongs in the output
    private ReadOnlyMemory<byte> _deferred;

    /// <summary>A writer appending to <paramref name="output"/> (an internal buffer when null, see <see cref="ToArray"/>).</summary>
    public PickleWriter(IBufferWriter<byte>? output = null, bool fast = false)
    {
        _out = output ?? new ArrayBufferWriter<byte>();
        _fast = fast;
        if (fast)
        {
            _fastInProgress = new HashSet<PickleValue>(ReferenceEqualityComparer.Instance);
        }
    }

    /// <summary>The protocol written (ZODB on Python 3).</summary>
    public static int Protocol => 3;

    /// <summary>Bytes written so far.</summary>
    public long BytesWritten => _written;

    /// <summary>True in fast mode (no memo).</summary>
    public bool IsFast => _fast;

    /// <summary>One protocol-3 pickle of <paramref name="value"/> with a fresh memo.</summary>
    public static byte[] Write(PickleValue value, bool fast = false)
    {
        ArgumentNullException.ThrowIfNull(value);
        using var buffer = new PooledBufferWriter(SizeHint(value));
        var w = new PickleWriter(buffer, fast);
        w.Dump(value);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A first buffer size: room for the big binary payload of a block record, else a small default.</summary>
    internal static int SizeHint(PickleValue value) => value switch
    {
        PickleBytes b => b.Length + 64,
        PickleByteString b => b.Length + 64,
        _ => 1024,
    };

    /// <summary>
    /// PK-39a: the first bytes payload of at least <paramref name="minBytes"/> bytes is not copied to the output: its
    /// opcode and length are written, the output goes on after it, and <see cref="TryTakeDeferred"/> tells where it
    /// belongs. The pickle is the output with the payload inserted there (a storage writes it from the caller's memory).
    /// </summary>
    internal void DeferPayload(int minBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minBytes);
        _deferFrom = minBytes;
    }

    /// <summary>The payload left out by <see cref="DeferPayload"/> and its offset in the output (counted from this writer's first byte).</summary>
    internal bool TryTakeDeferred(out long at, out ReadOnlyMemory<byte> payload)
    {
        at = _deferredAt;
        payload = _deferred;
        _deferredAt = -1;
        _deferred = default;
        return at >= 0;
    }

    /// <summary>The bytes written, when the writer owns its buffer.</summary>
    public byte[] ToArray() => _out is ArrayBufferWriter<byte> a ? a.WrittenSpan.ToArray()
        : throw new InvalidOperationException("the writer appends to a caller's buffer");

    /// <summary>Forgets the memo (Python's <c>clear_memo</c>); the next pickle starts its memo at 0.</summary>
    public void ClearMemo()
    {
        _memo.Clear();
        _globals = null;
        _globalMap = null;
        _pidOids = null;
        _singletonCount = 0;
        _memoCount = 0;
    }

    /// <summary>Appends one pickle: PROTO 3, the value, STOP (Python's <c>Pickler.dump</c>).</summary>
    public void Dump(PickleValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Span<byte> proto = [Opcodes.Proto, 3];
        Write(proto);
        Save(value, 0);
        WriteByte(Opcodes.Stop);
    }

    private void Save(PickleValue v, int depth)
    {
        if (depth > PickleValue.MaxDepth)
        {
            throw new PickleException($"value nested deeper than {PickleValue.MaxDepth} levels (PK-22)");
        }
        switch (v)
        {
            // Atoms: never memoized (PK-31).
            case PickleNone:
                WriteByte(Opcodes.None);
                return;
            case PickleBool b:
                WriteByte(b.Value ? Opcodes.NewTrue : Opcodes.NewFalse);
                return;
            case PickleInt i:
                SaveInt(i);
                return;
            case PickleFloat f:
                {
                    Span<byte> buf = stackalloc byte[9];
                    buf[0] = Opcodes.BinFloat;
                    BinaryPrimitives.WriteDoubleBigEndian(buf[1..], f.Value);
                    Write(buf);
                    return;
                }
            case PicklePersistentId p:
                SavePersistentId(p, depth);
                return;
        }
        if (TryGetMemo(v))
        {
            return;
        }
        switch (v)
        {
            case PickleStr s:
                SaveStr(s);
                return;
            case PickleBytes b:
                SaveBytes(b, b.Value, isByteString: false);
                return;
            case PickleByteString b:
                SaveBytes(b, b.Value, isByteString: true);
                return;
            case PickleGlobal g:
                SaveGlobal(g);
                return;
            case PickleTuple t:
                SaveTuple(t, depth);
                return;
        }
        if (_fast && !_fastInProgress!.Add(v))
        {
            throw new PickleException("fast mode cannot write a cyclic value (PK-37)");
        }
        try
        {
            switch (v)
            {
                case PickleList l:
                    WriteByte(Opcodes.EmptyList);
                    Memoize(v);
                    SaveItemsExact(l, depth);
                    return;
                case PickleDict d:
                    WriteByte(Opcodes.EmptyDict);
                    Memoize(v);
                    SaveDictExact(d, depth);
                    return;
                case PickleSet s:
                    SaveSet(s, depth);
                    return;
                case PickleObject o:
                    SaveObject(o, depth);
                    return;
                default:
                    throw new PickleException($"cannot write {v.Describe()}");
            }
        }
        finally
        {
            _fastInProgress?.Remove(v);
        }
    }

    // ---- memo (PK-32, PK-33) ----

    private bool TryGetMemo(PickleValue v)
    {
        if (_fast)
        {
            return false;
        }
        if (_memo.TryGetValue(v, out int index))
        {
            WriteGet(index);
            return true;
        }
        return false;
    }

    private void Memoize(PickleValue v)
    {
        if (_fast)
        {
            return;
        }
        int index = _memoCount++;
        _memo.Set(v, index);
        Span<byte> buf = stackalloc byte[5];
        if (index < 256)
        {
            buf[0] = Opcodes.BinPut;
            buf[1] = (byte)index;
            Write(buf[..2]);
        }
        else
        {
            buf[0] = Opcodes.LongBinPut;
            BinaryPrimitives.WriteInt32LittleEndian(buf[1..], index);
            Write(buf);
        }
    }

    private void WriteGet(int index)
    {
        Span<byte> buf = stackalloc byte[5];
        if (index < 256)
        {
            buf[0] = Opcodes.BinGet;
            buf[1] = (byte)index;
            Write(buf[..2]);
        }
        else
        {
            buf[0] = Opcodes.LongBinGet;
            BinaryPrimitives.WriteInt32LittleEndian(buf[1..], index);
            Write(buf);
        }
    }

    // ---- scalars ----

    private void SaveInt(PickleInt i)
    {
        Span<byte> buf = stackalloc byte[9];
        if (i.IsInt64 && i.Int64Value is >= int.MinValue and <= int.MaxValue)
        {
            int v = (int)i.Int64Value;
            if (v is >= 0 and <= 0xff)
            {
                buf[0] = Opcodes.BinInt1;
                buf[1] = (byte)v;
                Write(buf[..2]);
            }
            else if (v is >= 0 and <= 0xffff)
            {
                buf[0] = Opcodes.BinInt2;
                BinaryPrimitives.WriteUInt16LittleEndian(buf[1..], (ushort)v);
                Write(buf[..3]);
            }
            else
            {
                buf[0] = Opcodes.BinInt;
                BinaryPrimitives.WriteInt32LittleEndian(buf[1..], v);
                Write(buf[..5]);
            }
            return;
        }
        // Python's encode_long: (bit_length >> 3) + 1 bytes of two's complement, one redundant 0xff dropped (PK-31).
        BigInteger b = i.BigValue;
        long bits = BigInteger.Abs(b).GetBitLength();
        int n = (int)(bits >> 3) + 1;
        byte[] bytes = new byte[n];
        if (!b.TryWriteBytes(bytes, out int written, isUnsigned: false, isBigEndian: false))
        {
            throw new PickleException("integer does not fit its encoding");
        }
        byte fill = b.Sign < 0 ? (byte)0xff : (byte)0;
        for (int k = written; k < n; k++)
        {
            bytes[k] = fill;
        }
        if (b.Sign < 0 && n > 1 && bytes[n - 1] == 0xff && (bytes[n - 2] & 0x80) != 0)
        {
            n--;
        }
        if (n < 256)
        {
            buf[0] = Opcodes.Long1;
            buf[1] = (byte)n;
            Write(buf[..2]);
        }
        else
        {
            buf[0] = Opcodes.Long4;
            BinaryPrimitives.WriteInt32LittleEndian(buf[1..], n);
            Write(buf[..5]);
        }
        Write(bytes.AsSpan(0, n));
    }

    private void SaveStr(PickleStr s)
    {
        // CPython's empty and one-Latin-1-character strings are singletons, so Python's pickler shares them (PK-33).
        bool shared = s.Value.Length == 0 || (s.Value.Length == 1 && s.Value[0] < 256);
        int singleton = s.Value.Length == 0 ? -1 : s.Value[0];
        if (shared && !_fast && FindSingleton(singleton) is int index)
        {
            WriteGet(index);
            return;
        }
        byte[]? rented = null;
        try
        {
            int max = Encoding.UTF8.GetMaxByteCount(s.Value.Length);
            Span<byte> utf8 = max <= 512 ? stackalloc byte[max] : (rented = ArrayPool<byte>.Shared.Rent(max));
            int n = EncodeUtf8SurrogatePass(s.Value, utf8);
            Span<byte> head = stackalloc byte[5];
            head[0] = Opcodes.BinUnicode;
            BinaryPrimitives.WriteInt32LittleEndian(head[1..], n);
            Write(head);
            Write(utf8[..n]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
        Memoize(s);
        if (shared && !_fast)
        {
            AddSingleton(singleton, _memoCount - 1);
        }
    }

    private void SaveBytes(PickleValue v, ReadOnlyMemory<byte> payload, bool isByteString)
    {
        ReadOnlySpan<byte> data = payload.Span;
        bool shared = !isByteString && data.Length <= 1;
        int key = data.Length == 0 ? -1 : shared ? data[0] : 0;
        if (shared && !_fast && FindSingleton(0x1000 + key) is int index)
        {
            WriteGet(index);
            return;
        }
        Span<byte> head = stackalloc byte[5];
        if (data.Length <= 0xff)
        {
            head[0] = isByteString ? Opcodes.ShortBinString : Opcodes.ShortBinBytes;
            head[1] = (byte)data.Length;
            Write(head[..2]);
        }
        else
        {
            head[0] = isByteString ? Opcodes.BinString : Opcodes.BinBytes;
            BinaryPrimitives.WriteInt32LittleEndian(head[1..], data.Length);
            Write(head);
        }
        if (_deferFrom > 0 && _deferredAt < 0 && data.Length >= _deferFrom)
        {
            _deferredAt = _written; // PK-39a: the caller inserts the payload here
            _deferred = payload;
        }
        else
        {
            Write(data);
        }
        Memoize(v);
        if (shared && !_fast)
        {
            AddSingleton(0x1000 + key, _memoCount - 1);
        }
    }

    private void SaveGlobal(PickleGlobal g)
    {
        // A class is one object in Python: every mention after the first is a memo reference (PK-33).
        if (!_fast && FindGlobal(g) is int index)
        {
            WriteGet(index);
            return;
        }
        if (g.Module.Contains('\n', StringComparison.Ordinal) || g.Name.Contains('\n', StringComparison.Ordinal))
        {
            throw new PickleException($"global name with a newline cannot be written: {g.FullName}");
        }
        WriteByte(Opcodes.Global);
        WriteLineUtf8(g.Module);
        WriteLineUtf8(g.Name);
        Memoize(g);
        if (!_fast)
        {
            AddGlobal(g, _memoCount - 1);
        }
    }

    private int? FindSingleton(int key)
    {
        for (int i = 0; i < _singletonCount; i++)
        {
            if (_singletons![i].Key == key)
            {
                return _singletons[i].Index;
            }
        }
        return null;
    }

    private void AddSingleton(int key, int index)
    {
        for (int i = 0; i < _singletonCount; i++)
        {
            if (_singletons![i].Key == key)
            {
                _singletons[i].Index = index;
                return;
            }
        }
        if (_singletons is null || _singletonCount == _singletons.Length)
        {
            Array.Resize(ref _singletons, Math.Max(4, _singletonCount * 2));
        }
        _singletons[_singletonCount++] = (key, index);
    }

    private int? FindGlobal(PickleGlobal g)
    {
        if (_globalMap is not null)
        {
            return _globalMap.TryGetValue((g.Module, g.Name), out int i) ? i : null;
        }
        if (_globals is not null)
        {
            foreach ((string module, string name, int index) in _globals)
            {
                if (string.Equals(module, g.Module, StringComparison.Ordinal) && string.Equals(name, g.Name, StringComparison.Ordinal))
                {
                    return index;
                }
            }
        }
        return null;
    }

    private void AddGlobal(PickleGlobal g, int index)
    {
        if (_globalMap is not null)
        {
            _globalMap[(g.Module, g.Name)] = index;
            return;
        }
        (_globals ??= []).Add((g.Module, g.Name, index));
        if (_globals.Count > 16)
        {
            _globalMap = [];
            foreach ((string module, string name, int i) in _globals)
            {
                _globalMap[(module, name)] = i;
            }
            _globals = null;
        }
    }

    // ---- containers ----

    private void SaveTuple(PickleTuple t, int depth)
    {
        int n = t.Count;
        if (n == 0)
        {
            WriteByte(Opcodes.EmptyTuple);
            return;
        }
        if (n <= 3)
        {
            foreach (PickleValue item in t.AsSpan())
            {
                Save(item, depth + 1);
            }
            if (!_fast && _memo.TryGetValue(t, out int index))
            {
                // The tuple was reached again through its items (a cycle): pop them, fetch it (PK-34).
                for (int k = 0; k < n; k++)
                {
                    WriteByte(Opcodes.Pop);
                }
                WriteGet(index);
                return;
            }
            WriteByte(n == 1 ? Opcodes.Tuple1 : n == 2 ? Opcodes.Tuple2 : Opcodes.Tuple3);
            Memoize(t);
            return;
        }
        WriteByte(Opcodes.Mark);
        foreach (PickleValue item in t.AsSpan())
        {
            Save(item, depth + 1);
        }
        if (!_fast && _memo.TryGetValue(t, out int idx))
        {
            WriteByte(Opcodes.PopMark);
            WriteGet(idx);
            return;
        }
        WriteByte(Opcodes.Tuple);
        Memoize(t);
    }

    /// <summary>The C pickler's batching of an exact list: one item → APPEND; else MARK … APPENDS per 1000 (PK-35).</summary>
    private void SaveItemsExact(IReadOnlyList<PickleValue> items, int depth)
    {
        int count = items.Count;
        if (count == 0)
        {
            return;
        }
        if (count == 1)
        {
            Save(items[0], depth + 1);
            WriteByte(Opcodes.Append);
            return;
        }
        int total = 0;
        do
        {
            WriteByte(Opcodes.Mark);
            int batch = 0;
            while (total < count)
            {
                Save(items[total++], depth + 1);
                if (++batch == BatchSize)
                {
                    break;
                }
            }
            WriteByte(Opcodes.Appends);
        }
        while (total < count);
    }

    /// <summary>
    /// The C pickler's batching of an exact dict: one entry → SETITEM; else MARK … SETITEMS per 1000, repeated while
    /// a batch was full, so a multiple of 1000 entries ends with an empty MARK SETITEMS (PK-35).
    /// </summary>
    private void SaveDictExact(PickleDict d, int depth)
    {
        IReadOnlyList<KeyValuePair<PickleValue, PickleValue>> e = d.Entries;
        if (e.Count == 0)
        {
            return;
        }
        if (e.Count == 1)
        {
            Save(e[0].Key, depth + 1);
            Save(e[0].Value, depth + 1);
            WriteByte(Opcodes.SetItem);
            return;
        }
        int next = 0, batch;
        do
        {
            batch = 0;
            WriteByte(Opcodes.Mark);
            while (next < e.Count)
            {
                Save(e[next].Key, depth + 1);
                Save(e[next].Value, depth + 1);
                next++;
                if (++batch == BatchSize)
                {
                    break;
                }
            }
            WriteByte(Opcodes.SetItems);
        }
        while (batch == BatchSize);
    }

    /// <summary>The C pickler's batching of items from an iterator (an object's list/dict items): a lone last item is APPEND/SETITEM (PK-35).</summary>
    private void SaveItemsGeneric(IReadOnlyList<PickleValue> items, int depth)
    {
        int i = 0;
        while (i < items.Count)
        {
            if (items.Count - i == 1)
            {
                Save(items[i], depth + 1);
                WriteByte(Opcodes.Append);
                return;
            }
            WriteByte(Opcodes.Mark);
            int n = Math.Min(BatchSize, items.Count - i);
            for (int k = 0; k < n; k++)
            {
                Save(items[i++], depth + 1);
            }
            WriteByte(Opcodes.Appends);
        }
    }

    private void SavePairsGeneric(IReadOnlyList<KeyValuePair<PickleValue, PickleValue>> items, int depth)
    {
        int i = 0;
        while (i < items.Count)
        {
            if (items.Count - i == 1)
            {
                Save(items[i].Key, depth + 1);
                Save(items[i].Value, depth + 1);
                WriteByte(Opcodes.SetItem);
                return;
            }
            WriteByte(Opcodes.Mark);
            int n = Math.Min(BatchSize, items.Count - i);
            for (int k = 0; k < n; k++)
            {
                Save(items[i].Key, depth + 1);
                Save(items[i].Value, depth + 1);
                i++;
            }
            WriteByte(Opcodes.SetItems);
        }
    }

    /// <summary>Protocol 3 has no set opcodes: Python reduces a set to <c>builtins.set([items])</c> (PK-36).</summary>
    private void SaveSet(PickleSet s, int depth)
    {
        SaveGlobal(new PickleGlobal("builtins", s.IsFrozen ? "frozenset" : "set"));
        WriteByte(Opcodes.EmptyList);
        Memoize(new PickleList());
        SaveItemsExact(s.Items, depth);
        WriteByte(Opcodes.Tuple1);
        Memoize(new PickleTuple([], owned: true));
        WriteByte(Opcodes.Reduce);
        Memoize(s);
    }

    // ---- objects (Python's save_reduce, PK-36) ----

    private void SaveObject(PickleObject o, int depth)
    {
        switch (o.Construction)
        {
            case PickleConstruction.Reduce:
                Save(o.Callable, depth + 1);
                Save(o.Args, depth + 1);
                WriteByte(Opcodes.Reduce);
                break;
            case PickleConstruction.NewObj:
                Save(o.Callable, depth + 1);
                Save(o.Args, depth + 1);
                WriteByte(Opcodes.NewObj);
                break;
            case PickleConstruction.NewObjEx:
                Save(o.Callable, depth + 1);
                Save(o.Args, depth + 1);
                Save(o.Kwargs!, depth + 1);
                WriteByte(Opcodes.NewObjEx);
                break;
            case PickleConstruction.Inst:
                {
                    var g = (PickleGlobal)o.Callable;
                    if (!Ascii.IsValid(g.Module) || !Ascii.IsValid(g.Name) || g.Module.Contains('\n', StringComparison.Ordinal) || g.Name.Contains('\n', StringComparison.Ordinal))
                    {
                        throw new PickleException($"INST class name must be ASCII without newlines: {g.FullName}");
                    }
                    WriteByte(Opcodes.Mark);
                    SaveArgsFlat(o.Args, depth);
                    WriteByte(Opcodes.Inst);
                    WriteLineUtf8(g.Module);
                    WriteLineUtf8(g.Name);
                    break;
                }
            case PickleConstruction.Obj:
                WriteByte(Opcodes.Mark);
                Save(o.Callable, depth + 1);
                SaveArgsFlat(o.Args, depth);
                WriteByte(Opcodes.Obj);
                break;
        }
        if (!_fast && _memo.TryGetValue(o, out int index))
        {
            WriteByte(Opcodes.Pop);
            WriteGet(index);
            return;
        }
        Memoize(o);
        if (o.ListItems is { } li)
        {
            SaveItemsGeneric(li, depth);
        }
        if (o.DictItems is { } di)
        {
            SavePairsGeneric(di, depth);
        }
        if (o.State is { } state)
        {
            Save(state, depth + 1);
            WriteByte(Opcodes.Build);
        }
    }

    private void SaveArgsFlat(PickleValue args, int depth)
    {
        if (args is not PickleTuple t)
        {
            throw new PickleException($"INST/OBJ arguments must be a tuple, got {args.Describe()}");
        }
        foreach (PickleValue a in t.AsSpan())
        {
            Save(a, depth + 1);
        }
    }

    // ---- persistent ids (Python's save_pers with ZODB's persistent_id, PK-38) ----

    private void SavePersistentId(PicklePersistentId p, int depth)
    {
        PickleValue pid = p.Pid;
        switch (pid)
        {
            case PickleTuple t when t.Count is > 0 and <= 3:
                // ZODB builds a new (oid, class) tuple for every reference: never a memo reference to an earlier one.
                SavePidItem(t[0], depth);
                for (int i = 1; i < t.Count; i++)
                {
                    Save(t[i], depth + 1);
                }
                WriteByte(t.Count == 1 ? Opcodes.Tuple1 : t.Count == 2 ? Opcodes.Tuple2 : Opcodes.Tuple3);
                Memoize(t);
                break;
            case PickleBytes or PickleByteString:
                SavePidItem(pid, depth);
                break;
            case PickleList l when !TryGetMemo(l):
                // ['w', (oid,)], ['m', (db, oid, class)], ...: a new list and tuple each time; the tag is a constant.
                WriteByte(Opcodes.EmptyList);
                Memoize(l);
                var items = new List<PickleValue>(l.Count);
                foreach (PickleValue x in l)
                {
                    items.Add(x);
                }
                if (items.Count == 1)
                {
                    SavePidItem(items[0], depth);
                    WriteByte(Opcodes.Append);
                }
                else if (items.Count > 1)
                {
                    WriteByte(Opcodes.Mark);
                    foreach (PickleValue x in items)
                    {
                        if (x is PickleTuple inner && inner.Count is > 0 and <= 3 && !_memo.ContainsKey(inner))
                        {
                            SavePidTupleWithOids(inner, depth);
                        }
                        else
                        {
                            Save(x, depth + 1);
                        }
                    }
                    WriteByte(Opcodes.Appends);
                }
                break;
            case PickleList:
                break;
            default:
                Save(pid, depth + 1);
                break;
        }
        WriteByte(Opcodes.BinPersId);
    }

    private void SavePidTupleWithOids(PickleTuple t, int depth)
    {
        foreach (PickleValue x in t.AsSpan())
        {
            SavePidItem(x, depth);
        }
        WriteByte(t.Count == 1 ? Opcodes.Tuple1 : t.Count == 2 ? Opcodes.Tuple2 : Opcodes.Tuple3);
        Memoize(t);
    }

    /// <summary>An item of a pid: an 8-byte oid is the target's one <c>_p_oid</c> object in Python, so equal oids share a memo entry (PK-38).</summary>
    private void SavePidItem(PickleValue v, int depth)
    {
        ReadOnlySpan<byte> oid = v switch
        {
            PickleBytes b => b.Value.Span,
            PickleByteString s => s.Value.Span,
            _ => default,
        };
        if (oid.Length != 8 || _fast || _memo.ContainsKey(v))
        {
            Save(v, depth + 1);
            return;
        }
        ulong key = BinaryPrimitives.ReadUInt64BigEndian(oid);
        if (v is PickleBytes && _pidOids is not null && _pidOids.TryGetValue(key, out int index))
        {
            WriteGet(index);
            return;
        }
        Save(v, depth + 1);
        if (v is PickleBytes)
        {
            (_pidOids ??= [])[key] = _memo[v];
        }
    }

    // ---- output ----

    private void WriteByte(byte b)
    {
        Span<byte> s = _out.GetSpan(1);
        s[0] = b;
        _out.Advance(1);
        _written++;
    }

    private void Write(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            Span<byte> s = _out.GetSpan(Math.Min(data.Length, 1 << 20));
            int n = Math.Min(s.Length, data.Length);
            data[..n].CopyTo(s);
            _out.Advance(n);
            _written += n;
            data = data[n..];
        }
    }

    private void WriteLineUtf8(string s)
    {
        int max = Encoding.UTF8.GetMaxByteCount(s.Length) + 1;
        if (max > 256)
        {
            Write(Encoding.UTF8.GetBytes(s));
            WriteByte((byte)'\n');
            return;
        }
        Span<byte> line = stackalloc byte[max];
        int n = Encoding.UTF8.GetBytes(s, line);
        line[n] = (byte)'\n';
        Write(line[..(n + 1)]);
    }

    /// <summary>UTF-8 with "surrogatepass": a lone surrogate becomes its 3-byte encoding, as Python writes it.</summary>
    internal static int EncodeUtf8SurrogatePass(string s, Span<byte> dest)
    {
        ReadOnlySpan<char> src = s;
        int written = 0;
        while (true)
        {
            OperationStatus status = Utf8.FromUtf16(src, dest[written..], out int read, out int w, replaceInvalidSequences: false);
            written += w;
            src = src[read..];
            if (status == OperationStatus.Done)
            {
                return written;
            }
            if (status != OperationStatus.InvalidData || src.Length == 0 || !char.IsSurrogate(src[0]))
            {
                throw new PickleException("text could not be encoded as UTF-8");
            }
            int c = src[0];
            dest[written++] = (byte)(0xE0 | (c >> 12));
            dest[written++] = (byte)(0x80 | ((c >> 6) & 0x3F));
            dest[written++] = (byte)(0x80 | (c & 0x3F));
            src = src[1..];
        }
    }
}
