"""Consistent hashing: the kernels against plain-Python references, compatibility
with uhashring and jump-consistent-hash, the papers' properties, and errors.

The references below transcribe the specs (RFC 1321 through hashlib,
MurmurHash3, the jump paper's loop, Maglev's population, the ketama layouts),
in Python, one rule at a time.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import struct

import jump
import mmh3
import numpy as np
import pytest
import uhashring
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsched import DuplicateError, NodeNotFoundError, ValidationError
from fastsched._kernels import hashpick, hashring
from fastsched.hashing import (
    MAX_POINTS,
    BoundedLoads,
    HashRing,
    KeyTypeError,
    Maglev,
    Rendezvous,
    fast_hash,
    is_prime,
    jump_hash,
)

M64 = (1 << 64) - 1
UNICODE_KEYS = ["", "a", "é", "日本語のキー", "emoji \U0001f600", "x" * 1000, "ключ",
                "a\tb\nc", "λ" * 60, "nul\0inside"]


def names(n, prefix="node"):
    return [f"{prefix}-{i}" for i in range(n)]


# -- references ---------------------------------------------------------------------------


def ref_ketama_hash(key) -> int:
    return int.from_bytes(hashlib.md5(str(key).encode()).digest()[:4], "little")


def ref_ketama_points(nodes, weights, vnodes=160, libketama=False):
    """(sorted distinct points, point -> owner) of a ketama continuum: §1 and §2a."""
    n, total, digests = len(nodes), sum(weights), vnodes // 4
    ring = {}
    for name, w in zip(nodes, weights):
        if libketama:
            pct = f32(f32(w) / f32(total))
            ks = math.floor(f32(pct * float(digests) * f32(n)))
        else:
            ks = digests * n * w // total
        for k in range(ks):
            digest = hashlib.md5(f"{name}-{k}".encode()).digest()
            for r in range(4):
                ring[int.from_bytes(digest[4 * r:4 * r + 4], "little")] = name  # last writer
    return sorted(ring), ring


def f32(x: float) -> float:
    """x rounded to a C float."""
    return struct.unpack("f", struct.pack("f", x))[0]


def ref_ring_lookup(points, ring, h, left=False):
    p = (bisect.bisect_left if left else bisect.bisect_right)(points, h)
    return ring[points[0 if p == len(points) else p]]


def ref_uhashring_points(nodes, weights, vnodes=160):
    ring = {}
    for name, w in zip(nodes, weights):
        for k in range(vnodes * w):
            ring[int(hashlib.md5(f"{name}-{k}".encode()).hexdigest(), 16)] = name
    return sorted(ring), ring


def ref_fmix64(k):
    k ^= k >> 33
    k = k * 0xFF51AFD7ED558CCD & M64
    k ^= k >> 33
    k = k * 0xC4CEB9FE1A85EC53 & M64
    return k ^ (k >> 33)


def ref_murmur3_128(data: bytes, seed: int = 0) -> tuple[int, int]:
    """MurmurHash3 x64_128, transcribed step by step."""
    c1, c2 = 0x87C37B91114253D5, 0x4CF5AD432745937F

    def rotl(x, r):
        return ((x << r) | (x >> (64 - r))) & M64

    h1 = h2 = seed
    blocks = len(data) // 16
    for i in range(blocks):
        k1 = int.from_bytes(data[16 * i:16 * i + 8], "little")
        k2 = int.from_bytes(data[16 * i + 8:16 * i + 16], "little")
        k1 = rotl(k1 * c1 & M64, 31) * c2 & M64
        h1 ^= k1
        h1 = (rotl(h1, 27) + h2) & M64
        h1 = (h1 * 5 + 0x52DCE729) & M64
        k2 = rotl(k2 * c2 & M64, 33) * c1 & M64
        h2 ^= k2
        h2 = (rotl(h2, 31) + h1) & M64
        h2 = (h2 * 5 + 0x38495AB5) & M64
    tail = data[16 * blocks:]
    if len(tail) > 8:
        k2 = int.from_bytes(tail[8:], "little")
        h2 ^= rotl(k2 * c2 & M64, 33) * c1 & M64
    if tail:
        k1 = int.from_bytes(tail[:8], "little")
        h1 ^= rotl(k1 * c1 & M64, 31) * c2 & M64
    h1 ^= len(data)
    h2 ^= len(data)
    h1 = (h1 + h2) & M64
    h2 = (h2 + h1) & M64
    h1, h2 = ref_fmix64(h1), ref_fmix64(h2)
    h1 = (h1 + h2) & M64
    h2 = (h2 + h1) & M64
    return h1, h2


def ref_jump(key: int, buckets: int) -> int:
    """The paper's loop, in Python floats (IEEE doubles, as its C++)."""
    key &= M64
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & M64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def ref_rendezvous(key_hash, node_hashes, weights=None, top=1):
    scores = []
    for j, h in enumerate(node_hashes):
        x = ref_fmix64(key_hash ^ h)
        if weights is None:
            scores.append((-x, j))
        else:
            u = ((x >> 11) + 0.5) / 2**53
            scores.append((-math.log(u) / weights[j], j))
    return [j for _, j in sorted(scores)[:top]]


def ref_maglev(nodes, m, weights=None):
    """Maglev's population loop (§3.4), with fastsched's weighted turns."""
    perms = []
    for name in nodes:
        h1, h2 = ref_murmur3_128(name.encode())
        perms.append((h1 % m, h2 % (m - 1) + 1))
    nxt = [0] * len(nodes)
    taken = [0] * len(nodes)
    entry = [-1] * m
    filled, rnd = 0, 0
    wmax = max(weights) if weights else 1
    while True:
        rnd += 1
        for j, (offset, skip) in enumerate(perms):
            if weights and taken[j] > 0 and (taken[j] + 1) * wmax > rnd * weights[j]:
                continue
            c = (offset + nxt[j] * skip) % m
            while entry[c] >= 0:
                nxt[j] += 1
                c = (offset + nxt[j] * skip) % m
            entry[c] = j
            nxt[j] += 1
            taken[j] += 1
            filled += 1
            if filled == m:
                return entry


