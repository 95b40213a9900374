"""Bounded work and clear errors in the bin-packing solvers: deadlines reach
inside every phase, tables are sized against ``max_memory`` before they are
allocated, and bad capacities, sizes and budgets raise ``ValidationError``
naming the field. (No timing is asserted: what is checked is that a phase
told its time is up stops and says so, and that what comes back is valid.)"""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("scipy")
pytest.importorskip("ortools")

from fastsched.errors import ValidationError  # noqa: E402
from fastsched.solver import binpack, binpack_vector  # noqa: E402
from fastsched.solver.binpack import arcflow  # noqa: E402
from fastsched.solver.binpack.bounds import item_types, knapsack_bytes, l1_bound, l2_bound, lp_bound  # noqa: E402
from fastsched.solver.binpack.scalar import _bin_columns  # noqa: E402


def _valid(res, sizes, cap):
    sizes = np.asarray(sizes, dtype=np.int64).reshape(len(sizes), -1)
    cap = np.atleast_1d(cap)
    assert sorted(set(res.assignment.tolist())) == list(range(res.bins))
    for b in range(res.bins):
        assert (sizes[res.assignment == b].sum(axis=0) <= cap).all()
    assert res.lower_bound <= res.bins
    assert res.optimal == (res.bins == res.lower_bound)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("cap, match", [
    (2 ** 63, r"at most 2\*\*62"),
    (2 ** 62 + 1, r"at most 2\*\*62"),
    ("10", "str"),
    (b"10", "bytes"),
    ([10], "list"),
    (None, "NoneType"),
    (float("inf"), "positive integer"),
    (np.float64("nan"), "positive integer"),
])
def test_bad_capacities_name_the_field(cap, match):
    with pytest.raises(ValidationError, match=match) as err:
        binpack([1, 2], cap)
    assert err.value.field == "capacity"


def test_large_valid_capacities_and_numpy_scalars():
    res = binpack([2 ** 60, 2 ** 60, 5], np.int64(2 ** 61), time_limit=2, workers=1)
    assert res.bins == 2 and res.optimal
    assert binpack([3, 4], np.uint8(7), time_limit=1, workers=1).bins == 1


@pytest.mark.parametrize("sizes, cap, field, match", [
    ([2 ** 62] * 3, 2 ** 62, "sizes", "add up"),
    ([1, 2 ** 63], 10, "sizes[1]", r"at most 2\*\*62"),
    (np.array([1, 2 ** 63], dtype=np.uint64), 10, "sizes[1]", r"at most 2\*\*62"),
    ([1.0, 1e300], 10, "sizes[1]", r"at most 2\*\*62"),
    ([1, float("nan")], 10, "sizes[1]", "finite integer"),
    ([1, 1.5], 10, "sizes[1]", "finite integer"),
    ([1, -1], 10, "sizes[1]", "non-negative"),
    ([1, 11], 10, "sizes[1]", "larger than the capacity"),
])
def test_bad_sizes_name_the_entry(sizes, cap, field, match):
    with pytest.raises(ValidationError, match=match) as err:
        binpack(sizes, cap)
    assert err.value.field == field


@pytest.mark.parametrize("sizes, cap, field, match", [
    ([[1, 2]], [2 ** 63, 5], "capacity[0]", r"at most 2\*\*62"),
    ([[1, 2]], [2 ** 62 + 1, 5], "capacity[0]", r"at most 2\*\*62"),
    ([[1, 2]], ["10", "10"], "capacity", "expected integers"),
    ([[1, 2]], [], "capacity", "positive integers"),
    (np.zeros((0, 3)), [10, 10], "sizes", "columns"),
    ([[2 ** 62, 1]] * 2, [2 ** 62, 10], "sizes", "add up"),
])
def test_vector_bad_capacities_and_sizes(sizes, cap, field, match):
    with pytest.raises(ValidationError, match=match) as err:
        binpack_vector(sizes, cap)
    assert err.value.field == field


