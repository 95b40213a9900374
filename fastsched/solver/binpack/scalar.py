"""Classic bin packing: ``binpack`` (one dimension).

Pipeline, cheapest first, stopping as soon as a packing meets a proven bound:
  1. bounds L1, L2 (Martello–Toth) and heuristics FFD, BFD, MBS'; when the
     bound leaves (almost) no room, bin completion toward it for a share of the
     time (perfect packings: the LP cannot guide them, its duals are the sizes),
     and again before the last dive;
  2. the Gilmore–Gomory LP bound by column generation (Farley certificate);
  3. MBS' with perturbed priorities, aiming at the bound;
  4. when ⌈LP⌉ − LP leaves room (IRUP almost surely), diving on the LP first;
     then exact: arc-flow reduced by reduced-cost fixing, then by interior-point
     fixing and probing (``probing.py``, which may itself prove that LB bins
     cannot do), solved by HiGHS's MIP for a packing into exactly LB bins (a
     proof that none exists raises LB by one),
     for a share of the time; then diving on the column-generation LP
     (``diving.py``) for the rest, or for all of it when the capacity makes the
     graph too large (Scholl 3).

Bounded work: every phase stops at the deadline (the kernels read the clock
inside their loops), and the tables are sized against ``max_memory`` before
they are allocated. The greedy phase needs about ``_BYTES_PER_ITEM`` bytes per
item and O(n log n) time; the LP phase, and so the exact phase and diving that
start from it, keeps a dense int64 pattern table of at most
``_LP_MEMORY_SHARE`` of the budget, at least 2·m columns of m item types, so it
runs for m <= ~4,000 distinct sizes at the default 2 GiB (above that the
packing comes with the L1/L2 bound); its pricing DP takes about
(pieces + 8)·capacity bytes and must fit ``_DP_MEMORY_SHARE`` of the budget.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ...errors import ValidationError
from ..status import Status, gap
from . import arcflow, diving, heuristics, probing
from .bounds import ItemTypes, item_types, knapsack_bytes, l1_bound, l2_bound, lp_bound
from .result import PackResult
from .validation import (
    Reporter,
    check_totals,
    validate_capacity,
    validate_memory,
    validate_run,
    validate_sizes,
)

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
# A first dive, before the exact phase, when ceil(LP) - LP is at least this, with
# this share of the time left (measured on stratified samples of the training set:
# at 0.5 the dive, restarted later, lost instances it finds in 7 s at once).
_DIVE_FIRST_SLACK = 0.25
_DIVE_FIRST_SHARE = 0.85
# Share of the time left that LP probing may take before the flow MIP (it needs
# ~0.6 s on Hard28 BPP175), and the largest graph it is tried on (an IPM solve
# on 40k arcs takes ~1 s).
_PROBING_SHARE = 0.3
_MAX_PROBING_ARCS = 40_000
# HiGHS checks its clock coarsely: it is given this share of the time left.
_HIGHS_SHARE = 0.85
# The flow MIP's uninterruptible start (presolve and root LP) as a multiple of
# the first probing LP's time, or per arc when probing did not run.
_ROOT_LP_FACTOR = 3.0
_ROOT_LP_SECONDS_PER_ARC = 1e-4
# Seconds kept back from the solvers for model building and the report: HiGHS
# overshoots its limit by a few tenths on large models.
_SLACK = 0.4
# Bin completion toward a bound leaving at most COMPLETION_MAX_WASTE of room:
# its share of the time limit up front, its share of the time left before the
# last dive, and the largest n · capacity it takes on (a bin opened costs about
# that many steps: 10 ms at 2·10^7). Measured on the stratified training
# sample of issue 19 (seed 2026): 0.3 up front proved 18 of 20 AI instances;
# 0.12 up front and half the time before the last dive 19, and the ANI
# instances, alike in every bound but needing a bin more, got their probing
# proofs 1.5 s sooner.
_COMPLETION_SHARE = 0.12
_COMPLETION_LATE_SHARE = 0.5
_MAX_COMPLETION_WORK = 20_000_000
# Share of the time limit MBS' may take (on a thousand items it takes
# milliseconds; on a million its search would take minutes): past it, the
# items it has not packed go in by first fit.
_GREEDY_SHARE = 0.3
# Memory: bytes per item of the greedy phase (input copies, sort order,
# assignments, kernel trees; measured ~60 on a million items); shares of
# ``max_memory`` for the LP's dense pattern table (three copies of it exist
# briefly: list, array, np.unique) and for the pricing DP's table.
_BYTES_PER_ITEM = 128
_LP_MEMORY_SHARE = 1 / 8
_DP_MEMORY_SHARE = 1 / 4
_GRAPH_MEMORY_SHARE = 1 / 4
# Greedy bins offered to the LP as initial columns, at most: more than any
# classic instance has (<= 1,002 items), few enough that deduplicating the
# columns stays in milliseconds on a million items.
_MAX_INITIAL_COLUMNS = 2048


def _bin_columns(types: ItemTypes, bin_of: np.ndarray, nbins: int, limit: int
                 ) -> list[np.ndarray]:
    """The greedy packing's bins as item-type count vectors (initial columns of
    the LP). With more than ``limit`` bins only the first ``limit`` distinct
    ones (told apart by a hash of their counts) are kept: a dense row costs
    8·m bytes."""
    m = types.weights.size
    if nbins > limit:
        keys = np.random.default_rng(0).integers(1, 2 ** 63, m, dtype=np.uint64)
        sig = np.zeros(nbins, dtype=np.uint64)
        np.add.at(sig, bin_of, keys[types.type_of])      # wraps: a hash
        _, first = np.unique(sig, return_index=True)
        chosen = np.sort(first)[:limit]
    else:
        chosen = np.arange(nbins)
    row = np.full(nbins, -1, dtype=np.int64)
    row[chosen] = np.arange(chosen.size)
    mat = np.zeros((chosen.size, m), dtype=np.int64)
    sel = row[bin_of] >= 0
    np.add.at(mat, (row[bin_of[sel]], types.type_of[sel]), 1)
    return list(mat)


def _counts_to_assignment(counts: list[np.ndarray], type_of: np.ndarray) -> np.ndarray:
    """Bins given as item-type count vectors (covering: a count may exceed what is
    left) to a bin per item; bins that end up empty are dropped. Bins take
    their items in bin order, and the items of a type go to its bins by
    increasing item index. Vectorized: O(bins · m + n log n)."""
    m = counts[0].size if counts else 0
    c = np.array(counts, dtype=np.int64).reshape(len(counts), m)
    demand = np.bincount(type_of, minlength=m).astype(np.int64)
    taken = np.minimum(np.cumsum(c, axis=0), demand)          # after each bin
    take = np.diff(np.vstack([np.zeros((1, m), dtype=np.int64), taken]), axis=0)
    take = take[take.sum(axis=1) > 0]
    # Per type, the bins in order, each as often as it takes items of that type.
    bins = np.repeat(np.tile(np.arange(take.shape[0]), m), take.T.ravel())
    out = np.empty(type_of.size, dtype=np.int64)
    out[np.argsort(type_of, kind="stable")] = bins
    return out


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
            workers: int | None = None, seed: int = 0,
            max_memory: int | None = None, progress: Any = None) -> PackResult:
    """Pack items of integer ``sizes`` into the fewest bins of integer ``capacity``.

    Returns a :class:`PackResult` within about ``time_limit`` seconds whatever
    the input size (phases that would overrun stop at the deadline with the best
    packing so far and its proven bound); ``optimal`` is True only when the
    packing meets a proven lower bound (L2, the LP bound or a flow-MIP
    infeasibility proof). ``workers`` is passed to the solvers (default: CPUs, at
    most 8); ``seed`` fixes every random choice. ``max_memory`` (bytes, default
    2 GiB) bounds the tables the solve allocates: phases whose tables would not
    fit are skipped (``stats["skipped"]`` says which); the greedy phase alone
    needs ~128 bytes per item. ``progress(bins, lower_bound)``, if given, is called
    whenever the best packing or the proven bound changes.

    Raises ``ValidationError`` (a ValueError whose ``field`` names the value) for
    bad input: a negative, NaN or fractional size (``sizes[i]``), sizes adding up
    to 2**62 or more, a capacity that is not a positive integer of at most 2**62
    (strings are refused, not parsed), an item larger than the capacity, a bad
    time limit, workers or memory budget.
    """
    t0 = time.monotonic()
    s = validate_sizes(sizes)
    check_totals(s)
    cap = validate_capacity(capacity)
    tl, nworkers = validate_run(time_limit, workers)
    budget = validate_memory(max_memory, s.size, _BYTES_PER_ITEM)
    tell = Reporter(progress)
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
        tell(bins, lb)
        return PackResult(bins, assignment, lb, optimal, Status.OPTIMAL if optimal else Status.FEASIBLE,
                          time.monotonic() - t0, method, gap(bins, lb), nworkers, stats)

    # 1. Bounds and greedy packings (FFD and BFD in O(n log n); MBS' stops at
    #    its share of the time and finishes by first fit).
    order = heuristics.decreasing(w)
    lb, lb_by = l2_bound(w[order[::-1]], cap, ascending=True), "l2"
    lb = max(lb, l1_bound(w, cap))
    best, found_by = heuristics.first_fit_decreasing(w, cap, order), "ffd"
    greedy_stop = t0 + _GREEDY_SHARE * tl
    for name in ("bfd", "mbs'"):
        if best[0] == lb or time.monotonic() >= greedy_stop:
            break
        cand = heuristics.best_fit_decreasing(w, cap, order) if name == "bfd" else \
            heuristics.min_bin_slack(w, cap, order, deadline=greedy_stop)
        if cand[0] < best[0]:
            best, found_by = cand, name
    stats["greedy_seconds"] = time.monotonic() - t0
    tell(best[0], lb)
    if best[0] == lb:
        return done(best[0], best[1], lb, f"{found_by}={lb_by}")
    completion_ok = w.size * cap <= _MAX_COMPLETION_WORK and \
        (w.size + 1) * (cap // 64 + 1) * 8 <= _DP_MEMORY_SHARE * budget
    total = int(w.sum())

    def complete(target: int, until: float, run_seed: int) -> tuple[int, np.ndarray] | None:
        """Bin completion toward `target` until `until`, when it leaves little room."""
        if not completion_ok or target * cap - total > heuristics.COMPLETION_MAX_WASTE:
            return None
        t_c = time.monotonic()
        filled = heuristics.complete_bins(w, cap, target, order=order, seed=run_seed,
                                          deadline=min(deadline - _SLACK, until))
        stats["completion_seconds"] = stats.get("completion_seconds", 0.0) + \
            time.monotonic() - t_c
        return filled

    filled = complete(lb, t0 + _COMPLETION_SHARE * tl, seed)
    if filled is not None:
        return done(filled[0], filled[1], lb, f"completion={lb_by}")

    # 2. The LP bound, seeded with the greedy packing's bins as columns; run to
    #    convergence (unless it meets the packing) since step 4 needs optimal duals.
    #    Skipped when its tables do not fit the memory budget.
    if time.monotonic() >= deadline - 0.05:
        stats["skipped"] = ["lp: no time left"]
        return done(best[0], best[1], lb, found_by)
    types = item_types(w, order)
    m = types.weights.size
    max_columns = int(_LP_MEMORY_SHARE * budget) // (8 * m)
    skipped = []
    if max_columns < 2 * m:
        skipped.append(f"lp: {m} item types need {16 * m * m} bytes of patterns")
    if knapsack_bytes(types, cap) > _DP_MEMORY_SHARE * budget:
        skipped.append(f"lp: the pricing DP needs {knapsack_bytes(types, cap)} bytes")
    if skipped:
        stats["skipped"] = skipped
        return done(best[0], best[1], lb, f"{found_by}={lb_by}" if best[0] == lb else found_by)
    graph_ok = cap * m <= _MAX_GRAPH_WORK and \
        arcflow.graph_bytes(types, cap) <= _GRAPH_MEMORY_SHARE * budget
    initial = _bin_columns(types, best[1], best[0], min(max_columns // 4, _MAX_INITIAL_COLUMNS))
    lp = lp_bound(types, cap, initial=initial, stop_at=best[0], converge=graph_ok,
                  deadline=t0 + _LP_SHARE * tl, max_columns=max_columns)
    stats.update(lp_value=lp.value, lp_bound=lp.bound, lp_converged=lp.converged,
                 lp_iterations=lp.iterations, lp_seconds=lp.seconds)
    if lp.bound > lb:
        lb, lb_by = lp.bound, "lp"
    tell(best[0], lb)
    if best[0] == lb:
        return done(best[0], best[1], lb, f"{found_by}={lb_by}")

    # 3. Perturbed MBS' toward the bound, for a small share of the time.
    t_h = time.monotonic()
    cand = heuristics.perturbed_mbs(w, cap, lb, seed=seed, best=best,
                                    deadline=min(deadline, t_h + _MBS_SHARE * tl))
    stats["perturbed_mbs_seconds"] = time.monotonic() - t_h
    if cand[0] < best[0]:
        best, found_by = cand, "perturbed-mbs'"
    tell(best[0], lb)
    if best[0] == lb:
        return done(best[0], best[1], lb, f"{found_by}={lb_by}")

    # 4. Exact: the arc-flow graph reduced by the LP duals, one target at a time
    #    from the bound up; a proof that `lb` bins cannot do raises the bound.
    #    The first flow MIP gets a share of the time; when it neither finds nor
    #    refutes a packing (or the graph is too large), diving on the LP
    #    (IRUP instances) gets the rest.
    # With room between the LP value and its ceiling, a packing into ceil(LP) bins
    # almost always exists (IRUP) and the LP has slack to guide a dive, while
    # probing has little to cut: dive first, for a share of the time.
    if lp.converged and lb - lp.value >= _DIVE_FIRST_SLACK:
        t_d = time.monotonic()
        found = diving.dive(types, cap, lb, pool=list(lp.patterns),
                            deadline=t_d + _DIVE_FIRST_SHARE * (deadline - _SLACK - t_d),
                            seed=seed, converge=graph_ok, max_columns=max_columns)
        stats["first_dive_seconds"] = time.monotonic() - t_d
        if found is not None:
            return done(lb, _counts_to_assignment(found, types.type_of), lb, f"dive={lb_by}")
    dived = False
    graph: arcflow.ArcGraph | None      # None: probing proved the target infeasible
    while best[0] > lb:
        tell(best[0], lb)
        if deadline - time.monotonic() <= 0.05:
            break
        if graph_ok:
            t_g = time.monotonic()
            built = arcflow.build_graph(types, cap, lp.duals, lb - lp.value,
                                        deadline=deadline - _SLACK)
            if built is None:
                stats.setdefault("skipped", []).append("arcflow: no time left to build")
                break
            graph = built
            record: dict[str, Any] = {"target": lb, "arcs": int(graph.tail.size),
                                      "arcs_unfixed": graph.total_item_arcs,
                                      "build_seconds": time.monotonic() - t_g,
                                      "status": "SKIPPED"}
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
            # items): diving only. HiGHS's MIP reads its clock only after presolve
            # and the root LP (measured on Hard28 BPP175, 14k arcs, a loaded
            # machine: 3.5 s whether given 1 or 2 s, about 3 times the first
            # probing LP): it starts only when that fits in the time left.
            root = _ROOT_LP_FACTOR * float(record.get("probing", {}).get(
                "first_lp_seconds", _ROOT_LP_SECONDS_PER_ARC * graph.tail.size))
            if graph.tail.size <= _MAX_ARCS and root > deadline - time.monotonic() - _SLACK:
                record["status"] = "SKIPPED (no time for the root LP)"
            elif graph.tail.size <= _MAX_ARCS:
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
        now = time.monotonic()
        filled = complete(lb, now + _COMPLETION_LATE_SHARE * (deadline - now), seed + 1)
        if filled is not None:
            return done(filled[0], filled[1], lb, f"completion={lb_by}")
        t_d = time.monotonic()
        found = diving.dive(types, cap, lb, pool=list(lp.patterns),
                            deadline=deadline - _SLACK, seed=seed, converge=graph_ok,
                            max_columns=max_columns)
        stats["dive_seconds"] = time.monotonic() - t_d
        if found is not None:
            return done(lb, _counts_to_assignment(found, types.type_of), lb, f"dive={lb_by}")
        break
    return done(best[0], best[1], lb, f"{found_by}={lb_by}" if best[0] == lb else found_by)
