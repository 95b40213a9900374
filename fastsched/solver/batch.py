"""Batch placement: many pending pods at once, placed by CP-SAT.

``solve_batch(cluster, pods)`` places a whole batch of pending pods on a cluster
that already runs pods, and returns a ``BatchResult`` value; nothing changes in
the cluster until ``result.apply(cluster)``.

What is respected, exactly:

* every resource column of the cluster (cpu, memory, ephemeral-storage, the pod
  count, extended resources such as GPUs) on every node, on top of what the
  running pods already request;
* the static filters of the online scheduler's default profile (NodeUnschedulable,
  NodeName, TaintToleration, NodeAffinity with nodeSelector) and NodePorts (two
  pods asking for the same protocol and host port never share a node; host IPs
  are not told apart, which is stricter than kube-scheduler);
* the groups passed in: ``Gang`` (all or none, or at least ``min_member``),
  ``AntiAffinity`` (at most k pods of a group per node or per topology domain) and
  ``Spread`` (maxSkew of a group across a topology key). A pod's own
  ``podAntiAffinity`` and ``topologySpreadConstraints`` are not read, as in the
  online scheduler: pass them as groups.

Objectives are lexicographic:

* ``"max_placed"``: the most pods placed, weighted by priority (a pod weighs
  1 + the rank of its priority among the distinct priorities of the batch, so
  with one priority every pod weighs 1);
* ``"min_nodes"``: first the most pods placed (as above), then the fewest nodes in
  use. A node is in use when it hosts at least one pod after placement; nodes
  already running pods are in use whatever the plan (running pods are never
  moved), so consolidation means opening as few empty nodes as possible;
* ``"balance"``: first the most pods placed, then the lowest peak utilization in
  permille (rounded up): the highest requested/allocatable, over the nodes that
  can receive a pod of the batch and the resources the batch requests (cpu and
  memory always).

The model aggregates identical pods: pods with the same requests, static-filter
fields, host ports, priority and group memberships form a *shape*, and a variable
``x[shape, node]`` counts the pods of that shape on that node (only where the node
passes the shape's static filters and the shape fits its free room at all).
Interchangeable empty nodes are ordered (by use, then by pod count) to break
symmetry. A greedy plan (first fit over nodes in a fixed order: nodes in use, then
empty nodes from the largest) is the solver's hint and the fallback when the
solver finds nothing better in time. Lexicographic objectives run in two phases:
the most pods placed is proved first (usually for free: the greedy plan places
every pod), then the second objective is optimized among the plans that place at
least as much. For "min_nodes" the whole model only gets a share of that time (it
proves small cases and the bound of large ones); if it has not proved its plan, a
large-neighbourhood search takes the rest: it repeatedly frees the pods of a few
opened nodes and of the nodes that could take them, and lets CP-SAT re-place them
among those nodes alone, keeping any plan that uses no more nodes (one
neighbourhood per worker at a time, on disjoint nodes), until the plan meets the
bound or time runs out.

Ties: among equally good plans the solver's choice is unspecified (with
``workers=1`` and a search that completes, a given input and seed give the same
plan; the large-neighbourhood search is seeded but depends on how many of its steps
fit in the time). Within one shape, pods go to nodes in node-row order in input
order, so the pods left unplaced are the last ones of their shape.

Group semantics:

* A group's ``pods`` is a list of ``Pod`` objects or ``"namespace/name"`` keys (a
  repeated template's key stands for all its replicas), or a label selector
  (``LabelSelector`` or a dict with matchLabels/matchExpressions) matching the
  batch's pods, in any namespace. A selector also counts the *running* pods it
  matches (in any namespace) for anti-affinity and spread; an explicit list counts
  only the batch.
* Anti-affinity: nodes without the topology key are not limited (as for
  kube-scheduler); ``kubernetes.io/hostname`` means per node.
* Spread: pods of the group only go to nodes that carry the topology key; the
  domains are the key's values on nodes where some pod of the group passes the
  static filters; the final counts (running matching pods included) of any two
  such domains differ by at most ``max_skew``. If the running pods alone already
  break that and no placement can repair it, the status is INFEASIBLE.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import FrozenMap, check_choice, check_int, check_label_key, check_str, from_k8s
from ..cluster.cluster import HOSTNAME_LABEL, Cluster
from ..errors import DoesNotFitError, DuplicateError, ValidationError
from ..model.labels import LabelSelector
from ..model.pod import Pod
from ..model.resources import CPU, MEMORY, PODS
from ..profile.profile import Profile
from ..scheduler.scheduler import Scheduler

__all__ = ["solve_batch", "BatchResult", "BatchOptions", "Gang", "AntiAffinity", "Spread",
           "OBJECTIVES", "STATUSES"]

OBJECTIVES = ("max_placed", "min_nodes", "balance")
STATUSES = ("OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN")
HINTS = ("greedy", "none")
PERMILLE = 1000
_PHASE1_SHARE = 0.5        # of the search time, when the most pods placed needs proving
_REPORT_RESERVE = 0.05     # seconds kept back for reading the solution and the report
_REPORT_PER_VAR = 2e-6     # ... plus this much per variable
_LINK_LIMIT = 20_000      # per-variable links x <= cap * used only up to this many x
_WHOLE_SHARE = 0.15        # of the "min_nodes" search time for the whole model, before LNS
_LNS_SIZE = 15             # nodes in use drawn into a neighbourhood at first (it adapts)
_LNS_SIZES = (8, 200)      # ... within these
_LNS_VICTIMS = 2           # opened nodes a neighbourhood tries to empty
_LNS_EMPTY = 3             # empty nodes it may open instead
_LNS_STEP = 0.15           # seconds per neighbourhood search (one CP-SAT worker)
_LNS_NOISE = 0.3           # random share of the victims' ranking
_LNS_THREADS = 8           # neighbourhoods searched at once, at most (one per worker)


# -- groups ---------------------------------------------------------------------------


def _members(value: Any, path: str) -> LabelSelector | tuple[Pod | str, ...]:
    """A group's pods: a label selector, or a tuple of Pods and pod keys."""
    if isinstance(value, LabelSelector):
        return value
    if isinstance(value, Mapping):
        try:
            return from_k8s(LabelSelector, value)
        except ValidationError as err:
            raise err.prefixed(path) from None
    if isinstance(value, (str, bytes, Pod)) or not isinstance(value, Iterable):
        raise ValidationError("expected a list of pods or 'namespace/name' keys, or a label "
                              f"selector, got {type(value).__name__}", path)
    out = []
    for i, ref in enumerate(value):
        if isinstance(ref, Pod):
            out.append(ref)
        elif isinstance(ref, str) and ref:
            out.append(ref if "/" in ref else f"default/{ref}")
        else:
            raise ValidationError(f"expected a Pod or a 'namespace/name' key, got {ref!r}",
                                  f"{path}[{i}]")
    return tuple(out)


@dataclass(frozen=True)
class Gang:
    """All or none: either no pod of ``pods`` is placed, or at least ``min_member``
    of them (every one when ``min_member`` is None)."""

    pods: Any
    min_member: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pods", _members(self.pods, "pods"))
        object.__setattr__(self, "min_member",
                           check_int(self.min_member, "min_member", lo=1, allow_none=True))
        object.__setattr__(self, "name", check_str(self.name, "name"))


@dataclass(frozen=True)
class AntiAffinity:
    """At most ``max_per_domain`` pods of ``pods`` per value of ``topology_key``
    (per node with the default ``kubernetes.io/hostname``)."""

    pods: Any
    max_per_domain: int = 1
    topology_key: str = HOSTNAME_LABEL
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pods", _members(self.pods, "pods"))
        object.__setattr__(self, "max_per_domain",
                           check_int(self.max_per_domain, "max_per_domain", lo=1))
        object.__setattr__(self, "topology_key",
                           check_label_key(self.topology_key, "topology_key"))
        object.__setattr__(self, "name", check_str(self.name, "name"))


@dataclass(frozen=True)
class Spread:
    """The pods of ``pods`` per value of ``topology_key`` differ by at most
    ``max_skew`` between any two domains (final counts, running pods included when
    the group is a selector)."""

    pods: Any
    topology_key: str
    max_skew: int = 1
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pods", _members(self.pods, "pods"))
        object.__setattr__(self, "topology_key",
                           check_label_key(self.topology_key, "topology_key"))
        object.__setattr__(self, "max_skew", check_int(self.max_skew, "max_skew", lo=1))
        object.__setattr__(self, "name", check_str(self.name, "name"))


