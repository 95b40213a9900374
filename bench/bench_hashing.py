"""Consistent hashing: fastsched's vectorized lookups against uhashring's get_node,
the jump-consistent-hash package (one C call per key) and a NumPy searchsorted
baseline, at 10, 100, 1,000 and 10,000 nodes; ring build times; and, for every
algorithm, balance (max/mean keys per node over 1M keys) and the fraction of keys
that move when one node is added.

    pytest bench/bench_hashing.py --benchmark-enable

After pytest-benchmark's tables, a "consistent hashing" section sums it all up:
millions of lookups per second (median round) with each row's ratio to its
group's baseline, build times, balance and movement. Notes:

* uhashring's ketama ring builds in O(points^2) (about 323 s at 10,000 nodes), so
  its build is timed up to 1,000 nodes; for its 10,000-node lookups its state is
  filled in from fastsched's ketama ring, which has the same points (checked on
  2,000 keys).
* Per-call baselines (uhashring, jump-consistent-hash) run over 20,000 keys, and
  rendezvous lookups (O(nodes) per key) over 100,000 keys (10,000 at 10,000
  nodes), so the run stays within a few minutes; the rest over 1,000,000 keys.
* Maglev's table has at least 100 slots per node (the paper's rule for shares
  within 1 %): 65,537 slots up to 100 nodes, then the next prime above 100 * N.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import jump
import numpy as np
import pytest
import uhashring

from fastsched.hashing import HashRing, Maglev, Rendezvous, is_prime, jump_hash

NODE_COUNTS = (10, 100, 1_000, 10_000)
KEYS = 1_000_000
PER_CALL_KEYS = 20_000
MODES = ("ketama", "uhashring", "libketama", "fast")
ROUNDS = 5
STR_SECTION = "M lookups/s, str keys"
U64_SECTION = "M lookups/s, pre-hashed uint64 keys"

_REPORT: dict[tuple[str, str], dict[int, float]] = {}
_BASELINES: dict[str, str] = {}
_ORDER: list[tuple[str, str]] = []


def note(section: str, row: str, nodes: int, value: float, baseline: bool = False) -> None:
    if (section, row) not in _REPORT:
        _REPORT[(section, row)] = {}
        _ORDER.append((section, row))
    _REPORT[(section, row)][nodes] = value
    if baseline:
        _BASELINES[section] = row


class _Summary:
    """Prints the collected figures after the benchmark tables."""

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter):
        if not _REPORT:
            return
        tr = terminalreporter
        tr.section("consistent hashing")
        head = "".join(f"{n:>16,}" for n in NODE_COUNTS)
        sections: dict[str, list[str]] = {}
        for section, row in _ORDER:
            sections.setdefault(section, []).append(row)
        for section, rows in sections.items():
            tr.write_line(f"{section:<44}{head}")
            base = _REPORT.get((section, _BASELINES.get(section, "")), {})
            for row in rows:
                cells = []
                for n in NODE_COUNTS:
                    value = _REPORT[(section, row)].get(n)
                    if value is None:
                        cells.append(f"{'-':>16}")
                        continue
                    ratio = (f" ({_ratio(value / base[n])})" if base.get(n) and row
                             != _BASELINES.get(section) and "lookups" in section else "")
                    cells.append(f"{_fmt(value) + ratio:>16}")
                tr.write_line(f"  {row:<42}" + "".join(cells))
            tr.write_line("")


def _ratio(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2f}x"


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if value >= 0.01 else f"{value:.2e}"


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    manager = request.config.pluginmanager
    if not manager.has_plugin("fastsched-hashing-summary"):
        manager.register(_Summary(), "fastsched-hashing-summary")


# -- inputs, built once ----------------------------------------------------------------


@lru_cache(None)
def str_keys() -> list[str]:
    return [f"user:{i}:session" for i in range(KEYS)]


@lru_cache(None)
def u64_keys() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 2**64 - 1, KEYS, dtype=np.uint64, endpoint=True)


def names(n: int) -> list[str]:
    return [f"node-{i}" for i in range(n)]


@lru_cache(None)
def ring(mode: str, n: int) -> HashRing:
    return HashRing(names(n), mode=mode)


def maglev_size(n: int) -> int:
    size = max(65537, 100 * n + 1)
    while not is_prime(size):
        size += 1
    return size


@lru_cache(None)
def maglev(n: int) -> Maglev:
    return Maglev(names(n), table_size=maglev_size(n))


@lru_cache(None)
def rendezvous(n: int) -> Rendezvous:
    return Rendezvous(names(n))


def rendezvous_keys(n: int) -> int:
    return 10_000 if n >= 10_000 else 100_000


@lru_cache(None)
def theirs(kind: str, n: int):
    """uhashring's ring: built by uhashring where that is feasible, else filled in
    from fastsched's ring of identical points."""
    kwargs = {"hash_fn": "ketama"} if kind == "ketama" else {}
    if n <= 1_000 or kind != "ketama":
        return uhashring.HashRing(names(n), **kwargs)
    ours = ring(kind, n)
    built = uhashring.HashRing(names(1), **kwargs)
    built.runtime._nodes = {name: dict(built.runtime._nodes["node-0"], hostname=name,
                                       nodename=name) for name in ours.nodes}
    points = ours.get_points()
    built.runtime._keys = [p for p, _ in points]
    built.runtime._ring = dict(points)
    sample = str_keys()[:2_000]
    assert [built.get_node(k) for k in sample] == ours.get_nodes(sample, names=True).tolist()
    return built