def ref_bounded(points, owners, positions, caps):
    """Each key in turn: first point clockwise (bisect_right) whose owner has room."""
    load = [0] * len(caps)
    out, moved = [], 0
    for h in positions:
        p = bisect.bisect_right(points, h) % len(points)
        first = owners[p]
        while load[owners[p]] >= caps[owners[p]]:
            p = (p + 1) % len(points)
        load[owners[p]] += 1
        out.append(owners[p])
        moved += owners[p] != first
    return out, load, moved


# -- hash primitives ----------------------------------------------------------------------


def test_md5_matches_hashlib_across_block_boundaries():
    rng = random.Random(1)
    data = [bytes(rng.randrange(256) for _ in range(n)) for n in range(0, 200)]
    data += [b"\0" * 55, b"\0" * 56, b"\xff" * 64, b"x" * 1000]
    hi = np.empty(len(data), np.uint64)
    lo = np.empty(len(data), np.uint64)
    assert hashpick.hash_keys(data, hashpick.HASHES["md5"], hashpick.NORMS["raw"], hi, lo) == -1
    for d, h, lo_ in zip(data, hi.tolist(), lo.tolist()):
        assert (h << 64) | lo_ == int(hashlib.md5(d).hexdigest(), 16)


def test_murmur3_matches_reference_mmh3_and_smhasher_vector():
    rng = random.Random(2)
    data = [bytes(rng.randrange(256) for _ in range(n)) for n in range(0, 80)] + [b"x" * 1000]
    hi = np.empty(len(data), np.uint64)
    lo = np.empty(len(data), np.uint64)
    hashpick.hash_keys(data, hashpick.HASHES["fast"], hashpick.NORMS["raw"], hi, lo)
    for d, h1, h2 in zip(data, hi.tolist(), lo.tolist()):
        assert (h1, h2) == ref_murmur3_128(d) == mmh3.hash64(d, signed=False)
    assert fast_hash(data).tolist() == hi.tolist()
    # SMHasher's verification value for MurmurHash3_x64_128: hash keys
    # [0], [0, 1], ..., [0..254] with seed 256 - len, hash the concatenated
    # 16-byte digests with seed 0, read the first 4 bytes little-endian.
    digests = b""
    for n in range(256):
        h1, h2 = ref_murmur3_128(bytes(range(n)), 256 - n)
        digests += h1.to_bytes(8, "little") + h2.to_bytes(8, "little")
    h1, _ = ref_murmur3_128(digests, 0)
    assert h1 & 0xFFFFFFFF == 0x6384BA69


def test_ring_points_kernel_matches_reference():
    nodes = ["a", "node-1", "é" * 10, "x" * 52, "y" * 80]
    encoded = [n.encode() for n in nodes]
    offsets = np.cumsum([0] + [len(e) for e in encoded]).astype(np.int64)
    starts = np.array([0, 3, 0, 7, 1], np.int64)
    counts = np.array([5, 2, 9, 0, 4], np.int64)
    messages = [f"{n}-{k}".encode() for n, s0, c in zip(nodes, starts, counts)
                for k in range(s0, s0 + c)]
    for kind in ("ketama", "md5", "fast"):
        per = 4 if kind == "ketama" else 1
        hi = np.empty(len(messages) * per, np.uint64)
        lo = None if kind == "ketama" else np.empty(len(messages), np.uint64)
        assert hashring.ring_points(b"".join(encoded), offsets, starts, counts,
                                    hashpick.HASHES[kind], hi, lo) == len(hi)
        if kind == "ketama":
            expect = [int.from_bytes(hashlib.md5(m).digest()[4 * r:4 * r + 4], "little") << 32
                      for m in messages for r in range(4)]
            assert hi.tolist() == expect
        elif kind == "md5":
            assert [(h << 64) | low for h, low in zip(hi.tolist(), lo.tolist())] == [
                int(hashlib.md5(m).hexdigest(), 16) for m in messages]
        else:
            assert list(zip(hi.tolist(), lo.tolist())) == [ref_murmur3_128(m) for m in messages]


def test_key_normalisation_per_mode():
    ketama = HashRing(names(20))
    fast = HashRing(names(20), mode="fast")
    lib = HashRing(names(20), mode="libketama")
    u = uhashring.HashRing(names(20), hash_fn="ketama")
    # ketama/uhashring: str(key): ints like their text, bytes like their repr
    assert ketama.get_node(42) == ketama.get_node("42") == u.get_node(42)
    assert ketama.get_node(b"abc") == ketama.get_node("b'abc'") == u.get_node(b"abc")
    assert ketama.hash_keys([b"abc"])[0] == ref_ketama_hash("b'abc'") << 32
    # fast: bytes as they are; libketama: also cut at NUL
    assert fast.hash_keys([b"abc", "abc"]).tolist() == [mmh3.hash64(b"abc", signed=False)[0]] * 2
    assert lib.hash_keys(["ab\0cd", b"ab\0", "ab"]).tolist() == [ref_ketama_hash("ab") << 32] * 3
    assert ketama.get_node(np.int64(7)) == ketama.get_node(7)
    numpy_ints = ketama.get_nodes(list(np.arange(50)))
    assert numpy_ints.tolist() == ketama.get_nodes(list(range(50))).tolist()


# -- ketama and uhashring compatibility ---------------------------------------------------


def random_config(rng, weighted):
    n = rng.randrange(1, 40)
    alphabet = "abcxyz-_.é日0123456789"
    nodes = list(dict.fromkeys("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30)))
                               for _ in range(n)))
    weights = [rng.randrange(1, 6) if weighted else 1 for _ in nodes]
    return nodes, weights


def random_keys(rng, count):
    keys = [f"key-{rng.getrandbits(40)}" for _ in range(count)]
    return keys + UNICODE_KEYS + [rng.getrandbits(70), -5, b"raw-bytes"]


