"""``BatchResult``: the outcome of ``solve_batch``, and ``apply`` to bind its plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...cluster.cluster import Cluster
from ...errors import DoesNotFitError, DuplicateError, ValidationError
from ...model.pod import Pod
from ..status import Status
from .options import BatchOptions


@dataclass(frozen=True, eq=False)
class BatchResult:
    """The outcome of ``solve_batch``.

    ``status`` is OPTIMAL only when proved (both levels of a lexicographic
    objective), FEASIBLE for a plan without proof, INFEASIBLE when no plan exists,
    UNKNOWN when none was found in time. ``pods`` are the batch's pods (replicas of a
    repeated template named ``<name>-<position>``) and ``nodes`` their nodes
    (None: not placed), aligned with the input. ``objective_value`` is in the
    objective's terms (weighted pods placed, nodes in use, or peak utilization in
    permille) and ``best_bound`` is the better of CP-SAT's bound and fastsched's own
    (an upper bound for max_placed, a lower bound otherwise; for the second level of
    a lexicographic objective it holds among plans placing at least
    ``placed_weight``); ``gap`` is ``|value - bound| / max(1, |value|)`` (``status.gap``).
    """

    status: Status
    objective: str
    pods: tuple[Pod, ...]
    nodes: tuple[str | None, ...]
    objective_value: int | None
    best_bound: int | None
    gap: float | None
    placed: int
    placed_weight: int
    placed_bound: int
    nodes_before: int
    nodes_after: int
    wall_time: float
    workers: int
    options: BatchOptions
    stats: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Counts, not the pods: a batch can hold hundreds of thousands.
        gap = "-" if self.gap is None else f"{self.gap:.2%}"
        return (f"BatchResult({self.status.value}, {self.objective}: "
                f"{self.placed}/{len(self.pods)} placed, nodes {self.nodes_before} -> "
                f"{self.nodes_after}, value {self.objective_value}, bound {self.best_bound}, "
                f"gap {gap}, {self.wall_time:.2f} s)")

    @property
    def assignment(self) -> dict[str, str | None]:
        """Pod key → node name (None where not placed)."""
        return {pod.key: node for pod, node in zip(self.pods, self.nodes)}

    @property
    def bindings(self) -> list[tuple[Pod, str]]:
        """``(pod, node)`` for every placed pod, in input order."""
        return [(pod, node) for pod, node in zip(self.pods, self.nodes) if node is not None]

    @property
    def unplaced(self) -> tuple[Pod, ...]:
        return tuple(pod for pod, node in zip(self.pods, self.nodes) if node is None)

    def apply(self, cluster: Cluster) -> int:
        """Bind every placed pod, all or nothing; returns how many were bound.

        Everything is checked first (nodes exist, pods are not bound yet, the
        requests of all the pods a node receives fit its free room together); if a
        check fails, or a bind fails anyway, the pods already bound are unbound and
        the error is raised, so the cluster is unchanged.
        """
        if not isinstance(cluster, Cluster):
            raise ValidationError(f"expected a Cluster, got {type(cluster).__name__}",
                                  "cluster")
        pairs = self.bindings
        bound = cluster.pods
        per_node: dict[str, list[Pod]] = {}
        for pod, node in pairs:
            cluster.row(node)                       # NodeNotFoundError if it went away
            if pod.key in bound:
                raise DuplicateError(f"pod {pod.key} is already bound to a node", "pods")
            per_node.setdefault(node, []).append(pod)
        for node, pods in per_node.items():
            row = cluster.row(node)
            free = cluster.allocatable[row] - cluster.requested[row]
            need = np.zeros(len(cluster.resources), np.int64)
            for pod in pods:
                missing = cluster.missing_resources(pod)
                if missing:
                    raise DoesNotFitError(f"pod {pod.key}: no node offers {missing[0]}",
                                          (f"Insufficient {missing[0]}",))
                need += cluster.request_vector(pod)
            short = [r for r, want, have in zip(cluster.resources, need.tolist(),
                                                free.tolist()) if want > 0 and want > have]
            if short:
                raise DoesNotFitError(
                    f"the {len(pods)} pods planned for node {node!r} no longer fit: "
                    + ", ".join(f"Insufficient {r}" for r in short),
                    tuple(f"Insufficient {r}" for r in short))
        done: list[Pod] = []
        try:
            for pod, node in pairs:
                cluster.bind(pod, node)
                done.append(pod)
        except BaseException:
            for pod in reversed(done):
                cluster.unbind(pod)
            raise
        return len(done)
