"""Multi-resource bin packing over priced node offers, by column generation.

Shared by provisioning and consolidation: tasks come in kinds (pods that differ in
name only) with a request vector and a count; an offer is a node one may open (a
catalog type in a zone, or an existing node) with a capacity and a price; side rows
``Σ coef[offer] × nodes opened <= rhs`` bound type limits, node counts or disruption.
Column generation over node patterns (HiGHS knapsacks priced by the master LP's
duals; Farley's bound while it has not converged) gives a proven lower bound; a
HiGHS integer program over the LP's patterns, each also filled up with other kinds,
gives the plan, with the LP's solution rounded up as a fallback.

Two node-level rules ride along, as constraints on every pattern (the knapsacks,
the starting patterns and the fill-up step all honour them, so every column is a
node kube-scheduler accepts): ``per_node[kind]``, the most pods of a kind one node
may hold (hostname anti-affinity, hostname spread), and ``conflicts``, pairs of
kinds that may not share a node (anti-affinity between kinds). With
``bound_only`` the integer step is skipped: the bound of a relaxation, seeded with
``start`` columns, is all the caller wants.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..model.pod import Pod
from .catalog import NodeType

__all__ = ["Offer", "Packing", "pack", "check_options"]


def check_options(time_limit: Any, **counts: Any) -> None:
    """The planners' shared arguments: a time limit in (0, 86400] seconds, and
    optional non-negative integer caps (``max_new_nodes``, ``max_disrupted``)."""
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not (
            0 < time_limit <= 86400):
        raise ValidationError(f"must be in (0, 86400] seconds, got {time_limit!r}", "time_limit")
    for name, value in counts.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise ValidationError(f"must be a non-negative integer, got {value!r}", name)


@dataclass
class Offer:
    """A node one may open: ``node_type`` (its price), ``zone``, ``capacity`` over the
    packing's resources, and ``existing``: the name of the node it is, if any."""

    node_type: NodeType
    zone: str
    capacity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    existing: str = ""


@dataclass
class Packing:
    """``nodes``: (name, zone, offer index) opened; ``placed``: pod key -> node."""

    nodes: list
    placed: dict[str, str]
    cost: float
    bound: float
    status: str
    stats: dict[str, Any]
    columns: list = field(default_factory=list)


