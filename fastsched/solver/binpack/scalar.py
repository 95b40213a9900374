"""Classic bin packing: ``binpack`` (one dimension).

Pipeline, cheapest first, stopping as soon as a packing meets a proven bound:
  1. bounds L1, L2 (Martello–Toth) and heuristics FFD, BFD, MBS';
  2. the Gilmore–Gomory LP bound by column generation (Farley certificate);
  3. MBS' with perturbed priorities, aiming at the bound;
  4. exact: arc-flow reduced by reduced-cost fixing, then by interior-point
     fixing and probing (``probing.py``, which may itself prove that LB bins
     cannot do), solved by HiGHS's MIP for a packing into exactly LB bins (a
     proof that none exists raises LB by one),
     for a share of the time; then diving on the column-generation LP
     (``diving.py``) for the rest, or for all of it when the capacity makes the
     graph too large (Scholl 3).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ...errors import ValidationError
from ..status import Status, gap
from . import arcflow, diving, heuristics, probing
from .bounds import item_types, l1_bound, l2_bound, lp_bound
from .result import PackResult
from .validation import check_totals, validate_capacity, validate_run, validate_sizes

__all__ = ["binpack"]

# Shares of the time limit: column generation may use up to half of it, the
# perturbed MBS' a twentieth; the exact phase and diving get what is left.
_LP_SHARE = 0.5
_MBS_SHARE = 0.05
# Above this many arcs after reduced-cost fixing the flow MIP does not fit in a
# few seconds (measured: ~60k arcs already take > 20 s on Wäscher TEST0005).
_MAX_ARCS = 40_000
# Above this capacity × item types the arc-flow graph is not even built: it would
# hold millions of arcs (Scholl 3: capacity 100,000, ~1.5M arcs, 3 s to build).
_MAX_GRAPH_WORK = 5_000_000
# Share of the time left after the perturbed MBS' kept for diving when the flow
# MIP runs first (diving gets all of it when the graph is too large): small
# reduced graphs (Hard28: ~1,000 arcs) take HiGHS ~4 s to settle, larger ones
# rarely settle in time and diving does better (Hard28 BPP195: 22k arcs).
_DIVE_SHARE_SMALL = 0.25
_DIVE_SHARE_LARGE = 0.6
_SMALL_GRAPH = 5_000
# Share of the time left that LP probing may take before the flow MIP (it needs
# ~0.6 s on Hard28 BPP175), and the largest graph it is tried on (an IPM solve
# on 40k arcs takes ~1 s).
_PROBING_SHARE = 0.3
_MAX_PROBING_ARCS = 40_000
# HiGHS checks its clock coarsely: it is given this share of the time left.
_HIGHS_SHARE = 0.85
# Seconds kept back from the solvers for model building and the report: HiGHS
# overshoots its limit by a few tenths on large models.
_SLACK = 0.4


def _counts_to_assignment(counts: list[np.ndarray], type_of: np.ndarray) -> np.ndarray:
    """Bins given as item-type count vectors (covering: a count may exceed what is
    left) to a bin per item; bins that end up empty are dropped."""
    patterns = [[t for t in np.flatnonzero(c) for _ in range(int(c[t]))] for c in counts]
    left = np.bincount(type_of, minlength=counts[0].size if counts else 0).astype(np.int64)
    trimmed = []
    for p in patterns:
        keep = []
        for t in p:
            if left[t] > 0:
                left[t] -= 1
                keep.append(int(t))
        if keep:
            trimmed.append(keep)
    return _patterns_to_assignment(trimmed, type_of)


def _patterns_to_assignment(patterns: list[list[int]], type_of: np.ndarray) -> np.ndarray:
    pools: dict[int, list[int]] = {}
    for i in np.argsort(type_of, kind="stable"):
        pools.setdefault(int(type_of[i]), []).append(int(i))
    for p in pools.values():
        p.reverse()
    out = np.empty(type_of.size, dtype=np.int64)
    for b, items in enumerate(patterns):
        for t in items:
            out[pools[t].pop()] = b
    return out


def binpack(sizes: Any, capacity: Any, *, time_limit: float = 10.0,
            workers: int | None = None, seed: int = 0) -> PackResult:
    """Pack items of integer ``sizes`` into the fewest bins of integer ``capacity``.

    Returns a :class:`PackResult` within about ``time_limit`` seconds; ``optimal``
    is True only when the packing meets a proven lower bound (L2, the LP bound
    or a CP-SAT infeasibility proof). ``workers`` is passed to CP-SAT (default:
    CPUs, at most 8); ``seed`` fixes every random choice.

    Raises ``ValidationError`` (a ValueError whose ``field`` names the value) for
    bad input: a negative, NaN or fractional size (``sizes[i]``), a non-positive
    capacity, or an item larger than the capacity, a bad time limit or workers.
    """
    t0 = time.monotonic()
    s = validate_sizes(sizes)
    check_totals(s)
    cap = validate_capacity(capacity)
    tl, nworkers = validate_run(time_limit, workers)
    over = np.flatnonzero(s > cap)
    if over.size:
        i = int(over[0])
        raise ValidationError(f"item of size {int(s[i])} is larger than the capacity {cap}",
                              f"sizes[{i}]")
    deadline = t0 + tl
    stats: dict[str, Any] = {}

    # Zero-size items ride along in bin 0; the rest is the real problem.
    nz = np.flatnonzero(s > 0)
    if nz.size == 0:
        nb = 1 if s.size else 0
        return PackResult(nb, np.zeros(s.size, dtype=np.int64), nb, True, Status.OPTIMAL,
                          time.monotonic() - t0, "trivial", gap(nb, nb), nworkers, stats)
    w = np.ascontiguousarray(s[nz])

    def done(bins: int, assign_nz: np.ndarray, lb: int, method: str) -> PackResult:
        assignment = np.zeros(s.size, dtype=np.int64)
        assignment[nz] = assign_nz
        optimal = bins == lb
        return PackResult(bins, assignment, lb, optimal, Status.OPTIMAL if optimal else Status.FEASIBLE,
                          time.monotonic() - t0, method, gap(bins, lb), nworkers, stats)

    # 1. Bounds and greedy packings.
    lb, lb_by = l2_bound(w, cap), "l2"
    lb = max(lb, l1_bound(w, cap))
    best, found_by = heuristics.first_fit_decreasing(w, cap), "ffd"
    for name, fn in (("bfd", heuristics.best_fit_decreasing), ("mbs'", heuristics.min_bin_slack)):
        if best[0] == lb:
            break
        cand = fn(w, cap)
        if cand[0] < best[0]:
            best, found_by = cand, name
    stats["greedy_seconds"] = time.monotonic() - t0
    if best[0] == lb:
        return done(best[0], best[1], lb, f"{found_by}={lb_by}")

    # 2. The LP bound, seeded with the greedy packing's bins as columns; run to
    #    convergence (unless it meets the packing) since step 4 needs optimal duals.
    types = item_types(w)
    graph_ok = cap * types.weights.size <= _MAX_GRAPH_WORK
    initial = [np.bincount(types.type_of[best[1] == b], minlength=types.weights.size)
               for b in range(best[0])]
    lp = lp_bound(types, cap, initial=initial, stop_at=best[0], converge=graph_ok,
                  deadline=t0 + _LP_SHARE * tl)
    stats.update(lp_value=lp.value, lp_bound=lp.bound, lp_converged=lp.converged,
                 lp_iterations=lp.iterations, lp_seconds=lp.seconds)
    if lp.bound > lb:
        lb, lb_by = lp.bound, "lp"
    if best[0] == lb:
        return done(best[0], best[1], lb, f"{found_by}={lb_by}")

    # 3. Perturbed MBS' toward the bound, for a small share of the time.
    t_h = time.monotonic()
    cand = heuristics.perturbed_mbs(w, cap, lb, seed=seed, best=best,
                                    deadline=min(deadline, t_h + _MBS_SHARE * tl))
    stats["perturbed_mbs_seconds"] = time.monotonic() - t_h
    if cand[0] < best[0]:
        best, found_by = cand, "perturbed-mbs'"
    if best[0] == lb:
        return done(best[0], best[1], lb, f"{found_by}={lb_by}")

    # 4. Exact: the arc-flow graph reduced by the LP duals, one target at a time
    #    from the bound up; a proof that `lb` bins cannot do raises the bound.
    #    The first flow MIP gets a share of the time; when it neither finds nor
    #    refutes a packing (or the graph is too large), diving on the LP
    #    (IRUP instances) gets the rest.
    dived = False
    graph: arcflow.ArcGraph | None      # None: probing proved the target infeasible
    while best[0] > lb:
        if deadline - time.monotonic() <= 0.05:
            break
        if graph_ok:
            t_g = time.monotonic()
            graph = arcflow.build_graph(types, cap, lp.duals, lb - lp.value)
            record = {"target": lb, "arcs": int(graph.tail.size),
                      "arcs_unfixed": graph.total_item_arcs,
                      "build_seconds": time.monotonic() - t_g, "status": "SKIPPED"}
            stats.setdefault("arcflow", []).append(record)
            if graph.tail.size <= _MAX_PROBING_ARCS:
                probe_stats: dict[str, Any] = {}
                t_p = time.monotonic()
                graph = probing.tighten(types, graph, lb, stats=probe_stats,
                                        deadline=t_p + _PROBING_SHARE * (deadline - t_p))
                probe_stats["seconds"] = time.monotonic() - t_p
                record["probing"] = probe_stats
                if graph is None:
                    record["status"] = "INFEASIBLE"
                    lb, lb_by = lb + 1, "probing"
                    continue
                record["arcs"] = int(graph.tail.size)
            # Too big to solve in time (gap near 1: large capacities, many small
            # items): diving only.
            if graph.tail.size <= _MAX_ARCS:
                keep = _DIVE_SHARE_SMALL if graph.tail.size <= _SMALL_GRAPH else _DIVE_SHARE_LARGE
                share = _HIGHS_SHARE * (1.0 - keep if not dived else 1.0)
                res = arcflow.solve_target(types, graph, lb,
                                           time_limit=share * (deadline - time.monotonic())
                                           - 2 * _SLACK,
                                           workers=nworkers, seed=seed)
                record.update(status=res.status, solve_seconds=res.seconds)
                if res.status == "FEASIBLE":
                    assign = _patterns_to_assignment(res.patterns, types.type_of)
                    return done(lb, assign, lb, f"arcflow={lb_by}")
                if res.status == "INFEASIBLE":
                    lb, lb_by = lb + 1, "arcflow"
                    continue
        if dived:
            break
        dived = True
        t_d = time.monotonic()
        found = diving.dive(types, cap, lb, pool=list(lp.patterns),
                            deadline=deadline - _SLACK, seed=seed, converge=graph_ok)
        stats["dive_seconds"] = time.monotonic() - t_d
        if found is not None:
            return done(lb, _counts_to_assignment(found, types.type_of), lb, f"dive={lb_by}")
        break
    return done(best[0], best[1], lb, f"{found_by}={lb_by}" if best[0] == lb else found_by)