def _group_list(value: Any, cls: type, path: str) -> list[tuple[str, Any]]:
    """``(path, group)`` pairs from None, one group, a list of groups, or a mapping of
    name to group; a group is a ``cls``, a dict of its fields or a tuple of them."""
    if value is None:
        return []

    def one(item: Any, where: str, name: str = "") -> Any:
        try:
            if isinstance(item, cls):
                return item
            if isinstance(item, Mapping):
                data = dict(item)
                if name:
                    data.setdefault("name", name)
                return from_k8s(cls, data)
            if isinstance(item, tuple):
                return cls(*item, **({"name": name} if name else {}))
        except ValidationError as err:
            raise err.prefixed(where) from None
        except TypeError as err:
            raise ValidationError(str(err), where) from None
        raise ValidationError(f"expected a {cls.__name__}, a mapping or a tuple, got "
                              f"{type(item).__name__}", where)

    if isinstance(value, cls) or (isinstance(value, Mapping) and "pods" in value):
        return [(f"{path}[0]", one(value, f"{path}[0]"))]
    if isinstance(value, Mapping):
        return [(f"{path}[{key}]", one(item, f"{path}[{key}]", str(key)))
                for key, item in value.items()]
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(f"expected a list of {cls.__name__}, got "
                              f"{type(value).__name__}", path)
    return [(f"{path}[{i}]", one(item, f"{path}[{i}]")) for i, item in enumerate(value)]


# -- options and result ---------------------------------------------------------------


@dataclass(frozen=True)
class BatchOptions:
    """How ``solve_batch`` searches: see its docstring."""

    objective: str = "min_nodes"
    time_limit: float = 10.0
    workers: int | None = None
    seed: int = 0
    hint: str | None = "greedy"

    def __post_init__(self) -> None:
        check_choice(self.objective, "objective", OBJECTIVES)
        limit = self.time_limit
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) \
                or not math.isfinite(limit) or limit < 0:
            raise ValidationError(f"must be a finite number of seconds >= 0, got {limit!r}",
                                  "time_limit")
        object.__setattr__(self, "time_limit", float(limit))
        object.__setattr__(self, "workers",
                           check_int(self.workers, "workers", lo=1, hi=256, allow_none=True))
        object.__setattr__(self, "seed", check_int(self.seed, "seed", lo=0, hi=(1 << 31) - 1))
        object.__setattr__(self, "hint", check_choice(
            "none" if self.hint is None else self.hint, "hint", HINTS))


@dataclass(frozen=True, eq=False)
class BatchResult:
    """The outcome of ``solve_batch``.

    ``status`` is OPTIMAL only when proved (both levels of a lexicographic
    objective), FEASIBLE for a plan without proof, INFEASIBLE when no plan exists,
    UNKNOWN when none was found in time. ``pods`` are the batch's pods (replicas of a
    repeated template named ``<name>-<position>``) and ``nodes`` their nodes
    (None: not placed), aligned with the input. ``objective_value`` is in the
    objective's terms (weighted pods placed, nodes in use, or peak utilization in
    permille) and ``best_bound`` is the better of CP-SAT's bound and fastsched's own
    (an upper bound for max_placed, a lower bound otherwise; for the second level of
    a lexicographic objective it holds among plans placing at least
    ``placed_weight``); ``gap`` is ``|value - bound| / max(1, |value|)``.
    """

    status: str
    objective: str
    pods: tuple[Pod, ...]
    nodes: tuple[str | None, ...]
    objective_value: int | None
    best_bound: int | None
    gap: float | None
    placed: int
    placed_weight: int
    placed_bound: int
    nodes_before: int
    nodes_after: int
    wall_time: float
    workers: int
    options: BatchOptions
    stats: Mapping[str, Any] = field(default_factory=dict)

    @property
    def assignment(self) -> dict[str, str | None]:
        """Pod key → node name (None where not placed)."""
        return {pod.key: node for pod, node in zip(self.pods, self.nodes)}

    @property
    def bindings(self) -> list[tuple[Pod, str]]:
        """``(pod, node)`` for every placed pod, in input order."""
        return [(pod, node) for pod, node in zip(self.pods, self.nodes) if node is not None]

    @property
    def unplaced(self) -> tuple[Pod, ...]:
        return tuple(pod for pod, node in zip(self.pods, self.nodes) if node is None)

    def apply(self, cluster: Cluster) -> int:
        """Bind every placed pod, all or nothing; returns how many were bound.

        Everything is checked first (nodes exist, pods are not bound yet, the
        requests of all the pods a node receives fit its free room together); if a
        check fails, or a bind fails anyway, the pods already bound are unbound and
        the error is raised, so the cluster is unchanged.
        """
        if not isinstance(cluster, Cluster):
            raise ValidationError(f"expected a Cluster, got {type(cluster).__name__}",
                                  "cluster")
        pairs = self.bindings
        bound = cluster.pods
        per_node: dict[str, list[Pod]] = {}
        for pod, node in pairs:
            cluster.row(node)                       # NodeNotFoundError if it went away
            if pod.key in bound:
                raise DuplicateError(f"pod {pod.key} is already bound to a node", "pods")
            per_node.setdefault(node, []).append(pod)
        for node, pods in per_node.items():
            row = cluster.row(node)
            free = cluster.allocatable[row] - cluster.requested[row]
            need = np.zeros(len(cluster.resources), np.int64)
            for pod in pods:
                missing = cluster.missing_resources(pod)
                if missing:
                    raise DoesNotFitError(f"pod {pod.key}: no node offers {missing[0]}",
                                          (f"Insufficient {missing[0]}",))
                need += cluster.request_vector(pod)
            short = [r for r, want, have in zip(cluster.resources, need.tolist(),
                                                free.tolist()) if want > 0 and want > have]
            if short:
                raise DoesNotFitError(
                    f"the {len(pods)} pods planned for node {node!r} no longer fit: "
                    + ", ".join(f"Insufficient {r}" for r in short),
                    tuple(f"Insufficient {r}" for r in short))
        done: list[Pod] = []
        try:
            for pod, node in pairs:
                cluster.bind(pod, node)
                done.append(pod)
        except BaseException:
            for pod in reversed(done):
                cluster.unbind(pod)
            raise
        return len(done)


# -- the problem, as arrays -----------------------------------------------------------


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
    fixed_used: np.ndarray     # bool[n] nodes running pods
    limits: list[_Limit]
    spreads: list[_SpreadGroup]
    gangs: list[_GangGroup]
    balance_cols: np.ndarray   # resources of the peak utilization
    pod_shape: np.ndarray      # int64[T] shape of each pod of the batch
    pods_col: int
    node_names: tuple[str, ...]

    @property
    def S(self) -> int:
        return len(self.count)

    @property
    def eligible(self) -> np.ndarray:
        return self.cap.any(axis=0) if self.S else np.zeros(self.n, np.bool_)


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
    repeats = np.bincount(np.asarray(of, np.int64), minlength=len(objects)) if of else []
    taken = set(cluster.pods)
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
        name = f"{pod.name}-{t}"
        while f"{pod.namespace}/{name}" in taken:
            name += "-r"                      # a given pod already has the generated name
        taken.add(f"{pod.namespace}/{name}")
        out.append(pod.replica(name))
    return out


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
    for pod, node in cluster.bindings():
        row = None
        for c, selector in zip(counts, selectors):
            if selector.matches(pod.labels):
                row = cluster.row(node) if row is None else row
                c[row] += 1
    return counts


