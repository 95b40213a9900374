"""Checking the input of the bin-packing entry points: item sizes, capacities, the
time limit and the number of workers (and the default number of workers).

Every check raises ``ValidationError`` (a ``ValueError``) naming the offending
value in ``field``: ``sizes``, ``sizes[3]``, ``capacity``, ``time_limit``...
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...errors import ValidationError

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
        raise ValidationError(f"expected an array of integers ({exc})", name) from None
    if arr.ndim != ndim and not (arr.size == 0 and ndim == 2 and arr.ndim in (1, 2)):
        raise ValidationError(f"expected a {ndim}-D array, got shape {arr.shape}", name)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)
                                 or arr.dtype == object and arr.size == 0):
        raise ValidationError(f"expected integers, got dtype {arr.dtype}", name)
    if arr.size == 0:
        return np.zeros((0,) * ndim if ndim == 1 else (0, arr.shape[-1] if arr.ndim == 2
                                                          else 0), dtype=np.int64)
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValidationError(f"expected a finite integer, got {arr[idx]!r}",
                                  f"{name}[{', '.join(map(str, idx))}]")
        if np.abs(arr).max() >= 2.0 ** 62:
            raise ValidationError("values too large", name)
    neg = arr < 0
    if neg.any():
        idx = tuple(int(i) for i in np.argwhere(neg)[0])
        raise ValidationError(f"sizes must be non-negative, got {arr[idx]!r}",
                              f"{name}[{', '.join(map(str, idx))}]")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_totals(sizes: np.ndarray, name: str = "sizes") -> None:
    """Reject sizes whose total (per column) would overflow int64 arithmetic."""
    if sizes.size and (np.abs(sizes.sum(axis=0, dtype=np.float64)) >= 2.0 ** 62).any():
        raise ValidationError("the sizes add up to more than 2**62; scale them down", name)


def validate_capacity(capacity: Any) -> int:
    if isinstance(capacity, (bool, np.bool_)):
        raise ValidationError("expected a positive integer, got a bool", "capacity")
    try:
        c = float(capacity)
    except (TypeError, ValueError):
        raise ValidationError(f"expected a positive integer, got {capacity!r}",
                              "capacity") from None
    if not math.isfinite(c) or c != int(c) or c <= 0:
        raise ValidationError(f"expected a positive integer, got {capacity!r}", "capacity")
    return int(capacity)


def validate_run(time_limit: Any, workers: Any) -> tuple[float, int]:
    # float()/int() of a non-number raise TypeError or ValueError: the same report
    try:
        tl = float(time_limit)
    except (TypeError, ValueError):
        tl = math.nan
    if not math.isfinite(tl) or tl <= 0:
        raise ValidationError(f"expected a positive number of seconds, got {time_limit!r}",
                              "time_limit")
    if workers is None:
        workers = default_workers()
    try:
        bad = isinstance(workers, bool) or int(workers) != workers or workers < 1
    except (TypeError, ValueError):
        bad = True
    if bad:
        raise ValidationError(f"expected a positive integer, got {workers!r}", "workers")
    return tl, int(workers)
