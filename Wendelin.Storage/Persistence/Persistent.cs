using System.Runtime.CompilerServices;

namespace Wendelin.Storage.Persistence;

/// <summary>The life states of a <see cref="Persistent"/> object (spec/objects.md OB-1).</summary>
public enum PersistentState
{
    /// <summary>Not in any database yet: no connection, no oid (a plain new object).</summary>
    Unsaved,

    /// <summary>Known by oid and class only; its state is loaded on first access.</summary>
    Ghost,

    /// <summary>Loaded and equal to its committed revision in the connection's snapshot.</summary>
    UpToDate,

    /// <summary>Changed (or new) in the current transaction: it is stored at commit.</summary>
    Changed,
}

/// <summary>
/// Base class of objects stored in a ZODB database (Python's <c>persistent.Persistent</c>, spec/objects.md
/// OB-1..OB-6). A persistent object has an oid, a serial (the tid of the revision it holds), the connection that
/// loaded it, and a <see cref="PersistentState"/>.
/// <para>
/// Subclasses call <see cref="ReadAccess"/> before reading their fields and <see cref="WriteAccess"/> before
/// changing them; the helpers <see cref="Get{T}(ref T)"/> and <see cref="Set{T}(ref T, T)"/> do that for one
/// field. Reading a ghost loads it; writing marks the object changed so that the next commit stores it.
/// The saved state is what <see cref="GetState"/> returns: by default the attribute dictionary kept by
/// <see cref="GetAttribute{T}"/>/<see cref="SetAttribute"/> (Python's <c>__dict__</c>, insertion order kept,
/// attributes this class does not know survive a load/store round trip). Override <see cref="GetState"/> and
/// <see cref="SetState"/> for other layouts (a tuple, bytes, slots).
/// </para>
/// <para>
/// A persistent object belongs to one connection and, like the connection, is used by one thread at a time.
/// </para>
/// </summary>
public abstract class Persistent
{
    private OrderedDictionary<string, object?>? _attributes;
    private object? _rawState;
    private bool _hasRawState;

    // Owned by the connection and its cache.
    internal Connection? _jar;
    internal Oid _oid;
    internal bool _hasOid;
    internal Tid _serial;
    internal PersistentState _state = PersistentState.Unsaved;
    internal bool _inSetState;
    internal object? _pidOid;
    internal Persistent? _lruPrev;
    internal Persistent? _lruNext;
    internal bool _registered;

    /// <summary>The oid, or null before the object is added to a connection (ZODB <c>_p_oid</c>).</summary>
    public Oid? PersistentOid => _hasOid ? _oid : null;

    /// <summary>The tid of the revision this object holds; <see cref="Tid.Zero"/> for a new object (ZODB <c>_p_serial</c>).</summary>
    public Tid PersistentSerial => _serial;

    /// <summary>The connection the object belongs to, or null (ZODB <c>_p_jar</c>).</summary>
    public Connection? PersistentConnection => _jar;

    /// <summary>The current state (ZODB <c>_p_status</c>).</summary>
    public PersistentState PersistentState => _state;

    /// <summary>
    /// When true, the cache's size limit never turns this object into a ghost (only invalidation does): for
    /// objects that hold volatile resources, like wendelin's <c>LivePersistent</c> (ZBigFile, ZBigArray).
    /// </summary>
    protected virtual bool KeepInCache => false;

    // ---- access protocol ----

    /// <summary>Loads the state of a ghost (ZODB <c>_p_activate</c>); marks the object used for the cache.</summary>
    public void Activate()
    {
        if (_inSetState)
        {
            return;
        }
        if (_state == PersistentState.Ghost)
        {
            _jar!.LoadState(this);
        }
        else if (_jar is not null)
        {
            _jar.Touch(this);
        }
    }

    /// <summary>Call before reading this object's fields: loads a ghost.</summary>
    protected void ReadAccess() => Activate();

