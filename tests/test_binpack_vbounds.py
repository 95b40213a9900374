"""The pattern LP bound of vector bin packing: valid against brute force on small
instances, exact on identical items (the optimum is ⌈n / k⌉, k the most items
one bin holds), and what lets binpack_vector prove such instances at once."""

from __future__ import annotations

import time

import numpy as np
import pytest

from fastsched.solver import binpack_vector
from fastsched.solver.binpack.vbounds import vector_lp_bound


def _optimum(sizes: np.ndarray, cap: np.ndarray) -> int:
    """Fewest bins by exhaustive search (items in order, each into an open bin or
    a new one; a bin count at or above the best is cut)."""
    best = len(sizes)
    loads: list[np.ndarray] = []

    def place(i: int) -> None:
        nonlocal best
        if len(loads) >= best:
            return
        if i == len(sizes):
            best = len(loads)
            return
        for load in loads:
            if (load + sizes[i] <= cap).all():
                load += sizes[i]
                place(i + 1)
                load -= sizes[i]
        loads.append(sizes[i].copy())
        place(i + 1)
        loads.pop()

    place(0)
    return best


@pytest.mark.parametrize("seed", range(40))
def test_the_bound_never_exceeds_the_optimum(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 4))
    cap = rng.integers(10, 30, d)
    n = int(rng.integers(1, 9))
    sizes = np.array([[rng.integers(1, c + 1) for c in cap] for _ in range(n)])
    if seed % 3 == 0:                       # repeated types too
        sizes = np.repeat(sizes[: max(1, n // 3)], 3, axis=0)
    opt = _optimum(sizes, cap)
    bound, stats = vector_lp_bound(sizes, cap, time.monotonic() + 5)
    assert 0 < bound <= opt, (bound, opt, stats)
    res = binpack_vector(sizes, cap, time_limit=5)
    assert res.bins >= opt and res.lower_bound <= opt
    assert not res.optimal or res.bins == opt


@pytest.mark.parametrize("seed", range(12))
def test_identical_items_are_proved_at_once(seed):
    rng = np.random.default_rng(100 + seed)
    d = int(rng.integers(1, 6))
    cap = rng.integers(100, 100_000, d)
    size = np.array([rng.integers(1, max(2, c // int(rng.integers(1, 40)))) for c in cap])
    n = int(rng.integers(1, 2000))
    k = int(min(cap // size))
    res = binpack_vector(np.tile(size, (n, 1)), cap, time_limit=10)
    assert res.optimal and res.bins == res.lower_bound == -(-n // k)
    bound, stats = vector_lp_bound(np.tile(size, (n, 1)), cap, time.monotonic() + 5)
    assert bound == -(-n // k) and stats["rounds"] == 1


def test_476_identical_pods():
    # the case from the issue: 500m / 1Gi pods on 3.9 cpu / 15,000 Mi nodes
    res = binpack_vector(np.tile([500, 1024], (476, 1)), [3900, 15000], time_limit=10)
    assert res.optimal and res.bins == -(-476 // 7)


def test_a_deadline_in_the_past_gives_a_valid_bound():
    sizes = np.array([[3, 4], [4, 3], [2, 2], [5, 1]])
    bound, stats = vector_lp_bound(sizes, np.array([6, 6]), time.monotonic() - 1)
    assert bound == 0 and stats["rounds"] == 0


def test_many_item_types_skip_the_bound():
    # beyond MAX_TYPES distinct vectors the pattern LP is not tried (memory, time)
    from fastsched.solver.binpack.vbounds import MAX_TYPES
    rng = np.random.default_rng(7)
    sizes = rng.integers(1, 10_000, (MAX_TYPES + 500, 2))
    bound, stats = vector_lp_bound(sizes, np.array([10_000, 10_000]), time.monotonic() + 5)
    assert bound == 0 and "item types" in stats["skipped"]
