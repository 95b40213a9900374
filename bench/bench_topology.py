"""Topology throughput: fastsched's kernel against the NumPy topology baseline.

    pytest bench/bench_topology.py --benchmark-enable --benchmark-columns=median,rounds -q

Three groups mirroring upstream scheduler_perf, on one cluster built once per
module: 5,000 nodes of 4 CPU / 32Gi / 110 pods over three zones, with 1,000 pods
labelled app=spread already running, unevenly (six tenths of them in zone-0, three
in zone-1, one in zone-2). Each round schedules 5,000 identical pods of 100m /
500Mi (one template, repeated: replicas) on a fresh copy of the cluster, the copy
made outside the timed region, every node filtered and scored:

* *TopologySpreading*: pods app=spread with a hard zone constraint (maxSkew 1,
  DoNotSchedule, selecting app=spread): the running pods count, so the first pods
  all go to the emptier zones;
* *PreferredTopologySpreading*: the same constraint with ScheduleAnyway;
* *PodAntiAffinity*: pods app=anti, each required to be anti-affine on
  kubernetes.io/hostname to app=anti: one per node, 5,000 pods fill the 5,000 nodes.

The contenders are ``Scheduler(cluster).schedule_many`` and
bench/_numpy_topology.py, which places exactly like it (tests/test_numpy_topology.py)
with array operations over all nodes per pod. Both times include compiling the
pod specs; the summary at the end prints pods/s (``extra_info["pods_per_s"]``)
and fastsched's ratio to the baseline, per group.
"""

import random

import numpy as np
import pytest
from _numpy_topology import numpy_schedule_topology

from fastsched import Cluster, Pod, Scheduler

ZONE, HOSTNAME = "topology.kubernetes.io/zone", "kubernetes.io/hostname"
ZONES = ("zone-0", "zone-1", "zone-2")
MI = 1 << 20
NODES, RUNNING, PODS = 5000, 1000, 5000
REQUESTS = {"cpu": 100, "memory": 500 * MI}


def spread_pod(when: str) -> Pod:
    return Pod("spread", labels={"app": "spread"}, requests=REQUESTS,
               topology_spread_constraints=[{
                   "maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": when,
                   "labelSelector": {"matchLabels": {"app": "spread"}}}])


ANTI_POD = Pod("anti", labels={"app": "anti"}, requests=REQUESTS, pod_anti_affinity={
    "requiredDuringSchedulingIgnoredDuringExecution": [{
        "topologyKey": HOSTNAME, "labelSelector": {"matchLabels": {"app": "anti"}}}]})
WORKLOADS = {"TopologySpreading": spread_pod("DoNotSchedule"),
             "PreferredTopologySpreading": spread_pod("ScheduleAnyway"),
             "PodAntiAffinity": ANTI_POD}


def fastsched_rows(cluster, pods):
    return Scheduler(cluster).schedule_many(pods).rows


RUNNERS = {"fastsched": fastsched_rows, "numpy baseline": numpy_schedule_topology}
BASELINE = "numpy baseline"


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    for i in range(NODES):
        c.add_node(f"node-{i}", {"cpu": 4000, "memory": 32 << 30, "pods": 110},
                   labels={ZONE: ZONES[i % 3]})
    rng = random.Random(0)
    running = Pod("running", labels={"app": "spread"}, requests=REQUESTS)
    for k in range(RUNNING):
        zone = rng.choices(range(3), weights=(6, 3, 1))[0]
        c.bind(running.replica(f"running-{k}"), f"node-{3 * rng.randrange(NODES // 3) + zone}")
    return c


def check(workload, cluster, rows):
    """What each workload must achieve (placements, not timing)."""
    assert np.all(rows >= 0)
    if workload == "PodAntiAffinity":
        assert len(np.unique(rows)) == len(rows)
    elif workload == "TopologySpreading":
        zones = np.bincount(rows % 3, minlength=3)
        zones += np.bincount([cluster.row(node) % 3 for _, node in cluster.bindings()],
                             minlength=3)
        assert zones.max() - zones.min() <= 1


@pytest.mark.parametrize("how", list(RUNNERS))
@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_topology(benchmark, record_rate, cluster, workload, how):
    group = f"{workload} 5k nodes"
    pods = [WORKLOADS[workload]] * PODS
    benchmark.group = group
    benchmark.extra_info["pods"] = len(pods)
    rows = benchmark.pedantic(RUNNERS[how], setup=lambda: ((cluster.copy(), pods), {}),
                              rounds=7, warmup_rounds=1, iterations=1)
    check(workload, cluster, rows)
    if benchmark.stats is not None:          # None under --benchmark-disable
        rate = len(pods) / benchmark.stats.stats.median
        benchmark.extra_info["pods_per_s"] = round(rate)
        record_rate(group, f"{how} ({len(pods):,} pods)", rate, how == BASELINE)