@pytest.mark.parametrize("sizes, cap", [([], [10, 10]), (np.zeros((0, 2)), [10, 10]),
                                        ([], [7])])
def test_vector_no_items_is_zero_bins(sizes, cap):
    res = binpack_vector(sizes, cap, time_limit=1, workers=1)
    assert (res.bins, res.lower_bound, res.optimal, res.assignment.size) == (0, 0, True, 0)


@pytest.mark.parametrize("budget, match", [(0, "at least"), (2 ** 10, "at least"),
                                           ("1GB", "number of bytes"), (1.5e9, "number of bytes"),
                                           (True, "number of bytes")])
def test_bad_memory_budgets(budget, match):
    for solve, sizes, cap in ((binpack, [1, 2], 10), (binpack_vector, [[1, 1]], [10, 10])):
        with pytest.raises(ValidationError, match=match) as err:
            solve(sizes, cap, max_memory=budget)
        assert err.value.field == "max_memory"


def test_a_budget_below_what_the_items_need_is_refused_before_any_work():
    with pytest.raises(ValidationError, match="1000000 items") as err:
        binpack(np.ones(10 ** 6, dtype=np.int64), 10, max_memory=2 ** 24)
    assert err.value.field == "max_memory"


# ---------------------------------------------------------------- memory bounds

def test_many_distinct_sizes_skip_the_lp_when_its_patterns_do_not_fit():
    # 3,000 item types: the dense pattern table needs 16·m² = 144 MB > 1/8 of 64 MB.
    rng = np.random.default_rng(40)
    sizes = rng.permutation(np.arange(1, 100_000))[:3000]
    res = binpack(sizes, 100_000, time_limit=5, workers=1, max_memory=2 ** 26)
    _valid(res, sizes, 100_000)
    assert any(s.startswith("lp:") for s in res.stats["skipped"])
    assert "lp_iterations" not in res.stats
    assert res.lower_bound == max(l1_bound(sizes, 100_000), l2_bound(sizes, 100_000))


def test_the_pricing_dp_is_sized_before_it_runs():
    types = item_types(np.array([5, 5, 3, 3, 3, 2]))
    # pieces: min(d, C // w) split in binary: 2 -> 2 pieces, 3 -> 2, 1 -> 1
    assert knapsack_bytes(types, 10) == (5 + 8) * 11
    rng = np.random.default_rng(41)
    sizes = rng.integers(1, 10 ** 7, 400)
    res = binpack(sizes, 10 ** 7, time_limit=5, workers=1, max_memory=2 ** 28)
    _valid(res, sizes, 10 ** 7)
    assert any("pricing DP" in s for s in res.stats.get("skipped", [])) or \
        res.bins == res.lower_bound


def test_the_greedy_bins_become_distinct_initial_columns():
    rng = np.random.default_rng(42)
    sizes = rng.integers(1, 8, 200)
    types = item_types(sizes)
    from fastsched.solver.binpack.heuristics import first_fit_decreasing
    nb, assign = first_fit_decreasing(sizes, 10)
    every = _bin_columns(types, assign, nb, nb)
    for b in range(nb):      # one row per bin, its item-type counts
        assert every[b].tolist() == np.bincount(types.type_of[assign == b],
                                                minlength=types.weights.size).tolist()
    few = _bin_columns(types, assign, nb, 5)
    assert 1 <= len(few) <= 5
    assert len({tuple(c) for c in few}) == len(few)
    assert all(any((c == e).all() for e in every) for c in few)


# ---------------------------------------------------------------- deadlines

def test_lp_bound_stops_at_its_column_budget_with_a_valid_bound():
    rng = np.random.default_rng(43)
    sizes = rng.integers(20, 60, 60)
    types = item_types(sizes)
    full = lp_bound(types, 100, converge=True)
    capped = lp_bound(types, 100, converge=True, max_columns=types.weights.size + 2)
    assert capped.patterns.shape[0] <= types.weights.size + 2 + 8
    assert capped.bound <= full.bound
    late = lp_bound(types, 100, converge=True, deadline=time.monotonic() - 1)
    assert late.bound == 0 and not late.converged


