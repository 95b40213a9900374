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

``lower_bound`` is the LP bound when column generation converged (else a weaker
aggregate bound that is always valid), so ``gap`` is honest. Hard topology
constraints between pods (zone spread, hostname anti-affinity) are not modelled
yet: such pods are planned by their own requirements only (``stats['topology']``
counts them).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cluster.cluster import Cluster
from ..errors import ValidationError
from ..model.pod import Pod, family
from ..scheduler.scheduler import Placement, Scheduler
from .catalog import Catalog
from .packing import Offer, check_options, pack

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
    # 1. what fits the existing nodes
    rest = pods
    if len(cluster):
        result = Scheduler(cluster.copy()).schedule_many(pods)
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
    kinds: dict[object, list[Pod]] = {}
    for pod in rest:
        kinds.setdefault(family(pod), []).append(pod)
    groups = list(kinds.values())
    checker = Scheduler(probe)
    resources = sorted({r for g in groups for r in g[0].requests} | {"cpu", "memory", "pods"})
    unplaceable: dict[str, str] = {}
    usable, compat = [], []
    topology = 0
    for kind in groups:
        fr = checker.filter(kind[0])
        ok = np.asarray(fr.feasible, dtype=bool)
        if not ok.any():
            for pod in kind:
                unplaceable[pod.key] = fr.message
            continue
        usable.append(kind)
        compat.append(ok)
        if kind[0].topology_spread_constraints or kind[0].pod_anti_affinity:
            topology += len(kind)
    if not usable:
        return _plan([], [], assignment, unplaceable, 0.0, 0.0, "OPTIMAL", started,
                     {"topology": topology})
    for o in offers:
        o.capacity = np.array([o.node_type.allocatable.get(r, 0) for r in resources], float)
    rows: list[tuple[np.ndarray, float]] = []
    for t in catalog:
        if t.limit is not None:
            rows.append((np.array([1.0 if o.node_type.name == t.name else 0.0 for o in offers]),
                         float(t.limit)))
    if max_new_nodes is not None:
        rows.append((np.ones(len(offers)), float(max_new_nodes)))
    packed = pack(usable, np.array(compat), offers, resources, rows, deadline, time_limit)
    stats = {"topology": topology, "existing": len(pods) - len(rest), **packed.stats}
    if packed.status == "INFEASIBLE":
        return _plan([], [], assignment, {**unplaceable, **{
            p.key: "no plan within the catalog's limits" for g in usable for p in g}},
            0.0, packed.bound, "INFEASIBLE", started, stats)
    assignment.update(packed.placed)
    return _plan(packed.nodes, offers, assignment, unplaceable, packed.cost,
                 packed.bound, packed.status, started, stats)


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