@pytest.mark.parametrize("weighted", [False, True])
def test_ketama_mode_is_uhashring_ketama(weighted):
    rng = random.Random(10 + weighted)
    for _ in range(12):
        nodes, weights = random_config(rng, weighted)
        ring = HashRing(dict(zip(nodes, weights)))
        theirs = uhashring.HashRing(dict(zip(nodes, weights)), hash_fn="ketama")
        keys = random_keys(rng, 400)
        assert ring.get_nodes(keys, names=True).tolist() == [theirs.get_node(k) for k in keys]
        assert [ring.get_node(k) for k in keys[:50]] == [theirs.get_node(k) for k in keys[:50]]
        assert ring.get_points() == sorted(set(theirs.get_points()))
        assert ring.distribution == dict(theirs.distribution)
        key = keys[0]
        n = rng.randrange(1, len(nodes) + 1)
        assert ring.get_nodes_n(key, n) == [c["nodename"] for c in theirs.range(key, size=n)]


@pytest.mark.parametrize("weighted", [False, True])
def test_uhashring_mode_is_uhashring_default(weighted):
    rng = random.Random(20 + weighted)
    for _ in range(8):
        nodes, weights = random_config(rng, weighted)
        ring = HashRing(dict(zip(nodes, weights)), mode="uhashring")
        theirs = uhashring.HashRing(dict(zip(nodes, weights)))
        keys = random_keys(rng, 300)
        assert ring.get_nodes(keys, names=True).tolist() == [theirs.get_node(k) for k in keys]
        assert ring.get_points() == theirs.get_points()
        assert [ring.get_node(k) for k in keys[:50]] == [theirs.get_node(k) for k in keys[:50]]
        # pre-hashed: the top 64 bits of the 128-bit hash find the same node
        assert ring.get_nodes(ring.hash_keys(keys)).tolist() == ring.get_nodes(keys).tolist()


def test_long_node_names_hash_like_short_ones():
    # "<name>-<k>" longer than one MD5 block's 55 bytes takes the one-at-a-time path
    nodes = ["n" * 40, "m" * 54, "é" * 30, "x" * 70, "short"]
    keys = random_keys(random.Random(15), 300)
    for mode, kwargs in (("ketama", {"hash_fn": "ketama"}), ("uhashring", {})):
        theirs = uhashring.HashRing(nodes, **kwargs)
        ring = HashRing(nodes, mode=mode)
        assert ring.get_points() == sorted(set(theirs.get_points()))
        assert ring.get_nodes(keys, names=True).tolist() == [theirs.get_node(k) for k in keys]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=15, unique=True),
       st.lists(st.one_of(st.text(max_size=80), st.binary(max_size=20), st.integers()),
                max_size=60))
def test_ketama_and_uhashring_modes_on_any_text(nodes, keys):
    for mode, kwargs in (("ketama", {"hash_fn": "ketama"}), ("uhashring", {})):
        theirs = uhashring.HashRing(list(nodes), **kwargs)
        ring = HashRing(nodes, mode=mode)
        assert ring.get_nodes(keys, names=True).tolist() == [theirs.get_node(k) for k in keys]


def test_uhashring_mode_walks_and_bounded_loads_use_all_128_bits():
    nodes = names(15)
    ring = HashRing(nodes, mode="uhashring", vnodes=20)
    theirs = uhashring.HashRing(nodes, vnodes=20)
    keys = [f"k{i}" for i in range(600)]
    for key in keys[:30]:
        assert ring.get_nodes_n(key, 4) == [c["nodename"] for c in theirs.range(key, size=4)]
    points = [p for p, _ in theirs.get_points()]
    owners = [nodes.index(n) for _, n in theirs.get_points()]
    hashes = [int(hashlib.md5(k.encode()).hexdigest(), 16) for k in keys]
    result = ring.assign(keys, 1.1)
    out, load, moved = ref_bounded(points, owners, hashes, result.capacity.tolist())
    assert result.nodes.tolist() == out and result.moved == moved


@pytest.mark.parametrize("mode", ["ketama", "uhashring"])
def test_changes_track_uhashring(mode):
    rng = random.Random(30)
    kwargs = {"hash_fn": "ketama"} if mode == "ketama" else {}
    nodes = {f"n{i}": rng.randrange(1, 4) for i in range(12)}
    ring = HashRing(nodes, mode=mode)
    theirs = uhashring.HashRing(dict(nodes), **kwargs)
    keys = random_keys(rng, 300)
    for step in range(25):
        action = rng.choice(["add", "remove", "weight"])
        if action == "add" or len(ring) < 3:
            name, weight = f"x{step}", rng.randrange(1, 4)
            ring.add_node(name, weight)
            theirs.add_node(name, {"weight": weight})
        elif action == "remove":
            name = rng.choice(ring.nodes)
            ring.remove_node(name)
            theirs.remove_node(name)
        else:
            name, weight = rng.choice(ring.nodes), rng.randrange(1, 4)
            ring.set_weight(name, weight)
            theirs.add_node(name, {"weight": weight})
        assert ring.get_nodes(keys, names=True).tolist() == [theirs.get_node(k) for k in keys]


def test_ketama_collisions_go_to_the_last_node_as_in_uhashring():
    # 2,000 nodes x 160 32-bit points: about a dozen positions are generated twice.
    nodes = names(2000)
    ring = HashRing(nodes)
    points, owner = ref_ketama_points(nodes, [1] * 2000)
    pos = ring._index.positions
    assert (pos >> np.uint64(32)).tolist() == points
    assert [nodes[o] for o in ring._index.owners.tolist()] == [owner[p] for p in points]
    assert len(points) < 2000 * 160          # there were collisions
    # Just below a collided point, the key goes to its last writer; after removing
    # that node, to the other one (uhashring rebuilds in node order).
    generated = {}
    for name in nodes:
        for k in range(40):
            d = hashlib.md5(f"{name}-{k}".encode()).digest()
            for r in range(4):
                generated.setdefault(int.from_bytes(d[4 * r:4 * r + 4], "little"), []).append(name)
    shared = [(p, list(dict.fromkeys(who))) for p, who in generated.items() if len(set(who)) > 1]
    assert shared
    point, who = shared[0]
    probe = np.array([(point - 1) << 32], np.uint64)
    assert ring.get_nodes(probe, names=True)[0] == who[-1]
    ring.remove_node(who[-1])
    assert ring.get_nodes(probe, names=True)[0] == who[-2]


