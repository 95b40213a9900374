"""Symmetry: classes of interchangeable empty nodes, and plans put in the order
the model's symmetry breaking expects.
"""

from __future__ import annotations

import numpy as np

from .problem import _Problem


def _symmetry_classes(p: _Problem) -> list[np.ndarray]:
    """Rows of interchangeable empty nodes (same room for every shape, same free
    room, same domains for every group), in row order; only classes of two or more."""
    rows = np.flatnonzero(p.eligible & ~p.fixed_used)
    if len(rows) < 2:
        return []
    parts = [p.cap[:, rows].T, p.rem[rows], p.alloc[rows]]
    for lim in p.limits:
        parts.append((lim.left[rows] if lim.dom is None else lim.dom[rows])[:, None])
    for g in p.spreads:
        parts.append(g.dom[rows][:, None])
    sig = np.ascontiguousarray(np.hstack(parts).astype(np.int64))
    _, inverse = np.unique(sig.view(np.dtype((np.void, sig.shape[1] * 8))).ravel(),
                           return_inverse=True)
    classes = []
    for c in np.unique(inverse):
        members = rows[inverse == c]
        if len(members) > 1:
            classes.append(members)
    return classes


def _canonical(X: np.ndarray, classes: list[np.ndarray]) -> np.ndarray:
    """The same plan with each class's node contents sorted by pod count, descending
    (stable), so that it meets the symmetry-breaking order."""
    X = X.copy()
    for members in classes:
        load = X[:, members].sum(axis=0)
        ranked = members[np.argsort(-load, kind="stable")]
        X[:, members] = X[:, ranked]
    return X
