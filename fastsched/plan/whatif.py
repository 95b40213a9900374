"""What-if: edits to a loaded cluster as a user means them, then kube-scheduler's
answer, and the cheapest nodes to add when something does not fit.

:func:`whatif` takes manifests (what :func:`~fastsched.kube.load_manifests` reads,
or its :class:`~fastsched.kube.Manifests`) and edits, applied in this order to a
copy (the manifests are never changed):

* ``remove_nodes``: nodes (names, or kubectl label selectors such as
  ``topology.kubernetes.io/zone=eu-west-1b``) leave the cluster. Their DaemonSet
  and static pods go with them; pods of a controller (ReplicaSet, StatefulSet, Job,
  ...) become pending again, as their controller recreates them; pods without a
  controller are lost (nothing recreates them).
* ``drain``: as ``kubectl drain --ignore-daemonsets --force``: the nodes are
  cordoned, their pods evicted (pending again or lost, as above) except DaemonSet
  and static pods, which stay.
* ``scale``: ``{"NAMESPACE/NAME": replicas}`` for a Deployment, ReplicaSet,
  StatefulSet, ReplicationController or Job of the manifests (a Deployment is found
  through the ReplicaSets it owns). New replicas copy a pod of the workload without
  its node; fewer replicas remove pending pods first, then the newest.
* ``add_nodes``: ``{"TEMPLATE": count}``: a catalog type (``TYPE`` spreads the nodes
  over the type's zones in turn, ``TYPE@ZONE`` puts them in one), or an existing node
  (its allocatable, labels and taints: "10 more like worker-a"). New nodes are named
  ``<template>-<k>`` and get the pods of the DaemonSets that would run there.

The pending pods then go through the scheduling queue (priority, then creation
time; each by the profile its ``schedulerName`` names; preemption unless
``preempt=False``). With a ``catalog``, pods that still do not fit are given to
:func:`~fastsched.plan.provision.provision`: the cheapest new nodes that hold them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..cluster.cluster import Cluster
from ..errors import ValidationError
from ..kube.manifests import Manifests, load_manifests
from ..model.labels import parse_label_selector
from ..model.pod import Pod, replica_name
from ..profile.profile import Profile
from ..scheduler.queue import QueueResult
from ..scheduler.scheduler import Scheduler, Unschedulable
from .catalog import Catalog
from .daemons import daemon_pods, daemon_templates, with_daemons
from .provision import ProvisionPlan, provision

__all__ = ["WhatIf", "whatif", "utilization", "TYPE_LABEL", "HOURS_PER_MONTH"]

TYPE_LABEL = "node.kubernetes.io/instance-type"
HOURS_PER_MONTH = 730                     # the cloud providers' billing month
_SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController", "Job")
_STAY = ("DaemonSet", "Node")             # controllers of pods that live with their node
_SHOWN = ("cpu", "memory", "pods", "nvidia.com/gpu")


@dataclass(frozen=True, repr=False, eq=False)
class WhatIf:
    """The answer of :func:`whatif`.

    ``fits``: every pending pod of ours was placed, none was evicted by preemption and
    none was lost. ``cluster``: the cluster after the edits and the scheduling;
    ``result``: the queue's outcomes; ``unschedulable``: pod key -> kube-scheduler's
    message; ``lost``: pods the edits delete for good -> why; ``gone``: DaemonSet and
    static pods that left with their node; ``evicted``: pods the edits made pending
    again; ``added``/``removed``/``drained``: node names; ``scaled``: workload ->
    (replicas before, after); ``before``/``after``: :func:`utilization` summaries;
    ``provision``: the plan for what did not fit (with a catalog), else None;
    ``state``: the manifests after (this cluster, the pods still pending, every
    pod's controller), for another what-if or :func:`~fastsched.consolidate`."""

    fits: bool
    cluster: Cluster
    result: QueueResult
    unschedulable: dict[str, str]
    lost: dict[str, str]
    gone: tuple[str, ...]
    evicted: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    drained: tuple[str, ...]
    scaled: dict[str, tuple[int, int]]
    before: dict[str, Any]
    after: dict[str, Any]
    provision: ProvisionPlan | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    state: Manifests | None = None

    def __repr__(self) -> str:
        extra = f"; provision {self.provision.new_nodes}" if self.provision else ""
        return (f"WhatIf(fits={self.fits}: {len(self.result.placed)} placed, "
                f"{len(self.unschedulable)} unschedulable, {len(self.lost)} lost{extra})")


def whatif(manifests: Any, *, drain: Iterable[str] = (), remove_nodes: Iterable[str] = (),
           scale: Mapping[str, int] | None = None, add_nodes: Mapping[str, int] | None = None,
           catalog: Any = None, profiles: Sequence[Profile] | None = None,
           preempt: bool = True, time_limit: float = 30.0) -> WhatIf:
    """Apply the edits to a copy of ``manifests`` and schedule what is pending (see the
    module's docstring). Every edit is checked before anything changes; a bad one
    raises :class:`~fastsched.errors.ValidationError` naming it (``drain[0]``,
    ``scale['prod/web']``, ``add_nodes['m5.large']``)."""
    started = time.perf_counter()
    m = manifests if isinstance(manifests, Manifests) else load_manifests(
        *(manifests if isinstance(manifests, (list, tuple)) else [manifests]))
    cat = None if catalog is None else Catalog.coerce(catalog)
    removed = _nodes_of(m.cluster, remove_nodes, "remove_nodes")
    drained = [n for n in _nodes_of(m.cluster, drain, "drain") if n not in removed]
    scaled = _scale_targets(m, scale or {})
    adds = _templates(m.cluster, cat, add_nodes or {})
    profiles = list(profiles) if profiles else [Profile.default()]

    cluster = m.cluster.copy()
    pending = list(m.pending)
    lost: dict[str, str] = {}
    gone: list[str] = []
    evicted: list[str] = []
    daemons = daemon_templates(m)
    owners = dict(m.owners)

    def displaced(pod: Pod, why: str, with_node: bool) -> None:
        kind = m.owner(pod).split("/", 1)[0]
        if kind in _STAY:
            if with_node:
                gone.append(pod.key)
            return
        if not kind:
            lost[pod.key] = f"no controller recreates it ({why})"
            return
        evicted.append(pod.key)
        pending.append(pod.replica(pod.name, node_name="", nominated_node_name=""))

    for name in removed:
        for pod in cluster.remove_node(name):
            displaced(pod, f"node {name} removed", True)
    for name in drained:
        cluster.update_node(name, unschedulable=True)
        for pod in cluster.pods_on(name):
            if m.owner(pod).split("/", 1)[0] not in _STAY:
                cluster.unbind(pod)
                displaced(pod, f"node {name} drained", False)
    scale_report: dict[str, tuple[int, int]] = {}
    for key, (pods, target) in scaled.items():
        scale_report[key] = (len(pods), target)
        before_keys = {p.key for p in pending}
        pending = _rescale(cluster, pending, pods, target, key)
        for pod in pending:                      # the new replicas: their template's owner
            if pod.key not in before_keys:
                owners[f"Pod/{pod.key}"] = m.owner(pods[0])
    added: list[str] = []
    for name, alloc, labels, taints in _new_nodes(cluster, adds):
        cluster.add_node(name, alloc, labels=labels, taints=taints)
        added.append(name)
        for owner, pod in daemon_pods(daemons, name, labels, taints):
            pending.append(pod)
            owners[f"Pod/{pod.key}"] = owner

    before = utilization(m.cluster, cat)
    scheduler = Scheduler.for_profiles(cluster, profiles, services=m.services, pdbs=m.pdbs)
    result = scheduler.schedule_queue(pending, preempt=preempt)
    failures = {o.pod.key: o.message for o in result if isinstance(o, Unschedulable)}
    plan = None
    if failures and cat is not None:
        left = [o.pod for o in result if isinstance(o, Unschedulable)]
        plan = provision(cluster, left, with_daemons(cat, daemons), time_limit=time_limit)
    fits = not failures and not result.preempted and not lost
    state = replace(m, cluster=cluster, owners=owners, pending=tuple(
        o.pod for o in result if isinstance(o, Unschedulable)) + tuple(result.not_ours))
    return WhatIf(fits, cluster, result, failures, lost, tuple(gone), tuple(evicted),
                  tuple(added), tuple(removed), tuple(drained), scale_report, before,
                  utilization(cluster, cat), plan,
                  {"seconds": round(time.perf_counter() - started, 3),
                   "pending": len(pending)}, state)


def utilization(cluster: Cluster, catalog: Catalog | None = None) -> dict[str, Any]:
    """Requested over allocatable, for the whole cluster and per node type (the
    ``node.kubernetes.io/instance-type`` label, ``-`` without one): ``nodes``,
    ``cordoned``, ``requested``/``allocatable``/``share`` per resource (cpu, memory,
    pods, GPUs), and with a catalog the price per hour of the nodes whose type it
    lists (``pricePerHour``; ``unpriced`` counts the others)."""
    names = cluster.node_names
    types = np.array([cluster.node_labels(n).get(TYPE_LABEL, "-") for n in names], dtype=object)
    shown = [r for r in _SHOWN if r in cluster.resources]
    alloc, req = cluster.allocatable, cluster.requested
    cordoned = np.asarray(cluster.unschedulable, bool)[: len(names)]

    def summary(rows: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {"nodes": int(rows.size), "cordoned": int(cordoned[rows].sum())}
        for r in shown:
            col = cluster.resources.index(r)
            a, q = int(alloc[rows, col].sum()), int(req[rows, col].sum())
            out[r] = {"requested": q, "allocatable": a, "share": round(q / a, 4) if a else 0.0}
        if catalog is not None:
            priced = [catalog[t].price for t in types[rows] if t in catalog]
            out["pricePerHour"] = round(float(sum(priced)), 6)
            out["unpriced"] = int(rows.size - len(priced))
        return out

    everything = summary(np.arange(len(names)))
    per_type = {str(t): summary(np.flatnonzero(types == t)) for t in sorted(set(types))}
    return {**everything, "types": per_type}


# -- resolving the edits (nothing changes until all are valid) -------------------------


def _nodes_of(cluster: Cluster, items: Iterable[str], what: str) -> list[str]:
    """Node names for NODE or SELECTOR arguments, in cluster order, each once."""
    if isinstance(items, str):
        items = [items]
    picked: set[str] = set()
    for i, item in enumerate(items):
        where = f"{what}[{i}]"
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(f"expected a node name or a label selector, got {item!r}",
                                  where)
        if item in cluster:
            picked.add(item)
            continue
        if not any(c in item for c in "=!,(") and " " not in item.strip():
            raise ValidationError(f"no node named {item!r} (and not a label selector)", where)
        selector = parse_label_selector(item, where)
        hit = [n for n in cluster.node_names if selector.matches(cluster.node_labels(n))]
        if not hit:
            raise ValidationError(f"selector {item!r} matches no node", where)
        picked.update(hit)
    return [n for n in cluster.node_names if n in picked]


def _scale_targets(m: Manifests, scale: Mapping[str, int]) -> dict[str, tuple[list[Pod], int]]:
    """For each ``NAMESPACE/NAME``: the workload's pods now (bound and pending) and the
    replica count wanted."""
    if not isinstance(scale, Mapping):
        raise ValidationError("expected a mapping of NAMESPACE/NAME to replicas", "scale")
    members: dict[str, list[Pod]] = {}
    for pod in (*m.bound, *m.pending):
        owner = m.owner(pod)
        while owner:                     # every controller up the chain owns the pod
            kind, rest = owner.split("/", 1)
            if kind in _SCALABLE:
                members.setdefault(rest, []).append(pod)
            owner = m.owners.get(owner, "")
    out: dict[str, tuple[list[Pod], int]] = {}
    for key, count in scale.items():
        where = f"scale[{key!r}]"
        if not isinstance(key, str) or key.count("/") != 1:
            raise ValidationError("expected NAMESPACE/NAME of a workload", where)
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
            raise ValidationError(f"expected a replica count >= 0, got {count!r}", where)
        if key not in members:
            known = ", ".join(sorted(members)) or "none"
            raise ValidationError(f"no Deployment, ReplicaSet, StatefulSet or Job {key} with "
                                  f"pods in the manifests (workloads: {known})", where)
        out[key] = (members[key], int(count))
    return out


def _templates(cluster: Cluster, catalog: Catalog | None,
               adds: Mapping[str, int]) -> list[tuple[str, int, Any]]:
    """``(name prefix, count, source)`` per add: source is ``(NodeType, zone|None)`` or
    the name of an existing node."""
    if not isinstance(adds, Mapping):
        raise ValidationError("expected a mapping of TYPE or NODE to a count", "add_nodes")
    out: list[tuple[str, int, Any]] = []
    for key, count in adds.items():
        where = f"add_nodes[{key!r}]"
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or \
                not 0 < count <= 100_000:
            raise ValidationError(f"expected a node count in [1, 100,000], got {count!r}", where)
        if not isinstance(key, str) or not key:
            raise ValidationError("expected a catalog type or a node name", where)
        type_name, _, zone = key.partition("@")
        if catalog is not None and type_name in catalog:
            t = catalog[type_name]
            if zone and t.zones and zone not in t.zones:
                raise ValidationError(f"type {type_name} is not offered in zone {zone!r} "
                                      f"(zones: {', '.join(t.zones)})", where)
            out.append((type_name, int(count), (t, zone or None)))
        elif key in cluster:
            out.append((key, int(count), key))
        else:
            hint = "" if catalog is not None else " (give a catalog for node types)"
            raise ValidationError(f"{key!r} is neither a catalog type nor a node{hint}", where)
    return out


def _new_nodes(cluster: Cluster, adds: list[tuple[str, int, Any]]
               ) -> Iterable[tuple[str, Mapping[str, Any], dict[str, str], tuple]]:
    """``(name, allocatable, labels, taints)`` of each node to add."""
    taken = set(cluster.node_names)
    for prefix, count, source in adds:
        k = 0
        for i in range(count):
            while f"{prefix}-{k}" in taken:
                k += 1
            name = f"{prefix}-{k}"
            taken.add(name)
            if isinstance(source, str):
                node = cluster.node(source)
                labels = {**cluster.node_labels(source), "kubernetes.io/hostname": name}
                row = cluster.row(source)
                alloc = {r: int(cluster.allocatable[row, j])
                         for j, r in enumerate(cluster.resources)}
                taints = tuple(t for t in node.taints
                               if t.key != "node.kubernetes.io/unschedulable")
            else:
                t, zone = source
                zone = zone or (t.zones[i % len(t.zones)] if t.zones else None)
                labels, alloc, taints = dict(t.node_labels(zone)), t.allocatable, t.taints
            yield name, alloc, labels, taints


def _rescale(cluster: Cluster, pending: list[Pod], pods: list[Pod], target: int,
             key: str) -> list[Pod]:
    """The pending list with the workload ``key`` at ``target`` replicas."""
    waiting = {p.key for p in pending}
    have = [p for p in pods if p.key in cluster.pods or p.key in waiting]
    if target >= len(have):
        template = pods[0].replica(pods[0].name, node_name="", nominated_node_name="")
        names = {p.name for p in pods}
        new: list[Pod] = []
        k = 0
        base = key.split("/", 1)[1]
        while len(new) < target - len(have):
            name = replica_name(base, f"-w{k}")
            k += 1
            if name not in names and f"{template.namespace}/{name}" not in cluster.pods:
                new.append(template.replica(name))
        return pending + new
    # fewer: pending ones first (the ReplicaSet controller's rule), then the newest
    order = sorted(have, key=lambda p: (p.key not in waiting,
                                        -(p.creation_timestamp or 0.0)))
    drop = {p.key for p in order[: len(have) - target]}
    for p in have:
        if p.key in drop and p.key in cluster.pods:
            cluster.unbind(p)
    return [p for p in pending if p.key not in drop]
