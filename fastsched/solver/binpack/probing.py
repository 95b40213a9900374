"""Shrinking an arc-flow graph before the exact step, by LP bounds.

Take the arc-flow LP: minimize the flow out of load 0 (bins) subject to
conservation at inner loads (multipliers y free), demands (multipliers π >= 0)
and arc bounds lo <= x <= hi. For any such multipliers, every flow satisfies

    bins >= L = d·π + Σ_a min(rc_a lo_a, rc_a hi_a),   rc = c − Aᵀ(y, π),

so an arc with rc_a > target − L carries no flow in any packing into
``target`` bins, and L > target proves that none exists. Every bound used here
is this L, computed by us from the solver's duals: a sloppy LP solve can only
weaken it, never make it wrong. The one exception is an LP that HiGHS reports
infeasible (a probe that no flow can satisfy), taken as L = +∞ on its word, as
the flow MIP's infeasibility proofs are.

Two passes, both aimed at instances whose LP bound equals the target (non-IRUP
instances, where the flow MIP would otherwise branch on a graph of ~10^4 arcs):
  1. interior-point rounds: HiGHS's IPM without crossover, stopped at a loose
     tolerance, ends on the central path, where every arc outside the support
     of the optimal flows has a clearly positive reduced cost (a vertex dual,
     or a tight IPM one, leaves most of them at ~0: degeneracy); drop them,
     re-solve, until nothing moves;
  2. probing: for each arc left, the LP with x_a >= 1; when its bound exceeds
     the target the arc is fixed to zero, and fixings accumulate, so later
     probes are stronger.
On Hard28 BPP175 (⌈LP⌉ = 83, optimum 84) the rounds take the 14k-arc graph to
~640 arcs in 0.25 s and probing refutes 83 bins in another 0.3 s, where the
flow MIP on the 14k arcs ran for minutes.
"""

from __future__ import annotations

import time

import numpy as np

from .arcflow import ArcGraph, arc_bounds, flow_rows, on_paths
from .bounds import ItemTypes, highs_core

__all__ = ["tighten"]

# An arc is dropped, or the target refuted, only with this much to spare: far
# above the float error of L, far below the unit steps of a bin count.
_MARGIN = 1e-6
# Interior-point rounds at most (BPP175 settles after two or three).
_ROUNDS = 30
# IPM optimality tolerances, loosest first (a looser stop is more central and
# fixes more arcs; measured on BPP175: 1e-6 leaves 638 arcs, 1e-8 7,807 and
# 1e-9 14,000); the next one is tried when HiGHS does not report optimal.
_IPM_TOLERANCES = (1e-6, 1e-8)
# A probe may take this many times the simplex iterations of the first solve
# (at least _MIN_ITERATIONS) before it is abandoned and the arc kept: degenerate
# LPs can stall for 10^5 iterations. After _MAX_FAILS abandoned probes in a row
# probing stops.
_PROBE_ITERATIONS = 5
_MIN_ITERATIONS = 5000
_MAX_FAILS = 3
# While probing, re-check the LP without the probe after this many fixings.
_CHECK_EVERY = 16


class _FlowLP:
    """The arc-flow LP of a graph in HiGHS, with our own bound L from its duals."""

    def __init__(self, core, types: ItemTypes, graph: ArcGraph, target: int,
                 ipm_tolerance: float | None):
        # Rows: conservation at inner loads (load 0 and the sink are left free: the
        # objective counts the flow out of 0), then demands (>=).
        a_mat, rhs, nodes = flow_rows(types, graph, target)
        rows = np.flatnonzero((nodes != 0) & (nodes != graph.sink))
        ni, m = rows.size, types.demand.size
        rows = np.concatenate([rows, nodes.size + np.arange(m)])
        self.core = core
        self.a = a_mat[rows].tocsc()
        self.b = rhs[rows].astype(np.float64)
        self.ni = ni
        self.cost = (graph.tail == 0).astype(np.float64)
        self.lo = np.zeros(graph.tail.size)
        self.hi = arc_bounds(types, graph, target).astype(np.float64)
        n = graph.tail.size
        inf = core.kHighsInf
        h = core._Highs()
        h.setOptionValue("output_flag", False)
        # Without presolve: with it, a presolve that outlasts the time left hands
        # the interior-point solver a time limit <= 0, which it reads as none
        # (measured: a 40k-arc IPM given 0.3 s ran 9 s to optimality; without
        # presolve it stops at 0.33 s).
        h.setOptionValue("presolve", "off")
        if ipm_tolerance is not None:
            h.setOptionValue("solver", "ipm")
            h.setOptionValue("run_crossover", "off")
            h.setOptionValue("ipm_optimality_tolerance", ipm_tolerance)
        upper = np.concatenate([np.zeros(ni), np.full(m, inf)])
        h.addRows(ni + m, self.b, upper, 0, np.zeros(0, dtype=np.int32),
                  np.zeros(0, dtype=np.int32), np.zeros(0))
        h.addCols(n, self.cost, self.lo, self.hi, self.a.nnz, self.a.indptr.astype(np.int32),
                  self.a.indices.astype(np.int32), self.a.data)
        self.h = h

    def set_bounds(self, arc: int, lo: float, hi: float) -> None:
        self.lo[arc], self.hi[arc] = lo, hi
        self.h.changeColBounds(int(arc), float(lo), float(hi))

    def bound(self, deadline: float) -> tuple[float, np.ndarray | None]:
        """Solve; (L, reduced costs); (inf, None) when the LP is infeasible,
        (-inf, None) when HiGHS stops short (time, iterations)."""
        core = self.core
        left = deadline - time.monotonic()
        if left <= 0:
            return -np.inf, None
        # HiGHS's time limit counts its whole run time, over every solve.
        self.h.setOptionValue("time_limit", self.h.getRunTime() + left)
        self.h.run()
        status = self.h.getModelStatus()
        if status == core.HighsModelStatus.kInfeasible:
            return np.inf, None
        y = np.asarray(self.h.getSolution().row_dual, dtype=np.float64).copy()
        if status != core.HighsModelStatus.kOptimal or y.size != self.b.size:
            return -np.inf, None
        y[self.ni:] = np.maximum(y[self.ni:], 0.0)
        rc = self.cost - self.a.T @ y
        low = float(self.b @ y + np.minimum(rc * self.lo, rc * self.hi).sum())
        return low, rc


