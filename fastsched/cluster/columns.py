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
from .podtable import PodTable

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

    def inverse_allocatable(self) -> np.ndarray:
        """``1 / allocatable`` as float64 (0 where it is 0), cached per version."""
        return self._c._inverse_allocatable()

    def small_allocatable(self) -> bool:
        """Whether every allocatable cpu and memory is below 2^46 (the kernels' exact
        float paths need it), cached per version."""
        return self._c._small_allocatable()

    # -- bound pods ----------------------------------------------------------------

    @property
    def pod_table(self) -> PodTable:
        """Bound pods as columns (labels, namespace, node, priority, start, requests)."""
        return self._c._podtab

    @property
    def bound(self) -> Mapping[str, tuple[Pod, str]]:
        """Every bound pod: key → (pod, node name)."""
        return self._c._pods

    @property
    def pods_by_node(self) -> Mapping[str, Mapping[str, Pod]]:
        """Node name → {pod key: pod}."""
        return self._c._pods_by_node

    def slot(self, pod: Pod) -> int:
        """The pod table row of a bound pod."""
        self._c._pods        # placements recorded in bulk get their slots here
        return self._c._pod_slot[pod.key]

    def started(self, pod: Pod) -> int:
        """A bound pod's start order (binding sequence number)."""
        return int(self._c._podtab.seq[self.slot(pod)])

    def ported_pods(self) -> Mapping[str, tuple[str, tuple]]:
        """Bound pods with host ports: key → (node, ports)."""
        return self._c._ported_pods()

    def affine_pods(self) -> Mapping[str, tuple[Pod, str]]:
        """Bound pods with pod affinity or anti-affinity terms: key → (pod, node)."""
        return self._c._affine_pods()
