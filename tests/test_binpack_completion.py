"""Bin completion toward a target, and claims against the training set's optima."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")
pytest.importorskip("ortools")

from fastsched.cli.binpack import read_bpplib  # noqa: E402
from fastsched.solver import binpack  # noqa: E402
from fastsched.solver.binpack.heuristics import complete_bins  # noqa: E402

TRAIN = Path(__file__).parent.parent.parent / "shared" / "data" / "bpp-train"


def fits(sizes, capacity, k) -> bool:
    """Whether the sizes pack into k bins (plain depth-first search)."""
    loads = [0] * k

    def go(i, order):
        if i == len(order):
            return True
        tried = set()
        for b in range(k):
            if loads[b] + order[i] <= capacity and loads[b] not in tried:
                tried.add(loads[b])
                loads[b] += order[i]
                if go(i + 1, order):
                    return True
                loads[b] -= order[i]
        return False

    return go(0, sorted(sizes, reverse=True))


def perfect_packing(rng, bins, capacity, pieces=(2, 4)):
    """Sizes cut from `bins` full bins, each into 2..4 pieces, shuffled."""
    sizes = []
    for _ in range(bins):
        parts = int(rng.integers(pieces[0], pieces[1] + 1))
        cuts = np.sort(rng.choice(np.arange(1, capacity), parts - 1, replace=False))
        sizes += np.diff(np.concatenate([[0], cuts, [capacity]])).tolist()
    return np.array(rng.permutation(sizes), dtype=np.int64)


def test_completion_agrees_with_brute_force_on_tiny_instances():
    rng = np.random.default_rng(11)
    checked = found = 0
    while checked < 300:
        cap = int(rng.integers(5, 40))
        s = rng.integers(1, cap + 1, int(rng.integers(1, 10))).astype(np.int64)
        k = -(-int(s.sum()) // cap)
        if k * cap - s.sum() > 64:
            continue
        checked += 1
        got = complete_bins(s, cap, k, deadline=time.monotonic() + 0.5)
        assert (got is not None) == fits(s.tolist(), cap, k), (cap, s.tolist(), k)
        if got is not None:
            found += 1
            bins, b = got
            assert bins <= k and b.min() >= 0
            assert np.bincount(b, s).max() <= cap
    assert 0 < found < checked          # both answers were exercised


def test_completion_finds_generated_perfect_packings():
    rng = np.random.default_rng(3)
    for _ in range(5):
        s = perfect_packing(rng, 30, 1000)
        got = complete_bins(s, 1000, 30, deadline=time.monotonic() + 10)
        assert got is not None
        bins, b = got
        assert bins == 30
        assert (np.bincount(b, s, minlength=30) == 1000).all()


def test_completion_gives_up_on_an_impossible_target():
    # Six items above half a bin cannot share four bins, though they add up to 40.
    s = np.array([6, 6, 6, 6, 8, 8], dtype=np.int64)
    assert complete_bins(s, 10, 4, deadline=time.monotonic() + 1) is None
    # More than the target holds at all.
    assert complete_bins(np.array([9, 9, 9]), 10, 2, deadline=time.monotonic() + 1) is None


def test_binpack_proves_a_perfect_packing_by_completion():
    rng = np.random.default_rng(8)
    s = perfect_packing(rng, 40, 5000, pieces=(2, 3))
    res = binpack(s, 5000, time_limit=10, workers=1)
    assert res.optimal and res.bins == 40 == res.lower_bound
    assert np.bincount(res.assignment, s).max() <= 5000


def _stratified(optima, per_class, seed):
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[str]] = {}
    for name, v in sorted(optima.items()):
        by_class.setdefault(v["class"], []).append(name)
    return [n for c in sorted(by_class) for n in rng.choice(by_class[c], per_class, replace=False)]


def test_claims_never_contradict_the_known_optima():
    # A random draw from every class of the training set, at a short limit: a
    # packing below the optimum, a bound above it, or "optimal" on a packing
    # above it would each be a bug.
    if not (TRAIN / "optima.json").exists():
        pytest.skip(f"{TRAIN} is not here")
    optima = json.loads((TRAIN / "optima.json").read_text())
    for name in _stratified(optima, 1, 0):
        sizes, cap = read_bpplib(TRAIN / f"{name}.txt")
        res = binpack(sizes, cap, time_limit=1.0, workers=1)
        opt = optima[name]["optimum"]
        assert res.lower_bound <= opt <= res.bins, name
        assert res.optimal == (res.bins == res.lower_bound), name
        assert np.bincount(res.assignment, np.asarray(sizes)).max() <= cap, name
