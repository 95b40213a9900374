"""The textbook CP-SAT assignment model for bin packing, kept as a baseline for
the benchmark (bench/bench_binpack.py); it is not part of the package (it moved
here from ``fastsched.solver.textbook``), so bench modules import it as
``_textbook`` with bench/ on ``sys.path`` (bench/conftest.py, or running a bench
script directly).

x[i, b] = item i in bin b, y[b] = bin b used; items sorted by decreasing size,
item i only in bins <= i, y[b] >= y[b+1]; minimize Σ y. Optionally hinted with
the FFD packing and bounded below by L2 (``strengthen=True``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from fastsched.errors import ValidationError
from fastsched.solver.binpack.bounds import l2_bound
from fastsched.solver.binpack.heuristics import first_fit_decreasing
from fastsched.solver.binpack.result import PackResult
from fastsched.solver.binpack.validation import validate_capacity, validate_run, validate_sizes
from fastsched.solver.status import Status, gap

__all__ = ["binpack_textbook"]


def binpack_textbook(sizes: Any, capacity: Any, *, time_limit: float = 10.0,
                     workers: int | None = None, seed: int = 0,
                     strengthen: bool = False) -> PackResult:
    from ortools.sat.python import cp_model

    t0 = time.monotonic()
    # Data.
    s = validate_sizes(sizes)
    cap = validate_capacity(capacity)
    tl, nworkers = validate_run(time_limit, workers)
    if (s > cap).any():
        i = int(np.flatnonzero(s > cap)[0])
        raise ValidationError(f"item of size {int(s[i])} is larger than the capacity {cap}",
                              f"sizes[{i}]")
    n = s.size
    if n == 0:
        return PackResult(0, np.zeros(0, dtype=np.int64), 0, True, Status.OPTIMAL, 0.0,
                          "textbook", gap(0, 0), nworkers)
    order = np.argsort(-s, kind="stable")
    w = s[order]
    ffd_bins, ffd_assign = first_fit_decreasing(s, cap)
    ub = ffd_bins

    # Model and variables.
    model = cp_model.CpModel()
    y = [model.new_bool_var(f"y{b}") for b in range(ub)]
    x = [[model.new_bool_var(f"x{i}_{b}") for b in range(min(i + 1, ub))] for i in range(n)]

    # Constraints: one bin per item, capacities, used bins first.
    for i in range(n):
        model.add_exactly_one(x[i])
    for b in range(ub):
        model.add(sum(int(w[i]) * x[i][b] for i in range(b, n)) <= cap * y[b])
        if b + 1 < ub:
            model.add(y[b] >= y[b + 1])
    if strengthen:
        model.add(sum(y) >= l2_bound(s, cap))
        # FFD in decreasing order numbers bins by first item, so bin <= rank holds.
        rank_bins = ffd_assign[order]
        for i in range(n):
            for b in range(len(x[i])):
                model.add_hint(x[i][b], int(rank_bins[i] == b))

    # Objective.
    model.minimize(sum(y))

    # Solve.
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = tl
    solver.parameters.num_workers = nworkers
    solver.parameters.random_seed = int(seed) % (1 << 31)
    status = solver.solve(model)

    # Report.
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        ranked = np.array([next(b for b, v in enumerate(x[i]) if solver.value(v))
                           for i in range(n)], dtype=np.int64)
        bins = int(round(solver.objective_value))
        lb = int(np.ceil(solver.best_objective_bound - 1e-6))
        if bins > ffd_bins:
            bins, assignment = ffd_bins, ffd_assign
        else:
            used = np.unique(ranked)
            remap = np.searchsorted(used, ranked)
            assignment = np.empty(n, dtype=np.int64)
            assignment[order] = remap
            bins = used.size
    else:
        bins, assignment, lb = ffd_bins, ffd_assign, 0
    optimal = status == cp_model.OPTIMAL or bins == lb
    lb = bins if optimal else min(lb, bins)
    return PackResult(bins, assignment, lb, optimal, Status.OPTIMAL if optimal else Status.FEASIBLE,
                      time.monotonic() - t0, "textbook-cpsat", gap(bins, lb),
                      nworkers)
