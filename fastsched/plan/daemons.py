"""DaemonSets in planning: the pods a DaemonSet would run on a node that does not
exist yet, and the room they take from a catalog's types.

The manifests hold a DaemonSet's pods, not always the DaemonSet: one running pod
per DaemonSet is the template (its node pin, a ``metadata.name`` field term the
controller adds, is replaced by the new node's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..kube.manifests import Manifests
from ..model.labels import NodeSelectorRequirement, NodeSelectorTerm
from ..model.pod import NodeAffinity, Pod, replica_name
from ..model.taints import tolerated
from .catalog import Catalog

__all__ = ["daemon_templates", "daemon_pods", "with_daemons"]


def daemon_templates(m: Manifests) -> dict[str, Pod]:
    """One running pod per DaemonSet: what a new node's copy is made from."""
    out: dict[str, Pod] = {}
    for pod in m.bound:
        owner = m.owner(pod)
        if owner.startswith("DaemonSet/") and owner not in out:
            out[owner] = pod
    return out


def with_daemons(catalog: Catalog, daemons: Mapping[str, Pod]) -> Catalog:
    """The catalog with each type's allocatable less the requests of the DaemonSet pods
    a new node of that type would run, so that provisioned nodes leave them room."""
    types = []
    for t in catalog:
        alloc = dict(t.allocatable)
        labels = t.node_labels()
        for _, pod in daemon_pods(daemons, "probe", labels, t.taints):
            for r, v in (*pod.requests.items(), ("pods", 1)):
                alloc[r] = max(0, alloc.get(r, 0) - v)
        types.append(replace(t, allocatable=alloc) if alloc != dict(t.allocatable) else t)
    return Catalog(types, catalog.source)


def daemon_pods(daemons: Mapping[str, Pod], node: str, labels: Mapping[str, str],
                 taints: Sequence[Any]) -> list[tuple[str, Pod]]:
    """The DaemonSet pods the controller would create for a new node: those whose node
    affinity (without the pin to their own node) admits it and whose tolerations
    cover its NoSchedule and NoExecute taints, pinned to it as the controller pins
    them (a ``metadata.name`` field term); each with its DaemonSet's key."""
    out = []
    pin = NodeSelectorRequirement("metadata.name", "In", (node,))
    for owner, pod in daemons.items():
        terms = pod.node_affinity.required if pod.node_affinity else None
        if terms:
            free = [NodeSelectorTerm(t.match_expressions,
                                     tuple(f for f in t.match_fields if f.key != "metadata.name"))
                    for t in terms]
            if not any(all(r.matches(labels) for r in t.match_expressions) for t in free):
                continue
            pinned = tuple(NodeSelectorTerm(t.match_expressions, (pin,)) for t in free)
        else:
            pinned = (NodeSelectorTerm((), (pin,)),)
        if not all(tolerated(t, pod.tolerations) for t in taints
                   if getattr(t, "effect", "") in ("NoSchedule", "NoExecute")):
            continue
        if any(labels.get(k) != v for k, v in pod.node_selector.items()):
            continue
        affinity = NodeAffinity(pinned, pod.node_affinity.preferred if pod.node_affinity
                                else ())
        name = replica_name(owner.rsplit("/", 1)[1], f"-{node}")
        out.append((owner, pod.replica(name, node_name="", nominated_node_name="",
                                       node_affinity=affinity)))
    return out
