"""The single-pod path (``scheduler/kept.py``) places exactly as a full scan does.

A scheduler with the kept plan and tournament trees, and one with
``incremental=False`` (every call compiles and scans every node), run the same
random sequence of ``schedule``, ``unbind``, forced ``bind``, ``schedule_many``
and node changes on twin clusters; every placement and the final state must be
the same. The shapes carry preferred node affinity and tolerate a
PreferNoSchedule taint, so the normalized scores' maxima move as nodes fill up
and empty (the case where a kept tree must be rebuilt).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsched import Cluster, Pod, Scheduler
from fastsched.errors import DuplicateError
from fastsched.scheduler.results import Placement, Unschedulable

AFFINITY = {"preferredDuringSchedulingIgnoredDuringExecution": [
    {"weight": 5, "preference": {"matchExpressions": [
        {"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}
SOFT = {"key": "spot", "value": "true", "effect": "PreferNoSchedule"}

SHAPES = [
    Pod("small", requests={"cpu": "100m", "memory": "128Mi"}),
    Pod("big", requests={"cpu": "900m", "memory": "1Gi"}, priority=5),
    Pod("ssd", requests={"cpu": "300m"}, node_affinity=AFFINITY),
    Pod("tol", requests={"cpu": "200m"}, tolerations=[{"key": "spot", "operator": "Exists"}]),
]


def twins(nodes: int) -> tuple[Cluster, Cluster]:
    a = Cluster()
    for i in range(nodes):
        a.add_node(f"n{i}", {"cpu": str(1 + i % 3), "memory": "4Gi", "pods": 12},
                   labels={"disk": "ssd" if i % 2 else "hdd"},
                   taints=([SOFT] if i % 3 == 0 else [])
                   + [{"key": f"soft{k}", "effect": "PreferNoSchedule"} for k in range(i % 4)])
    return a, a.copy()


def outcome(result: object) -> tuple:
    if isinstance(result, Placement):
        return ("placed", result.pod.key, result.node, result.score)
    assert isinstance(result, Unschedulable)
    return ("unschedulable", result.pod.key, result.message)


ops = st.lists(st.tuples(st.sampled_from(["schedule"] * 6 + ["unbind", "bind", "many", "node"]),
                         st.integers(0, 10**6)), min_size=5, max_size=80)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 7), ops)
def test_kept_path_places_as_a_full_scan(nodes, steps):
    kept_cluster, scan_cluster = twins(nodes)
    kept = Scheduler(kept_cluster)
    scan = Scheduler(scan_cluster, incremental=False)
    made = 0
    for op, r in steps:
        if op == "schedule":
            made += 1
            pod = SHAPES[r % len(SHAPES)].replica(f"p-{made}x")
            assert outcome(kept.schedule(pod)) == outcome(scan.schedule(pod))
        elif op == "unbind" and kept_cluster.pod_count:
            key = list(kept_cluster.pods)[r % kept_cluster.pod_count]
            kept_cluster.unbind(key)
            scan_cluster.unbind(key)
        elif op == "bind":
            made += 1
            pod = SHAPES[r % len(SHAPES)].replica(f"f-{made}x")
            node = f"n{r % nodes}"
            kept_cluster.bind(pod, node, force=True)
            scan_cluster.bind(pod, node, force=True)
        elif op == "many":
            batch = [SHAPES[r % len(SHAPES)]] * (2 + r % 4)
            a, b = kept.schedule_many(batch), scan.schedule_many(batch)
            assert a.nodes == b.nodes and a.keys() == b.keys()
        elif op == "node":
            name = f"n{r % nodes}"
            alloc = {"cpu": str(1 + r % 4), "memory": "4Gi", "pods": 12}
            kept_cluster.update_node(name, allocatable=alloc)
            scan_cluster.update_node(name, allocatable=alloc)
    assert kept_cluster.snapshot() == scan_cluster.snapshot()


def test_kept_path_serves_repeats_and_sees_outside_changes():
    cluster, _ = twins(4)
    sched = Scheduler(cluster)
    first = sched.schedule(SHAPES[0].replica("a"))
    assert isinstance(first, Placement)
    # Fill the chosen node from outside the scheduler: the next pod must go elsewhere.
    cluster.update_node(first.node, allocatable={"cpu": "100m", "memory": "4Gi", "pods": 12})
    second = sched.schedule(SHAPES[0].replica("b"))
    assert isinstance(second, Placement) and second.node != first.node
    blocker = SHAPES[0].replica("c")
    cluster.bind(blocker, second.node, force=True)
    row = cluster.row(second.node)
    assert cluster.requested[row, 0] == 200
    expect = Scheduler(cluster.copy(), incremental=False).schedule(SHAPES[0].replica("d"))
    again = sched.schedule(SHAPES[0].replica("d"))
    assert isinstance(again, Placement) and again.node == expect.node
    assert again.score == expect.score
    # A pod already bound is refused as on the general path.
    with pytest.raises(DuplicateError):
        sched.schedule(SHAPES[0].replica("d"))


def test_unschedulable_on_the_kept_path_has_the_full_message():
    cluster = Cluster()
    cluster.add_node("n0", {"cpu": "1", "memory": "1Gi"})
    cluster.add_node("n1", {"cpu": "1", "memory": "1Gi"})
    sched = Scheduler(cluster)
    shape = Pod("w", requests={"cpu": "600m"})
    assert all(isinstance(sched.schedule(shape.replica(f"w{i}")), Placement) for i in range(2))
    result = sched.schedule(shape.replica("w9"))
    assert isinstance(result, Unschedulable)
    assert result.message == "0/2 nodes are available: 2 Insufficient cpu."
    assert np.array_equal(cluster.requested[:, 0], [600, 600])


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_trees_follow_moving_maxima(seed):
    """Many nodes share the top preferred-affinity and taint counts; as they fill up
    one by one the maxima drop only when the last of them goes (the trees count
    them). Trees (repeated templates) against a plain scan of every pod."""
    rng = np.random.default_rng(seed)
    c = Cluster()
    for i in range(int(rng.integers(3, 16))):
        c.add_node(f"n{i}", {"cpu": str(int(rng.integers(1, 4))), "memory": "4Gi",
                             "pods": int(rng.integers(1, 6))},
                   labels={"disk": str(rng.choice(["ssd", "hdd"]))},
                   taints=[SOFT] if rng.random() < 0.5 else [])
    batch = [SHAPES[int(k)] for k in rng.integers(0, len(SHAPES), 60)]
    plain = Scheduler(c.copy(), incremental=False).schedule_many(batch)
    trees = Scheduler(c).schedule_many(batch)
    assert trees.nodes == plain.nodes
    assert np.array_equal(trees.scores, plain.scores)


def test_a_freed_node_above_the_taint_maximum_is_seen():
    """Review case: n2 (three PreferNoSchedule taints) is full, so the kept tree's
    taint maximum is 1; unbinding frees it, and with the maximum now 3 its rejoining
    leaf must make the tree rebuild rather than stay invisible."""
    from fastsched import NodeAffinity, Taint

    def cluster() -> Cluster:
        c = Cluster()
        c.add_node("n0", {"cpu": 10000, "memory": "16Gi"}, labels={"zone": "a"},
                   taints=[Taint("a", "", "PreferNoSchedule")])
        c.add_node("n1", {"cpu": 10000, "memory": "16Gi"}, labels={"zone": "b"})
        c.add_node("n2", {"cpu": 2000, "memory": "16Gi"},
                   taints=[Taint(k, "", "PreferNoSchedule") for k in "abc"])
        c.bind(Pod("load", requests={"cpu": 9500, "memory": "15Gi"}), "n1")
        c.bind(Pod("filler", requests={"cpu": 2000}), "n2")
        return c

    web = Pod("web", requests={"cpu": 100, "memory": 1 << 26}, node_affinity=NodeAffinity(
        preferred=[{"weight": 10, "preference": {"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a"]}]}}]))
    kept_cluster, scan_cluster = cluster(), cluster()
    kept, scan = Scheduler(kept_cluster), Scheduler(scan_cluster, incremental=False)
    for name in ("w0", "w1"):
        assert outcome(kept.schedule(web.replica(name))) == outcome(scan.schedule(web.replica(name)))
        kept_cluster.unbind("filler") if "default/filler" in kept_cluster.pods else None
        scan_cluster.unbind("filler") if "default/filler" in scan_cluster.pods else None
    assert kept_cluster.node_of("default/w1") == "n0"


def test_the_kept_plan_follows_the_schedulers_settings():
    """Review case: settings changed between calls (and a new cluster) are seen."""
    cluster, _ = twins(4)
    sched = Scheduler(cluster)
    sched.schedule(SHAPES[0].replica("a0"))
    other = cluster.copy()
    sched.cluster = other
    sched.schedule(SHAPES[0].replica("a1"))
    assert "default/a1" in other.pods and "default/a1" not in cluster.pods
    assert int(cluster.requested[:, 0].sum()) == 100
    sched.profile = sched.profile.with_scores(NodeResourcesBalancedAllocation=0)
    expect = Scheduler(other.copy(), sched.profile, incremental=False).schedule(
        SHAPES[0].replica("a2"))
    assert outcome(sched.schedule(SHAPES[0].replica("a2"))) == outcome(expect)
