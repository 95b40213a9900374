"""Maglev hashing (Eisenbud et al., NSDI 2016): :class:`Maglev`'s lookup table,
and :func:`is_prime` for its size."""

from __future__ import annotations

import numbers
import operator
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .._kernels import hashpick as _pick
from ..errors import ValidationError
from .keys import _HASH, _NORM
from .nodes import _check_nodes, _Named, _readonly

__all__ = ["Maglev", "is_prime"]

MAX_TABLE_SIZE = 2**31 - 1    # Maglev: int32 slots


def is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin, exact for every n below 3.3 * 10**24."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


class Maglev(_Named):
    """Maglev hashing (Eisenbud et al., NSDI 2016): a lookup table of
    ``table_size`` slots filled by the nodes in turn, each following its own
    permutation of the slots; a key's node is ``table[hash(key) % table_size]``.

    Node j's permutation is ``(offset + t * skip) mod M`` with ``offset = h1 mod M``
    and ``skip = h2 mod (M - 1) + 1``, ``h1, h2`` the two halves of MurmurHash3
    x64_128 of its name. ``table_size`` M must be a prime larger than the number of
    nodes; the paper suggests ``M > 100 * nodes`` for shares within 1%. Unweighted,
    every node gets ``M // N`` or ``M // N + 1`` slots. With ``weights``, node j
    takes a turn in round r when it holds fewer than ``r * w_j / max(w)`` slots
    (and always in round 1, so every node gets one). Every change rebuilds the
    table: keys of surviving nodes can move too (the paper's "disruption").
    """

    def __init__(self, nodes: Iterable[str] | Mapping[str, float], table_size: int = 65537,
                 weights: Any = None) -> None:
        names, weights_ = _check_nodes(nodes, weights, integer=False)
        if isinstance(table_size, (bool, np.bool_)) or not isinstance(table_size, numbers.Integral):
            raise ValidationError(f"expected a prime int, got {table_size!r}", "table_size")
        table_size = operator.index(table_size)
        if not is_prime(table_size):
            raise ValidationError(f"must be a prime (for example 65537 or 655373), got "
                                  f"{table_size}", "table_size")
        if table_size > MAX_TABLE_SIZE:
            raise ValidationError(f"must be at most {MAX_TABLE_SIZE}, got {table_size}",
                                  "table_size")
        self._m: int = table_size
        self._set(names, weights_)

    @property
    def table_size(self) -> int:
        return self._m

    @property
    def table(self) -> np.ndarray:
        """The lookup table: ``int32`` node index per slot (read-only)."""
        return _readonly(self._table)

    @property
    def shares(self) -> np.ndarray:
        """Slots per node (``int64``)."""
        return _readonly(self._taken)

    def __repr__(self) -> str:
        return f"Maglev({len(self._names)} nodes, table_size={self._m})"

    def _set(self, names: list[str], weights: list[float]) -> None:
        if len(names) >= self._m:
            raise ValidationError(f"must be larger than the number of nodes ({len(names)}), "
                                  f"got {self._m}", "table_size")
        h1 = np.empty(len(names), np.uint64)
        h2 = np.empty(len(names), np.uint64)
        _pick.hash_keys(names, _HASH["fast"], _NORM["raw"], h1, h2)
        m = np.uint64(self._m)
        offset = h1 % m
        skip = h2 % (m - np.uint64(1)) + np.uint64(1)
        equal = all(w == weights[0] for w in weights)
        table = np.empty(self._m, np.int32)
        taken = np.empty(len(names), np.int64)
        _pick.maglev_populate(offset, skip, None if equal else np.array(weights, np.float64),
                              table, taken)
        self._set_nodes(names, weights)
        self._table, self._taken = table, taken

    def _lookup(self, hashes: np.ndarray) -> np.ndarray:
        out = np.empty(len(hashes), np.int32)
        _pick.maglev_lookup(hashes, self._table, out)
        return out

    def _lookup_one(self, hashed: int) -> int:
        return int(self._table[hashed % self._m])
