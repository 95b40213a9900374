"""The cluster's bound-pod store against a plain dict of pods.

A hypothesis state machine drives a small cluster (2-5 nodes of a few cpus, so that
pods do not always fit and preemption happens) through random sequences of node
changes, binds, unbinds, schedules with and without preemption, batches of
replicas and named pods, and gangs. Beside it runs a reference written in plain
Python: an ordered dict ``key -> (pod as bound, node)`` in binding order, updated
only from what each call reports (placements, preemptions' victims, evictions).

After every step the cluster must show exactly the reference's pods, per node in
binding order, with ``requested`` and ``nonzero_requested`` equal to sums
recomputed here from the pods' specs. Every few steps (and at the end) a fresh
cluster with the same nodes is given the reference's pods one by one: it must have
the same snapshot, and the same probe batch must land on the same nodes in both.

The tests at the end pin down three bugs the machine found in the dict-of-pods
store that came before: preemption trials moved pods to the end of the binding
order, and a replica whose generated name a user's pod held was reported under
that name (so a failed gang unbound the user's pod).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from fastsched import Cluster, Placement, Pod, Preemption, Scheduler, Unschedulable
from fastsched.errors import (
    DoesNotFitError,
    DuplicateError,
    FastschedError,
    NodeNotFoundError,
    PodNotFoundError,
)

MI, GI = 1 << 20, 1 << 30
HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"
FINAL_EVERY = 10            # steps between two "same placements" checks (each: 2 copies)


def _anti(app: str) -> dict:
    return {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": HOST, "labelSelector": {"matchLabels": {"app": app}}}]}


def _spread(app: str) -> list:
    return [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": {"matchLabels": {"app": app}}}]


def _ports(port: int) -> list:
    return [{"resources": {"requests": {"cpu": "250m", "memory": "128Mi"}},
             "ports": [{"containerPort": 80, "hostPort": port}]}]


# Pod specs by name: the templates' and the named pods' fields. "tiny" requests
# nothing (the nonzero columns then count the 100m / 200Mi scoring defaults).
SPECS: dict[str, dict[str, Any]] = {
    "web": dict(labels={"app": "web", "tier": "front"}, requests={"cpu": "500m", "memory": "256Mi"}),
    "batch": dict(namespace="team-a", labels={"app": "batch"},
                  requests={"cpu": "1", "memory": "1Gi"}, priority=10),
    "tiny": dict(labels={"app": "tiny"}),
    "api": dict(labels={"app": "api"}, containers=_ports(8080), priority=50),
    "db": dict(labels={"app": "db"}, requests={"cpu": "250m"}, pod_anti_affinity=_anti("db"),
               priority=50),
    "spread": dict(labels={"app": "spread"}, requests={"cpu": "200m"},
                   topology_spread_constraints=_spread("spread")),
    "urgent": dict(labels={"app": "urgent"}, requests={"cpu": "1500m", "memory": "1Gi"},
                   priority=1000),
}
# One object per template, reused: a pod object given more than once is replicas.
TEMPLATES = {name: Pod(name, **spec) for name, spec in SPECS.items()}
SIMPLE = ["web", "batch", "tiny", "urgent"]         # no ports, affinity or spread
NODE_NAMES = ["n0", "n1", "n2", "n3", "n4", "n5"]
POD_NAMES = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"]
UNKNOWN_KEYS = ["default/ghost", "team-a/p0-gone", "nobody"]
REPLICA = re.compile(r"(.+)-(\d+)(?:-r)*")      # -r: the generated name was taken

node_specs = st.fixed_dictionaries({
    "allocatable": st.fixed_dictionaries({
        "cpu": st.sampled_from([1000, 2000, 3000, 4000]),
        "memory": st.sampled_from([2 * GI, 4 * GI, 8 * GI]),
        "pods": st.sampled_from([3, 5, 8]),
    }),
    "labels": st.sampled_from([{ZONE: "a"}, {ZONE: "b"}, {ZONE: "a", "disk": "ssd"}]),
})


@st.composite
def named_pods(draw: Any, specs: list[str] | None = None) -> Pod:
    """A named pod: one of the specs under a name of the pool, sometimes with
    another priority or namespace."""
    spec = dict(SPECS[draw(st.sampled_from(specs or list(SPECS)))])
    name = draw(st.sampled_from(POD_NAMES))
    if draw(st.integers(0, 3)) == 0:
        spec["priority"] = draw(st.sampled_from([0, 50, 2000]))
    if draw(st.integers(0, 3)) == 0:
        spec["namespace"] = "team-a" if spec.get("namespace", "default") == "default" else "default"
    return Pod(name, **spec)


@st.composite
def batches(draw: Any, max_groups: int = 4) -> list[Pod]:
    """A mix of templates repeated (once is allowed: then it is a pod of its own
    name) and named pods, in a random order."""
    batch: list[Pod] = []
    for _ in range(draw(st.integers(1, max_groups))):
        if draw(st.booleans()):
            batch += [TEMPLATES[draw(st.sampled_from(list(SPECS)))]] * draw(st.integers(1, 5))
        else:
            batch.append(draw(named_pods()))
    return draw(st.permutations(batch))


def probe_batch() -> list[Pod]:
    """What the "same placements" check schedules on both clusters."""
    t = TEMPLATES
    return ([t["web"]] * 3 + [Pod("probe-a", **SPECS["tiny"])] + [t["db"]] * 2
            + [Pod("probe-b", **SPECS["batch"])] + [t["spread"]] * 3 + [t["api"]] * 2
            + [t["batch"]] * 2)


def fits(alloc: dict[str, int], used: dict[str, int], pod: Pod) -> bool:
    """NodeResourcesFit in plain Python: one more pod, and every request within what
    is free."""
    if used.get("pods", 0) + 1 > alloc["pods"]:
        return False
    return all(amount <= alloc.get(r, 0) - used.get(r, 0)
               for r, amount in pod.requests.items() if amount > 0)


def strip_replica(key: str | None, template: bool) -> str | None:
    """A replica's key without its sequence number, which depends on the cluster's
    history (a rebuilt cluster starts counting afresh)."""
    if key is None or not template:
        return key
    match = REPLICA.fullmatch(key)
    assert match, f"replica key {key!r} is not <name>-<number>"
    return match.group(1)


class PodStoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.cluster = Cluster()
        self.scheduler = Scheduler(self.cluster)
        self.nodes: dict[str, dict] = {}                 # node name -> add_node kwargs, in order
        # key -> (pod as the API reported it, the spec it came from, node), binding order.
        self.ref: dict[str, tuple[Pod, Pod, str]] = {}
        self.steps = 0
        self.kept: tuple[Cluster, list] | None = None     # see keep_a_copy
        # A guess at the next replica number (for names that clash with it): replica
        # t of a call is numbered base + t, and a call of n pods moves base by n.
        self.seq = 0

    # -- the reference -------------------------------------------------------------

    def used(self, node: str) -> dict[str, int]:
        total: dict[str, int] = {"pods": 0}
        for _, origin, where in self.ref.values():
            if where == node:
                total["pods"] += 1
                for r, amount in origin.requests.items():
                    total[r] = total.get(r, 0) + amount
        return total

    def ref_on(self, node: str) -> list[str]:
        return [key for key, (_, _, where) in self.ref.items() if where == node]

    def record(self, pod: Pod, origin: Pod, node: str) -> None:
        """A binding the API reported: ``pod`` as bound, made from ``origin``."""
        assert pod.key not in self.ref, f"{pod.key} reported bound twice"
        if pod is not origin and pod.name.endswith("-r"):
            event("replica renamed: its name was taken")
        assert node in self.nodes, f"{pod.key} reported on unknown node {node!r}"
        self.check_pod(pod, origin)
        self.ref[pod.key] = (pod, origin, node)

    @staticmethod
    def check_pod(pod: Pod, origin: Pod) -> None:
        """A bound pod is its origin under its name (a replica: ``<name>-<k>``)."""
        if pod.name != origin.name:
            match = REPLICA.fullmatch(pod.name)
            assert match and match.group(1) == origin.name, (pod.name, origin.name)
        assert (pod.namespace, dict(pod.labels), dict(pod.requests), pod.priority) == (
            origin.namespace, dict(origin.labels), dict(origin.requests), origin.priority)
        assert pod.host_ports == origin.host_ports
        assert pod.pod_anti_affinity == origin.pod_anti_affinity
        assert pod.topology_spread_constraints == origin.topology_spread_constraints

    def state(self) -> tuple:
        """What a refused call must leave as it was (the snapshot's pod map ignores
        order, so the binding order is added)."""
        return self.cluster.snapshot(), [p.key for p, _ in self.cluster.bindings()]

    def expect_error(self, error: type[Exception], call: Any, *args: Any, **kwargs: Any) -> None:
        before = self.state()
        try:
            call(*args, **kwargs)
        except error:
            event(f"{call.__name__}: {error.__name__}")
        else:
            raise AssertionError(f"{call.__name__} did not raise {error.__name__}")
        assert self.state() == before, f"{call.__name__} raised but changed the cluster"

    def pick(self, index: int) -> str:
        keys = list(self.ref)
        return keys[index % len(keys)]

    def record_result(self, batch: list[Pod], result: Any) -> None:
        assert len(result) == len(batch)
        counts: dict[int, int] = {}
        for pod in batch:
            counts[id(pod)] = counts.get(id(pod), 0) + 1
        keys = []
        for t, (pod, outcome) in enumerate(zip(batch, result)):
            if counts[id(pod)] > 1:
                match = REPLICA.fullmatch(outcome.pod.name)
                assert match, outcome.pod.name
                self.seq = int(match.group(2)) - t + len(batch)
            if isinstance(outcome, Placement):
                if counts[id(pod)] == 1:
                    assert outcome.pod is pod
                self.record(outcome.pod, pod, outcome.node)
                keys.append(outcome.pod.key)
            else:
                assert isinstance(outcome, Unschedulable), outcome
                keys.append(None)
        assert result.nodes == [o.node if isinstance(o, Placement) else None for o in result]
        assert result.keys() == keys
        event("placed " + ("none" if result.placed == 0 else
                           "all" if result.placed == len(result) else "some"))

    def duplicate_in(self, batch: list[Pod]) -> bool:
        """Whether ``schedule_many`` must refuse the batch: a pod given once (so not
        replicas) whose key is bound already or named by another such pod."""
        counts: dict[int, int] = {}
        for pod in batch:
            counts[id(pod)] = counts.get(id(pod), 0) + 1
        seen: set[str] = set()
        for pod in {id(p): p for p in batch}.values():
            if counts[id(pod)] == 1:
                if pod.key in self.ref or pod.key in seen:
                    return True
                seen.add(pod.key)
        return False

    # -- rules ---------------------------------------------------------------------

    @initialize(specs=st.lists(node_specs, min_size=2, max_size=4))
    def start(self, specs) -> None:
        for name, spec in zip(NODE_NAMES, specs):
            self.add_node(name, spec)

    @rule(name=st.sampled_from(NODE_NAMES), spec=node_specs)
    def add_node(self, name, spec) -> None:
        if name in self.nodes:
            self.expect_error(DuplicateError, self.cluster.add_node, name, **spec)
            return
        if len(self.nodes) >= 5:
            return
        self.cluster.add_node(name, **spec)
        self.nodes[name] = spec

    @rule(name=st.sampled_from(NODE_NAMES))
    def remove_node(self, name) -> None:
        if name not in self.nodes:
            self.expect_error(NodeNotFoundError, self.cluster.remove_node, name)
            return
        if len(self.nodes) <= 1:
            return
        expected = self.ref_on(name)
        evicted = self.cluster.remove_node(name)
        assert [p.key for p in evicted] == expected, "evicted pods, in binding order"
        for pod in evicted:
            assert pod == self.ref[pod.key][0]
            del self.ref[pod.key]
        del self.nodes[name]
        event(f"remove_node: {len(evicted)} evicted")

    @rule(pod=named_pods(), node=st.sampled_from(NODE_NAMES), force=st.booleans())
    def bind(self, pod, node, force) -> None:
        if node not in self.nodes:
            self.expect_error(NodeNotFoundError, self.cluster.bind, pod, node, force=force)
        elif pod.key in self.ref:
            self.expect_error(DuplicateError, self.cluster.bind, pod, node, force=force)
        elif not force and not fits(self.nodes[node]["allocatable"], self.used(node), pod):
            self.expect_error(DoesNotFitError, self.cluster.bind, pod, node)
        else:
            self.cluster.bind(pod, node, force=force)
            self.record(pod, pod, node)

    @rule(pairs=st.lists(st.tuples(named_pods(SIMPLE), st.sampled_from(NODE_NAMES)),
                         min_size=1, max_size=3))
    def bind_many(self, pairs) -> None:
        pods, nodes = [p for p, _ in pairs], [n for _, n in pairs]
        # Plain reference: pod by pod, the first refusal refuses the whole batch.
        used = {n: self.used(n) for n in self.nodes}
        seen: set[str] = set()
        ok = True
        for pod, node in pairs:
            if node not in self.nodes or pod.key in self.ref or pod.key in seen \
                    or not fits(self.nodes[node]["allocatable"], used[node], pod):
                ok = False
                break
            seen.add(pod.key)
            used[node]["pods"] += 1
            for r, amount in pod.requests.items():
                used[node][r] = used[node].get(r, 0) + amount
        if not ok:
            # (Which error comes first may differ: bind_many checks every pod, then the sums.)
            self.expect_error(FastschedError, self.cluster.bind_many, pods, nodes)
            return
        self.cluster.bind_many(pods, nodes)
        for pod, node in pairs:
            self.record(pod, pod, node)

    @precondition(lambda self: self.ref)
    @rule(index=st.integers(0, 1000), how=st.sampled_from(["pod", "key", "name"]))
    def unbind(self, index, how) -> None:
        key = self.pick(index)
        bound, _, _ = self.ref[key]
        arg: Pod | str = bound if how == "pod" else key
        if how == "name" and key.startswith("default/"):
            arg = key.split("/", 1)[1]          # a bare name means namespace default
        assert self.cluster.unbind(arg) == bound
        del self.ref[key]

    @rule(spec=st.sampled_from([s for s in SPECS if "namespace" not in SPECS[s]]),
          ahead=st.integers(0, 6), node=st.sampled_from(NODE_NAMES), gang=st.booleans())
    def bind_replica_name(self, spec, ahead, node, gang) -> None:
        """A user's pod under a name a replica is likely to be given next, then
        replicas of that template: the one whose name is taken must get another name,
        be reported under it, and a failed gang must unbind it, not the user's pod."""
        pod = Pod(f"{spec}-{self.seq + ahead}", **SPECS["tiny"])
        if node in self.nodes and pod.key not in self.ref:
            self.cluster.bind(pod, node, force=True)
            self.record(pod, pod, node)
            batch = [TEMPLATES[spec]] * (ahead + 2)
            if gang:
                self.run_gang(batch)
            else:
                self.run_many(batch)

    @rule(key=st.sampled_from(UNKNOWN_KEYS))
    def unbind_unknown(self, key) -> None:
        self.expect_error(PodNotFoundError, self.cluster.unbind, key)

    @precondition(lambda self: self.ref)
    @rule(picks=st.lists(st.integers(0, 1000), max_size=6), as_pods=st.booleans(),
          spoil=st.sampled_from([None, None, "unknown", "twice"]))
    def unbind_many(self, picks, as_pods, spoil) -> None:
        keys = list(dict.fromkeys(self.pick(i) for i in picks))
        args: list[Pod | str] = [self.ref[k][0] if as_pods else k for k in keys]
        if spoil == "unknown":
            self.expect_error(PodNotFoundError, self.cluster.unbind_many,
                              args + ["default/ghost"])
        elif spoil == "twice" and keys:
            self.expect_error(DuplicateError, self.cluster.unbind_many, args + [keys[0]])
        else:
            assert self.cluster.unbind_many(iter(args)) == len(keys)
            event(f"unbind_many: {'none' if not keys else 'some'}")
            for key in keys:
                del self.ref[key]

    @rule(pod=named_pods(), preempt=st.booleans())
    def schedule(self, pod, preempt) -> None:
        if pod.key in self.ref:
            self.expect_error(DuplicateError, self.scheduler.schedule, pod, preempt=preempt)
            return
        before = self.state()
        outcome = self.scheduler.schedule(pod, preempt=preempt)
        event(f"schedule: {type(outcome).__name__}")
        if isinstance(outcome, Unschedulable):
            assert self.state() == before, "an unschedulable pod changed the cluster"
        elif isinstance(outcome, Preemption):
            self.preempted(pod, outcome)
        else:
            self.record(outcome.pod, pod, outcome.node)

    @rule(priority=st.sampled_from([100, 3000]), spec=st.sampled_from(["urgent", "db", "batch"]),
          name=st.sampled_from(["hi0", "hi1", "hi2"]))
    def schedule_preempting(self, priority, spec, name) -> None:
        """A high-priority pod that often fits only by evicting."""
        pod = Pod(name, **{**SPECS[spec], "priority": priority})
        if pod.key in self.ref:
            return
        before = self.state()
        outcome = self.scheduler.schedule(pod, preempt=True)
        event(f"schedule_preempting: {type(outcome).__name__}")
        if isinstance(outcome, Preemption):
            self.preempted(pod, outcome)
        elif isinstance(outcome, Placement):
            self.record(outcome.pod, pod, outcome.node)
        else:
            assert self.state() == before, "an unschedulable pod changed the cluster"

    def preempted(self, pod: Pod, outcome: Preemption) -> None:
        assert outcome.pod == pod and outcome.victims
        for victim in outcome.victims:
            assert victim.key in self.ref, f"victim {victim.key} was not bound"
            assert self.ref[victim.key][2] == outcome.node
            assert victim.priority < pod.priority
            del self.ref[victim.key]
        if not (pod.pod_anti_affinity or pod.topology_spread_constraints or pod.host_ports):
            assert fits(self.nodes[outcome.node]["allocatable"], self.used(outcome.node), pod)
        self.record(pod, pod, outcome.node)

    @rule(batch=batches())
    def schedule_many(self, batch) -> None:
        self.run_many(batch)

    def run_many(self, batch: list[Pod]) -> None:
        if self.duplicate_in(batch):
            self.expect_error(DuplicateError, self.scheduler.schedule_many, batch)
            return
        self.record_result(batch, self.scheduler.schedule_many(batch))

    @rule(batch=batches(max_groups=2), extra=st.integers(0, 3))
    def schedule_gang(self, batch, extra) -> None:
        """A gang, usually too big to place whole: then nothing may stay bound."""
        self.run_gang(batch + [TEMPLATES["urgent"]] * extra)

    def run_gang(self, batch: list[Pod]) -> None:
        if self.duplicate_in(batch):
            return
        before = self.state()
        result = self.scheduler.schedule_gang(batch)
        event(f"schedule_gang: {'failed' if result.placed == 0 else 'placed'}")
        if result.placed == 0:
            assert self.state() == before, "a gang that failed left pods bound"
        else:
            assert result.placed == len(batch)
        self.record_result(batch, result)

    @rule(unbind=st.integers(0, 1000))
    def keep_a_copy(self, unbind) -> None:
        """A copy taken now, then changed on its own (a pod unbound, a probe
        scheduled): neither it nor the cluster may see the other's later changes."""
        copy = self.cluster.copy()
        expect = dict(self.ref)
        if expect:
            key = list(expect)[unbind % len(expect)]
            assert copy.unbind(key) == expect.pop(key)[0]
        batch = probe_batch()
        result = Scheduler(copy).schedule_many(batch)
        for pod, outcome in zip(batch, result):
            if isinstance(outcome, Placement):
                expect[outcome.pod.key] = (outcome.pod, pod, outcome.node)
        self.kept = (copy, [(p.key, node) for p, _, node in expect.values()])

    # -- invariants ----------------------------------------------------------------

    @invariant()
    def kept_copy_unchanged(self) -> None:
        if self.kept is not None:
            copy, expect = self.kept
            assert [(p.key, node) for p, node in copy.bindings()] == expect
            assert dict(copy.snapshot().pods) == dict(expect)

    @invariant()
    def same_pods(self) -> None:
        self.steps += 1
        cluster = self.cluster
        assert list(cluster.node_names) == list(self.nodes)
        assert dict(cluster.snapshot().pods) == {k: node for k, (_, _, node) in self.ref.items()}
        assert len(cluster.pods) == len(self.ref) and set(cluster.pods) == set(self.ref)
        bindings = list(cluster.bindings())
        assert [p.key for p, _ in bindings] == list(self.ref), "binding order"
        assert bindings == [(pod, node) for pod, _, node in self.ref.values()]
        for node in self.nodes:
            on = cluster.pods_on(node)
            assert [p.key for p in on] == self.ref_on(node), node
            assert list(on) == [self.ref[key][0] for key in self.ref_on(node)]
        for key in list(self.ref)[:: max(len(self.ref) // 4, 1)]:
            pod, origin, node = self.ref[key]
            assert cluster.node_of(key) == node
            assert cluster.pods[key] == pod
            self.check_pod(cluster.pods[key], origin)

    @invariant()
    def same_sums(self) -> None:
        cluster = self.cluster
        columns = {r: i for i, r in enumerate(cluster.resources)}
        expect = np.zeros((len(self.nodes), len(columns)), np.int64)
        nonzero = np.zeros((len(self.nodes), 2), np.int64)
        rows = {name: i for i, name in enumerate(self.nodes)}
        for _, origin, node in self.ref.values():
            row = rows[node]
            expect[row, columns["pods"]] += 1
            for r, amount in origin.requests.items():
                expect[row, columns[r]] += amount
            nonzero[row] += [origin.scoring_requests.get("cpu", 0),
                             origin.scoring_requests.get("memory", 0)]
        assert cluster.requested.tolist() == expect.tolist()
        assert cluster.nonzero_requested.tolist() == nonzero.tolist()

    @invariant()
    def same_placements_afterwards(self) -> None:
        if self.steps % FINAL_EVERY == 0:
            self.rebuilt_agrees()

    def teardown(self) -> None:
        self.rebuilt_agrees()

    def rebuilt_agrees(self) -> None:
        """A cluster built afresh from the reference is the same cluster: same
        snapshot, and the same probe batch lands on the same nodes."""
        fresh = Cluster()
        for name, spec in self.nodes.items():
            fresh.add_node(name, **spec)
        for pod, _, node in self.ref.values():
            fresh.bind(pod, node, force=True)
        assert fresh.snapshot() == self.cluster.snapshot()
        copy = self.cluster.copy()
        assert copy.snapshot() == self.cluster.snapshot()
        assert [p.key for p, _ in copy.bindings()] == list(self.ref)
        batch = probe_batch()
        ours = Scheduler(copy).schedule_many(batch)
        theirs = Scheduler(fresh.copy()).schedule_many(batch)
        assert ours.nodes == theirs.nodes
        assert ours.scores.tolist() == theirs.scores.tolist()
        template = [sum(q is p for q in batch) > 1 for p in batch]
        assert probe_keys(ours, template) == probe_keys(theirs, template)
        # The probe ran on copies: the cluster itself is as the reference says.
        assert len(self.cluster.pods) == len(self.ref)


def probe_keys(result: Any, template: Iterable[bool]) -> list[str | None]:
    return [strip_replica(k, t) for k, t in zip(result.keys(), template)]


TestPodStore = PodStoreMachine.TestCase
TestPodStore.settings = settings(max_examples=int(os.environ.get("FASTSCHED_FUZZ_EXAMPLES", 100)),
                                 stateful_step_count=30, deadline=None,
                                 suppress_health_check=[HealthCheck.too_slow])


# -- regressions: bugs of the dict-of-pods store (before issue 13) -----------------------


def _node(cluster: Cluster, name: str) -> None:
    cluster.add_node(name, {"cpu": 4000, "memory": 8 * GI})


def test_preempt_changes_no_binding_order():
    cluster = Cluster()
    _node(cluster, "n1")
    _node(cluster, "n2")
    cluster.bind(Pod("x", requests={"cpu": "100m"}), "n1")
    cluster.bind(Pod("h", labels={"app": "db"}, priority=500, requests={"cpu": "100m"}), "n1")
    cluster.bind(Pod("y", requests={"cpu": "100m"}), "n1")
    cluster.bind(Pod("z", labels={"app": "db"}, requests={"cpu": "100m"}), "n2")
    db = Pod("db", **{**SPECS["db"], "priority": 100})
    # Both nodes fail anti-affinity; the trial on n1 evicts x and y (lower than db,
    # and not in the way) and puts them back. preempt() documents "nothing is changed".
    choice = Scheduler(cluster).preempt(db)
    assert isinstance(choice, Preemption) and choice.node == "n2"
    assert [p.key for p in cluster.pods_on("n1")] == ["default/x", "default/h", "default/y"]
    assert [p.key for p, _ in cluster.bindings()] == [
        "default/x", "default/h", "default/y", "default/z"]


def test_a_replica_whose_name_is_taken_is_reported_as_bound():
    cluster = Cluster()
    _node(cluster, "n1")
    cluster.bind(Pod("web-1", requests={"cpu": "100m"}), "n1")
    result = Scheduler(cluster).schedule_many([TEMPLATES["web"]] * 3)
    reported = [o.pod.key for o in result]
    assert result.keys() == reported
    assert len(set(reported)) == 3 and "default/web-1" not in reported
    assert set(cluster.pods) == {"default/web-1", *reported}


def test_a_failed_gang_unbinds_only_its_own_pods():
    cluster = Cluster()
    _node(cluster, "n1")
    cluster.bind(Pod("urgent-1", requests={"cpu": "100m"}), "n1")
    before = cluster.snapshot()
    result = Scheduler(cluster).schedule_gang([TEMPLATES["urgent"]] * 3)   # 2 of 3 fit
    assert result.placed == 0
    assert cluster.snapshot() == before
