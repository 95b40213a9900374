"""Provisioning: the cheapest set of new nodes from a catalog that holds every
pending pod.

1. Pods that fit the existing nodes go there, as the default scheduler places them.
2. Every other pod is checked against one empty node per offer (a catalog type in
   one of its zones) with :meth:`Scheduler.filter`, so resources, node selectors
   and affinity against the type's labels, taints and tolerations, zones and GPU
   models follow kube-scheduler exactly; a pod no offer passes is ``unplaceable``,
   with kube-scheduler's message.
3. Pods that differ in name only are counted together, and the rest is a
   multi-resource bin-packing problem with bins of many prices: column generation
   over node patterns (one HiGHS knapsack per distinct offer and round, priced by
   the master LP's duals) gives the LP bound, proven once no pattern prices out;
   a HiGHS integer program over the generated patterns gives the plan.

``lower_bound`` is the LP bound when column generation converged (else a weaker
aggregate bound that is always valid), so ``gap`` is honest. Hard topology
constraints between pods (zone spread, hostname anti-affinity) are not modelled
yet: such pods are planned by their own requirements only (``stats['topology']``
counts them).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from ..cluster.cluster import Cluster
from ..errors import ValidationError
from ..model.pod import Pod, family
from ..scheduler.scheduler import Placement, Scheduler
from .catalog import Catalog, NodeType

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


@dataclass
class _Offer:
    node_type: NodeType
    zone: str
    capacity: np.ndarray


def _offers(catalog: Catalog) -> list[_Offer]:
    out = []
    for t in catalog:
        for zone in t.zones or ("",):
            out.append(_Offer(t, zone, np.zeros(0)))
    return out


def _knapsack(values: np.ndarray, sizes: np.ndarray, capacity: np.ndarray,
              counts: np.ndarray, seconds: float) -> tuple[np.ndarray, float, float]:
    """max values·a s.t. sizes.T a <= capacity, 0 <= a <= counts, integer: the best
    pattern found, its value, and a proven upper bound on the optimum."""
    k = len(values)
    res = milp(-values, constraints=LinearConstraint(sizes.T, -np.inf, capacity),
               integrality=np.ones(k), bounds=Bounds(0, counts),
               options={"time_limit": max(0.05, seconds)})
    if res.x is None:
        return np.zeros(k), 0.0, float(values @ counts)
    a = np.round(res.x)
    dual = getattr(res, "mip_dual_bound", None)
    upper = -float(dual) if dual is not None and np.isfinite(dual) else float(values @ counts)
    return a, float(values @ a), max(upper, float(values @ a))


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
    if not (isinstance(time_limit, (int, float)) and 0 < time_limit <= 86400):
        raise ValidationError(f"must be in (0, 86400] seconds, got {time_limit!r}", "time_limit")
    if max_new_nodes is not None and (not isinstance(max_new_nodes, int) or max_new_nodes < 0):
        raise ValidationError(f"must be a non-negative integer, got {max_new_nodes!r}",
                              "max_new_nodes")
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
    for o in offers:
        o.capacity = np.array([o.node_type.allocatable.get(r, 0) for r in resources], float)
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
        return _plan(cluster, [], [], {}, assignment, unplaceable, 0.0, 0.0, "OPTIMAL", started,
                     {"topology": topology})
    sizes = np.array([[g[0].requests.get(r, 0) + (1 if r == "pods" else 0) for r in resources]
                      for g in usable], float)
    counts = np.array([len(g) for g in usable], float)
    compat_m = np.array(compat)                                        # groups × offers
    # distinct offers: same capacity, price and compatible groups price the same
    distinct: dict[tuple, int] = {}
    for j, o in enumerate(offers):
        distinct.setdefault((tuple(o.capacity), o.node_type.price,
                             tuple(compat_m[:, j])), j)
    reps = list(distinct.values())
    # 3. column generation; start with one single-kind pattern per (kind, offer)
    cols: list[tuple[int, np.ndarray]] = []
    for j in reps:
        for g in np.flatnonzero(compat_m[:, j]):
            fit = np.min(np.where(sizes[g] > 0, offers[j].capacity // np.maximum(sizes[g], 1),
                                  np.inf))
            a = np.zeros(len(usable))
            a[g] = min(counts[g], fit)
            if a[g] >= 1:
                cols.append((j, a))
    limited = [t for t in catalog if t.limit is not None]
    lp_bound, converged, rounds, farley = 0.0, False, 0, 0.0
    lp_x = np.zeros(0)
    while time.perf_counter() < deadline - min(5.0, time_limit / 3):
        rounds += 1
        a_mat = np.array([a for _, a in cols]).T
        price = np.array([offers[j].node_type.price for j, _ in cols])
        # covering rows (>= counts), then at most ``limit`` nodes of a limited type
        extra = [np.array([1.0 if offers[j].node_type.name == t.name else 0.0
                           for j, _ in cols]) for t in limited]
        if max_new_nodes is not None:
            extra.append(np.ones(len(cols)))
        caps = [float(t.limit or 0) for t in limited] + (
            [float(max_new_nodes)] if max_new_nodes is not None else [])
        a_ub = np.vstack([-a_mat, *[e[None, :] for e in extra]])
        b_ub = np.concatenate([-counts, np.array(caps)])
        lp = linprog(price, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
        if lp.status != 0:
            break
        lp_bound, lp_x = float(lp.fun), np.asarray(lp.x)
        marg = -np.asarray(lp.ineqlin.marginals)
        duals = marg[: len(usable)]
        penalty = dict(zip([t.name for t in limited], marg[len(usable):len(usable) + len(limited)]))
        node_penalty = marg[-1] if max_new_nodes is not None else 0.0
        added = 0
        theta = 1.0              # Farley: duals scaled by theta price no pattern below cost
        for j in reps:
            mask = compat_m[:, j] & (duals > 1e-12)
            if not mask.any():
                continue
            idx = np.flatnonzero(mask)
            a_sub, value, upper = _knapsack(duals[idx], sizes[idx], offers[j].capacity,
                                            counts[idx], 1.0)
            if upper > 0:
                theta = min(theta, offers[j].node_type.price / upper)
            cost_j = (offers[j].node_type.price + penalty.get(offers[j].node_type.name, 0.0)
                      + node_penalty)
            if value > cost_j * (1 + 1e-9) + 1e-9:
                a = np.zeros(len(usable))
                a[idx] = a_sub
                cols.append((j, a))
                added += 1
        farley = max(farley, theta * float(duals @ counts))
        if not added or farley >= lp_bound * (1 - 1e-3):
            converged = not added
            break
    # a bound that never needs convergence: resources summed against the cheapest
    # price per unit any compatible offer charges
    fallback = 0.0
    for r in range(len(resources)):
        per_unit = np.array([min((offers[j].node_type.price / offers[j].capacity[r]
                                  for j in np.flatnonzero(compat_m[g])
                                  if offers[j].capacity[r] > 0), default=0.0)
                             for g in range(len(usable))])
        fallback = max(fallback, float(np.dot(per_unit, sizes[:, r] * counts)))
    bound = lp_bound if converged else max(fallback, farley)
    # 4. the integer step over the generated patterns, each also filled up to a
    # maximal one (the leftover room taken by the other kinds, largest first), which
    # gives the integer program the mixed patterns the LP's vertices skip
    order = [int(g) for g in np.argsort(-sizes.sum(axis=1), kind="stable")]
    seen = {(j, a.tobytes()) for j, a in cols}
    support = [cols[c] for c in np.flatnonzero(lp_x > 1e-9)] if lp_x.size else list(cols)
    for j, a in support:
        # the LP's patterns, and each with one task fewer of a kind, filled up: the
        # largest kinds first, or the kind removed last
        starts = [(a, -1)] + [(a - np.eye(len(a))[int(k)], int(k)) for k in np.flatnonzero(a > 0)]
        for start, removed in starts:
            filled = start.copy()
            room = offers[j].capacity - sizes.T @ filled
            for q in [*(x for x in order if x != removed), *([removed] if removed >= 0 else [])]:
                if not compat_m[q, j] or filled[q] >= counts[q]:
                    continue
                fit = np.min(np.where(sizes[q] > 0, room // np.maximum(sizes[q], 1e-9), np.inf))
                k = min(counts[q] - filled[q], max(0.0, fit))
                filled[q] += k
                room -= k * sizes[q]
            key = (j, filled.tobytes())
            if filled.any() and key not in seen:
                seen.add(key)
                cols.append((j, filled))
    a_mat = np.array([a for _, a in cols]).T
    price = np.array([offers[j].node_type.price for j, _ in cols])
    rows = [LinearConstraint(a_mat, counts, np.inf)]
    for t in catalog:
        if t.limit is not None:
            row = np.array([1.0 if offers[j].node_type.name == t.name else 0.0 for j, _ in cols])
            rows.append(LinearConstraint(row[None, :], 0, t.limit))
    if max_new_nodes is not None:
        rows.append(LinearConstraint(np.ones((1, len(cols))), 0, max_new_nodes))
    left = max(1.0, deadline - time.perf_counter())
    res = milp(price, constraints=rows, integrality=np.ones(len(cols)),
               bounds=Bounds(0, np.inf), options={"time_limit": left})
    # the LP's solution rounded up covers every pod: the plan when the integer
    # program finds nothing better in time (limits may then be exceeded: checked below)
    rounded = np.zeros(len(cols))
    rounded[: len(lp_x)] = np.ceil(lp_x - 1e-9)
    if res.x is not None and float(price @ np.round(res.x)) <= float(price @ rounded):
        counts_used = np.round(res.x).astype(int)
    elif lp_x.size and all(r.A @ rounded <= r.ub + 1e-9 for r in rows[1:]):
        counts_used = rounded.astype(int)
    else:
        return _plan(cluster, [], [], {}, assignment, {**unplaceable, **{
            p.key: "no plan within the catalog's limits" for g in usable for p in g}},
            0.0, bound, "INFEASIBLE", started, {"topology": topology, "rounds": rounds})
    nodes, placed = _materialize(usable, cols, counts_used, offers)
    assignment.update(placed)
    cost = sum(offers[j].node_type.price for _, _, j in nodes)
    status = "OPTIMAL" if cost <= bound * (1 + 1e-9) + 1e-9 else "FEASIBLE"
    return _plan(cluster, nodes, offers, {}, assignment, unplaceable, cost, bound, status,
                 started, {"topology": topology, "rounds": rounds, "columns": len(cols),
                           "lp_converged": converged, "lp": round(lp_bound, 6),
                           "existing": len(pods) - len(rest)})


def _materialize(groups: Sequence[list[Pod]], cols: list[tuple[int, np.ndarray]],
                 used: np.ndarray, offers: list[_Offer]) -> tuple[list, dict[str, str]]:
    """Node names and the pod → node assignment of the chosen patterns; nodes left
    with no pod are dropped."""
    queues = [list(g) for g in groups]
    per_type: dict[str, int] = {}
    nodes, placed = [], {}
    for (j, a), copies in sorted(zip(cols, used), key=lambda c: -c[0][1].sum()):
        for _ in range(int(copies)):
            take = []
            for g, k in enumerate(a.astype(int)):
                take += [queues[g].pop() for _ in range(min(k, len(queues[g])))]
            if not take:
                continue
            t = offers[j].node_type.name
            name = f"{t}-{per_type.get(t, 0)}"
            per_type[t] = per_type.get(t, 0) + 1
            nodes.append((name, offers[j].zone, j))
            for pod in take:
                placed[pod.key] = name
    return nodes, placed


def _plan(cluster: Cluster, nodes: list, offers: list, _: dict, assignment: dict[str, str],
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