def _prune(graph: ArcGraph, keep: np.ndarray) -> ArcGraph:
    """Kept arcs that lie on some path from load 0 to the sink."""
    tail, head, kind = graph.tail[keep], graph.head[keep], graph.kind[keep]
    alive = on_paths(tail, head, graph.sink)
    return ArcGraph(tail=tail[alive], head=head[alive], kind=kind[alive], sink=graph.sink,
                    total_item_arcs=graph.total_item_arcs)


def tighten(types: ItemTypes, graph: ArcGraph, target: int, *, deadline: float,
            stats: dict | None = None) -> ArcGraph | None:
    """``graph`` without arcs that no packing into ``target`` bins can use, or
    None when the LP bounds prove that no such packing exists. Stops at
    ``deadline`` (time.monotonic()) with what it has; returns ``graph`` as is
    when SciPy's HiGHS binding is missing."""
    core = highs_core()
    stats = stats if stats is not None else {}
    stats.update(arcs_in=int(graph.tail.size), rounds=0, probes=0)
    if core is None or graph.tail.size == 0:
        return graph
    # 1. Interior-point rounds.
    tolerances = list(_IPM_TOLERANCES)
    while tolerances and stats["rounds"] < _ROUNDS and time.monotonic() < deadline:
        stats["rounds"] += 1
        t_lp = time.monotonic()
        low, rc = _FlowLP(core, types, graph, target, tolerances[0]).bound(deadline)
        # The first solve's time: the caller's gauge of what an LP over this
        # graph costs on this machine now (the flow MIP's root solve cannot be cut).
        stats.setdefault("first_lp_seconds", time.monotonic() - t_lp)
        if low > target + _MARGIN:
            return None
        if rc is None:
            tolerances.pop(0)
            continue
        keep = rc <= target - low + _MARGIN
        if keep.all():
            break
        graph = _prune(graph, keep)
        if graph.tail.size == 0:
            return None
    stats["arcs_ipm"] = int(graph.tail.size)
    # 2. Probing, with fixings kept.
    lp = _FlowLP(core, types, graph, target, None)
    low, rc = lp.bound(deadline)
    if low > target + _MARGIN:
        return None
    if rc is None:
        return graph
    limit = max(_MIN_ITERATIONS, _PROBE_ITERATIONS * lp.h.getInfo().simplex_iteration_count)
    lp.h.setOptionValue("simplex_iteration_limit", limit)
    fixed = np.zeros(graph.tail.size, dtype=bool)
    since_check = fails = 0
    for a in range(graph.tail.size):
        if time.monotonic() >= deadline or fails >= _MAX_FAILS:
            break
        stats["probes"] += 1
        hi = lp.hi[a]
        lp.set_bounds(a, 1.0, hi)
        low, rc = lp.bound(deadline)
        if low > target + _MARGIN:
            fixed[a] = True
            lp.set_bounds(a, 0.0, 0.0)
            since_check += 1
            if since_check >= _CHECK_EVERY:
                since_check = 0
                low, rc = lp.bound(deadline)
                if low > target + _MARGIN:
                    return None
        else:
            lp.set_bounds(a, 0.0, hi)
        fails = fails + 1 if low == -np.inf else 0
    if fixed.any():
        if lp.bound(deadline)[0] > target + _MARGIN:
            return None
        graph = _prune(graph, ~fixed)
    stats["arcs_out"] = int(graph.tail.size)
    return graph if graph.tail.size else None
