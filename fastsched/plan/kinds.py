"""Pods that a plan may treat as one kind: equal in everything placement reads, names
aside.

:func:`~fastsched.model.pod.family` groups replicas of one template by identity, but
pods read one by one from a snapshot are each a family of their own. Planning groups
them by what the filters and topology constraints look at, so that a ReplicaSet's
hundred pods are one kind with a count, and any of them may take another's place.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model.pod import Pod

__all__ = ["kind_key", "kinds"]

# everything a filter, a topology constraint or the queue reads from a pod
_FIELDS = ("namespace", "labels", "requests", "node_selector", "node_affinity",
           "pod_affinity", "pod_anti_affinity", "tolerations", "topology_spread_constraints",
           "owner_selector", "host_ports", "scheduler_name", "priority", "node_name")


def kind_key(pod: Pod) -> tuple:
    """A hashable key equal for pods that differ only in what placement never reads."""
    return tuple(getattr(pod, f) for f in _FIELDS)


def kinds(pods: Iterable[Pod]) -> list[list[Pod]]:
    """The pods grouped by :func:`kind_key`, groups in order of first appearance."""
    out: dict[tuple, list[Pod]] = {}
    for pod in pods:
        out.setdefault(kind_key(pod), []).append(pod)
    return list(out.values())
