"""The online scheduler: kube-scheduler's filters and scores, compiled to kernels.

``Scheduler(cluster).schedule(pod)`` filters every node, scores the feasible ones
with the profile's plugins and weights, picks the best and binds the pod;
``schedule_many(pods)`` does the same for a whole sequence in one ``nogil`` kernel
call, each placement visible to the next pod. The profile is compiled into a plan
and each distinct pod spec into arrays (request vectors, static filter bits, raw
scores) once per call (``compiler.Compiler``); identical pods share one compiled spec.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._kernels import placement as _k
from .._kernels.common import PASSES, ReasonCode, ScoreRow
from .._validation import coerce_list
from ..cluster import Cluster
from ..errors import DuplicateError, ValidationError
from ..model.pod import Pod
from ..model.service import Service
from ..plugins import REASONS, RESOURCE0, SCORE_ROWS
from ..profile.profile import Profile
from . import preemption
from .compiler import Compiler
from .kept import KeptPlan
from .preemption import Preemption, budgets
from .queue import QueueResult, run_queue
from .results import (
    AFFINITY_CONFLICT,
    NO_NODES,
    BatchNames,
    FilterResult,
    Placement,
    Reasons,
    ScheduleResult,
    ScoreResult,
    Unschedulable,
    filter_counts,
    fit_error_message,
)

__all__ = ["Scheduler", "Placement", "Unschedulable", "FilterResult", "ScoreResult",
           "ScheduleResult", "Preemption", "QueueResult", "num_nodes_to_find"]

# Topology failures evicting pods from the node may resolve (upstream: Unschedulable).
TOPOLOGY_RESOLVABLE = (ReasonCode.R_SPREAD, ReasonCode.R_POD_ANTI, ReasonCode.R_EXISTING_ANTI)
TOPOLOGY_CANDIDATES = 16         # nodes tried that way per preemption (each: a few filters)
TREE_MIN_PODS = 3                 # a spec needs this many pods in a call to get a tree
TREE_BYTES = 64 << 20             # memory for tournament trees in one call
CHUNK_SPECS = 256                 # beyond this many distinct specs, run in chunks


class _Any:
    """A ``schedulerName`` → Scheduler map that answers one scheduler for every name."""

    def __init__(self, scheduler: "Scheduler") -> None:
        self.scheduler = scheduler

    def get(self, name: str) -> "Scheduler":
        return self.scheduler


def num_nodes_to_find(n: int, percentage: int) -> int:
    """How many feasible nodes kube-scheduler looks for among ``n`` (spec §8)."""
    if n < 100 or percentage >= 100:
        return n
    if percentage <= 0:
        percentage = max(50 - n // 125, 5)
    return max(n * percentage // 100, 100)



class Scheduler:
    """kube-scheduler's default profile (or ``profile``) over a ``Cluster``.

    ``tie_break``: ``"first"`` takes the lowest node row among equal totals,
    ``"random"`` picks uniformly among them with a generator seeded by ``seed``.
    ``percentage_of_nodes_to_score``: 100 (default) filters and scores every node;
    less follows kube-scheduler's sampling with a round-robin start (spec §8), and
    the profile's own setting, if any, wins. ``incremental=False`` turns off the
    tournament trees that let repeated pod specs skip the full scan. ``services``
    (``fastsched.Service`` values or ``v1 Service`` dicts) give PodTopologySpread's
    default constraints their selectors; ``namespace_labels`` (namespace → labels)
    serves pod affinity terms' namespaceSelector; ``pdbs`` (``PodDisruptionBudget``
    values) guide preemption; ``feature_gates`` (name → bool) override the profile's.
    ``seed`` is any int (used modulo 2**64). A bad argument
    raises ValidationError naming it.
    """

    def __init__(self, cluster: Cluster, profile: Profile | None = None, *,
                 tie_break: str = "first", seed: int = 0,
                 percentage_of_nodes_to_score: int = 100, incremental: bool = True,
                 services: Iterable[Any] = (), namespace_labels: Any = None,
                 pdbs: Iterable[Any] = (), feature_gates: Any = None) -> None:
        if not isinstance(cluster, Cluster):
            raise ValidationError(f"expected a Cluster, got {type(cluster).__name__}",
                                  "cluster")
        profile = Profile.default() if profile is None else profile
        if not isinstance(profile, Profile):
            raise ValidationError(f"expected a Profile, got {type(profile).__name__}",
                                  "profile")
        profile = profile.with_gates(feature_gates)     # gates over the profile's own
        if tie_break not in ("first", "random"):
            raise ValidationError(f"must be 'first' or 'random', got {tie_break!r}",
                                  "tie_break")
        if isinstance(percentage_of_nodes_to_score, bool) or not isinstance(
                percentage_of_nodes_to_score, int) or not 0 <= percentage_of_nodes_to_score <= 100:
            raise ValidationError("must be an integer in [0, 100], got "
                                  f"{percentage_of_nodes_to_score!r}",
                                  "percentage_of_nodes_to_score")
        # (int, np.integer) rather than numbers.Integral, which mypy does not see int in
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise ValidationError(f"expected an int, got {seed!r}", "seed")
        seed = int(seed)                # any int: the generator takes it modulo 2**64
        services = coerce_list(Service, services, "services")
        self.cluster = cluster
        self.profile = profile
        self.services = services
        self.namespace_labels = dict(namespace_labels or {})
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
        self._kept = KeptPlan(self)
        self._by_name: dict[str, Scheduler] = {profile.name: self}   # see from_config

    @classmethod
    def from_config(cls, cluster: Cluster, config: Any, **options: Any) -> "Scheduler":
        """A scheduler for every profile of a ``KubeSchedulerConfiguration`` (a path,
        YAML text or a dict), over one cluster: ``schedule_queue`` gives each pod to
        the profile its ``schedulerName`` names. The first profile is this
        scheduler's own (``schedule``, ``schedule_many``); ``options`` are the
        keyword arguments of ``Scheduler``, shared by all."""
        return cls.for_profiles(cluster, Profile.all_from_config(config).values(), **options)

    @classmethod
    def for_profiles(cls, cluster: Cluster, profiles: Iterable[Profile],
                     **options: Any) -> "Scheduler":
        """A scheduler for each profile (distinct names), over one cluster, as
        ``from_config`` makes them."""
        profiles = list(profiles)
        if not profiles:
            raise ValidationError("expected at least one profile", "profiles")
        scheduler = cls(cluster, profiles[0], **options)
        for i, profile in enumerate(profiles[1:], 1):
            if not isinstance(profile, Profile):
                raise ValidationError(f"expected a Profile, got {type(profile).__name__}",
                                      f"profiles[{i}]")
            if profile.name in scheduler._by_name:
                raise ValidationError(f"two profiles are named {profile.name!r}",
                                      f"profiles[{i}]")
            other = cls(cluster, profile, **options)
            other._by_name = scheduler._by_name
            scheduler._by_name[profile.name] = other
        return scheduler

    @property
    def profiles(self) -> dict[str, Profile]:
        """The profiles this scheduler serves, by ``schedulerName``."""
        return {name: s.profile for name, s in self._by_name.items()}

    # -- public API ----------------------------------------------------------------

    def schedule(self, pod: Pod, *,
                 preempt: bool = False) -> Placement | Unschedulable | Preemption:
        """Place one pod and bind it; an unschedulable pod changes nothing.

        With ``preempt``, a pod that fits nowhere may evict lower-priority pods
        (see ``preempt``): the victims are unbound and the pod bound in one step,
        and the result is a ``Preemption``.
        """
        if isinstance(pod, Pod):
            hit = self._kept.place(pod)         # a repeated shape: the kept plan
            if hit is not None:
                return Placement(pod, self.cluster.node_names[hit[0]], hit[1])
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

    def preempt(self, pod: Pod) -> Preemption | Unschedulable:
        """Which lower-priority pods to evict, and where, so that ``pod`` fits
        (kube-scheduler's DefaultPreemption; nothing is changed). Returns a
        ``Preemption``, or an ``Unschedulable`` whose message is the
        ``preemption: 0/N nodes are available: …`` text (also when the pod already
        fits somewhere: then no preemption is needed)."""
        if (why := preemption.ineligible(pod)) is not None:     # preemptionPolicy: Never
            return Unschedulable(pod, why, {})
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
        topology = [int(r) for r in TOPOLOGY_RESOLVABLE]
        key, choice, counts, rows = preemption.find(
            self.cluster, pod, want, codes, bits, RESOURCE0, int(ReasonCode.R_PORTS),
            topology, self.pdbs, pod.host_ports, limit)
        for row in rows[:TOPOLOGY_CANDIDATES]:
            trial = self._evict_to_fit(pod, row)
            if trial is None:
                reason = REASONS[int(codes[row])]
                counts[reason] = counts.get(reason, 0) + 1
                continue
            victims, violations, starts = trial
            trial_key = preemption.choice_key(row, [(v.priority, starts[v.key]) for v in victims],
                                              violations)
            if key is None or trial_key < key:
                key = trial_key
                choice = Preemption(pod, self.cluster.node_names[row], tuple(victims))
        for row in rows[TOPOLOGY_CANDIDATES:]:
            reason = REASONS[int(codes[row])]       # not tried: reported as they failed
            counts[reason] = counts.get(reason, 0) + 1
        if choice is not None:
            return choice
        return Unschedulable(pod, preemption.message(n, counts), counts)

    def _evict_to_fit(self, pod: Pod, row: int) -> tuple[list[Pod], int, dict[str, int]] | None:
        """Upstream's victim choice on a node that fails a topology check: evict every
        lower-priority pod on it, see whether the pod then passes every filter there,
        and re-admit the most important ones (budget violators first) that keep it
        passing. Works by unbinding and rebinding for real, and always restores the
        cluster (pods keep their start order)."""
        cluster = self.cluster
        view = cluster.columns
        node = cluster.node_names[row]
        lower = sorted((p for p in cluster.pods_on(node) if p.priority < pod.priority),
                       key=lambda p: (-p.priority, view.started(p)))
        started = {p.key: view.started(p) for p in lower}
        broken = preemption.violations(lower, self.pdbs)

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
            return victims, violations, started
        finally:
            for victim in lower:
                if not cluster.columns.is_bound(victim.key):
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
        cluster = self.cluster
        if count == 0:
            return ScheduleResult(pods, np.zeros(0, np.int64), np.zeros(0, np.int64),
                                  cluster.node_names, Reasons(),
                                  BatchNames(pods, frozenset(), [0], CHUNK_SPECS, {}))
        ids = np.fromiter(map(id, pods), np.int64, count)
        uniq, first, inverse, counts = np.unique(ids, return_index=True,
                                                 return_inverse=True, return_counts=True)
        objects = [pods[i] for i in first.tolist()]
        self._check_pods(objects, counts)
        templates = frozenset(uniq[counts > 1].tolist())

        rows = np.full(count, -1, np.int64)
        scores = np.zeros(count, np.int64)
        reasons = Reasons()
        compiler = self._compiler()
        spec_of_object = np.array([compiler.spec(p) for p in objects], np.int64)
        pod_spec = spec_of_object[inverse]
        bases: list[int] = []     # replica sequence base of each chunk
        renamed: dict[int, str] = {}
        if compiler.num_specs <= CHUNK_SPECS:
            self._run(compiler, pod_spec, rows, scores, reasons, 0)
            base, renamed = cluster.record_placements(pods, rows, templates, ids)
            bases.append(base)
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
                          reasons, lo)
                base, more = cluster.record_placements(
                    pods[lo:lo + step], rows[lo:lo + step], templates, ids[lo:lo + step])
                bases.append(base - lo)
                renamed.update((lo + t, name) for t, name in more.items())
        return ScheduleResult(pods, rows, scores, cluster.node_names, reasons,
                              BatchNames(pods, templates, bases, CHUNK_SPECS, renamed, ids),
                              cluster.columns.name_array(), cluster.resources)

    def schedule_queue(self, pods: Iterable[Pod], *, preempt: bool = True,
                       any_scheduler: bool = False) -> QueueResult:
        """Schedule pending pods as kube-scheduler's queue would: highest priority
        first, then earliest ``creation_timestamp``, one at a time, each by the
        profile named by its ``schedulerName`` (see ``from_config``); a pod that fits
        nowhere may preempt lower-priority pods (unless ``preempt=False`` or its
        ``preemption_policy`` is Never), the victims leaving the cluster. Pods for
        another scheduler are left alone (``QueueResult.not_ours``); with
        ``any_scheduler``, this scheduler's profile takes every pod (a what-if). Use
        ``schedule_many`` to keep the given order."""
        pods = list(pods)
        lookup = self.cluster.columns.store.lookup
        seen: set[str] = set()
        for i, pod in enumerate(pods):       # checked before anything is bound
            if not isinstance(pod, Pod):
                raise ValidationError(f"expected a Pod, got {type(pod).__name__}",
                                      f"pods[{i}]")
            key = pod.key
            if key in seen or lookup(key) >= 0:
                raise DuplicateError(f"pod {key} is already bound, or given twice (the "
                                     "queue takes named pods; Pod.replica names copies)",
                                     f"pods[{i}]")
            seen.add(key)
        return run_queue(_Any(self) if any_scheduler else self._by_name, pods, preempt)

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
        messages = Reasons()
        for t in range(len(pods)):
            own = result._messages.get(t)
            messages.set(t, f"{gang}; {own[0]}" if own else gang, dict(own[1]) if own else {})
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
        counts = filter_counts(codes, bits, self.cluster.resources, compiler.missing[s])
        message = ""
        if compiler.conflict[s]:
            message, counts = f"0/{n} nodes are available: {AFFINITY_CONFLICT}.", {}
        elif not (codes == PASSES).any():
            message = fit_error_message(n, counts)
        return FilterResult(
            feasible=codes == PASSES, counts=counts, message=message,
            _names=self.cluster.node_names, _rows=self.cluster.row, _codes=codes,
            _bits=bits, _resources=self.cluster.resources, _missing=compiler.missing[s],
            _conflict=compiler.conflict[s])

    def score(self, pod: Pod) -> ScoreResult:
        """Scores of every feasible node (all of them: no sampling); nothing is committed."""
        compiler, s = self._single(pod)
        batch = compiler.batch()
        n = len(self.cluster)
        codes = np.empty(n, np.uint8)
        _k.explain(batch, s, codes, np.empty(n, np.uint64))
        rows = np.flatnonzero(codes == PASSES).astype(np.int64)
        raw = np.zeros((int(ScoreRow.SCORE_ROWS), max(len(rows), 1)), np.int64)
        _k.score_feasible(batch, s, rows, raw)
        plugins = {name: raw[SCORE_ROWS[name], : len(rows)] for name, _ in self.profile.scores}
        total = sum((w * plugins[name] for name, w in self.profile.scores),
                    np.zeros(len(rows), np.int64))
        names = self.cluster.node_names
        return ScoreResult(tuple(names[i] for i in rows.tolist()), plugins, total)

    # -- internals -------------------------------------------------------------------

    def _kept_trees_valid(self) -> bool:
        """Whether tournament trees give this scheduler's choice: every node scored,
        first-row ties, incremental on."""
        n = len(self.cluster)
        return (self.incremental and self.tie_break == "first" and bool(self.profile.scores)
                and num_nodes_to_find(n, self.percentage) >= n)

    def _commit_extra(self, compiler: Compiler, pod_spec: np.ndarray,
                      rows: np.ndarray) -> None:
        """Requests for ignored resources that no node offers have no column in the
        kernel; add the columns now, for the pods that were placed."""
        needy = [s for s, extra in enumerate(compiler.extra) if extra]
        if not needy:
            return
        placed = np.isin(pod_spec, needy) & (rows >= 0)
        adds: dict[tuple[int, str], int] = {}
        for t in np.flatnonzero(placed).tolist():
            for resource, amount in compiler.extra[int(pod_spec[t])].items():
                key = (int(rows[t]), resource)
                adds[key] = adds.get(key, 0) + amount
        cluster = self.cluster
        try:
            cluster.check_requested(adds)
        except ValidationError:
            # The kernel committed these placements already: take them back, so
            # that the failed call changes nothing.
            done = np.flatnonzero(rows >= 0)
            specs = pod_spec[done]
            cols = cluster.columns
            np.subtract.at(cols.req, rows[done], np.asarray(compiler.req)[specs])
            np.subtract.at(cols.nonzero, rows[done], np.asarray(compiler.nz, np.int64)[specs])
            raise
        for (row, resource), amount in adds.items():
            cluster.add_requested(row, resource, amount)

    def _single(self, pod: Pod) -> tuple[Compiler, int]:
        if not isinstance(pod, Pod):
            raise ValidationError(f"expected a Pod, got {type(pod).__name__}", "pod")
        compiler = self._compiler()
        compiler.simd_worth_it = False      # one pod: copying columns would not pay
        return compiler, compiler.spec(pod)

    def _compiler(self) -> Compiler:
        """A compiler sharing this scheduler's cache of per-node rows, which holds
        while the cluster's nodes (not their bindings) stay the same."""
        key = (id(self.cluster), id(self.profile), self.cluster.columns.version,
               len(self.cluster))
        if key != self._cache_key:
            self._cache, self._cache_key = {}, key
        return Compiler(self.cluster, self.profile, self._cache, self.services,
                         self.namespace_labels)

    def _check_pods(self, objects: list[Any], counts: np.ndarray) -> None:
        lookup = self.cluster.columns.store.lookup
        seen: set[str] = set()
        for pod, many in zip(objects, counts.tolist()):
            if not isinstance(pod, Pod):
                raise ValidationError(f"expected a Pod, got {type(pod).__name__}", "pods")
            if many > 1:
                continue
            key = pod.key
            if lookup(key) >= 0:
                raise DuplicateError(f"pod {key} is already bound to node "
                                     f"{self.cluster.node_of(key)!r}", "pods")
            if key in seen:
                raise DuplicateError(f"two different pods are named {key}", "pods")
            seen.add(key)

    def _run(self, compiler: Compiler, pod_spec: np.ndarray, rows: np.ndarray,
             scores: np.ndarray, reasons: Reasons, offset: int) -> None:
        n = len(self.cluster)
        if n == 0:
            for t in range(len(pod_spec)):
                reasons.set(offset + t, NO_NODES, {})
            return
        compiler.simd_worth_it = len(pod_spec) >= 4
        batch = compiler.batch()
        profile = self.profile
        has_scores = bool(profile.scores)
        to_find = num_nodes_to_find(n, self.percentage) if has_scores else min(n, 1)
        full = to_find >= n
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
        width = RESOURCE0 + len(self.cluster.resources) + 1
        _, hist = _k.place(batch, np.ascontiguousarray(pod_spec, np.int64), rows, scores, width,
                           slots, trees, self._cursor, self._rng, compiler.ports_on,
                           compiler.fit_on, self.tie_break == "random", to_find)
        self._commit_extra(compiler, pod_spec, rows)
        failed = np.flatnonzero(rows < 0)
        if len(failed):
            # An unschedulable pod's score slot holds the row of its reason counts.
            reasons.add(failed + offset, hist, scores[failed], pod_spec[failed],
                        compiler.missing, compiler.conflict, n, self.cluster.resources)
            scores[failed] = 0
