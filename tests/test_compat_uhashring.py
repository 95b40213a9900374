"""fastsched.compat.uhashring.HashRing against the real uhashring package: key
placement over the acceptance matrix (10/100/1,000 nodes x every hash_fn and compat
x weights or not x after add_node/remove_node), then the API one behaviour at a
time. Also: jump_hash is typed as jump.hash."""

import ast
import hashlib
import typing
import zlib
from pathlib import Path

import numpy as np
import pytest

uhashring = pytest.importorskip("uhashring")
ring_ketama = pytest.importorskip("uhashring.ring_ketama")

from fastsched.compat.uhashring import HashRing  # noqa: E402
from fastsched.errors import ValidationError  # noqa: E402
from fastsched.hashing import jump_hash  # noqa: E402


def crc_hash(key):
    """A user hash_fn: CRC-32, so 1,000-node rings have colliding points."""
    return zlib.crc32(str(key).encode())


def coarse_hash(key):
    """A user hash_fn with many collisions: write order decides their owners."""
    return int.from_bytes(hashlib.sha1(str(key).encode()).digest()[:4], "big") % 997


HASH_FNS = {"md5": None, "ketama": "ketama", "callable": crc_hash}
COMPATS = {"omitted": {}, "true": {"compat": True}, "false": {"compat": False}}
# str keys with some ints among them: uhashring hashes str(key) for both
KEYS = [f"user:{i}" if i % 5 else i for i in range(10_000)]


def make_nodes(n, weighted):
    if not weighted:
        return [f"node-{i}" for i in range(n)]
    return {f"node-{i}": {"weight": 1 + i % 2, "instance": f"inst-{i}", "port": 11211 + i}
            for i in range(n)}


def added_conf(weighted):
    return {"weight": 3, "instance": "inst-added"} if weighted else {"weight": 1}


class _FastInsort:
    """uhashring's ketama ring inserts each point with bisect.insort: quadratic,
    about 3 s for each 1,000-node ring. Appending and sorting once when the ring is
    complete gives the identical sorted list (equal points are equal ints), so the
    1,000-node references take this shortcut; the smaller ones run untouched."""

    def __init__(self, monkeypatch):
        original = ring_ketama.KetamaRing._create_ring

        def create_ring(ring, nodes):
            original(ring, nodes)
            ring._keys.sort()

        monkeypatch.setattr(ring_ketama, "insort", lambda keys, h: keys.append(h))
        monkeypatch.setattr(ring_ketama.KetamaRing, "_create_ring", create_ring)


_REFERENCE: dict = {}


def reference(n, fn_name, weighted):
    """The real package's answers (placements and points) in the three states:
    built, after add_node, after remove_node."""
    key = (n, fn_name, weighted)
    if key not in _REFERENCE:
        with pytest.MonkeyPatch.context() as mp:
            if fn_name == "ketama" and n >= 1000:
                _FastInsort(mp)
            ring = uhashring.HashRing(nodes=make_nodes(n, weighted), hash_fn=HASH_FNS[fn_name])
            states = [snapshot(ring)]
            ring.add_node("node-added", added_conf(weighted))
            states.append(snapshot(ring))
            ring.remove_node(f"node-{n // 2}")
            states.append(snapshot(ring))
        _REFERENCE[key] = states
    return _REFERENCE[key]


def snapshot(ring):
    return [ring.get_node(k) for k in KEYS], ring.get_points(), dict(ring.distribution)


# -- the acceptance matrix ------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
@pytest.mark.parametrize("compat", list(COMPATS))
@pytest.mark.parametrize("fn_name", list(HASH_FNS))
@pytest.mark.parametrize("n", [10, 100, 1000])
def test_placement_matches_uhashring(n, fn_name, compat, weighted):
    expected = reference(n, fn_name, weighted)
    ring = HashRing(nodes=make_nodes(n, weighted), hash_fn=HASH_FNS[fn_name], **COMPATS[compat])
    steps = ["built", "after add_node", "after remove_node"]
    for i, step in enumerate(steps):
        if i == 1:
            ring.add_node("node-added", added_conf(weighted))
        elif i == 2:
            ring.remove_node(f"node-{n // 2}")
        want_nodes, want_points, want_dist = expected[i]
        got_nodes = [ring.get_node(k) for k in KEYS]
        moved = sum(a != b for a, b in zip(got_nodes, want_nodes))
        assert moved == 0, f"{step}: {moved} of {len(KEYS)} keys placed elsewhere"
        assert dict(ring.distribution) == want_dist, step
        if compat == "omitted":     # the same ring whatever compat says (test below)
            assert ring.get_points() == want_points, step


