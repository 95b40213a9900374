"""Checking the input of the bin-packing entry points: item sizes, capacities, the
time limit and the number of workers (and the default number of workers)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["validate_sizes", "check_totals", "validate_capacity", "validate_run",
           "default_workers"]


def default_workers() -> int:
    import os
    return max(1, min(8, os.cpu_count() or 1))


def validate_sizes(sizes: Any, name: str = "sizes", ndim: int = 1) -> np.ndarray:
    """Coerce to int64 with ``ndim`` dimensions; reject NaN, infinities,
    non-integral floats, negatives, booleans and non-numbers, naming the entry."""
    try:
        arr = np.asarray(sizes)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name}: expected an array of integers ({exc})") from None
    if arr.ndim != ndim and not (arr.size == 0 and ndim == 2 and arr.ndim in (1, 2)):
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)
                                 or arr.dtype == object and arr.size == 0):
        raise TypeError(f"{name}: expected integers, got dtype {arr.dtype}")
    if arr.size == 0:
        return np.zeros((0,) * ndim if ndim == 1 else (0, arr.shape[-1] if arr.ndim == 2
                                                          else 0), dtype=np.int64)
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{name}[{', '.join(map(str, idx))}]: expected a finite "
                             f"integer, got {arr[idx]!r}")
        if np.abs(arr).max() >= 2.0 ** 62:
            raise ValueError(f"{name}: values too large")
    neg = arr < 0
    if neg.any():
        idx = tuple(int(i) for i in np.argwhere(neg)[0])
        raise ValueError(f"{name}[{', '.join(map(str, idx))}]: sizes must be "
                         f"non-negative, got {arr[idx]!r}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_totals(sizes: np.ndarray, name: str = "sizes") -> None:
    """Reject sizes whose total (per column) would overflow int64 arithmetic."""
    if sizes.size and (np.abs(sizes.sum(axis=0, dtype=np.float64)) >= 2.0 ** 62).any():
        raise ValueError(f"{name}: the sizes add up to more than 2**62; scale them down")


def validate_capacity(capacity: Any) -> int:
    if isinstance(capacity, (bool, np.bool_)):
        raise TypeError("capacity: expected a positive integer, got a bool")
    try:
        c = float(capacity)
    except (TypeError, ValueError):
        raise TypeError(f"capacity: expected a positive integer, got {capacity!r}") from None
    if not math.isfinite(c) or c != int(c) or c <= 0:
        raise ValueError(f"capacity: expected a positive integer, got {capacity!r}")
    return int(capacity)


def validate_run(time_limit: Any, workers: Any) -> tuple[float, int]:
    tl = float(time_limit)
    if not math.isfinite(tl) or tl <= 0:
        raise ValueError(f"time_limit: expected a positive number of seconds, got {time_limit!r}")
    if workers is None:
        workers = default_workers()
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers!r}")
    return tl, int(workers)
