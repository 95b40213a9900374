"""Lower bounds for one-dimensional bin packing: L1, Martello–Toth L2 and the
Gilmore–Gomory LP bound by column generation.

Every bound returned here is proven: the LP bound is taken from a dual-feasible
certificate (Farley's bound: duals scaled by the best pricing value), never from
the master LP's objective, so an unconverged or numerically sloppy LP can only
make the bound weaker, not wrong.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from ..._kernels import binpack as _k

__all__ = ["l1_bound", "l2_bound", "ItemTypes", "item_types", "LPBound", "lp_bound",
           "knapsack_bytes"]

# Margin below which a fractional bound is not rounded up: far above the float
# error of sums of a few hundred duals, far below any gap that matters.
_ROUND_EPS = 1e-6
# Weight of the stability centre in Wentges dual smoothing.
_SMOOTHING = 0.7
# Columns a pricing round may add (optima for the capacity and below).
_COLUMNS_PER_ROUND = 8


def l1_bound(sizes: np.ndarray, capacity: int) -> int:
    """⌈Σ sizes / capacity⌉ (0 for no items)."""
    total = int(np.sum(sizes, dtype=np.int64))
    return -(-total // capacity)


def l2_bound(sizes: np.ndarray, capacity: int, *, ascending: bool = False) -> int:
    """Martello–Toth L2 = max over thresholds 0 <= k <= C/2 of
    |N1| + |N2| + max(0, ⌈(Σ N3 − (|N2|·C − Σ N2)) / C⌉) with
    N1 = {s > C − k}, N2 = {C/2 < s <= C − k}, N3 = {k <= s <= C/2}.
    Only k in {0} ∪ {sizes <= C/2} matter; O(n log n) after one sort, which
    ``ascending=True`` (sizes already sorted) skips.
    """
    s = np.asarray(sizes, dtype=np.int64) if ascending else \
        np.sort(np.asarray(sizes, dtype=np.int64))
    if s.size == 0:
        return 0
    c = int(capacity)
    prefix = np.concatenate(([0], np.cumsum(s)))
    ks = np.concatenate(([0], s[2 * s <= c]))       # sorted: drop repeats without a sort
    ks = ks[np.concatenate(([True], ks[1:] != ks[:-1]))]

    def count_le(x):  # number of sizes <= x, vectorized over x
        return np.searchsorted(s, x, side="right")

    def count_lt(x):
        return np.searchsorted(s, x, side="left")

    half = c // 2                                   # s <= C/2  <=>  s <= half
    n = s.size
    i_half = count_le(half)                         # items with s <= C/2
    i_ck = count_le(c - ks)                         # items with s <= C - k
    i_k = count_lt(ks)                              # items with s < k
    n1 = n - i_ck
    n2 = i_ck - i_half
    sum_n2 = prefix[i_ck] - prefix[i_half]
    sum_n3 = prefix[i_half] - prefix[i_k]
    excess = sum_n3 - (n2 * c - sum_n2)
    extra = np.where(excess > 0, -(-excess // c), 0)
    return int(np.max(n1 + n2 + extra))


@dataclass(frozen=True)
class ItemTypes:
    """Distinct sizes (decreasing) with their demands; ``type_of[i]`` per item."""

    weights: np.ndarray   # int64[m], strictly decreasing
    demand: np.ndarray    # int64[m]
    type_of: np.ndarray   # int64[n]


def item_types(sizes: np.ndarray, order: np.ndarray | None = None) -> ItemTypes:
    """Distinct sizes, decreasing. ``order``: the items by decreasing size if
    known (``heuristics.decreasing``), which saves the sort."""
    s = np.asarray(sizes, dtype=np.int64)
    if order is None:
        order = np.argsort(-s, kind="stable")
    ranked = s[order]
    new = np.ones(ranked.size, dtype=bool)
    new[1:] = ranked[1:] != ranked[:-1]
    starts = np.flatnonzero(new)
    type_of = np.empty(s.size, dtype=np.int64)
    type_of[order] = np.cumsum(new) - 1
    return ItemTypes(weights=np.ascontiguousarray(ranked[starts]),
                     demand=np.diff(np.append(starts, ranked.size)).astype(np.int64),
                     type_of=type_of)


@dataclass
class LPBound:
    """Result of column generation.

    ``bound`` is the proven integer bound ⌈Farley⌉; ``value`` the proven
    fractional bound (π·d / max pricing value); ``duals`` the scaled, exactly
    dual-feasible prices π' (every pattern has Σ π'·a <= 1 up to float error).
    ``patterns`` are the generated columns (int64[p, m]), ``x`` their LP values.
    """

    bound: int
    value: float
    duals: np.ndarray
    converged: bool
    iterations: int
    patterns: np.ndarray
    x: np.ndarray
    master_value: float
    seconds: float = 0.0
    notes: list = field(default_factory=list)


def knapsack_bytes(types: ItemTypes, capacity: int) -> int:
    """Bytes one pricing call takes (the DP's table: one byte per binary piece
    and capacity, and a double per capacity), for the caller's memory budget."""
    w = types.weights
    copies = np.minimum(types.demand, capacity // np.maximum(w, 1))
    pieces = int(np.sum(np.floor(np.log2(np.maximum(copies, 1))) + 1))
    return (pieces + 8) * (int(capacity) + 1)


# Up to this many table entries the distinct columns are put in lexicographic
# order (np.unique's, in which the classic instances have always been solved);
# above, they stay in first-occurrence order (the sort is m passes over them).
_SORTED_COLUMNS_LIMIT = 4_000_000


def _distinct(cols: list[np.ndarray]) -> list[np.ndarray]:
    """The distinct columns, found by hashing their bytes (np.unique(axis=0)
    sorts whole rows: seconds on 3,000 columns of 1,000 types)."""
    seen: dict[bytes, np.ndarray] = {}
    for a in cols:
        a = np.ascontiguousarray(a, dtype=np.int64)
        seen.setdefault(a.tobytes(), a)
    out = list(seen.values())
    if out and len(out) * out[0].size <= _SORTED_COLUMNS_LIMIT:
        mat = np.array(out)
        out = list(mat[np.lexsort(mat.T[::-1])])
    return out


def _single_type_patterns(types: ItemTypes, capacity: int) -> list[np.ndarray]:
    m = types.weights.size
    cols = []
    for t in range(m):
        a = np.zeros(m, dtype=np.int64)
        a[t] = min(int(types.demand[t]), capacity // int(types.weights[t]))
        cols.append(a)
    return cols


def highs_core():
    """The incremental HiGHS binding that SciPy ships (private: None when this
    SciPy build lacks it)."""
    try:
        from scipy.optimize._highspy import _core
    except ImportError:  # pragma: no cover - depends on the SciPy build
        return None
    return _core


class _Master:
    """The restricted master LP min Σ x_p, A x >= d, x >= 0, with the
    dual-optimal exchange columns. Uses HiGHS incrementally (warm-started dual
    simplex after each batch of columns) through the HiGHS binding that SciPy
    ships; falls back to re-solving with scipy.optimize.linprog when that
    private binding is missing."""

    def __init__(self, demand: np.ndarray):
        self.d = demand.astype(np.float64)
        self.m = demand.size
        self.cols: list[np.ndarray] = []
        self._h = None
        _core = highs_core()
        if _core is not None:
            h = _core._Highs()
            h.setOptionValue("output_flag", False)
            self._inf = _core.kHighsInf
            m = self.m
            h.addRows(m, self.d, np.full(m, self._inf), 0, np.zeros(m, dtype=np.int32),
                      np.zeros(0, dtype=np.int32), np.zeros(0))
            for t in range(m - 1):
                h.addCol(0.0, 0.0, self._inf, 2, np.array([t, t + 1], dtype=np.int32),
                         np.array([-1.0, 1.0]))
            self._h, self._ok = h, _core.HighsModelStatus.kOptimal

    def add(self, a: np.ndarray) -> None:
        self.cols.append(a)
        if self._h is not None:
            nz = np.flatnonzero(a).astype(np.int32)
            self._h.addCol(1.0, 0.0, self._inf, nz.size, nz, a[nz].astype(np.float64))

    def solve(self, deadline: float | None = None):
        """(value, duals >= 0, x over self.cols) or None when the LP fails or
        ``deadline`` (time.monotonic()) comes first."""
        m = self.m
        left = math.inf if deadline is None else deadline - time.monotonic()
        if left <= 0:
            return None
        if self._h is not None:
            if math.isfinite(left):
                # HiGHS's time limit counts its whole run time, over every solve.
                self._h.setOptionValue("time_limit", self._h.getRunTime() + left)
            self._h.run()
            if self._h.getModelStatus() != self._ok:
                return None
            sol = self._h.getSolution()
            pi = np.maximum(np.asarray(sol.row_dual, dtype=np.float64), 0.0)
            x = np.asarray(sol.col_value, dtype=np.float64)[m - 1:]
            return float(self._h.getObjectiveValue()), pi, x
        from scipy.optimize import linprog
        exchange = np.zeros((m, max(m - 1, 0)))
        for t in range(m - 1):
            exchange[t, t], exchange[t + 1, t] = -1.0, 1.0
        a_mat = np.hstack([np.array(self.cols, dtype=np.float64).T, exchange])
        cost = np.concatenate([np.ones(len(self.cols)), np.zeros(m - 1)])
        res = linprog(cost, A_ub=-a_mat, b_ub=-self.d, bounds=(0, None), method="highs-ds",
                      options={"time_limit": left} if math.isfinite(left) else {})
        if res.status != 0:
            return None
        pi = np.maximum(-np.asarray(res.ineqlin.marginals, dtype=np.float64), 0.0)
        return float(res.fun), pi, res.x[: len(self.cols)]


def lp_bound(types: ItemTypes, capacity: int, *, initial: list[np.ndarray] | None = None,
             stop_at: int | None = None, deadline: float | None = None,
             max_iterations: int = 5000, converge: bool = False,
             max_columns: int | None = None) -> LPBound:
    """Gilmore–Gomory bound by column generation.

    Master: min Σ x_p s.t. Σ_p a_tp x_p >= d_t, x >= 0, plus the dual-optimal
    inequalities π_t >= π_{t+1} (a larger item is worth at least a smaller one;
    Valério de Carvalho 2005) as free exchange columns. Pricing: bounded
    knapsack over item types (Cython DP), columns capped at the demands, with
    Wentges dual smoothing. Stops when no column prices out, when the proven
    bound reaches ``stop_at`` (e.g. a known solution), when its ceiling meets
    the master's (unless ``converge``: the exact phase wants optimal duals), at
    ``deadline`` (time.monotonic(), also passed into HiGHS and the pricing DP),
    or once the master holds ``max_columns`` columns (the caller's memory
    budget: ``patterns`` is a dense int64[columns, m]). Every exit keeps the
    best proven bound so far.
    """
    t0 = time.monotonic()
    w, d = types.weights, types.demand
    m = w.size
    cols = _single_type_patterns(types, capacity)
    if initial:
        cols.extend(np.minimum(a, d) for a in initial)
    master_lp = _Master(d)
    for a in _distinct(cols):
        master_lp.add(a)
    best_value, best_duals = 0.0, np.zeros(m)
    stab: np.ndarray | None = None   # stability centre: the raw duals of the best bound
    counts = np.zeros((_COLUMNS_PER_ROUND, m), dtype=np.int64)
    values = np.zeros(_COLUMNS_PER_ROUND)
    converged = False
    it = 0
    master = math.inf
    x = np.zeros(0)
    while it < max_iterations:
        it += 1
        solved = master_lp.solve(deadline)
        if solved is None:
            break
        master, pi_rmp, x = solved
        # Wentges smoothing: price at a point between the best duals so far and the
        # master's; if that column does not price out for the master, step toward
        # the master's duals (at alpha = 0 a failure proves convergence).
        alpha = _SMOOTHING if stab is not None else 0.0
        good: list[int] = []
        while True:
            # alpha > 0 only once stab is set
            pi = pi_rmp if alpha <= 0.0 else alpha * cast(np.ndarray, stab) + (1.0 - alpha) * pi_rmp
            rows = _k.knapsack_columns(w, pi, d, capacity, counts, values, 1.0 + 1e-9,
                                       0.0 if deadline is None else max(deadline, 1e-9))
            if rows < 0:        # the deadline passed inside the DP
                good = []
                break
            value = float(values[0])
            # Farley: π / max(1, K) is dual feasible, so π·d / max(1, K) <= LP* <= OPT.
            scale = max(1.0, value)
            farley = float(pi @ d) / scale
            if farley > best_value:
                best_value, best_duals, stab = farley, pi / scale, pi.copy()
            good = [r for r in range(rows) if float(pi_rmp @ counts[r]) > 1.0 + 1e-9]
            if good or alpha <= 0.0:
                break
            alpha = max(0.0, alpha - 0.3)
        proven = math.ceil(best_value - _ROUND_EPS)
        if rows < 0:
            break
        if not good:
            converged = True
            break
        if stop_at is not None and proven >= stop_at:
            break
        if not converge and proven >= math.ceil(master - _ROUND_EPS):
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        if max_columns is not None and len(master_lp.cols) + len(good) > max_columns:
            break
        for r in good:
            master_lp.add(counts[r].copy())
    return LPBound(bound=max(0, math.ceil(best_value - _ROUND_EPS)), value=best_value,
                   duals=best_duals, converged=converged, iterations=it,
                   patterns=np.array(master_lp.cols, dtype=np.int64), x=np.asarray(x),
                   master_value=master, seconds=time.monotonic() - t0)
