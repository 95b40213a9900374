"""Bin packing: bounds, heuristics, the exact pipeline, vector packing, the CLI."""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")
pytest.importorskip("ortools")

from fastsched.cli.binpack import add_binpack_parser, cmd_binpack, read_bpplib  # noqa: E402
from fastsched.errors import ValidationError  # noqa: E402
from fastsched.solver import PackResult, binpack, binpack_vector  # noqa: E402
from fastsched.solver.binpack.bounds import item_types, l1_bound, l2_bound, lp_bound  # noqa: E402
from fastsched.solver.binpack.heuristics import best_fit_decreasing, first_fit_decreasing, min_bin_slack

HERE = Path(__file__).parent
SHARED = HERE.parent.parent / "shared" / "data" / "bpp"


# ---------------------------------------------------------------- references

def brute_force(sizes, capacity) -> int:
    """Optimum by trying every set partition (restricted growth strings)."""
    n = len(sizes)
    if n == 0:
        return 0
    best = n
    loads: list[int] = []

    def go(i):
        nonlocal best
        if len(loads) >= best:
            return
        if i == n:
            best = len(loads)
            return
        for b in range(len(loads)):
            if loads[b] + sizes[i] <= capacity:
                loads[b] += sizes[i]
                go(i + 1)
                loads[b] -= sizes[i]
        loads.append(sizes[i])
        go(i + 1)
        loads.pop()

    go(0)
    return best


def reference_first_fit(sizes, capacity):
    loads, out = [], []
    for s in sizes:
        for b, load in enumerate(loads):
            if load + s <= capacity:
                loads[b] += s
                out.append(b)
                break
        else:
            loads.append(s)
            out.append(len(loads) - 1)
    return len(loads), out


def reference_best_fit(sizes, capacity):
    """The textbook scan: the fullest bin that still fits, lowest number on ties."""
    loads, out = [], []
    for s in sizes:
        best, best_load = -1, -1
        for b, load in enumerate(loads):
            if load + s <= capacity and load > best_load:
                best, best_load = b, load
        if best < 0:
            loads.append(0)
            best = len(loads) - 1
        loads[best] += s
        out.append(best)
    return len(loads), out


def check_packing(res: PackResult, sizes, capacity):
    sizes = np.asarray(sizes, dtype=np.int64).reshape(len(sizes), -1) if len(sizes) else \
        np.zeros((0, 1), dtype=np.int64)
    cap = np.atleast_1d(np.asarray(capacity))
    assert res.assignment.shape == (sizes.shape[0],)
    if sizes.shape[0]:
        assert res.assignment.min() >= 0
        assert set(res.assignment.tolist()) == set(range(res.bins))
        for b in range(res.bins):
            assert (sizes[res.assignment == b].sum(axis=0) <= cap).all()
    assert res.lower_bound <= res.bins
    assert res.optimal == (res.bins == res.lower_bound)
    assert res.status == ("OPTIMAL" if res.optimal else "FEASIBLE")


# ---------------------------------------------------------------- bounds

def test_l1_l2_hand_checked():
    # Three items above C/2 need three bins although they sum to 1.8 C.
    assert l1_bound(np.array([6, 6, 6]), 10) == 2
    assert l2_bound(np.array([6, 6, 6]), 10) == 3
    # k = 4: N2 = {6, 6} leaves 4 + 4 of room, N3 = {4, 4, 4} needs 12 -> +1 bin.
    assert l2_bound(np.array([6, 6, 4, 4, 4]), 10) == 3
    assert l2_bound(np.array([], dtype=np.int64), 10) == 0


def test_bounds_never_exceed_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(150):
        n = int(rng.integers(1, 9))
        cap = int(rng.integers(5, 30))
        sizes = rng.integers(1, cap + 1, n)
        opt = brute_force(sizes.tolist(), cap)
        l1, l2 = l1_bound(sizes, cap), l2_bound(sizes, cap)
        lp = lp_bound(item_types(sizes), cap, converge=True).bound
        assert l1 <= l2 <= opt
        assert lp <= opt