    /// <summary>
    /// Call before changing this object's fields: loads a ghost and marks the object changed so that the
    /// connection stores it at commit (ZODB <c>_p_changed = True</c>). On a historical connection this throws
    /// <see cref="ReadOnlyException"/>.
    /// </summary>
    protected void WriteAccess()
    {
        if (_inSetState)
        {
            return;
        }
        Activate();
        if (_state == PersistentState.UpToDate)
        {
            _jar!.RegisterChanged(this);
        }
    }

    /// <summary>Marks the object changed (after changing something the object cannot see, like a list it holds).</summary>
    public void MarkChanged() => WriteAccess();

    /// <summary>Reads a field after loading a ghost: <c>get =&gt; Get(ref _name);</c></summary>
    protected T Get<T>(ref T field)
    {
        ReadAccess();
        return field;
    }

    /// <summary>Changes a field and marks the object changed: <c>set =&gt; Set(ref _name, value);</c></summary>
    protected void Set<T>(ref T field, T value)
    {
        WriteAccess();
        field = value;
    }

    /// <summary>
    /// Turns an up-to-date object back into a ghost to free its state (ZODB <c>_p_deactivate</c>); does nothing
    /// for changed, new or unsaved objects.
    /// </summary>
    public void Deactivate()
    {
        if (_state == PersistentState.UpToDate && _jar is not null && _hasOid)
        {
            _jar.Ghostify(this);
        }
    }

    /// <summary>
    /// Drops the in-memory state, changes included, so the next access reloads it (ZODB <c>_p_invalidate</c>);
    /// <see cref="OnInvalidate"/> runs first.
    /// </summary>
    public void Invalidate()
    {
        if (_jar is not null && _hasOid && _state is PersistentState.UpToDate or PersistentState.Changed)
        {
            OnInvalidate();
            _jar.Ghostify(this);
        }
    }

    /// <summary>
    /// Called at a transaction boundary for every object of the connection (loaded or ghost) that another
    /// transaction changed, and when this transaction's changes to the object are aborted or rolled back, just
    /// before its state is dropped; not when the cache merely deactivates it (spec/objects.md OB-5). Array files
    /// use it to drop pages that mirror the object.
    /// </summary>
    protected virtual void OnInvalidate()
    {
    }

    // ---- state ----

    /// <summary>
    /// The state saved in the record (Python <c>__getstate__</c>): by default the attribute dictionary (names
    /// starting with <c>_v_</c> or <c>_p_</c> excluded), or the raw state when the record held something else.
    /// Values are the object layer's live values (spec/objects.md OB-10).
    /// </summary>
    protected virtual object? GetState()
    {
        if (_hasRawState)
        {
            return _rawState;
        }
        var state = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        if (_attributes is not null)
        {
            foreach (KeyValuePair<string, object?> kv in _attributes)
            {
                if (!kv.Key.StartsWith("_v_", StringComparison.Ordinal) && !kv.Key.StartsWith("_p_", StringComparison.Ordinal))
                {
                    state.Add(kv.Key, kv.Value);
                }
            }
        }
        return state;
    }