def test_uhashring_ignores_compat():
    # Why the matrix shares one reference per compat value: the package drops it.
    for fn in HASH_FNS.values():
        for nodes in (make_nodes(10, False), make_nodes(100, True)):
            points = [uhashring.HashRing(nodes=nodes, hash_fn=fn, **kw).get_points()
                      for kw in COMPATS.values()]
            assert points[0] == points[1] == points[2]


def test_thousand_node_ketama_ring_has_colliding_points():
    # The case where get_points lists a point twice, as uhashring does.
    _, points, dist = reference(1000, "ketama", False)[0]
    assert len({p for p, _ in points}) < len(points) == sum(dist.values())


def test_fastsched_rings_serve_the_builtin_hashes():
    assert HashRing(nodes=["a", "b"])._fast is not None
    assert HashRing(nodes=["a", "b"], hash_fn="ketama")._fast is not None
    assert HashRing(nodes=["a", "b"], hash_fn=crc_hash)._fast is None


# -- the API, behaviour by behaviour ------------------------------------------------------


def pair(nodes, **kw):
    return uhashring.HashRing(nodes=nodes, **kw), HashRing(nodes=nodes, **kw)


def assert_same(ref, ring, keys=KEYS[:500]):
    assert [ring.get_node(k) for k in keys] == [ref.get_node(k) for k in keys]
    assert [ring.get(k) for k in keys] == [ref.get(k) for k in keys]
    assert ring.get_points() == ref.get_points()
    assert dict(ring.distribution) == dict(ref.distribution)
    assert ring.ring == ref.ring
    assert ring.size == ref.size
    assert list(ring.get_nodes()) == list(ref.get_nodes())
    assert ring.conf == ref.conf


@pytest.mark.parametrize("fn", list(HASH_FNS.values()), ids=list(HASH_FNS))
def test_node_forms(fn):
    forms = ["solo", ["a", "b", "c"], {"a": 1, "b": 3, "c": 2},
             {"a": {"weight": 2, "hostname": "10.0.0.1", "port": 11211, "instance": object()},
              "b": {"vnodes": 20, "nodename": "bee"}, "c": {"weight": 1, "ignored": 5}}]
    for nodes in forms:
        assert_same(*pair(nodes, hash_fn=fn))
    ref, ring = pair(forms[-1], hash_fn=fn)
    for key in KEYS[:200]:
        assert ring[key] is ref[key]
        assert ring.get_node_instance(key) is ref.get_node_instance(key)
        assert ring.get_node_hostname(key) == ref.get_node_hostname(key)
        assert ring.get_node_port(key) == ref.get_node_port(key)
        assert ring.get_node_weight(key) == ref.get_node_weight(key)
        assert ring.get_node_pos(key) == ref.get_node_pos(key)
        assert ring.get_server(key) == ref.get_server(key)
        assert ring.hashi(key) == ref.hashi(key) == ring.get_key(key)
    assert ring.get_instances() == ref.get_instances()
    assert set(ring.get_nodes()) == {"a", "b", "c"}


@pytest.mark.parametrize("fn", list(HASH_FNS.values()), ids=list(HASH_FNS))
def test_vnodes_argument_and_per_node_vnodes(fn):
    assert_same(*pair(["a", "b", "c"], hash_fn=fn, vnodes=12))
    assert_same(*pair({"a": {"vnodes": 8}, "b": {"vnodes": 80, "weight": 2}, "c": 1},
                      hash_fn=fn))


