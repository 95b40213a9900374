"""Lower bounds for vector bin packing beyond the per-dimension ones.

The Gilmore–Gomory LP over patterns, by column generation over item *types*
(identical size vectors counted together): the master ``min Σ x_p`` s.t.
``Σ_p a_tp x_p >= d_t`` (HiGHS), and the pricing problem a d-dimensional bounded
knapsack ``max π·a`` s.t. ``Σ_t a_t s_t <= capacity`` (HiGHS MIP). Every round
gives Farley's bound ``π·d / max(1, K)`` with ``K`` the pricing problem's proven
upper bound (so a pricing call cut short by its time limit still gives a valid
bound); when no pattern prices out, the master's value itself is the LP optimum.
For identical items the one pattern of ``k`` items gives ``⌈n / k⌉`` at once.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

__all__ = ["vector_lp_bound"]

# A bound within this of an integer from below rounds up to it (HiGHS's
# tolerances are ~1e-9 relative on these small LPs).
_ROUND_EPS = 1e-6
# Fewest seconds worth starting a HiGHS call with.
_MIN_CALL = 0.02
# Most item types the bound is tried on: the pricing MIP has one integer per type,
# and beyond a few thousand HiGHS's set-up alone outlasts the share of time given.
MAX_TYPES = 2000


def _types(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct size vectors and how many items have each."""
    uniq, counts = np.unique(sizes, axis=0, return_counts=True)
    return uniq.astype(float), counts.astype(float)


def _price(values: np.ndarray, sizes: np.ndarray, capacity: np.ndarray, demand: np.ndarray,
           seconds: float) -> tuple[np.ndarray | None, float]:
    """The best pattern found for the duals ``values`` and a proven upper bound on
    the best pattern's value (``inf`` when HiGHS gave none in time)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    keep = values > 1e-12           # a type of dual 0 adds nothing to a pattern's value
    if not keep.any():
        return np.zeros(len(values)), 0.0
    idx = np.flatnonzero(keep)
    res = milp(-values[idx], constraints=LinearConstraint(sizes[idx].T, -np.inf, capacity),
               integrality=np.ones(idx.size), bounds=Bounds(0, demand[idx]),
               options={"time_limit": max(_MIN_CALL, seconds), "mip_rel_gap": 1e-9})
    upper = -float(getattr(res, "mip_dual_bound", np.nan) or np.nan)
    pattern = None
    if res.x is not None:
        pattern = np.zeros(len(values))
        pattern[idx] = np.round(res.x)
        if res.status == 0:             # solved to optimality
            upper = float(values @ pattern) if not np.isfinite(upper) else upper
    if not np.isfinite(upper):
        upper = math.inf
    return pattern, upper


def vector_lp_bound(sizes: np.ndarray, capacity: np.ndarray, deadline: float,
                    target: int | None = None) -> tuple[int, dict[str, Any]]:
    """⌈LP⌉ of the pattern formulation, or the best Farley bound reached by
    ``deadline`` (time.monotonic()); stops early once the bound reaches ``target``
    (a known packing). Returns the bound and stats (rounds, converged, value)."""
    from scipy.optimize import linprog
    from scipy.sparse import csc_matrix
    s, d = _types(np.asarray(sizes))
    if len(d) > MAX_TYPES:
        return 0, {"rounds": 0, "converged": False, "value": 0.0, "master": 0.0,
                   "skipped": f"{len(d)} item types"}
    cap = np.asarray(capacity, float)
    m = len(d)
    # columns as (type indices, counts): the master is sparse (a few types per bin)
    with np.errstate(divide="ignore"):
        per_bin = np.min(np.where(s > 0, np.floor(cap / np.where(s > 0, s, 1)), np.inf), axis=1)
    cols: list[tuple[np.ndarray, np.ndarray]] = [
        (np.array([t]), np.array([min(d[t], per_bin[t])])) for t in range(m)]
    best, rounds, converged, value = 0.0, 0, False, 0.0
    while True:
        left = deadline - time.monotonic()
        if left < _MIN_CALL:
            break
        rounds += 1
        a_mat = csc_matrix((np.concatenate([v for _, v in cols]),
                            np.concatenate([r for r, _ in cols]),
                            np.cumsum([0] + [len(r) for r, _ in cols])), shape=(m, len(cols)))
        lp = linprog(np.ones(len(cols)), A_ub=-a_mat, b_ub=-d, bounds=(0, None),
                     method="highs", options={"time_limit": left})
        if lp.status != 0:
            break
        pi = np.maximum(0.0, -np.asarray(lp.ineqlin.marginals))
        value = float(lp.fun)
        pattern, upper = _price(pi, s, cap, d, min(1.0, deadline - time.monotonic()))
        if np.isfinite(upper):
            best = max(best, float(pi @ d) / max(1.0, upper))
        if upper <= 1.0 + 1e-9:        # nothing prices out: the master is the LP optimum
            best, converged = max(best, value), True
            break
        if target is not None and math.ceil(best - _ROUND_EPS) >= target:
            break
        if math.ceil(best - _ROUND_EPS) >= math.ceil(value - _ROUND_EPS):
            break                      # the bound's ceiling cannot rise further
        if pattern is None or float(pi @ pattern) <= 1.0 + 1e-9:
            break                      # pricing found no improving pattern in time
        nz = np.flatnonzero(pattern)
        cols.append((nz, pattern[nz]))
    return max(0, math.ceil(best - _ROUND_EPS)), {
        "rounds": rounds, "converged": converged, "value": round(best, 6),
        "master": round(value, 6)}