def test_lp_bound_beats_l1():
    # Five items of 0.4 C fit two per bin: L1 = ceil(2.0) = 2, the LP 2.5 -> 3.
    sizes = np.array([4] * 5)
    assert l1_bound(sizes, 10) == 2
    assert lp_bound(item_types(sizes), 10, converge=True).bound == 3


# ---------------------------------------------------------------- heuristics

def test_first_fit_matches_reference():
    rng = np.random.default_rng(2)
    for _ in range(100):
        n = int(rng.integers(0, 40))
        cap = int(rng.integers(1, 50))
        sizes = rng.integers(1, cap + 1, n)
        nb, assign = first_fit_decreasing(sizes, cap)
        order = np.argsort(-sizes, kind="stable")
        ref_nb, ref = reference_first_fit(sizes[order].tolist(), cap)
        assert nb == ref_nb
        assert assign[order].tolist() == ref


@pytest.mark.parametrize("kernel, reference", [("first_fit", reference_first_fit),
                                               ("best_fit", reference_best_fit)])
def test_fit_kernels_match_the_quadratic_scans(kernel, reference):
    # The tree (first fit) and treap (best fit) kernels against the plain scans,
    # in any item order (sorted or not), with zero sizes and exactly full bins.
    from fastsched._kernels import binpack as k

    rng = np.random.default_rng(22)
    for trial in range(400):
        n = int(rng.integers(0, 70))
        cap = int(rng.integers(1, 40))
        sizes = rng.integers(0, cap + 1, n).astype(np.int64)
        if trial % 3 == 0:
            sizes = np.ascontiguousarray(np.sort(sizes)[::-1])
        out = np.zeros(n, dtype=np.int64)
        nb = getattr(k, kernel)(sizes, cap, out)
        ref_nb, ref = reference(sizes.tolist(), cap)
        assert (nb, out.tolist()) == (ref_nb, ref)


def test_best_fit_decreasing_matches_reference():
    rng = np.random.default_rng(23)
    for _ in range(100):
        n = int(rng.integers(0, 60))
        cap = int(rng.integers(1, 10**6))
        sizes = rng.integers(1, cap + 1, n)
        nb, assign = best_fit_decreasing(sizes, cap)
        order = np.argsort(-sizes, kind="stable")
        ref_nb, ref = reference_best_fit(sizes[order].tolist(), cap)
        assert nb == ref_nb and assign[order].tolist() == ref


def test_mbs_past_its_deadline_packs_the_rest_by_first_fit():
    rng = np.random.default_rng(24)
    sizes = rng.integers(1, 100, 300)
    order = np.argsort(-sizes, kind="stable")
    nb, assign = min_bin_slack(sizes, 100, deadline=time.monotonic() - 1)
    ref_nb, ref = reference_first_fit(sizes[order].tolist(), 100)
    # No bin was searched: every item went by first fit in priority order.
    assert nb == ref_nb and assign[order].tolist() == ref
    far = min_bin_slack(sizes, 100, deadline=time.monotonic() + 60)
    none = min_bin_slack(sizes, 100)
    assert far[0] == none[0] and far[1].tolist() == none[1].tolist()


@pytest.mark.parametrize("heuristic", [first_fit_decreasing, best_fit_decreasing, min_bin_slack])
def test_heuristics_feasible(heuristic):
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 60))
        cap = int(rng.integers(1, 100))
        sizes = rng.integers(1, cap + 1, n)
        nb, assign = heuristic(sizes, cap)
        assert set(assign.tolist()) == set(range(nb))
        assert np.bincount(assign, weights=sizes).max() <= cap
        assert nb >= l2_bound(sizes, cap)


def test_mbs_finds_exact_triplets():
    # Bins of 100 filled by triplets; FFD pairs the big items badly.
    sizes = np.array([50, 49, 48, 26, 26, 25, 25, 25, 26])
    assert min_bin_slack(sizes, 100)[0] == 3


