"""Checking the input of the bin-packing entry points: item sizes, capacities, the
time limit, the number of workers and the memory budget (and their defaults).

Every check raises ``ValidationError`` (a ``ValueError``) naming the offending
value in ``field``: ``sizes``, ``sizes[3]``, ``capacity``, ``time_limit``...
Capacities are at most ``MAX_CAPACITY`` (2**62) and the sizes of one dimension
add up to less than 2**62, so no load or residual the kernels keep in int64
can wrap.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...errors import ValidationError

__all__ = ["validate_sizes", "check_totals", "validate_capacity", "validate_run",
           "validate_memory", "default_workers", "MAX_CAPACITY", "DEFAULT_MAX_MEMORY"]

# Largest capacity: a load plus one more item (both <= capacity) stays below 2**63.
MAX_CAPACITY = 2 ** 62
# Default memory budget of one solve (bytes), for the phases that size their
# tables by it; ``max_memory`` overrides it.
DEFAULT_MAX_MEMORY = 2 * 2 ** 30
# Least budget accepted: what the greedy phase of a small instance needs.
_MIN_MEMORY = 2 ** 20


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
            idx = tuple(int(i) for i in np.argwhere(np.abs(arr) >= 2.0 ** 62)[0])
            raise ValidationError(f"expected at most 2**62, got {float(arr[idx])!r}",
                                  f"{name}[{', '.join(map(str, idx))}]")
    elif arr.dtype.kind == "u" and arr.max() >= 2 ** 62:
        # uint64 (e.g. 2**63 in a list) would wrap when cast to int64
        idx = tuple(int(i) for i in np.argwhere(arr >= 2 ** 62)[0])
        raise ValidationError(f"expected at most 2**62, got {arr[idx]!r}",
                              f"{name}[{', '.join(map(str, idx))}]")
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


def validate_capacity(capacity: Any, name: str = "capacity") -> int:
    """A positive integer (an int, a NumPy integer or an integral float) of at
    most ``MAX_CAPACITY``; strings, bools and anything else are refused rather
    than converted."""
    if isinstance(capacity, (bool, np.bool_)):
        raise ValidationError("expected a positive integer, got a bool", name)
    if isinstance(capacity, (int, np.integer)):
        c = int(capacity)
    elif isinstance(capacity, (float, np.floating)):
        if not math.isfinite(capacity) or capacity != int(capacity):
            raise ValidationError(f"expected a positive integer, got {capacity!r}", name)
        c = int(capacity)
    else:
        raise ValidationError(f"expected a positive integer, got {type(capacity).__name__} "
                              f"{capacity!r}", name)
    if c <= 0:
        raise ValidationError(f"expected a positive integer, got {capacity!r}", name)
    if c > MAX_CAPACITY:
        raise ValidationError(f"expected at most 2**62, got {capacity!r}", name)
    return c


def validate_memory(max_memory: Any, items: int, per_item: int) -> int:
    """The memory budget in bytes: a positive integer, at least 1 MiB and at
    least ``per_item`` bytes for each of ``items`` items (what the greedy
    phase needs whatever else is skipped)."""
    if max_memory is None:
        max_memory = DEFAULT_MAX_MEMORY
    if isinstance(max_memory, (bool, np.bool_)) or not isinstance(max_memory, (int, np.integer)):
        raise ValidationError(f"expected a number of bytes, got {max_memory!r}", "max_memory")
    budget = int(max_memory)
    need = max(_MIN_MEMORY, items * per_item)
    if budget < need:
        raise ValidationError(f"{items} items need at least {need} bytes, got {budget}",
                              "max_memory")
    return budget


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


class Reporter:
    """A solver's ``progress(incumbent, bound)`` callback, called only on a change
    (the live line of ``fastsched binpack`` draws it); a no-op for None."""

    def __init__(self, progress: Any) -> None:
        if progress is not None and not callable(progress):
            raise ValidationError(f"expected a callable or None, got "
                                  f"{type(progress).__name__}", "progress")
        self.progress = progress
        self.last: tuple[int, int] | None = None

    def __call__(self, incumbent: int, bound: int) -> None:
        now = (int(incumbent), int(bound))
        if self.progress is not None and now != self.last:
            self.last = now
            self.progress(*now)
