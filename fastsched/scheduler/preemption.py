"""Preemption (kube-scheduler's DefaultPreemption PostFilter).

For a pod no node accepts, find the nodes where evicting lower-priority pods makes
it fit, choose the victims on each as upstream does (remove every lower-priority
pod, then re-admit the most important ones that still leave room, PodDisruptionBudget
violators first), and pick the node by upstream's order: fewest budget violations,
lowest highest-victim priority, smallest priority sum, fewest victims, latest start
of the most important victims, then the lowest row.

What can be preempted for, as upstream: NodeResourcesFit (unless the pod alone
exceeds the node), NodePorts, PodTopologySpread skew and anti-affinity (the pod's and
existing pods'). Resource and port shortfalls are resolved here, for every candidate
node at once; topology failures by the Scheduler, which tries evicting on a few such
nodes and re-runs the filters. Other failures are "not helpful".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._kernels.preempt import reprieve as _reprieve
from .._validation import check_int, check_str, coerce, set_field
from ..model.labels import LabelSelector
from ..model.pod import Pod
from ..plugins.node_ports import REASON as ports_reason

__all__ = ["Preemption", "PodDisruptionBudget", "NOT_HELPFUL", "NO_VICTIMS", "NEVER", "budgets",
           "message", "ineligible"]

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
# DefaultPreemption's PostFilter message for a pod that may not preempt (its
# PodEligibleToPreemptOthers reason, behind the plugin's "preemption: " prefix).
NEVER = "preemption: not eligible due to preemptionPolicy=Never."
PORTS = ports_reason            # NodePorts, when it decides the node
INT32 = 1 << 31

_INT64_CEIL = float(2**63 - 1024)      # the largest float64 below 2^63


@dataclass(frozen=True)
class Preemption:
    """Evicting ``victims`` from ``node`` lets ``pod`` run there."""

    pod: Pod
    node: str
    victims: tuple[Pod, ...]


@dataclass(frozen=True)
class PodDisruptionBudget:
    """How many pods matching ``selector`` in ``namespace`` may still be disrupted."""

    name: str
    selector: LabelSelector
    disruptions_allowed: int
    namespace: str = "default"

    def __post_init__(self) -> None:
        set_field(self, "name", check_str(self.name, "name", allow_empty=False))
        set_field(self, "selector", coerce(LabelSelector, self.selector, "selector"))
        set_field(self, "disruptions_allowed",
                  check_int(self.disruptions_allowed, "disruptionsAllowed", lo=0))
        set_field(self, "namespace", check_str(self.namespace, "namespace", allow_empty=False))

    def covers(self, pod: Pod) -> bool:
        return pod.namespace == self.namespace and self.selector.matches(pod.labels)


def ineligible(pod: Pod) -> str | None:
    """Why ``pod`` may not preempt others, or None (upstream's
    ``PodEligibleToPreemptOthers``: ``preemptionPolicy: Never`` pods never do)."""
    return NEVER if pod.preemption_policy == "Never" else None


def budgets(values: Iterable[Any]) -> tuple[PodDisruptionBudget, ...]:
    return tuple(coerce(PodDisruptionBudget, v, f"pdbs[{i}]") for i, v in enumerate(values))


def violations(victims: Sequence[Pod], pdbs: Sequence[PodDisruptionBudget]) -> list[bool]:
    """Whether evicting each victim (in order) breaks a budget (upstream's rule: a pod
    violates when a budget covering it has no disruption left)."""
    left = [b.disruptions_allowed for b in pdbs]
    out = []
    for pod in victims:
        broken = False
        for i, budget in enumerate(pdbs):
            if budget.covers(pod):
                if left[i] <= 0:
                    broken = True
                else:
                    left[i] -= 1
        out.append(broken)
    return out


def find(cluster: Any, pod: Pod, want: np.ndarray, codes: np.ndarray, bits: np.ndarray,
         resource_bucket: int, ports_bucket: int, topology_buckets: Sequence[int],
         pdbs: Sequence[PodDisruptionBudget], pod_ports: tuple,
         limit: int) -> tuple[Any, Preemption | None, dict[str, int], list[int]]:
    """The best preemption for ``pod`` among nodes short of resources or host ports:
    ``(key, choice, counts, topology_rows)``; ``key`` orders choices (smaller is
    better, None without one), ``counts`` are the reasons for the ``preemption: 0/N
    nodes are available`` message, ``topology_rows`` the nodes that failed a topology
    check and host lower-priority pods (the caller tries evicting those).

    ``want`` is the pod's request vector over the cluster's columns; ``codes``/``bits``
    the first failing filter per node (from the kernel's explain). At most ``limit``
    candidate nodes get victims chosen, as upstream's dry run stops early."""
    n = len(cluster)
    view = cluster.columns
    alloc = view.alloc
    used = view.req
    table = view.store
    live = table.live()
    lower = live[table.priority_of(live) < pod.priority]
    counts: dict[str, int] = {}
    # Which nodes preemption could help: resource shortfalls the pod alone does not
    # exceed, and host-port conflicts.
    exceeds = ((want[None, :] > alloc) & (want[None, :] > 0)).any(axis=1)
    helpful = ((codes == resource_bucket) & ~exceeds) | (codes == ports_bucket)
    topology = np.isin(codes, list(topology_buckets))
    counts_not = int(np.count_nonzero(~helpful & ~topology & (codes != 255)))
    if counts_not:
        counts[NOT_HELPFUL] = counts_not
    # What evicting every lower-priority pod would free, per node.
    freeable = np.zeros_like(used)
    if len(lower):
        nodes = table.node[lower]
        req = table.req_of(lower)[:, : used.shape[1]]
        for col in range(used.shape[1]):
            # Float sums are exact below 2^53; clipped, huge forced binds cannot wrap.
            freeable[:, col] = np.minimum(np.bincount(nodes, weights=req[:, col], minlength=n)[:n],
                                          _INT64_CEIL)
    has_victims = np.zeros(n, np.bool_)
    if len(lower):
        has_victims[table.node[lower]] = True
    topology_rows = np.flatnonzero(topology & has_victims).tolist()
    no_victims = (helpful | topology) & ~has_victims
    if no_victims.any():
        counts[NO_VICTIMS] = int(np.count_nonzero(no_victims))
    short = (want[None, :] > alloc - used + freeable) & (want[None, :] > 0)
    candidates = np.flatnonzero(helpful & has_victims & ~short.any(axis=1))
    # Where evicting every lower-priority pod is not enough, the filter's own reasons.
    still = helpful & has_victims & short.any(axis=1)
    resources = cluster.resources
    for col in range(short.shape[1]):
        count = int(np.count_nonzero(still & short[:, col]))
        if count:
            reason = "Too many pods" if resources[col] == "pods" else \
                f"Insufficient {resources[col]}"
            counts[reason] = counts.get(reason, 0) + count
    best_key, best_row, best_victims = None, -1, []
    # Lower-priority pods grouped by node, most important first within a node
    # (higher priority, then earlier start), so victims are picked per node in order.
    lower = lower[np.lexsort((table.seq[lower], -table.priority_of(lower).astype(np.int64),
                              table.node[lower]))]
    by_node = table.node[lower]
    firsts = np.searchsorted(by_node, candidates, "left")
    lasts = np.searchsorted(by_node, candidates, "right")
    cols = np.flatnonzero(want > 0)
    names = cluster.node_names
    rows = candidates[:limit]
    if pod_ports or pdbs:
        # Budgets and host ports need the pods themselves: the plain Python path.
        for j, row in enumerate(rows.tolist()):
            on_node = lower[firsts[j]:lasts[j]]
            choice = _victims(cluster, row, want, on_node, pdbs, pod_ports)
            if choice is None:      # host ports still taken by pods it may not evict
                counts[PORTS] = counts.get(PORTS, 0) + 1
                continue
            victims, violations = choice
            key = choice_key(row, [(int(table.t_prio[table.tid[v]]), int(table.seq[v]))
                                   for v in victims], violations)
            if best_key is None or key < best_key:
                best_key, best_row, best_victims = key, row, victims
    elif len(rows):
        # The candidates' lower-priority pods, segment by segment, in one kernel call.
        lo, hi = firsts[: len(rows)], lasts[: len(rows)]
        lengths = hi - lo
        offsets = np.zeros(len(rows) + 1, np.int64)
        offsets[1:] = np.cumsum(lengths)
        picked = lower[np.repeat(lo - offsets[:-1], lengths) + np.arange(offsets[-1])]
        victim = np.zeros(len(picked), np.uint8)
        _reprieve(np.ascontiguousarray(alloc[rows][:, cols] - used[rows][:, cols]),
                  np.ascontiguousarray(table.req_of(picked)[:, cols]), offsets,
                  np.ascontiguousarray(want[cols]), victim)
        is_victim = victim.astype(bool)
        prio = table.priority_of(picked).astype(np.int64)
        starts = offsets[:-1]
        tops = np.maximum.reduceat(np.where(is_victim, prio, -INT32), starts)
        total = np.add.reduceat(np.where(is_victim, prio + INT32, 0), starts)
        number = np.add.reduceat(is_victim.astype(np.int64), starts)
        at_top = is_victim & (prio == np.repeat(tops, lengths))
        earliests = np.minimum.reduceat(np.where(at_top, table.seq[picked], 1 << 62), starts)
        # upstream's order; lexsort takes the last key first
        order = np.lexsort((rows, -earliests, number, total, tops, number == 0))
        j = int(order[0])
        if number[j] == 0:
            return None, None, counts, topology_rows
        best_key = (0, int(tops[j]), int(total[j]), int(number[j]), -int(earliests[j]),
                    int(rows[j]))
        best_row = int(rows[j])
        best_victims = picked[offsets[j]:offsets[j + 1]][
            is_victim[offsets[j]:offsets[j + 1]]].tolist()
    if best_key is None:
        return None, None, counts, topology_rows
    node = names[best_row]
    chosen = np.asarray(best_victims, np.int64)
    chosen = chosen[np.lexsort((table.seq[chosen], -table.priority_of(chosen).astype(np.int64)))]
    return best_key, Preemption(pod, node, tuple(table.pods(chosen.tolist()))), counts, \
        topology_rows


def choice_key(row: int, victims: Sequence[tuple[int, int]], violations: int) -> tuple:
    """Upstream's order between candidate nodes (smaller is better); ``victims`` are
    ``(priority, start order)`` pairs."""
    top = max(p for p, _ in victims)
    earliest = min(s for p, s in victims if p == top)
    return (violations, top, sum(p + INT32 for p, _ in victims), len(victims),
            -earliest, row)


def _victims(cluster: Any, row: int, want: np.ndarray, lower: np.ndarray,
             pdbs: Sequence[PodDisruptionBudget],
             pod_ports: tuple) -> tuple[list[int], int] | None:
    """Upstream's SelectVictimsOnNode for resources and ports: evict all of
    ``lower`` (slots, most important first: higher priority, then earlier start),
    then re-admit in that order (budget violators before the others) every pod that
    still leaves room. Returns the victims' slots."""
    view = cluster.columns
    store = view.store
    vectors = store.req_of(lower)[:, : view.req.shape[1]]
    free = view.alloc[row] - view.req[row] + vectors.sum(axis=0)
    if ((want > free) & (want > 0)).any():
        return None
    exclude = set(lower.tolist())
    ports = tuple(port for slot, where, held in view.ported_pods()
                  if where == row and slot not in exclude for port in held)
    if _clash(pod_ports, ports):
        return None
    # A pod's family shares its labels and namespace, all a budget looks at.
    broken = violations([store.template_of(s) for s in lower.tolist()], pdbs)
    victims, violated = [], 0
    for group in (True, False):
        for k, (slot, violates) in enumerate(zip(lower.tolist(), broken)):
            if violates != group:
                continue
            held = store.t_ports[store.tid[slot]]
            after = free - vectors[k]
            if not ((want > after) & (want > 0)).any() and not _clash(pod_ports, ports + held):
                free = after                    # re-admitted: it stays
                ports = ports + held
            else:
                victims.append(slot)
                violated += violates
    return victims, violated


def _clash(mine: tuple, used: tuple) -> bool:
    for ip, proto, port in mine:
        for other_ip, other_proto, other_port in used:
            if proto == other_proto and port == other_port and (
                    ip == "0.0.0.0" or other_ip == "0.0.0.0" or ip == other_ip):
                return True
    return False


def message(total_nodes: int, counts: Mapping[str, int]) -> str:
    parts = sorted(f"{c} {reason}" for reason, c in counts.items() if c)
    return f"preemption: 0/{total_nodes} nodes are available: " + ", ".join(parts) + "."

