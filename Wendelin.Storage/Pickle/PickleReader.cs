using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Wendelin.Storage.Pickle;

/// <summary>
/// Reads pickles of protocols 0 to 5 into <see cref="PickleValue"/>s (spec/pickle.md §2, PK-1..PK-10). One reader
/// reads successive pickles from one buffer with ONE memo, as ZODB's unpickler reads the two pickles of a record
/// (PK-3): use <see cref="ReadPickle"/> once per pickle. Nothing is imported or called: globals stay names,
/// REDUCE/NEWOBJ/BUILD become <see cref="PickleObject"/>s, persistent ids become <see cref="PicklePersistentId"/>s.
/// Bytes are slices of the input (PK-12). Any input gives a value or a <see cref="PickleException"/> (PK-20):
/// every length is checked against the bytes left before it is used, and work and memory are bounded by the input
/// length (PK-21).
/// </summary>
public sealed partial class PickleReader
{
    private readonly ReadOnlyMemory<byte> _data;
    private readonly List<PickleValue> _stack = new(16);
    private readonly List<int> _marks = new(4);
    // The memo: an array for the indices picklers write (0, 1, 2, … in order), a dictionary for any others, so that
    // memory stays bounded by the number of PUTs (PK-21) whatever indices a hostile pickle names.
    private PickleValue?[] _memoDense = [];
    private Dictionary<long, PickleValue>? _memoSparse;
    private int _memoCount;
    private List<PicklePersistentId>? _persistentIds;
    private int _pos;
    private int _opStart;
    private int _op = -1;