def test_the_pricing_dp_returns_minus_one_past_its_deadline():
    from fastsched._kernels import binpack as k

    w = np.array([7, 5, 3], dtype=np.int64)
    counts = np.zeros((2, 3), dtype=np.int64)
    values = np.zeros(2)
    args = (w, np.array([0.7, 0.5, 0.3]), np.array([2, 2, 2], dtype=np.int64), 20, counts,
            values, 1.0)
    assert k.knapsack_columns(*args, time.monotonic() - 1) == -1
    assert k.knapsack_columns(*args, time.monotonic() + 60) == k.knapsack_columns(*args) >= 1


def test_graph_building_stops_at_its_deadline():
    types = item_types(np.array([40, 30, 30, 20, 10, 10]))
    assert arcflow.build_graph(types, 100, None, 0.0, deadline=time.monotonic() - 1) is None
    graph = arcflow.build_graph(types, 100, None, 0.0, deadline=time.monotonic() + 60)
    assert graph is not None and graph.tail.size > 0


def test_a_million_items_get_a_packing_and_an_honest_bound():
    # The size the campaign timed out on; what is checked here is validity and
    # the bound's honesty, not the time (bench/bench_binpack_limits.py times it).
    rng = np.random.default_rng(44)
    sizes = rng.integers(1, 1001, 10 ** 6)
    res = binpack(sizes, 1000, time_limit=1, workers=1)
    loads = np.bincount(res.assignment, weights=sizes, minlength=res.bins)
    assert loads.max() <= 1000 and res.assignment.max() == res.bins - 1
    assert l2_bound(sizes, 1000) <= res.lower_bound <= res.bins
    assert res.status == ("OPTIMAL" if res.bins == res.lower_bound else "FEASIBLE")


def test_vector_large_instances_skip_cpsat_and_stay_valid():
    rng = np.random.default_rng(45)
    sizes = rng.integers(1, 400, (3000, 3))
    cap = np.array([1000, 1000, 1000])
    res = binpack_vector(sizes, cap, time_limit=2, workers=1)
    _valid(res, sizes, cap)
    assert any(s.startswith("cpsat:") for s in res.stats["skipped"])
    assert "cpsat_bound" not in res.stats


def _counts_to_assignment_reference(counts, type_of):
    """Bin by bin, each bin's items type by type while the type has items left;
    the items of a type go to its bins by increasing index."""
    left = np.bincount(type_of, minlength=len(counts[0])).tolist()
    bins = []
    for c in counts:
        keep = []
        for t, k in enumerate(c):
            for _ in range(int(k)):
                if left[t] > 0:
                    left[t] -= 1
                    keep.append(t)
        if keep:
            bins.append(keep)
    pools = {t: [i for i in range(len(type_of)) if type_of[i] == t] for t in set(type_of.tolist())}
    out = np.empty(len(type_of), dtype=np.int64)
    for b, items in enumerate(bins):
        for t in items:
            out[pools[t].pop(0)] = b
    return out


def test_covering_counts_become_an_assignment_as_the_reference_does():
    from fastsched.solver.binpack.scalar import _counts_to_assignment

    rng = np.random.default_rng(46)
    for _ in range(300):
        m, n = int(rng.integers(1, 6)), int(rng.integers(1, 30))
        type_of = rng.integers(0, m, n)
        counts = [rng.integers(0, 4, m) for _ in range(int(rng.integers(1, 8)))]
        counts.append(np.maximum(np.bincount(type_of, minlength=m) - np.sum(counts, axis=0), 0))
        assert _counts_to_assignment(counts, type_of).tolist() == \
            _counts_to_assignment_reference(counts, type_of).tolist()