def test_libketama_weights_and_bisect_left():
    # ketama.c's float formula: 42/19/19 gives the heavy node 62 digests (uhashring: 63).
    lib = HashRing({"a": 42, "b": 19, "c": 19}, mode="libketama")
    ket = HashRing({"a": 42, "b": 19, "c": 19}, mode="ketama")
    assert lib.point_counts.tolist()[0] == 62 * 4 and ket.point_counts.tolist()[0] == 63 * 4
    rng = random.Random(40)
    for _ in range(6):
        nodes, weights = random_config(rng, True)
        ring = HashRing(dict(zip(nodes, weights)), mode="libketama")
        points, owner = ref_ketama_points(nodes, weights, libketama=True)
        keys = random_keys(rng, 200)
        expect = [ref_ring_lookup(points, owner, ref_ketama_hash(k), left=True)
                  for k in keys if not isinstance(k, bytes) and "\0" not in str(k)]
        got = ring.get_nodes([k for k in keys if not isinstance(k, bytes) and "\0" not in str(k)],
                             names=True)
        assert got.tolist() == expect
        # exactly on a point: bisect_left takes that point
        exact = np.array([p << 32 for p in points[:20]], np.uint64)
        assert ring.get_nodes(exact, names=True).tolist() == [owner[p] for p in points[:20]]
    # ... and bisect_right (ketama mode, same points at equal weights) the next one
    lib, ket = HashRing(names(3), mode="libketama"), HashRing(names(3), mode="ketama")
    assert lib.get_points() == ket.get_points()
    points = [p for p, _ in lib.get_points()]
    exact = np.array([p << 32 for p in points], np.uint64)
    assert lib.get_nodes(exact).tolist() == lib._index.owners.tolist()
    assert ket.get_nodes(exact).tolist() == np.roll(ket._index.owners, -1).tolist()


@pytest.mark.parametrize("mode", ["ketama", "uhashring", "libketama", "fast"])
def test_lookup_kernel_equals_bisect_on_random_positions(mode):
    rng = np.random.default_rng(50)
    ring = HashRing(names(37), weights=[1 + i % 3 for i in range(37)], mode=mode)
    pos = ring._index.positions
    owners = ring._index.owners
    probes = np.concatenate([rng.integers(0, M64, 5000, dtype=np.uint64, endpoint=True),
                             pos[:50], pos[:50] - np.uint64(1), pos[-3:] + np.uint64(1),
                             np.array([0, M64], np.uint64)])
    side = "left" if mode == "libketama" else "right"
    at = np.searchsorted(pos, probes, side=side)
    expect = owners[np.where(at == len(pos), 0, at)]
    if mode == "uhashring":       # (hi, 0) against (hi, lo) points: first pair > (h, 0)
        low = ring._index.lows
        at = np.searchsorted(pos, probes, side="left")
        at += (at < len(pos)) & (pos[np.minimum(at, len(pos) - 1)] == probes) & (
            low[np.minimum(at, len(pos) - 1)] == 0)
        expect = owners[np.where(at == len(pos), 0, at)]
    assert ring.get_nodes(probes).tolist() == expect.tolist()


@pytest.mark.parametrize("mode", ["ketama", "libketama", "fast"])
def test_prehashed_keys_find_the_same_nodes(mode):
    ring = HashRing(names(100), mode=mode)
    keys = [f"k{i}" for i in range(3000)] + UNICODE_KEYS
    assert ring.get_nodes(ring.hash_keys(keys)).tolist() == ring.get_nodes(keys).tolist()
    assert ring.get_nodes(keys, names=True).tolist() == [ring.get_node(k) for k in keys]


@pytest.mark.parametrize("mode", ["ketama", "uhashring", "libketama", "fast"])
def test_incremental_changes_equal_a_fresh_build(mode):
    rng = random.Random(60)
    integer = mode != "fast"
    ring = HashRing(names(30), mode=mode)
    for step in range(30):
        action = rng.choice(["add", "remove", "weight"])
        if action == "add" or len(ring) < 3:
            ring.add_node(f"x{step}", rng.randrange(1, 4) if integer else rng.uniform(0.2, 3))
        elif action == "remove":
            ring.remove_node(rng.choice(ring.nodes))
        else:
            ring.set_weight(rng.choice(ring.nodes),
                            rng.randrange(1, 4) if integer else rng.uniform(0.2, 3))
    fresh = HashRing(ring.nodes, weights=ring.weights, mode=mode)
    assert np.array_equal(ring._index.positions, fresh._index.positions)
    assert np.array_equal(ring._index.owners, fresh._index.owners)


def test_fast_mode_points_and_weights():
    ring = HashRing({"a": 1, "b": 0.5, "c": 2.25, "d": 0.001}, mode="fast", vnodes=100)
    assert ring.point_counts.tolist() == [100, 50, 225, 1]
    h = mmh3.hash64(b"a-7", signed=False)[0]
    assert int(h) in ring._index.positions.tolist()


def test_get_nodes_n_walks_distinct_nodes():
    ring = HashRing(names(8), mode="fast", vnodes=16)
    pos = ring._index.positions.tolist()
    owners = ring._index.owners.tolist()
    for key in ["a", "b", "c", 5, b"x"]:
        h = int(ring.hash_keys([key])[0])
        p = bisect.bisect_right(pos, h)
        expect = []
        for i in range(len(pos)):
            o = ring.nodes[owners[(p + i) % len(pos)]]
            if o not in expect:
                expect.append(o)
        assert ring.get_nodes_n(key, 8) == expect
        assert ring.get_nodes_n(key, 3) == expect[:3]
        assert ring.get_nodes_n(key, 1) == [ring.get_node(key)]


# -- bounded loads --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.lists(st.text(max_size=12), min_size=0, max_size=400),
       st.sampled_from([1.0, 1.05, 1.25, 2.0, 3.7]), st.booleans())
