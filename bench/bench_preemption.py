"""Preemption of one pod on a 5,000-node cluster with 50,000 running pods.

    pytest bench/bench_preemption.py --benchmark-enable --benchmark-columns=median,rounds

fastsched chooses victims for every candidate node in one kernel call; the baseline is
the same algorithm pod by pod in Python (the path fastsched itself takes when
PodDisruptionBudgets or host ports are involved: a budget covering nobody forces it).
Both must pick the same node and victims.
"""

import numpy as np
import pytest

from fastsched import Pod, PodDisruptionBudget, Preemption, Scheduler
from fastsched.datasets.synthetic import mixed_cluster, mixed_shapes

NODES, RUNNING = 5000, 50_000


@pytest.fixture(scope="module")
def loaded():
    cluster = mixed_cluster(NODES, 0)
    shapes = mixed_shapes()
    rng = np.random.default_rng(1)
    small = [shapes[k] for k in (0, 1, 2, 11, 12, 15)]
    pods = [small[i % 6].replica(f"run-{i}", priority=int(rng.integers(0, 3)))
            for i in range(RUNNING)]
    result = Scheduler(cluster).schedule_many(pods)
    assert result.placed == RUNNING
    len(cluster.pods)                               # record the bindings now
    return cluster


BIG = Pod("urgent", requests={"cpu": "15500m", "memory": "20Gi"}, priority=100)
NOBODY = PodDisruptionBudget("nobody", {"matchLabels": {"app": "no-such-app"}}, 0)


def test_preempt_fastsched(benchmark, loaded):
    benchmark.group = "preemption: 5,000 nodes, 50,000 running pods"
    scheduler = Scheduler(loaded)
    choice = benchmark(scheduler.preempt, BIG)
    assert isinstance(choice, Preemption)
    assert choice == Scheduler(loaded, pdbs=[NOBODY]).preempt(BIG)


def test_preempt_baseline_per_pod_python(benchmark, loaded):
    benchmark.group = "preemption: 5,000 nodes, 50,000 running pods"
    scheduler = Scheduler(loaded, pdbs=[NOBODY])
    choice = benchmark.pedantic(scheduler.preempt, args=(BIG,), rounds=5, iterations=1)
    assert isinstance(choice, Preemption)
