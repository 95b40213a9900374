"""The benchmarks' NumPy baseline places exactly like the scheduler.

bench/bench_scheduler.py compares fastsched's speed with
bench/_numpy_baseline.py; that comparison means something only if both compute
the same thing. So on the synthetic workloads and on small random clusters
(taints of every effect, nodes lacking a resource, extended resources, images,
cordoned nodes, pods without requests, init containers, node names, selectors,
required and preferred affinity), every pod must land on the same node with the
same total score as with ``Scheduler`` — incremental or not — and a short run
is checked against the plain reference too.
"""

import random

import _reference as ref
import numpy as np
import pytest
from _numpy_baseline import NumpyScheduler, numpy_schedule_many

from fastsched import Cluster, Pod, Profile, Scheduler, Taint
from fastsched.datasets import synthetic

GI = 1 << 30
MI = 1 << 20


def assert_places_like_fastsched(cluster, pods):
    before = cluster.snapshot()
    rows, totals = numpy_schedule_many(cluster, pods, return_scores=True)
    assert cluster.snapshot() == before, "the baseline must not change the cluster"
    for incremental in (True, False):
        result = Scheduler(cluster.copy(), incremental=incremental).schedule_many(pods)
        assert np.array_equal(rows, result.rows), f"incremental={incremental}: pod " \
            f"{int(np.flatnonzero(rows != result.rows)[0])} placed differently"
        placed = rows >= 0
        assert np.array_equal(totals[placed], result.scores[placed])
    return rows


def test_mixed_workload():
    rows = assert_places_like_fastsched(synthetic.mixed_cluster(300, running=50),
                                        synthetic.mixed_pods(500))
    assert (rows >= 0).sum() > 400


def test_basic_workload():
    rows = assert_places_like_fastsched(synthetic.basic_cluster(200, 100),
                                        synthetic.basic_pods(500))
    assert (rows >= 0).all()


def test_basic_workload_until_the_cluster_is_full():
    # 20 nodes of 4 CPU hold 800 pods of 100m; the rest are unschedulable.
    rows = assert_places_like_fastsched(synthetic.basic_cluster(20, 30),
                                        synthetic.basic_pods(1000))
    assert (rows >= 0).sum() == 800 - 30



def test_stateful_baseline_follows_binds_and_unbinds():
    # bench_sustained's baseline keeps its placements from call to call and takes
    # unbound pods off again: it must go on placing like a Scheduler whose cluster
    # is bound and unbound the same way, down to a full cluster.
    cluster = synthetic.mixed_cluster(40, 0)
    session = NumpyScheduler(cluster)
    scheduler = Scheduler(cluster)
    rng = random.Random(3)
    bound: list[tuple[str, Pod, int]] = []      # key, template, node row
    unschedulable = 0
    for call in range(5):
        pods = synthetic.mixed_pods(200, seed=call)
        result = scheduler.schedule_many(pods)
        rows = session.schedule_many(pods)
        assert np.array_equal(rows, result.rows), f"call {call}"
        unschedulable += int((rows < 0).sum())
        bound += [(placement.pod.key, pods[t], int(rows[t]))
                  for t, placement in enumerate(result) if rows[t] >= 0]
        gone = set(rng.sample(range(len(bound)), len(bound) // 4))
        for i in gone:
            cluster.unbind(bound[i][0])
        session.unbind_many([bound[i][1] for i in gone], [bound[i][2] for i in gone])
        bound = [b for i, b in enumerate(bound) if i not in gone]
    assert unschedulable > 0

# -- small random clusters -------------------------------------------------------

TAINTS = [Taint("dedicated", "db", "NoSchedule"), Taint("dedicated", "web", "NoSchedule"),
          Taint("spot", "true", "PreferNoSchedule"), Taint("old", "", "PreferNoSchedule"),
          Taint("noisy", "yes", "PreferNoSchedule"), Taint("evict", "now", "NoExecute")]
IMAGES = {"nginx:1.25": 300 * MI, "redis": 150 * MI, "big/model:2": 2 * GI, "tiny:1": 5 * MI}


def random_cluster(rng, nodes):
    cluster = Cluster()
    for i in range(nodes):
        alloc = {"cpu": rng.choice([0, 500, 2000, 4000, 8000]),
                 "memory": rng.choice([0, 1 * GI, 4 * GI, 16 * GI]),
                 "pods": rng.choice([3, 10, 110])}
        if rng.random() < 0.2:
            alloc["example.com/fpga"] = rng.choice([1, 2])
        if rng.random() < 0.1:
            del alloc["cpu"]
        labels = {"zone": rng.choice("abc"), "rack": str(rng.randrange(12))}
        if rng.random() < 0.5:
            labels["disk"] = rng.choice(["ssd", "hdd"])
        taints = rng.sample(TAINTS, rng.choice([0, 0, 0, 1, 2, 3]))
        taints = list({(t.key, t.effect): t for t in taints}.values())
        images = {k: v for k, v in IMAGES.items() if rng.random() < 0.3}
        cluster.add_node(f"n{i}", alloc, labels=labels, taints=taints,
                         unschedulable=rng.random() < 0.1, images=images)
    return cluster


def pod_shapes(rng):
    """About twenty pod specs covering the filters and scores of the default profile."""
    def container(cpu=None, memory=None, image="", **extra):
        requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
        return {"name": "c", "image": image, "resources": {"requests": {**requests, **extra}}}

    def prefer(weight, key, op, *values):
        return {"weight": weight, "preference": {"matchExpressions": [
            {"key": key, "operator": op, "values": list(values)}]}}

    def require(*terms):
        return {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": k, "operator": op, "values": list(v)}]}
            for k, op, v in terms]}}

    tolerate_all = [{"operator": "Exists"}]
    tolerate_db = [{"key": "dedicated", "operator": "Equal", "value": "db"}]
    tolerate_soft = [{"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"},
                     {"key": "old", "operator": "Exists"}]
    shapes = [
        Pod("plain", requests={"cpu": 100, "memory": 128 * MI}),
        Pod("big", requests={"cpu": 1500, "memory": 3 * GI}),
        Pod("best-effort"),
        Pod("cpu-only", containers=[container(cpu=250)]),
        Pod("mem-only", containers=[container(memory=512 * MI)]),
        Pod("zero", containers=[container(cpu=0, memory=0)]),
        Pod("fpga", requests={"cpu": 200, "memory": 256 * MI, "example.com/fpga": 1}),
        Pod("nowhere", requests={"cpu": 10, "example.com/asic": 1}),
        Pod("db", requests={"cpu": 300, "memory": 1 * GI}, tolerations=tolerate_db,
            node_selector={"disk": "ssd"}),
        Pod("anywhere", requests={"cpu": 50}, tolerations=tolerate_all),
        Pod("soft", requests={"cpu": 120, "memory": 64 * MI}, tolerations=tolerate_soft),
        Pod("zoned", requests={"cpu": 200}, node_affinity={
            **require(("zone", "In", ("a", "b"))),
            "preferredDuringSchedulingIgnoredDuringExecution": [
                prefer(30, "disk", "In", "ssd"), prefer(70, "zone", "In", "b")]}),
        Pod("racks", requests={"memory": 700 * MI}, node_affinity=require(
            ("rack", "Gt", ("3",)), ("disk", "DoesNotExist", ()))),
        Pod("not-hdd", requests={"cpu": 100, "memory": 100 * MI}, node_affinity={
            "preferredDuringSchedulingIgnoredDuringExecution": [
                prefer(5, "disk", "NotIn", "hdd"), prefer(1, "rack", "Lt", "6")]}),
        Pod("pinned", requests={"cpu": 100}, node_name=f"n{rng.randrange(8)}"),
        Pod("web", containers=[container(cpu=100, memory=200 * MI, image="nginx:1.25"),
                               container(image="redis")]),
        Pod("model", containers=[container(cpu=500, memory=1 * GI, image="big/model:2")],
            init_containers=[{"name": "fetch", "image": "tiny:1", "resources": {
                "requests": {"cpu": 800}}}]),
        Pod("sidecar", containers=[container(cpu=100, memory=100 * MI)],
            init_containers=[{"name": "proxy", "restartPolicy": "Always",
                              "resources": {"requests": {"cpu": 50, "memory": 30 * MI}}}]),
        Pod("overhead", requests={"cpu": 100, "memory": 100 * MI},
            overhead={"cpu": 250, "memory": 120 * MI}),
    ]
    return shapes