    /// <summary>
    /// Sets the state loaded from a record (Python <c>__setstate__</c>): a dictionary with string keys becomes the
    /// attribute dictionary, anything else is kept as the raw state and saved back as it is.
    /// </summary>
    protected virtual void SetState(object? state)
    {
        if (state is OrderedDictionary<string, object?> fresh && ReferenceEquals(fresh.Comparer, StringComparer.Ordinal))
        {
            // the connection hands over a dictionary it made for this load: adopt it
            _attributes = fresh;
            _rawState = null;
            _hasRawState = false;
        }
        else if (state is IEnumerable<KeyValuePair<string, object?>> dict)
        {
            _attributes = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, object?> kv in dict)
            {
                _attributes[kv.Key] = kv.Value;
            }
            _rawState = null;
            _hasRawState = false;
        }
        else
        {
            _attributes = null;
            _rawState = state;
            _hasRawState = true;
        }
    }

    /// <summary>Drops the loaded state (the object becomes a ghost). Override to clear fields set by <see cref="SetState"/>.</summary>
    protected virtual void ClearState()
    {
        _attributes = null;
        _rawState = null;
        _hasRawState = false;
    }

    /// <summary>
    /// Arguments for <c>__new__</c> saved in the record's class part (Python <c>__getnewargs__</c>); null (the
    /// default) when the class has none. Objects whose class has new-args are referenced by bare oid.
    /// </summary>
    protected virtual PyTuple? GetNewArgs() => null;

    /// <summary>Whether the class defines new-args (decides the reference form, OB-12). Must not depend on the state.</summary>
    protected virtual bool HasNewArgs => false;

    // ---- attribute dictionary ----

    /// <summary>An attribute of the saved state (loads a ghost); <paramref name="fallback"/> when absent.</summary>
    protected T GetAttribute<T>(string name, T fallback = default!)
    {
        ReadAccess();
        if (_attributes is not null && _attributes.TryGetValue(name, out object? v))
        {
            return LiveValues.Convert<T>(v, name);
        }
        return fallback;
    }

    /// <summary>Sets an attribute of the saved state and marks the object changed (new names go last, like Python).</summary>
    protected void SetAttribute(string name, object? value)
    {
        ArgumentNullException.ThrowIfNull(name);
        WriteAccess();
        _attributes ??= new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        _attributes[name] = value;
        _rawState = null;
        _hasRawState = false;
    }

    /// <summary>Removes an attribute; false when it was absent.</summary>
    protected bool RemoveAttribute(string name)
    {
        WriteAccess();
        return _attributes is not null && _attributes.Remove(name);
    }

    /// <summary>The attribute names in order (loads a ghost).</summary>
    protected IReadOnlyList<string> AttributeNames
    {
        get
        {
            ReadAccess();
            return _attributes is null ? [] : [.. _attributes.Keys];
        }
    }

    internal bool TryGetAttributeRaw(string name, out object? value)
    {
        ReadAccess();
        if (_attributes is not null && _attributes.TryGetValue(name, out value))
        {
            return true;
        }
        value = null;
        return false;
    }

    public override string ToString() =>
        $"<{GetType().Name} oid {(_hasOid ? _oid.ToString() : "none")} {_state}>";

    internal int IdentityHash => RuntimeHelpers.GetHashCode(this);

    // ---- entry points for the connection, the cache and the BTree engine (the virtuals above are protected) ----

    internal bool IsKeptInCache => KeepInCache;

    internal void NotifyInvalidate() => OnInvalidate();

    /// <summary>
    /// The state to write, read at once by the writer and not kept: the attribute dictionary itself when the class
    /// keeps the default <see cref="GetState"/> and no name needs filtering out (what that copy would hold), else
    /// <see cref="GetState"/>.
    /// </summary>
    internal object? StateForWrite()
    {
        if (_hasRawState || _attributes is null || !UsesDefaultGetState(GetType()))
        {
            return GetState();
        }
        foreach (string name in _attributes.Keys)
        {
            if (name.StartsWith("_v_", StringComparison.Ordinal) || name.StartsWith("_p_", StringComparison.Ordinal))
            {
                return GetState();
            }
        }
        return _attributes;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, bool> DefaultGetState = new();

    private static bool UsesDefaultGetState(Type type) => DefaultGetState.GetOrAdd(type, static t =>
        t.GetMethod(nameof(GetState), System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic, Type.EmptyTypes)
            ?.DeclaringType == typeof(Persistent));

    internal void LoadStateFrom(object? state) => SetState(state);

    internal void DropState() => ClearState();

    internal PyTuple? NewArgs() => GetNewArgs();

    internal bool NewArgsDefined => HasNewArgs;
}
