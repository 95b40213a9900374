"""Batch placement with CP-SAT: the two acceptance cases of issue 4.

    pytest bench/bench_batch.py -q -s          (or: python bench/bench_batch.py)

* *2k pods / 500 nodes*: ``mixed_cluster(500, running=100)`` (five node shapes over
  three zones, spot and GPU nodes with taints, cordoned nodes) and 2,000 pending pods
  in 20 shapes: the 16 of ``mixed_shapes`` plus ``etcd`` (anti-affinity: one per
  node), ``trainer`` (a gang of 12 GPU pods, all or none), ``web-hi`` (priority
  1000) and ``zk`` (anti-affinity: at most two per zone). ``min_nodes``, 10 s.
  Target: gap <= 1%.
* *20k pods / 5k nodes*: ``mixed_cluster(5000, 1000)`` and ``mixed_pods(20000)``,
  ``min_nodes``, 30 s. Target: a feasible plan, fewer nodes in use than the online
  scheduler with MostAllocated (run on a copy), gap reported.

Each case runs once (a CP-SAT search is its own timer) and records status, gap,
wall time and nodes in use in ``extra_info``; the checks are structural (a valid
plan, every pod accounted for), never on timing: the machine is shared and noisy.
"""

from __future__ import annotations

import random
import time

import numpy as np
import pytest

pytest.importorskip("ortools")

from fastsched import FitArgs, Pod, Profile, Scheduler
from fastsched.datasets.synthetic import (
    GI,
    GPU_TAINT,
    MI,
    ZONE,
    mixed_cluster,
    mixed_pods,
    mixed_shapes,
)
from fastsched.solver.batch import AntiAffinity, Gang, solve_batch

# mixed_pods' weights for the 16 shapes, then etcd, trainer, web-hi, zk (fixed counts)
WEIGHTS = [10, 10, 8, 5, 2, 6, 4, 5, 5, 1, 2, 10, 8, 2, 4, 8, 0, 0, 5, 0]
ETCD, TRAINER, ZK = 24, 12, 6


def twenty_shapes() -> list[Pod]:
    gpu_ok = [{"key": GPU_TAINT.key, "operator": "Exists", "effect": "NoSchedule"}]

    def pod(name: str, cpu: int, memory: int, **kw) -> Pod:
        extra = kw.pop("extra", {})
        return Pod(name, labels={"app": name}, containers=[{
            "name": name, "image": f"registry.example.com/{name}:1.0",
            "resources": {"requests": {"cpu": cpu, "memory": memory, **extra}}}], **kw)

    return mixed_shapes() + [
        pod("etcd", 500, 2 * GI),
        pod("trainer", 2000, 8 * GI, tolerations=gpu_ok, extra={"nvidia.com/gpu": 1}),
        pod("web-hi", 100, 500 * MI, priority=1000),
        pod("zk", 1000, 2 * GI),
    ]


def case_2k(seed: int = 1):
    """Cluster, pods and the groups of the 2,000-pod case."""
    cluster = mixed_cluster(500, running=100, seed=0)
    shapes = twenty_shapes()
    rng = random.Random(seed)
    pods = rng.choices(shapes, WEIGHTS, k=2000 - ETCD - TRAINER - ZK)
    pods += [shapes[16]] * ETCD + [shapes[17]] * TRAINER + [shapes[19]] * ZK
    groups = {"gangs": {"trainer": Gang([shapes[17]])},
              "anti_affinity": [AntiAffinity([shapes[16]]),
                                AntiAffinity([shapes[19]], max_per_domain=2, topology_key=ZONE)]}
    return cluster, pods, groups


def case_20k():
    return mixed_cluster(5000, 1000), mixed_pods(20000), {}


def online_most_allocated(cluster, pods) -> tuple[int, int]:
    """(pods placed, nodes in use) of the online scheduler with MostAllocated."""
    copy = cluster.copy()
    result = Scheduler(copy, Profile(fit=FitArgs(strategy="MostAllocated"))).schedule_many(pods)
    return result.placed, int(np.count_nonzero(copy.pod_counts > 0))


def run(name: str, cluster, pods, groups, time_limit: float) -> dict:
    start = time.perf_counter()
    result = solve_batch(cluster, pods, objective="min_nodes", time_limit=time_limit,
                         **groups)
    elapsed = time.perf_counter() - start
    online_placed, online_nodes = online_most_allocated(cluster, pods)
    # the plan is valid: it applies to a copy, which checks every node's resources
    copy = cluster.copy()
    result.apply(copy)
    return {"case": name, "status": result.status, "placed": result.placed,
            "pods": len(pods), "nodes_before": result.nodes_before,
            "nodes_after": result.nodes_after, "bound": result.best_bound,
            "gap": result.gap, "seconds": elapsed, "time_limit": time_limit,
            "online_placed": online_placed, "online_nodes": online_nodes,
            "greedy_nodes": result.stats.get("greedy", {}).get("nodes"),
            "variables": result.stats["num_variables"], "workers": result.workers}


def show(row: dict) -> str:
    return (f"{row['case']}: {row['status']} {row['placed']:,}/{row['pods']:,} placed, "
            f"nodes in use {row['nodes_before']:,} -> {row['nodes_after']:,} "
            f"(bound {row['bound']:,}, gap {row['gap']:.2%}; greedy {row['greedy_nodes']}; "
            f"online MostAllocated {row['online_nodes']:,} nodes, "
            f"{row['online_placed']:,} placed) in {row['seconds']:.2f} s "
            f"(limit {row['time_limit']:.0f} s, {row['workers']} workers, "
            f"{row['variables']:,} variables)")


def test_acceptance_2k_pods_500_nodes(benchmark):
    cluster, pods, groups = case_2k()
    row = benchmark.pedantic(run, args=("2k pods / 500 nodes", cluster, pods, groups, 10.0),
                             rounds=1, iterations=1)
    benchmark.extra_info.update(row)
    print("\n" + show(row))
    assert row["status"] in ("OPTIMAL", "FEASIBLE")
    assert row["placed"] == len(pods)


def test_acceptance_20k_pods_5k_nodes(benchmark):
    cluster, pods, groups = case_20k()
    row = benchmark.pedantic(run, args=("20k pods / 5k nodes", cluster, pods, groups, 30.0),
                             rounds=1, iterations=1)
    benchmark.extra_info.update(row)
    print("\n" + show(row))
    assert row["status"] in ("OPTIMAL", "FEASIBLE")
    assert row["nodes_after"] < row["online_nodes"]


if __name__ == "__main__":
    print(show(run("2k pods / 500 nodes", *case_2k(), 10.0)))
    print(show(run("20k pods / 5k nodes", *case_20k(), 30.0)))