def timed(benchmark, function, *args, rounds: int = ROUNDS, warmup: int = 0):
    result = benchmark.pedantic(function, args=args, rounds=rounds, iterations=1,
                                warmup_rounds=warmup)
    median = benchmark.stats.stats.median if benchmark.stats is not None else None
    return result, median


# -- lookups -----------------------------------------------------------------------------


@pytest.mark.parametrize("n", NODE_COUNTS)
@pytest.mark.parametrize("mode", MODES)
def test_ring_str_keys(benchmark, mode, n):
    benchmark.group = f"str keys, {n:,} nodes"
    chooser = ring(mode, n)
    _, median = timed(benchmark, chooser.get_nodes, str_keys())
    if median:
        note(STR_SECTION, f"fastsched HashRing {mode}", n, KEYS / median / 1e6)


@pytest.mark.parametrize("n", NODE_COUNTS)
@pytest.mark.parametrize("mode", MODES)
def test_ring_u64_keys(benchmark, mode, n):
    benchmark.group = f"u64 keys, {n:,} nodes"
    chooser = ring(mode, n)
    _, median = timed(benchmark, chooser.get_nodes, u64_keys())
    if median:
        note(U64_SECTION, f"fastsched HashRing {mode}", n,
             KEYS / median / 1e6)


@pytest.mark.parametrize("n", NODE_COUNTS)
@pytest.mark.parametrize("kind", ["ketama", "default"])
def test_uhashring_get_node(benchmark, kind, n):
    benchmark.group = f"str keys, {n:,} nodes"
    get = theirs("ketama" if kind == "ketama" else "uhashring", n).get_node
    keys = str_keys()[:PER_CALL_KEYS]
    _, median = timed(benchmark, lambda: [get(k) for k in keys])
    if median:
        note(STR_SECTION, f"uhashring get_node ({kind})", n,
             PER_CALL_KEYS / median / 1e6, baseline=kind == "ketama")


@pytest.mark.parametrize("n", NODE_COUNTS)
def test_hashlib_numpy_searchsorted_str(benchmark, n):
    """What NumPy alone can do for str keys: hashlib per key, then one search."""
    benchmark.group = f"str keys, {n:,} nodes"
    index = ring("ketama", n)._index
    points, owners = index.positions >> np.uint64(32), index.owners
    keys = str_keys()[:PER_CALL_KEYS * 5]

    def lookup():
        hashes = np.fromiter((int.from_bytes(hashlib.md5(k.encode()).digest()[:4], "little")
                              for k in keys), np.uint64, len(keys))
        at = np.searchsorted(points, hashes, side="right")
        at[at == len(points)] = 0
        return owners[at]

    out, median = timed(benchmark, lookup)
    assert out.tolist() == ring("ketama", n).get_nodes(keys).tolist()
    if median:
        note(STR_SECTION, "hashlib + NumPy searchsorted (ketama)", n,
             len(keys) / median / 1e6)


@pytest.mark.parametrize("n", NODE_COUNTS)
def test_numpy_searchsorted_u64(benchmark, n):
    benchmark.group = f"u64 keys, {n:,} nodes"
    index = ring("fast", n)._index
    points, owners = index.positions, index.owners

    def lookup(keys):
        at = np.searchsorted(points, keys, side="right")
        at[at == len(points)] = 0
        return owners[at]

    out, median = timed(benchmark, lookup, u64_keys())
    assert np.array_equal(out, ring("fast", n).get_nodes(u64_keys()))
    if median:
        note(U64_SECTION, "NumPy searchsorted (fast ring)", n,
             KEYS / median / 1e6, baseline=True)


@pytest.mark.parametrize("n", NODE_COUNTS)
@pytest.mark.parametrize("keys", ["str", "u64"])
def test_maglev(benchmark, keys, n):
    benchmark.group = f"{keys} keys, {n:,} nodes"
    _, median = timed(benchmark, maglev(n).get_nodes, str_keys() if keys == "str" else u64_keys())
    if median:
        section = STR_SECTION if keys == "str" else U64_SECTION
        note(section, "fastsched Maglev", n, KEYS / median / 1e6)