def test_bounded_loads_never_exceed_the_cap(n, keys, factor, weighted):
    weights = [1 + i % 3 for i in range(n)] if weighted else None
    ring = HashRing(names(n), weights=weights, mode="fast", vnodes=20)
    result = ring.assign(keys, load_factor=factor)
    assert isinstance(result, BoundedLoads)
    assert (result.loads <= result.capacity).all()
    assert result.loads.sum() == len(keys) and len(result) == len(keys)
    if not weighted:
        assert (result.capacity == math.ceil(factor * len(keys) / n - 1e-9)).all()
    points = ring._index.positions.tolist()
    owners = ring._index.owners.tolist()
    out, load, moved = ref_bounded(points, owners, ring.hash_keys(keys).tolist(),
                                   result.capacity.tolist())
    assert result.nodes.tolist() == out and result.loads.tolist() == load
    assert result.moved == moved


def test_bounded_loads_on_a_skewed_workload():
    ring = HashRing(names(20))
    rng = np.random.default_rng(70)
    popular = rng.zipf(1.3, 20000) % 500          # many repeats of few keys
    keys = [f"video-{k}" for k in popular.tolist()]
    plain = np.bincount(ring.get_nodes(keys), minlength=20)
    result = ring.assign(keys, load_factor=1.25)
    cap = math.ceil(1.25 * 20000 / 20)
    assert plain.max() > cap and result.loads.max() <= cap
    assert 0 < result.moved < len(keys) and result.moved_fraction == result.moved / len(keys)
    first = ring.get_nodes(keys)
    assert int((first != result.nodes).sum()) == result.moved
    assert (result.node_names() == np.array(ring.nodes, object)[result.nodes]).all()


def test_bounded_loads_errors():
    ring = HashRing(names(3))
    for bad in (0.99, float("nan"), float("inf"), True, "1.5"):
        with pytest.raises(ValidationError, match="load_factor"):
            ring.assign(["a"], load_factor=bad)
    # 1.1 is read as 11/10: a cap of exactly 110 for 100 keys on one node
    assert HashRing(["a"]).assign([str(i) for i in range(100)], 1.1).capacity.tolist() == [110]


# -- jump -----------------------------------------------------------------------------------


def test_jump_matches_paper_and_package():
    rng = random.Random(80)
    keys = [0, 1, M64, 2**63, 12345678901234567890] + [rng.getrandbits(64) for _ in range(3000)]
    for buckets in (1, 2, 7, 1000, 65536, 2**31 - 1):
        got = jump_hash(np.array(keys, np.uint64), buckets).tolist()
        assert got == [jump.hash(k, buckets) for k in keys]
        assert got[:300] == [ref_jump(k, buckets) for k in keys[:300]]
    # lane tails: lengths that are not multiples of the kernel's 8 lanes
    for length in range(0, 20):
        arr = np.array(keys[:length], np.uint64)
        assert jump_hash(arr, 1000).tolist() == [jump.hash(k, 1000) for k in keys[:length]]


def test_jump_key_forms():
    assert jump_hash(-1, 1000) == jump.hash(-1, 1000) == jump_hash(M64, 1000)
    assert jump_hash(2**70 + 5, 77) == jump.hash(2**70 + 5, 77)
    assert jump_hash(np.int64(-3), 10) == jump.hash(-3, 10)
    signed = np.array([-1, -2, 5, 2**62], np.int64)
    assert jump_hash(signed, 99).tolist() == [jump.hash(int(k), 99) for k in signed]
    small = np.array([1, 2, 3], np.int32)
    assert jump_hash(small, 9).tolist() == [jump.hash(k, 9) for k in (1, 2, 3)]
    assert jump_hash([1, -1, 2**64 + 1], 50).tolist() == [jump.hash(k, 50) for k in (1, -1, 1)]
    # strings go through the fast hash
    h = mmh3.hash64(b"user:1", signed=False)[0]
    assert jump_hash("user:1", 100) == jump.hash(h, 100) == jump_hash(b"user:1", 100)
    assert jump_hash(["user:1", 5], 100).tolist() == [jump.hash(h, 100), jump.hash(5, 100)]


def test_jump_errors():
    for bad in (0, -1, 2**31, True, 1.5, "3"):
        with pytest.raises(ValidationError, match="num_buckets"):
            jump_hash(1, bad)
    for bad in (1.5, None, [1, 2.5], np.array([1.0, 2.0]), np.array([True])):
        with pytest.raises(KeyTypeError):
            jump_hash(bad, 10)
    with pytest.raises(KeyTypeError, match=r"keys\[1\]"):
        jump_hash([1, 2.5], 10)


# -- rendezvous ---------------------------------------------------------------------------


def test_rendezvous_matches_reference():
    nodes = names(25)
    node_hashes = [ref_murmur3_128(n.encode())[1] for n in nodes]
    weights = [0.5 + (i % 4) for i in range(25)]
    keys = [f"k{i}" for i in range(300)] + UNICODE_KEYS
    key_hashes = [ref_murmur3_128(k.encode())[0] for k in keys]
    plain = Rendezvous(nodes)
    weighted = Rendezvous(nodes, weights=weights)
    assert plain.get_nodes(keys).tolist() == [ref_rendezvous(h, node_hashes)[0] for h in key_hashes]
    assert weighted.get_nodes(keys).tolist() == [
        ref_rendezvous(h, node_hashes, weights)[0] for h in key_hashes]
    for key, h in list(zip(keys, key_hashes))[:40]:
        assert plain.get_nodes_n(key, 5) == [
            nodes[j] for j in ref_rendezvous(h, node_hashes, top=5)]
        assert weighted.get_nodes_n(key, 25) == [
            nodes[j] for j in ref_rendezvous(h, node_hashes, weights, top=25)]
        assert plain.get_node(key) == plain.get_nodes_n(key, 1)[0]
        assert weighted.get_node(key) == weighted.get_nodes_n(key, 3)[0]
    assert plain.get_nodes(plain.hash_keys(keys)).tolist() == plain.get_nodes(keys).tolist()


