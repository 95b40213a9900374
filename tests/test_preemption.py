"""Preemption: victims per node, the choice of node, budgets, messages, invariants."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastsched import (
    Cluster,
    Placement,
    Pod,
    PodDisruptionBudget,
    Preemption,
    Scheduler,
    Unschedulable,
)


def two_nodes():
    c = Cluster()
    c.add_node("n1", {"cpu": "4", "memory": "8Gi"})
    c.add_node("n2", {"cpu": "4", "memory": "8Gi"})
    return c


def test_victims_and_node_by_upstream_order():
    c = two_nodes()
    # n1: low0 (1 cpu, p1), low2 (1, p1), mid1 (1.5, p5); n2: low1 (1, p1), mid0 (1.5, p5)
    for name, cpu, prio, node in [("low0", "1", 1, "n1"), ("low1", "1", 1, "n2"),
                                  ("low2", "1", 1, "n1"), ("mid0", "1500m", 5, "n2"),
                                  ("mid1", "1500m", 5, "n1")]:
        c.bind(Pod(name, requests={"cpu": cpu}, priority=prio), node)
    s = Scheduler(c)
    hi = Pod("hi", requests={"cpu": "3"}, priority=10)
    # n1 needs mid1 and low2 evicted (low0 re-admitted); n2 only mid0 (low1 stays):
    # equal highest victim priority, smaller priority sum on n2.
    choice = s.preempt(hi)
    assert isinstance(choice, Preemption)
    assert choice.node == "n2" and [v.name for v in choice.victims] == ["mid0"]
    assert len(c.pods) == 5                       # a dry run
    done = s.schedule(hi, preempt=True)
    assert done == choice
    assert c.node_of("hi") == "n2" and "default/mid0" not in c.pods
    assert c.node("n2").requested["cpu"] == 4000


def test_budgets_steer_the_choice():
    c = two_nodes()
    c.bind(Pod("a", labels={"app": "guarded"}, requests={"cpu": "3"}, priority=1), "n1")
    c.bind(Pod("b", labels={"app": "free"}, requests={"cpu": "3"}, priority=2), "n2")
    hi = Pod("hi", requests={"cpu": "2"}, priority=10)
    # Without budgets: a (priority 1) is the cheaper victim.
    assert Scheduler(c).preempt(hi).victims[0].name == "a"
    pdb = PodDisruptionBudget("guard", {"matchLabels": {"app": "guarded"}}, 0)
    assert Scheduler(c, pdbs=[pdb]).preempt(hi).victims[0].name == "b"


def test_nothing_to_preempt_messages():
    c = two_nodes()
    c.update_node("n2", taints=[{"key": "gpu", "value": "yes", "effect": "NoSchedule"}])
    c.bind(Pod("same", requests={"cpu": "4"}, priority=10), "n1")
    s = Scheduler(c)
    pod = Pod("p", requests={"cpu": "1"}, priority=10)
    before = c.snapshot()
    result = s.schedule(pod, preempt=True)
    assert isinstance(result, Unschedulable)
    assert result.message == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint(s). "
        "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming "
        "pod, 1 Preemption is not helpful for scheduling.")
    assert c.snapshot() == before
    too_big = Pod("big", requests={"cpu": "8"}, priority=100)
    assert "2 Preemption is not helpful" in s.preempt(too_big).message


def test_schedule_without_preemption_needed():
    c = two_nodes()
    result = Scheduler(c).schedule(Pod("p", requests={"cpu": "1"}, priority=5), preempt=True)
    assert isinstance(result, Placement)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_preemption_never_evicts_equal_or_higher_priority(seed):
    rng = random.Random(seed)
    c = Cluster()
    for i in range(rng.randrange(1, 6)):
        c.add_node(f"n{i}", {"cpu": rng.choice([2000, 4000]), "memory": 8 << 30,
                             "pods": rng.randrange(2, 6)})
    s = Scheduler(c)
    for k in range(rng.randrange(0, 25)):
        s.schedule(Pod(f"e{k}", requests={"cpu": rng.choice([250, 500, 1000])},
                       priority=rng.randrange(0, 5)))
    before = {key: c.node_of(key) for key in c.pods}
    pod = Pod("hi", requests={"cpu": rng.choice([500, 1500, 3000])}, priority=rng.randrange(0, 6))
    result = s.schedule(pod, preempt=True)
    if isinstance(result, Preemption):
        assert all(v.priority < pod.priority for v in result.victims)
        assert c.node_of("hi") == result.node
        gone = set(before) - set(c.pods)
        assert gone == {v.key for v in result.victims}
        assert all(before[v.key] == result.node for v in result.victims)
    else:
        assert {key: c.node_of(key) for key in c.pods if key != "default/hi"} == before
    # the columns still equal the sum of the bound pods
    for row, name in enumerate(c.node_names):
        assert c.requested[row, 0] == sum(p.requests.get("cpu", 0) for p in c.pods_on(name))
        assert c.requested[row, 3] == len(c.pods_on(name))
        assert not (c.requested[row] > c.allocatable[row]).any()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_vectorized_and_plain_victim_choice_agree(seed):
    """Without budgets or host ports the choice runs in one kernel call; a budget that
    covers nobody sends it down the per-pod Python path: both must agree."""
    rng = random.Random(seed)
    c = Cluster()
    for i in range(rng.randrange(1, 8)):
        c.add_node(f"n{i}", {"cpu": rng.choice([2000, 4000]), "memory": 8 << 30,
                             "pods": rng.randrange(2, 9)})
    s = Scheduler(c)
    for k in range(rng.randrange(0, 40)):
        s.schedule(Pod(f"e{k}", requests={"cpu": rng.choice([250, 500, 1000]),
                                          "memory": rng.choice([0, 1 << 30])},
                       priority=rng.randrange(0, 5)))
    pod = Pod("hi", requests={"cpu": rng.choice([1500, 3000, 4000])}, priority=rng.randrange(1, 6))
    nobody = PodDisruptionBudget("none", {"matchLabels": {"app": "nothing"}}, 0)
    fast, plain = Scheduler(c).preempt(pod), Scheduler(c, pdbs=[nobody]).preempt(pod)
    assert type(fast) is type(plain)
    if isinstance(fast, Preemption):
        assert (fast.node, fast.victims) == (plain.node, plain.victims)


def test_preemption_for_anti_affinity():
    c = two_nodes()
    anti = {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "db"}}}]}
    c.bind(Pod("db-old", labels={"app": "db"}, requests={"cpu": "1"}, priority=1), "n1")
    c.bind(Pod("db-keep", labels={"app": "db"}, requests={"cpu": "1"}, priority=50), "n2")
    c.bind(Pod("filler", labels={"app": "web"}, requests={"cpu": "1"}, priority=1), "n1")
    s = Scheduler(c)
    pod = Pod("db-new", labels={"app": "db"}, requests={"cpu": "1"}, priority=10,
              pod_anti_affinity=anti)
    before = c.snapshot()
    choice = s.preempt(pod)
    assert c.snapshot() == before                   # a dry run, even when it tried evicting
    assert isinstance(choice, Preemption)
    assert choice.node == "n1" and [v.name for v in choice.victims] == ["db-old"]
    assert s.schedule(pod, preempt=True) == choice
    assert c.node_of("db-new") == "n1" and c.node_of("filler") == "n1"
    assert c.node_of("db-keep") == "n2"


def test_bad_budget():
    with pytest.raises(ValueError, match="disruptionsAllowed"):
        PodDisruptionBudget("x", {}, -1)


# Upstream pkg/scheduler/framework/plugins/defaultpreemption/default_preemption_test.go,
# TestPreempt "no preempting in pod" and "PreemptionPolicy is nil" (and
# TestPodEligibleToPreemptOthers "Pod with 'PreemptNever' preemption policy"): nodes of
# 500m/500; node1 runs p1.1, p1.2 (100m, low), node2 p2.1 (300m, high), node3 p3.1
# (200m, mid); the 500m high-priority pod preempts on node1 unless its policy is Never.
@pytest.mark.parametrize("policy, node, victims", [
    ("Never", None, None), ("PreemptLowerPriority", "node1", ["p1.1", "p1.2"])])
def test_preemption_policy_never_does_not_preempt(policy, node, victims):
    low, mid, high = 0, 100, 1000
    c = Cluster()
    for name in ("node1", "node2", "node3"):
        c.add_node(name, {"cpu": "500m", "memory": "500"})
    for name, cpu, prio, where in [("p1.1", "100m", low, "node1"), ("p1.2", "100m", low, "node1"),
                                   ("p2.1", "300m", high, "node2"), ("p3.1", "200m", mid, "node3")]:
        c.bind(Pod(name, requests={"cpu": cpu, "memory": cpu[:-1]}, priority=prio), where)
    pod = Pod("p", requests={"cpu": "500m", "memory": "500"}, priority=high,
              preemption_policy=policy)
    s = Scheduler(c)
    got = s.preempt(pod)
    if node is None:
        assert isinstance(got, Unschedulable)
        assert got.message == "preemption: not eligible due to preemptionPolicy=Never."
        done = s.schedule(pod, preempt=True)
        assert isinstance(done, Unschedulable) and len(c.pods) == 4     # nobody evicted
    else:
        assert isinstance(got, Preemption)
        assert got.node == node and sorted(v.name for v in got.victims) == victims
