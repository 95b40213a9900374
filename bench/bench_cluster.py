"""Building a cluster one node at a time: fastsched's amortized columns against the
obvious columnar baseline that copies its arrays on every add (np.vstack).

    pytest bench/bench_cluster.py --benchmark-enable
"""

import numpy as np
import pytest

from fastsched import Cluster

SHAPES = [({"cpu": "4", "memory": "16Gi", "pods": 110}, "m5.xlarge"),
          ({"cpu": "8", "memory": "32Gi", "pods": 110}, "m5.2xlarge"),
          ({"cpu": "16", "memory": "64Gi", "pods": 110}, "m5.4xlarge")]


def add_nodes(count):
    cluster = Cluster()
    for i in range(count):
        alloc, kind = SHAPES[i % 3]
        cluster.add_node(f"node-{i}", alloc, labels={
            "topology.kubernetes.io/zone": f"zone-{i % 3}",
            "node.kubernetes.io/instance-type": kind})
    return cluster


def add_nodes_copying(count):
    """Baseline: the same columns, but every add copies the arrays."""
    alloc = np.zeros((0, 4), np.int64)
    names = {}
    for i in range(count):
        shape, _ = SHAPES[i % 3]
        row = np.array([[int(shape["cpu"]) * 1000, int(shape["memory"][:-2]) << 30, 0, 110]])
        alloc = np.vstack([alloc, row])
        names[f"node-{i}"] = i
    return alloc


@pytest.mark.parametrize("count", [10_000, 40_000, 100_000])
def test_add_nodes(benchmark, count):
    benchmark.group = f"add {count} nodes"
    cluster = benchmark.pedantic(add_nodes, args=(count,), rounds=3, iterations=1)
    assert len(cluster) == count


@pytest.mark.parametrize("count", [10_000, 40_000])
def test_add_nodes_baseline_copying(benchmark, count):
    benchmark.group = f"add {count} nodes"
    alloc = benchmark.pedantic(add_nodes_copying, args=(count,), rounds=3, iterations=1)
    assert alloc.shape == (count, 4)
