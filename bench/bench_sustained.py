"""Sustained scheduling (issue 13): call after call, churn, one-pod latency, memory.

    python bench/bench_sustained.py [--repeat 3] [--baseline-repeat 1] [--only abcd] [--smoke]
    pytest bench/bench_sustained.py --benchmark-enable -s      (full sizes)
    pytest bench/bench_sustained.py                            (smoke: small sizes, once)

The headline rate of ``bench_scheduler.py`` is one ``schedule_many`` call on a
fresh cluster; these cases keep one scheduler and cluster going, each beside a
baseline in the same run:

(a) **Successive calls**: 20 calls of 10,000 pods (``basic_pods``) on one
    ``Scheduler`` over ``basic_cluster(5000, 1000)``, each end to end (the call
    and reading ``result.nodes``). The 20 calls ask for 200,000 pods where 199,000
    fit (5,000 nodes of 4 CPU hold 40 pods of 100m each, 1,000 run already), so
    the last call places 9,000 and finds 1,000 unschedulable: the counts are
    reported. Reported: the first call's rate, the rate over all 20 calls (pods
    / total seconds) and first / sustained. Baseline: ``NumpyScheduler`` (the
    NumPy baseline with its state kept between calls) making the same 20 calls,
    reading its rows into node names; its rows must equal fastsched's, call by
    call.
(b) **Churn**: ``mixed_cluster(5000, 0)`` filled with 50,000 pods of mixed
    shapes, then rounds that unbind 5,000 bound pods drawn by a seeded generator
    (``Cluster.unbind_many`` with the keys from ``ScheduleResult.keys()``) and
    schedule 5,000 new mixed pods. Pod events/s = (unbinds + binds) / the rounds'
    time (the fill is not timed, nor is the benchmark's own bookkeeping).
    Baselines: the same rounds with one ``Cluster.unbind`` per pod (the plain
    API), and ``NumpyScheduler``'s arrays doing the first rounds (fewer: it is
    slow), whose placements must equal fastsched's.
(c) **Latency** of ``Scheduler.schedule(pod)`` for fresh replicas of one
    template (``tmpl.replica(f"x-{i}")``, made outside the timed region) at 5,000
    and 100,000 nodes (``basic_cluster(n, n // 5)``): median and p99 over 2,000
    calls after 20 warm-up calls. Baseline: ``NumpyScheduler`` placing one pod
    per call, on the same nodes.
(d) **Memory per bound pod**: 1,000,000 replicas of one template bound by one
    ``schedule_many`` on 10,000 roomy nodes. Measured: the growth of
    tracemalloc's traced memory once the result is dropped and one binding has
    been read back (``node_of``: what the cluster keeps, objects it builds on
    first read included), per placed pod; also before that read. NumPy
    reports its array buffers to tracemalloc, so the arrays are inside that
    figure; the growth of the cluster's arrays' ``nbytes`` is shown as the part
    of it they take, never added to it.
    Baseline: the old store, a dict ``key -> (Pod replica, node name)`` for the
    same pods.

Timing is reported, never asserted: the checks are structural (every placement
on a real node, no node over its pod count, baseline rows equal to fastsched's).
The script prints a markdown table with the issue's acceptance targets beside
the measured numbers (medians over ``--repeat`` runs; the NumPy baselines, which
take seconds per run, over ``--baseline-repeat``).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))   # _numpy_baseline as a script

from _numpy_baseline import NumpyScheduler  # noqa: E402

from fastsched import Cluster, Pod, Scheduler  # noqa: E402
from fastsched.datasets import synthetic  # noqa: E402

GI, MI = 1 << 30, 1 << 20

FULL = {"a_nodes": 5000, "a_running": 1000, "a_pods": 10_000, "a_calls": 20,
        "b_nodes": 5000, "b_bound": 50_000, "b_round": 5000, "b_rounds": 20, "b_numpy_rounds": 3,
        "c_nodes": (5000, 100_000), "c_calls": 2000, "c_numpy_calls": (2000, 300),
        "d_nodes": 10_000, "d_pods": 1_000_000}
# The same shapes at a tenth or less, so the pytest smoke run takes seconds.
SMOKE = {"a_nodes": 500, "a_running": 100, "a_pods": 1000, "a_calls": 20,
         "b_nodes": 500, "b_bound": 5000, "b_round": 500, "b_rounds": 3, "b_numpy_rounds": 2,
         "c_nodes": (500, 2000), "c_calls": 200, "c_numpy_calls": (200, 100),
         "d_nodes": 1000, "d_pods": 20_000}

TARGETS = {"a_sustained": 2_000_000, "a_ratio": 2.0, "b_events": 500_000,
           "c_median_us": 20.0, "d_bytes": 64}


# -- (a) successive calls --------------------------------------------------------------

def fastsched_calls(cluster: Cluster, pods: list[Pod], calls: int) -> dict[str, Any]:
    """``calls`` successive ``schedule_many(pods)`` on one scheduler, each timed end
    to end (the call and reading the node names)."""
    scheduler = Scheduler(cluster)
    seconds, rows = [], []
    for _ in range(calls):
        start = time.perf_counter()
        result = scheduler.schedule_many(pods)
        nodes = result.nodes
        seconds.append(time.perf_counter() - start)
        rows.append(result.rows)
        assert len(nodes) == len(pods)
    return _calls_summary(len(pods), seconds, rows)


def numpy_calls(cluster: Cluster, pods: list[Pod], calls: int) -> dict[str, Any]:
    """The same calls made by the NumPy baseline, its state kept between calls."""
    session = NumpyScheduler(cluster)
    names = cluster.node_names
    seconds, rows = [], []
    for _ in range(calls):
        start = time.perf_counter()
        got = session.schedule_many(pods)
        nodes = [names[r] if r >= 0 else None for r in got.tolist()]
        seconds.append(time.perf_counter() - start)
        rows.append(got)
        assert len(nodes) == len(pods)
    return _calls_summary(len(pods), seconds, rows)


def _calls_summary(per_call: int, seconds: list[float],
                   rows: list[np.ndarray]) -> dict[str, Any]:
    first = per_call / seconds[0]
    sustained = per_call * len(seconds) / sum(seconds)
    # A pod that fits nowhere is checked against every node (its reasons are
    # counted), so a call meeting a full cluster is slow by nature: the calls that
    # placed every pod are summed apart too.
    full = [t for t, r in enumerate(rows) if (r >= 0).all()]
    placed = sum(int((r >= 0).sum()) for r in rows)
    return {"first": first, "sustained": sustained, "ratio": first / sustained,
            "sustained_full": per_call * len(full) / sum(seconds[t] for t in full),
            "full_calls": len(full), "slowest": per_call / max(seconds), "placed": placed,
            "unschedulable": per_call * len(seconds) - placed, "rows": rows}


def check_calls(cluster: Cluster, out: dict[str, Any], sizes: dict[str, Any]) -> None:
    """Every pod placed while there was room, none after: the cluster holds 40 pods of
    100m per node, ``a_running`` of them already running."""
    room = 40 * sizes["a_nodes"] - sizes["a_running"]
    asked = sizes["a_pods"] * sizes["a_calls"]
    assert out["placed"] == min(room, asked), out["placed"]
    every = np.concatenate(out["rows"])
    assert every.max() < len(cluster)
    assert np.bincount(every[every >= 0], minlength=len(cluster)).max() <= 40


# -- (b) churn -----------------------------------------------------------------------

class Churn:
    """The bound pods a churn run knows of (keys, templates and node rows, in the
    order they were bound) and a seeded generator choosing the victims."""

    def __init__(self, keys: list[str | None], pods: list[Pod], rows: np.ndarray,
                 seed: int) -> None:
        placed = np.flatnonzero(rows >= 0)
        self.keys = [keys[t] for t in placed.tolist()]
        self.pods = [pods[t] for t in placed.tolist()]
        self.rows = rows[placed]
        self.rng = np.random.default_rng(seed)

    def victims(self, count: int) -> np.ndarray:
        return np.sort(self.rng.choice(len(self.pods), count, replace=False))

    def update(self, gone: np.ndarray, keys: list[str | None], pods: list[Pod],
               rows: np.ndarray) -> None:
        """Forget the pods at ``gone``, then append the newly placed ones."""
        keep = np.ones(len(self.pods), np.bool_)
        keep[gone] = False
        kept = np.flatnonzero(keep).tolist()
        placed = np.flatnonzero(rows >= 0).tolist()
        self.keys = [self.keys[i] for i in kept] + [keys[t] for t in placed]
        self.pods = [self.pods[i] for i in kept] + [pods[t] for t in placed]
        self.rows = np.concatenate([self.rows[keep], rows[placed]])


def churn_fill(sizes: dict[str, Any]) -> tuple[Cluster, Scheduler, Churn]:
    """``mixed_cluster(b_nodes, 0)`` holding ``b_bound`` mixed pods (the same every time)."""
    cluster = synthetic.mixed_cluster(sizes["b_nodes"], 0)
    scheduler = Scheduler(cluster)
    pods = synthetic.mixed_pods(sizes["b_bound"], seed=1)
    result = scheduler.schedule_many(pods)
    return cluster, scheduler, Churn(result.keys(), pods, result.rows, seed=7)


def churn_rounds(cluster: Cluster, scheduler: Scheduler, state: Churn, sizes: dict[str, Any],
                 how: str, rounds: int | None = None) -> dict[str, Any]:
    """``rounds`` rounds of unbinding ``b_round`` pods and scheduling as many new ones.

    ``how``: "unbind_many" (one call per round), "unbind" (one call per pod) or
    "numpy" (``NumpyScheduler``'s arrays; the cluster is only read).
    """
    session = NumpyScheduler(cluster) if how == "numpy" else None
    rounds = sizes["b_rounds"] if rounds is None else rounds
    seconds, events, unschedulable, rows_per_round = 0.0, 0, 0, []
    phases = np.zeros(3)            # unbinding, schedule_many, keys()
    for k in range(rounds):
        gone = state.victims(sizes["b_round"])
        pods = synthetic.mixed_pods(sizes["b_round"], seed=100 + k)
        keys: list[str | None] = []
        if session is None:
            victims = [state.keys[i] for i in gone.tolist()]
            start = time.perf_counter()
            if how == "unbind_many":
                unbound = cluster.unbind_many(victims)
            else:
                for key in victims:
                    cluster.unbind(key)
                unbound = len(victims)
            unbinding = time.perf_counter()
            result = scheduler.schedule_many(pods)
            scheduling = time.perf_counter()
            keys = result.keys()
            end = time.perf_counter()
            seconds += end - start
            phases += np.array([unbinding - start, scheduling - unbinding, end - scheduling])
            rows = result.rows
        else:
            victim_pods = [state.pods[i] for i in gone.tolist()]
            victim_rows = state.rows[gone]
            start = time.perf_counter()
            session.unbind_many(victim_pods, victim_rows)
            rows = session.schedule_many(pods)
            seconds += time.perf_counter() - start
            unbound = len(victim_pods)
            keys = [None] * len(pods)
        placed = int((rows >= 0).sum())
        events += unbound + placed
        unschedulable += len(pods) - placed
        rows_per_round.append(rows)
        state.update(gone, keys, pods, rows)
    unbind_ms, schedule_ms, keys_ms = (1000 * phases / rounds).tolist()
    return {"events": events / seconds, "seconds": seconds, "unschedulable": unschedulable,
            "bound": len(state.pods), "rows": rows_per_round, "unbind_ms": unbind_ms,
            "schedule_ms": schedule_ms, "keys_ms": keys_ms}


def check_churn(cluster: Cluster, state: Churn, out: dict[str, Any]) -> None:
    """The cluster holds exactly the pods the run kept, on the rows it saw them placed."""
    assert len(cluster.pods) == len(state.keys) == out["bound"]
    assert all(cluster.node_of(key) == cluster.node_names[row]
               for key, row in zip(state.keys[::97], state.rows[::97].tolist()))


# -- (c) latency of schedule(pod) ------------------------------------------------------

LATENCY_POD = Pod("lat", requests={"cpu": 100, "memory": 500 * MI})
WARMUP = 20


def fastsched_latency(cluster: Cluster, calls: int) -> dict[str, Any]:
    """``Scheduler.schedule`` of ``calls`` fresh replicas, each call timed alone."""
    scheduler = Scheduler(cluster)
    micros, nodes = [], []
    for i in range(WARMUP + calls):
        pod = LATENCY_POD.replica(f"x-{i}")
        start = time.perf_counter_ns()
        placement = scheduler.schedule(pod)
        micros.append((time.perf_counter_ns() - start) / 1000)
        nodes.append(placement.node)       # an Unschedulable has none: AttributeError
    return _latency_summary(micros[WARMUP:], nodes)


def numpy_latency(cluster: Cluster, calls: int) -> dict[str, Any]:
    """The NumPy baseline placing one replica per call, its state kept."""
    session = NumpyScheduler(cluster)
    names = cluster.node_names
    micros, nodes = [], []
    for i in range(WARMUP + calls):
        pod = LATENCY_POD.replica(f"x-{i}")
        start = time.perf_counter_ns()
        row = int(session.schedule_many([pod])[0])
        micros.append((time.perf_counter_ns() - start) / 1000)
        nodes.append(names[row])
    return _latency_summary(micros[WARMUP:], nodes)


def _latency_summary(micros: list[float], nodes: list[str]) -> dict[str, Any]:
    return {"median_us": statistics.median(micros),
            "p99_us": float(np.percentile(micros, 99)), "nodes": nodes}


# -- (d) memory per bound pod ----------------------------------------------------------

MEMORY_POD = Pod("mem", requests={"cpu": 100, "memory": 500 * MI})


def roomy_cluster(nodes: int) -> Cluster:
    """Nodes holding 250 pods each (and cpu and memory to spare for them)."""
    cluster = Cluster()
    for i in range(nodes):
        cluster.add_node(f"node-{i}", {"cpu": 1000_000, "memory": 4096 * GI, "pods": 250})
    return cluster


def array_bytes(root: object) -> int:
    """``nbytes`` of the NumPy arrays held by ``root`` and the fastsched objects under
    it (attributes, small dicts, the first items of lists and tuples), each buffer
    counted once. Pods and per-pod maps are not walked: their fields are the
    template's, and the traced total counts them anyway."""
    seen: set[int] = set()
    buffers: dict[int, int] = {}
    stack: list[Any] = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, Pod | str | int | float | bool | None):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            while isinstance(obj.base, np.ndarray):
                obj = obj.base
            buffers[id(obj)] = obj.nbytes
        elif isinstance(obj, dict):
            if len(obj) <= 1000:
                stack.extend(obj.values())
        elif isinstance(obj, list | tuple):
            stack.extend(obj[:64])
        elif type(obj).__module__.startswith("fastsched"):
            stack.extend(getattr(obj, "__dict__", {}).values())
            stack.extend(getattr(obj, slot) for slot in getattr(type(obj), "__slots__", ())
                         if hasattr(obj, slot))
    return sum(buffers.values())