def test_weighted_rendezvous_shares():
    # spec §4: 100 nodes weighted 1 + i % 4 give the classes 0.1/0.2/0.3/0.4 of the keys.
    ring = Rendezvous(names(100), weights=[1 + i % 4 for i in range(100)])
    keys = np.random.default_rng(90).integers(0, M64, 200_000, dtype=np.uint64, endpoint=True)
    counts = np.bincount(ring.get_nodes(keys), minlength=100)
    classes = [counts[c::4].sum() / len(keys) for c in range(4)]
    assert classes == pytest.approx([0.1, 0.2, 0.3, 0.4], abs=0.006)


def test_rendezvous_changes_move_only_what_they_must():
    keys = np.random.default_rng(91).integers(0, M64, 100_000, dtype=np.uint64, endpoint=True)
    ring = Rendezvous(names(40), weights=[1 + i % 3 for i in range(40)])
    before = ring.get_nodes(keys, names=True)
    ring.set_weight("node-5", 6)
    after = ring.get_nodes(keys, names=True)
    changed = before != after
    assert changed.any() and (after[changed] == "node-5").all()
    ring.remove_node("node-7")
    again = ring.get_nodes(keys, names=True)
    changed = after != again
    assert (after[changed] == "node-7").all()


# -- Maglev ---------------------------------------------------------------------------------


@pytest.mark.parametrize("m,n,weighted", [(7, 3, False), (101, 10, False), (1009, 37, False),
                                          (1009, 37, True), (65537, 5, True)])
def test_maglev_population_matches_reference(m, n, weighted):
    weights = [1 + (i * 7) % 5 for i in range(n)] if weighted else None
    table = Maglev(names(n), table_size=m, weights=weights)
    assert table.table.tolist() == ref_maglev(names(n), m, weights)
    assert table.shares.tolist() == np.bincount(table.table, minlength=n).tolist()


def test_maglev_balance_and_lookup():
    n, m = 100, 65537
    table = Maglev(names(n), table_size=m)
    shares = np.bincount(table.table, minlength=n)
    assert shares.min() >= m // n and shares.max() <= m // n + 1
    # the paper: with M > 100 N, shares differ by less than 1 %
    assert shares.max() / shares.min() < 1.01
    keys = [f"client-{i}" for i in range(5000)]
    hashes = fast_hash(keys)
    expect = table.table[(hashes % np.uint64(m)).astype(np.int64)]
    assert table.get_nodes(keys).tolist() == expect.tolist()
    assert table.get_nodes(hashes).tolist() == expect.tolist()
    assert [table.get_node(k) for k in keys[:50]] == [table.nodes[j] for j in expect[:50]]


def test_maglev_weighted_shares():
    weights = [1, 2, 3, 4] * 10
    table = Maglev(names(40), table_size=65537, weights=weights)
    expected = np.array(weights) / sum(weights)
    assert np.allclose(table.shares / 65537, expected, rtol=0.02)


def test_maglev_disruption_close_to_the_paper():
    # spec §5 (measured): N=100, M=65537: removing one backend changes ~1.5 % of the
    # slots, ~0.5 % between survivors; adding a 101st moves ~1.5 % of keys.
    table = Maglev(names(100))
    before = table.table.copy()
    table.remove_node("node-42")
    after = table.table
    old = np.array(names(100), object)[before]
    new = np.array(table.nodes, object)[after]
    changed = old != new
    assert 0.009 < changed.mean() < 0.025
    between = changed & (old != "node-42")
    assert 0 < between.mean() < 0.01
    grown = Maglev(names(101))
    moved = (np.array(names(100), object)[before] != np.array(grown.nodes, object)[grown.table])
    assert 0.0099 < moved.mean() < 0.025


def test_maglev_errors():
    for bad in (65536, 100, 1, 0, -7, True, 65537.0):
        with pytest.raises(ValidationError, match="table_size"):
            Maglev(["a", "b"], table_size=bad)
    with pytest.raises(ValidationError, match="larger than the number of nodes"):
        Maglev(names(7), table_size=7)
    table = Maglev(names(4), table_size=5)
    with pytest.raises(ValidationError, match="table_size"):
        table.add_node("extra")
    assert len(table) == 4 and table.table.tolist().count(-1) == 0
    assert is_prime(65537) and is_prime(655373) and not is_prime(65535) and not is_prime(1)
    assert is_prime(2**61 - 1) and not is_prime(3215031751)   # a strong pseudoprime to 2,3,5,7


# -- remapping -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ketama", "fast", "jump", "rendezvous"])
def test_adding_a_node_moves_about_one_in_n_and_only_to_it(kind):
    n = 50
    keys = np.random.default_rng(100).integers(0, M64, 200_000, dtype=np.uint64, endpoint=True)
    if kind == "jump":
        before, after = jump_hash(keys, n), jump_hash(keys, n + 1)
    elif kind == "rendezvous":
        ring = Rendezvous(names(n))
        before = ring.get_nodes(keys)
        ring.add_node(f"node-{n}")
        after = ring.get_nodes(keys)
    else:
        ring = HashRing(names(n), mode=kind)
        before = ring.get_nodes(keys)
        ring.add_node(f"node-{n}")
        after = ring.get_nodes(keys)
    moved = before != after
    assert (after[moved] == n).all()
    tolerance = 0.1 if kind == "jump" or kind == "rendezvous" else 0.45   # a ring's share varies
    assert abs(moved.mean() - 1 / (n + 1)) < tolerance / (n + 1)
    if kind in ("ketama", "fast", "rendezvous"):
        ring.remove_node(f"node-{n}")
        assert np.array_equal(ring.get_nodes(keys), before)