def _knapsack(values: np.ndarray, sizes: np.ndarray, capacity: np.ndarray,
              counts: np.ndarray, seconds: float,
              conflicts: Sequence[tuple[int, int]] = ()) -> tuple[np.ndarray, float, float]:
    """max values·a s.t. sizes.T a <= capacity, 0 <= a <= counts, integer, and for
    each pair (g, h) of ``conflicts`` a_g = 0 or a_h = 0: the best pattern found, its
    value, and a proven upper bound on the optimum."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    k, m = len(values), len(conflicts)
    # a pair's binary y picks the kind that may be present: a_g <= ub_g y,
    # a_h <= ub_h (1 - y)
    n_res = sizes.shape[1]
    mat = np.zeros((n_res + 2 * m, k + m))
    mat[:n_res, :k] = sizes.T
    hi = np.concatenate([capacity, np.zeros(2 * m)])
    for p, (g, h) in enumerate(conflicts):
        r = n_res + 2 * p
        mat[r, g], mat[r, k + p] = 1.0, -counts[g]
        mat[r + 1, h], mat[r + 1, k + p], hi[r + 1] = 1.0, counts[h], counts[h]
    res = milp(-np.concatenate([values, np.zeros(m)]),
               constraints=LinearConstraint(mat, -np.inf, hi), integrality=np.ones(k + m),
               bounds=Bounds(0, np.concatenate([counts, np.ones(m)])),
               options={"time_limit": max(0.05, seconds)})
    if res.x is None:
        return np.zeros(k), 0.0, float(values @ counts)
    a = np.round(res.x[:k])
    dual = getattr(res, "mip_dual_bound", None)
    upper = -float(dual) if dual is not None and np.isfinite(dual) else float(values @ counts)
    return a, float(values @ a), max(upper, float(values @ a))


def pack(usable: Sequence[list[Pod]], compat_m: np.ndarray, offers: list[Offer],
         resources: Sequence[str], rows: list[tuple[np.ndarray, float]], deadline: float,
         time_limit: float, home: dict[str, str] | None = None, *,
         per_node: np.ndarray | None = None, conflicts: Sequence[tuple[int, int]] = (),
         start: Sequence[tuple[int, np.ndarray]] = (), bound_only: bool = False) -> Packing:
    """Pack the pod kinds ``usable`` (``compat_m[kind, offer]``: may it go there) into
    the cheapest offers under the side ``rows``, at most ``per_node[kind]`` pods of a
    kind per node (default: no cap) and no two kinds of a ``conflicts`` pair on one
    node. ``start`` adds feasible columns (offer, pods per kind) to the first master
    LP; ``bound_only`` stops after column generation, with ``bound`` set and no plan
    (see the module's docstring)."""
    # SciPy's optimizers cost 0.4 s to import: only when a plan is asked for
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp
    sizes = np.array([[g[0].requests.get(r, 0) + (1 if r == "pods" else 0) for r in resources]
                      for g in usable], float)
    counts = np.array([len(g) for g in usable], float)
    caps = counts.copy() if per_node is None else np.minimum(counts, per_node)
    enemies: dict[int, set[int]] = {}
    for u, v in conflicts:
        enemies.setdefault(int(u), set()).add(int(v))
        enemies.setdefault(int(v), set()).add(int(u))
    # distinct offers: same capacity, price and compatible groups price the same
    side_m = np.array([coef for coef, _ in rows]) if rows else np.zeros((0, len(offers)))
    distinct: dict[tuple, int] = {}
    for j, o in enumerate(offers):
        distinct.setdefault((tuple(o.capacity), o.node_type.price, tuple(compat_m[:, j]),
                             tuple(side_m[:, j]), o.existing), j)
    reps = list(distinct.values())
    # 3. column generation; start with one single-kind pattern per (kind, offer)
    cols: list[tuple[int, np.ndarray]] = [(int(j), np.asarray(a, float)) for j, a in start]
    for j in reps:
        for g in np.flatnonzero(compat_m[:, j]):
            fit = np.min(np.where(sizes[g] > 0, offers[j].capacity // np.maximum(sizes[g], 1),
                                  np.inf))
            a = np.zeros(len(usable))
            a[g] = min(caps[g], fit)
            if a[g] >= 1:
                cols.append((j, a))
    lp_bound, converged, rounds, farley = 0.0, False, 0, 0.0
    lp_x = np.zeros(0)
    stats: dict[str, Any] = {}
    # the integer step's share of the time; a bound-only pass needs none
    reserve = 0.0 if bound_only else min(5.0, time_limit / 3)
    while time.perf_counter() < deadline - reserve:
        rounds += 1
        a_mat = np.array([a for _, a in cols]).T
        price = np.array([offers[j].node_type.price for j, _ in cols])
        # covering rows (>= counts), then the side rows over offers
        of = np.array([j for j, _ in cols])
        a_ub = np.vstack([-a_mat, *[coef[of][None, :] for coef, _ in rows]])
        b_ub = np.concatenate([-counts, np.array([float(rhs) for _, rhs in rows])])
        lp = linprog(price, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
        if lp.status != 0:
            break
        lp_bound, lp_x = float(lp.fun), np.asarray(lp.x)
        marg = -np.asarray(lp.ineqlin.marginals)
        duals = marg[: len(usable)]
        side = marg[len(usable):]
        penalty = side @ side_m if rows else np.zeros(len(offers))      # per offer
        added = 0
        theta = 1.0              # Farley: duals scaled by theta price no pattern below cost
        for j in reps:
            mask = compat_m[:, j] & (duals > 1e-12)
            if not mask.any():
                continue
            idx = np.flatnonzero(mask)
            pos = {int(g): i for i, g in enumerate(idx)}
            pairs = [(pos[g], pos[h]) for g, h in conflicts if g in pos and h in pos]
            a_sub, value, upper = _knapsack(duals[idx], sizes[idx], offers[j].capacity,
                                            caps[idx], 1.0, pairs)
            if upper > 0:
                theta = min(theta, offers[j].node_type.price / upper)
            cost_j = offers[j].node_type.price + penalty[j]
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
    stats.update(rounds=rounds, lp_converged=converged, lp=round(lp_bound, 6))
    if bound_only:
        return Packing([], {}, 0.0, bound, "BOUND", stats, cols)
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
        for base, removed in starts:
            filled = base.copy()
            room = offers[j].capacity - sizes.T @ filled
            for q in [*(x for x in order if x != removed), *([removed] if removed >= 0 else [])]:
                if not compat_m[q, j] or filled[q] >= caps[q] or any(
                        filled[e] > 0 for e in enemies.get(q, ())):
                    continue
                fit = np.min(np.where(sizes[q] > 0, room // np.maximum(sizes[q], 1e-9), np.inf))
                k = min(caps[q] - filled[q], max(0.0, fit))
                filled[q] += k
                room -= k * sizes[q]
            key = (j, filled.tobytes())
            if filled.any() and key not in seen:
                seen.add(key)
                cols.append((j, filled))
    a_mat = np.array([a for _, a in cols]).T
    price = np.array([offers[j].node_type.price for j, _ in cols])
    of = np.array([j for j, _ in cols])
    constraints = [LinearConstraint(a_mat, counts, np.inf)] + [
        LinearConstraint(coef[of][None, :], -np.inf, rhs) for coef, rhs in rows]
    left = max(1.0, deadline - time.perf_counter())
    res = milp(price, constraints=constraints, integrality=np.ones(len(cols)),
               bounds=Bounds(0, np.inf), options={"time_limit": left})
    # the LP's solution rounded up covers every pod: the plan when the integer
    # program finds nothing better in time (limits may then be exceeded: checked below)
    rounded = np.zeros(len(cols))
    rounded[: len(lp_x)] = np.ceil(lp_x - 1e-9)
    if res.x is not None and float(price @ np.round(res.x)) <= float(price @ rounded):
        counts_used = np.round(res.x).astype(int)
    elif lp_x.size and all(c.A @ rounded <= c.ub + 1e-9 for c in constraints[1:]):
        counts_used = rounded.astype(int)
    else:
        return Packing([], {}, 0.0, bound, "INFEASIBLE", stats, cols)
    nodes, placed = _materialize(usable, cols, counts_used, offers, home or {})
    cost = sum(offers[j].node_type.price for _, _, j in nodes)
    status = "OPTIMAL" if cost <= bound * (1 + 1e-9) + 1e-9 else "FEASIBLE"
    stats["columns"] = len(cols)
    return Packing(nodes, placed, cost, bound, status, stats, cols)


def _materialize(groups: Sequence[list[Pod]], cols: list[tuple[int, np.ndarray]],
                 used: np.ndarray, offers: list[Offer],
                 home: dict[str, str]) -> tuple[list, dict[str, str]]:
    """Node names and the pod → node assignment of the chosen patterns; nodes left
    with no pod are dropped, except existing ones (a side row may need them kept). An
    existing node keeps its name and, first, the pods ``home`` says are on it."""
    queues = [list(g) for g in groups]
    per_type: dict[str, int] = {}
    nodes, placed = [], {}
    for (j, a), copies in sorted(zip(cols, used), key=lambda c: -c[0][1].sum()):
        for _ in range(int(copies)):
            take = []
            existing = offers[j].existing
            for g, k in enumerate(a.astype(int)):
                if existing:        # its own pods first: they need not move
                    queues[g].sort(key=lambda p: home.get(p.key) == existing)
                take += [queues[g].pop() for _ in range(min(k, len(queues[g])))]
            if not take and not existing:      # an existing node chosen stays, even empty
                continue
            if existing:
                name = existing
            else:
                t = offers[j].node_type.name
                name = f"{t}-{per_type.get(t, 0)}"
                per_type[t] = per_type.get(t, 0) + 1
            nodes.append((name, offers[j].zone, j))
            for pod in take:
                placed[pod.key] = name
    return nodes, placed


