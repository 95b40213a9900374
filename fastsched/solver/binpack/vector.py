"""Vector (multi-dimensional) bin packing: ``binpack_vector``.

An item fits a bin when it fits in every dimension. Pipeline, stopping when a
packing meets the bound:
  1. per-dimension bounds (L1, L2: the max over dimensions bounds the vector
     problem); FFD and vector MBS' under several size measures;
  2. when the items fill exactly ``bound`` bins in every dimension (triplet
     classes), an exact cover by exact-fill item sets (CP-SAT);
  3. a short CP-SAT run on the assignment model (symmetry broken by item order,
     hinted with the best packing, Σ used >= bound): it proves many greedy
     packings optimal;
  4. bin elimination: dissolve a bin, then a tabu search on overflow with
     breakout weights (Cython, ``_kernels/vecsearch.pyx``) until every bin fits,
     and again, down to the bound;
  5. CP-SAT again from the best packing for the time left.

Bounded work: first fit runs in a Cython kernel (a tree over the bins) with a
deadline; vector MBS' reads the clock inside its search; the CP-SAT models
are built only up to ``_CPSAT_MAX_CELLS`` item-bin variables and the tabu
table up to ``_TABU_MAX_CELLS`` cells, so large instances get the greedy
packings and bin elimination within the time limit. The greedy phase needs
about ``_BYTES_PER_ITEM`` bytes per item and dimension.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..._kernels import vecsearch as _vs
from ...errors import ValidationError
from ..status import Status, gap
from .bounds import l1_bound, l2_bound
from .result import PackResult
from .validation import (
    MAX_CAPACITY,
    Reporter,
    check_totals,
    validate_memory,
    validate_run,
    validate_sizes,
)
from .vbounds import vector_lp_bound

__all__ = ["binpack_vector", "vector_lower_bound", "vector_first_fit",
           "vector_min_bin_slack", "vector_reduce_bins"]

# Depth-first nodes vector MBS' may spend on one bin (pure Python: ~1 ms each
# thousand), enough for the exact-fill triplets.
_VMBS_NODE_LIMIT = 400
# Exact-fill sets enumerated at most (triplet classes have a few hundred).
_EXACT_PATTERN_LIMIT = 50_000
# Share of the time left (after the first CP-SAT run) for bin elimination by
# tabu search; CP-SAT gets the rest.
_TABU_SHARE = 0.8
# Steps before the first restart (at least, and per item); the budget doubles.
_RESTART_STEPS = 20_000
_RESTART_STEPS_PER_ITEM = 1_000
# Largest items × bins tabu table (int64 each: 32 MB); larger instances skip it.
_TABU_MAX_CELLS = 4_000_000
# Seconds of tabu search between clock checks.
_SLICE_SECONDS = 0.02
# Breakout: weight added (times 1/capacity) to a bin's overflowing dimension at
# each local minimum. Measured on vbp class1_120 over 12 seeds: 0 needs
# 1.3-9 s to reach the optimum, 0.1 needs 0.2-3.4 s, 1.0 0.1-2.4 s.
_BREAKOUT = 0.1
# Share of the time the greedy packings may take (vector MBS' is pure Python:
# seconds at a thousand items); past it, MBS' finishes by first fit.
_GREEDY_SHARE = 0.3
# Shares of the time left the pattern LP bound may take: a first try after the
# first FFD, then after the greedy packings (unless the first one converged).
_LP_FIRST_SHARE = 0.05
_LP_SHARE = 0.25
# The first, short CP-SAT run (seconds, and at most this share of the time).
_FIRST_CPSAT_SECONDS = 1.5
_FIRST_CPSAT_SHARE = 0.15
# Largest assignment model CP-SAT is given (item-bin booleans; Python builds
# them at ~2 µs each and CP-SAT holds ~1 KB each): the classic instances have
# at most ~10,000; 100,000 items would need ~10^9.
_CPSAT_MAX_CELLS = 250_000
# Share of the time limit the first FFD may take; past it, next fit.
_FFD_SHARE = 0.4
# Bytes per item and dimension of the greedy phase (input copies, orders,
# measures, the first-fit tree, vector MBS' rows as Python tuples).
_BYTES_PER_ITEM = 256


def vector_lower_bound(sizes: np.ndarray, capacity: np.ndarray) -> int:
    """max over dimensions of max(L1, L2) of that dimension."""
    if sizes.shape[0] == 0:
        return 0
    return max(max(l1_bound(sizes[:, j], int(capacity[j])), l2_bound(sizes[:, j], int(capacity[j])))
               for j in range(sizes.shape[1]))


def vector_first_fit(sizes: np.ndarray, capacity: np.ndarray, order: np.ndarray,
                     deadline: float | None = None) -> tuple[int, np.ndarray]:
    """First fit in ``order``: each item into the lowest-numbered bin it fits in
    every dimension. Bins are numbered by first use. Past ``deadline``
    (time.monotonic()) each search has a budget of tree nodes, after which the
    item goes by next fit (``_kernels.vecsearch``)."""
    out = np.zeros(sizes.shape[0], dtype=np.int64)
    nbins = _vs.vector_first_fit(np.ascontiguousarray(sizes, dtype=np.int64),
                                 np.ascontiguousarray(capacity, dtype=np.int64),
                                 np.ascontiguousarray(order, dtype=np.int64), out,
                                 0.0 if deadline is None else max(deadline, 1e-9))
    return int(nbins), out


def vector_min_bin_slack(sizes: np.ndarray, capacity: np.ndarray, order: np.ndarray,
                         node_limit: int = _VMBS_NODE_LIMIT, deadline: float | None = None
                         ) -> tuple[int, np.ndarray]:
    """MBS' for vectors: bin by bin, the first unpacked item in ``order`` plus the
    subset of the others (searched depth first in ``order``, ``node_limit``
    nodes per bin) that fills the bin most, filling measured as the sum over
    dimensions of load / capacity. A bin filled exactly in every dimension
    stops the search (the triplet classes). Past ``deadline``
    (time.monotonic()) the items left go in by first fit."""
    n, d = sizes.shape
    cap = [int(c) for c in capacity]
    rows = [tuple(r) for r in sizes[order].tolist()]
    weight = (sizes[order] / capacity).sum(axis=1).tolist()
    full = float(d)
    used = [False] * n
    # Exact completion: the positions of each size vector, to close a bin whose
    # room is exactly one remaining item in one lookup.
    where: dict[tuple, list[int]] = {}
    for p, r in enumerate(rows):
        where.setdefault(r, []).append(p)
    out = np.empty(n, dtype=np.int64)
    nbins = 0
    first = 0
    while True:
        while first < n and used[first]:
            first += 1
        if first >= n:
            break
        if deadline is not None and time.monotonic() >= deadline:
            rest = np.array([p for p in range(first, n) if not used[p]], dtype=np.int64)
            items = order[rest]
            extra, rest_bins = vector_first_fit(sizes[items], capacity, np.arange(items.size))
            out[items] = nbins + rest_bins
            return nbins + extra, out
        used[first] = True
        room0 = [c - v for c, v in zip(cap, rows[first])]
        best_fill, best_set = weight[first], []
        cur: list[int] = []
        nodes = scanned = 0

        def search(start: int, room: list[int], fill: float) -> bool:
            nonlocal best_fill, best_set, nodes, scanned
            if fill > best_fill + 1e-12:
                best_fill, best_set = fill, list(cur)
                if fill >= full - 1e-9:
                    return True
            for p in where.get(tuple(room), ()):
                if not used[p] and p > first:
                    best_fill, best_set = full, cur + [p]
                    return True
            for p in range(start, n):
                # A node may scan every item left: read the clock now and then.
                scanned += 1
                if deadline is not None and scanned % 4096 == 0 and time.monotonic() >= deadline:
                    return True
                if used[p]:
                    continue
                r = rows[p]
                if any(v > q for v, q in zip(r, room)):
                    continue
                nodes += 1
                if nodes > node_limit:
                    return True
                used[p] = True
                cur.append(p)
                stop = search(p + 1, [q - v for q, v in zip(room, r)], fill + weight[p])
                cur.pop()
                used[p] = False
                if stop:
                    return True
            return False

        search(first + 1, room0, weight[first])
        out[order[first]] = nbins
        for p in best_set:
            used[p] = True
            out[order[p]] = nbins
        nbins += 1
    return nbins, out


def vector_reduce_bins(sizes: np.ndarray, capacity: np.ndarray, assign: np.ndarray,
                       nbins: int, *, deadline: float, seed: int = 0
                       ) -> tuple[int, np.ndarray] | None:
    """Try to pack into ``nbins − 1`` bins (bin elimination, as in the
    consistent neighbourhood search of Buljubašić & Vasquez 2016): dissolve the
    least filled bin into the others, each item where it adds the least
    overflow, then run the tabu search on overflow (``_kernels.vecsearch``,
    with breakout weights) until no bin overflows. Returns the packing (bins
    0..nbins−2) or None by ``deadline`` (time.monotonic())."""
    n, d = sizes.shape
    assign = np.asarray(assign)
    if assign.shape != (n,) or (n and (assign.min() < 0 or assign.max() >= nbins)):
        raise ValidationError(f"expected {n} bin numbers in [0, {nbins}), got "
                              f"shape {assign.shape}", "assign")
    target = nbins - 1
    if target < 1 or n * target > _TABU_MAX_CELLS:
        return None
    if target == 1:
        return (1, np.zeros(n, dtype=np.int64)) if (sizes.sum(axis=0) <= capacity).all() \
            else None
    loads = np.zeros((nbins, d), dtype=np.int64)
    np.add.at(loads, assign, sizes)
    drop = int(np.argmin((loads / capacity).sum(axis=1)))
    out = assign.astype(np.int64, copy=True)
    out[out > drop] -= 1
    loads = np.delete(loads, drop, axis=0)
    for i in np.flatnonzero(assign == drop):
        after = loads + sizes[i]
        over = (np.maximum(after - capacity, 0) / capacity).sum(axis=1)
        b = int(np.argmin(over - 1e-9 * (after / capacity).sum(axis=1)))
        out[i] = b
        loads[b] += sizes[i]
    # Run times are heavy-tailed: restart from the dissolved packing with a new
    # stream, fresh tabu and weights, after a step budget that doubles each time.
    # Slices are sized to take ~_SLICE_SECONDS each (a step costs ~10 µs at 120
    # items, far more at thousands), so the clock is read often enough.
    start = out.copy()
    budget = max(_RESTART_STEPS, _RESTART_STEPS_PER_ITEM * n)
    stream = seed % (1 << 62)
    slice_steps = 16
    while True:
        out[:] = start
        tabu = np.zeros((n, target), dtype=np.int64)
        weight = np.tile(1.0 / capacity, (target, 1))
        step = 0
        while step < budget:
            t_s = time.monotonic()
            left, taken = _vs.overflow_tabu(sizes, capacity, out, target, tabu, weight, step,
                                            min(slice_steps, budget - step), stream, _BREAKOUT)
            step += taken
            if left == 0:
                break
            now = time.monotonic()
            if now >= deadline:
                return None
            per_step = (now - t_s) / max(taken, 1)
            slice_steps = int(min(4 * slice_steps, max(1.0, _SLICE_SECONDS / max(per_step, 1e-9))))
        if left == 0:
            break
        budget *= 2
        stream += 1 << 40
    loads = np.zeros((target, d), dtype=np.int64)
    np.add.at(loads, out, sizes)
    assert (loads <= capacity).all(), "tabu search returned an overfull bin"
    return target, out


def _exact_fill_patterns(sizes: np.ndarray, capacity: np.ndarray, limit: int,
                         deadline: float) -> list[tuple[int, ...]] | None:
    """Every set of items that fills a bin exactly in every dimension (depth first,
    items in index order, the last one found by lookup), or None past ``limit``
    sets or ``deadline``."""
    n = sizes.shape[0]
    rows = [tuple(int(v) for v in r) for r in sizes]
    where: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        where.setdefault(r, []).append(i)
    cap = tuple(int(c) for c in capacity)
    out: list[tuple[int, ...]] = []
    cur: list[int] = []
    nodes = 0

    def go(start: int, room: tuple) -> bool:
        nonlocal nodes
        # A node scans every later item: on large instances read the clock at each.
        nodes += 1
        if (n > 1000 or nodes % 4096 == 0) and time.monotonic() >= deadline:
            return False
        for i in where.get(room, ()):
            if i >= start:
                out.append(tuple(cur) + (i,))
        if len(out) > limit:
            return False
        for i in range(start, n):
            r = rows[i]
            nxt = tuple(q - v for q, v in zip(room, r))
            if min(nxt) < 0 or not any(nxt):
                continue
            cur.append(i)
            ok = go(i + 1, nxt)
            cur.pop()
            if not ok:
                return False
        return True

    for first in range(n):
        cur.append(first)
        room = tuple(q - v for q, v in zip(cap, rows[first]))
        # append, then True
        ok = go(first + 1, room) if any(room) else (out.append((first,)) or True)  # type: ignore[func-returns-value]
        cur.pop()
        if not ok:
            return None
    return out


def _exact_cover(sizes, capacity, target, time_limit, workers, seed):
    """When the items' total equals ``target`` full bins in every dimension, every
    bin of a ``target``-bin packing is exactly full: choose disjoint exact-fill
    sets covering all items (CP-SAT). The assignment, or None."""
    t0 = time.monotonic()
    pats = _exact_fill_patterns(sizes, capacity, _EXACT_PATTERN_LIMIT,
                                t0 + 0.5 * time_limit)
    if not pats:
        return None
    from ortools.sat.python import cp_model

    # Model and variables: one boolean per exact-fill set.
    model = cp_model.CpModel()
    x = [model.new_bool_var("") for _ in pats]
    # Constraints: every item in exactly one chosen set.
    cover: list[list] = [[] for _ in range(sizes.shape[0])]
    for v, p in zip(x, pats):
        for i in p:
            cover[i].append(v)
    if any(not c for c in cover):
        return None
    for c in cover:
        model.add_exactly_one(c)
    # Solve.
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, time_limit - (time.monotonic() - t0))
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed) % (1 << 31)
    status = solver.solve(model)
    # Report.
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    assign = np.empty(sizes.shape[0], dtype=np.int64)
    b = 0
    for v, p in zip(x, pats):
        if solver.value(v):
            assign[list(p)] = b
            b += 1
    return b, assign


def _measures(sizes: np.ndarray, capacity: np.ndarray) -> list[tuple[str, np.ndarray]]:
    rel = sizes / capacity
    return [("sum", rel.sum(axis=1)), ("max", rel.max(axis=1)),
            ("sumsq", (rel ** 2).sum(axis=1)), ("prod", np.prod(1e-9 + rel, axis=1))]


def _cpsat(sizes, capacity, lb, hint, hint_bins, time_limit, workers, seed):
    """Assignment model: x[i, b] for b <= min(i, ub - 1) in decreasing-measure
    order, y[b] >= y[b+1], capacities per dimension, min Σ y, Σ y >= lb.
    Returns (bins, assignment or None, proved_bound, optimal)."""
    from ortools.sat.python import cp_model

    n, d = sizes.shape
    ub = hint_bins
    # Model and variables.
    model = cp_model.CpModel()
    y = [model.new_bool_var("") for _ in range(ub)]
    x = [[model.new_bool_var("") for _ in range(min(i + 1, ub))] for i in range(n)]

    # Constraints: every item in one bin (only bins <= its rank: symmetry), capacity.
    for i in range(n):
        model.add_exactly_one(x[i])
        for b, v in enumerate(x[i]):
            model.add_implication(v, y[b])
    for b in range(ub):
        members = [(i, x[i][b]) for i in range(b, n)]
        for j in range(d):
            model.add(sum(int(sizes[i, j]) * v for i, v in members if sizes[i, j])
                      <= int(capacity[j]) * y[b])
        if b + 1 < ub:
            model.add(y[b] >= y[b + 1])
        # Bin b opens with item b or a later one; item b alone may open it.
    model.add(sum(y) >= lb)

    # Objective and hint (the greedy packing, bins renumbered by first item).
    model.minimize(sum(y))
    for i in range(n):
        for b, v in enumerate(x[i]):
            model.add_hint(v, int(hint[i] == b))
    for b in range(ub):
        model.add_hint(y[b], 1)

    # Solve.
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed) % (1 << 31)
    status = solver.solve(model)

    # Report.
    bound = int(np.ceil(solver.best_objective_bound - 1e-6)) if status in (
        cp_model.OPTIMAL, cp_model.FEASIBLE) else lb
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, None, max(lb, bound), False
    assign = np.array([next(b for b, v in enumerate(x[i]) if solver.value(v))
                       for i in range(n)], dtype=np.int64)
    bins = int(round(solver.objective_value))
    return bins, assign, max(lb, bound), status == cp_model.OPTIMAL


def _renumber(assign: np.ndarray) -> np.ndarray:
    """Bins numbered by first appearance (so in rank order bin <= item rank)."""
    _, first = np.unique(assign, return_index=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(np.argsort(first))] = np.arange(first.size)
    mapping = dict(zip(np.unique(assign).tolist(), rank.tolist()))
    return np.array([mapping[b] for b in assign.tolist()], dtype=np.int64)


def binpack_vector(sizes: Any, capacity: Any, *, time_limit: float = 10.0,
                   workers: int | None = None, seed: int = 0,
                   max_memory: int | None = None, progress: Any = None) -> PackResult:
    """Pack items of integer size vectors ``sizes[n, d]`` into the fewest bins of
    integer ``capacity[d]`` (an item fits when it fits in every dimension).

    Returns a :class:`PackResult` within about ``time_limit`` seconds whatever
    the input size; ``optimal`` only when proved (the packing meets the
    per-dimension bound, or CP-SAT proves it). No items (``[]``, or an ``(0, d)``
    array) is a valid instance: 0 bins, optimal. ``max_memory`` (bytes, default
    2 GiB) must cover the greedy phase, ~256 bytes per item and dimension.
    ``progress(bins, lower_bound)``, if given, is called whenever either changes.
    Raises ``ValidationError`` (a ValueError whose ``field`` names the value) for
    negative, NaN or fractional sizes, sizes adding up to 2**62 or more in a
    dimension, capacities that are not positive integers of at most 2**62,
    mismatched dimensions, an item larger than the capacity in some dimension, a
    bad time limit, workers or memory budget.
    """
    t0 = time.monotonic()
    s = validate_sizes(sizes, "sizes", ndim=2)
    check_totals(s)
    cap = validate_sizes(capacity, "capacity", ndim=1)
    if cap.size == 0 or (cap <= 0).any():
        raise ValidationError(f"expected positive integers in every dimension, got "
                              f"{np.asarray(capacity).tolist()!r}", "capacity")
    if (cap > MAX_CAPACITY).any():
        j = int(np.argmax(cap > MAX_CAPACITY))
        raise ValidationError(f"expected at most 2**62, got {int(cap[j])}", f"capacity[{j}]")
    if s.shape == (0, 0):       # [] (no items): the natural 0-bin instance
        s = np.zeros((0, cap.size), dtype=np.int64)
    if s.shape[1] != cap.size:
        raise ValidationError(f"expected {cap.size} columns (one per capacity "
                              f"dimension), got {s.shape[1]}", "sizes")
    tl, nworkers = validate_run(time_limit, workers)
    validate_memory(max_memory, s.shape[0] * cap.size, _BYTES_PER_ITEM)
    tell = Reporter(progress)
    over = np.argwhere(s > cap)
    if over.size:
        i, j = (int(v) for v in over[0])
        raise ValidationError(f"item {i} needs {int(s[i, j])} in dimension "
                              f"{j}, more than the capacity {int(cap[j])}", f"sizes[{i}, {j}]")
    deadline = t0 + tl
    stats: dict[str, Any] = {}

    def done(bins, assign_nz, lb, method):
        assignment = np.zeros(s.shape[0], dtype=np.int64)
        assignment[nz] = assign_nz
        optimal = bins == lb
        tell(bins, lb)
        return PackResult(bins, assignment, lb, optimal, Status.OPTIMAL if optimal else Status.FEASIBLE,
                          time.monotonic() - t0, method, gap(bins, lb), nworkers, stats)

    nz = np.flatnonzero(s.sum(axis=1) > 0) if s.shape[0] else np.zeros(0, dtype=np.int64)
    if nz.size == 0:
        nb = 1 if s.shape[0] else 0
        return PackResult(nb, np.zeros(s.shape[0], dtype=np.int64), nb, True, Status.OPTIMAL,
                          time.monotonic() - t0, "trivial", gap(nb, nb), nworkers, stats)
    w = s[nz]

    # Bounds and greedy packings (FFD, vector MBS') under several size measures.
    lb = vector_lower_bound(w, cap)
    best, best_by, best_order = None, "", None
    measures = _measures(w, cap)
    greedy_stop = t0 + _GREEDY_SHARE * tl
    cand: tuple[int, np.ndarray] | None     # None: tabu search found no smaller packing

    def pattern_bound(share: float) -> int:
        """The pattern LP's bound (column generation over item types) with
        ``share`` of the time left, or the bound so far if that is higher."""
        assert best is not None
        import scipy.optimize  # noqa: F401  (0.4 s on first use: not the LP's share)
        t_b = time.monotonic()
        found, st = vector_lp_bound(w, cap, t_b + share * (deadline - t_b), target=best[0])
        stats.setdefault("lp", []).append({**st, "seconds": round(time.monotonic() - t_b, 3)})
        return max(lb, found)

    for round_, (name, key) in enumerate(measures):
        if best is not None and time.monotonic() >= greedy_stop:
            break
        order = np.argsort(-key, kind="stable")
        for algo in ("ffd", "mbs'"):
            if round_ == 0 and algo == "mbs'" and best is not None and lb < best[0]:
                # A first, short try of the pattern LP after the first FFD: it
                # proves identical and near-identical items at once
                lb = pattern_bound(_LP_FIRST_SHARE)
                if best[0] == lb:
                    return done(best[0], best[1], lb, f"{best_by}=lp")
            if algo == "ffd":
                cand = vector_first_fit(w, cap, order, deadline=t0 + _FFD_SHARE * tl
                                        if best is None else greedy_stop)
            elif time.monotonic() < greedy_stop:
                cand = vector_min_bin_slack(w, cap, order, deadline=greedy_stop)
            else:
                continue
            if best is None or cand[0] < best[0]:
                best, best_by, best_order = cand, f"{algo}-{name}", order
            if best[0] == lb:
                return done(best[0], best[1], lb, f"{best_by}=l2")
    assert best is not None     # FFD ran for the first measure at least
    tell(best[0], lb)
    # The pattern LP again, with more time: often tight where L2 per dimension is not
    last = stats.get("lp", [{}])[-1]
    if best[0] > lb and not last.get("converged") and "skipped" not in last:
        lb = pattern_bound(_LP_SHARE)
        tell(best[0], lb)
        if best[0] == lb:
            return done(best[0], best[1], lb, f"{best_by}=lp")
    cells = int(np.minimum(np.arange(1, w.shape[0] + 1), best[0]).sum())
    cpsat_ok = cells <= _CPSAT_MAX_CELLS
    if not cpsat_ok:
        stats["skipped"] = [f"cpsat: {cells} item-bin variables"]

    def cpsat(seconds: float):
        """CP-SAT on the assignment model, items in the best packing's order, hinted
        with it; updates the best packing and the bound."""
        nonlocal best, best_by, lb
        assert best is not None
        order = best_order
        hint = _renumber(best[1][order])
        bins, assign, bound, proved = _cpsat(w[order], cap, lb, hint, best[0], seconds,
                                             nworkers, seed)
        stats.setdefault("cpsat_bound", []).append(bound)
        lb = max(lb, bound)
        if bins is not None and bins <= best[0]:
            if proved:
                lb = bins
            if bins < best[0]:
                unranked = np.empty_like(assign)
                unranked[order] = assign
                best, best_by = (bins, unranked), "cpsat"
        tell(best[0], lb)

    # Total volume of exactly `lb` full bins: an exact cover by exact-fill sets.
    if (w.sum(axis=0) == lb * cap).all():
        t_x = time.monotonic()
        found = _exact_cover(w, cap, lb, 0.4 * (deadline - t_x), nworkers, seed)
        stats["exact_cover_seconds"] = time.monotonic() - t_x
        if found is not None and found[0] == lb:
            return done(found[0], found[1], lb, "exact-cover=bound")

    # A short CP-SAT run first: it often proves the greedy packing optimal.
    first = min(_FIRST_CPSAT_SECONDS, _FIRST_CPSAT_SHARE * (deadline - time.monotonic()))
    if first > 0.1 and cpsat_ok:
        cpsat(first)
        if best[0] == lb:
            return done(best[0], best[1], lb, f"{best_by}=bound")

    # Bin elimination by tabu search from the best packing, one bin at a time.
    t_l = time.monotonic()
    stop = t_l + _TABU_SHARE * (deadline - t_l)
    rounds = 0
    while best[0] > lb and time.monotonic() < stop:
        rounds += 1
        cand = vector_reduce_bins(w, cap, best[1], best[0], deadline=stop, seed=seed + rounds)
        if cand is None:
            break
        best, best_by = cand, "tabu"
        tell(best[0], lb)
    stats["tabu_seconds"] = time.monotonic() - t_l
    if best[0] == lb:
        return done(best[0], best[1], lb, f"{best_by}=bound")

    # CP-SAT again for the time left, from the best packing.
    left = deadline - time.monotonic() - 0.2
    if left > 0.1 and cpsat_ok:
        cpsat(left)
    return done(best[0], best[1], lb, f"{best_by}=bound" if best[0] == lb else best_by)
