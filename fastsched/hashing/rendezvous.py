"""Rendezvous (highest random weight) hashing: :class:`Rendezvous`, weighted by
the ``-w / ln(u)`` rule."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .._kernels import hashpick as _pick
from .keys import _HASH, _MODES, _NORM, _one_key
from .nodes import _check_count, _check_nodes, _Named

__all__ = ["Rendezvous"]


class Rendezvous(_Named):
    """Rendezvous (highest random weight) hashing: every node scores every key,
    the best score wins. O(nodes) per lookup, no state beyond the node hashes.

    Node j's score for key k is ``x = fmix64(fast_hash(k) ^ h_j)``, ``h_j`` being
    the second half of MurmurHash3 x64_128 of the node's name. Unweighted, the
    largest x wins; with ``weights``, the smallest ``-ln(u) / w_j`` for ``u`` the
    top 53 bits of x as a fraction in (0, 1) -- the same as the largest
    ``-w_j / ln(u)`` (Schindelhauer and Schomaker's logarithmic method), so node j
    wins a share ``w_j / sum(w)`` of the keys, and changing one weight moves keys
    only to or from that node. Ties go to the node listed first.
    """

    def __init__(self, nodes: Iterable[str] | Mapping[str, float], weights: Any = None) -> None:
        names, weights_ = _check_nodes(nodes, weights, integer=False)
        self._set(names, weights_)

    def _set(self, names: list[str], weights: list[float]) -> None:
        self._set_nodes(names, weights)
        halves = np.empty(len(names), np.uint64)
        first = np.empty(len(names), np.uint64)
        _pick.hash_keys(names, _HASH["fast"], _NORM["raw"], first, halves)
        self._node_hash = halves
        equal = all(w == weights[0] for w in weights)
        self._inv_weight = None if equal else 1.0 / np.array(weights, np.float64)

    def __repr__(self) -> str:
        return f"Rendezvous({len(self._names)} nodes)"

    def _lookup(self, hashes: np.ndarray) -> np.ndarray:
        out = np.empty(len(hashes), np.int32)
        _pick.rendezvous(hashes, self._node_hash, self._inv_weight, out)
        return out

    def get_nodes_n(self, key: str | bytes | int, n: int) -> list[str]:
        """The ``n`` best nodes for a key, best first (replicas)."""
        n = _check_count(n, "n", len(self._names))
        out = np.empty((1, n), np.int32)
        _pick.rendezvous_top(_one_key(key, _MODES["fast"])[0], self._node_hash,
                             self._inv_weight, out)
        return [self._names[j] for j in out[0].tolist()]