@pytest.mark.parametrize("n", NODE_COUNTS)
@pytest.mark.parametrize("keys", ["str", "u64"])
def test_rendezvous(benchmark, keys, n):
    benchmark.group = f"{keys} keys, {n:,} nodes"
    count = rendezvous_keys(n)
    batch = str_keys()[:count] if keys == "str" else u64_keys()[:count]
    _, median = timed(benchmark, rendezvous(n).get_nodes, batch, rounds=3)
    if median:
        section = STR_SECTION if keys == "str" else U64_SECTION
        note(section, "fastsched Rendezvous", n, count / median / 1e6)


@pytest.mark.parametrize("n", NODE_COUNTS)
def test_jump_package(benchmark, n):
    benchmark.group = f"jump, {n:,} buckets"
    keys = u64_keys()[:PER_CALL_KEYS].tolist()
    out, median = timed(benchmark, lambda: [jump.hash(k, n) for k in keys])
    assert out == jump_hash(u64_keys()[:PER_CALL_KEYS], n).tolist()
    if median:
        note("M lookups/s, jump consistent hash", "jump-consistent-hash, one call per key", n,
             PER_CALL_KEYS / median / 1e6, baseline=True)


@pytest.mark.parametrize("n", NODE_COUNTS)
@pytest.mark.parametrize("keys", ["u64", "str"])
def test_jump_fastsched(benchmark, keys, n):
    benchmark.group = f"jump, {n:,} buckets"
    _, median = timed(benchmark, jump_hash, u64_keys() if keys == "u64" else str_keys(), n)
    if median:
        note("M lookups/s, jump consistent hash", f"fastsched jump_hash ({keys} keys)", n,
             KEYS / median / 1e6)


# -- builds ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", NODE_COUNTS)
@pytest.mark.parametrize("mode", MODES)
def test_build_ring(benchmark, mode, n):
    benchmark.group = f"build, {n:,} nodes"
    nodes = names(n)
    _, median = timed(benchmark, lambda: HashRing(nodes, mode=mode), rounds=5, warmup=1)
    if median:
        note("build time, ms (160 points per node)", f"fastsched HashRing {mode}", n,
             median * 1e3)


@pytest.mark.parametrize("n", NODE_COUNTS)
def test_build_maglev(benchmark, n):
    benchmark.group = f"build, {n:,} nodes"
    nodes, size = names(n), maglev_size(n)
    _, median = timed(benchmark, lambda: Maglev(nodes, table_size=size), rounds=5, warmup=1)
    if median:
        note("build time, ms (160 points per node)", "fastsched Maglev (M >= 100 N)", n,
             median * 1e3)


@pytest.mark.parametrize("n", NODE_COUNTS)
@pytest.mark.parametrize("kind", ["ketama", "default"])
def test_build_uhashring(benchmark, kind, n):
    if kind == "ketama" and n > 1_000:
        pytest.skip("uhashring's ketama build is quadratic: ~323 s at 10,000 nodes")
    benchmark.group = f"build, {n:,} nodes"
    nodes = names(n)
    kwargs = {"hash_fn": "ketama"} if kind == "ketama" else {}
    _, median = timed(benchmark, lambda: uhashring.HashRing(nodes, **kwargs), rounds=1)
    if median:
        note("build time, ms (160 points per node)", f"uhashring ({kind})", n, median * 1e3)


# -- balance and movement ----------------------------------------------------------------


def _balance(counts: np.ndarray) -> float:
    return float(counts.max() / counts.mean())


@pytest.mark.parametrize("n", NODE_COUNTS)
def test_balance_and_movement(n):
    """max/mean keys per node over 1M keys, and the keys moved by one more node."""
    keys = u64_keys()
    rows = []
    for mode in MODES:
        before = ring(mode, n).get_nodes(keys)
        grown = HashRing(names(n + 1), mode=mode)
        rows.append((f"HashRing {mode}", before, grown.get_nodes(keys), n))
    rows.append(("jump_hash", jump_hash(keys, n), jump_hash(keys, n + 1), n))
    table = Maglev(names(n + 1), table_size=maglev_size(n))
    rows.append(("Maglev (M >= 100 N)", maglev(n).get_nodes(keys), table.get_nodes(keys), n))
    rows.append(("Rendezvous", rendezvous(n).get_nodes(keys),
                 Rendezvous(names(n + 1)).get_nodes(keys), n))
    for label, before, after, count in rows:
        note("balance: max/mean keys per node (1M keys)", label, n,
             _balance(np.bincount(before, minlength=count)))
        moved = float((before != after).mean())
        note("moved on adding a node (ideal 1/(N+1))", label, n, moved)
    note("moved on adding a node (ideal 1/(N+1))", "ideal 1/(N+1)", n, 1 / (n + 1))
