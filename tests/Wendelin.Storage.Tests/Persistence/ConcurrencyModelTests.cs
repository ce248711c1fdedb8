using System.Collections.Concurrent;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Wendelin.Storage.BTrees;
using Wendelin.Storage.Persistence;
using Wendelin.TestSupport;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Persistence;

/// <summary>
/// Model-based property (spec/objects.md OB-31..OB-35, OB-23): random operations on a PersistentMapping and an
/// OOBTree through three connections, each running on its own thread, with commits, aborts, savepoints and
/// rollbacks and the conflicts they cause, always agree with a model of what each connection must see — its
/// snapshot plus its own changes. The model predicts conflicts where ZODB must raise them (the same mapping, the
/// same tree key changed since the snapshot) and allows them only where they may arise (the same tree changed).
/// </summary>
public sealed class ConcurrencyModelTests(ITestOutputHelper output)
{
    private const int Connections = 3;
    private static readonly string[] Keys = [.. Enumerable.Range(0, 90).Select(i => "k" + i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture)), "\uff5e", "\U0001f600"];

    private abstract record Op(int Conn);

    private sealed record SetOp(int Conn, bool Tree, string Key, long Value) : Op(Conn);

    private sealed record DelOp(int Conn, bool Tree, string Key) : Op(Conn);

    private sealed record CommitOp(int Conn) : Op(Conn);

    private sealed record AbortOp(int Conn) : Op(Conn);

    private sealed record SavepointOp(int Conn) : Op(Conn);

    private sealed record RollbackOp(int Conn) : Op(Conn);

    private sealed record CheckOp(int Conn) : Op(Conn);

    private static Gen<Op> OpGen() =>
        from c in Gen.Choose(0, Connections - 1)
        from op in Gen.Frequency(
            (10, from tree in Gen.Elements(false, true, true)
                from k in Gen.Elements(Keys)
                from v in Gen.Choose(0, 1000)
                select (Op)new SetOp(c, tree, k, v)),
            (3, from tree in Gen.Elements(false, true)
                from k in Gen.Elements(Keys)
                select (Op)new DelOp(c, tree, k)),
            (3, Gen.Constant((Op)new CommitOp(c))),
            (1, Gen.Constant((Op)new AbortOp(c))),
            (1, Gen.Constant((Op)new SavepointOp(c))),
            (1, Gen.Constant((Op)new RollbackOp(c))),
            (2, Gen.Constant((Op)new CheckOp(c))))
        select op;

    [Theory]
    [InlineData("memory")]
    [InlineData("filestorage")]
    public void Three_connections_on_three_threads_agree_with_the_model(string storageKind)
    {
        int seed = Seeds.Announce(output, nameof(Three_connections_on_three_threads_agree_with_the_model) + " " + storageKind);
        Config config = Config.QuickThrowOnFailure.WithMaxTest(40)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd((ulong)seed), FSharpOption<int>.None)));
        int conflicts = 0, commits = 0;
        Prop.ForAll(Gen.ListOf(OpGen(), 120).Select(l => l.ToArray()).ToArbitrary(), ops =>
        {
            (int c, int k) = Run(ops, storageKind == "memory" ? new MemoryStorage() : Fs.FileStorage.OpenInMemory());
            commits += c;
            conflicts += k;
        }).Check(config);
        output.WriteLine($"{commits} commits, {conflicts} conflicts checked against the model");
        Assert.True(commits > 0 && conflicts > 0, "the runs exercised both outcomes");
    }

    /// <summary>What one connection must see: its snapshot (a committed version) and its changes since.</summary>
    private sealed class ConnModel
    {
        public int Snapshot;
        public Dictionary<string, long?> MapDelta = [];
        public Dictionary<string, long?> TreeDelta = [];
        public bool MapTouched;
        public bool TreeTouched;
        public List<(Dictionary<string, long?> Map, Dictionary<string, long?> Tree, bool MapTouched, bool TreeTouched, Savepoint Sp)> Savepoints = [];
    }

    private sealed record Commit(int Conn, bool Map, HashSet<string> TreeKeys, bool Tree);

    private static (int Commits, int Conflicts) Run(Op[] ops, IStorage storage)
    {
        using var db = new Database(storage);
        using (Connection setup = db.Open())
        {
            setup.Root["m"] = new PersistentMapping();
            setup.Root["t"] = new OOBTree();
            setup.TransactionManager.Commit();
        }
        var versions = new List<(Dictionary<string, long> Map, SortedDictionary<string, long> Tree)> { ([], new(Comparer<string>.Create(PythonValues.CompareCodePoints))) };
        var log = new List<Commit> { new(-1, false, [], false) };
        var workers = new Worker[Connections];
        var conns = new Connection[Connections];
        var models = new ConnModel[Connections];
        int commits = 0, conflicts = 0;
        try
        {
            for (int i = 0; i < Connections; i++)
            {
                workers[i] = new Worker();
                int n = i;
                conns[i] = workers[i].Run(() => db.Open());
                models[i] = new ConnModel { Snapshot = 0 };
            }
            foreach (Op op in ops)
            {
                Connection conn = conns[op.Conn];
                ConnModel m = models[op.Conn];
                Worker w = workers[op.Conn];
                switch (op)
                {
                    case SetOp s:
                        w.Run(() =>
                        {
                            if (s.Tree)
                            {
                                ((OOBTree)conn.Root["t"]!)[s.Key] = s.Value;
                            }
                            else
                            {
                                ((PersistentMapping)conn.Root["m"]!)[s.Key] = s.Value;
                            }
                        });
                        (s.Tree ? m.TreeDelta : m.MapDelta)[s.Key] = s.Value;
                        if (s.Tree)
                        {
                            m.TreeTouched = true;
                        }
                        else
                        {
                            m.MapTouched = true;
                        }
                        break;
                    case DelOp d:
                        {
                            bool present = View(versions[m.Snapshot], m, d.Tree).ContainsKey(d.Key);
                            bool removed = w.Run(() => d.Tree ? ((OOBTree)conn.Root["t"]!).Remove(d.Key) : ((PersistentMapping)conn.Root["m"]!).Remove(d.Key));
                            Assert.Equal(present, removed);
                            if (d.Tree)
                            {
                                // walking the tree to delete asks for its nodes to stay current (OB-35), found or not
                                m.TreeTouched = true;
                            }
                            if (present)
                            {
                                (d.Tree ? m.TreeDelta : m.MapDelta)[d.Key] = null;
                                if (d.Tree)
                                {
                                    m.TreeTouched = true;
                                }
                                else
                                {
                                    m.MapTouched = true;
                                }
                            }
                            break;
                        }
                    case CommitOp:
                        {
                            var others = log.Skip(m.Snapshot + 1).ToList();
                            bool mapByOthers = others.Any(c => c.Map), treeByOthers = others.Any(c => c.Tree);
                            var keysByOthers = new HashSet<string>(others.SelectMany(c => c.TreeKeys));
                            bool must = (m.MapTouched && mapByOthers) || m.TreeDelta.Keys.Any(keysByOthers.Contains);
                            bool may = must || (m.TreeTouched && treeByOthers);
                            Exception? error = w.Run(() =>
                            {
                                try
                                {
                                    conn.TransactionManager.Commit();
                                    return null;
                                }
                                catch (ConflictException ex)
                                {
                                    return (Exception)ex;
                                }
                            });
                            if (error is null)
                            {
                                Assert.False(must, $"connection {op.Conn} committed although another transaction changed what it changed");
                                bool wrote = m.MapTouched || m.TreeTouched;
                                if (wrote)
                                {
                                    var latest = versions[^1];
                                    var map = new Dictionary<string, long>(latest.Map);
                                    var tree = new SortedDictionary<string, long>(latest.Tree, latest.Tree.Comparer);
                                    Apply(map, m.MapDelta);
                                    Apply(tree, m.TreeDelta);
                                    versions.Add((map, tree));
                                    log.Add(new Commit(op.Conn, m.MapTouched, [.. m.TreeDelta.Keys], m.TreeTouched));
                                    commits++;
                                }
                            }
                            else
                            {
                                Assert.True(may, $"connection {op.Conn} got an unexpected conflict: {error.Message}");
                                conflicts++;
                            }
                            Reset(m, versions.Count - 1);
                            break;
                        }
                    case AbortOp:
                        w.Run(() => conn.TransactionManager.Abort());
                        Reset(m, versions.Count - 1);
                        break;
                    case SavepointOp:
                        {
                            Savepoint sp = w.Run(() => conn.TransactionManager.Savepoint());
                            m.Savepoints.Add((new(m.MapDelta), new(m.TreeDelta), m.MapTouched, m.TreeTouched, sp));
                            break;
                        }
                    case RollbackOp:
                        if (m.Savepoints.Count > 0)
                        {
                            var s = m.Savepoints[^1];
                            w.Run(() => s.Sp.Rollback());
                            m.MapDelta = new(s.Map);
                            m.TreeDelta = new(s.Tree);
                            m.MapTouched = s.MapTouched;
                            // a tree node changed after the savepoint may have been written before it: "touched" stays
                        }
                        break;
                    case CheckOp:
                        {
                            var expectMap = View(versions[m.Snapshot], m, tree: false);
                            var expectTree = View(versions[m.Snapshot], m, tree: true);
                            (KeyValuePair<object, object?>[] map, KeyValuePair<object, object?>[] tree) = w.Run(() =>
                            {
                                var t = (OOBTree)conn.Root["t"]!;
                                t.Check();
                                return (((PersistentMapping)conn.Root["m"]!).ToArray(), t.ToArray());
                            });
                            Assert.Equal(expectMap.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)),
                                map.Select(kv => ((string)kv.Key, (long)kv.Value!)).OrderBy(kv => kv.Item1, StringComparer.Ordinal));
                            var sorted = expectTree.OrderBy(kv => kv.Key, Comparer<string>.Create(PythonValues.CompareCodePoints)).Select(kv => (kv.Key, kv.Value));
                            Assert.Equal(sorted, tree.Select(kv => ((string)kv.Key, (long)kv.Value!)));
                            break;
                        }
                }
            }
            for (int i = 0; i < Connections; i++)
            {
                Connection conn = conns[i];
                workers[i].Run(() =>
                {
                    conn.TransactionManager.Abort();
                    conn.Dispose();
                });
            }
        }
        finally
        {
            foreach (Worker w in workers)
            {
                w?.Dispose();
            }
        }
        return (commits, conflicts);
    }

    private static void Reset(ConnModel m, int snapshot)
    {
        m.Snapshot = snapshot;
        m.MapDelta.Clear();
        m.TreeDelta.Clear();
        m.MapTouched = m.TreeTouched = false;
        m.Savepoints.Clear();
    }

    private static void Apply(IDictionary<string, long> target, Dictionary<string, long?> delta)
    {
        foreach ((string k, long? v) in delta)
        {
            if (v is long value)
            {
                target[k] = value;
            }
            else
            {
                target.Remove(k);
            }
        }
    }

    private static Dictionary<string, long> View((Dictionary<string, long> Map, SortedDictionary<string, long> Tree) version, ConnModel m, bool tree)
    {
        var view = new Dictionary<string, long>(tree ? version.Tree : version.Map);
        Apply(view, tree ? m.TreeDelta : m.MapDelta);
        return view;
    }

    /// <summary>A thread that owns one connection: every call on it runs there.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly BlockingCollection<Action> _work = [];
        private readonly Thread _thread;

        public Worker()
        {
            _thread = new Thread(() =>
            {
                foreach (Action a in _work.GetConsumingEnumerable())
                {
                    a();
                }
            })
            { IsBackground = true };
            _thread.Start();
        }

        public void Run(Action action) => Run<object?>(() =>
        {
            action();
            return null;
        });

        public T Run<T>(Func<T> func)
        {
            T result = default!;
            Exception? error = null;
            using var done = new ManualResetEventSlim();
            _work.Add(() =>
            {
                try
                {
                    result = func();
                }
                catch (Exception ex)
                {
                    error = ex;
                }
                finally
                {
                    done.Set();
                }
            });
            done.Wait();
            if (error is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
            }
            return result;
        }

        public void Dispose()
        {
            _work.CompleteAdding();
            _thread.Join();
            _work.Dispose();
        }
    }
}