def fastsched_memory(nodes: int, count: int) -> dict[str, Any]:
    """What the cluster keeps per pod after ``schedule_many([template] * count)``, and
    after reading one binding back (a store that builds its objects lazily would
    build them there)."""
    cluster = roomy_cluster(nodes)
    scheduler = Scheduler(cluster)
    pods = [MEMORY_POD] * count          # the caller's list, made before tracing
    gc.collect()
    arrays_before = array_bytes(cluster)
    tracemalloc.start()
    result = scheduler.schedule_many(pods)
    peak = tracemalloc.get_traced_memory()[1]      # before keys() makes a million strings
    placed = result.placed
    last = result.keys()[-1]
    del result
    gc.collect()
    unread = tracemalloc.get_traced_memory()[0]
    node = cluster.node_of(last)
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    arrays = array_bytes(cluster) - arrays_before
    assert placed == count and len(cluster.pods) == count and node in cluster
    return {"bytes": kept / placed, "unread": unread / placed, "arrays": arrays / placed,
            "peak": peak / placed, "kept_mb": kept / 1e6}


def old_store_memory(nodes: int, count: int) -> dict[str, Any]:
    """The old representation of the same bindings: a Pod replica per bound pod in a
    dict key -> (pod, node name)."""
    names = [f"node-{i}" for i in range(nodes)]
    node_of = [names[t % nodes] for t in range(count)]     # made before tracing
    gc.collect()
    tracemalloc.start()
    store: dict[str, tuple[Pod, str]] = {}
    for k, node in enumerate(node_of):
        pod = MEMORY_POD.replica(f"mem-{k}")
        store[pod.key] = (pod, node)
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(store) == count
    return {"bytes": kept / count, "unread": kept / count, "arrays": 0.0, "peak": peak / count,
            "kept_mb": kept / 1e6}


