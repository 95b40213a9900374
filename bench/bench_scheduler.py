"""Scheduling throughput: fastsched's kernel against the NumPy baseline.

    pytest bench/bench_scheduler.py --benchmark-enable --benchmark-columns=min,median,max,rounds -q

Three groups, each timing one ``schedule_many`` call per round on a fresh copy of
a cluster built once per module (the copy is made outside the timed region):

* *SchedulingBasic 5k nodes*: upstream scheduler_perf's SchedulingBasic, 5,000
  nodes of 4 CPU / 32Gi / 110 pods with 1,000 pods running, and identical pending
  pods of 100m / 500Mi (``synthetic.basic_cluster`` / ``basic_pods``);
* *Mixed 5k nodes*: ``synthetic.mixed_cluster(5000, 1000)``, 16 pod shapes with
  selectors, affinity, tolerations and a GPU job (``mixed_pods``);
* *Mixed 100k nodes*: the same at 100,000 nodes with 20,000 pods running.

Each group times fastsched with its incremental path (the default), fastsched
with ``incremental=False`` (every node filtered and scored per pod) and the NumPy
baseline of bench/_numpy_baseline.py, which places exactly like fastsched
(tests/test_numpy_baseline.py) and scores every node per pod with array
operations. The slower contenders schedule fewer pods, so compare the pods/s
(``extra_info["pods_per_s"]``, also printed in the summary at the end), not the
round times. Every scheduler call includes compiling the pod specs.
"""

import numpy as np
import pytest
from _numpy_baseline import numpy_schedule_many

from fastsched import Scheduler
from fastsched.datasets import synthetic


def fastsched_incremental(cluster, pods):
    return Scheduler(cluster).schedule_many(pods).rows


def fastsched_full_scan(cluster, pods):
    return Scheduler(cluster, incremental=False).schedule_many(pods).rows


RUNNERS = {"fastsched incremental": fastsched_incremental,
           "fastsched full scan": fastsched_full_scan,
           "numpy baseline": numpy_schedule_many}
BASELINE = "numpy baseline"


@pytest.fixture(scope="module")
def basic_5k():
    return synthetic.basic_cluster(5000, 1000)


@pytest.fixture(scope="module")
def mixed_5k():
    return synthetic.mixed_cluster(5000, 1000)


@pytest.fixture(scope="module")
def mixed_100k():
    return synthetic.mixed_cluster(100_000, 20_000)


BASIC_PODS = synthetic.basic_pods(10_000)
MIXED_PODS = synthetic.mixed_pods(10_000)


def run(benchmark, record_rate, group, cluster, pods, how, rounds):
    """Time ``RUNNERS[how](cluster copy, pods)`` and record its pods/s."""
    benchmark.group = group
    benchmark.extra_info["pods"] = len(pods)
    rows = benchmark.pedantic(RUNNERS[how], setup=lambda: ((cluster.copy(), pods), {}),
                              rounds=rounds, warmup_rounds=1, iterations=1)
    assert len(rows) == len(pods) and np.all(rows >= 0)
    if benchmark.stats is not None:          # None under --benchmark-disable
        rate = len(pods) / benchmark.stats.stats.median
        benchmark.extra_info["pods_per_s"] = round(rate)
        record_rate(group, f"{how} ({len(pods):,} pods)", rate, how == BASELINE)


def contenders(*plans):
    """Parametrize over ``(runner, pods, rounds)``, each test named for its runner.
    The slower runners place fewer pods, to keep the rounds short."""
    return pytest.mark.parametrize("how, count, rounds",
                                   [pytest.param(*plan, id=plan[0]) for plan in plans])


@contenders(("fastsched incremental", 10_000, 20),
            ("fastsched full scan", 10_000, 5),
            ("numpy baseline", 2_000, 5))
def test_scheduling_basic_5k(benchmark, record_rate, basic_5k, how, count, rounds):
    run(benchmark, record_rate, "SchedulingBasic 5k nodes", basic_5k, BASIC_PODS[:count],
        how, rounds)


@contenders(("fastsched incremental", 10_000, 20),
            ("fastsched full scan", 10_000, 5),
            ("numpy baseline", 2_000, 5))
def test_mixed_5k(benchmark, record_rate, mixed_5k, how, count, rounds):
    run(benchmark, record_rate, "Mixed 5k nodes", mixed_5k, MIXED_PODS[:count], how, rounds)


@contenders(("fastsched incremental", 10_000, 5),
            ("fastsched full scan", 2_000, 3),
            ("numpy baseline", 200, 3))
def test_mixed_100k(benchmark, record_rate, mixed_100k, how, count, rounds):
    run(benchmark, record_rate, "Mixed 100k nodes", mixed_100k, MIXED_PODS[:count], how,
        rounds)