@pytest.mark.parametrize("fn", list(HASH_FNS.values()), ids=list(HASH_FNS))
def test_empty_ring_returns_none(fn, capsys):
    for nodes in ([], {}):
        ref, ring = pair(nodes, hash_fn=fn)
        for method in ("get_node", "get", "__getitem__", "get_node_hostname", "get_node_port",
                       "get_node_weight", "get_node_pos", "get_server"):
            assert getattr(ring, method)("k") is None is getattr(ref, method)("k"), method
        assert list(ring.iterate_nodes("k")) == list(ref.iterate_nodes("k")) == [None]
        assert list(ring.range("k")) == list(ref.range("k")) == []
        assert ring.get_points() == [] and ring.size == 0
        ring.print_continuum()
        assert capsys.readouterr().out == "Continuum empty\n"
    # emptied by removals, then filled again
    ref, ring = pair(["a", "b"], hash_fn=fn)
    for r in (ref, ring):
        r.remove_node("a")
        del r["b"]
    assert ring.get_node("k") is None is ref.get_node("k")
    for r in (ref, ring):
        r.add_node("c")
    assert_same(ref, ring)
    assert HashRing(hash_fn=fn).get_node("k") is None


def test_zero_weights_leave_no_points():
    ref, ring = pair({"a": 0, "b": {"vnodes": 0}})
    assert ring.get_node("k") is None is ref.get_node("k")
    ref, ring = pair({"a": 0, "b": 2})
    assert_same(ref, ring)
    ref, ring = pair({"a": 1, "b": 1000}, hash_fn="ketama")   # a's share floors to 0
    assert_same(ref, ring)


@pytest.mark.parametrize("fn", list(HASH_FNS.values()), ids=list(HASH_FNS))
def test_range_and_iterate_nodes(fn):
    ref, ring = pair({f"n{i}": {"weight": 1 + i % 3, "nodename": f"name{i}"}
                      for i in range(12)}, hash_fn=fn)
    for key in KEYS[:30]:
        for size in (None, 0, 1, 3, 12, 40, -1):
            for unique in (True, False):
                assert list(ring.range(key, size, unique)) == list(ref.range(key, size, unique))
        assert list(ring.range(key)) == list(ref.range(key))
        for distinct in (True, False):
            assert list(ring.iterate_nodes(key, distinct)) == list(ref.iterate_nodes(key, distinct))


@pytest.mark.parametrize("fn", list(HASH_FNS.values()), ids=list(HASH_FNS))
def test_print_continuum(fn, capsys):
    ref, ring = pair({"a": 1, "b": 2}, hash_fn=fn, vnodes=4)
    ref.print_continuum()
    want = capsys.readouterr().out
    ring.print_continuum()
    assert capsys.readouterr().out == want
    assert want.startswith(f"Numpoints in continuum: {len(ref.get_points())}\n")


@pytest.mark.parametrize("fn", list(HASH_FNS.values()) + [coarse_hash],
                         ids=list(HASH_FNS) + ["coarse"])
def test_changes_item_protocol(fn):
    ref, ring = pair({"a": 1, "b": 2, "c": 1}, hash_fn=fn)
    steps = [("set", "d", None), ("set", "a", 3), ("set", "b", {"weight": 2}),   # b: no change
             ("set", "c", {"vnodes": 30}), ("set", "e", {"weight": 2, "port": 1}),
             ("del", "a", None), ("set", "a", {"weight": 1}), ("set", "b", {"hostname": "h"}),
             ("del", "d", None), ("set", "d", 4)]
    for op, name, conf in steps:
        for r in (ref, ring):
            if op == "del":
                del r[name]
            elif conf is None:
                r[name] = {"weight": 1}
            else:
                r[name] = conf
        assert_same(ref, ring)
    for r in (ref, ring):
        r.add_node("f", {"weight": 2})
        r.remove_node("e")
    assert_same(ref, ring)
    with pytest.raises(KeyError):
        ring.remove_node("nope")
    with pytest.raises(KeyError):
        del ring["nope"]
    assert "a" in ring and "nope" not in ring


def test_colliding_callable_keeps_uhashring_write_order():
    nodes = {f"n{i}": 1 + i % 2 for i in range(30)}     # 30 * 240 points over 997 values
    ref, ring = pair(nodes, hash_fn=coarse_hash)
    assert_same(ref, ring)
    for r in (ref, ring):
        r["n3"] = 5
        r.remove_node("n7")
        r.add_node("x", {"vnodes": 50})
        r["n1"] = {"vnodes": 3}
    assert_same(ref, ring)


