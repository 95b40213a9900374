"""Provisioning: the cheapest set of new nodes from a catalog that holds every
pending pod.

1. Pods that fit the existing nodes go there, as the default scheduler places them.
2. Every other pod is checked against one empty node per offer (a catalog type in
   one of its zones) with :meth:`Scheduler.filter`, so resources, node selectors
   and affinity against the type's labels, taints and tolerations, zones and GPU
   models follow kube-scheduler exactly; a pod no offer passes is ``unplaceable``,
   with kube-scheduler's message.
3. Pods that differ in name only are counted together, and the rest is a
   multi-resource bin-packing problem with bins of many prices, solved by
   :func:`fastsched.plan.packing.pack` (column generation with a proven bound, then
   a HiGHS integer program over the generated patterns).

4. Hard topology constraints between pods become constraints of the packing
   (``stats['topology']`` counts the pods under each):

   - *hostname anti-affinity*: a required pod anti-affinity term on
     ``kubernetes.io/hostname`` that selects the kind's own pods caps the kind at one
     pod per node; a term that selects another pending kind forbids the two on one
     node (``conflicts`` of :func:`~fastsched.plan.packing.pack`).
   - *zone spread* (``DoNotSchedule`` on ``topology.kubernetes.io/zone``): the
     kind's pods are dealt out to the zones of the offers it passes, one at a time,
     each to the zone with the fewest matching pods among those where the placement
     keeps every such constraint within ``maxSkew`` (the counts start from the pods
     already in each zone, existing ones and those step 1 placed), which is an order
     kube-scheduler accepts pod by pod. Each zone's share becomes a kind of its own
     that only that zone's offers take. The domains are the zones of the existing
     nodes and of the offers that the constraint's node inclusion policies admit,
     whether or not the plan opens a node there: a superset of the real domains can
     only lower the minimum, so every placement the deal accepts kube accepts too.
     Pods no zone can take within the skew are ``unplaceable``. With ``minDomains``
     set, the minimum is taken as 0 unless the existing nodes already span that many
     zones (0 is never above the real minimum).
   - *hostname spread* (``DoNotSchedule`` on ``kubernetes.io/hostname``, maxSkew s):
     at most s pods of the kind per new node. A new node starts empty, so the
     minimum over nodes is 0 while it exists and s per node keeps every placement
     within the skew in any order. It is a restriction (with one node of the kind
     every count is the minimum), so the bound does not use it.

   Other hard terms (required pod affinity, anti-affinity or spread on another key,
   a namespaceSelector to resolve, a selector that also matches another pending
   kind) are not modelled: those pods are planned by their own requirements only
   (``stats['topology']['unmodelled']``).

``lower_bound`` is the LP bound when column generation converged (else a weaker
aggregate bound that is always valid), so ``gap`` is honest. Splitting by zone and
the hostname-spread caps restrict the problem, so when either applied, the bound is
that of a relaxation instead: the unsplit kinds, with only the caps and conflicts
of anti-affinity (real constraints of every plan), by a second, bound-only column
generation seeded with the plan's patterns summed back per kind (so it starts
near its optimum and takes a small share of the time).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cluster.cluster import Cluster
from ..errors import ValidationError
from ..model.pod import Pod
from ..scheduler.scheduler import Placement, Scheduler
from .catalog import Catalog
from .kinds import kinds
from .packing import Offer, check_options, pack
from .topology import Topology

__all__ = ["ProvisionPlan", "provision"]


@dataclass(frozen=True, repr=False, eq=False)
class ProvisionPlan:
    """The answer of :func:`provision` (see the module's docstring)."""

    status: str
    new_nodes: dict[str, int]
    assignment: dict[str, str]
    cost: float
    lower_bound: float
    gap: float
    unplaceable: dict[str, str]
    nodes: tuple[tuple[str, str, str], ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(self.new_nodes.items())) or "none"
        return (f"ProvisionPlan({self.status}: {kinds}; ${self.cost:.4f}/h, bound "
                f"${self.lower_bound:.4f}/h, gap {self.gap:.2%}; {len(self.assignment)} pods "
                f"placed, {len(self.unplaceable)} unplaceable)")


def _offers(catalog: Catalog) -> list[Offer]:
    out = []
    for t in catalog:
        for zone in t.zones or ("",):
            out.append(Offer(t, zone))
    return out


def provision(cluster: Cluster, pending: Iterable[Pod], catalog: Any, *,
              objective: str = "cost", time_limit: float = 30.0, workers: int | None = None,
              seed: int = 0, max_new_nodes: int | None = None) -> ProvisionPlan:
    """The cheapest new nodes from ``catalog`` (a :class:`Catalog`, a path, or a
    parsed document) so that every pod of ``pending`` fits (see the module's
    docstring). ``cluster`` is not changed. ``workers`` and ``seed`` are accepted for
    the solvers that use them; HiGHS, used here, is deterministic and single-threaded."""
    started = time.perf_counter()
    if objective != "cost":
        raise ValidationError(f"only 'cost' is supported, got {objective!r}", "objective")
    check_options(time_limit, max_new_nodes=max_new_nodes)
    catalog = Catalog.coerce(catalog)
    pods = list(pending)
    deadline = started + time_limit
    assignment: dict[str, str] = {}
    # 1. what fits the existing nodes (``after`` holds them, for the spread counts)
    rest = pods
    after = cluster.copy()
    if len(cluster):
        result = Scheduler(after).schedule_many(pods)
        rest = []
        for pod, outcome in zip(pods, result):
            if isinstance(outcome, Placement):
                assignment[pod.key] = outcome.node
            else:
                rest.append(pod)
    # 2. which offers each kind of pod passes
    offers = _offers(catalog)
    probe = Cluster()
    for o in offers:
        probe.add_node(f"offer-{len(probe)}", o.node_type.allocatable,
                       labels=o.node_type.node_labels(o.zone or None), taints=o.node_type.taints)
    # pods equal in all placement reads are one kind, replicas or not
    groups = kinds(rest)
    checker = Scheduler(probe)
    resources = sorted({r for g in groups for r in g[0].requests} | {"cpu", "memory", "pods"})
    unplaceable: dict[str, str] = {}
    usable, compat = [], []
    for kind in groups:
        fr = checker.filter(kind[0])
        ok = np.asarray(fr.feasible, dtype=bool)
        if not ok.any():
            for pod in kind:
                unplaceable[pod.key] = fr.message
            continue
        usable.append(kind)
        compat.append(ok)
    # 4. topology: caps, conflicts, and kinds split by zone
    topo = Topology(usable, np.array(compat).reshape(len(usable), len(offers)), offers,
                     after)
    unplaceable.update(topo.unplaceable)
    stats: dict[str, Any] = {"topology": topo.counts, "existing": len(pods) - len(rest)}
    if not topo.groups:
        return _plan([], [], assignment, unplaceable, 0.0, 0.0, "OPTIMAL", started, stats)
    for o in offers:
        o.capacity = np.array([o.node_type.allocatable.get(r, 0) for r in resources], float)
    rows: list[tuple[np.ndarray, float]] = []
    for t in catalog:
        if t.limit is not None:
            rows.append((np.array([1.0 if o.node_type.name == t.name else 0.0 for o in offers]),
                         float(t.limit)))
    if max_new_nodes is not None:
        rows.append((np.ones(len(offers)), float(max_new_nodes)))
    # the relaxation's bound pass gets a fifth of the time, at most 10 s: seeded
    # with the plan's columns it needs a few rounds only
    reserve = min(10.0, time_limit / 5) if topo.restricted else 0.0
    packed = pack(topo.groups, topo.compat, offers, resources, rows, deadline - reserve,
                  time_limit - reserve, per_node=topo.per_node, conflicts=topo.conflicts)
    bound = packed.bound
    if topo.restricted and packed.status != "INFEASIBLE":
        bound = _relaxed_bound(topo, packed.columns, offers, resources, rows, deadline,
                               reserve, stats)
    stats.update(packed.stats)
    if packed.status == "INFEASIBLE":
        return _plan([], [], assignment, {**unplaceable, **{
            p.key: "no plan within the catalog's limits" for g in topo.groups for p in g}},
            0.0, packed.bound, "INFEASIBLE", started, stats)
    assignment.update(packed.placed)
    status = "OPTIMAL" if packed.cost <= bound * (1 + 1e-9) + 1e-9 else "FEASIBLE"
    return _plan(packed.nodes, offers, assignment, unplaceable, packed.cost,
                 bound, status, started, stats)


def _relaxed_bound(topo: Topology, columns: list, offers: list[Offer],
                   resources: list[str], rows: list, deadline: float, seconds: float,
                   stats: dict[str, Any]) -> float:
    """The bound of the relaxation (the unsplit kinds, anti-affinity only), by a
    bound-only column generation that starts from the plan's columns summed back
    per kind: a zone's share sits on that zone's offers only, so each summed column
    holds one share per kind and stays within the kind's caps."""
    parents = topo.parents
    start = []
    for j, a in columns:
        total = np.zeros(len(topo.kinds))
        np.add.at(total, parents, a)
        start.append((j, total))
    relaxed = pack(topo.kinds, topo.kind_compat, offers, resources, rows, deadline,
                   max(seconds, 1.0), per_node=topo.kind_caps,
                   conflicts=topo.kind_conflicts, start=start, bound_only=True)
    stats["relaxed"] = {"bound": round(relaxed.bound, 6), **relaxed.stats}
    return relaxed.bound


def _plan(nodes: list, offers: list, assignment: dict[str, str],
          unplaceable: dict[str, str], cost: float, bound: float, status: str, started: float,
          stats: dict[str, Any]) -> ProvisionPlan:
    new_nodes: dict[str, int] = {}
    for _name, _zone, j in nodes:
        t = offers[j].node_type.name
        new_nodes[t] = new_nodes.get(t, 0) + 1
    gap = (cost - bound) / cost if cost > 0 else 0.0
    stats["seconds"] = round(time.perf_counter() - started, 3)
    return ProvisionPlan(status, new_nodes, assignment, round(cost, 6), round(bound, 6),
                         max(0.0, gap), unplaceable,
                         tuple((n, offers[j].node_type.name, z) for n, z, j in nodes), stats)
