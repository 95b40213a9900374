"""The vector kernels (fastsched._kernels.vecsearch): the overflow tabu search
keeps every item in exactly one of the bins, stops only at zero overflow, and
finds planted exact packings; vector first fit gives the plain scan's packing."""

from __future__ import annotations

import time

import numpy as np
import pytest

from fastsched.errors import ValidationError

vs = pytest.importorskip("fastsched._kernels.vecsearch")


def _planted(rng, bins, d, cap):
    """Each bin's capacity split into 2–5 random parts per dimension."""
    rows = []
    for _ in range(bins):
        k = int(rng.integers(2, 6))
        cuts = np.sort(rng.integers(1, cap, (k - 1, d)), axis=0)
        edges = np.vstack([np.zeros((1, d), dtype=np.int64), cuts,
                           np.full((1, d), cap, dtype=np.int64)])
        rows.extend(np.diff(edges, axis=0))
    return np.ascontiguousarray(np.array(rows, dtype=np.int64)[rng.permutation(len(rows))])


def _planted_case(seed):
    """(rng, bins, cap, sizes): six bins of capacity 50 in 1–3 dimensions."""
    rng = np.random.default_rng(seed)
    bins, d = 6, 1 + seed % 3
    return rng, bins, np.full(d, 50, dtype=np.int64), _planted(rng, bins, d, 50)


def _loads(sizes, assign, bins):
    loads = np.zeros((bins, sizes.shape[1]), dtype=np.int64)
    np.add.at(loads, assign, sizes)
    return loads


def _run(sizes, cap, bins, assign, steps, seed, bump=0.1):
    tabu = np.zeros((sizes.shape[0], bins), dtype=np.int64)
    weight = np.tile(1.0 / cap, (bins, 1))
    return vs.overflow_tabu(sizes, cap, assign, bins, tabu, weight, 0, steps, seed, bump)


@pytest.mark.parametrize("seed", range(8))
def test_steps_keep_every_item_in_one_bin(seed):
    rng, bins, cap, sizes = _planted_case(seed)
    assign = rng.integers(0, bins, sizes.shape[0]).astype(np.int64)
    left, taken = _run(sizes, cap, bins, assign, 20_000, seed)
    assert assign.min() >= 0 and assign.max() < bins
    loads = _loads(sizes, assign, bins)
    assert left == int((loads > cap).any(axis=1).sum())
    if left == 0:
        assert (loads == cap).all()        # exact fill: nothing else is feasible
    else:
        assert taken == 20_000


@pytest.mark.parametrize("seed", range(8))
def test_bin_elimination_finds_planted_exact_packings(seed):
    from fastsched.solver.binpack.vector import vector_reduce_bins

    _, bins, cap, sizes = _planted_case(seed)
    # One bin per item: eliminate bins down to the planted count.
    nb, assign = sizes.shape[0], np.arange(sizes.shape[0], dtype=np.int64)
    while nb > bins:
        got = vector_reduce_bins(sizes, cap, assign, nb, deadline=time.monotonic() + 60,
                                 seed=seed)
        assert got is not None
        nb, assign = got
    assert (_loads(sizes, assign, bins) == cap).all()


def test_without_breakout_weights_too():
    rng = np.random.default_rng(3)
    sizes = _planted(rng, 5, 2, 40)
    cap = np.array([40, 40], dtype=np.int64)
    assign = np.zeros(sizes.shape[0], dtype=np.int64)
    assert _run(sizes, cap, 5, assign, 500_000, 1, bump=0.0)[0] == 0


