"""Evaluating a plan ``X[shape, node]``: weighted pods placed, nodes in use, peak
utilization, and whether the rules that tie nodes together hold.
"""

from __future__ import annotations

import numpy as np

from .problem import PERMILLE, _Problem, _SpreadGroup


def _evaluate(p: _Problem, X: np.ndarray) -> dict[str, int]:
    """Weighted pods placed, pods placed, nodes in use and peak utilization of ``X``."""
    load = X.sum(axis=0) if p.S else np.zeros(p.n, np.int64)
    return {"placed_weight": int((X.sum(axis=1) * p.weight).sum()) if p.S else 0,
            "placed": int(load.sum()),
            "nodes": int(np.count_nonzero(p.fixed_used | (load > 0))) - p.offset,
            "peak": _peak(p, X)}


def _peak(p: _Problem, X: np.ndarray) -> int:
    rows = np.flatnonzero(p.eligible)
    if not len(rows) or not len(p.balance_cols):
        return 0
    c = p.balance_cols
    used = p.req[np.ix_(rows, c)] + X[:, rows].T @ p.A[:, c]
    alloc = p.alloc[np.ix_(rows, c)]
    ok = alloc > 0
    util = -((-PERMILLE * used[ok]) // alloc[ok])          # ceil, exact in integers
    return int(util.max()) if util.size else 0


def _spread_ok(p: _Problem, X: np.ndarray) -> bool:
    for g in p.spreads:
        if not g.eligible.any():
            continue
        cnt = _domain_counts(g, X)
        values = cnt[g.eligible]
        if values.max() - values.min() > g.skew:
            return False
    return True


def _domains_ok(p: _Problem, X: np.ndarray) -> bool:
    """The rules that tie nodes together hold: per-domain limits and spreads."""
    for lim in p.limits:
        if lim.dom is not None:
            per_node = X[lim.shapes].sum(axis=0)
            keyed = lim.dom >= 0
            count = np.bincount(lim.dom[keyed], weights=per_node[keyed],
                                minlength=len(lim.left))
            if (count > lim.left).any():
                return False
    return _spread_ok(p, X)


def _domain_counts(g: _SpreadGroup, X: np.ndarray) -> np.ndarray:
    per_node = X[g.shapes].sum(axis=0)
    has = g.dom >= 0
    return g.existing + np.bincount(g.dom[has], weights=per_node[has],
                                    minlength=len(g.existing)).astype(np.int64)
