"""fastsched's own bounds: the weight placed (upper), and for plans placing a
given weight, the nodes in use (a node-covering integer program) and the peak
utilization (lower).
"""

from __future__ import annotations

import math

import numpy as np

from .problem import PERMILLE, _Problem


def _placed_bound(p: _Problem) -> int:
    """Upper bound on the weight placed: each shape at most its pods, at most what
    all nodes can take of it; a gang that cannot reach min_member counts 0."""
    most = np.minimum(p.count, p.cap.sum(axis=1)) if p.S else np.zeros(0, np.int64)
    for gang in p.gangs:
        if most[gang.shapes].sum() < gang.min_member:
            most[gang.shapes] = 0
    return int((most * p.weight).sum())


def _least_demand(p: _Problem, target: int) -> np.ndarray:
    """Per resource, the least a plan placing weight >= ``target`` requests
    (fractional knapsack: cheapest pods per unit of weight first)."""
    demand = np.zeros(p.A.shape[1], np.float64)
    total = int((p.count * p.weight).sum())
    if target >= total:
        return (p.count[:, None] * p.A).sum(axis=0).astype(np.float64)
    for r in p.cols.tolist():
        need, acc = float(target), 0.0
        for s in np.argsort(p.A[:, r] / p.weight, kind="stable").tolist():
            if need <= 0:
                break
            take = min(float(p.count[s]), need / float(p.weight[s]))
            acc += take * float(p.A[s, r])
            need -= take * float(p.weight[s])
        demand[r] = acc
    return demand


def _nodes_bound(p: _Problem, target: int) -> int:
    """Lower bound on the nodes in use for plans placing weight >= ``target``:
    nodes running pods, plus the fewest empty nodes whose free room covers, resource
    by resource, what the nodes in use cannot hold. Empty nodes are grouped by their
    room vector and the covering solved as a small integer program (a relaxation of
    placement, so its optimum is a valid bound); per resource, largest room first,
    when there are too many groups or no solver."""
    fixed = int(np.count_nonzero(p.fixed_used)) - p.offset
    if target <= 0:
        return fixed
    demand = _least_demand(p, target)
    eligible = p.eligible
    open_rows = eligible & ~p.fixed_used
    extra = 1 if not (eligible & p.fixed_used).any() else 0
    cols = p.cols.tolist()
    need = np.array([demand[r] - float(p.rem[eligible & p.fixed_used, r].sum())
                     for r in cols])
    for i, r in enumerate(cols):
        if need[i] <= 0:
            continue
        room = np.sort(p.rem[open_rows, r])[::-1].astype(np.float64)
        k = int(np.searchsorted(np.cumsum(room), need[i] - 1e-9)) + 1
        extra = max(extra, min(k, len(room)))
    covered = _covering_bound(p.rem[open_rows][:, cols], need)
    if covered is not None:
        extra = max(extra, covered)
    return fixed + extra


def _covering_bound(rooms: np.ndarray, need: np.ndarray) -> int | None:
    """min sum(x) with rooms[type] . x >= need per resource, x integer in [0, count]
    (None when it cannot be solved quickly: then the per-resource bound stands)."""
    wanted = need > 0
    if not wanted.any() or not len(rooms):
        return None
    types, counts = np.unique(rooms[:, wanted], axis=0, return_counts=True)
    if len(types) > 200:
        return None
    try:
        from scipy.optimize import Bounds, LinearConstraint, milp
    except ImportError:         # pragma: no cover - scipy is a dependency
        return None
    result = milp(c=np.ones(len(types)),
                  constraints=LinearConstraint(types.T.astype(np.float64),
                                               lb=need[wanted] - 1e-6, ub=np.inf),
                  integrality=np.ones(len(types)), bounds=Bounds(0, counts),
                  options={"time_limit": 0.5})
    if result.status != 0 or result.x is None:
        return None         # not proved optimal in time: its value is no bound
    return int(round(result.fun))


def _peak_bound(p: _Problem, target: int) -> int:
    """Lower bound on the peak utilization: the current peak of the nodes that can
    receive pods, the average over them once the least demand is added, and for a
    batch placed in full, the best single node for each shape."""
    rows = np.flatnonzero(p.eligible)
    c = p.balance_cols
    if not len(rows) or not len(c):
        return 0
    alloc, used = p.alloc[np.ix_(rows, c)], p.req[np.ix_(rows, c)]
    ok = alloc > 0
    best = int((-((-PERMILLE * used[ok]) // alloc[ok])).max()) if ok.any() else 0
    demand = _least_demand(p, target)[c]
    total_alloc = alloc.sum(axis=0)
    for j in range(len(c)):
        if total_alloc[j] > 0:
            avg = PERMILLE * (float(used[:, j].sum()) + demand[j]) / float(total_alloc[j])
            best = max(best, math.ceil(avg - 1e-9))
    if target >= int((p.count * p.weight).sum()):
        for s in np.flatnonzero(p.count).tolist():
            where = np.flatnonzero(p.cap[s, rows] > 0)
            if not len(where):
                continue
            a, u = alloc[where], used[where] + p.A[s, c]
            util = np.where(a > 0, -((-PERMILLE * u) // np.where(a > 0, a, 1)), 0)
            best = max(best, int(util.max(axis=1).min()))
    return best