def random_pods(rng, shapes, count):
    """Templates repeated (replicas) mixed with distinct pods of the same specs."""
    out = []
    for i in range(count):
        shape = rng.choice(shapes)
        out.append(shape if rng.random() < 0.7 else shape.replica(f"{shape.name}-own-{i}"))
    return out


def bind_running(rng, cluster, shapes, count):
    names = cluster.node_names
    for i in range(count):
        pod = rng.choice(shapes[:7]).replica(f"running-{i}")
        node = rng.choice(names)
        if not cluster.misfit_reasons(pod, node):
            cluster.bind(pod, node)


def shrink_some(rng, cluster):
    """Lower cpu and memory below what is requested on some nodes (as after a
    kubelet restart with less capacity), so scores see overcommitted nodes."""
    for name in cluster.node_names:
        if rng.random() < 0.15:
            alloc = dict(cluster.node(name).allocatable)
            alloc["cpu"] = alloc.get("cpu", 0) // 8
            alloc["memory"] = alloc.get("memory", 0) // 8
            cluster.update_node(name, allocatable=alloc)


@pytest.mark.parametrize("seed", range(12))
def test_random_clusters(seed):
    rng = random.Random(seed)
    cluster = random_cluster(rng, rng.choice([1, 2, 7, 30, 80]))
    shapes = pod_shapes(rng)
    bind_running(rng, cluster, shapes, 3 * len(cluster))
    shrink_some(rng, cluster)
    assert_places_like_fastsched(cluster, random_pods(rng, shapes, 400))


@pytest.mark.parametrize("seed", range(3))
def test_random_cluster_equals_reference(seed):
    rng = random.Random(100 + seed)
    cluster = random_cluster(rng, 12)
    shapes = pod_shapes(rng)
    bind_running(rng, cluster, shapes, 20)
    shrink_some(rng, cluster)
    pods = [shape.replica(f"{shape.name}-{i}")
            for i, shape in enumerate(rng.choices(shapes, k=60))]
    rows = numpy_schedule_many(cluster, pods)
    expected = ref.schedule_all(cluster.copy(), pods, Profile())
    names = cluster.node_names
    assert [names[r] if r >= 0 else None for r in rows.tolist()] == expected


def test_empty_inputs():
    assert numpy_schedule_many(Cluster(), [Pod("p")]).tolist() == [-1]
    assert numpy_schedule_many(synthetic.basic_cluster(3, 0), []).tolist() == []


def test_refuses_what_it_does_not_implement():
    cluster = synthetic.basic_cluster(3, 0)
    ported = Pod("p", containers=[{"name": "c", "ports": [{"containerPort": 80,
                                                            "hostPort": 8080}]}])
    with pytest.raises(ValueError, match="host ports"):
        numpy_schedule_many(cluster, [ported])
    with pytest.raises(ValueError, match="default profile"):
        numpy_schedule_many(cluster, [Pod("p")], Profile(scores=(("NodeResourcesFit", 1),)))
