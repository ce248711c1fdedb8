#!/usr/bin/env python3
"""Generates btree-golden.json: BTree records written by Python's BTrees package.

Run with Debian's python3-btrees (4.3.1, the version the fixtures' ZODB used), python3-persistent and
python3-zodbpickle:  /usr/bin/python3 make_btree_golden.py > btree-golden.json

Real BTrees grow the trees (splits, deletes, first-bucket links) and produce their states; a minimal jar stands in
for ZODB's Connection so that the records come out as ZODB's writer produces them: objects registered when they
change (persistent's C code calls jar.register), each registered object stored by a writer whose persistent_id
gives new objects the next oid and stacks them last-in first-out (ZODB serialize.ObjectWriter and
Connection._commit), class metadata = the class, references = (oid, class), two pickles with one memo
(zodbpickle's C pickler, protocol 3). Each scenario starts from an empty jar whose first oid is 1 (oid 0 is the
root ZODB creates first); the tree is added explicitly, so it gets oid 1.
"""
import base64, hashlib, importlib, io, json, random, sys
from persistent import Persistent
from zodbpickle.pickle import Pickler


class Jar:
    def __init__(self):
        self.last_oid = 0
        self.registered = []
        self.added = set()

    def new_oid(self):
        self.last_oid += 1
        return self.last_oid.to_bytes(8, 'big')

    def register(self, obj):
        # ZODB's Connection.register: an explicitly added object is already registered
        if obj._p_oid in self.added:
            return
        self.registered.append(obj)

    def readCurrent(self, obj):
        # BTrees ask the jar to check, at commit, that interior nodes they walked are unchanged; no record
        pass

    def add(self, obj):
        obj._p_jar = self
        obj._p_oid = self.new_oid()
        self.registered.append(obj)
        self.added.add(obj._p_oid)

    def serialize(self, obj, stack):
        f = io.BytesIO()
        p = Pickler(f, 3)

        def persistent_id(o):
            if not isinstance(o, Persistent):
                return None
            if o._p_oid is None:
                o._p_oid = self.new_oid()
                o._p_jar = self
                stack.append(o)
            return o._p_oid, type(o)

        p.persistent_id = persistent_id
        p.dump(type(obj))
        p.dump(obj.__getstate__())
        return f.getvalue()

    def commit(self):
        records = []
        stored = []
        added = self.added
        i = 0
        while i < len(self.registered):
            obj = self.registered[i]
            i += 1
            if not (obj._p_changed or obj._p_oid in added):
                continue
            stack = [obj]
            while stack:
                o = stack.pop()
                data = self.serialize(o, stack)
                # oid, length, sha256 of the record, and its first 64 bytes to show where a difference starts
                records.append([o._p_oid.hex(), len(data), hashlib.sha256(data).hexdigest(),
                                base64.b64encode(data[:64]).decode()])
                stored.append(o)
        for o in stored:
            o._p_changed = False
        self.registered = []
        self.added = set()
        return records


def strings(rng, n):
    alphabet = 'abcxyz\u00e9\u4e2d\uff5e\ufffd\U0001f600\U00010348'
    out = set()
    while len(out) < n:
        out.add(''.join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))))
    return sorted(out)


def scenario(name, family, kind, steps):
    """steps: list of lists of ops; op = ['set', k, v] | ['del', k] | ['add', k] | ['remove', k]."""
    mod = importlib.import_module('BTrees.%sBTree' % family)
    cls = getattr(mod, family + ('TreeSet' if kind == 'set' else 'BTree'))
    jar = Jar()
    tree = cls()
    jar.add(tree)
    txns = []
    for ops in steps:
        for op in ops:
            if op[0] == 'set':
                tree[op[1]] = op[2]
            elif op[0] == 'del':
                del tree[op[1]]
            elif op[0] == 'add':
                tree.add(op[1])
            elif op[0] == 'remove':
                tree.remove(op[1])
        tree._check()
        txns.append({'ops': ops, 'records': jar.commit(), 'items': len(tree)})
    return {'name': name, 'family': family, 'kind': kind, 'transactions': txns}


def main():
    rng = random.Random(20261101)
    out = []

    # OO with str keys: code-point order (astral vs BMP above the surrogates), splits, deletes emptying buckets
    keys = strings(rng, 700)
    rng.shuffle(keys)
    t1 = [['set', k, rng.randint(-1000, 1000)] for k in keys[:600]]
    present = keys[:600]
    dels = rng.sample(present, 250)
    t2 = [['del', k] for k in dels] + [['set', k, 'v' + str(i)] for i, k in enumerate(keys[600:])]
    remaining = sorted(set(keys) - set(dels))
    t3 = [['del', k] for k in remaining[:120]] + [['set', remaining[200], None]]
    out.append(scenario('OO-str', 'OO', 'map', [t1, t2, t3]))

    # OO with int keys large enough for the root to split (interior 250, root splits at 500 children)
    ks = rng.sample(range(-10**6, 10**6), 11000)
    t1 = [['set', k, k % 97] for k in ks]
    t2 = [['del', k] for k in rng.sample(ks, 1500)] + [['set', k, 'x'] for k in rng.sample(range(10**6, 2 * 10**6), 300)]
    out.append(scenario('OO-int-root-split', 'OO', 'map', [t1, t2]))

    # small tree: inline bucket, then split, then back to one bucket that has an oid
    t1 = [['set', k, 'v%d' % k] for k in (5, -3, 2**40)]
    t2 = [['set', k, 'w%d' % k] for k in range(100)]
    t3 = [['del', k] for k in list(range(100)) + [-3]]
    out.append(scenario('LO-small', 'LO', 'map', [t1, t2, t3]))

    def distinct(n, lo, hi):
        out = set()
        while len(out) < n:
            out.add(rng.randint(lo, hi))
        return sorted(out)

    ints32 = lambda n: distinct(n, -2**31, 2**31 - 1)
    ints64 = lambda n: distinct(n, -2**63, 2**63 - 1)
    for fam, kgen, vgen in [
        ('IO', ints32, lambda k: str(k)),
        ('LO', ints64, lambda k: [k, 'x']),
        ('OI', lambda n: strings(rng, n), lambda k: rng.randint(-2**31, 2**31 - 1)),
        ('OL', lambda n: rng.sample(range(-10**12, 10**12), n), lambda k: rng.randint(-2**63, 2**63 - 1)),
        ('II', ints32, lambda k: rng.randint(-2**31, 2**31 - 1)),
        ('LL', ints64, lambda k: rng.randint(-2**63, 2**63 - 1)),
    ]:
        ks = kgen(1500)
        rng.shuffle(ks)
        t1 = [['set', k, vgen(k)] for k in ks[:1200]]
        t2 = [['del', k] for k in rng.sample(ks[:1200], 400)] + [['set', k, vgen(k)] for k in ks[1200:]] \
            + [['set', k, vgen(k)] for k in rng.sample(ks[:1200], 50)]
        out.append(scenario(fam + '-mixed', fam, 'map', [t1, t2]))

    for fam, kgen in [('OO', lambda n: strings(rng, n)), ('LL', ints64), ('II', ints32)]:
        ks = kgen(900)
        rng.shuffle(ks)
        t1 = [['add', k] for k in ks[:800]]
        t2 = [['remove', k] for k in rng.sample(ks[:800], 300)] + [['add', k] for k in ks[800:]]
        out.append(scenario(fam + '-treeset', fam, 'set', [t1, t2]))

    json.dump({'generator': 'make_btree_golden.py', 'btrees': '4.3.1', 'scenarios': out}, sys.stdout,
              ensure_ascii=True, separators=(',', ':'))


main()