def _random_irup(rng, bins, cap):
    """Items that fill ``bins`` bins exactly (each bin cut at random points)."""
    sizes = []
    for _ in range(bins):
        cuts = np.sort(rng.choice(np.arange(1, cap), size=int(rng.integers(2, 4)),
                                  replace=False))
        sizes.extend(np.diff(np.concatenate(([0], cuts, [cap]))).tolist())
    return np.array(sizes, dtype=np.int64)


def test_dive_packs_exactly_into_the_target():
    from fastsched.solver.binpack.diving import dive

    rng = np.random.default_rng(11)
    for _ in range(5):
        sizes = _random_irup(rng, 12, 1000)
        types = item_types(sizes)
        lp = lp_bound(types, 1000, converge=True)
        found = dive(types, 1000, 12, pool=list(lp.patterns), deadline=time.monotonic() + 5)
        if found is None:
            continue
        assert len(found) <= 12
        total = np.sum(found, axis=0)
        assert (total == types.demand).all()
        assert all(int(c @ types.weights) <= 1000 for c in found)


def test_dive_respects_an_impossible_target():
    from fastsched.solver.binpack.diving import dive

    sizes = np.array([6, 6, 6])           # three bins needed, two asked for
    types = item_types(sizes)
    lp = lp_bound(types, 10, converge=True)
    assert dive(types, 10, 2, pool=list(lp.patterns),
                deadline=time.monotonic() + 0.5) is None


def test_large_capacity_skips_the_arc_flow_graph():
    # Scholl-3-like: capacity 100,000, the arc-flow graph is never built.
    rng = np.random.default_rng(12)
    sizes = rng.integers(20_000, 35_001, 120)
    res = binpack(sizes, 100_000, time_limit=2, workers=1)
    check_packing(res, sizes, 100_000)
    assert "arcflow" not in res.stats


# ---------------------------------------------------------------- binpack

@pytest.mark.parametrize("sizes, cap, opt", [
    ([], 10, 0),
    ([0, 0], 10, 1),
    ([10], 10, 1),
    ([5, 5, 5, 5], 10, 2),
    ([6, 6, 6], 10, 3),
    ([7, 3, 6, 4, 5, 5], 10, 3),
    ([3, 3, 3, 3, 4, 4], 10, 2),
    ([50, 49, 48, 26, 26, 25, 25, 25, 26], 100, 3),
])
def test_hand_checked_optima(sizes, cap, opt):
    res = binpack(sizes, cap, time_limit=5, workers=1)
    assert res.bins == opt and res.optimal and res.lower_bound == opt
    check_packing(res, sizes, cap)


def test_random_tiny_against_brute_force():
    rng = np.random.default_rng(4)
    for _ in range(120):
        n = int(rng.integers(1, 9))
        cap = int(rng.integers(5, 40))
        sizes = rng.integers(0, cap + 1, n)
        res = binpack(sizes, cap, time_limit=5, workers=1, seed=int(rng.integers(100)))
        opt = brute_force(sizes.tolist(), cap)
        check_packing(res, sizes, cap)
        assert res.lower_bound <= opt <= res.bins
        if res.optimal:
            assert res.bins == opt


def test_result_fields_and_determinism():
    sizes = [42, 17, 99, 63, 5, 88, 31, 74, 55, 20] * 3
    a = binpack(sizes, 150, time_limit=5, workers=1, seed=7)
    b = binpack(sizes, 150, time_limit=5, workers=1, seed=7)
    assert a.bins == b.bins and (a.assignment == b.assignment).all()
    assert a.workers == 1 and a.wall_time >= 0 and a.method
    assert a.assignment.dtype == np.int64
    with pytest.raises(Exception):
        a.bins = 3  # frozen


def test_status_and_gap_are_the_shared_ones():
    from fastsched.solver.status import Status, gap

    rng = np.random.default_rng(5)
    for res in (binpack([42, 17, 99, 63], 150, time_limit=2, workers=1),
                binpack(rng.integers(200, 600, 160), 1000, time_limit=0.05, workers=1),
                binpack_vector([[3, 4], [5, 5], [7, 2]], [10, 10], time_limit=2, workers=1)):
        assert isinstance(res.status, Status)
        assert res.status == ("OPTIMAL" if res.optimal else "FEASIBLE")
        assert str(res.status) == f"{res.status}" == res.status.value
        assert res.gap == gap(res.bins, res.lower_bound) == (res.bins - res.lower_bound) / res.bins