def test_weight_fn_and_regenerate():
    state = {"w": 1}

    def weight_fn(**conf):
        return state["w"] + (conf["port"] or 0)

    nodes = {"a": {"port": 1}, "b": {"port": 2}, "c": {"port": 0}}
    for fn in list(HASH_FNS.values()) + [coarse_hash]:
        state["w"] = 1
        ref, ring = pair(nodes, hash_fn=fn, weight_fn=weight_fn)
        assert_same(ref, ring)
        state["w"] = 3
        for r in (ref, ring):
            r.regenerate()
        assert_same(ref, ring)


@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
def test_ketama_replicas(replicas):
    ref, ring = pair({"a": 1, "b": 3, "c": {"vnodes": 10}}, hash_fn="ketama", replicas=replicas)
    assert_same(ref, ring)
    for r in (ref, ring):
        r.add_node("d", {"weight": 2})
        r.remove_node("a")
    assert_same(ref, ring)
    # replicas does nothing outside ketama, as in uhashring
    assert_same(*pair(["a", "b"], replicas=replicas))


@pytest.mark.parametrize("fn", list(HASH_FNS.values()), ids=list(HASH_FNS))
def test_names_fastsched_rings_do_not_take(fn):
    # ints, the empty string: the plain Python path, placed alike
    ref, ring = pair({1: 2, 2: 1, "": 1, "x": 1}, hash_fn=fn)
    assert_same(ref, ring)
    ref, ring = pair(["a", "b"], hash_fn=fn)
    for r in (ref, ring):
        r.add_node(7)           # joins a ring served by fastsched
    assert_same(ref, ring)
    for r in (ref, ring):
        r.remove_node(7)
    assert_same(ref, ring)


def test_key_types():
    for fn in HASH_FNS.values():
        ref, ring = pair(["a", "b", "c"], hash_fn=fn)
        keys = [b"bytes", 3.5, None, (1, 2), -7, 2**80, "ünïcode", True]
        assert_same(ref, ring, keys)


def test_errors():
    with pytest.raises(TypeError, match="hash_fn"):
        HashRing(["a"], hash_fn="md5")
    with pytest.raises(TypeError, match="weight_fn"):
        HashRing(["a"], weight_fn=3)
    with pytest.raises(ValueError, match="nodes"):
        HashRing(5)
    with pytest.raises(ValueError, match="node configuration"):
        HashRing({"a": "heavy"})
    with pytest.raises(TypeError):
        HashRing(["a"], vnode=3)        # a typo; uhashring would ignore it
    for bad in (0, 5, 2.0, None):
        with pytest.raises(ValidationError, match="replicas"):
            HashRing(["a"], hash_fn="ketama", replicas=bad)


def test_get_nodes_without_argument():
    ref, ring = pair({"a": 1, "b": 2})
    assert list(ring.get_nodes()) == list(ref.get_nodes()) == ["a", "b"]
    ring.add_node("c")
    assert list(ring.get_nodes()) == ["a", "b", "c"]


# -- jump_hash is typed as jump.hash ------------------------------------------------------


def test_jump_hash_typed_as_jump_hash():
    jump = pytest.importorskip("jump")
    # jump.hash is compiled: its types live in the package's stub
    stub = ast.parse((Path(jump.__file__).parent / "__init__.pyi").read_text())
    typed = next(n for n in stub.body if isinstance(n, ast.FunctionDef) and n.name == "hash")
    assert [ast.unparse(a.annotation) for a in typed.args.args] == ["int", "int"]
    assert ast.unparse(typed.returns) == "int"
    scalar, many = typing.get_overloads(jump_hash)
    hints = typing.get_type_hints(scalar)
    assert int in typing.get_args(hints["keys"]) and hints["return"] is int
    assert hints["num_buckets"] is int
    assert typing.get_type_hints(many)["return"] is np.ndarray
    for key in (0, 1, -1, 2**64 - 1, 2**70 + 3, np.uint64(9)):
        got = jump_hash(key, 1000)
        assert type(got) is int and got == jump.hash(key, 1000)

