"""Packing heuristics over validated sizes: FFD, BFD, MBS' and a perturbed MBS'.

Each returns ``(bins, assignment)`` with ``assignment[i]`` the bin of item i,
bins numbered 0..bins-1. Ties: items of equal size keep their input order
(stable sorts), so every heuristic is deterministic for a given seed.
"""

from __future__ import annotations

import time

import numpy as np

from ..._kernels import binpack as _k

__all__ = ["first_fit_decreasing", "best_fit_decreasing", "min_bin_slack",
           "perturbed_mbs"]

# Depth-first nodes MBS' may spend on one bin: enough for the exact-fill triplets
# of the classic sets, small enough that a 1000-item pass stays in milliseconds.
MBS_NODE_LIMIT = 20_000


def _decreasing(sizes: np.ndarray) -> np.ndarray:
    return np.argsort(-sizes, kind="stable")


def _scatter(order: np.ndarray, bins_in_order: np.ndarray) -> np.ndarray:
    out = np.empty_like(bins_in_order)
    out[order] = bins_in_order
    return out


def _fit_decreasing(kernel, sizes: np.ndarray, capacity: int) -> tuple[int, np.ndarray]:
    if sizes.size == 0:
        return 0, np.zeros(0, dtype=np.int64)
    order = _decreasing(sizes)
    b = np.zeros(sizes.size, dtype=np.int64)
    nbins = kernel(np.ascontiguousarray(sizes[order]), capacity, b)
    return int(nbins), _scatter(order, b)


def first_fit_decreasing(sizes: np.ndarray, capacity: int) -> tuple[int, np.ndarray]:
    """FFD: (bins, bin per item)."""
    return _fit_decreasing(_k.first_fit, sizes, capacity)


def best_fit_decreasing(sizes: np.ndarray, capacity: int) -> tuple[int, np.ndarray]:
    """BFD: (bins, bin per item)."""
    return _fit_decreasing(_k.best_fit, sizes, capacity)


def min_bin_slack(sizes: np.ndarray, capacity: int, order: np.ndarray | None = None,
                  node_limit: int = MBS_NODE_LIMIT) -> tuple[int, np.ndarray]:
    """MBS' (Fleszar & Hindi 2002): bin by bin, the largest remaining item plus the
    subset of the others leaving the least slack. ``order`` is the priority
    (default: decreasing size)."""
    if sizes.size == 0:
        return 0, np.zeros(0, dtype=np.int64)
    if order is None:
        order = _decreasing(sizes)
    b = np.zeros(sizes.size, dtype=np.int64)
    nbins = _k.min_bin_slack(sizes, np.ascontiguousarray(order, dtype=np.int64),
                             capacity, b, node_limit, 0)
    return int(nbins), b


def perturbed_mbs(sizes: np.ndarray, capacity: int, target: int, *, deadline: float,
                  seed: int = 0, best: tuple[int, np.ndarray] | None = None
                  ) -> tuple[int, np.ndarray]:
    """Repeat MBS' with the priority order perturbed (sizes times a random factor
    in [1 − ε, 1 + ε], ε growing with the number of tries) until ``target`` bins
    are reached or ``deadline`` (time.monotonic()) passes; the best packing."""
    rng = np.random.default_rng(seed)
    if best is None:
        best = min_bin_slack(sizes, capacity)
    tries = 0
    while best[0] > target and time.monotonic() < deadline:
        tries += 1
        eps = min(0.3, 0.02 + 0.002 * tries)
        key = sizes * rng.uniform(1.0 - eps, 1.0 + eps, sizes.size)
        cand = min_bin_slack(sizes, capacity, np.argsort(-key, kind="stable"))
        if cand[0] < best[0]:
            best = cand
    return best
