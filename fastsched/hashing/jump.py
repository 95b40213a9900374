"""Jump consistent hash (Lamping and Veach, 2014): :func:`jump_hash`, bit-exact
with the ``jump-consistent-hash`` package."""

from __future__ import annotations

import numbers
from typing import Any, overload

import numpy as np

from .._kernels import hashpick as _pick
from .keys import _HASH, _NORM, _hash_list, _key_input
from .nodes import _check_count

__all__ = ["jump_hash"]

MAX_BUCKETS = 2**31 - 1       # jump: int32 buckets, as the paper and jump-consistent-hash


# Typed as jump.hash (``int`` in, ``int`` out) for one key, an array for many.
@overload
def jump_hash(keys: int | np.integer | str | bytes, num_buckets: int) -> int: ...
@overload
def jump_hash(keys: np.ndarray | list[Any] | tuple[Any, ...], num_buckets: int) -> np.ndarray: ...


def jump_hash(keys: Any, num_buckets: int) -> int | np.ndarray:
    """Jump consistent hash (Lamping and Veach, 2014): the bucket in
    ``[0, num_buckets)`` of each key.

    An int key is used modulo 2**64, exactly as the paper and the
    ``jump-consistent-hash`` package (``jump.hash``) do; a str or bytes key goes
    through :func:`fast_hash` first. ``keys`` is one key (returns an int), a
    sequence of keys, or an integer NumPy array (signed values taken modulo 2**64);
    both return an ``int32`` array. ``1 <= num_buckets <= 2**31 - 1``.
    """
    if type(num_buckets) is int and 1 <= num_buckets <= MAX_BUCKETS and type(keys) in (int, str):
        bucket = _pick.jump_key(keys, num_buckets)       # the common scalar case, quickly
        if bucket >= 0:
            return bucket
    buckets = _check_count(num_buckets, "num_buckets", MAX_BUCKETS)
    scalar = (isinstance(keys, (str, bytes, numbers.Integral))
              and not isinstance(keys, (bool, np.bool_)))
    if isinstance(keys, np.ndarray) and keys.ndim == 1 and keys.dtype.kind in "iu":
        values = np.ascontiguousarray(keys.astype(np.int64, copy=False).view(np.uint64)
                                      if keys.dtype.kind == "i"
                                      else keys.astype(np.uint64, copy=False))
    else:
        seq = [keys] if scalar else _key_input(keys, "keys")
        if isinstance(seq, np.ndarray):
            values = seq
        else:
            values = _hash_list(seq, _HASH["fast"], _NORM["int"], False,
                                "key" if scalar else "keys", single=scalar)[0]
    out = np.empty(len(values), np.int32)
    _pick.jump(values, buckets, out)
    return int(out[0]) if scalar else out
