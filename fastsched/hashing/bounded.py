"""Bounded loads: the outcome of :meth:`~.ring.HashRing.assign`.

The assignment itself (Mirrokni, Thorup and Zadimoghaddam: each key goes to the
first node clockwise that still has room) walks the ring in
``_kernels/hashring.pyx``; this module holds its result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .nodes import _names_of

__all__ = ["BoundedLoads"]


@dataclass(frozen=True, eq=False)
class BoundedLoads:
    """The outcome of :meth:`HashRing.assign`: each key's node under a load cap.

    ``nodes[i]`` is key i's node (an index into ``names``); ``loads[j]`` the keys
    node j received and ``capacity[j]`` its cap, ``ceil(load_factor * keys *
    w_j / sum(w))`` (``ceil(load_factor * keys / nodes)`` at equal weights, at most
    2**62);
    ``moved`` counts the keys that did not get their first choice on the ring.
    """

    nodes: np.ndarray
    names: tuple[str, ...]
    loads: np.ndarray
    capacity: np.ndarray
    moved: int
    load_factor: float

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def moved_fraction(self) -> float:
        """The fraction of keys that left their first choice."""
        return self.moved / len(self.nodes) if len(self.nodes) else 0.0

    def node_names(self) -> np.ndarray:
        """Each key's node name (an object array)."""
        return _names_of(self.names, self.nodes)
