"""The problem, as arrays: the batch aggregated into shapes (identical pods,
counted), the room each shape has on each node, and the groups turned into
per-node or per-domain limits, spreads and gangs. Checks the pods and resolves
the groups against them on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from ...cluster.cluster import HOSTNAME_LABEL, Cluster
from ...errors import DuplicateError, ValidationError
from ...model.labels import LabelSelector
from ...model.pod import Pod, replica_name
from ...model.resources import CPU, MEMORY, PODS
from ...profile.profile import Profile
from ...scheduler.scheduler import Scheduler
from .groups import AntiAffinity, Gang, Spread

PERMILLE = 1000           # utilizations are in permille (rounded up)


@dataclass
class _Limit:
    """At most ``left`` more pods of ``shapes`` per node (``dom`` None) or per domain."""

    shapes: list[int]
    dom: np.ndarray | None
    left: np.ndarray


@dataclass
class _SpreadGroup:
    shapes: list[int]
    dom: np.ndarray            # int64[n], -1 where the node lacks the key
    existing: np.ndarray       # int64[domains]
    eligible: np.ndarray       # bool[domains]
    skew: int


@dataclass
class _GangGroup:
    shapes: list[int]
    size: int
    min_member: int


@dataclass
class _Problem:
    n: int
    cols: np.ndarray           # resource columns any shape requests (pods included)
    A: np.ndarray              # int64[S, R] request per pod of each shape (pods = 1)
    count: np.ndarray          # int64[S]
    weight: np.ndarray         # int64[S]
    priority: np.ndarray       # int64[S]
    alloc: np.ndarray          # int64[n, R]
    req: np.ndarray            # int64[n, R]
    rem: np.ndarray            # int64[n, R] free room, >= 0
    cap: np.ndarray            # int64[S, n] most pods of a shape a node can take
    fixed_used: np.ndarray     # bool[n] nodes running pods, or free (below)
    limits: list[_Limit]
    spreads: list[_SpreadGroup]
    gangs: list[_GangGroup]
    balance_cols: np.ndarray   # resources of the peak utilization
    pod_shape: np.ndarray      # int64[T] shape of each pod of the batch
    pods_col: int
    node_names: tuple[str, ...]
    # bool[n] nodes that never count as in use: control-plane and cordoned nodes are
    # there whatever the plan, so the plan neither pays for nor saves them. They are
    # "in use" already (fixed_used) and subtracted from every count of nodes.
    free: np.ndarray

    @property
    def offset(self) -> int:
        """Nodes counted by ``fixed_used`` that are not counted as in use."""
        return int(np.count_nonzero(self.free))

    @property
    def S(self) -> int:
        return len(self.count)

    @property
    def eligible(self) -> np.ndarray:
        return cast(np.ndarray, self.cap.any(axis=0)) if self.S else np.zeros(self.n, np.bool_)


def _names(cluster: Cluster, pods: list[Pod]) -> tuple[list[Pod], list[int]]:
    """Distinct pod objects in first-seen order, and each position's object index;
    a repeated object is a template whose copies get ``<name>-<position>``."""
    index: dict[int, int] = {}
    objects: list[Pod] = []
    of = []
    for t, pod in enumerate(pods):
        if not isinstance(pod, Pod):
            raise ValidationError(f"expected a Pod, got {type(pod).__name__}", f"pods[{t}]")
        o = index.get(id(pod))
        if o is None:
            o = index[id(pod)] = len(objects)
            objects.append(pod)
        of.append(o)
    return objects, of


def _final_pods(cluster: Cluster, pods: list[Pod], objects: list[Pod],
                of: list[int]) -> list[Pod]:
    repeats: np.ndarray | list[int] = \
        np.bincount(np.asarray(of, np.int64), minlength=len(objects)) if of else []
    taken = _Taken(cluster)
    for o, pod in enumerate(objects):
        if repeats[o] == 1:
            if pod.key in taken:
                raise DuplicateError(f"pod {pod.key} is already bound, or given twice", "pods")
            taken.add(pod.key)
    out = []
    for t, pod in enumerate(pods):
        if repeats[of[t]] == 1:
            out.append(pod)
            continue
        suffix = f"-{t}"
        name = replica_name(pod.name, suffix)
        while f"{pod.namespace}/{name}" in taken:
            suffix += "-r"                    # a given pod already has the generated name
            name = replica_name(pod.name, suffix)
        taken.add(f"{pod.namespace}/{name}")
        out.append(pod.replica(name))
    return out


class _Taken:
    """Keys bound in the cluster (looked up there: no set of every bound key) or
    taken by the batch so far."""

    def __init__(self, cluster: Cluster) -> None:
        self.bound = cluster.pods
        self.batch: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self.batch or key in self.bound

    def add(self, key: str) -> None:
        self.batch.add(key)


def _resolve(members: Any, objects: list[Pod], by_key: dict[str, list[int]],
             path: str) -> list[int]:
    """Object indices a group covers."""
    if isinstance(members, LabelSelector):
        return [o for o, pod in enumerate(objects) if members.matches(pod.labels)]
    out: list[int] = []
    for i, ref in enumerate(members):
        key = ref.key if isinstance(ref, Pod) else ref
        found = by_key.get(key)
        if found is None:
            raise ValidationError(f"no pod {key!r} in the batch", f"{path}.pods[{i}]")
        out.extend(found)
    return sorted(set(out))


def _running_counts(cluster: Cluster, selectors: list[LabelSelector]) -> list[np.ndarray]:
    """Per selector, how many running pods it matches on each node."""
    counts = [np.zeros(len(cluster), np.int64) for _ in selectors]
    if not selectors:
        return counts
    # Matched once per family of bound pods (they share their labels), counted
    # per node with bincount.
    store = cluster.columns.store
    live = store.live()
    tids, nodes = store.tid[live], store.node[live]
    for c, selector in zip(counts, selectors):
        chosen = [t for t, pod in enumerate(store.tmpl)
                  if pod is not None and selector.matches(pod.labels)]
        if chosen:
            c += np.bincount(nodes[np.isin(tids, chosen)], minlength=len(cluster))[: len(cluster)]
    return counts


def _domains(cluster: Cluster, key: str, field: str) -> tuple[np.ndarray, int]:
    """Value code of ``key`` per node (-1: absent) and the number of values.

    A key that no node has is refused (``field`` names it): it is nearly always a
    typo, and a group over no domain at all has nothing to count."""
    k = cluster.label_table.key_index.get(key)
    if k is not None and not (cluster.label_codes[:, k] >= 0).any():
        k = None       # the key is known from a node that has since been removed
    if k is None and len(cluster):
        raise ValidationError(f"no node has the label {key!r}", field)
    if k is None:
        return np.full(len(cluster), -1, np.int64), 0
    return (cluster.label_codes[:, k].astype(np.int64),
            len(cluster.label_table.values[k]))


def _problem(cluster: Cluster, pods: list[Pod], objects: list[Pod], of: list[int],
             gangs: list[tuple[str, Gang]], anti: list[tuple[str, AntiAffinity]],
             spreads: list[tuple[str, Spread]], objective: str) -> _Problem:
    n, T = len(cluster), len(pods)
    by_key: dict[str, list[int]] = {}
    for o, pod in enumerate(objects):
        by_key.setdefault(pod.key, []).append(o)
    count_obj = np.bincount(np.asarray(of, np.int64), minlength=len(objects)) \
        if T else np.zeros(len(objects), np.int64)

    # groups -> memberships of every distinct pod object
    gang_of = [-1] * len(objects)
    gang_members = []
    members: list[int] | set[int]
    need: int | np.ndarray
    for g, (path, gang) in enumerate(gangs):
        members = _resolve(gang.pods, objects, by_key, path)
        size = int(count_obj[members].sum()) if members else 0
        if size == 0:
            raise ValidationError("the gang has no pod of the batch", f"{path}.pods")
        need = size if gang.min_member is None else gang.min_member
        if need > size:
            raise ValidationError(f"min_member {need} is more than the gang's {size} pods",
                                  f"{path}.min_member")
        for o in members:
            if gang_of[o] >= 0:
                raise ValidationError(f"pod {objects[o].key} is in two gangs "
                                      f"({gangs[gang_of[o]][0]} and {path})", f"{path}.pods")
            gang_of[o] = g
        gang_members.append((size, need))
    anti_sets = [set(_resolve(a.pods, objects, by_key, p)) for p, a in anti]
    spread_sets = [set(_resolve(s.pods, objects, by_key, p)) for p, s in spreads]

    # shapes: identical pods, counted
    scheduler = Scheduler(cluster, Profile(filters=STATIC_FILTERS, scores=()))
    priorities = sorted({p.priority for p in objects})
    level = {p: i for i, p in enumerate(priorities)}
    shape_index: dict[Any, int] = {}
    shape_of_obj = []
    reps: list[Pod] = []
    for o, pod in enumerate(objects):
        key = (pod.requests, pod.node_name, pod.node_selector, pod.node_affinity,
               pod.tolerations, _port_keys(pod), pod.priority, gang_of[o],
               tuple(i for i, s in enumerate(anti_sets) if o in s),
               tuple(i for i, s in enumerate(spread_sets) if o in s))
        s = shape_index.get(key)
        if s is None:
            s = shape_index[key] = len(reps)
            reps.append(pod)
        shape_of_obj.append(s)
    S = len(reps)
    pod_shape = np.asarray(shape_of_obj, np.int64)[np.asarray(of, np.int64)] if T \
        else np.zeros(0, np.int64)
    count = np.bincount(pod_shape, minlength=S).astype(np.int64)
    R = len(cluster.resources)
    A = np.zeros((S, R), np.int64)
    static_ok = np.zeros((S, n), np.bool_)
    for s, pod in enumerate(reps):
        A[s] = cluster.request_vector(pod)
        if n and not cluster.missing_resources(pod):
            static_ok[s] = _static_mask(scheduler, pod)
    weight = np.array([1 + level[p.priority] for p in reps], np.int64)
    priority = np.array([p.priority for p in reps], np.int64)
    cols = np.flatnonzero(A.any(axis=0)) if S else np.zeros(0, np.int64)

    # node columns and the room each shape has on each node
    alloc = np.array(cluster.allocatable, np.int64).reshape(n, R)
    req = np.array(cluster.requested, np.int64).reshape(n, R)
    rem = np.maximum(alloc - req, 0)
    cap = np.zeros((S, n), np.int64)
    for s in range(S):
        need = np.flatnonzero(A[s] > 0)
        room = (rem[:, need] // A[s, need]).min(axis=1) if n else np.zeros(0, np.int64)
        cap[s] = np.where(static_ok[s], np.minimum(room, count[s]), 0)

    # anti-affinity and host ports: per-node or per-domain limits
    shapes_in = lambda members: sorted({shape_of_obj[o] for o in members})  # noqa: E731
    limits: list[_Limit] = []
    selectors = [a.pods for _, a in anti if isinstance(a.pods, LabelSelector)]
    selectors += [s.pods for _, s in spreads if isinstance(s.pods, LabelSelector)]
    running = iter(_running_counts(cluster, selectors))
    for (path, a), members in zip(anti, anti_sets):
        existing = next(running) if isinstance(a.pods, LabelSelector) else np.zeros(n, np.int64)
        if not members:
            continue
        if a.topology_key == HOSTNAME_LABEL:
            limits.append(_Limit(shapes_in(members), None,
                                 np.maximum(a.max_per_domain - existing, 0)))
        else:
            dom, ndom = _domains(cluster, a.topology_key, f"{path}.topology_key")
            per = np.bincount(dom[dom >= 0], weights=existing[dom >= 0],
                              minlength=ndom).astype(np.int64)
            limits.append(_Limit(shapes_in(members), dom,
                                 np.maximum(a.max_per_domain - per, 0)))
    limits.extend(_port_limits(cluster, reps))
    spread_groups: list[_SpreadGroup] = []
    for (path, sp), members in zip(spreads, spread_sets):
        existing = next(running) if isinstance(sp.pods, LabelSelector) \
            else np.zeros(n, np.int64)
        dom, ndom = _domains(cluster, sp.topology_key, f"{path}.topology_key")
        shapes = shapes_in(members)
        has = dom >= 0
        per = np.bincount(dom[has], weights=existing[has], minlength=ndom).astype(np.int64)
        usable = static_ok[shapes].any(axis=0) & has if shapes else np.zeros(n, np.bool_)
        eligible = np.zeros(ndom, np.bool_)
        eligible[dom[usable]] = True
        if shapes:
            cap[np.ix_(shapes, np.flatnonzero(~has))] = 0
            spread_groups.append(_SpreadGroup(shapes, dom, per, eligible, sp.max_skew))
    for limit in limits:
        for s in limit.shapes:
            if limit.dom is None:
                cap[s] = np.minimum(cap[s], limit.left)
            else:
                keyed = limit.dom >= 0
                cap[s, keyed] = np.minimum(cap[s, keyed], limit.left[limit.dom[keyed]])

    gang_groups = [_GangGroup(sorted({shape_of_obj[o] for o in range(len(objects))
                                      if gang_of[o] == g}), size, need)
                   for g, (size, need) in enumerate(gang_members)]
    balance_cols = np.array([c for c in cols.tolist() if cluster.resources[c] != PODS]
                            + [cluster.resources.index(r) for r in (CPU, MEMORY)
                               if not A[:, cluster.resources.index(r)].any()], np.int64)
    balance_cols.sort()
    free = uncounted_nodes(cluster)
    return _Problem(n=n, cols=cols, A=A, count=count, weight=weight, priority=priority,
                    alloc=alloc, req=req, rem=rem, cap=cap,
                    fixed_used=(np.asarray(cluster.pod_counts) > 0) | free, limits=limits,
                    spreads=spread_groups, gangs=gang_groups, balance_cols=balance_cols,
                    pod_shape=pod_shape, pods_col=cluster.resources.index(PODS),
                    node_names=cluster.node_names, free=free)


# The filters that depend on the node alone, not on what runs there: the model
# handles NodeResourcesFit and NodePorts itself (and the groups stand in for pod
# affinity and topology spread).
STATIC_FILTERS = ("NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity")


def _static_mask(scheduler: Scheduler, pod: Pod) -> np.ndarray:
    """``bool[nodes]``: where the pod passes the static filters."""
    return np.asarray(scheduler.filter(pod).feasible, np.bool_)


def _port_keys(pod: Pod) -> tuple[tuple[str, int], ...]:
    return tuple(sorted({(proto, port) for _, proto, port in pod.host_ports}))


def _port_limits(cluster: Cluster, reps: list[Pod]) -> list[_Limit]:
    """One limit of one pod per node for each (protocol, host port) the batch asks for,
    zero where a running pod holds it."""
    wanted: dict[tuple[str, int], list[int]] = {}
    for s, pod in enumerate(reps):
        for key in _port_keys(pod):
            wanted.setdefault(key, []).append(s)
    if not wanted:
        return []
    held = {key: np.ones(len(cluster), np.int64) for key in wanted}
    for _, row, ports in cluster.columns.ported_pods():
        for _, proto, port in ports:
            if (proto, port) in held:
                held[(proto, port)][row] = 0
    return [_Limit(shapes, None, held[key]) for key, shapes in sorted(wanted.items())]


CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


def uncounted_nodes(cluster: Any) -> np.ndarray:
    """``bool[nodes]``: the nodes no count of "nodes in use" includes: cordoned
    nodes and control-plane nodes (labelled ``node-role.kubernetes.io/control-plane``
    or the older ``.../master``, whatever the value)."""
    out = np.asarray(cluster.unschedulable, np.bool_).copy()
    codes, table = cluster.label_codes, cluster.label_table
    for key in CONTROL_PLANE_LABELS:
        k = table.key_index.get(key)
        if k is not None:
            out |= codes[:, k] >= 0
    return out