def test_removing_a_node_moves_only_its_keys():
    keys = [f"k{i}" for i in range(20000)]
    for mode in ("ketama", "libketama", "uhashring", "fast"):
        ring = HashRing(names(30), mode=mode)
        before = ring.get_nodes(keys, names=True)
        ring.remove_node("node-3")
        after = ring.get_nodes(keys, names=True)
        assert ((before == after) | (before == "node-3")).all()
        assert not (after == "node-3").any()


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [
    lambda nodes, **kw: HashRing(nodes, **kw),
    lambda nodes, **kw: HashRing(nodes, mode="fast", **kw),
    lambda nodes, **kw: Rendezvous(nodes, **kw),
    lambda nodes, **kw: Maglev(nodes, **kw),
])
def test_node_set_errors(factory):
    with pytest.raises(ValidationError, match="nodes: needs at least one node"):
        factory([])
    with pytest.raises(DuplicateError, match=r"nodes\[2\]: duplicate node name 'a'"):
        factory(["a", "b", "a"])
    with pytest.raises(ValidationError, match=r"nodes\[1\]"):
        factory(["a", ""])
    with pytest.raises(ValidationError, match=r"nodes\[0\]"):
        factory([1, 2])
    with pytest.raises(ValidationError, match="nodes"):
        factory("abc")
    for bad in (0, -1, float("nan"), float("inf"), None, "2"):
        with pytest.raises(ValidationError, match=r"weights\[1\]"):
            factory(["a", "b"], weights=[1, bad])
    with pytest.raises(ValidationError, match=r"weights\['b'\]"):
        factory({"a": 1, "b": 0})
    with pytest.raises(ValidationError, match="weights: expected 2 weights"):
        factory(["a", "b"], weights=[1])
    with pytest.raises(ValidationError, match="weights: weight for unknown node"):
        factory(["a", "b"], weights={"c": 2})
    with pytest.raises(ValidationError, match="not both"):
        factory({"a": 1}, weights=[1])
    chooser = factory(["a", "b"])
    with pytest.raises(NodeNotFoundError):
        chooser.remove_node("zzz")
    with pytest.raises(DuplicateError, match="name"):
        chooser.add_node("a")
    with pytest.raises(ValidationError, match="weight"):
        chooser.add_node("c", 0)
    with pytest.raises(ValidationError, match="weight"):
        chooser.set_weight("a", float("nan"))
    chooser.remove_node("a")
    with pytest.raises(ValidationError, match="last node"):
        chooser.remove_node("b")
    assert chooser.nodes == ("b",) and chooser.get_node("anything") == "b"


@pytest.mark.parametrize("chooser", [HashRing(["a", "b"]), HashRing(["a", "b"], mode="uhashring"),
                                     HashRing(["a"], mode="fast"), Rendezvous(["a", "b"]),
                                     Maglev(["a", "b"], table_size=7)])
def test_key_errors(chooser):
    for bad in (1.5, None, (1, 2), True):
        with pytest.raises(KeyTypeError, match="key: expected a str, bytes or int key"):
            chooser.get_node(bad)
    with pytest.raises(KeyTypeError,
                       match=r"keys\[2\]: expected a str, bytes or int key, got float"):
        chooser.get_nodes(["a", b"b", 2.5])
    with pytest.raises(TypeError):          # KeyTypeError is also a TypeError
        chooser.get_nodes([None])
    with pytest.raises(ValidationError, match=r"keys\[1\]: key cannot be encoded"):
        chooser.get_nodes(["ok", "\ud800"])
    with pytest.raises(KeyTypeError, match="int64 array is not accepted"):
        chooser.get_nodes(np.arange(3))
    with pytest.raises(KeyTypeError, match="use get_node for one key"):
        chooser.get_nodes("abc")
    with pytest.raises(ValidationError, match="1-D"):
        chooser.get_nodes(np.zeros((2, 2), np.uint64))
    assert chooser.get_nodes([]).tolist() == []
    as_array = chooser.get_nodes(np.array(["x", "y"]))
    assert as_array.tolist() == chooser.get_nodes(["x", "y"]).tolist()
    assert chooser.get_nodes(k for k in ["x"]).tolist() == chooser.get_nodes(["x"]).tolist()


def test_ring_parameter_errors():
    with pytest.raises(ValidationError, match="mode: must be one of"):
        HashRing(["a"], mode="md5")
    with pytest.raises(ValidationError, match="vnodes: must be a multiple of 4"):
        HashRing(["a"], vnodes=10)
    HashRing(["a"], vnodes=10, mode="fast")
    with pytest.raises(ValidationError, match="vnodes"):
        HashRing(["a"], vnodes=0)
    with pytest.raises(ValidationError, match=r"weights\[0\]: expected a positive int"):
        HashRing(["a"], weights=[1.5])
    with pytest.raises(ValidationError, match="NUL"):
        HashRing(["a\0b"], mode="libketama")
    with pytest.raises(ValidationError, match="weights: the ring would have"):
        HashRing(["a", "b"], weights=[1, MAX_POINTS], mode="uhashring")
    ring = HashRing(names(5))
    with pytest.raises(ValidationError, match=r"n: must be in \[1, 5\]"):
        ring.get_nodes_n("k", 6)
    with pytest.raises(KeyTypeError):
        fast_hash(np.zeros(2, np.uint64))


def test_repr_and_properties():
    ring = HashRing({"a": 2, "b": 1}, mode="ketama")
    assert repr(ring).startswith("HashRing(2 nodes, ") and "a" in ring and "c" not in ring
    assert ring.weights == (2, 1) and ring.vnodes == 160 and ring.mode == "ketama"
    assert ring.point_counts.tolist() == [212, 104] and not ring.point_counts.flags.writeable
    table = Maglev(["a", "b"])
    assert table.table_size == 65537 and not table.table.flags.writeable
    assert repr(table) == "Maglev(2 nodes, table_size=65537)"
    assert repr(Rendezvous(["a"])) == "Rendezvous(1 nodes)"
    assert len(hashring.RingIndex(np.array([5], np.uint64), None, np.zeros(1, np.int32),
                                  False)) == 1


def test_ten_thousand_node_ring_builds():
    ring = HashRing(names(10_000))
    assert len(ring._index) > 10_000 * 159
    assert ring.get_node("x") in ring