# -- pytest ----------------------------------------------------------------------------

def _rounds(benchmark, fn: Callable[..., dict[str, Any]], setup: Callable[[], tuple],
            rounds: int) -> dict[str, Any]:
    """Run ``fn(*setup())`` ``rounds`` times under pytest-benchmark (once when it is
    disabled); returns the median of every number over the rounds, the other
    entries of the last round, and the arguments of the last round as ``args``."""
    outs: list[dict[str, Any]] = []
    last: list[tuple] = []

    def prepared() -> tuple[tuple, dict]:
        last[:] = [setup()]
        return last[0], {}

    def target(*args: Any) -> None:
        outs.append(fn(*args))

    benchmark.pedantic(target, setup=prepared, rounds=rounds, iterations=1)
    out = _medians(outs)
    out["args"] = last[0]
    for key, value in out.items():
        if isinstance(value, float | int):
            benchmark.extra_info[key] = round(value, 3)
    return out


def _medians(outs: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(outs[-1])
    for key, value in out.items():
        if isinstance(value, float | int) and not isinstance(value, bool):
            out[key] = statistics.median(o[key] for o in outs)
    return out


def _sizes(benchmark) -> dict[str, Any]:
    return SMOKE if benchmark.disabled else FULL


def test_successive_calls_fastsched(benchmark, record_rate):
    sizes = _sizes(benchmark)
    benchmark.group = "(a) successive calls"
    pods = synthetic.basic_pods(sizes["a_pods"])
    out = _rounds(benchmark, fastsched_calls,
                  lambda: (synthetic.basic_cluster(sizes["a_nodes"], sizes["a_running"]), pods,
                           sizes["a_calls"]), rounds=3)
    check_calls(out["args"][0], out, sizes)
    record_rate(benchmark.group, "fastsched first call", out["first"])
    record_rate(benchmark.group, "fastsched sustained", out["sustained"])


def test_successive_calls_numpy(benchmark, record_rate):
    sizes = _sizes(benchmark)
    benchmark.group = "(a) successive calls"
    pods = synthetic.basic_pods(sizes["a_pods"])

    def setup() -> tuple:
        return synthetic.basic_cluster(sizes["a_nodes"], sizes["a_running"]), pods, sizes["a_calls"]

    out = _rounds(benchmark, numpy_calls, setup, rounds=1)
    check_calls(out["args"][0], out, sizes)
    reference = fastsched_calls(*setup())
    for call, (ours, theirs) in enumerate(zip(out["rows"], reference["rows"])):
        assert np.array_equal(ours, theirs), f"call {call} placed differently"
    record_rate(benchmark.group, "numpy baseline sustained", out["sustained"], True)


def test_churn(benchmark, record_rate):
    sizes = _sizes(benchmark)
    benchmark.group = "(b) churn"
    out = _rounds(benchmark, lambda c, s, st: churn_rounds(c, s, st, sizes, "unbind_many"),
                  lambda: churn_fill(sizes), rounds=3)
    cluster, _, state = out["args"]
    check_churn(cluster, state, out)
    loop_cluster, loop_scheduler, loop_state = churn_fill(sizes)
    loop = churn_rounds(loop_cluster, loop_scheduler, loop_state, sizes, "unbind")
    check_churn(loop_cluster, loop_state, loop)
    arrays = churn_rounds(*churn_fill(sizes), sizes, "numpy", sizes["b_numpy_rounds"])
    for k, rows in enumerate(out["rows"]):
        assert np.array_equal(rows, loop["rows"][k]), f"round {k}"
        if k < len(arrays["rows"]):
            assert np.array_equal(rows, arrays["rows"][k]), f"round {k}"
    benchmark.extra_info["unbind per pod events/s"] = round(loop["events"])
    benchmark.extra_info["numpy events/s"] = round(arrays["events"])
    record_rate(benchmark.group, "fastsched unbind_many (events/s)", out["events"])
    record_rate(benchmark.group, "fastsched unbind per pod (events/s)", loop["events"])
    record_rate(benchmark.group, "numpy baseline (events/s)", arrays["events"], True)


def _latency(benchmark, record_rate, which: int) -> None:
    sizes = _sizes(benchmark)
    nodes = sizes["c_nodes"][which]
    benchmark.group = f"(c) schedule(pod) {nodes:,} nodes"

    def setup() -> tuple:
        return synthetic.basic_cluster(nodes, nodes // 5), sizes["c_calls"]

    out = _rounds(benchmark, fastsched_latency, setup, rounds=1)
    calls = sizes["c_numpy_calls"][which]
    theirs = numpy_latency(synthetic.basic_cluster(nodes, nodes // 5), calls)
    assert out["nodes"][WARMUP:WARMUP + calls] == theirs["nodes"][WARMUP:]
    benchmark.extra_info["numpy median_us"] = round(theirs["median_us"], 2)
    benchmark.extra_info["numpy p99_us"] = round(theirs["p99_us"], 2)
    # As calls/s of the median call, for the summary.
    record_rate(benchmark.group, "fastsched 1 / median", 1e6 / out["median_us"])
    record_rate(benchmark.group, "numpy baseline 1 / median", 1e6 / theirs["median_us"], True)


def test_latency_small(benchmark, record_rate):
    _latency(benchmark, record_rate, 0)


def test_latency_large(benchmark, record_rate):
    _latency(benchmark, record_rate, 1)


def test_memory(benchmark):
    sizes = _sizes(benchmark)
    benchmark.group = "(d) memory"
    ours = _rounds(benchmark, fastsched_memory, lambda: (sizes["d_nodes"], sizes["d_pods"]),
                   rounds=1)
    old = old_store_memory(sizes["d_nodes"], sizes["d_pods"])
    assert 0 < ours["arrays"] <= ours["bytes"] + 1     # the arrays are part of the traced total
    benchmark.extra_info["old store bytes"] = round(old["bytes"], 1)


# -- script ----------------------------------------------------------------------------

def _repeat(fn: Callable[[], dict[str, Any]], times: int) -> dict[str, Any]:
    return _medians([fn() for _ in range(max(times, 1))])


def run_all(sizes: dict[str, Any], repeat: int, baseline_repeat: int, only: str) -> list[list[str]]:
    """The table's rows: case, measure, fastsched, baseline (named), target."""
    rows: list[list[str]] = []

    def rate(x: float) -> str:
        return f"{x:,.0f}"

    if "a" in only:
        pods = synthetic.basic_pods(sizes["a_pods"])

        def cluster() -> Cluster:
            return synthetic.basic_cluster(sizes["a_nodes"], sizes["a_running"])

        ours = _repeat(lambda: fastsched_calls(cluster(), pods, sizes["a_calls"]), repeat)
        theirs = _repeat(lambda: numpy_calls(cluster(), pods, sizes["a_calls"]), baseline_repeat)
        same = all(np.array_equal(x, y) for x, y in zip(ours["rows"], theirs["rows"]))
        case = (f"(a) {sizes['a_calls']} calls x {sizes['a_pods']:,} pods, "
                f"{sizes['a_nodes']:,} nodes")
        rows += [[case, "first call (pods/s)", rate(ours["first"]), rate(theirs["first"]), ""],
                 [case, "sustained (pods/s)", rate(ours["sustained"]), rate(theirs["sustained"]),
                  f">= {TARGETS['a_sustained']:,}"],
                 [case, "first / sustained", f"{ours['ratio']:.2f}", f"{theirs['ratio']:.2f}",
                  f"<= {TARGETS['a_ratio']:g}"],
                 [case, f"sustained over the {ours['full_calls']} calls placing every pod",
                  rate(ours["sustained_full"]), rate(theirs["sustained_full"]), ""],
                 [case, "slowest call (pods/s)", rate(ours["slowest"]), rate(theirs["slowest"]),
                  ""],
                 [case, "placed / unschedulable", f"{ours['placed']:,} / {ours['unschedulable']:,}",
                  f"{theirs['placed']:,} / {theirs['unschedulable']:,}"
                  + ("" if same else " (ROWS DIFFER)"), ""]]
    if "b" in only:
        ours = _repeat(lambda: churn_rounds(*churn_fill(sizes), sizes, "unbind_many"), repeat)
        loop = _repeat(lambda: churn_rounds(*churn_fill(sizes), sizes, "unbind"), repeat)
        arrays = _repeat(lambda: churn_rounds(*churn_fill(sizes), sizes, "numpy",
                                              sizes["b_numpy_rounds"]), baseline_repeat)
        same = all(np.array_equal(x, y) for x, y in zip(arrays["rows"], ours["rows"]))
        case = (f"(b) churn {sizes['b_round']:,} out + in per round, {sizes['b_bound']:,} "
                f"bound, {sizes['b_nodes']:,} nodes")
        rows += [[case, "pod events/s, unbind_many", rate(ours["events"]),
                  f"{rate(loop['events'])} (unbind per pod)", f">= {TARGETS['b_events']:,}"],
                 [case, "pod events/s, NumPy arrays", "",
                  f"{rate(arrays['events'])} ({sizes['b_numpy_rounds']} rounds"
                  + (")" if same else ", ROWS DIFFER)"), ""],
                 [case, "per round: unbind / schedule_many / keys() (ms)",
                  f"{ours['unbind_ms']:.1f} / {ours['schedule_ms']:.1f} / {ours['keys_ms']:.1f}",
                  f"{loop['unbind_ms']:.1f} / {loop['schedule_ms']:.1f} / {loop['keys_ms']:.1f}", ""],
                 [case, "unschedulable / bound at the end",
                  f"{ours['unschedulable']:,} / {ours['bound']:,}",
                  f"{loop['unschedulable']:,} / {loop['bound']:,}", ""]]
    if "c" in only:
        for which, nodes in enumerate(sizes["c_nodes"]):
            calls = sizes["c_numpy_calls"][which]
            ours = _repeat(lambda: fastsched_latency(synthetic.basic_cluster(nodes, nodes // 5),
                                                     sizes["c_calls"]), repeat)
            theirs = _repeat(lambda: numpy_latency(synthetic.basic_cluster(nodes, nodes // 5),
                                                   calls), baseline_repeat)
            same = ours["nodes"][WARMUP:WARMUP + calls] == theirs["nodes"][WARMUP:]
            case = f"(c) schedule(pod), {nodes:,} nodes"
            note = "" if same else " (NODES DIFFER)"
            rows += [[case, "median (us)", f"{ours['median_us']:.1f}",
                      f"{theirs['median_us']:.1f}{note}",
                      f"<= {TARGETS['c_median_us']:g}" if which == 0 else ""],
                     [case, "p99 (us)", f"{ours['p99_us']:.1f}", f"{theirs['p99_us']:.1f}", ""]]
    if "d" in only:
        ours = _repeat(lambda: fastsched_memory(sizes["d_nodes"], sizes["d_pods"]), repeat)
        old = _repeat(lambda: old_store_memory(sizes["d_nodes"], sizes["d_pods"]), 1)
        case = f"(d) {sizes['d_pods']:,} bound replicas, {sizes['d_nodes']:,} nodes"
        rows += [[case, "bytes per bound pod (traced)", f"{ours['bytes']:.1f}",
                  f"{old['bytes']:.1f} (dict of Pod replicas)", f"<= {TARGETS['d_bytes']}"],
                 [case, "before any binding is read", f"{ours['unread']:.1f}",
                  f"{old['unread']:.1f}", ""],
                 [case, "of which arrays' nbytes", f"{ours['arrays']:.1f}", "", ""],
                 [case, "peak in schedule_many, per pod", f"{ours['peak']:.1f}", f"{old['peak']:.1f}",
                  ""],
                 [case, "kept in total (MB)", f"{ours['kept_mb']:.1f}", f"{old['kept_mb']:.1f}",
                  "< 100"]]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of fastsched (median)")
    parser.add_argument("--baseline-repeat", type=int, default=1,
                        help="runs of the NumPy baselines (median; each takes seconds)")
    parser.add_argument("--only", default="abcd", help="cases to run, e.g. 'ab'")
    parser.add_argument("--smoke", action="store_true", help="the small sizes of the smoke test")
    args = parser.parse_args(argv)
    rows = run_all(SMOKE if args.smoke else FULL, args.repeat, args.baseline_repeat, args.only)
    print("| Case | Measure | fastsched | Baseline | Target |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
