"""The engine's view of a cluster: its live columns and indexes, read-only by contract.

The scheduler, preemption, the topology compiler, the batch solver and the
replicated state machine read a :class:`~fastsched.Cluster` through
``cluster.columns`` instead of its private fields, so the cluster can change its
storage without them noticing. The arrays are the cluster's own (no copy: the
placement kernel's commit adds requests to ``req`` in place, then calls
``Cluster.record_placements``); nothing else writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..model.pod import Pod
from .podstore import PodStore

__all__ = ["ClusterColumns"]


class ClusterColumns:
    """Live columns of one cluster, sliced to its ``n`` nodes.

    ``alloc``/``req``: ``int64[n, resources]`` allocatable and requested;
    ``nonzero``: ``int64[n, 2]`` cpu and memory requested with the scoring
    defaults; ``rows``: node name → row; ``version``: bumped whenever a node column
    other than the requested ones changes (a key for caches of per-node rows).
    """

    __slots__ = ("_c",)

    def __init__(self, cluster: Any) -> None:      # a Cluster (which imports this module)
        self._c = cluster

    def __repr__(self) -> str:
        return f"ClusterColumns({self.n} nodes, version {self.version})"

    @property
    def n(self) -> int:
        return self._c._n

    @property
    def alloc(self) -> np.ndarray:
        return self._c._alloc[: self._c._n]

    @property
    def req(self) -> np.ndarray:
        return self._c._req[: self._c._n]

    @property
    def nonzero(self) -> np.ndarray:
        return self._c._nonzero[: self._c._n]

    @property
    def rows(self) -> Mapping[str, int]:
        return self._c._rows

    @property
    def version(self) -> int:
        return self._c._version

    @property
    def epoch(self) -> int:
        """A counter of changes to the requested columns (see ``changed_since``)."""
        return self._c._epoch

    def changed_since(self, epoch: int) -> np.ndarray | None:
        """Node rows whose requests changed after ``epoch`` (``int64``, repeats
        possible), or None when that is too far back to say."""
        return self._c._changed_since(epoch)

    def name_array(self) -> np.ndarray:
        """Node names as an object array with None appended (index -1: no node),
        cached until nodes are added or removed."""
        return self._c._name_array()

    def inverse_allocatable(self) -> np.ndarray:
        """``1 / allocatable`` as float64 (0 where it is 0), cached per version."""
        return self._c._inverse_allocatable()

    def small_allocatable(self) -> bool:
        """Whether every allocatable cpu and memory is below 2^46 (the kernels' exact
        float paths need it), cached per version."""
        return self._c._small_allocatable()

    # -- bound pods ----------------------------------------------------------------

    @property
    def store(self) -> PodStore:
        """Bound pods as columns (node, template, start order; per template labels,
        namespace, priority, requests)."""
        return self._c._store

    def slot(self, pod: Pod | str) -> int:
        """The store slot of a bound pod (PodNotFoundError if it is not bound)."""
        return self._c._slot(pod)

    def is_bound(self, key: str) -> bool:
        """Whether a pod ``namespace/name`` is bound."""
        return self._c._store.lookup(key) >= 0

    def started(self, pod: Pod | str) -> int:
        """A bound pod's start order (binding sequence number)."""
        return int(self._c._store.seq[self.slot(pod)])

    def ported_pods(self) -> list[tuple[int, int, tuple]]:
        """Bound pods with host ports: ``(slot, node row, ports)``."""
        store = self._c._store
        slots, tids, rows = self._flagged(store.t_ported, store.ported_live)
        ports = store.t_ports
        return [(s, r, ports[t]) for s, t, r in zip(slots, tids, rows)]

    def affine_pods(self) -> list[tuple[Pod, int]]:
        """Bound pods with pod affinity or anti-affinity terms: ``(pod, node row)``,
        the pod being one of its family (the same terms, labels and namespace)."""
        store = self._c._store
        _, tids, rows = self._flagged(store.t_affine, store.affine_live)
        tmpl = store.tmpl
        return [(tmpl[t], r) for t, r in zip(tids, rows)]

    def _flagged(self, flags: np.ndarray, live_count: int) -> tuple[list, list, list]:
        """Slots, templates and node rows of the bound pods whose template has a flag."""
        if not live_count:
            return [], [], []
        store = self._c._store
        live = store.live()
        live = live[flags[store.tid[live]]]
        return live.tolist(), store.tid[live].tolist(), store.node[live].tolist()