# -- extreme weights ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["ketama", "libketama"])
def test_a_node_whose_share_floors_to_no_points_owns_no_keys(mode):
    # ks = (40 * 2 * 1) // 101 = 0 digests for "b", as uhashring computes it
    ring = HashRing({"a": 100, "b": 1}, mode=mode)
    assert ring.distribution == {"a": 316, "b": 0}
    keys = [f"k{i}" for i in range(300)]
    assert set(ring.get_nodes(keys, names=True)) == {"a"}
    if mode == "ketama":
        theirs = uhashring.HashRing({"a": 100, "b": 1}, hash_fn="ketama")
        assert [theirs.get_node(k) for k in keys] == ring.get_nodes(keys, names=True).tolist()
    assert ring.get_nodes_n("k", 2) == ["a"]           # only nodes that own points
    assert ring.assign(keys, load_factor=2.5).loads.tolist() == [300, 0]
    ring.set_weight("b", 100)                          # it gets its points back
    assert ring.distribution == {"a": 160, "b": 160}
    ring.add_node("c", 1)
    assert ring.distribution["c"] == 0 and len(ring.get_nodes(keys)) == 300


@pytest.mark.parametrize("mode,weight", [("fast", 1e300), ("fast", 10**299),
                                         ("uhashring", 2**62)])
def test_weights_that_would_overflow_the_ring_name_the_node(mode, weight):
    with pytest.raises(ValidationError, match=r"weights: the ring would have .* points, more "
                                              r"than 134,217,728 \(node 'a', weight "):
        HashRing({"a": weight, "b": 1}, mode=mode, vnodes=160)
    ring = HashRing(["a", "b"], mode=mode)
    before = ring.get_points()
    with pytest.raises(ValidationError, match="node 'c'"):
        ring.add_node("c", weight)
    with pytest.raises(ValidationError, match="node 'a'"):
        ring.set_weight("a", weight)
    assert ring.get_points() == before and ring.nodes == ("a", "b")


@pytest.mark.parametrize("factory,integer", [
    (lambda w: HashRing(["a", "b"], weights=[1, w]), True),
    (lambda w: HashRing(["a", "b"], weights=[1, w], mode="libketama"), True),
    (lambda w: HashRing(["a", "b"], weights=[1, w], mode="uhashring"), True),
    (lambda w: HashRing(["a", "b"], weights=[1, w], mode="fast"), False),
    (lambda w: Rendezvous(["a", "b"], weights=[1, w]), False),
    (lambda w: Maglev(["a", "b"], weights=[1, w], table_size=7), False),
])
def test_weights_outside_their_range_are_validation_errors(factory, integer):
    bad = [2**63, 10**400, -(2**70)] if integer else [5e-324, 1e-301, 1e301, 10**301, 10**400]
    for weight in bad:
        with pytest.raises(ValidationError, match=r"weights\[1\]: weight must be"):
            factory(weight)
    for weight in ([2**63 - 1] if integer else [1e-300, 1e300, 10**300]):
        try:
            chooser = factory(weight)
        except ValidationError as err:         # uhashring mode's point cap, not an overflow
            assert "points" in str(err)
        else:
            assert chooser.get_node("key") in ("a", "b")


def test_weighted_rendezvous_at_the_ends_of_the_range():
    ring = Rendezvous(["a", "b", "c"], weights=[1e-300, 1e300, 1e-300])
    keys = np.random.default_rng(5).integers(0, M64, 20_000, dtype=np.uint64, endpoint=True)
    assert set(ring.get_nodes(keys).tolist()) == {1}
    tiny = Rendezvous(["a", "b"], weights=[1e-300, 2e-300])     # shares as for 1 and 2
    shares = np.bincount(tiny.get_nodes(keys), minlength=2) / len(keys)
    assert shares == pytest.approx([1 / 3, 2 / 3], abs=0.02)


def test_bounded_loads_with_a_huge_load_factor_are_the_plain_ring():
    ring = HashRing(["a", "b", "c"], weights=[1, 2, 3])
    keys = [f"k{i}" for i in range(500)]
    for factor in (1e300, 2**70):
        loads = ring.assign(keys, load_factor=factor)
        assert loads.capacity.tolist() == [2**62] * 3 and loads.moved == 0
        assert loads.nodes.tolist() == ring.get_nodes(keys).tolist()


def _maglev_rounds(offset, skip, weights, m):
    """Weighted Maglev population written plainly: round r, backends in order, each
    takes its next free preferred slot unless it already has r * w / max(w) or more
    (every backend takes one in round 1)."""
    entry, cursor, taken = [-1] * m, list(offset), [0] * len(offset)
    wmax, filled, rnd = max(weights), 0, 0
    while filled < m:
        rnd += 1
        for j in range(len(offset)):
            if taken[j] > 0 and (taken[j] + 1) * wmax > rnd * weights[j]:
                continue
            c = cursor[j]
            while entry[c] >= 0:
                c = (c + skip[j]) % m
            entry[c], cursor[j] = j, (c + skip[j]) % m
            taken[j] += 1
            filled += 1
            if filled == m:
                break
    return entry, taken


@pytest.mark.parametrize("skewed", [False, True])
def test_weighted_maglev_population_matches_the_plain_rounds(skewed):
    # Weights of one order run the round scan; far apart, the heap of turns (which
    # keeps one heavy backend among thousands of light ones O(M log n), not O(M n)).
    from fastsched._kernels.hashpick import maglev_populate
    rng = np.random.default_rng(7 + skewed)
    for m in (7, 101, 1021):
        for _ in range(20):
            n = int(rng.integers(1, min(m, 40) + 1))
            offset = rng.integers(0, m, n).astype(np.uint64)
            skip = rng.integers(1, m, n).astype(np.uint64)
            w = (np.where(rng.random(n) < 0.2, 1.0, 10.0 ** -rng.integers(1, 300, n)) if skewed
                 else rng.random(n) + 0.5)
            w[int(rng.integers(n))] = 1.0
            entry, taken = np.empty(m, np.int32), np.empty(n, np.int64)
            maglev_populate(offset, skip, w, entry, taken)
            want_entry, want_taken = _maglev_rounds(offset.tolist(), skip.tolist(), w.tolist(), m)
            assert entry.tolist() == want_entry and taken.tolist() == want_taken