def test_non_irup_instance_needs_the_exact_phase():
    # Wäscher TEST0022: ⌈LP⌉ = 14, optimum 15 — proving it needs a search.
    path = SHARED / "Waescher_TEST0022.txt"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    sizes, cap = read_bpplib(path)
    res = binpack(sizes, cap, time_limit=10, workers=1)
    check_packing(res, sizes, cap)
    assert res.bins == 15
    assert res.lower_bound >= 14
    if res.optimal:
        assert res.method.split("=")[1] in ("arcflow", "probing")


def test_time_limit_returns_valid_packing():
    # A Hard28-like instance with a tiny limit: any answer must still be valid.
    rng = np.random.default_rng(5)
    sizes = rng.integers(200, 600, 160)
    res = binpack(sizes, 1000, time_limit=0.05, workers=1)
    check_packing(res, sizes, 1000)
    assert res.lower_bound >= l2_bound(sizes, 1000)


@pytest.mark.parametrize("name", ["N1C1W1_A", "Falkenauer_t60_00", "Waescher_TEST0022"])
def test_real_instances(name):
    # BPPLIB instances stay in ../shared/data: the project ships none of their files.
    if not (SHARED / "optima.json").exists():
        pytest.skip(f"{SHARED} is not here")
    opt = json.loads((SHARED / "optima.json").read_text())[name]["optimum"]
    sizes, cap = read_bpplib(SHARED / f"{name}.txt")
    res = binpack(sizes, cap, time_limit=10, workers=2)
    check_packing(res, sizes, cap)
    assert res.lower_bound <= opt <= res.bins
    assert res.bins == opt


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("sizes, cap, field, match", [
    ([3, -1, 2], 10, "sizes[1]", r"sizes\[1\]"),
    ([3, float("nan")], 10, "sizes[1]", r"sizes\[1\]"),
    ([3, 2.5], 10, "sizes[1]", r"sizes\[1\]"),
    ([3, float("inf")], 10, "sizes[1]", r"sizes\[1\]"),
    ([3, 11, 2], 10, "sizes[1]", r"sizes\[1\].*larger than the capacity 10"),
    ([3], 0, "capacity", r"capacity"),
    ([3], -5, "capacity", r"capacity"),
    ([3], 2.5, "capacity", r"capacity"),
    ([3], True, "capacity", r"capacity"),
    ([3], "ten", "capacity", r"capacity"),
    ([[1, 2]], 10, "sizes", r"sizes"),
    (["a"], 10, "sizes", r"sizes: expected integers"),
    ([True, False], 10, "sizes", r"sizes: expected integers"),
])
def test_bad_input_rejected(sizes, cap, field, match):
    # a ValidationError (so still a ValueError) naming the offending value
    with pytest.raises(ValidationError, match=match) as err:
        binpack(sizes, cap)
    assert err.value.field == field
    assert isinstance(err.value, ValueError) and not isinstance(err.value, TypeError)


@pytest.mark.parametrize("options, field", [
    ({"time_limit": 0}, "time_limit"),
    ({"time_limit": float("nan")}, "time_limit"),
    ({"time_limit": "soon"}, "time_limit"),
    ({"time_limit": None}, "time_limit"),
    ({"workers": 0}, "workers"),
    ({"workers": 1.5}, "workers"),
    ({"workers": "two"}, "workers"),
    ({"workers": True}, "workers"),
])
def test_bad_run_options(options, field):
    for solve, sizes, cap in ((binpack, [1], 10), (binpack_vector, [[1, 1]], [10, 10])):
        with pytest.raises(ValidationError, match=field) as err:
            solve(sizes, cap, **options)
        assert err.value.field == field


