"""All-or-nothing: random sequences of every mutating call, valid and invalid.

A hypothesis state machine drives a cluster and a scheduler over it with node and
pod changes drawn from pools that mix good arguments with bad ones (invalid names,
70 new extended resources, quantities near 2^63, duplicate taints, unknown pods).
After every call it checks that

* a call that raised left the cluster exactly as it was (``snapshot()`` plus the
  bound pods' priorities and start order, which the snapshot does not show);
* nothing wrapped: every requested amount is in [0, 2^63) and equals the sum of
  the requests of the pods bound to the node, recomputed here from the pods.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from fastsched import Cluster, Pod, Scheduler
from fastsched.errors import FastschedError, ValidationError

INT64_MAX = (1 << 63) - 1

EXTENDED = [f"example.com/r{i}" for i in range(70)]


def mostly(good: list, bad: list) -> st.SearchStrategy:
    """Mostly ``good`` (so that state builds up), sometimes ``bad``."""
    return st.sampled_from(good * (2 + 6 // len(good)) + bad)


NODE_NAMES = mostly(["n1", "n2", "n3", "zone-a.n4"], ["Bad_Name", "a/b", "", "x" * 254])
POD_NAMES = mostly(["p1", "p2", "p3", "p4", "p5", "web-0"], ["Web", "a/b", "nul\0", "y" * 300])
# Near 2^63 millicores: a second forced bind of these would wrap an int64 sum.
HUGE = ["9.2e15", "4611686018427387904m", f"{INT64_MAX}m"]
quantities = mostly(["1", "4", "16Gi", "100m", "0", "500m"], ["-1", "abc", "1e400", *HUGE])
allocatables = st.one_of(
    *[st.fixed_dictionaries({"cpu": quantities, "memory": mostly(["8Gi", "1"], ["1Ei"])})] * 3,
    st.builds(lambda k: {"cpu": "8", **{r: 4 for r in EXTENDED[:k]}},
              st.sampled_from([1, 10, 59, 60, 70])),
    st.sampled_from([{"cpu": "4", "example.com/gpu": 2}, "not a mapping"]),
)
labels = mostly([None, {"zone": "a"}, {"zone": "b", "disk": "ssd"}],
                [{"bad key!": "v"}, {"zone": "x" * 70}])
taints = mostly([(), [{"key": "spot", "effect": "NoSchedule"}]],
                [[{"key": "spot", "effect": "NoSchedule"}] * 2, [{"key": "k", "effect": "Bogus"}]])
requests = st.one_of(
    *[st.fixed_dictionaries({"cpu": quantities})] * 3,
    st.builds(lambda k: {"cpu": "1", **{r: 1 for r in EXTENDED[:k]}},
              st.sampled_from([0, 1, 60, 70])),
    st.sampled_from([{"cpu": "1", "example.com/gpu": 1}, {"memory": "8Ei"}]),
)


def pods() -> st.SearchStrategy:
    def make(name: str, req: dict, priority: int, namespace: str) -> object:
        try:
            ports = [{"containerPort": 80, "hostPort": 8080}] if priority == 10 else []
            return Pod(name, namespace=namespace, priority=priority, labels={"app": "web"},
                       containers=[{"resources": {"requests": req}, "ports": ports}])
        except ValidationError:
            return name          # the pool also holds what is not a Pod at all
    return st.builds(make, POD_NAMES, requests, st.sampled_from([0, 10, 1000]),
                     mostly(["default", "team-a"], ["Team_A"]))


def state(cluster: Cluster) -> tuple:
    """Everything a failed call must leave as it was."""
    cols = cluster.columns
    table = cols.store
    pods = {}
    for pod, node in cluster.bindings():
        slot = cols.slot(pod)
        pods[pod.key] = (node, pod.priority, int(table.seq[slot]), int(table.node[slot]),
                         table.req_of(np.array([slot]))[0].tolist())
    indexes = (sorted((table.key(s), r, p) for s, r, p in cols.ported_pods()),
               sorted((p.key, r) for p, r in cols.affine_pods()))
    return cluster.snapshot(), pods, indexes


class ClusterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.cluster = Cluster()
        self.scheduler = Scheduler(self.cluster)
        self.touched: set[str] = set()      # columns add_requested wrote outside any pod

    @initialize(cpu=st.sampled_from(["2", "4", "64"]), gpus=st.sampled_from([0, 2]))
    def two_nodes(self, cpu, gpus) -> None:
        self.cluster.add_node("n1", {"cpu": cpu, "memory": "8Gi"}, labels={"zone": "a"})
        self.cluster.add_node("n2", {"cpu": cpu, "memory": "8Gi", "example.com/gpu": gpus})

    def attempt(self, call, *args, **kwargs) -> None:
        before = state(self.cluster)
        try:
            call(*args, **kwargs)
            event(f"{call.__name__}: ok")
        except (FastschedError, ValueError, TypeError, KeyError) as err:
            # Every error a user can cause is one of ours, and it changed nothing.
            assert isinstance(err, FastschedError), f"{type(err).__name__}: {err}"
            event(f"{call.__name__}: {type(err).__name__} {str(err)[:60]}")
            after = state(self.cluster)
            assert after[0] == before[0], f"{call.__name__} raised {err!r} but changed the cluster"
            assert after[1:] == before[1:], f"{call.__name__} raised {err!r} but changed the pods"

    @rule(name=NODE_NAMES, alloc=allocatables, lab=labels, tnt=taints,
          unsched=mostly([False, True], ["yes"]))
    def add_node(self, name, alloc, lab, tnt, unsched) -> None:
        self.attempt(self.cluster.add_node, name, alloc, labels=lab, taints=tnt,
                     unschedulable=unsched)

    @rule(name=NODE_NAMES, alloc=st.one_of(st.none(), allocatables),
          lab=labels, tnt=st.one_of(st.none(), taints))
    def update_node(self, name, alloc, lab, tnt) -> None:
        self.attempt(self.cluster.update_node, name, allocatable=alloc, labels=lab, taints=tnt)

    @rule(name=NODE_NAMES)
    def remove_node(self, name) -> None:
        self.attempt(self.cluster.remove_node, name)

    @rule(pod=pods(), node=NODE_NAMES, force=st.booleans())
    def bind(self, pod, node, force) -> None:
        self.attempt(self.cluster.bind, pod, node, force=force)

    @rule(name=POD_NAMES, node=NODE_NAMES, cpu=st.sampled_from(HUGE))
    def force_bind_huge(self, name, node, cpu) -> None:
        # Two of these on one node would wrap the int64 sum of requested cpu.
        try:
            pod = Pod(name, requests={"cpu": cpu})
        except ValidationError:
            return
        self.attempt(self.cluster.bind, pod, node, force=True)

    @rule(batch=st.lists(pods(), max_size=5), nodes=st.lists(NODE_NAMES, min_size=5, max_size=6),
          force=st.booleans())
    def bind_many(self, batch, nodes, force) -> None:
        self.attempt(self.cluster.bind_many, batch, nodes[: len(batch) + (len(nodes) == 6)],
                     force=force)

    @rule(pod=st.one_of(pods(), st.sampled_from(["p1", "team-a/p2", 5])))
    def unbind(self, pod) -> None:
        self.attempt(self.cluster.unbind, pod)

    @rule(picks=st.lists(st.integers(0, 20), max_size=4),
          extra=st.sampled_from([None, "p1", "team-a/p2", "default/nope", 5, "dup"]))
    def unbind_many(self, picks, extra) -> None:
        bound = list(self.cluster.pods)
        keys: list = [bound[i % len(bound)] for i in picks] if bound else []
        if extra == "dup" and keys:
            keys.append(keys[0])
        elif extra is not None and extra != "dup":
            keys.append(extra)
        self.attempt(self.cluster.unbind_many, keys)

    @rule(pod=pods(), preempt=st.booleans())
    def schedule(self, pod, preempt) -> None:
        self.attempt(self.scheduler.schedule, pod, preempt=preempt)

    @rule(batch=st.lists(pods(), max_size=4), replicas=st.sampled_from([0, 3]))
    def schedule_many(self, batch, replicas) -> None:
        if replicas and batch and isinstance(batch[0], Pod):
            batch = batch + [batch[0]] * replicas
        self.attempt(self.scheduler.schedule_many, batch)

    @rule(batch=st.lists(pods(), min_size=1, max_size=4),
          need=mostly([None, 1, 3], [0, 99, "2"]))
    def schedule_gang(self, batch, need) -> None:
        self.attempt(self.scheduler.schedule_gang, batch, need)

    @rule(resource=mostly(["example.com/new", *EXTENDED[:3]], ["bad resource"]),
          node=st.integers(0, 3), amount=st.sampled_from([1, -5, INT64_MAX]))
    def add_requested(self, resource, node, amount) -> None:
        if node < len(self.cluster):
            self.touched.add(resource)
            self.attempt(self.cluster.add_requested, node, resource, amount)

    @invariant()
    def nothing_wrapped(self) -> None:
        cluster = self.cluster
        n = len(cluster)
        req = cluster.requested[:n]
        assert (req >= 0).all() and (cluster.nonzero_requested[:n] >= 0).all()
        # The requested columns are the sums of the bound pods' requests (add_requested
        # writes outside any pod, so only columns it never touched are checked).
        expect = np.zeros_like(req, dtype=object)
        for pod, node in cluster.bindings():
            row = cluster.row(node)
            for resource, amount in pod.requests.items():
                expect[row, cluster.resources.index(resource)] += amount
            expect[row, cluster.resources.index("pods")] += 1
        for col, resource in enumerate(cluster.resources):
            if resource not in self.touched:
                assert [int(v) for v in req[:, col]] == list(expect[:, col]), resource


TestClusterMachine = ClusterMachine.TestCase
TestClusterMachine.settings = settings(max_examples=int(os.environ.get("FASTSCHED_FUZZ_EXAMPLES", 100)),
                                       stateful_step_count=25, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])


def test_add_node_with_too_many_resources_changes_nothing():
    cluster = Cluster()
    cluster.add_node("n1", {"cpu": "4"})
    before = cluster.snapshot()
    with pytest.raises(ValidationError, match="at most 63 distinct resources") as err:
        cluster.add_node("n2", {"cpu": "4", **{r: 1 for r in EXTENDED}})
    assert err.value.field == "allocatable"
    assert cluster.resources == before.resources and cluster.snapshot() == before
    with pytest.raises(ValidationError):
        cluster.update_node("n1", allocatable={r: 1 for r in EXTENDED})
    with pytest.raises(ValidationError):
        cluster.bind(Pod("p", requests={r: 1 for r in EXTENDED}), "n1", force=True)
    assert cluster.snapshot() == before


def test_force_bind_never_wraps_requested():
    cluster = Cluster()
    cluster.add_node("n1", {"cpu": "4"})
    cluster.bind(Pod("a", requests={"cpu": "9.2e15"}), "n1", force=True)
    before = cluster.snapshot()
    with pytest.raises(ValidationError, match="past int64") as err:
        cluster.bind(Pod("b", requests={"cpu": "9.2e15"}), "n1", force=True)
    assert err.value.field == "requests.cpu"
    assert cluster.snapshot() == before
    assert int(cluster.requested[0, 0]) == 9_200_000_000_000_000_000


def test_pod_total_request_past_int64_is_refused():
    from fastsched.model.pod import Container
    big = Container(requests={"cpu": INT64_MAX})
    with pytest.raises(ValidationError, match="exceeds int64") as err:
        Pod("p", containers=[big, big])
    assert err.value.field == "requests.cpu"
    with pytest.raises(ValidationError, match="exceeds int64"):
        Pod("p", containers=[big], overhead={"cpu": 1})


@pytest.mark.parametrize("name", ["a/b", "nul\0", "y" * 254, "Web", "-web", "web-", "a..b", ""])
def test_pod_names_are_dns_subdomains(name):
    with pytest.raises(ValidationError) as err:
        Pod(name)
    assert err.value.field == "name"


@pytest.mark.parametrize("namespace", ["a/b", "a.b", "Team", "n" * 64, ""])
def test_namespaces_are_dns_labels(namespace):
    with pytest.raises(ValidationError) as err:
        Pod("p", namespace=namespace)
    assert err.value.field == "namespace"


def test_valid_names_pass():
    assert Pod("y" * 253).name == "y" * 253
    assert Pod("web-0.a", namespace="n" * 63).key == f"{'n' * 63}/web-0.a"


def test_the_same_host_port_twice_is_refused():
    port = {"containerPort": 80, "hostPort": 8080}
    with pytest.raises(ValidationError, match="duplicate host port") as err:
        Pod("p", containers=[{"ports": [port]}, {"ports": [port]}])
    assert err.value.field == "containers[1].ports[0].hostPort"
    # Another protocol or host IP is another port (AccumulateUniqueHostPorts).
    Pod("p", containers=[{"ports": [port, {**port, "protocol": "UDP"},
                                    {**port, "hostIP": "10.0.0.1"}]}])


def test_replicas_of_a_long_name_stay_valid():
    cluster = Cluster()
    cluster.add_node("n1", {"cpu": "4", "pods": 20})
    template = Pod("z" * 252, requests={"cpu": "100m"})
    result = Scheduler(cluster).schedule_many([template] * 12)
    assert result.placed == 12
    names = [p.name for p in cluster.pods_on("n1")]
    assert len(set(names)) == 12 and all(len(n) <= 253 for n in names)
    assert all(n.startswith("z" * 240) for n in names)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(pods(), NODE_NAMES), max_size=12), st.booleans())
def test_bind_many_is_bind_pod_by_pod(pairs, force):
    # Reference: bind one at a time, stopping at the first error (and undoing nothing:
    # bind_many must then refuse the whole batch and leave the cluster as it was).
    def fresh() -> Cluster:
        cluster = Cluster()
        cluster.add_node("n1", {"cpu": "2", "memory": "8Gi", "pods": 4})
        cluster.add_node("n2", {"cpu": "8", "memory": "8Gi", "example.com/gpu": 1})
        cluster.bind(Pod("old", requests={"cpu": "1"}), "n1")
        return cluster
    one, many = fresh(), fresh()
    pods_, nodes = [p for p, _ in pairs], [n for _, n in pairs]
    failed = None
    for pod, node in pairs:
        try:
            one.bind(pod, node, force=force)
        except FastschedError as err:
            failed = err
            break
    before = state(many)
    try:
        many.bind_many(pods_, nodes, force=force)
    except FastschedError as err:
        assert failed is not None, f"bind_many refused what bind accepted: {err!r}"
        # (Which error comes first may differ: bind_many checks every pod, then the sums.)
        assert state(many) == before
    else:
        assert failed is None, f"bind_many accepted what bind refused: {failed!r}"
        assert state(many) == state(one)
