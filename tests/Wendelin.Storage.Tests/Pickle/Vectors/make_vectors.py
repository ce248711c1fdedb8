# Generates python-vectors.json: pickles written by CPython's C pickler (stdlib _pickle, the code zodbpickle
# forks). Run with CPython 3.8+: `python3 make_vectors.py > python-vectors.json`. The C# tests build the same
# values (PythonVectorTests.cs, by the names below) and compare bytes (protocol 3) or decoded values (0-5).
import argparse, collections, datetime, hashlib, io, json, pickle, sys

def fresh(s):  # a str object not shared with any other (no constant folding, no interning)
    return ''.join(list(s)) if len(s) > 1 else s

class P:  # a persistent object: pickled through persistent_id as (oid, class), like ZODB
    def __init__(self, oid): self._p_oid = oid
class Q(P):  # a class with __getnewargs__: referenced by bare oid
    def __getnewargs__(self): return ()

class ZodbLikePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Q): return obj._p_oid
        if isinstance(obj, P): return (obj._p_oid, type(obj))
        return None

def dumps(value, protocol=3, fast=False, zodb=False):
    f = io.BytesIO()
    p = (ZodbLikePickler if zodb else pickle.Pickler)(f, protocol)
    p.fast = fast
    p.dump(value)
    return f.getvalue()

def big(v): return v
rec = []; rec.append(rec)
rl = []; rt = (rl,); rl.append(rt)
shared = [1]
p1, p2, q3 = P(b'\0'*7 + b'\1'), P(b'\0'*7 + b'\2'), Q(b'\0'*7 + b'\3')

writer = {
    'list_0': [], 'list_1': [7], 'list_1000': list(range(1000)), 'list_1001': list(range(1001)),
    'list_2000': list(range(2000)),
    'dict_1': {fresh('k'): 1}, 'dict_2': {1: 2, 3: 4}, 'dict_1000': {i: i for i in range(1000)},
    'dict_1001': {i: i for i in range(1001)}, 'dict_2000': {i: -i for i in range(2000)},
    'ints': [0, 1, 255, 256, 65535, 65536, -1, -129, 2**31 - 1, -2**31, 2**31, -2**31 - 1, 2**63 - 1, 2**63,
             -2**63, -2**63 - 1, 2**64, -2**39, -2**40, 2**100, -2**100, 10**1000, -(10**1000)],
    'floats': [0.0, -0.0, 1.5, float('inf'), float('-inf'), 1e300, 5e-324, 3.14159],
    'strings': ['', '', 'a', 'a', '\xe9', '\u20ac', '\U0001f600', '\ud800', fresh('ab'), fresh('ab'), 'x' * 300],
    'bytes': [b'', b'', b'\x00', b'\x00', bytes(300), b'abc'],
    'tuples': [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), ((),), (None, True, False)],
    'shared': [shared, shared, (shared,)],
    'recursive_list': rec,
    'recursive_tuple': rt,
    'sets': [{1, 2, 3}, frozenset({4}), set()],
    'nested': {fresh('a'): {fresh('b'): [1, {fresh('c'): None}]}, fresh('d'): True, fresh('e'): False},
    'ordered_dict_1': collections.OrderedDict([(fresh('a'), 1)]),
    'ordered_dict_3': collections.OrderedDict([(fresh('a'), 1), (fresh('b'), 2), (fresh('c'), 3)]),
    'namespace': argparse.Namespace(a=1),
    'date': datetime.date(2020, 1, 2),
    'complex': complex(1, 2),
    'global': collections.OrderedDict,
    'pers': [p1, p2, p1, q3, q3],
}
out = {'writer': {}, 'reader': {}, 'fast': {}}
for name, v in writer.items():
    b = dumps(v, 3, zodb=(name == 'pers'))
    out['writer'][name] = {'len': len(b), 'sha256': hashlib.sha256(b).hexdigest(),
                           'hex': b.hex() if len(b) <= 4096 else None}

# Reader: the same value pickled with protocols 0..5 must decode like its protocol-3 pickle.
reader = {
    'scalars': [None, True, False, 0, -1, 255, 65536, 2**31, -2**40, 2**70, -(2**70), 1.5, -0.0, 1e-300,
                float('inf'), 'text', '\xe9\u20ac\U0001f600', 'back\\slash\nnew line', ''],
    'containers': [(), (1,), (1, 2, 3, 4, 5), [1, [2, [3]]], {fresh('k'): [1, 2]}, {1: 'one', (2, 3): 'tuple key'}],
    'sets': [{1, 2, 3}, frozenset({'a'}), set()],
    'global': [collections.OrderedDict, datetime.date],
    'shared': [shared, shared],
    'recursive_list': rec,
    'big_list': list(range(2500)),
    'bytearray': bytearray(b'\x00\x01\xff'),
}
for name, v in reader.items():
    out['reader'][name] = {str(p): dumps(v, p).hex() for p in range(6)
                           if not (name == 'bytearray' and p < 3)}
out['fast']['index_like'] = dumps((b'\0' * 6, b'\0\1' + b'\0\0\0\0\0\x64'), 3, fast=True).hex()
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()
