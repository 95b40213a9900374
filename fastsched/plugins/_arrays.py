"""Array helpers for compile steps: the kernel reads C-contiguous arrays of exact
dtypes, never empty (a placeholder element stands for "none")."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["i64", "u8", "stack"]


def i64(values: Any) -> np.ndarray:
    out = np.ascontiguousarray(values, np.int64).reshape(-1)
    return out if out.size else np.zeros(1, np.int64)


def u8(values: Any) -> np.ndarray:
    out = np.ascontiguousarray(values, np.uint8).reshape(-1)
    return out if out.size else np.zeros(1, np.uint8)


def stack(rows: list[np.ndarray], empty_shape: tuple[int, int], dtype: Any) -> np.ndarray:
    if not rows:
        return np.zeros(empty_shape, dtype)
    return np.ascontiguousarray(np.stack(rows), dtype)