def test_infeasible_runs_every_step_and_keeps_items_in_range():
    rng = np.random.default_rng(9)
    sizes = rng.integers(20, 60, (30, 2)).astype(np.int64)
    cap = np.array([100, 100], dtype=np.int64)
    bins = int(sizes.sum(axis=0).max() // 100)        # below the volume bound
    assign = rng.integers(0, bins, 30).astype(np.int64)
    left, taken = _run(sizes, cap, bins, assign, 3000, 2)
    assert left > 0 and taken == 3000
    assert assign.min() >= 0 and assign.max() < bins


def test_already_feasible_takes_no_step():
    sizes = np.array([[3, 4], [5, 1]], dtype=np.int64)
    cap = np.array([10, 10], dtype=np.int64)
    assign = np.array([0, 1], dtype=np.int64)
    assert _run(sizes, cap, 2, assign, 100, 0) == (0, 0)
    assert assign.tolist() == [0, 1]


def test_bad_arguments_raise_instead_of_writing_out_of_bounds():
    sizes = np.array([[6], [6]], dtype=np.int64)
    cap = np.array([10], dtype=np.int64)
    with pytest.raises(ValueError, match="two bins"):
        vs.overflow_tabu(sizes, cap, np.zeros(2, dtype=np.int64), 1,
                         np.zeros((2, 1), dtype=np.int64), np.ones((1, 1)), 0, 10, 0, 0.0)
    with pytest.raises(ValueError, match="is not a bin"):
        _run(sizes, cap, 2, np.array([0, 2], dtype=np.int64), 10, 0)
    with pytest.raises(ValueError, match="shapes"):
        vs.overflow_tabu(sizes, cap, np.zeros(2, dtype=np.int64), 2,
                         np.zeros((2, 3), dtype=np.int64), np.ones((2, 1)), 0, 10, 0, 0.0)


def test_every_seed_moves_even_when_every_move_is_tabu():
    # A seed that once left the generator stuck at zero: the fallback move must
    # still terminate.
    sizes = np.array([[10], [6], [6]], dtype=np.int64)
    cap = np.array([10], dtype=np.int64)
    for seed in (0, 7, 1018231460777725123, 2**64 - 1):
        assign = np.array([1, 0, 0], dtype=np.int64)
        tabu = np.full((3, 2), 100, dtype=np.int64)
        left, taken = vs.overflow_tabu(sizes, cap, assign, 2, tabu, np.tile(1.0 / cap, (2, 1)),
                                       0, 10, seed, 0.0)
        assert left == 1 and taken == 10


def test_reduce_bins_checks_the_assignment_and_its_deadline():
    from fastsched.solver.binpack.vector import vector_reduce_bins

    sizes = np.array([[6, 6], [6, 6], [3, 3], [2, 2]], dtype=np.int64)
    cap = np.array([10, 10], dtype=np.int64)
    with pytest.raises(ValidationError, match="assign"):
        vector_reduce_bins(sizes, cap, np.array([-1, 0, 1, 1]), 3, deadline=time.monotonic() + 1)
    # An impossible target on a large instance gives up at the deadline (how soon
    # is measured in bench/, not here).
    n = 3000
    big = np.ones((n, 2), dtype=np.int64)
    assert vector_reduce_bins(big, np.array([100, 100]), np.arange(n) % 30, 30,
                              deadline=time.monotonic() + 0.5) is None


def _first_fit_scan(sizes, cap, order):
    """The plain scan: each item into the lowest-numbered open bin it fits."""
    loads: list[np.ndarray] = []
    out = np.empty(sizes.shape[0], dtype=np.int64)
    for i in order:
        b = next((b for b, load in enumerate(loads) if (load + sizes[i] <= cap).all()),
                 len(loads))
        if b == len(loads):
            loads.append(np.zeros_like(cap))
        loads[b] = loads[b] + sizes[i]
        out[i] = b
    return len(loads), out


def test_vector_first_fit_matches_the_plain_scan():
    rng = np.random.default_rng(31)
    for _ in range(300):
        n, d = int(rng.integers(0, 60)), int(rng.integers(1, 5))
        cap = rng.integers(1, 30, d).astype(np.int64)
        sizes = np.ascontiguousarray(rng.integers(0, 31, (n, d)) % (cap + 1), dtype=np.int64)
        order = rng.permutation(n).astype(np.int64)
        out = np.zeros(n, dtype=np.int64)
        nb = vs.vector_first_fit(sizes, cap, order, out)
        ref_nb, ref = _first_fit_scan(sizes, cap, order)
        assert nb == ref_nb and out.tolist() == ref.tolist()


def test_vector_first_fit_past_its_deadline_still_packs_every_item():
    rng = np.random.default_rng(32)
    sizes = np.ascontiguousarray(rng.integers(1, 50, (3000, 3)), dtype=np.int64)
    cap = np.array([100, 100, 100], dtype=np.int64)
    out = np.zeros(3000, dtype=np.int64)
    nb = vs.vector_first_fit(sizes, cap, np.arange(3000, dtype=np.int64), out,
                             time.monotonic() - 1)
    assert sorted(set(out.tolist())) == list(range(nb))
    assert (_loads(sizes, out, nb) <= cap).all()
    with pytest.raises(ValueError, match="order"):
        vs.vector_first_fit(sizes, cap, np.full(3000, 3000, dtype=np.int64), out)
