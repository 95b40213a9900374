"""LP probing on the arc-flow graph (fastsched.solver.binpack.probing): it may only drop
arcs that no packing into the target uses, and refute a target only when no
packing exists (checked against brute force and a known non-IRUP instance)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastsched._kernels.binpack")

from test_binpack import brute_force  # noqa: E402

from fastsched.cli.binpack import read_bpplib  # noqa: E402
from fastsched.solver import binpack  # noqa: E402
from fastsched.solver.binpack import arcflow, probing  # noqa: E402
from fastsched.solver.binpack.bounds import item_types, lp_bound  # noqa: E402

# BPPLIB instances stay in ../shared/data (the project ships none of their files).
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "bpp"


def shared_instance(name):
    path = SHARED / f"{name}.txt"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    return read_bpplib(path)


def _tighten(sizes, cap, target, reduced=True, seconds=30.0):
    types = item_types(np.asarray(sizes, dtype=np.int64))
    if reduced:
        lp = lp_bound(types, cap, converge=True)
        graph = arcflow.build_graph(types, cap, lp.duals, target - lp.value)
    else:
        graph = arcflow.build_graph(types, cap, None, 0.0)
    stats: dict = {}
    out = probing.tighten(types, graph, target, deadline=time.monotonic() + seconds,
                          stats=stats)
    return types, graph, out, stats


def _packs(types, graph, target):
    res = arcflow.solve_target(types, graph, target, time_limit=30, workers=1)
    assert res.status != "UNKNOWN"
    return res.status == "FEASIBLE"


@pytest.mark.parametrize("seed", range(40))
def test_never_drops_what_an_optimal_packing_needs(seed):
    rng = np.random.default_rng(seed)
    cap = int(rng.integers(10, 40))
    sizes = rng.integers(1, cap + 1, int(rng.integers(4, 11))).tolist()
    opt = brute_force(sizes, cap)
    for reduced in (False, True):
        types, graph, out, stats = _tighten(sizes, cap, opt, reduced)
        assert out is not None, stats
        assert out.tail.size <= graph.tail.size
        # Every kept arc was in the graph, and a packing into `opt` bins remains.
        kept = set(zip(out.tail.tolist(), out.head.tolist(), out.kind.tolist()))
        assert kept <= set(zip(graph.tail.tolist(), graph.head.tolist(), graph.kind.tolist()))
        assert _packs(types, out, opt)
        if opt > 1:
            below = probing.tighten(types, graph, opt - 1, deadline=time.monotonic() + 30)
            assert below is None or not _packs(types, below, opt - 1)


def test_refutes_the_lp_bound_of_a_non_irup_instance():
    # Wäscher TEST0022: ⌈LP⌉ = 14, optimum 15.
    sizes, cap = shared_instance("Waescher_TEST0022")
    _, graph, out, stats = _tighten(sizes, cap, 14)
    assert out is None
    assert stats["rounds"] >= 1 and stats["arcs_in"] == graph.tail.size


def _arcs_of(types, assignment, bins):
    """The arcs of a packing: per bin, its items by decreasing size from load 0,
    then the loss arc to the sink."""
    arcs = set()
    for b in range(bins):
        load = 0
        for t in sorted(types.type_of[assignment == b].tolist()):
            arcs.add((load, load + int(types.weights[t]), t))
            load += int(types.weights[t])
        arcs.add((load, None, -1))
    return arcs


def test_an_optimal_packing_survives_on_a_real_instance():
    sizes, cap = shared_instance("Waescher_TEST0022")
    packing = binpack(sizes, cap, time_limit=10, workers=1)
    assert packing.bins == 15
    types, graph, out, _ = _tighten(sizes, cap, 15, seconds=3.0)
    assert out is not None and out.tail.size <= graph.tail.size
    kept = {(int(t), None if k < 0 else int(h), int(k))
            for t, h, k in zip(out.tail, out.head, out.kind)}
    assert _arcs_of(types, packing.assignment, packing.bins) <= kept


def test_deadline_in_the_past_returns_the_graph():
    sizes, cap = [5, 4, 3, 3, 2], 8
    types = item_types(np.asarray(sizes, dtype=np.int64))
    graph = arcflow.build_graph(types, cap, None, 0.0)
    out = probing.tighten(types, graph, 3, deadline=time.monotonic() - 1)
    assert out is graph