def test_integral_floats_accepted():
    res = binpack([3.0, 7.0, 5.0], 10.0, time_limit=2, workers=1)
    assert res.bins == 2 and res.optimal


# ---------------------------------------------------------------- vector

def brute_force_vector(sizes, cap) -> int:
    n = len(sizes)
    best = n
    for labels in itertools.product(range(n), repeat=n):
        if labels[0] != 0 or max(labels) + 1 >= best:
            continue
        if any(labels[i] > max(labels[:i]) + 1 for i in range(1, n)):
            continue
        k = max(labels) + 1
        loads = np.zeros((k, len(cap)), dtype=np.int64)
        for i, b in enumerate(labels):
            loads[b] += sizes[i]
        if (loads <= cap).all():
            best = k
    return best


def test_vector_random_tiny_against_brute_force():
    rng = np.random.default_rng(6)
    for _ in range(25):
        n = int(rng.integers(1, 7))
        d = int(rng.integers(1, 4))
        cap = rng.integers(5, 20, d)
        sizes = rng.integers(0, cap + 1, (n, d))
        res = binpack_vector(sizes, cap, time_limit=3, workers=1)
        check_packing(res, sizes, cap)
        opt = brute_force_vector(sizes, cap)
        assert res.lower_bound <= opt <= res.bins
        if res.optimal:
            assert res.bins == opt


@pytest.mark.parametrize("sizes, cap, field, match", [
    ([[1, 2], [-1, 2]], [5, 5], "sizes[1, 0]", r"sizes\[1, 0\]"),
    ([[1, 9]], [5, 5], "sizes[0, 1]", r"sizes\[0, 1\].*dimension 1"),
    ([[1, 2]], [5, 0], "capacity", "capacity"),
    ([[1, 2]], [5, 2.5], "capacity[1]", "capacity"),
    ([[1, 2, 3]], [5, 5], "sizes", "columns"),
    ([1, 2], [5, 5], "sizes", "2-D"),
    ([["a", "b"]], [5, 5], "sizes", "expected integers"),
])
def test_vector_bad_input(sizes, cap, field, match):
    with pytest.raises(ValidationError, match=match) as err:
        binpack_vector(sizes, cap)
    assert err.value.field == field


