"""Vector (multi-dimensional) bin packing: ``binpack_vector``.

An item fits a bin when it fits in every dimension. Pipeline: per-dimension
bounds (L1, L2: the max over dimensions is a bound for the vector problem),
first-fit decreasing under several size measures, then CP-SAT on an assignment
model (symmetry broken by item order, hinted with the best greedy packing,
Σ used >= bound) for the remaining time.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .binpack import PackResult, _validate_run, validate_sizes
from .bounds import l1_bound, l2_bound

__all__ = ["binpack_vector", "vector_lower_bound", "vector_first_fit"]


def vector_lower_bound(sizes: np.ndarray, capacity: np.ndarray) -> int:
    """max over dimensions of max(L1, L2) of that dimension."""
    if sizes.shape[0] == 0:
        return 0
    return max(max(l1_bound(sizes[:, j], int(capacity[j])), l2_bound(sizes[:, j], int(capacity[j])))
               for j in range(sizes.shape[1]))


def vector_first_fit(sizes: np.ndarray, capacity: np.ndarray, order: np.ndarray
                     ) -> tuple[int, np.ndarray]:
    """First fit in ``order``: each item into the lowest-numbered bin it fits in
    every dimension. Bins are numbered by first use."""
    n, d = sizes.shape
    loads = np.zeros((n, d), dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    nbins = 0
    for i in order:
        fits = np.all(loads[:nbins] + sizes[i] <= capacity, axis=1)
        hit = np.flatnonzero(fits)
        b = int(hit[0]) if hit.size else nbins
        if b == nbins:
            nbins += 1
        loads[b] += sizes[i]
        out[i] = b
    return nbins, out


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
    solver.parameters.random_seed = int(seed)
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
                   workers: int | None = None, seed: int = 0) -> PackResult:
    """Pack items of integer size vectors ``sizes[n, d]`` into the fewest bins of
    integer ``capacity[d]`` (an item fits when it fits in every dimension).

    Returns a :class:`PackResult`; ``optimal`` only when proved (the packing
    meets the per-dimension bound, or CP-SAT proves it). Raises ValueError for
    negative, NaN or fractional sizes, non-positive capacities, mismatched
    dimensions, or an item larger than the capacity in some dimension.
    """
    t0 = time.monotonic()
    s = validate_sizes(sizes, "sizes", ndim=2)
    cap = validate_sizes(capacity, "capacity", ndim=1)
    if cap.size == 0 or (cap <= 0).any():
        raise ValueError(f"capacity: expected positive integers in every dimension, got "
                         f"{np.asarray(capacity).tolist()!r}")
    if s.shape[0] and s.shape[1] != cap.size:
        raise ValueError(f"sizes: expected {cap.size} columns (one per capacity "
                         f"dimension), got {s.shape[1]}")
    tl, nworkers = _validate_run(time_limit, workers)
    over = np.argwhere(s > cap)
    if over.size:
        i, j = (int(v) for v in over[0])
        raise ValueError(f"sizes[{i}, {j}]: item {i} needs {int(s[i, j])} in dimension "
                         f"{j}, more than the capacity {int(cap[j])}")
    deadline = t0 + tl
    stats: dict[str, Any] = {}

    def done(bins, assign_nz, lb, method):
        assignment = np.zeros(s.shape[0], dtype=np.int64)
        assignment[nz] = assign_nz
        optimal = bins == lb
        return PackResult(bins, assignment, lb, optimal, "OPTIMAL" if optimal else "FEASIBLE",
                          time.monotonic() - t0, method,
                          0.0 if optimal else (bins - lb) / bins, nworkers, stats)

    nz = np.flatnonzero(s.sum(axis=1) > 0) if s.shape[0] else np.zeros(0, dtype=np.int64)
    if nz.size == 0:
        nb = 1 if s.shape[0] else 0
        return PackResult(nb, np.zeros(s.shape[0], dtype=np.int64), nb, True, "OPTIMAL",
                          time.monotonic() - t0, "trivial", 0.0, nworkers, stats)
    w = s[nz]

    # Bounds and greedy packings under several size measures.
    lb = vector_lower_bound(w, cap)
    best, best_by, best_order = None, "", None
    for name, key in _measures(w, cap):
        order = np.argsort(-key, kind="stable")
        cand = vector_first_fit(w, cap, order)
        if best is None or cand[0] < best[0]:
            best, best_by, best_order = cand, f"ffd-{name}", order
    if best[0] == lb:
        return done(best[0], best[1], lb, f"{best_by}=l2")

    # CP-SAT on the assignment model, items in the best measure's order.
    order = best_order
    ranked = w[order]
    hint = _renumber(best[1][order])
    left = deadline - time.monotonic() - 0.2
    if left > 0.1:
        bins, assign, bound, proved = _cpsat(ranked, cap, lb, hint, best[0], left,
                                             nworkers, seed)
        stats["cpsat_bound"] = bound
        lb = max(lb, bound)
        if bins is not None and bins <= best[0]:
            unranked = np.empty_like(assign)
            unranked[order] = assign
            if proved:
                lb = bins
            if bins < best[0]:
                return done(bins, unranked, lb, f"cpsat={'cpsat' if proved else 'l2'}")
    return done(best[0], best[1], lb, best_by)
