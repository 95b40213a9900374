"""The online scheduler: kube-scheduler's filters and scores, compiled to kernels.

``Scheduler(cluster).schedule(pod)`` filters every node, scores the feasible ones
with the profile's plugins and weights, picks the best and binds the pod;
``schedule_many(pods)`` does the same for a whole sequence in one ``nogil`` kernel
call, each placement visible to the next pod. The profile is compiled into a plan
and each distinct pod spec into arrays (request vectors, static filter bits, raw
scores) once per call; identical pods share one compiled spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._kernels import placement as _k
from ..cluster.cluster import Cluster, normalize_image
from ..cluster.labeltable import selector_mask, term_mask
from ..errors import DuplicateError, ValidationError
from ..model.pod import Pod
from ..model.resources import CPU, MEMORY, PODS, is_extended
from ..model.taints import UNSCHEDULABLE_TAINT, tolerated
from ..profile.profile import Profile
from .preemption import Preemption

__all__ = ["Scheduler", "Placement", "Unschedulable", "FilterResult", "ScoreResult",
           "ScheduleResult", "Preemption", "num_nodes_to_find"]

FILTER_CODES = {"NodeUnschedulable": 0, "NodeName": 1, "TaintToleration": 2,
                "NodeAffinity": 3, "NodePorts": 4, "NodeResourcesFit": 5,
                "PodTopologySpread": 6, "InterPodAffinity": 7}
SCORE_ROWS = {"TaintToleration": 0, "NodeAffinity": 1, "NodeResourcesFit": 2,
              "NodeResourcesBalancedAllocation": 3, "ImageLocality": 4,
              "PodTopologySpread": 5, "InterPodAffinity": 6}
REASONS = ("node(s) were unschedulable",
                  "node(s) didn't match the requested node name",
                  "node(s) had untolerated taint(s)",
                  "node(s) didn't match scheduler-enforced node affinity",
                  "node(s) didn't match Pod's node affinity/selector",
                  "node(s) didn't have free ports for the requested pod ports",
                  "node(s) didn't satisfy plugin(s) [NodeAffinity]",
                  "node(s) didn't match pod topology spread constraints (missing required label)",
                  "node(s) didn't match pod topology spread constraints",
                  "node(s) didn't match pod affinity rules",
                  "node(s) didn't match pod anti-affinity rules",
                  "node(s) didn't satisfy existing pods anti-affinity rules")
AFFINITY_CONFLICT = "pod affinity terms conflict"
PORTS_REASON = "node(s) didn't have free ports for the requested pod ports"
# Topology failures evicting pods from the node may resolve (upstream: Unschedulable).
TOPOLOGY_RESOLVABLE = ("node(s) didn't match pod topology spread constraints",
                       "node(s) didn't match pod anti-affinity rules",
                       "node(s) didn't satisfy existing pods anti-affinity rules")
TOPOLOGY_CANDIDATES = 16         # nodes tried that way per preemption (each: a few filters)
RESOURCE0 = len(REASONS)
PASSES = 255
NO_NODES = "no nodes available to schedule pods"
MIN_IMAGE = 23 << 20              # ImageLocality thresholds (spec §5.6)
MAX_IMAGE_PER_CONTAINER = 1000 << 20
TREE_MIN_PODS = 3                 # a spec needs this many pods in a call to get a tree
TREE_BYTES = 64 << 20             # memory for tournament trees in one call
CHUNK_SPECS = 256                 # beyond this many distinct specs, run in chunks
_MISSING = object()


def num_nodes_to_find(n: int, percentage: int) -> int:
    """How many feasible nodes kube-scheduler looks for among ``n`` (spec §8)."""
    if n < 100 or percentage >= 100:
        return n
    if percentage <= 0:
        percentage = max(50 - n // 125, 5)
    return max(n * percentage // 100, 100)


@dataclass(frozen=True)
class Placement:
    """A pod bound to ``node`` with total score ``score``."""

    pod: Pod
    node: str
    score: int


@dataclass(frozen=True)
class Unschedulable:
    """A pod no node accepts: ``message`` is kube-scheduler's ``0/N nodes are
    available: …`` text and ``reasons`` the count of nodes per reason."""

    pod: Pod
    message: str
    reasons: dict[str, int]


def fit_error_message(total_nodes: int, counts: dict[str, int]) -> str:
    """The FitError text of spec §9 from reason counts."""
    if total_nodes == 0:
        return NO_NODES
    parts = sorted(f"{count} {reason}" for reason, count in counts.items() if count)
    msg = f"0/{total_nodes} nodes are available:"
    return msg + (" " + ", ".join(parts) + "." if parts else "")


@dataclass(frozen=True, eq=False)
class FilterResult:
    """Which nodes pass the filters, and why the others do not."""

    feasible: np.ndarray
    counts: dict[str, int]
    message: str
    _names: tuple[str, ...]
    _rows: Any
    _codes: np.ndarray
    _bits: np.ndarray
    _resources: tuple[str, ...]
    _missing: tuple[str, ...]

    def reasons(self, node_name: str) -> tuple[str, ...]:
        """The reasons of the first filter that rejects ``node_name`` (empty if none)."""
        row = self._rows(node_name)
        code = int(self._codes[row])
        if code == PASSES:
            return ()
        if code < RESOURCE0:
            return (REASONS[code],)
        return _resource_reasons(int(self._bits[row]), self._resources, self._missing)

    @property
    def nodes(self) -> tuple[str, ...]:
        """Names of the feasible nodes, in cluster order."""
        return tuple(self._names[i] for i in np.flatnonzero(self.feasible))


@dataclass(frozen=True, eq=False)
class ScoreResult:
    """Scores of the feasible nodes: per plugin (normalized, unweighted) and total."""

    nodes: tuple[str, ...]
    plugins: dict[str, np.ndarray]
    total: np.ndarray

    def best(self) -> str | None:
        """The node with the highest total (lowest row on ties)."""
        return self.nodes[int(np.argmax(self.total))] if self.nodes else None


def _resource_reasons(bits: int, resources: Sequence[str],
                      missing: Sequence[str]) -> tuple[str, ...]:
    pods_col = resources.index(PODS)
    out = ["Too many pods"] if bits >> pods_col & 1 else []
    native, scalar = [], []
    for col, name in enumerate(resources):
        if col != pods_col and bits >> col & 1:
            (native if col < 3 else scalar).append(f"Insufficient {name}")
    if bits >> 63 & 1:
        scalar.extend(f"Insufficient {name}" for name in missing)
    return tuple(out + native + sorted(scalar))


class ScheduleResult(Sequence):
    """The outcome of ``schedule_many``: arrays, with objects built on demand.

    ``rows[t]`` is pod t's node row (-1 unschedulable) and ``scores[t]`` its total
    score; iterating (or indexing) gives ``Placement``/``Unschedulable`` values.
    """

    def __init__(self, pods: Sequence[Pod], rows: np.ndarray, scores: np.ndarray,
                 node_names: tuple[str, ...], messages: dict[int, tuple[str, dict]],
                 replica_names: Any) -> None:
        self.pods = pods
        self.rows = rows
        self.scores = scores
        self._names = node_names
        self._messages = messages
        self._replica_names = replica_names

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, t: int) -> Placement | Unschedulable:  # type: ignore[override]
        if isinstance(t, slice):
            return [self[i] for i in range(*t.indices(len(self)))]  # type: ignore[return-value]
        if t < 0:
            t += len(self)
        pod = self._replica_names(t)
        row = int(self.rows[t])
        if row < 0:
            message, reasons = self._messages[t]
            return Unschedulable(pod, message, dict(reasons))
        return Placement(pod, self._names[row], int(self.scores[t]))

    def __iter__(self) -> Iterator[Placement | Unschedulable]:
        return (self[t] for t in range(len(self)))

    @property
    def placed(self) -> int:
        return int(np.count_nonzero(self.rows >= 0))

    @property
    def unschedulable(self) -> int:
        return len(self) - self.placed

    @property
    def nodes(self) -> list[str | None]:
        """The node name per pod (None where unschedulable)."""
        return [self._names[r] if r >= 0 else None for r in self.rows.tolist()]

    def reason_counts(self) -> dict[str, int]:
        """How many unschedulable pods each reason appeared for."""
        out: dict[str, int] = {}
        for _, reasons in self._messages.values():
            for reason in reasons:
                out[reason] = out.get(reason, 0) + 1
        return out


class Scheduler:
    """kube-scheduler's default profile (or ``profile``) over a ``Cluster``.

    ``tie_break``: ``"first"`` takes the lowest node row among equal totals,
    ``"random"`` picks uniformly among them with a generator seeded by ``seed``.
    ``percentage_of_nodes_to_score``: 100 (default) filters and scores every node;
    less follows kube-scheduler's sampling with a round-robin start (spec §8), and
    the profile's own setting, if any, wins. ``incremental=False`` turns off the
    tournament trees that let repeated pod specs skip the full scan. ``services``
    (``fastsched.Service`` values) give PodTopologySpread's default constraints their
    selectors; ``namespace_labels`` (namespace → labels) serves pod affinity terms'
    namespaceSelector; ``pdbs`` (``PodDisruptionBudget`` values) guide preemption.
    """

    def __init__(self, cluster: Cluster, profile: Profile | None = None, *,
                 tie_break: str = "first", seed: int = 0,
                 percentage_of_nodes_to_score: int = 100, incremental: bool = True,
                 services: Iterable[Any] = (), namespace_labels: Any = None,
                 pdbs: Iterable[Any] = ()) -> None:
        if not isinstance(cluster, Cluster):
            raise ValidationError(f"expected a Cluster, got {type(cluster).__name__}",
                                  "cluster")
        profile = Profile.default() if profile is None else profile
        if not isinstance(profile, Profile):
            raise ValidationError(f"expected a Profile, got {type(profile).__name__}",
                                  "profile")
        if tie_break not in ("first", "random"):
            raise ValidationError(f"must be 'first' or 'random', got {tie_break!r}",
                                  "tie_break")
        if isinstance(percentage_of_nodes_to_score, bool) or not isinstance(
                percentage_of_nodes_to_score, int) or not 0 <= percentage_of_nodes_to_score <= 100:
            raise ValidationError("must be an integer in [0, 100], got "
                                  f"{percentage_of_nodes_to_score!r}",
                                  "percentage_of_nodes_to_score")
        self.cluster = cluster
        self.profile = profile
        self.services = tuple(services)
        self.namespace_labels = dict(namespace_labels or {})
        from .preemption import budgets
        self.pdbs = budgets(pdbs)
        self.tie_break = tie_break
        self.seed = seed
        self.incremental = incremental
        pct = profile.percentage_of_nodes_to_score
        self.percentage = percentage_of_nodes_to_score if pct is None else pct
        self._cache: dict = {}
        self._cache_key: Any = None
        self._cursor = np.zeros(1, np.int64)
        self._rng = np.array([np.uint64(seed & (2**64 - 1))], np.uint64)

    # -- public API ----------------------------------------------------------------

    def schedule(self, pod: Pod, *, preempt: bool = False) -> Any:
        """Place one pod and bind it; an unschedulable pod changes nothing.

        With ``preempt``, a pod that fits nowhere may evict lower-priority pods
        (see ``preempt``): the victims are unbound and the pod bound in one step,
        and the result is a ``Preemption``.
        """
        result = self.schedule_many([pod])[0]
        if not preempt or not isinstance(result, Unschedulable):
            return result
        choice = self.preempt(pod)
        if not isinstance(choice, Preemption):
            return Unschedulable(result.pod, f"{result.message} {choice.message}",
                                 result.reasons)
        cluster = self.cluster
        evicted = [(victim, cluster.node_of(victim)) for victim in choice.victims]
        for victim, _ in evicted:
            cluster.unbind(victim)
        try:
            cluster.bind(pod, choice.node)
        except Exception:
            for victim, node in evicted:      # put everything back as it was
                cluster.bind(victim, node, force=True)
            raise
        return choice

    def preempt(self, pod: Pod) -> Any:
        """Which lower-priority pods to evict, and where, so that ``pod`` fits
        (kube-scheduler's DefaultPreemption; nothing is changed). Returns a
        ``Preemption``, or an ``Unschedulable`` whose message is the
        ``preemption: 0/N nodes are available: …`` text (also when the pod already
        fits somewhere: then no preemption is needed)."""
        from . import preemption
        compiler, s = self._single(pod)
        n = len(self.cluster)
        if n == 0:
            return Unschedulable(pod, f"preemption: {NO_NODES}", {})
        batch = compiler.batch()
        codes = np.empty(n, np.uint8)
        bits = np.empty(n, np.uint64)
        _k.explain(batch, s, codes, bits)
        if (codes == PASSES).any():
            return Unschedulable(pod, "preemption: not needed, the pod fits", {})
        want = compiler.req[s]
        if compiler.missing[s]:
            counts = {preemption.NOT_HELPFUL: n}
            return Unschedulable(pod, preemption.message(n, counts), counts)
        limit = max(n * 10 // 100, 100)      # upstream's minimum candidate counts
        topology = [REASONS.index(r) for r in TOPOLOGY_RESOLVABLE]
        key, choice, counts, rows = preemption.find(
            self.cluster, pod, want, codes, bits, RESOURCE0, REASONS.index(PORTS_REASON),
            topology, self.pdbs, pod.host_ports, limit)
        for row in rows[:TOPOLOGY_CANDIDATES]:
            trial = self._evict_to_fit(pod, row)
            if trial is None:
                reason = REASONS[int(codes[row])]
                counts[reason] = counts.get(reason, 0) + 1
                continue
            victims, violations = trial
            trial_key = preemption.choice_key(self.cluster, row, victims, violations)
            if key is None or trial_key < key:
                key = trial_key
                choice = Preemption(pod, self.cluster.node_names[row], tuple(victims))
        for row in rows[TOPOLOGY_CANDIDATES:]:
            reason = REASONS[int(codes[row])]       # not tried: reported as they failed
            counts[reason] = counts.get(reason, 0) + 1
        if choice is not None:
            return choice
        return Unschedulable(pod, preemption.message(n, counts), counts)

    def _evict_to_fit(self, pod: Pod, row: int) -> tuple[list[Pod], int] | None:
        """Upstream's victim choice on a node that fails a topology check: evict every
        lower-priority pod on it, see whether the pod then passes every filter there,
        and re-admit the most important ones (budget violators first) that keep it
        passing. Works by unbinding and rebinding for real, and always restores the
        cluster (pods keep their start order)."""
        from .preemption import _started, _violations
        cluster = self.cluster
        node = cluster.node_names[row]
        lower = sorted((p for p in cluster.pods_on(node) if p.priority < pod.priority),
                       key=lambda p: (-p.priority, _started(cluster, p)))
        started = {p.key: cluster.columns.started(p) for p in lower}
        broken = _violations(lower, self.pdbs)

        def passes() -> bool:
            return self.filter(pod).reasons(node) == ()

        try:
            for victim in lower:
                cluster.unbind(victim)
            if not passes():
                return None
            victims, violations = [], 0
            for group in (True, False):
                for victim, violates in zip(lower, broken):
                    if violates != group:
                        continue
                    cluster.bind(victim, node, force=True)
                    if passes():
                        continue                    # re-admitted: it stays
                    cluster.unbind(victim)
                    victims.append(victim)
                    violations += violates
            return victims, violations
        finally:
            for victim in lower:
                if victim.key not in cluster.columns.bound:
                    cluster.bind(victim, node, force=True)
                cluster.restore_start(victim, started[victim.key])

    def schedule_many(self, pods: Iterable[Pod]) -> ScheduleResult:
        """Place pods in order, each placement visible to the next.

        A pod object that occurs more than once (``[template] * 1000``) stands for
        replicas, bound as ``<name>-<n>`` with a per-cluster sequence number n.
        Every other pod must have a key (``namespace/name``) not bound yet.
        """
        pods = list(pods)       # the cluster reads it again when it records bindings
        count = len(pods)
        if count == 0:
            return ScheduleResult(pods, np.zeros(0, np.int64), np.zeros(0, np.int64),
                                  self.cluster.node_names, {}, lambda t: pods[t])
        ids = np.fromiter(map(id, pods), np.int64, count)
        uniq, first, inverse, counts = np.unique(ids, return_index=True,
                                                 return_inverse=True, return_counts=True)
        objects = [pods[i] for i in first.tolist()]
        self._check_pods(objects, counts)
        templates = frozenset(uniq[counts > 1].tolist())

        rows = np.full(count, -1, np.int64)
        scores = np.zeros(count, np.int64)
        messages: dict[int, tuple[str, dict]] = {}
        compiler = self._compiler()
        spec_of_object = np.array([compiler.spec(p) for p in objects], np.int64)
        pod_spec = spec_of_object[inverse]
        bases: list[int] = []     # replica sequence base of each chunk
        if compiler.num_specs <= CHUNK_SPECS:
            self._run(compiler, pod_spec, rows, scores, messages, 0)
            bases.append(self.cluster.record_placements(pods, rows, templates, ids))
        else:
            # Many distinct specs: compile and run in chunks to bound memory. Each
            # chunk's placements are recorded before the next compiles, so its
            # topology counters and host ports see them.
            step = CHUNK_SPECS
            for lo in range(0, count, step):
                part = self._compiler()
                spec_idx = np.array([part.spec(objects[o]) for o in
                                     inverse[lo:lo + step].tolist()], np.int64)
                self._run(part, spec_idx, rows[lo:lo + step], scores[lo:lo + step],
                          messages, lo)
                bases.append(self.cluster.record_placements(
                    pods[lo:lo + step], rows[lo:lo + step], templates, ids[lo:lo + step]) - lo)

        def named(t: int) -> Pod:
            pod = pods[t]
            if id(pod) not in templates:
                return pod
            base = bases[0] if len(bases) == 1 else bases[t // CHUNK_SPECS]
            return pod.replica(f"{pod.name}-{base + t}")

        return ScheduleResult(pods, rows, scores, self.cluster.node_names, messages, named)

    def schedule_gang(self, pods: Iterable[Pod], min_member: int | None = None) -> ScheduleResult:
        """Place a gang: at least ``min_member`` of ``pods`` (default: all of them), in
        order, or none. When fewer fit, nothing is bound and every pod is reported
        unschedulable with the gang's reason (and its own, if it had one)."""
        pods = list(pods)
        want = len(pods) if min_member is None else min_member
        if isinstance(want, bool) or not isinstance(want, int) or not 0 < want <= max(len(pods), 1):
            raise ValidationError(f"must be an integer in [1, {len(pods)}], got {min_member!r}",
                                  "min_member")
        saved = (self._cursor.copy(), self._rng.copy())
        result = self.schedule_many(pods)
        if result.placed >= want:
            return result
        for t in np.flatnonzero(result.rows >= 0).tolist():
            self.cluster.unbind(result[t].pod)      # the gang is not placed: take it back
        self._cursor[:], self._rng[:] = saved
        gang = (f"gang of {len(pods)} pods: only {result.placed} can be placed together, "
                f"{want} needed")
        messages = {}
        for t in range(len(pods)):
            own = result._messages.get(t)
            messages[t] = (f"{gang}; {own[0]}" if own else gang, dict(own[1]) if own else {})
        return ScheduleResult(result.pods, np.full(len(pods), -1, np.int64),
                              np.zeros(len(pods), np.int64), result._names, messages,
                              result._replica_names)

    def filter(self, pod: Pod) -> FilterResult:
        """Run the filters on every node; nothing is committed."""
        compiler, s = self._single(pod)
        batch = compiler.batch()
        n = len(self.cluster)
        codes = np.empty(n, np.uint8)
        bits = np.empty(n, np.uint64)
        _k.explain(batch, s, codes, bits)
        counts = _counts(codes, bits, self.cluster.resources, compiler.missing[s])
        message = ""
        if compiler.conflict[s]:
            message, counts = f"0/{n} nodes are available: {AFFINITY_CONFLICT}.", {}
        elif not (codes == PASSES).any():
            message = fit_error_message(n, counts)
        return FilterResult(
            feasible=codes == PASSES, counts=counts, message=message,
            _names=self.cluster.node_names, _rows=self.cluster.row, _codes=codes,
            _bits=bits, _resources=self.cluster.resources, _missing=compiler.missing[s])

    def score(self, pod: Pod) -> ScoreResult:
        """Scores of every feasible node (all of them: no sampling); nothing is committed."""
        compiler, s = self._single(pod)
        batch = compiler.batch()
        n = len(self.cluster)
        codes = np.empty(n, np.uint8)
        _k.explain(batch, s, codes, np.empty(n, np.uint64))
        rows = np.flatnonzero(codes == PASSES).astype(np.int64)
        raw = np.zeros((len(SCORE_ROWS), max(len(rows), 1)), np.int64)
        _k.score_feasible(batch, s, rows, raw)
        plugins = {name: raw[SCORE_ROWS[name], : len(rows)] for name, _ in self.profile.scores}
        total = sum((w * plugins[name] for name, w in self.profile.scores),
                    np.zeros(len(rows), np.int64))
        names = self.cluster.node_names
        return ScoreResult(tuple(names[i] for i in rows.tolist()), plugins, total)

    # -- internals -------------------------------------------------------------------

    def _commit_extra(self, compiler: "_Compiler", pod_spec: np.ndarray,
                      rows: np.ndarray) -> None:
        """Requests for ignored resources that no node offers have no column in the
        kernel; add the columns now, for the pods that were placed."""
        needy = [s for s, extra in enumerate(compiler.extra) if extra]
        if not needy:
            return
        placed = np.isin(pod_spec, needy) & (rows >= 0)
        for t in np.flatnonzero(placed).tolist():
            for resource, amount in compiler.extra[int(pod_spec[t])].items():
                self.cluster.add_requested(int(rows[t]), resource, amount)

    def _single(self, pod: Pod) -> tuple["_Compiler", int]:
        if not isinstance(pod, Pod):
            raise ValidationError(f"expected a Pod, got {type(pod).__name__}", "pod")
        compiler = self._compiler()
        compiler.simd_worth_it = False      # one pod: copying columns would not pay
        return compiler, compiler.spec(pod)

    def _compiler(self) -> "_Compiler":
        """A compiler sharing this scheduler's cache of per-node rows, which holds
        while the cluster's nodes (not their bindings) stay the same."""
        key = (id(self.cluster), self.cluster.columns.version, len(self.cluster))
        if key != self._cache_key:
            self._cache, self._cache_key = {}, key
        return _Compiler(self.cluster, self.profile, self._cache, self.services,
                         self.namespace_labels)

    def _check_pods(self, objects: list[Any], counts: np.ndarray) -> None:
        bound = self.cluster.columns.bound
        seen: set[str] = set()
        for pod, many in zip(objects, counts.tolist()):
            if not isinstance(pod, Pod):
                raise ValidationError(f"expected a Pod, got {type(pod).__name__}", "pods")
            if many > 1:
                continue
            key = pod.key
            if key in bound:
                raise DuplicateError(f"pod {key} is already bound to node {bound[key][1]!r}",
                                     "pods")
            if key in seen:
                raise DuplicateError(f"two different pods are named {key}", "pods")
            seen.add(key)

    def _run(self, compiler: "_Compiler", pod_spec: np.ndarray, rows: np.ndarray,
             scores: np.ndarray, messages: dict, offset: int) -> None:
        n = len(self.cluster)
        if n == 0:
            for t in range(len(pod_spec)):
                messages[offset + t] = (NO_NODES, {})
            return
        compiler.simd_worth_it = len(pod_spec) >= 4
        batch = compiler.batch()
        profile = self.profile
        has_scores = bool(profile.scores)
        to_find = num_nodes_to_find(n, self.percentage) if has_scores else min(n, 1)
        full = to_find >= n
        hist = np.zeros((len(pod_spec), RESOURCE0 + len(self.cluster.resources) + 1), np.int64)
        slots = np.full(compiler.num_specs, -1, np.int64)
        leaves = 1 << max(n - 1, 0).bit_length()
        if self.incremental and full and self.tie_break == "first" and n > 1:
            freq = np.bincount(pod_spec, minlength=compiler.num_specs)
            freq[np.flatnonzero(compiler.topology)] = 0     # their scores move with every bind
            eligible = np.flatnonzero(freq >= TREE_MIN_PODS)
            eligible = eligible[np.argsort(-freq[eligible], kind="stable")]
            eligible = eligible[: max(TREE_BYTES // (16 * leaves), 1)]
            slots[eligible] = np.arange(len(eligible))
        trees = np.empty((max(int((slots >= 0).sum()), 0), 2 * leaves), np.int64)
        out_row = np.empty(len(pod_spec), np.int64)
        out_score = np.empty(len(pod_spec), np.int64)
        _k.place(batch, np.ascontiguousarray(pod_spec, np.int64), out_row, out_score, hist,
                 slots, trees, self._cursor, self._rng, compiler.ports_on,
                 compiler.fit_on, self.tie_break == "random", to_find)
        rows[:] = out_row
        scores[:] = out_score
        self._commit_extra(compiler, pod_spec, out_row)
        resources = self.cluster.resources
        for t in np.flatnonzero(out_row < 0).tolist():
            counts = _hist_counts(hist[t], resources, compiler.missing[int(pod_spec[t])])
            if compiler.conflict[int(pod_spec[t])]:
                messages[offset + t] = (f"0/{n} nodes are available: {AFFINITY_CONFLICT}.", {})
            else:
                messages[offset + t] = (fit_error_message(n, counts), counts)


def _hist_counts(hist: np.ndarray, resources: Sequence[str],
                 missing: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    values = hist.tolist()
    for code, reason in enumerate(REASONS):
        if values[code]:
            out[reason] = values[code]
    for col, name in enumerate(resources):
        c = values[RESOURCE0 + col]
        if c:
            out["Too many pods" if name == PODS else f"Insufficient {name}"] = c
    if values[-1]:
        for name in missing:
            out[f"Insufficient {name}"] = values[-1]
    return out


def _counts(codes: np.ndarray, bits: np.ndarray, resources: Sequence[str],
            missing: Sequence[str]) -> dict[str, int]:
    hist = np.zeros(RESOURCE0 + len(resources) + 1, np.int64)
    per_code = np.bincount(codes[codes != PASSES], minlength=RESOURCE0 + 1)
    hist[:RESOURCE0] = per_code[:RESOURCE0]
    fit = bits[codes == RESOURCE0]
    for col in range(len(resources)):
        hist[RESOURCE0 + col] = int(np.count_nonzero(fit & np.uint64(1 << col)))
    hist[-1] = int(np.count_nonzero(fit & np.uint64(1 << 63)))
    return _hist_counts(hist, resources, missing)


class _Compiler:
    """Compiles the profile against the cluster's columns, and pod specs into arrays.

    Specs are deduplicated by content; the static filter bits, TaintToleration and
    NodeAffinity raw scores and ImageLocality scores are deduplicated by the part of
    the spec they depend on.
    """

    def __init__(self, cluster: Cluster, profile: Profile, cache: dict | None = None,
                 services: Sequence[Any] = (), namespace_labels: Any = None) -> None:
        self.cluster = cluster
        self.services = services
        self.namespace_labels = namespace_labels or {}
        self.spec_pods: list[Pod] = []
        self.topology: list[bool] = []      # per spec: it has topology checks or scores
        self.profile = profile
        self.n = n = len(cluster)
        self.resources = cluster.resources
        self.col = {r: i for i, r in enumerate(self.resources)}
        self.codes = cluster.label_codes
        self.taint_bits = cluster.taint_bits
        self.filters = [FILTER_CODES[f] for f in profile.filters]
        self.fit_on = "NodeResourcesFit" in profile.filters
        self.ports_on = "NodePorts" in profile.filters
        self.specs: dict[Any, int] = {}
        self.missing: list[tuple[str, ...]] = []
        self.req: list[np.ndarray] = []
        self.filter_req: list[np.ndarray] = []
        self.nz: list[tuple[int, int]] = []
        self.ba_skip: list[int] = []
        self.port_lists: list[tuple] = []
        self.static_of: list[int] = []
        self.tt_of: list[int] = []
        self.na_of: list[int] = []
        self.il_of: list[int] = []
        self.conflict: list[bool] = []
        self.simd_worth_it = True   # copying columns costs about a scalar scan or two
        self.extra: list[dict[str, int]] = []   # ignored resources no node offers
        self._index: dict[str, dict[Any, int]] = {}       # kind -> key -> row index
        self._rows: dict[str, list[np.ndarray]] = {}      # kind -> rows for the kernel
        self._taint_masks: dict[Any, tuple[np.ndarray, np.ndarray]] = {}
        self.unsched_any = bool(cluster.unschedulable.any()) if n else False
        # Per-node rows computed from node columns other than requested: kept across
        # calls (by the Scheduler) until a node is added, changed or removed.
        self.cache = cache if cache is not None else {}
        fit = profile.fit
        self.ignored = lambda r: is_extended(r) and (
            r in fit.ignored_resources or r.split("/", 1)[0] in fit.ignored_resource_groups)

    @property
    def num_specs(self) -> int:
        return len(self.req)

    # -- specs -----------------------------------------------------------------------

    def spec(self, pod: Pod) -> int:
        key = (pod.requests, pod.scoring_requests, pod.node_name, pod.node_selector,
               pod.node_affinity, pod.tolerations, pod.host_ports, pod.images,
               len(pod.containers) + len(pod.init_containers), pod.namespace, pod.labels,
               pod.topology_spread_constraints, pod.pod_affinity, pod.pod_anti_affinity,
               pod.owner_selector)
        found = self.specs.get(key)
        if found is not None:
            return found
        s = self.specs[key] = len(self.req)
        self.spec_pods.append(pod)
        vec = np.zeros(len(self.resources), np.int64)
        missing = []
        extra = {}
        for resource, amount in pod.requests.items():
            col = self.col.get(resource)
            if col is not None:
                vec[col] = amount
            elif amount > 0:
                if self.ignored(resource):
                    extra[resource] = amount
                else:
                    missing.append(resource)
        self.extra.append(extra)
        vec[self.col[PODS]] += 1
        self.req.append(vec)
        filt = vec.copy()
        for resource, col in self.col.items():
            if self.ignored(resource):
                filt[col] = 0
        self.filter_req.append(filt)
        self.missing.append(tuple(sorted(missing)))
        self.nz.append((pod.scoring_requests.get(CPU, 0), pod.scoring_requests.get(MEMORY, 0)))
        self.ba_skip.append(int(all(pod.requests.get(r, 0) == 0
                                    for r, _ in self.profile.balanced_resources)))
        self.port_lists.append(pod.host_ports)
        self.static_of.append(self._static_index(pod))
        self.conflict.append(self._prefilter(pod) == frozenset())
        self.tt_of.append(self._tt_index(pod))
        self.na_of.append(self._na_index(pod))
        self.il_of.append(self._il_index(pod))
        return s

    def _taint_mask(self, tolerations: tuple) -> tuple[np.ndarray, np.ndarray]:
        """Taint-bit words a pod does not tolerate: (NoSchedule/NoExecute, PreferNoSchedule)."""
        found = self._taint_masks.get(tolerations)
        if found is None:
            taints = self.cluster.taints
            words = self.taint_bits.shape[1]
            hard = np.zeros(max(words, 1), np.uint64)
            soft = np.zeros(max(words, 1), np.uint64)
            prefer = [t for t in tolerations if t.effect in ("", "PreferNoSchedule")]
            for tid, taint in enumerate(taints):
                bit = np.uint64(1 << (tid & 63))
                if taint.effect == "PreferNoSchedule":
                    if not tolerated(taint, prefer):
                        soft[tid >> 6] |= bit
                elif not tolerated(taint, tolerations):
                    hard[tid >> 6] |= bit
            found = self._taint_masks[tolerations] = (hard[:words], soft[:words])
        return found

    def _row(self, kind: str, key: Any, compute: Any) -> int:
        """The index of a per-node row for ``(kind, key)``, -1 when it is all zeros.

        ``compute()`` runs at most once while the node columns stay the same: its
        result is kept in the scheduler's cache across calls."""
        index = self._index.setdefault(kind, {})
        found = index.get(key)
        if found is not None:
            return found
        array = self.cache.get((kind, key), _MISSING)
        if array is _MISSING:
            array = compute()
            array = array if array.any() else None
            self.cache[(kind, key)] = array
        found = -1
        if array is not None:
            rows = self._rows.setdefault(kind, [])
            found = len(rows)
            rows.append(array)
        index[key] = found
        return found

    def _static_index(self, pod: Pod) -> int:
        key = (pod.node_name, pod.node_selector, pod.node_affinity, pod.tolerations)
        return self._row("static", key, lambda: self._static_bits(pod))

    def _static_bits(self, pod: Pod) -> np.ndarray:
        """uint8 per node: the static filters that reject it (see placement.pyx)."""
        enabled = set(self.profile.filters)
        n = self.n
        bits = np.zeros(n, np.uint8)
        if "NodeUnschedulable" in enabled and self.unsched_any and not tolerated(
                UNSCHEDULABLE_TAINT, pod.tolerations):
            bits |= self.cluster.unschedulable.astype(np.uint8)
        if "NodeName" in enabled and pod.node_name:
            wrong = np.ones(n, np.bool_)
            row = self.cluster.columns.rows.get(pod.node_name)
            if row is not None:
                wrong[row] = False
            bits |= wrong.astype(np.uint8) << 1
        if "TaintToleration" in enabled and self.taint_bits.shape[1]:
            hard, _ = self._taint_mask(pod.tolerations)
            if hard.any():
                bits |= (self.taint_bits & hard).any(axis=1).astype(np.uint8) << 2
        if "NodeAffinity" in enabled:
            added = self._added()[0]
            if added is not None:
                bits |= added.astype(np.uint8) << 3
            match = None
            table, rows = self.cluster.label_table, self.cluster.columns.rows
            if pod.node_selector:
                match = selector_mask(pod.node_selector, table, self.codes)
            affinity = pod.node_affinity
            if affinity is not None and affinity.required is not None:
                terms = np.zeros(n, np.bool_)
                for term in affinity.required:
                    terms |= term_mask(term, table, self.codes, rows)
                match = terms if match is None else match & terms
            if match is not None:
                bits |= (~match).astype(np.uint8) << 4
            allowed = self._prefilter(pod)
            if allowed is not None:
                outside = np.ones(n, np.bool_)
                outside[[rows[name] for name in allowed if name in rows]] = False
                bits |= outside.astype(np.uint8) << 5
        return bits

    def _added(self) -> tuple[np.ndarray | None, np.ndarray]:
        """The profile's addedAffinity: (nodes its required terms reject, or None;
        preferred weights per node)."""
        found = self.cache.get("added")
        if found is None:
            added, n = self.profile.added_affinity, self.n
            table, rows = self.cluster.label_table, self.cluster.columns.rows
            rejected = None
            if added is not None and added.required is not None:
                match = np.zeros(n, np.bool_)
                for term in added.required:
                    match |= term_mask(term, table, self.codes, rows)
                rejected = ~match
            preferred = np.zeros(n, np.int64)
            for pref in added.preferred if added is not None else ():
                preferred += pref.weight * term_mask(pref.preference, table, self.codes, rows)
            found = self.cache["added"] = (rejected, preferred)
        return found

    def _prefilter(self, pod: Pod) -> frozenset[str] | None:
        """NodeAffinity's PreFilter (spec §3.5): the node names that ``metadata.name
        In`` field requirements allow, or None when some term leaves all nodes open.
        An empty set means the terms contradict each other."""
        affinity = pod.node_affinity
        if ("NodeAffinity" not in self.profile.filters or affinity is None
                or not affinity.required):
            return None
        allowed: set[str] = set()
        for term in affinity.required:
            names = None
            for req in term.match_fields:
                if req.operator == "In":
                    names = set(req.values) if names is None else names & set(req.values)
            if names is None:
                return None
            allowed |= names
        return frozenset(allowed)

    def _tt_index(self, pod: Pod) -> int:
        if not self.profile.weight("TaintToleration") or not self.taint_bits.shape[1]:
            return -1

        def raw() -> np.ndarray:
            _, soft = self._taint_mask(pod.tolerations)
            return np.bitwise_count(self.taint_bits & soft).sum(axis=1, dtype=np.int64)

        return self._row("tt", pod.tolerations, raw)

    def _na_index(self, pod: Pod) -> int:
        if not self.profile.weight("NodeAffinity"):
            return -1
        preferred = pod.node_affinity.preferred if pod.node_affinity is not None else ()

        def raw() -> np.ndarray:
            total = self._added()[1].copy()
            for pref in preferred:
                total += pref.weight * term_mask(pref.preference, self.cluster.label_table,
                                                 self.codes, self.cluster.columns.rows)
            return total

        return self._row("na", preferred, raw)

    def _il_index(self, pod: Pod) -> int:
        if not self.profile.weight("ImageLocality") or not pod.images or not self.n:
            return -1
        containers = len(pod.containers) + len(pod.init_containers)
        return self._row("il", (pod.images, containers),
                         lambda: image_locality(self.cluster, pod.images, containers))

    # -- the batch -------------------------------------------------------------------

    def batch(self) -> Any:
        """The kernel's ``Batch``: cluster columns (shared), plan and spec arrays."""
        c, p, n = self.cluster, self.profile, self.n
        b = _k.Batch()
        cols = c.columns
        b.alloc = cols.alloc
        b.req = cols.req
        b.nonzero = cols.nonzero
        b.inv_alloc = cols.inverse_allocatable() if n else np.zeros(1)
        b.inv_den = 1.0 / np.maximum(np.arange(sum(w for _, w in p.fit.resources) + 1), 1)
        b.pods_col = self.col[PODS]
        b.small_alloc = int(cols.small_allocatable())
        b.soa = self._soa(b.small_alloc) if self.simd_worth_it else None
        b.filters = _i64(self.filters)
        fit = p.fit
        b.strategy = ("LeastAllocated", "MostAllocated",
                      "RequestedToCapacityRatio").index(fit.strategy)
        b.fit_col = _i64([self.col.get(r, -1) for r, _ in fit.resources])
        b.fit_w = _i64([w for _, w in fit.resources])
        b.fit_nz = _i64([{CPU: 0, MEMORY: 1}.get(r, -1) for r, _ in fit.resources])
        b.fit_scalar = _u8([_scalar(r) for r, _ in fit.resources])
        b.shape_u = _i64([u for u, _ in fit.shape])
        b.shape_s = _i64([s * 10 for _, s in fit.shape])
        b.ba_col = _i64([self.col.get(r, -1) for r, _ in p.balanced_resources])
        b.ba_scalar = _u8([_scalar(r) for r, _ in p.balanced_resources])
        b.w_fit = p.weight("NodeResourcesFit")
        b.w_ba = p.weight("NodeResourcesBalancedAllocation")
        b.w_tt = p.weight("TaintToleration")
        b.w_na = p.weight("NodeAffinity")
        b.w_il = p.weight("ImageLocality")
        S = max(self.num_specs, 1)
        R = len(self.resources)
        b.spec_req = _stack(self.req, (S, R), np.int64)
        b.spec_filter = _stack(self.filter_req, (S, R), np.int64)
        offsets, cols = [0], []
        for filt in self.filter_req:
            cols.extend(np.flatnonzero(filt > 0).tolist())
            offsets.append(len(cols))
        b.fcol_off = _i64(offsets if self.filter_req else [0, 0])
        b.fcol = _i64(cols or [0])
        b.spec_nz = _stack([np.array(v, np.int64) for v in self.nz], (S, 2), np.int64)
        b.spec_missing = _u8([bool(m) for m in self.missing] or [0])
        b.spec_ba_skip = _u8(self.ba_skip or [0])
        b.spec_mask = _i64(self.static_of or [-1])
        b.masks = _stack(self._rows.get("static", []), (1, max(n, 1)), np.uint8)
        b.spec_tt = _i64(self.tt_of or [-1])
        b.tt_raw = _stack(self._rows.get("tt", []), (1, max(n, 1)), np.int64)
        b.spec_na = _i64(self.na_of or [-1])
        b.na_raw = _stack(self._rows.get("na", []), (1, max(n, 1)), np.int64)
        b.spec_il = _i64(self.il_of or [-1])
        b.il_score = _stack(self._rows.get("il", []), (1, max(n, 1)), np.int64)
        self._ports(b)
        self._topology(b)
        return b

    def _topology(self, b: Any) -> None:
        """PodTopologySpread and InterPodAffinity: counters, checks and score terms."""
        from .topology import TopologyCompiler
        p, n = self.profile, self.n
        topo = TopologyCompiler(self.cluster, p, self.services, self.namespace_labels)
        checks, soft, terms, aff_self = [0], [0], [0], []
        rows_checks, rows_soft, rows_terms = [], [], []
        wanted = topo.spread_on or topo.interpod_on or topo.w_pts or topo.w_ipa
        self.topology = [False] * len(self.spec_pods)
        for s, pod in enumerate(self.spec_pods):
            if wanted and n:
                c, e, t, own = topo.spec(pod, lambda: self._node_match(pod),
                                         lambda: self._taints_tolerated(pod), self.spec_pods)
            else:
                c, e, t, own = [], [], [], True
            rows_checks += c
            rows_soft += e
            rows_terms += t
            checks.append(len(rows_checks))
            soft.append(len(rows_soft))
            terms.append(len(rows_terms))
            aff_self.append(int(own))
            self.topology[s] = bool(c or e or t)
        for name, array in topo.arrays(self.spec_pods).items():
            setattr(b, name, array)
        b.tchk_off = _i64(checks if len(checks) > 1 else [0, 0])
        b.tchk = np.ascontiguousarray(np.array(rows_checks or [[0] * 5], np.int64))
        b.aff_self = _u8(aff_self or [0])
        b.tsoft_off = _i64(soft if len(soft) > 1 else [0, 0])
        b.tsoft = np.ascontiguousarray(np.array(rows_soft or [[0] * 4], np.int64))
        b.taff_off = _i64(terms if len(terms) > 1 else [0, 0])
        b.taff = np.ascontiguousarray(np.array(rows_terms or [[0] * 2], np.int64))
        b.gmin = np.zeros(max(len(rows_checks), 1), np.int64)
        b.w_pts, b.w_ipa = topo.w_pts, topo.w_ipa

    def _node_match(self, pod: Pod) -> np.ndarray:
        """Nodes that pass the pod's nodeSelector and required node affinity."""
        table, rows, n = self.cluster.label_table, self.cluster.columns.rows, self.n
        match = np.ones(n, np.bool_)
        if pod.node_selector:
            match &= selector_mask(pod.node_selector, table, self.codes)
        affinity = pod.node_affinity
        if affinity is not None and affinity.required is not None:
            terms = np.zeros(n, np.bool_)
            for term in affinity.required:
                terms |= term_mask(term, table, self.codes, rows)
            match &= terms
        return match

    def _taints_tolerated(self, pod: Pod) -> np.ndarray:
        """Nodes whose NoSchedule/NoExecute taints the pod tolerates."""
        if not self.taint_bits.shape[1]:
            return np.ones(self.n, np.bool_)
        hard, _ = self._taint_mask(pod.tolerations)
        return ~(self.taint_bits & hard).any(axis=1)

    def _soa(self, small_alloc: int) -> np.ndarray | None:
        """float64 copies of the columns the AVX2 scan reads (see simd_scan.h), when
        the CPU has AVX2, the fast path applies and every value is exact in a double."""
        c, n = self.cluster, self.n
        if not (_k.SIMD and small_alloc and n >= 4 and len(self.resources) >= 4):
            return None
        cols = c.columns
        alloc, req, nonzero = cols.alloc[:, :4], cols.req[:, :4], cols.nonzero
        soa = np.empty((10, n), np.float64)
        soa[0:2] = alloc[:, :2].T
        soa[2:6] = (alloc - req).T
        soa[6:8] = req[:, :2].T
        soa[8:10] = nonzero.T
        exact = 1 << 53
        if (np.abs(alloc).max() >= exact or np.abs(req).max() >= exact
                or np.abs(nonzero).max() >= exact):
            return None
        return soa

    def _ports(self, b: Any) -> None:
        """Host-port occupancy: one column per distinct (ip, protocol, port) that a
        spec asks for; a node's column is set when a used port clashes with it."""
        n = self.n
        triples = sorted({t for ports in self.port_lists for t in ports})
        T = len(triples)
        b.occ = np.zeros((max(n, 1), max(T, 1)), np.uint8)
        index = {t: i for i, t in enumerate(triples)}

        def clashing(port: tuple) -> list[int]:
            ip, proto, number = port
            return [index[t] for t in triples if t[1] == proto and t[2] == number
                    and (ip == "0.0.0.0" or t[0] == "0.0.0.0" or t[0] == ip)]

        if T:
            rows = self.cluster.columns.rows
            for node, ports in self.cluster.columns.ported_pods().values():
                for port in ports:
                    b.occ[rows[node], clashing(port)] = 1
        chk_off, chk, set_off, set_col = [0], [], [0], []
        for ports in self.port_lists:
            chk.extend(index[t] for t in ports)
            chk_off.append(len(chk))
            set_col.extend(sorted({c for t in ports for c in clashing(t)}))
            set_off.append(len(set_col))
        if not self.port_lists:
            chk_off.append(0)
            set_off.append(0)
        b.chk_off, b.chk = _i64(chk_off), _i64(chk or [0])
        b.set_off, b.set_col = _i64(set_off), _i64(set_col or [0])


def image_locality(cluster: Cluster, images: Sequence[str], containers: int) -> np.ndarray:
    """ImageLocality's score per node (spec §5.6) for a pod with these container
    images (init and regular, repeats kept) and number of containers."""
    n = len(cluster)
    total = np.zeros(n, np.int64)
    rows = cluster.columns.rows
    for image in images:
        holders = cluster.image_nodes(normalize_image(image))
        spread = len(holders) / n          # Go's order: size * (nodes / total)
        for node, size in holders.items():
            total[rows[node]] += int(size * spread)
    top = MAX_IMAGE_PER_CONTAINER * max(containers, 1)
    clamped = np.clip(total, MIN_IMAGE, top)
    return (100 * (clamped - MIN_IMAGE)) // (top - MIN_IMAGE)


def _scalar(resource: str) -> bool:
    return resource not in (CPU, MEMORY, "ephemeral-storage", PODS)


def _i64(values: Any) -> np.ndarray:
    out = np.ascontiguousarray(values, np.int64).reshape(-1)
    return out if out.size else np.zeros(1, np.int64)


def _u8(values: Any) -> np.ndarray:
    out = np.ascontiguousarray(values, np.uint8).reshape(-1)
    return out if out.size else np.zeros(1, np.uint8)


def _stack(rows: list[np.ndarray], empty_shape: tuple[int, int], dtype: Any) -> np.ndarray:
    if not rows:
        return np.zeros(empty_shape, dtype)
    return np.ascontiguousarray(np.stack(rows), dtype)