def _domains(cluster: Cluster, key: str) -> tuple[np.ndarray, int]:
    """Value code of ``key`` per node (-1: absent) and the number of values."""
    k = cluster.label_table.key_index.get(key)
    if k is None or len(cluster) == 0:
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
            dom, ndom = _domains(cluster, a.topology_key)
            per = np.bincount(dom[dom >= 0], weights=existing[dom >= 0],
                              minlength=ndom).astype(np.int64)
            limits.append(_Limit(shapes_in(members), dom,
                                 np.maximum(a.max_per_domain - per, 0)))
    limits.extend(_port_limits(cluster, reps))
    spread_groups: list[_SpreadGroup] = []
    for (path, sp), members in zip(spreads, spread_sets):
        existing = next(running) if isinstance(sp.pods, LabelSelector) \
            else np.zeros(n, np.int64)
        dom, ndom = _domains(cluster, sp.topology_key)
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
    return _Problem(n=n, cols=cols, A=A, count=count, weight=weight, priority=priority,
                    alloc=alloc, req=req, rem=rem, cap=cap,
                    fixed_used=np.asarray(cluster.pod_counts) > 0, limits=limits,
                    spreads=spread_groups, gangs=gang_groups, balance_cols=balance_cols,
                    pod_shape=pod_shape, pods_col=cluster.resources.index(PODS),
                    node_names=cluster.node_names)


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
    for node, ports in cluster.columns.ported_pods().values():
        for _, proto, port in ports:
            if (proto, port) in held:
                held[(proto, port)][cluster.row(node)] = 0
    return [_Limit(shapes, None, held[key]) for key, shapes in sorted(wanted.items())]


# -- evaluating a plan ----------------------------------------------------------------


def _evaluate(p: _Problem, X: np.ndarray) -> dict[str, int]:
    """Weighted pods placed, pods placed, nodes in use and peak utilization of ``X``."""
    load = X.sum(axis=0) if p.S else np.zeros(p.n, np.int64)
    return {"placed_weight": int((X.sum(axis=1) * p.weight).sum()) if p.S else 0,
            "placed": int(load.sum()),
            "nodes": int(np.count_nonzero(p.fixed_used | (load > 0))),
            "peak": _peak(p, X)}


