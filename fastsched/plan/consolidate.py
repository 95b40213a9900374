"""Consolidation: which nodes to remove, and which cheaper nodes to add, so that every
pod still fits at the lowest cost.

Each existing node whose ``node.kubernetes.io/instance-type`` is in the catalog is an
offer of its own (at most one, at its type's price, keeping its name); the catalog's
types are offers too. Pods that may not move — those named in ``immovable``, those a
PodDisruptionBudget with no disruption left covers (``respect_pdbs``), and those on a
node of unknown price — stay where they are, and their node is kept, its room reduced
by them. Every other pod is packed again by :func:`fastsched.plan.packing.pack`, which
prefers to leave a pod on its node. Unlike the greedy tools this considers every set
of nodes to remove (not prefixes of a candidate list), splits a node into several
smaller ones, and merges many into several.

Given :class:`~fastsched.kube.Manifests` instead of a cluster, what may not move is
read from them: pods annotated ``karpenter.sh/do-not-disrupt``, pods without a
controller and static pods stay (and keep their node); the manifests'
PodDisruptionBudgets apply. DaemonSet pods never move: they stay with a kept node,
go with a removed one, and new nodes keep room for the DaemonSets that would run
there.

``max_disrupted`` bounds the pods on removed nodes, a side row of the packing: a
removed node's movable pods all move; pods of kept nodes stay unless the plan moves
them (they are counted in ``moved``). A budget with disruptions left is a side row
of the same kind (at most that many of its pods on removed nodes).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cluster.cluster import Cluster
from ..errors import ValidationError
from ..kube.manifests import Manifests
from ..model.pod import Pod
from ..scheduler.preemption import PodDisruptionBudget
from ..scheduler.scheduler import Scheduler
from .catalog import Catalog, NodeType
from .daemons import daemon_templates, with_daemons
from .kinds import kinds
from .packing import Offer, check_options, pack

__all__ = ["ConsolidationPlan", "consolidate"]

_TYPE_LABEL = "node.kubernetes.io/instance-type"
_EPS = 1e-3


@dataclass(frozen=True, repr=False, eq=False)
class ConsolidationPlan:
    """``removed``: existing nodes to remove; ``added``: (name, type, zone) of new
    nodes; ``moved``: pod key -> (old node, new node); costs per hour before and after,
    ``saving``, the proven ``lower_bound`` on the cost after and the ``gap``."""

    status: str
    removed: tuple[str, ...]
    added: tuple[tuple[str, str, str], ...]
    moved: dict[str, tuple[str, str]]
    cost_before: float
    cost_after: float
    saving: float
    lower_bound: float
    gap: float
    stats: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"ConsolidationPlan({self.status}: remove {len(self.removed)}, add "
                f"{len(self.added)}, move {len(self.moved)} pods; ${self.cost_before:.4f}/h -> "
                f"${self.cost_after:.4f}/h, gap {self.gap:.2%})")


def consolidate(cluster: Cluster | Manifests, catalog: Any, *, time_limit: float = 30.0,
                max_disrupted: int | None = None, respect_pdbs: bool = True,
                pdbs: Iterable[PodDisruptionBudget] = (),
                immovable: Iterable[str] = ()) -> ConsolidationPlan:
    """The cheapest cluster that still holds every pod (see the module's docstring).
    ``cluster`` (a Cluster or Manifests) is not changed."""
    started = time.perf_counter()
    check_options(time_limit, max_disrupted=max_disrupted)
    catalog = Catalog.coerce(catalog)
    pinned = set(immovable)
    daemon: set[str] = set()
    if isinstance(cluster, Manifests):
        m, cluster = cluster, cluster.cluster
        pdbs = (*m.pdbs, *pdbs)
        pinned |= m.do_not_disrupt
        for pod in m.bound:
            kind = m.owner(pod).split("/", 1)[0]
            if kind == "DaemonSet":
                daemon.add(pod.key)
            elif kind in ("", "Node"):          # nothing recreates it, or a static pod
                pinned.add(pod.key)
        catalog = with_daemons(catalog, daemon_templates(m))
    budgets = list(pdbs) if respect_pdbs else []
    home = dict(cluster.pod_nodes())
    pods = dict(cluster.pods)
    for key, pod in pods.items():
        if any(b.disruptions_allowed == 0 and b.covers(pod) for b in budgets):
            pinned.add(key)
    pinned -= daemon
    names = cluster.node_names
    price_of: dict[str, float | None] = {}
    for name in names:
        t = cluster.node_labels(name).get(_TYPE_LABEL)
        price_of[name] = catalog[t].price if t in catalog else None
    for key, node in home.items():
        if price_of[node] is None:
            pinned.add(key)
    kept_fixed = {home[k] for k in pinned if k in home} | {n for n in names if price_of[n] is None}
    # a pod read from a snapshot names its node: the NodeName filter would hold it there
    movable = [pods[k].replica(pods[k].name, node_name="") if pods[k].node_name else pods[k]
               for k in pods if k not in pinned and k not in daemon]
    # offers: every existing node (its room less its pinned pods), then the catalog's
    resources = sorted({r for p in movable for r in p.requests} | {"cpu", "memory", "pods"})
    offers: list[Offer] = []
    probe = Cluster()
    alloc = cluster.allocatable
    for i, name in enumerate(names):
        room = {r: int(alloc[i, cluster.resources.index(r)]) if r in cluster.resources else 0
                for r in resources}
        for p in cluster.pods_on(name):
            if p.key in pinned or p.key in daemon:
                for r in resources:
                    room[r] -= p.requests.get(r, 0) + (1 if r == "pods" else 0)
        price = 0.0 if name in kept_fixed else float(price_of[name] or 0.0)
        nt = NodeType(name, room, room, price)
        offers.append(Offer(nt, "", np.array([max(0, room[r]) for r in resources], float),
                            existing=name))
        probe.add_node(f"offer-{len(probe)}", {r: max(0, v) for r, v in room.items()},
                       labels=cluster.node_labels(name), taints=cluster.node(name).taints)
    for t in catalog:
        # a new node costs a hair more than an existing one of the same price (more
        # than the integer program's tolerance), so that ties keep pods where they are
        dearer = NodeType(t.name, t.capacity, t.allocatable, t.price * (1 + _EPS),
                          t.capacity_type, t.zones, t.labels, t.taints, t.limit, t.gpu_model)
        for zone in t.zones or ("",):
            offers.append(Offer(dearer, zone, np.array([t.allocatable.get(r, 0)
                                                        for r in resources], float)))
            probe.add_node(f"offer-{len(probe)}", t.allocatable,
                           labels=t.node_labels(zone or None), taints=t.taints)
    n_existing = len(names)
    row_of = {n: i for i, n in enumerate(names)}
    groups = kinds(movable)
    checker = Scheduler(probe)
    compat = np.array([np.asarray(checker.filter(g[0]).feasible, bool) for g in groups]) \
        if groups else np.zeros((0, len(offers)), bool)
    if groups and not compat.any(axis=1).all():
        raise ValidationError("some pods fit no node of the cluster or the catalog", "cluster")
    # side rows: an existing node at most once; the movable pods of removed nodes
    rows: list[tuple[np.ndarray, float]] = []
    for j in range(n_existing):
        coef = np.zeros(len(offers))
        coef[j] = 1.0
        rows.append((coef, 1.0))
    if max_disrupted is not None:
        on = np.zeros(len(offers))
        for p in movable:
            on[row_of[home[p.key]]] += 1
        # Σ_removed on_i <= budget  <=>  -Σ_i on_i × kept_i <= budget - Σ on_i
        rows.append((-on, float(max_disrupted) - float(on.sum())))
    for b in budgets:
        on = np.zeros(len(offers))
        for p in movable:
            if b.covers(p):
                on[row_of[home[p.key]]] += 1
        if on.sum() > b.disruptions_allowed:
            rows.append((-on, float(b.disruptions_allowed) - float(on.sum())))
    fixed = sum(float(price_of[n] or 0.0) for n in kept_fixed)
    before = sum(float(p or 0.0) for p in price_of.values())
    if not groups:
        removed = tuple(n for n in names if n not in kept_fixed)
        return ConsolidationPlan("OPTIMAL", removed, (), {}, before, fixed, before - fixed,
                                 fixed, 0.0, {"seconds": round(time.perf_counter() - started, 3)})
    packed = pack(groups, compat, offers, resources, rows, started + time_limit, time_limit,
                  home)
    if packed.status == "INFEASIBLE":
        return ConsolidationPlan("INFEASIBLE", (), (), {}, before, before, 0.0, 0.0, 0.0,
                                 packed.stats)
    used = {name for name, _, _ in packed.nodes}
    placed = _relabel(packed.placed, home, groups)
    placed = _home_first(placed, home, groups, compat, offers,
                         {name: j for name, _, j in packed.nodes}, resources) or \
        _stay_home(placed, home, pods, used, offers, names, resources)
    removed = tuple(n for n in names if n not in used and n not in kept_fixed)
    added = tuple((name, offers[j].node_type.name, z) for name, z, j in packed.nodes
                  if j >= n_existing)
    moved = {k: (home[k], node) for k, node in placed.items() if home.get(k) != node}
    after = fixed + sum(float(price_of[n] or 0.0) for n in used if n in price_of
                        and n not in kept_fixed) + sum(catalog[t].price for _, t, _ in added)
    bound = min(fixed + packed.bound / (1 + _EPS), after)   # prices were raised by _EPS at most
    stats = {**packed.stats, "pinned": len(pinned), "daemonset": len(daemon),
             "seconds": round(time.perf_counter() - started, 3)}
    return ConsolidationPlan(packed.status, removed, added, moved, round(before, 6),
                             round(after, 6), round(before - after, 6), round(bound, 6),
                             max(0.0, (after - bound) / after) if after > 0 else 0.0, stats)


def _relabel(placed: dict[str, str], home: dict[str, str],
             groups: list[list[Pod]]) -> dict[str, str]:
    """Within a kind any pod may take another's slot: give each node's slots to the
    pods already on it first, so that only the pods that must move do."""
    out = dict(placed)
    for group in groups:
        slots: dict[str, int] = {}
        for p in group:
            slots[out[p.key]] = slots.get(out[p.key], 0) + 1
        rest = []
        for p in group:
            h = home.get(p.key, "")
            if slots.get(h, 0) > 0:
                out[p.key] = h
                slots[h] -= 1
            else:
                rest.append(p)
        free = [n for n, k in slots.items() for _ in range(k)]
        for p, n in zip(rest, free):
            out[p.key] = n
    return out


def _home_first(placed: dict[str, str], home: dict[str, str], groups: list[list[Pod]],
                compat: np.ndarray, offers: list[Offer], node_offer: dict[str, int],
                resources: list[str]) -> dict[str, str] | None:
    """The same nodes, filled again with every pod that can stay put first, then the
    others where the packing put them or on any node with room that passes their
    filters; None if some pod finds no room (the packing's own answer stands)."""
    room = {n: offers[j].capacity.copy() for n, j in node_offer.items()}
    need = [np.array([g[0].requests.get(r, 0) + (1 if r == "pods" else 0)
                      for r in resources], float) for g in groups]
    out: dict[str, str] = {}
    rest = []
    for g, group in enumerate(groups):
        for p in group:
            h = home.get(p.key)
            if h in room and compat[g, node_offer[h]] and (need[g] <= room[h] + 1e-9).all():
                room[h] -= need[g]
                out[p.key] = h
            else:
                rest.append((g, p))
    for g, p in rest:
        choices = [placed[p.key], *(n for n in room if n != placed[p.key])]
        n = next((n for n in choices if compat[g, node_offer[n]] and
                  (need[g] <= room[n] + 1e-9).all()), None)
        if n is None:
            return None
        room[n] -= need[g]
        out[p.key] = n
    return out


def _stay_home(placed: dict[str, str], home: dict[str, str], pods: Any, used: set[str],
               offers: list[Offer], names: tuple[str, ...], resources: list[str],
               ) -> dict[str, str]:
    """Undo moves the packing made for nothing: a pod moved off a node that is kept goes
    back when its node has room for it (patterns say how many of a kind a node holds,
    not which ones)."""
    out = dict(placed)
    room = {n: offers[i].capacity.copy() for i, n in enumerate(names) if n in used}
    need = {k: np.array([pods[k].requests.get(r, 0) + (1 if r == "pods" else 0)
                         for r in resources], float) for k in out}
    for k, node in out.items():
        if node in room:
            room[node] -= need[k]
    for k, node in list(out.items()):
        h = home.get(k)
        if h is not None and h != node and h in room and (need[k] <= room[h] + 1e-9).all():
            room[h] -= need[k]
            if node in room:
                room[node] += need[k]
            out[k] = h
    return out