    /// <summary>A reader over <paramref name="data"/>, starting at offset <paramref name="start"/>.</summary>
    public PickleReader(ReadOnlyMemory<byte> data, int start = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, data.Length);
        _data = data;
        _pos = start;
    }

    /// <summary>Offset of the next byte to read (after a pickle: just past its STOP).</summary>
    public int Position => _pos;

    /// <summary>True when every byte has been read.</summary>
    public bool AtEnd => _pos >= _data.Length;

    /// <summary>The protocol named by the PROTO opcode of the last pickle read (0 when it had none).</summary>
    public int Protocol { get; private set; }

    /// <summary>
    /// True once a memo fetch (GET) returned bytes, a tuple, a list or a dict: only then can one such value appear twice
    /// in what was read (shared, or in a cycle), which converters that copy values must preserve.
    /// </summary>
    internal bool SharesContainers { get; private set; }

    /// <summary>Every persistent id read so far, in the order of their BINPERSID/PERSID opcodes.</summary>
    public IReadOnlyList<PicklePersistentId> PersistentIds => (IReadOnlyList<PicklePersistentId>?)_persistentIds ?? [];

    /// <summary>Reads one pickle (up to and including its STOP); trailing bytes are left for the next call.</summary>
    public static PickleValue Read(ReadOnlyMemory<byte> data) => new PickleReader(data).ReadPickle();

    /// <summary>Reads the next pickle, keeping the memo of the pickles read before it (PK-3).</summary>
    public PickleValue ReadPickle()
    {
        _stack.Clear();
        _marks.Clear();
        Protocol = 0;
        _op = -1;
        if (_pos >= _data.Length)
        {
            throw new PickleException(_pos, -1, "no pickle here: the input ends");
        }
        ReadOnlySpan<byte> d = _data.Span;
        while (true)
        {
            if (_pos >= d.Length)
            {
                _op = -1;
                throw new PickleException(_pos, -1, "the input ends before STOP (PK-20)");
            }
            _opStart = _pos;
            byte op = d[_pos++];
            _op = op;
            if (op == Opcodes.Stop)
            {
                PickleValue result = Pop();
                _op = -1;
                return result;
            }
            Execute(op, d);
        }
    }

    private void Execute(byte op, ReadOnlySpan<byte> d)
    {
        switch (op)
        {
            // ---- framing and protocol ----
            case Opcodes.Proto:
                {
                    int v = ReadU8(d);
                    if (v > 5)
                    {
                        throw Fail($"unsupported protocol {v} (PK-1)");
                    }
                    Protocol = v;
                    break;
                }
            case Opcodes.Frame:
                {
                    ulong n = ReadU64(d);
                    if (n > (ulong)(d.Length - _pos))
                    {
                        throw Fail($"frame of {n} bytes exceeds the {d.Length - _pos} bytes left (PK-4)");
                    }
                    break;
                }

            // ---- stack and marks ----
            case Opcodes.Mark:
                _marks.Add(_stack.Count);
                break;
            case Opcodes.Pop:
                if (_stack.Count > MarkBase)
                {
                    _stack.RemoveAt(_stack.Count - 1);
                }
                else
                {
                    PopMark(out _);
                    DropFrom(_stack.Count);
                }
                break;
            case Opcodes.PopMark:
                DropFrom(PopMark(out _));
                break;
            case Opcodes.Dup:
                SharesContainers |= Top() is PickleBytes or PickleTuple or PickleList or PickleDict;
                Push(Top());
                break;

            // ---- memo ----
            case Opcodes.Put:
                MemoPut(ParseMemoIndex(ReadLine(d)));
                break;
            case Opcodes.BinPut:
                MemoPut(ReadU8(d));
                break;
            case Opcodes.LongBinPut:
                MemoPut(ReadU32(d));
                break;
            case Opcodes.Memoize:
                MemoPut(_memoCount);
                break;
            case Opcodes.Get:
                MemoGet(ParseMemoIndex(ReadLine(d)));
                break;
            case Opcodes.BinGet:
                MemoGet(ReadU8(d));
                break;
            case Opcodes.LongBinGet:
                MemoGet(ReadU32(d));
                break;

            // ---- scalars ----
            case Opcodes.None:
                Push(PickleValue.None);
                break;
            case Opcodes.NewTrue:
                Push(PickleValue.True);
                break;
            case Opcodes.NewFalse:
                Push(PickleValue.False);
                break;
            case Opcodes.Int:
                Push(ParseIntOpcode(ReadLine(d)));
                break;
            case Opcodes.Long:
                {
                    ReadOnlySpan<byte> line = ReadLine(d);
                    if (line.Length > 0 && line[^1] == (byte)'L')
                    {
                        line = line[..^1];
                    }
                    Push(PickleInt.Of(ParseDecimal(line)));
                    break;
                }
            case Opcodes.BinInt:
                Push(PickleInt.Of(BinaryPrimitives.ReadInt32LittleEndian(Take(d, 4))));
                break;
            case Opcodes.BinInt1:
                Push(PickleInt.Of(ReadU8(d)));
                break;
            case Opcodes.BinInt2:
                Push(PickleInt.Of(BinaryPrimitives.ReadUInt16LittleEndian(Take(d, 2))));
                break;
            case Opcodes.Long1:
                Push(DecodeLong(Take(d, ReadU8(d))));
                break;
            case Opcodes.Long4:
                {
                    int n = BinaryPrimitives.ReadInt32LittleEndian(Take(d, 4));
                    if (n < 0)
                    {
                        throw Fail($"negative byte count {n}");
                    }
                    Push(DecodeLong(Take(d, n)));
                    break;
                }
            case Opcodes.Float:
                Push(new PickleFloat(ParseFloat(ReadLine(d))));
                break;
            case Opcodes.BinFloat:
                Push(new PickleFloat(BinaryPrimitives.ReadDoubleBigEndian(Take(d, 8))));
                break;

            // ---- text and binary strings ----
            case Opcodes.BinUnicode:
                Push(new PickleStr(DecodeUtf8(Take(d, CheckedLength(ReadU32(d), d)))));
                break;
            case Opcodes.ShortBinUnicode:
                Push(new PickleStr(DecodeUtf8(Take(d, ReadU8(d)))));
                break;
            case Opcodes.BinUnicode8:
                Push(new PickleStr(DecodeUtf8(Take(d, CheckedLength(ReadU64(d), d)))));
                break;
            case Opcodes.Unicode:
                Push(new PickleStr(DecodeRawUnicodeEscape(ReadLine(d))));
                break;
            case Opcodes.ShortBinBytes:
                Push(new PickleBytes(Slice(d, ReadU8(d))));
                break;
            case Opcodes.BinBytes:
                Push(new PickleBytes(Slice(d, CheckedLength(ReadU32(d), d))));
                break;
            case Opcodes.BinBytes8:
                Push(new PickleBytes(Slice(d, CheckedLength(ReadU64(d), d))));
                break;
            case Opcodes.ShortBinString:
                Push(new PickleByteString(Slice(d, ReadU8(d))));
                break;
            case Opcodes.BinString:
                {
                    int n = BinaryPrimitives.ReadInt32LittleEndian(Take(d, 4));
                    if (n < 0)
                    {
                        throw Fail($"negative byte count {n}");
                    }
                    Push(new PickleByteString(Slice(d, n)));
                    break;
                }
            case Opcodes.String:
                Push(new PickleByteString(DecodeStringOpcode(ReadLine(d))));
                break;
            case Opcodes.ByteArray8:
                Push(PickleObject.Reduce(new PickleGlobal("builtins", "bytearray"),
                    new PickleTuple([new PickleBytes(Slice(d, CheckedLength(ReadU64(d), d)))], owned: true)));
                break;
            case Opcodes.NextBuffer:
                throw Fail("out-of-band buffers are not supported (PK-8)");
            case Opcodes.ReadOnlyBuffer:
                {
                    PickleValue top = Top();
                    if (top is PickleObject { Construction: PickleConstruction.Reduce, Args: PickleTuple { Count: 1 } a } o
                        && o.Is("builtins", "bytearray") && a[0] is PickleBytes && o.State is null)
                    {
                        _stack[^1] = a[0];
                    }
                    else if (top is not PickleBytes)
                    {
                        throw Fail($"READONLY_BUFFER on {top.Describe()}");
                    }
                    break;
                }

            // ---- containers ----
            case Opcodes.EmptyTuple:
                Push(PickleTuple.Empty);
                break;
            case Opcodes.Tuple1:
                {
                    PickleValue a = Pop();
                    Push(new PickleTuple([a], owned: true));
                    break;
                }
            case Opcodes.Tuple2:
                {
                    PickleValue b = Pop(), a = Pop();
                    Push(new PickleTuple([a, b], owned: true));
                    break;
                }
            case Opcodes.Tuple3:
                {
                    PickleValue c = Pop(), b = Pop(), a = Pop();
                    Push(new PickleTuple([a, b, c], owned: true));
                    break;
                }
            case Opcodes.Tuple:
                {
                    int m = PopMark(out int n);
                    PickleValue[] items = n == 0 ? [] : CollectionsMarshal.AsSpan(_stack).Slice(m, n).ToArray();
                    DropFrom(m);
                    Push(n == 0 ? PickleTuple.Empty : new PickleTuple(items, owned: true));
                    break;
                }
            case Opcodes.EmptyList:
                Push(new PickleList());
                break;
            case Opcodes.List:
                {
                    int m = PopMark(out int n);
                    var list = new PickleList();
                    list.AddRange(CollectionsMarshal.AsSpan(_stack).Slice(m, n));
                    DropFrom(m);
                    Push(list);
                    break;
                }
            case Opcodes.Append:
                {
                    PickleValue v = Pop();
                    AppendTo(Top(), v);
                    break;
                }
            case Opcodes.Appends:
                {
                    int m = PopMark(out int n);
                    PickleValue target = Below(m);
                    ReadOnlySpan<PickleValue> items = CollectionsMarshal.AsSpan(_stack).Slice(m, n);
                    if (target is PickleList l)
                    {
                        l.AddRange(items);
                    }
                    else
                    {
                        foreach (PickleValue v in items)
                        {
                            AppendTo(target, v);
                        }
                    }
                    DropFrom(m);
                    break;
                }
            case Opcodes.EmptyDict:
                Push(new PickleDict());
                break;
            case Opcodes.Dict:
                {
                    int m = PopMark(out int n);
                    if (n % 2 != 0)
                    {
                        throw Fail("odd number of items for a dict");
                    }
                    var dict = new PickleDict();
                    SetPairs(dict, m, n);
                    DropFrom(m);
                    Push(dict);
                    break;
                }
            case Opcodes.SetItem:
                {
                    PickleValue v = Pop(), k = Pop();
                    SetOn(Top(), k, v);
                    break;
                }
            case Opcodes.SetItems:
                {
                    int m = PopMark(out int n);
                    if (n % 2 != 0)
                    {
                        throw Fail("odd number of items for SETITEMS");
                    }
                    SetPairs(Below(m), m, n);
                    DropFrom(m);
                    break;
                }
            case Opcodes.EmptySet:
                Push(new PickleSet());
                break;
            case Opcodes.AddItems:
                {
                    int m = PopMark(out int n);
                    PickleValue target = Below(m);
                    if (target is not PickleSet { IsFrozen: false } set)
                    {
                        throw Fail($"ADDITEMS on {target.Describe()}");
                    }
                    foreach (PickleValue v in CollectionsMarshal.AsSpan(_stack).Slice(m, n))
                    {
                        AddMember(set, v);
                    }
                    DropFrom(m);
                    break;
                }
            case Opcodes.FrozenSet:
                {
                    int m = PopMark(out int n);
                    var set = new PickleSet(frozen: true);
                    foreach (PickleValue v in CollectionsMarshal.AsSpan(_stack).Slice(m, n))
                    {
                        AddMember(set, v);
                    }
                    DropFrom(m);
                    Push(set);
                    break;
                }

            // ---- globals and objects ----
            case Opcodes.Global:
                {
                    string module = DecodeLineUtf8(ReadLine(d));
                    string name = DecodeLineUtf8(ReadLine(d));
                    Push(new PickleGlobal(module, name));
                    break;
                }
            case Opcodes.StackGlobal:
                {
                    PickleValue name = Pop(), module = Pop();
                    if (module is not PickleStr ms || name is not PickleStr ns)
                    {
                        throw Fail("STACK_GLOBAL requires two str");
                    }
                    Push(new PickleGlobal(ms.Value, ns.Value));
                    break;
                }
            case Opcodes.Reduce:
                {
                    PickleValue args = Pop();
                    PickleValue callable = Top();
                    _stack[^1] = MakeReduce(callable, args);
                    break;
                }
            case Opcodes.NewObj:
                {
                    PickleValue args = Pop(), cls = Pop();
                    Push(new PickleObject(PickleConstruction.NewObj, cls, args));
                    break;
                }
            case Opcodes.NewObjEx:
                {
                    PickleValue kwargs = Pop(), args = Pop(), cls = Pop();
                    Push(new PickleObject(PickleConstruction.NewObjEx, cls, args, kwargs));
                    break;
                }
            case Opcodes.Inst:
                {
                    string module = DecodeLineAscii(ReadLine(d));
                    string name = DecodeLineAscii(ReadLine(d));
                    int m = PopMark(out int n);
                    var args = new PickleTuple(CollectionsMarshal.AsSpan(_stack).Slice(m, n).ToArray(), owned: true);
                    DropFrom(m);
                    Push(new PickleObject(PickleConstruction.Inst, new PickleGlobal(module, name), args));
                    break;
                }
            case Opcodes.Obj:
                {
                    int m = PopMark(out int n);
                    if (n == 0)
                    {
                        throw Fail("OBJ without a class");
                    }
                    Span<PickleValue> items = CollectionsMarshal.AsSpan(_stack).Slice(m, n);
                    var args = new PickleTuple(items[1..].ToArray(), owned: true);
                    PickleValue cls = items[0];
                    DropFrom(m);
                    Push(new PickleObject(PickleConstruction.Obj, cls, args));
                    break;
                }
            case Opcodes.Build:
                {
                    PickleValue state = Pop();
                    PickleValue target = Top();
                    if (target is not PickleObject o)
                    {
                        throw Fail($"BUILD on {target.Describe()} (PK-9)");
                    }
                    if (o.State is not null)
                    {
                        throw Fail("second BUILD on one object (PK-9)");
                    }
                    o.State = state;
                    break;
                }
            case Opcodes.Ext1:
            case Opcodes.Ext2:
            case Opcodes.Ext4:
                {
                    long code = op == Opcodes.Ext1 ? ReadU8(d) : op == Opcodes.Ext2
                        ? BinaryPrimitives.ReadUInt16LittleEndian(Take(d, 2)) : BinaryPrimitives.ReadInt32LittleEndian(Take(d, 4));
                    throw Fail($"extension code {code}: the copyreg extension registry is empty (PK-7)");
                }

            // ---- persistent ids ----
            case Opcodes.BinPersId:
                PushPersistentId(Pop());
                break;
            case Opcodes.PersId:
                PushPersistentId(new PickleStr(DecodeLineAscii(ReadLine(d))));
                break;

            default:
                throw Fail("unknown opcode (PK-1)");
        }
    }

    // ---- stack helpers ----

    private int MarkBase => _marks.Count > 0 ? _marks[^1] : 0;

    private void Push(PickleValue v) => _stack.Add(v);

    private PickleValue Top()
    {
        if (_stack.Count <= MarkBase)
        {
            throw Fail("stack is empty");
        }
        return _stack[^1];
    }

    /// <summary>The item just below a popped mark at <paramref name="m"/> (the target of APPENDS/SETITEMS/ADDITEMS).</summary>
    private PickleValue Below(int m)
    {
        if (m <= MarkBase)
        {
            throw Fail("stack is empty");
        }
        return _stack[m - 1];
    }

    private PickleValue Pop()
    {
        if (_stack.Count <= MarkBase)
        {
            throw Fail("stack is empty");
        }
        PickleValue v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    /// <summary>Pops the innermost mark; returns the stack index it pointed at and the count of items above it.</summary>
    private int PopMark(out int count)
    {
        if (_marks.Count == 0)
        {
            throw Fail("no MARK on the stack");
        }
        int m = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        count = _stack.Count - m;
        return m;
    }

    private void DropFrom(int index) => _stack.RemoveRange(index, _stack.Count - index);

    private void MemoPut(long index)
    {
        PickleValue v = Top();
        if (index >= 0 && index < _memoDense.Length)
        {
            if (_memoDense[index] is null && _memoSparse?.Remove(index) != true)
            {
                _memoCount++; // a new index (one put in the dictionary before the array grew over it moves here)
            }
            _memoDense[index] = v;
            return;
        }
        if (index >= 0 && index <= 2 * (long)_memoCount + 16 && (_memoSparse is null || !_memoSparse.ContainsKey(index)))
        {
            Array.Resize(ref _memoDense, (int)Math.Max(index + 1, Math.Max(16, 2L * _memoDense.Length)));
            _memoDense[index] = v;
            _memoCount++;
            return;
        }
        _memoSparse ??= [];
        if (_memoSparse.TryAdd(index, v))
        {
            _memoCount++;
        }
        else
        {
            _memoSparse[index] = v;
        }
    }

    private void MemoGet(long index)
    {
        PickleValue? v = index >= 0 && index < _memoDense.Length ? _memoDense[index] : null;
        if (v is null && (_memoSparse is null || !_memoSparse.TryGetValue(index, out v)))
        {
            throw Fail($"memo entry {index} not found");
        }
        SharesContainers |= v is PickleBytes or PickleTuple or PickleList or PickleDict;
        Push(v);
    }

    private void PushPersistentId(PickleValue pid)
    {
        var p = new PicklePersistentId(pid);
        (_persistentIds ??= []).Add(p);
        Push(p);
    }

    private void AppendTo(PickleValue target, PickleValue v)
    {
        switch (target)
        {
            case PickleList l:
                l.Add(v);
                break;
            case PickleObject o:
                o.AddListItem(v);
                break;
            default:
                throw Fail($"append to {target.Describe()} (PK-9)");
        }
    }

    private void SetPairs(PickleValue target, int m, int n)
    {
        for (int i = 0; i < n; i += 2)
        {
            SetOn(target, _stack[m + i], _stack[m + i + 1]);
        }
    }

    private void SetOn(PickleValue target, PickleValue key, PickleValue value)
    {
        switch (target)
        {
            case PickleDict dict:
                try
                {
                    dict.Set(key, value);
                }
                catch (PickleException e)
                {
                    throw Fail(e.What);
                }
                break;
            case PickleObject o:
                o.AddDictItem(key, value);
                break;
            default:
                throw Fail($"item assignment on {target.Describe()} (PK-9)");
        }
    }

    private void AddMember(PickleSet set, PickleValue v)
    {
        try
        {
            set.AddMember(v);
        }
        catch (PickleException e)
        {
            throw Fail(e.What);
        }
    }

    /// <summary>REDUCE: <c>builtins.set/frozenset(list)</c> becomes a <see cref="PickleSet"/> (PK-6); anything else an object.</summary>
    private PickleValue MakeReduce(PickleValue callable, PickleValue args)
    {
        if (callable is PickleGlobal { Module: "builtins" or "__builtin__", Name: "set" or "frozenset" } g
            && args is PickleTuple { Count: <= 1 } t && (t.Count == 0 || t[0] is PickleList))
        {
            var set = new PickleSet(frozen: g.Name == "frozenset");
            if (t.Count == 1)
            {
                foreach (PickleValue v in (PickleList)t[0])
                {
                    AddMember(set, v);
                }
            }
            return set;
        }
        return new PickleObject(PickleConstruction.Reduce, callable, args);
    }

    // ---- byte helpers (every length checked against the bytes left, PK-21) ----

    private int ReadU8(ReadOnlySpan<byte> d)
    {
        if (_pos >= d.Length)
        {
            throw Truncated(1, d);
        }
        return d[_pos++];
    }

    private long ReadU32(ReadOnlySpan<byte> d) => BinaryPrimitives.ReadUInt32LittleEndian(Take(d, 4));

    private ulong ReadU64(ReadOnlySpan<byte> d) => BinaryPrimitives.ReadUInt64LittleEndian(Take(d, 8));

    private int CheckedLength(long n, ReadOnlySpan<byte> d) => CheckedLength((ulong)n, d);

    private int CheckedLength(ulong n, ReadOnlySpan<byte> d)
    {
        if (n > (ulong)(d.Length - _pos))
        {
            throw Fail($"length {n} exceeds the {d.Length - _pos} bytes left (PK-21)");
        }
        return (int)n;
    }

    private ReadOnlySpan<byte> Take(ReadOnlySpan<byte> d, int n)
    {
        if (n > d.Length - _pos)
        {
            throw Truncated(n, d);
        }
        ReadOnlySpan<byte> s = d.Slice(_pos, n);
        _pos += n;
        return s;
    }

    private ReadOnlyMemory<byte> Slice(ReadOnlySpan<byte> d, int n)
    {
        if (n > d.Length - _pos)
        {
            throw Truncated(n, d);
        }
        ReadOnlyMemory<byte> s = _data.Slice(_pos, n);
        _pos += n;
        return s;
    }

    private ReadOnlySpan<byte> ReadLine(ReadOnlySpan<byte> d)
    {
        int nl = d[_pos..].IndexOf((byte)'\n');
        if (nl < 0)
        {
            throw Fail("text argument without its terminating newline (PK-5)");
        }
        ReadOnlySpan<byte> line = d.Slice(_pos, nl);
        _pos += nl + 1;
        return line;
    }

    private PickleException Truncated(int n, ReadOnlySpan<byte> d) =>
        Fail($"needs {n} bytes, {d.Length - _pos} left (PK-21)");

    private PickleException Fail(string what) => new(_opStart, _op, what);

    private PickleInt DecodeLong(ReadOnlySpan<byte> le)
    {
        if (le.Length == 0)
        {
            return PickleInt.Of(0);
        }
        if (le.Length <= 8)
        {
            long v = 0;
            for (int i = le.Length - 1; i >= 0; i--)
            {
                v = (v << 8) | le[i];
            }
            int shift = 64 - (8 * le.Length);
            return PickleInt.Of(shift == 0 ? v : (v << shift) >> shift);
        }
        return PickleInt.Of(new BigInteger(le, isUnsigned: false, isBigEndian: false));
    }
}
