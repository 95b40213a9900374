"""Values read off a cluster: one node decoded, and a whole-cluster snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .._validation import FrozenMap
from ..model.pod import Pod
from ..model.taints import Taint

__all__ = ["NodeInfo", "ClusterSnapshot"]


@dataclass(frozen=True)
class NodeInfo:
    """One node, decoded from the columns (for reading, not for hot paths)."""

    name: str
    allocatable: Mapping[str, int]
    requested: Mapping[str, int]
    labels: Mapping[str, str]
    taints: tuple[Taint, ...]
    unschedulable: bool
    pods: tuple[Pod, ...]
    images: Mapping[str, int] = FrozenMap()


@dataclass(frozen=True, eq=False)
class ClusterSnapshot:
    """A copy of a cluster's state at one moment; snapshots compare by value."""

    node_names: tuple[str, ...]
    resources: tuple[str, ...]
    allocatable: np.ndarray
    requested: np.ndarray
    nonzero_requested: np.ndarray
    unschedulable: np.ndarray
    labels: tuple[Mapping[str, str], ...]
    taints: tuple[tuple[Taint, ...], ...]
    pods: Mapping[str, str]
    images: tuple[Mapping[str, int], ...] = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClusterSnapshot):
            return NotImplemented
        return (self.node_names == other.node_names and self.resources == other.resources
                and all(np.array_equal(getattr(self, a), getattr(other, a)) for a in
                        ("allocatable", "requested", "nonzero_requested", "unschedulable"))
                and self.labels == other.labels and self.taints == other.taints
                and self.pods == other.pods and self.images == other.images)

    __hash__ = None  # type: ignore[assignment]