def _peak(p: _Problem, X: np.ndarray) -> int:
    rows = np.flatnonzero(p.eligible)
    if not len(rows) or not len(p.balance_cols):
        return 0
    c = p.balance_cols
    used = p.req[np.ix_(rows, c)] + X[:, rows].T @ p.A[:, c]
    alloc = p.alloc[np.ix_(rows, c)]
    ok = alloc > 0
    util = -((-PERMILLE * used[ok]) // alloc[ok])          # ceil, exact in integers
    return int(util.max()) if util.size else 0


def _spread_ok(p: _Problem, X: np.ndarray) -> bool:
    for g in p.spreads:
        if not g.eligible.any():
            continue
        cnt = _domain_counts(g, X)
        values = cnt[g.eligible]
        if values.max() - values.min() > g.skew:
            return False
    return True


def _domains_ok(p: _Problem, X: np.ndarray) -> bool:
    """The rules that tie nodes together hold: per-domain limits and spreads."""
    for lim in p.limits:
        if lim.dom is not None:
            per_node = X[lim.shapes].sum(axis=0)
            keyed = lim.dom >= 0
            count = np.bincount(lim.dom[keyed], weights=per_node[keyed],
                                minlength=len(lim.left))
            if (count > lim.left).any():
                return False
    return _spread_ok(p, X)


def _domain_counts(g: _SpreadGroup, X: np.ndarray) -> np.ndarray:
    per_node = X[g.shapes].sum(axis=0)
    has = g.dom >= 0
    return g.existing + np.bincount(g.dom[has], weights=per_node[has],
                                    minlength=len(g.existing)).astype(np.int64)


# -- greedy ---------------------------------------------------------------------------


def _node_order(p: _Problem) -> np.ndarray:
    """Nodes in use first (row order), then empty nodes from the largest: free room
    per requested resource relative to the largest node, weighted by how scarce the
    resource is (the batch's demand over the free room of all nodes)."""
    cols = p.cols.tolist()
    if not p.n or not cols:
        return np.lexsort((np.arange(p.n), ~p.fixed_used))
    room = p.rem[:, cols].astype(np.float64)
    demand = (p.count[:, None] * p.A[:, cols]).sum(axis=0)
    scarcity = demand / np.maximum(room[p.eligible].sum(axis=0), 1.0)
    size = (room / np.maximum(room.max(axis=0), 1.0)) @ scarcity
    return np.lexsort((np.arange(p.n), -size, ~p.fixed_used))


class _Greedy:
    """A plan that respects everything, built without search: the solver's hint.

    Pods go in priority tiers (highest first). In a tier, gangs and shapes bound by
    a per-domain limit or a spread go first, one shape at a time (a gang that cannot
    reach min_member is rolled back). The other shapes are packed node by node in
    a fixed order (nodes in use, then empty nodes from the largest): each node takes
    the pod that best matches its free room (largest dot product of the request
    and the free room, both relative to the largest node) until nothing fits.
    Then, for "min_nodes", opened nodes are emptied into the other nodes in use when
    they can be. For "balance" every pod goes where the resulting peak is lowest.
    """

    def __init__(self, p: _Problem, objective: str) -> None:
        self.p = p
        self.objective = objective
        self.X = np.zeros((p.S, p.n), np.int64)
        self.rem = p.rem.copy()
        self.load = p.req.copy()
        self.left = [lim.left.copy() for lim in p.limits]
        self.counts = [g.existing.copy() for g in p.spreads]
        self.order = _node_order(p)
        self.position = np.empty(p.n, np.int64)
        self.position[self.order] = np.arange(p.n)
        cols = p.cols
        self.scale = np.maximum(p.rem[:, cols].max(axis=0), 1).astype(np.float64) \
            if p.n else np.ones(len(cols))
        self.gang_of = {s: g for g, gang in enumerate(p.gangs) for s in gang.shapes}
        self.node_limits = [[i for i, lim in enumerate(p.limits)
                             if s in lim.shapes and lim.dom is None] for s in range(p.S)]
        self.domain_bound = [any(s in lim.shapes and lim.dom is not None for lim in p.limits)
                             or any(s in g.shapes for g in p.spreads) for s in range(p.S)]

    # -- state --------------------------------------------------------------------------

    def room(self, s: int, rows: Any) -> np.ndarray:
        """How many more pods of shape s each of ``rows`` takes (ignoring domains)."""
        p = self.p
        need = np.flatnonzero(p.A[s] > 0)
        k = (self.rem[rows][:, need] // p.A[s, need]).min(axis=1)
        k = np.minimum(k, p.cap[s, rows])
        for i in self.node_limits[s]:
            k = np.minimum(k, self.left[i][rows])
        return k

    def place(self, s: int, rows: np.ndarray, take: np.ndarray) -> None:
        p = self.p
        self.X[s, rows] += take
        self.rem[rows] -= take[:, None] * p.A[s]
        self.load[rows] += take[:, None] * p.A[s]
        for lim, left in zip(p.limits, self.left):
            if s in lim.shapes:
                if lim.dom is None:
                    np.subtract.at(left, rows, take)
                else:
                    keyed = lim.dom[rows] >= 0
                    np.subtract.at(left, lim.dom[rows][keyed], take[keyed])
        for g, cnt in zip(p.spreads, self.counts):
            if s in g.shapes:
                np.add.at(cnt, g.dom[rows], take)

    def save(self) -> tuple:
        return (self.X.copy(), self.rem.copy(), self.load.copy(),
                [a.copy() for a in self.left], [c.copy() for c in self.counts])

    def restore(self, saved: tuple) -> None:
        self.X, self.rem, self.load, self.left, self.counts = saved

    # -- passes -------------------------------------------------------------------------

    def run(self) -> np.ndarray:
        p = self.p
        if not p.S or not p.n:
            return self.X
        for level in sorted(set(p.priority.tolist()), reverse=True):
            tier = [s for s in range(p.S) if p.priority[s] == level]
            size = (p.A[:, p.cols] / self.scale).max(axis=1)
            for g, gang in enumerate(p.gangs):
                if gang.shapes[0] in tier:
                    saved = self.save()
                    placed = sum(self.shape_fill(s) for s in
                                 sorted(gang.shapes, key=lambda s: (-size[s], s)))
                    if placed < gang.min_member:
                        self.restore(saved)          # all or none
            free = [s for s in tier if s not in self.gang_of]
            for s in sorted((s for s in free if self.domain_bound[s]),
                            key=lambda s: (-size[s], s)):
                self.shape_fill(s)
            rest = [s for s in free if not self.domain_bound[s]]
            if self.objective == "balance":
                for s in sorted(rest, key=lambda s: (-size[s], s)):
                    self.shape_fill(s)
            elif rest:
                self.node_fill(rest)
        if self.objective == "min_nodes":
            self.consolidate()
        return self.X

    def shape_fill(self, s: int) -> int:
        """All pods of shape s, one shape at a time; returns how many were placed."""
        p, n = self.p, self.p.n
        todo = int(p.count[s])
        if self.objective != "balance" and not self.domain_bound[s]:
            k = self.room(s, self.order)              # first fit, the whole shape at once
            take = np.clip(todo - (np.cumsum(k) - k), 0, k)
            hit = take > 0
            self.place(s, self.order[hit], take[hit])
            return int(take.sum())
        k = self.room(s, np.arange(n))
        bcols = p.balance_cols
        alloc = p.alloc[:, bcols].astype(np.float64)
        inv = np.where(alloc > 0, 1.0 / np.where(alloc > 0, alloc, 1.0), 0.0)
        placed = 0
        for _ in range(todo):
            mask = k > 0
            for lim, left in zip(p.limits, self.left):
                if s in lim.shapes and lim.dom is not None:
                    mask &= (lim.dom < 0) | (left[np.maximum(lim.dom, 0)] > 0)
            for g, cnt in zip(p.spreads, self.counts):
                if s in g.shapes:
                    low = int(cnt[g.eligible].min()) if g.eligible.any() else 0
                    ok = g.eligible & (cnt + 1 - low <= g.skew)
                    mask &= (g.dom >= 0) & ok[np.maximum(g.dom, 0)]
            if not mask.any():
                break
            if self.objective == "balance":
                after = ((self.load[:, bcols] + p.A[s, bcols]) * inv).max(axis=1)
                node = int(np.argmin(np.where(mask, after, np.inf)))
            else:
                node = int(np.argmin(np.where(mask, self.position, n)))
            one = np.array([node])
            self.place(s, one, np.ones(1, np.int64))
            k[node] = self.room(s, one)[0]
            placed += 1
        return placed

    def node_fill(self, shapes: list[int]) -> None:
        """Node by node, the pod that best matches the node's free room first."""
        p = self.p
        shapes_a = np.array(shapes, np.int64)
        todo = p.count[shapes_a] - self.X[shapes_a].sum(axis=1)
        A = p.A[shapes_a]
        need = [np.flatnonzero(A[i] > 0) for i in range(len(shapes))]
        direction = A[:, p.cols] / self.scale
        eligible = p.cap[shapes_a] > 0
        for node in self.order.tolist():
            if not todo.any():
                break
            live = np.flatnonzero((todo > 0) & eligible[:, node])
            if not len(live):
                continue
            fits = np.array([self.room(shapes[i], [node])[0] for i in live])
            live, fits = live[fits > 0], fits[fits > 0]
            while len(live):
                score = direction[live] @ (self.rem[node, p.cols] / self.scale)
                best = int(np.argmax(score))
                i = int(live[best])
                step = max(1, min(int(fits[best]), int(todo[i])) // 4)
                self.place(shapes[i], np.array([node]), np.array([step], np.int64))
                todo[i] -= step
                rem = self.rem[node]
                fits = np.array([min(int((rem[need[j]] // A[j, need[j]]).min()), int(todo[j]))
                                 for j in live.tolist()], np.int64)
                for idx, j in enumerate(live.tolist()):
                    for lim_i in self.node_limits[shapes[j]]:
                        fits[idx] = min(fits[idx], int(self.left[lim_i][node]))
                    fits[idx] = min(fits[idx], int(p.cap[shapes[j], node]
                                                   - self.X[shapes[j], node]))
                keep = fits > 0
                live, fits = live[keep], fits[keep]

    def consolidate(self) -> None:
        """Empty opened nodes, least loaded first, into the other nodes in use."""
        p = self.p
        movable = [not self.domain_bound[s] for s in range(p.S)]
        opened = np.flatnonzero((self.X.sum(axis=0) > 0) & ~p.fixed_used)
        for node in opened[np.argsort(self.X[:, opened].sum(axis=0), kind="stable")].tolist():
            shapes = np.flatnonzero(self.X[:, node]).tolist()
            if not all(movable[s] for s in shapes):
                continue
            saved = self.save()
            others = np.flatnonzero((p.fixed_used | (self.X.sum(axis=0) > 0)))
            others = others[others != node]
            others = others[np.argsort(self.position[others], kind="stable")]
            ok = True
            for s in sorted(shapes, key=lambda s: -float((p.A[s, p.cols] / self.scale).max())):
                count = int(self.X[s, node])
                self.place(s, np.array([node]), np.array([-count], np.int64))
                k = self.room(s, others)
                take = np.clip(count - (np.cumsum(k) - k), 0, k)
                if take.sum() < count:
                    ok = False
                    break
                hit = take > 0
                self.place(s, others[hit], take[hit])
            if not ok:
                self.restore(saved)


def _greedy(p: _Problem, objective: str) -> np.ndarray:
    """The greedy plan of ``_Greedy``."""
    return _Greedy(p, objective).run()


# -- symmetry -------------------------------------------------------------------------


def _symmetry_classes(p: _Problem) -> list[np.ndarray]:
    """Rows of interchangeable empty nodes (same room for every shape, same free
    room, same domains for every group), in row order; only classes of two or more."""
    rows = np.flatnonzero(p.eligible & ~p.fixed_used)
    if len(rows) < 2:
        return []
    parts = [p.cap[:, rows].T, p.rem[rows], p.alloc[rows]]
    for lim in p.limits:
        parts.append((lim.left[rows] if lim.dom is None else lim.dom[rows])[:, None])
    for g in p.spreads:
        parts.append(g.dom[rows][:, None])
    sig = np.ascontiguousarray(np.hstack(parts).astype(np.int64))
    _, inverse = np.unique(sig.view(np.dtype((np.void, sig.shape[1] * 8))).ravel(),
                           return_inverse=True)
    classes = []
    for c in np.unique(inverse):
        members = rows[inverse == c]
        if len(members) > 1:
            classes.append(members)
    return classes


def _canonical(X: np.ndarray, classes: list[np.ndarray]) -> np.ndarray:
    """The same plan with each class's node contents sorted by pod count, descending
    (stable), so that it meets the symmetry-breaking order."""
    X = X.copy()
    for members in classes:
        load = X[:, members].sum(axis=0)
        ranked = members[np.argsort(-load, kind="stable")]
        X[:, members] = X[:, ranked]
    return X


# -- bounds ---------------------------------------------------------------------------


def _placed_bound(p: _Problem) -> int:
    """Upper bound on the weight placed: each shape at most its pods, at most what
    all nodes can take of it; a gang that cannot reach min_member counts 0."""
    most = np.minimum(p.count, p.cap.sum(axis=1)) if p.S else np.zeros(0, np.int64)
    for gang in p.gangs:
        if most[gang.shapes].sum() < gang.min_member:
            most[gang.shapes] = 0
    return int((most * p.weight).sum())


def _least_demand(p: _Problem, target: int) -> np.ndarray:
    """Per resource, the least a plan placing weight >= ``target`` requests
    (fractional knapsack: cheapest pods per unit of weight first)."""
    demand = np.zeros(p.A.shape[1], np.float64)
    total = int((p.count * p.weight).sum())
    if target >= total:
        return (p.count[:, None] * p.A).sum(axis=0).astype(np.float64)
    for r in p.cols.tolist():
        need, acc = float(target), 0.0
        for s in np.argsort(p.A[:, r] / p.weight, kind="stable").tolist():
            if need <= 0:
                break
            take = min(float(p.count[s]), need / float(p.weight[s]))
            acc += take * float(p.A[s, r])
            need -= take * float(p.weight[s])
        demand[r] = acc
    return demand


def _nodes_bound(p: _Problem, target: int) -> int:
    """Lower bound on the nodes in use for plans placing weight >= ``target``:
    nodes running pods, plus the fewest empty nodes whose free room covers, resource
    by resource, what the nodes in use cannot hold. Empty nodes are grouped by their
    room vector and the covering solved as a small integer program (a relaxation of
    placement, so its optimum is a valid bound); per resource, largest room first,
    when there are too many groups or no solver."""
    fixed = int(np.count_nonzero(p.fixed_used))
    if target <= 0:
        return fixed
    demand = _least_demand(p, target)
    eligible = p.eligible
    open_rows = eligible & ~p.fixed_used
    extra = 1 if not p.fixed_used.any() else 0
    cols = p.cols.tolist()
    need = np.array([demand[r] - float(p.rem[eligible & p.fixed_used, r].sum())
                     for r in cols])
    for i, r in enumerate(cols):
        if need[i] <= 0:
            continue
        room = np.sort(p.rem[open_rows, r])[::-1].astype(np.float64)
        k = int(np.searchsorted(np.cumsum(room), need[i] - 1e-9)) + 1
        extra = max(extra, min(k, len(room)))
    covered = _covering_bound(p.rem[open_rows][:, cols], need)
    if covered is not None:
        extra = max(extra, covered)
    return fixed + extra


def _covering_bound(rooms: np.ndarray, need: np.ndarray) -> int | None:
    """min sum(x) with rooms[type] . x >= need per resource, x integer in [0, count]
    (None when it cannot be solved quickly: then the per-resource bound stands)."""
    wanted = need > 0
    if not wanted.any() or not len(rooms):
        return None
    types, counts = np.unique(rooms[:, wanted], axis=0, return_counts=True)
    if len(types) > 200:
        return None
    try:
        from scipy.optimize import Bounds, LinearConstraint, milp
    except ImportError:         # pragma: no cover - scipy is a dependency
        return None
    result = milp(c=np.ones(len(types)),
                  constraints=LinearConstraint(types.T.astype(np.float64),
                                               lb=need[wanted] - 1e-6, ub=np.inf),
                  integrality=np.ones(len(types)), bounds=Bounds(0, counts),
                  options={"time_limit": 0.5})
    if result.status != 0 or result.x is None:
        return None         # not proved optimal in time: its value is no bound
    return int(round(result.fun))


def _peak_bound(p: _Problem, target: int) -> int:
    """Lower bound on the peak utilization: the current peak of the nodes that can
    receive pods, the average over them once the least demand is added, and for a
    batch placed in full, the best single node for each shape."""
    rows = np.flatnonzero(p.eligible)
    c = p.balance_cols
    if not len(rows) or not len(c):
        return 0
    alloc, used = p.alloc[np.ix_(rows, c)], p.req[np.ix_(rows, c)]
    ok = alloc > 0
    best = int((-((-PERMILLE * used[ok]) // alloc[ok])).max()) if ok.any() else 0
    demand = _least_demand(p, target)[c]
    total_alloc = alloc.sum(axis=0)
    for j in range(len(c)):
        if total_alloc[j] > 0:
            avg = PERMILLE * (float(used[:, j].sum()) + demand[j]) / float(total_alloc[j])
            best = max(best, math.ceil(avg - 1e-9))
    if target >= int((p.count * p.weight).sum()):
        for s in np.flatnonzero(p.count).tolist():
            where = np.flatnonzero(p.cap[s, rows] > 0)
            if not len(where):
                continue
            a, u = alloc[where], used[where] + p.A[s, c]
            util = np.where(a > 0, -((-PERMILLE * u) // np.where(a > 0, a, 1)), 0)
            best = max(best, int(util.max(axis=1).min()))
    return best


# -- CP-SAT ---------------------------------------------------------------------------


class _Model:
    """The CP-SAT model of one problem (kept inside this module: no cp_model object
    leaves it)."""

    def __init__(self, p: _Problem, objective: str, classes: list[np.ndarray]) -> None:
        from ortools.sat.python import cp_model
        self.cp = cp_model
        self.p = p
        m = self.model = cp_model.CpModel()
        S, n = p.S, p.n
        LinearExpr = cp_model.LinearExpr

        # variables: pods of each shape on each node, pods placed per shape, nodes used
        self.pairs = np.argwhere(p.cap > 0)                    # (shape, node), by shape
        caps = p.cap[self.pairs[:, 0], self.pairs[:, 1]].tolist()
        self.x = [m.new_int_var(0, c, "") for c in caps]
        self.x_index = np.array([v.index for v in self.x], np.int64)
        by_node: list[list[int]] = [[] for _ in range(n)]
        by_shape: list[list[int]] = [[] for _ in range(S)]
        for j, (s, node) in enumerate(self.pairs.tolist()):
            by_node[node].append(j)
            by_shape[s].append(j)
        self.by_node = by_node
        self.placed = [m.new_int_var(0, int(p.count[s]), "") for s in range(S)]
        for s in range(S):
            m.add(LinearExpr.sum([self.x[j] for j in by_shape[s]]) == self.placed[s])
        self.weighted = LinearExpr.weighted_sum(self.placed, p.weight.tolist())
        self.used: dict[int, Any] = {}
        if objective == "min_nodes":
            for node in range(n):
                if by_node[node] and not p.fixed_used[node]:
                    self.used[node] = m.new_bool_var("")

        # capacity of every node, per resource; an empty node only if it is used
        for node in range(n):
            js = by_node[node]
            if not js:
                continue
            shapes = self.pairs[js, 0]
            xs = [self.x[j] for j in js]
            caps_n = p.cap[shapes, node]
            used = self.used.get(node)
            for r in p.cols.tolist():
                coef = p.A[shapes, r]
                if not coef.any():
                    continue
                room = int(p.rem[node, r])
                if int(coef @ caps_n) <= room and (used is None or r != p.cols[0]):
                    continue                          # cannot bind: redundant
                expr = LinearExpr.weighted_sum(xs, coef.tolist())
                m.add(expr <= room * used if used is not None else expr <= room)
            if used is not None:
                most = int(min(caps_n.sum(), p.rem[node, p.pods_col]))
                m.add(LinearExpr.sum(xs) <= most * used)
                if len(self.x) <= _LINK_LIMIT:
                    # stronger LP: a shape that fits c times needs a node per c pods
                    for var, c in zip(xs, caps_n.tolist()):
                        if c < most:
                            m.add(var <= c * used)

        # anti-affinity and host ports
        for lim in p.limits:
            shapes = set(lim.shapes)
            if lim.dom is None:
                for node in range(n):
                    js = [j for j in by_node[node] if self.pairs[j, 0] in shapes]
                    if len(js) > 1 and sum(caps[j] for j in js) > lim.left[node]:
                        m.add(LinearExpr.sum([self.x[j] for j in js]) <= int(lim.left[node]))
            else:
                groups: dict[int, list[int]] = {}
                for j, (s, node) in enumerate(self.pairs.tolist()):
                    if s in shapes and lim.dom[node] >= 0:
                        groups.setdefault(int(lim.dom[node]), []).append(j)
                for d, js in groups.items():
                    if sum(caps[j] for j in js) > lim.left[d]:
                        m.add(LinearExpr.sum([self.x[j] for j in js]) <= int(lim.left[d]))

        # spread: every domain's count between lo and hi, hi - lo <= maxSkew
        self.spread_vars = []
        for g in p.spreads:
            if not g.eligible.any():
                self.spread_vars.append(None)
                continue
            shapes = set(g.shapes)
            top = int(g.existing.max() + p.count[g.shapes].sum())
            lo, hi = m.new_int_var(0, top, ""), m.new_int_var(0, top, "")
            members: dict[int, list[int]] = {int(d): [] for d in np.flatnonzero(g.eligible)}
            for j, (s, node) in enumerate(self.pairs.tolist()):
                if s in shapes:
                    members[int(g.dom[node])].append(j)
            for d, js in members.items():
                cnt = LinearExpr.sum([self.x[j] for j in js]) + int(g.existing[d])
                m.add(cnt >= lo)
                m.add(cnt <= hi)
            m.add(hi - lo <= g.skew)
            self.spread_vars.append((lo, hi))

        # gangs: none, or at least min_member
        self.gang_vars = []
        for gang in p.gangs:
            on = m.new_bool_var("")
            total = LinearExpr.sum([self.placed[s] for s in gang.shapes])
            m.add(total >= gang.min_member * on)
            m.add(total <= gang.size * on)
            self.gang_vars.append(on)

        # symmetry: interchangeable empty nodes in use first, fuller first
        for members in classes:
            members = [int(v) for v in members]
            for a, b in zip(members, members[1:]):
                if a in self.used and b in self.used:
                    m.add(self.used[a] >= self.used[b])
                m.add(LinearExpr.sum([self.x[j] for j in by_node[a]])
                      >= LinearExpr.sum([self.x[j] for j in by_node[b]]))

        # balance: peak >= utilization of every receiving node, in permille
        self.peak = None
        if objective == "balance":
            top = max(PERMILLE, _peak(p, np.zeros_like(p.cap)))
            self.peak = m.new_int_var(0, top, "")
            for node in range(n):
                js = by_node[node]
                if not js:
                    continue
                shapes = self.pairs[js, 0]
                xs = [self.x[j] for j in js]
                for r in p.balance_cols.tolist():
                    a = int(p.alloc[node, r])
                    if a <= 0:
                        continue
                    coef = (PERMILLE * p.A[shapes, r]).tolist()
                    m.add(LinearExpr.weighted_sum(xs, coef) + PERMILLE * int(p.req[node, r])
                          <= a * self.peak)

    def hint(self, X: np.ndarray) -> None:
        m, p = self.model, self.p
        m.clear_hints()
        values = X[self.pairs[:, 0], self.pairs[:, 1]].tolist()
        for var, value in zip(self.x, values):
            m.add_hint(var, value)
        per_shape = X.sum(axis=1).tolist()
        for var, value in zip(self.placed, per_shape):
            m.add_hint(var, value)
        load = X.sum(axis=0)
        for node, var in self.used.items():
            m.add_hint(var, bool(load[node] > 0))
        for g, pair in zip(p.spreads, self.spread_vars):
            if pair is not None:
                cnt = _domain_counts(g, X)[g.eligible]
                m.add_hint(pair[0], int(cnt.min()))
                m.add_hint(pair[1], int(cnt.max()))
        for gang, on in zip(p.gangs, self.gang_vars):
            m.add_hint(on, bool(X[gang.shapes].sum() > 0))
        if self.peak is not None:
            m.add_hint(self.peak, _peak(p, X))

    def plan(self, solution: Sequence[int]) -> np.ndarray:
        X = np.zeros_like(self.p.cap)
        values = np.asarray(solution, np.int64)[self.x_index] if len(self.x_index) \
            else np.zeros(0, np.int64)
        X[self.pairs[:, 0], self.pairs[:, 1]] = values
        return X


class _Progress:
    """Turns CP-SAT's incumbents and bounds into the caller's terms and reports them
    when they improve."""

    def __init__(self, report: Callable[[int, int], Any] | None, to_user: Callable[[float], int],
                 own_bound: int, maximize: bool, incumbent: int | None) -> None:
        self.report = report
        self.to_user = to_user
        self.own = own_bound
        self.maximize = maximize
        self.incumbent = incumbent
        self.bound = own_bound
        self.error: BaseException | None = None
        self.solutions = 0
        self.last: tuple | None = None

    def tighten(self, solver_bound: float) -> None:
        value = self.to_user(solver_bound)
        self.bound = min(self.bound, value) if self.maximize else max(self.bound, value)

    def emit(self) -> None:
        if self.report is None or self.incumbent is None:
            return
        now = (self.incumbent, self.bound)
        if now != self.last:
            self.last = now
            try:
                self.report(*now)
            except BaseException as err:      # raised again once the solver returns
                self.error = self.error or err


def _solve_phase(model: _Model, budget: float, options: BatchOptions, workers: int,
                 progress: _Progress) -> dict[str, Any]:
    """One CP-SAT search; returns status name, plan, objective, bound, statistics."""
    cp = model.cp
    solver = cp.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = max(budget, 0.01)
    params.num_workers = workers
    params.random_seed = options.seed % (1 << 31)
    params.log_search_progress = False

    class Callback(cp.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            progress.solutions += 1
            progress.incumbent = progress.to_user(self.objective_value)
            progress.tighten(self.best_objective_bound)
            progress.emit()
            if progress.error is not None:
                self.stop_search()

    def on_bound(bound: float) -> None:
        progress.tighten(bound)
        progress.emit()

    try:
        solver.best_bound_callback = on_bound
    except AttributeError:   # older OR-Tools: bounds arrive with solutions only
        pass
    code = solver.solve(model.model, Callback())
    name = solver.status_name(code)
    response = solver.response_proto
    out = {"status": name, "plan": None, "value": None, "bound": None,
           "stats": {"conflicts": int(response.num_conflicts),
                     "branches": int(response.num_branches),
                     "wall_time": float(response.wall_time),
                     "deterministic_time": float(response.deterministic_time),
                     "solutions": progress.solutions}}
    if name in ("OPTIMAL", "FEASIBLE"):
        out["plan"] = model.plan(response.solution)
        out["value"] = solver.objective_value
        out["bound"] = solver.best_objective_bound
    if progress.error is not None:
        raise progress.error
    return out


# -- large-neighbourhood search ---------------------------------------------------------


def _subproblem(p: _Problem, X: np.ndarray, rows: np.ndarray) -> _Problem:
    """Re-placing the batch pods that ``X`` puts on ``rows`` among ``rows`` alone, every
    other node keeping its pods: the limits and spreads count what the others keep."""
    count = X[:, rows].sum(axis=1)
    outside = X.copy()
    outside[:, rows] = 0
    cap = np.minimum(p.cap[:, rows], count[:, None])
    limits = []
    for lim in p.limits:
        if lim.dom is None:
            limits.append(_Limit(lim.shapes, None, lim.left[rows]))
            continue
        per_node = outside[lim.shapes].sum(axis=0)
        keyed = lim.dom >= 0
        taken = np.bincount(lim.dom[keyed], weights=per_node[keyed],
                            minlength=len(lim.left)).astype(np.int64)
        left = np.maximum(lim.left - taken, 0)
        dom = lim.dom[rows]
        keyed = dom >= 0
        for s in lim.shapes:
            cap[s, keyed] = np.minimum(cap[s, keyed], left[dom[keyed]])
        limits.append(_Limit(lim.shapes, dom, left))
    spreads = [_SpreadGroup(g.shapes, g.dom[rows], _domain_counts(g, outside), g.eligible,
                            g.skew) for g in p.spreads]
    return _Problem(n=len(rows), cols=p.cols, A=p.A, count=count, weight=p.weight,
                    priority=p.priority, alloc=p.alloc[rows], req=p.req[rows],
                    rem=p.rem[rows], cap=cap, fixed_used=p.fixed_used[rows], limits=limits,
                    spreads=spreads, gangs=[], balance_cols=p.balance_cols,
                    pod_shape=np.zeros(0, np.int64), pods_col=p.pods_col,
                    node_names=tuple(p.node_names[r] for r in rows.tolist()))


class _Lns:
    """Large-neighbourhood search for "min_nodes": empty a few opened nodes.

    A neighbourhood takes *victims*, the opened nodes least filled (with seeded noise),
    and draws other nodes in use, and a few empty ones, by how much of the victims'
    pods they could take; CP-SAT then re-places every batch pod of those nodes among
    them (the same pods of each shape, so placed weight and gangs are unchanged) for
    the fewest nodes in use, then the least left on the victims, from the current
    plan. A plan using no more nodes replaces the current one, so the victims drain
    over steps even when none closes at once. Each round searches one disjoint
    neighbourhood per thread; a neighbourhood solved to optimality grows the next one,
    a timed-out one shrinks it.
    """

    def __init__(self, p: _Problem, X: np.ndarray, options: BatchOptions,
                 threads: int) -> None:
        self.p = p
        self.threads = max(1, min(threads, _LNS_THREADS))
        self.X = X.copy()
        self.value = _evaluate(p, X)["nodes"]
        self.seed = options.seed
        self.rng = np.random.default_rng(options.seed)
        self.size = float(_LNS_SIZE)
        cols = p.cols
        scale = np.maximum(p.rem[:, cols].max(axis=0), 1).astype(np.float64)
        # a pod's size: its largest request relative to the largest free room, in 1..100
        self.pod_size = np.maximum(np.ceil(100 * (p.A[:, cols] / scale).max(axis=1)),
                                   1).astype(np.int64) if p.S else np.zeros(0, np.int64)
        self.stats = {"objective": "lns", "status": "FEASIBLE", "steps": 0, "closed": 0,
                      "optimal_steps": 0, "conflicts": 0, "branches": 0, "wall_time": 0.0}

    def takes(self, rows: np.ndarray, free: np.ndarray, moving: np.ndarray) -> np.ndarray:
        """Per row, the size of the moving pods it could take in ``free`` room."""
        p = self.p
        out = np.zeros(len(rows), np.float64)
        for s in np.flatnonzero(moving).tolist():
            need = np.flatnonzero(p.A[s] > 0)
            k = (free[:, need] // p.A[s, need]).min(axis=1)
            k = np.minimum(np.minimum(k, p.cap[s, rows]), moving[s])
            out += np.maximum(k, 0) * self.pod_size[s]
        return out

    def neighbourhood(self, taken: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, victims), both sorted, avoiding the ``taken`` rows (bool[n])."""
        p, X, rng = self.p, self.X, self.rng
        cols = p.cols
        in_use = p.fixed_used | (X.sum(axis=0) > 0)
        opened = np.flatnonzero(in_use & ~p.fixed_used & ~taken)
        if not len(opened):
            return opened, opened
        filled = ((X[:, opened].T @ p.A[:, cols])
                  / np.maximum(p.rem[np.ix_(opened, cols)], 1)).max(axis=1)
        ranked = np.argsort(filled + _LNS_NOISE * rng.random(len(opened)), kind="stable")
        victims = np.sort(opened[ranked[:_LNS_VICTIMS]])
        moving = X[:, victims].sum(axis=1)

        def draw(pool: np.ndarray, k: int, free: np.ndarray) -> np.ndarray:
            if not len(pool) or k <= 0:
                return pool[:0]
            w = self.takes(pool, free, moving) + 1.0
            return rng.choice(pool, size=min(k, len(pool)), replace=False, p=w / w.sum())

        pool = in_use & p.eligible & ~taken
        pool[victims] = False
        pool = np.flatnonzero(pool)
        partners = draw(pool, int(self.size), p.rem[pool] - X[:, pool].T @ p.A)
        empty = np.flatnonzero(~in_use & p.eligible & ~taken)
        spare = draw(empty, _LNS_EMPTY, p.rem[empty])
        return np.unique(np.concatenate([victims, partners, spare])), victims

    def prepare(self, rows: np.ndarray, victims: np.ndarray) -> _Model:
        """The model of re-placing the pods of ``rows``, hinted with the current plan."""
        sub = _subproblem(self.p, self.X, rows)
        classes = _symmetry_classes(sub)
        model = _Model(sub, "min_nodes", classes)
        cp, m = model.cp, model.model
        for var, c in zip(model.placed, sub.count.tolist()):
            m.add(var == c)
        # fewest nodes first, then the least left on the victims
        js = [j for v in np.searchsorted(rows, victims).tolist() for j in model.by_node[v]]
        shapes = model.pairs[js, 0]
        sizes = self.pod_size[shapes]
        heavy = 1 + int(sizes @ sub.cap[shapes, model.pairs[js, 1]]) if js else 1
        m.minimize(heavy * cp.LinearExpr.sum(list(model.used.values()))
                   + cp.LinearExpr.weighted_sum([model.x[j] for j in js], sizes.tolist()))
        model.hint(_canonical(self.X[:, rows], classes))
        return model

    @staticmethod
    def solve(model: _Model, seconds: float, seed: int) -> tuple[str, np.ndarray | None,
                                                                 int, int]:
        """CP-SAT on one neighbourhood: status, plan, conflicts, branches (runs in a
        thread: CP-SAT releases the GIL while it searches)."""
        solver = model.cp.CpSolver()
        params = solver.parameters
        params.max_time_in_seconds = max(seconds, 0.01)
        params.num_workers = 1            # small models: more steps beat more threads
        params.random_seed = seed % (1 << 31)
        name = solver.status_name(solver.solve(model.model))
        response = solver.response_proto
        plan = model.plan(response.solution) if name in ("OPTIMAL", "FEASIBLE") else None
        return name, plan, int(response.num_conflicts), int(response.num_branches)

    def round(self, pool: Any, seconds: float) -> bool:
        """One neighbourhood per thread, disjoint, searched at once, then merged one by
        one where the plan stays valid and uses no more nodes; True if it improved."""
        p = self.p
        taken = np.zeros(p.n, np.bool_)
        jobs = []
        for _ in range(self.threads):
            rows, victims = self.neighbourhood(taken)
            if not len(victims):
                break
            taken[rows] = True
            seed = self.seed + self.stats["steps"]
            self.stats["steps"] += 1
            model = self.prepare(rows, victims)
            jobs.append((rows, pool.submit(self.solve, model, seconds, seed)))
        before = self.value
        for rows, job in jobs:
            name, plan, conflicts, branches = job.result()
            self.stats["conflicts"] += conflicts
            self.stats["branches"] += branches
            if name == "OPTIMAL":
                self.stats["optimal_steps"] += 1
                self.size = min(self.size * 1.2, _LNS_SIZES[1])
            else:
                self.size = max(self.size / 1.2, _LNS_SIZES[0])
            if plan is None:
                continue
            Y = self.X.copy()
            Y[:, rows] = plan
            value = _evaluate(p, Y)["nodes"]
            # neighbourhoods share per-domain limits and spreads: check them together
            if value <= self.value and (len(jobs) == 1 or _domains_ok(p, Y)):
                self.X, self.value = Y, value
        self.stats["closed"] += before - self.value
        return self.value < before

    def run(self, deadline: float, bound: int,
            on_improve: Callable[[int], Any] | None = None) -> np.ndarray:
        """Rounds until ``deadline`` (perf_counter seconds) or the plan meets ``bound``."""
        from concurrent.futures import ThreadPoolExecutor
        start = time.perf_counter()
        with ThreadPoolExecutor(self.threads) as pool:
            while self.value > bound:
                left = deadline - time.perf_counter()
                if left < 0.02:
                    break
                if self.round(pool, min(_LNS_STEP, left)) and on_improve is not None:
                    on_improve(self.value)
        self.stats["wall_time"] = time.perf_counter() - start
        return self.X


# -- the public function --------------------------------------------------------------


def solve_batch(cluster: Cluster, pods: Iterable[Pod], *, objective: str = "min_nodes",
                time_limit: float = 10.0, workers: int | None = None, seed: int = 0,
                gangs: Any = None, spread: Any = None, anti_affinity: Any = None,
                hint: str | None = "greedy",
                progress: Callable[[int, int], Any] | None = None) -> BatchResult:
    """Place ``pods`` on ``cluster`` at once, optimizing ``objective``; see the module
    docstring for what is respected and how objectives are ranked.

    ``time_limit`` bounds the whole call (it returns within about a second more);
    ``workers`` is CP-SAT's number of search workers (default: the CPU count), and the
    number of neighbourhoods the large-neighbourhood search explores at once;
    ``seed`` its random seed. ``gangs``, ``anti_affinity``, ``spread``: one group, a
    list, or a mapping of name to group (``Gang``, ``AntiAffinity``, ``Spread``, a
    dict of their fields or a tuple of them). ``hint="greedy"`` starts the search
    from a greedy plan, also returned if the search finds nothing better; ``None``
    searches from scratch. ``progress(incumbent, bound)`` is called as either
    improves, in the objective's terms. A pod object given several times stands for
    replicas, named ``<name>-<position in pods>``; other pods need unique keys not
    bound in the cluster. Nothing changes in the cluster: see ``BatchResult.apply``.
    """
    start = time.perf_counter()
    # data: validate everything once
    if not isinstance(cluster, Cluster):
        raise ValidationError(f"expected a Cluster, got {type(cluster).__name__}", "cluster")
    options = BatchOptions(objective, time_limit, workers, seed, hint)
    if progress is not None and not callable(progress):
        raise ValidationError(f"expected a callable or None, got {type(progress).__name__}",
                              "progress")
    if isinstance(pods, (str, bytes, Pod)) or not isinstance(pods, Iterable):
        raise ValidationError(f"expected a list of Pods, got {type(pods).__name__}", "pods")
    pods = list(pods)
    n_workers = options.workers or os.cpu_count() or 1
    objects, of = _names(cluster, pods)
    groups = (_group_list(gangs, Gang, "gangs"),
              _group_list(anti_affinity, AntiAffinity, "anti_affinity"),
              _group_list(spread, Spread, "spread"))
    final = _final_pods(cluster, pods, objects, of)
    p = _problem(cluster, pods, objects, of, *groups, objective=options.objective)
    return _search(p, final, options, n_workers, progress, start)


def _reserve(model: _Model) -> float:
    """Seconds to keep back after a search: reading the plan and the report."""
    return _REPORT_RESERVE + _REPORT_PER_VAR * len(model.x)


def _aggregate_room(model: _Model, target: int) -> None:
    """A redundant cut for "min_nodes" with every pod placed: per resource, the free
    room of the empty nodes opened covers what the nodes in use cannot hold."""
    p, m = model.p, model.model
    if not model.used:
        return
    rows = sorted(model.used)
    demand = _least_demand(p, target)
    in_use = p.eligible & p.fixed_used
    for r in p.cols.tolist():
        rest = int(math.ceil(demand[r] - 1e-9)) - int(p.rem[in_use, r].sum())
        if rest > 0:
            m.add(model.cp.LinearExpr.weighted_sum(
                [model.used[i] for i in rows], p.rem[rows, r].tolist()) >= rest)


def _assign(p: _Problem, X: np.ndarray | None, count: int) -> list[str | None]:
    """Node per pod: within a shape, pods in input order to nodes in row order."""
    out: list[str | None] = [None] * count
    if X is None:
        return out
    names = p.node_names
    for s in range(p.S):
        rows = np.flatnonzero(X[s])
        if not len(rows):
            continue
        targets = np.repeat(rows, X[s, rows]).tolist()
        positions = np.flatnonzero(p.pod_shape == s).tolist()
        for t, row in zip(positions, targets):
            out[t] = names[row]
    return out


def _search(p: _Problem, final: list[Pod], options: BatchOptions, workers: int,
            progress: Callable[[int, int], Any] | None, start: float) -> BatchResult:
    objective = options.objective
    deadline = start + options.time_limit
    fixed = int(np.count_nonzero(p.fixed_used))
    total_weight = int((p.count * p.weight).sum())
    classes = _symmetry_classes(p)
    stats: dict[str, Any] = {"shapes": p.S, "nodes": p.n, "pods": len(final),
                             "symmetry_classes": len(classes),
                             "symmetric_nodes": int(sum(len(c) for c in classes)),
                             "num_variables": 0, "num_constraints": 0, "phases": []}

    # the greedy plan: the search's hint, and the fallback
    best = None
    if options.hint == "greedy":
        X = _canonical(_greedy(p, objective), classes)
        if _spread_ok(p, X):           # only fails when running pods already break a spread
            best = X
            stats["greedy"] = _evaluate(p, X)
    stats["greedy_time"] = time.perf_counter() - start
    searching = options.time_limit > 0 and p.S > 0 and p.n > 0
    model: _Model | None = None

    def build() -> _Model:
        t = time.perf_counter()
        built = _Model(p, objective, classes)
        stats["build_time"] = time.perf_counter() - t
        stats["num_variables"] = len(built.model.proto.variables)
        stats["num_constraints"] = len(built.model.proto.constraints)
        return built

    def budget(share: float = 1.0) -> float:
        assert model is not None
        return (deadline - time.perf_counter() - _reserve(model)) * share

    # level 1: the most weight placed (free when the greedy plan places every pod)
    level1 = _evaluate(p, best)["placed_weight"] if best is not None else None
    level1_bound = _placed_bound(p)
    stats["own_placed_bound"] = level1_bound
    infeasible = False
    if searching and (level1 is None or level1 < level1_bound):
        model = build()
        seconds = budget(1.0 if objective == "max_placed" else _PHASE1_SHARE)
        if seconds > 0.01:
            model.model.maximize(model.weighted)
            if best is not None:
                model.hint(best)
            tracker = _Progress(progress if objective == "max_placed" else None,
                                lambda v: int(round(v)), level1_bound, True, level1)
            tracker.emit()
            out = _solve_phase(model, seconds, options, workers, tracker)
            stats["phases"].append({"objective": "max_placed", "status": out["status"],
                                    **out["stats"]})
            if out["status"] == "INFEASIBLE":
                infeasible, best, level1 = True, None, None
            elif out["plan"] is not None:
                candidate = _canonical(out["plan"], classes)
                value = _evaluate(p, candidate)["placed_weight"]
                if level1 is None or value > level1:
                    best, level1 = candidate, value
                level1_bound = min(level1_bound, int(math.floor(out["bound"] + 1e-6)))
                if out["status"] == "OPTIMAL":
                    level1_bound = level1
    level1_proved = level1 is not None and level1 >= level1_bound
    if level1_proved:
        level1_bound = level1

    # level 2: fewest nodes in use or lowest peak, among plans placing as much
    value = bound = None
    proved = False
    if objective == "max_placed":
        value, bound, proved = level1, level1_bound, level1_proved
    elif best is not None:
        target = level1
        assert target is not None
        evaluate = (lambda X: _evaluate(p, X)["nodes"]) if objective == "min_nodes" \
            else (lambda X: _evaluate(p, X)["peak"])
        own = _nodes_bound(p, target) if objective == "min_nodes" else _peak_bound(p, target)
        stats["own_bound"] = own
        value, bound = evaluate(best), own
        if progress is not None:
            _Progress(progress, int, bound, False, value).emit()
        if searching and value > bound and time.perf_counter() < deadline:
            model = model or build()
            m = model.model
            if target >= total_weight:
                for var, c in zip(model.placed, p.count.tolist()):
                    m.add(var == c)
                if objective == "min_nodes":
                    _aggregate_room(model, target)
            else:
                m.add(model.weighted >= target)
            if objective == "min_nodes":
                m.minimize(sum(model.used.values()) + fixed)
            else:
                m.minimize(model.peak)
            model.hint(best)
            # for "min_nodes" the whole model mostly proves the bound; LNS then packs
            lns = objective == "min_nodes"
            seconds = budget(_WHOLE_SHARE if lns else 1.0)
            tracker = _Progress(progress, lambda v: int(round(v)), own, False, value)
            if seconds > 0.01:
                out = _solve_phase(model, seconds, options, workers, tracker)
                stats["phases"].append({"objective": objective, "status": out["status"],
                                        **out["stats"]})
                if out["plan"] is not None:
                    candidate = _canonical(out["plan"], classes)
                    v = evaluate(candidate)
                    if v <= value and _evaluate(p, candidate)["placed_weight"] >= target:
                        best, value = candidate, v
                    bound = max(bound, int(math.ceil(out["bound"] - 1e-6)))
                    if out["status"] == "OPTIMAL":
                        bound = max(bound, value)
            if lns and value > bound:
                search = _Lns(p, best, options, workers)

                def improved(v: int) -> None:
                    tracker.incumbent, tracker.bound = v, bound
                    tracker.emit()
                    if tracker.error is not None:
                        raise tracker.error

                candidate = _canonical(search.run(deadline - _reserve(model), bound,
                                                  improved), classes)
                search.stats["status"] = "OPTIMAL" if search.value <= bound else "FEASIBLE"
                stats["phases"].append(search.stats)
                if evaluate(candidate) <= value:
                    best, value = candidate, evaluate(candidate)
        bound = min(bound, value)           # a bound never passes what a plan achieves
        proved = bound >= value

    # report
    if infeasible:
        status, value, bound = "INFEASIBLE", None, None
    elif best is None:
        status, value = "UNKNOWN", None
        bound = level1_bound if objective == "max_placed" else None
    else:
        status = "OPTIMAL" if level1_proved and proved else "FEASIBLE"
    gap = abs(value - bound) / max(1, abs(value)) \
        if value is not None and bound is not None else None
    evaluation = _evaluate(p, best) if best is not None else \
        {"placed_weight": 0, "placed": 0, "nodes": fixed, "peak": 0}
    stats["conflicts"] = sum(ph["conflicts"] for ph in stats["phases"])
    stats["branches"] = sum(ph["branches"] for ph in stats["phases"])
    stats["peak_permille"] = evaluation["peak"]
    return BatchResult(
        status=status, objective=objective, pods=tuple(final),
        nodes=tuple(_assign(p, best, len(final))), objective_value=value,
        best_bound=bound, gap=gap, placed=evaluation["placed"],
        placed_weight=evaluation["placed_weight"], placed_bound=level1_bound,
        nodes_before=fixed, nodes_after=evaluation["nodes"],
        wall_time=time.perf_counter() - start, workers=workers, options=options,
        stats=FrozenMap(stats))
