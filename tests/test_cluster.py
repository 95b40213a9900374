"""The cluster model: columns, binding, validation and all-or-nothing updates."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fastsched import (
    Cluster,
    DoesNotFitError,
    DuplicateError,
    NodeNotFoundError,
    Pod,
    PodNotFoundError,
    QuantityError,
    Taint,
    ValidationError,
)

GI = 1 << 30


def small_cluster():
    c = Cluster()
    c.add_node("n1", {"cpu": "4", "memory": "16Gi", "pods": 3}, labels={"zone": "a"})
    c.add_node("n2", {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": 2},
               labels={"zone": "b"}, taints=[{"key": "gpu", "value": "yes", "effect": "NoSchedule"}])
    return c


def test_columns_and_units():
    c = small_cluster()
    assert c.resources == ("cpu", "memory", "ephemeral-storage", "pods", "nvidia.com/gpu")
    assert c.node_names == ("n1", "n2")
    assert c.allocatable.tolist() == [[4000, 16 * GI, 0, 3, 0], [2000, 8 * GI, 0, 110, 2]]
    assert c.allocatable.dtype == np.int64 and c.allocatable.flags.c_contiguous
    assert not c.allocatable.flags.writeable
    assert c.node_labels("n1") == {"zone": "a", "kubernetes.io/hostname": "n1"}
    assert c.node("n2").taints == (Taint("gpu", "yes", "NoSchedule"),)
    assert c.taint_bits.tolist() == [[0], [1]]
    assert c.label_codes.shape == (2, 2)


def test_bind_and_unbind_update_requested():
    c = small_cluster()
    pod = Pod(name="web", requests={"cpu": "500m", "memory": "1Gi"})
    c.bind(pod, "n1")
    assert c.requested[0].tolist() == [500, GI, 0, 1, 0]
    assert c.nonzero_requested[0].tolist() == [500, GI]
    assert c.pod_counts.tolist() == [1, 0]
    assert c.pods_on("n1") == (pod,) and c.node_of("web") == "n1"
    empty = Pod(name="empty", containers=[{}])
    c.bind(empty, "n1")
    assert c.requested[0].tolist() == [500, GI, 0, 2, 0]
    assert c.nonzero_requested[0].tolist() == [600, GI + (200 << 20)]
    assert c.unbind("default/web") is pod
    assert c.unbind(empty) is empty
    assert c.requested.tolist() == [[0] * 5, [0] * 5]
    assert c.nonzero_requested.tolist() == [[0, 0], [0, 0]]


def test_bind_refuses_what_does_not_fit_unless_forced():
    c = small_cluster()
    before = c.snapshot()
    big = Pod(name="big", requests={"cpu": "5", "memory": "1Gi", "example.com/foo": 1})
    with pytest.raises(DoesNotFitError) as info:
        c.bind(big, "n1")
    assert info.value.reasons == ("Insufficient cpu", "Insufficient example.com/foo")
    assert "requested 5000, used 0, capacity 4000" in str(info.value)
    assert c.snapshot() == before
    c.bind(big, "n1", force=True)                 # a real cluster's state may be overcommitted
    assert c.resources[-1] == "example.com/foo"
    assert c.requested[0, 0] == 5000 and c.requested[0, -1] == 1


def test_too_many_pods_comes_first():
    c = small_cluster()
    for i in range(3):
        c.bind(Pod(name=f"p{i}", requests={"cpu": "1"}), "n1")
    pod = Pod(name="p3", requests={"cpu": "2", "memory": "1Gi"})
    assert c.misfit_reasons(pod, "n1") == ("Too many pods", "Insufficient cpu")
    assert c.fit_mask(pod).tolist() == [False, True]
    bits = c.fit_bits(pod)
    assert int(bits[0]) == (1 << 0) | (1 << 3)          # cpu and pods columns


def test_zero_request_skips_resources_on_overcommitted_node():
    c = small_cluster()
    c.bind(Pod(name="hog", requests={"cpu": "8"}), "n1", force=True)
    assert c.fit_mask(Pod(name="tiny", requests={"memory": "1Gi"})).tolist() == [True, True]
    assert c.fit_mask(Pod(name="cpu", requests={"cpu": "1m"})).tolist() == [False, True]


def test_missing_resource_fails_everywhere():
    c = small_cluster()
    pod = Pod(name="tpu", requests={"google.com/tpu": 1})
    assert c.missing_resources(pod) == ("google.com/tpu",)
    assert not c.fit_mask(pod).any()


FAILING_CALLS = [
    (lambda c: c.add_node("n1", {"cpu": "1"}), DuplicateError, "name"),
    (lambda c: c.add_node("N_3", {"cpu": "1"}), ValidationError, "invalid node name"),
    (lambda c: c.add_node("n3", {"cpu": "1", "cpus": "2"}), ValidationError, "allocatable.cpus"),
    (lambda c: c.add_node("n3", {"cpu": "1", "example.com/x": "1.1.M"}), QuantityError,
     "allocatable.example.com/x"),
    (lambda c: c.add_node("n3", {"memory": "-1Gi"}), ValidationError, "must not be negative"),
    (lambda c: c.add_node("n3", {"cpu": "1"}, labels={"zone": "a b"}), ValidationError,
     "labels.zone"),
    (lambda c: c.add_node("n3", {"cpu": "1"}, taints=[{"key": "x", "effect": "Never"}]),
     ValidationError, "taints[0].effect"),
    (lambda c: c.add_node("n3", {"cpu": "1"}, taints=[{"key": "x"}, {"key": "x", "value": "y"}]),
     DuplicateError, "taints[1]"),
    (lambda c: c.add_node("n3", "4 cores"), ValidationError, "allocatable"),
    (lambda c: c.update_node("n1", allocatable={"cpu": "x"}, labels={"new": "label"}),
     QuantityError, "allocatable.cpu"),
    (lambda c: c.update_node("nope", labels={}), NodeNotFoundError, "nope"),
    (lambda c: c.remove_node("nope"), NodeNotFoundError, "nope"),
    (lambda c: c.bind(Pod(name="p", requests={"cpu": "1"}), "nope"), NodeNotFoundError, "nope"),
    (lambda c: c.bind(Pod(name="p", requests={"cpu": "3"}), "n2"), DoesNotFitError,
     "Insufficient cpu"),
    (lambda c: c.bind(Pod(name="p", node_name="n2"), "n1"), ValidationError, "nodeName"),
    (lambda c: c.bind(Pod(name="bound"), "n2"), DuplicateError, "already bound"),
    (lambda c: c.bind({"name": "p"}, "n1"), ValidationError, "expected a Pod"),
    (lambda c: c.unbind("ghost"), PodNotFoundError, "default/ghost"),
]


@pytest.mark.parametrize("call,error,text", FAILING_CALLS)
def test_failed_calls_leave_the_cluster_unchanged(call, error, text):
    c = small_cluster()
    c.bind(Pod(name="bound", requests={"cpu": "1"}), "n1")
    before = c.snapshot()
    with pytest.raises(error) as info:
        call(c)
    assert text in str(info.value)
    assert c.snapshot() == before


def test_update_node():
    c = small_cluster()
    c.bind(Pod(name="p", requests={"cpu": "3"}), "n1")
    c.update_node("n1", allocatable={"cpu": "2"}, unschedulable=True,
                  taints=[Taint("maintenance", effect="NoExecute")])
    node = c.node("n1")
    assert node.allocatable["cpu"] == 2000 and node.requested["cpu"] == 3000   # overcommitted
    assert node.unschedulable and node.taints == (Taint("maintenance", "", "NoExecute"),)
    assert node.labels == {"zone": "a", "kubernetes.io/hostname": "n1"}        # untouched
    c.update_node("n1", taints=[], labels={"zone": "c"})
    assert c.node("n1").taints == () and c.taint_bits[0].tolist() == [0]
    assert c.node_labels("n1") == {"zone": "c", "kubernetes.io/hostname": "n1"}


def test_remove_node_keeps_order_and_returns_pods():
    c = small_cluster()
    c.add_node("n3", {"cpu": "1"}, labels={"zone": "c"})
    pod = Pod(name="p", requests={"cpu": "1"})
    c.bind(pod, "n2")
    assert c.remove_node("n2") == (pod,)
    assert c.node_names == ("n1", "n3") and c.row("n3") == 1
    assert c.node_labels("n3")["zone"] == "c"
    assert "default/p" not in c.pods
    assert c.allocatable[:, 0].tolist() == [4000, 1000]
    c.add_node("n2", {"cpu": "2"})
    assert c.node_labels("n2") == {"kubernetes.io/hostname": "n2"}
    assert c.node("n2").taints == () and c.requested[2].tolist() == [0] * 5


def test_images_are_indexed_by_node():
    c = small_cluster()
    c.update_node("n1", images={"nginx": 100, "redis:7": 50})
    c.add_node("n3", {"cpu": "1"}, images={"nginx:latest": 100})
    assert c.node("n1").images == {"nginx:latest": 100, "redis:7": 50}
    assert c.image_nodes("nginx") == {"n1": 100, "n3": 100}
    c.remove_node("n3")
    c.update_node("n1", images={})
    assert c.image_nodes("nginx") == {} and c.node("n1").images == {}
    before = c.snapshot()
    with pytest.raises(ValidationError, match="images"):
        c.update_node("n1", images={"x": -1})
    assert c.snapshot() == before


def test_copy_is_independent():
    c = small_cluster()
    d = c.copy()
    d.bind(Pod(name="p", requests={"cpu": "1"}), "n1")
    d.add_node("n9", {"cpu": "1"}, labels={"extra": "yes"})
    assert len(c) == 2 and c.requested.sum() == 0 and "extra" not in c.label_table.key_index
    assert d.snapshot() != c.snapshot()


def test_many_nodes_grow_amortized():
    c = Cluster()
    for i in range(5000):
        c.add_node(f"node-{i}", {"cpu": "4", "memory": "32Gi"}, labels={"zone": f"z{i % 3}"})
    assert len(c) == 5000 and c.row("node-4999") == 4999
    assert c.allocatable.shape == (5000, 4)
    assert (c.allocatable[:, 0] == 4000).all()
    # Columns cost well under 1 KiB a node.
    per_node = sum(a.nbytes for a in (c.allocatable, c.requested, c.nonzero_requested,
                                      c.unschedulable, c.label_codes, c.taint_bits)) / len(c)
    assert per_node < 1024


# -- random operations against a plain model -----------------------------------------

RESOURCES = ("cpu", "memory", "example.com/gpu")


def reference_fits(alloc, used, count, req):
    if count + 1 > alloc.get("pods", 110):
        return False
    return all(v <= 0 or v <= alloc.get(r, 0) - used.get(r, 0) for r, v in req.items())


class ClusterMachine(RuleBasedStateMachine):
    """Random add/remove/update/bind/unbind; the columns must always equal a plain model."""

    def __init__(self):
        super().__init__()
        self.cluster = Cluster()
        self.nodes = {}                 # name -> allocatable dict (ints)
        self.bound = {}                 # pod key -> (pod, node)
        self.counter = 0

    def used(self, node):
        total = {}
        for pod, where in self.bound.values():
            if where == node:
                for r, v in pod.requests.items():
                    total[r] = total.get(r, 0) + v
        return total

    def count(self, node):
        return sum(1 for _, where in self.bound.values() if where == node)

    @rule(cpu=st.integers(0, 4000), mem=st.integers(0, 8), gpu=st.integers(0, 2),
          pods=st.integers(0, 4))
    def add_node(self, cpu, mem, gpu, pods):
        name = f"n{self.counter}"
        self.counter += 1
        alloc = {"cpu": cpu, "memory": mem * GI, "pods": pods}
        if gpu:
            alloc["example.com/gpu"] = gpu
        self.cluster.add_node(name, alloc)
        self.nodes[name] = alloc

    @precondition(lambda self: self.nodes)
    @rule(data=st.data())
    def remove_node(self, data):
        name = data.draw(st.sampled_from(sorted(self.nodes)))
        evicted = self.cluster.remove_node(name)
        assert {p.key for p in evicted} == {k for k, (_, n) in self.bound.items() if n == name}
        del self.nodes[name]
        self.bound = {k: v for k, v in self.bound.items() if v[1] != name}

    @precondition(lambda self: self.nodes)
    @rule(data=st.data(), cpu=st.integers(0, 3000), mem=st.integers(0, 4),
          gpu=st.integers(0, 2), force=st.booleans())
    def bind(self, data, cpu, mem, gpu, force):
        name = data.draw(st.sampled_from(sorted(self.nodes)))
        requests = {"cpu": cpu, "memory": mem * GI}
        if gpu:
            requests["example.com/gpu"] = gpu
        pod = Pod(name=f"p{self.counter}", requests=requests,
                  labels={"app": f"a{self.counter % 3}"} if self.counter % 2 else {})
        self.counter += 1
        fits = reference_fits(self.nodes[name], self.used(name), self.count(name), pod.requests)
        assert bool(self.cluster.fit_mask(pod)[self.cluster.row(name)]) == fits
        before = self.cluster.snapshot()
        if fits or force:
            self.cluster.bind(pod, name, force=force)
            self.bound[pod.key] = (pod, name)
        else:
            with pytest.raises(DoesNotFitError):
                self.cluster.bind(pod, name)
            assert self.cluster.snapshot() == before

    @precondition(lambda self: self.bound)
    @rule(data=st.data())
    def unbind_restores(self, data):
        key = data.draw(st.sampled_from(sorted(self.bound)))
        pod, node = self.bound.pop(key)
        self.cluster.unbind(key)
        snap = self.cluster.snapshot()
        self.cluster.bind(pod, node, force=True)
        self.cluster.unbind(pod)
        assert self.cluster.snapshot() == snap       # bind + unbind is the identity

    @precondition(lambda self: self.nodes)
    @rule(data=st.data(), cpu=st.integers(0, 4000))
    def update(self, data, cpu):
        name = data.draw(st.sampled_from(sorted(self.nodes)))
        alloc = dict(self.nodes[name], cpu=cpu)
        self.cluster.update_node(name, allocatable=alloc)
        self.nodes[name] = alloc

    @invariant()
    def columns_match_the_model(self):
        c = self.cluster
        assert list(c.node_names) == list(self.nodes)
        for row, name in enumerate(c.node_names):
            used = self.used(name)
            for col, r in enumerate(c.resources):
                expect = self.count(name) if r == "pods" else used.get(r, 0)
                assert c.requested[row, col] == expect
                assert c.allocatable[row, col] == self.nodes[name].get(r, 0)
            scoring = [sum(p.scoring_requests.get(r, 0) for p, n in self.bound.values()
                           if n == name) for r in ("cpu", "memory")]
            assert c.nonzero_requested[row].tolist() == scoring
        assert set(c.pods) == set(self.bound)
        # the pod table holds exactly the bound pods, on their nodes
        store = c.columns.store
        assert store.count == len(self.bound) == len(store.live())
        slots = [c.columns.slot(key) for key in self.bound]
        assert sorted(store.live().tolist()) == sorted(slots)
        for slot, (key, (pod, node)) in zip(slots, self.bound.items()):
            assert store.node[slot] == c.row(node)
            assert store.labels.decode(store.t_codes[store.tid[slot]]) == pod.labels
            assert store.key(slot) == key and store.pod(slot) == pod


TestClusterMachine = ClusterMachine.TestCase
TestClusterMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 5)), min_size=1, max_size=20),
       st.integers(0, 3000), st.integers(0, 3))
def test_fit_kernel_equals_brute_force(nodes, cpu, mem):
    c = Cluster()
    for i, (ncpu, pods) in enumerate(nodes):
        c.add_node(f"n{i}", {"cpu": ncpu, "memory": 2 * GI, "pods": pods})
    pod = Pod(name="p", requests={"cpu": cpu, "memory": mem * GI})
    expect = [reference_fits({"cpu": a, "memory": 2 * GI, "pods": p}, {}, 0, pod.requests)
              for a, p in nodes]
    assert c.fit_mask(pod).tolist() == expect