def _vector_triplets(rng, bins, d, cap):
    rows = []
    for _ in range(bins):
        a = rng.integers(cap // 4, cap // 2, d)
        b = rng.integers(cap // 4, cap // 2, d)
        rows += [a, b, cap - a - b]
    return np.array(rows, dtype=np.int64)[rng.permutation(3 * bins)]


def test_vector_mbs_and_exact_cover_on_triplets():
    from fastsched.solver.binpack.vector import _exact_cover, vector_min_bin_slack

    rng = np.random.default_rng(13)
    sizes = _vector_triplets(rng, 10, 3, 100)
    cap = np.array([100, 100, 100])
    nb, assign = vector_min_bin_slack(sizes, cap, np.argsort(-sizes.sum(axis=1)))
    assert nb >= 10
    for b in range(nb):
        assert (sizes[assign == b].sum(axis=0) <= cap).all()
    found = _exact_cover(sizes, cap, 10, 5.0, 1, 0)
    assert found is not None and found[0] == 10
    for b in range(10):
        assert (sizes[found[1] == b].sum(axis=0) == cap).all()
    res = binpack_vector(sizes, cap, time_limit=5, workers=1)
    assert res.bins == 10 and res.optimal


def test_vector_reduce_bins_gives_valid_packings():
    from fastsched.solver.binpack.vector import vector_first_fit, vector_reduce_bins

    rng = np.random.default_rng(14)
    for _ in range(5):
        cap = np.array([100, 100])
        sizes = rng.integers(10, 60, (30, 2))
        nb, assign = vector_first_fit(sizes, cap, np.arange(30))
        got = vector_reduce_bins(sizes, cap, assign, nb, deadline=time.monotonic() + 0.3)
        if got is None:
            continue
        assert got[0] == nb - 1
        assert set(got[1].tolist()) == set(range(nb - 1))
        for b in range(nb - 1):
            assert (sizes[got[1] == b].sum(axis=0) <= cap).all()


def test_vector_reduce_bins_reaches_the_brute_force_optimum_on_tiny_instances():
    from fastsched.solver.binpack.vector import vector_reduce_bins

    rng = np.random.default_rng(15)
    checked = 0
    for _ in range(60):
        n, d = int(rng.integers(3, 8)), int(rng.integers(1, 4))
        cap = rng.integers(5, 20, d)
        sizes = rng.integers(0, cap + 1, (n, d))
        opt = brute_force_vector(sizes, cap)
        if opt == n:
            continue
        # From one bin per item down to the optimum, one bin at a time.
        nb, assign = n, np.arange(n, dtype=np.int64)
        while nb > opt:
            got = vector_reduce_bins(sizes, cap, assign, nb, deadline=time.monotonic() + 5)
            assert got is not None, (sizes.tolist(), cap.tolist(), nb)
            nb, assign = got
            for b in range(nb):
                assert (sizes[assign == b].sum(axis=0) <= cap).all()
        checked += 1
        assert vector_reduce_bins(sizes, cap, assign, nb, deadline=time.monotonic() + 0.05) \
            is None
    assert checked > 20


def test_vector_hand_checked():
    # Two dimensions that conflict: big-in-x items pair with big-in-y items.
    sizes = [[8, 2], [2, 8], [8, 2], [2, 8]]
    res = binpack_vector(sizes, [10, 10], time_limit=3, workers=1)
    assert res.bins == 2 and res.optimal


# ---------------------------------------------------------------- CLI

def _run_cli(argv):
    parser = argparse.ArgumentParser(prog="fastsched")
    add_binpack_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.run(args)


def test_cli_solves_file(capsys, tmp_path):
    # Capacity 10, sizes summing to 40 that pack exactly: (6 4) (5 5) (7 3) (3 3 4).
    path = tmp_path / "four.txt"
    path.write_text("10\n" + "\n".join(map(str, [6, 4, 5, 5, 3, 3, 4, 7, 3])) + "\n")
    rc = _run_cli(["binpack", str(path), "--time-limit", "5"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "bins: 4" in out and "optimal: yes" in out


def test_cli_errors(tmp_path, capsys):
    assert cmd_binpack(argparse.Namespace(file=str(tmp_path / "missing.txt"), time_limit=1.0,
                                          workers=1, seed=0, assignment=False)) == 2
    assert "fastsched: error:" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("10\n3\n11\n")
    assert _run_cli(["binpack", str(bad)]) == 2
    assert "larger than the capacity" in capsys.readouterr().err
    bad.write_text("10\nthree\n")
    assert _run_cli(["binpack", str(bad)]) == 2
    assert "bad.txt:2" in capsys.readouterr().err


def test_vector_sums_beyond_int64_and_large_seeds():
    with pytest.raises(ValidationError, match="add up"):
        binpack_vector([[2**62 + 1, 1]] * 2, [2**63 - 1, 10])
    with pytest.raises(ValidationError, match="add up") as err:
        binpack([2**62] * 3, 2**63 - 1)
    assert err.value.field == "sizes"
    res = binpack_vector([[3, 4], [5, 5], [7, 2]], [10, 10], time_limit=2, workers=1, seed=2**40)
    assert res.bins == 2 and res.optimal


def test_vector_mbs_past_its_deadline_finishes_by_first_fit():
    from fastsched.solver.binpack.vector import vector_first_fit, vector_min_bin_slack

    rng = np.random.default_rng(21)
    sizes = rng.integers(1, 60, (40, 3))
    cap = np.array([100, 100, 100])
    order = np.argsort(-sizes.sum(axis=1))
    nb, assign = vector_min_bin_slack(sizes, cap, order, deadline=time.monotonic() - 1)
    ff_nb, ff_assign = vector_first_fit(sizes, cap, order)
    assert nb == ff_nb and assign.tolist() == ff_assign.tolist()
