"""Time-based replay: tasks arrive at their ``creation_time``, run for as long as they
ran in the trace, and wait in a queue when nothing fits.

Besides the paper's arrival-only protocol (:func:`~fastsched.sim.simulate`), this
answers "will the cluster cope with this workload over time": a task runs for
``deletion_time − (scheduled_time, else creation_time)`` seconds from when it starts
(forever without a deletion time); one that fits nowhere waits, ordered by priority
(QoS: Guaranteed, then LS, Burstable, BE) and then arrival, is retried whenever a
task leaves a node, and gives up at its ``deletion_time``. The whole replay is one
kernel call (``_kernels/gpusim.pyx``, ``replay_timed``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._kernels import gpusim
from ..errors import ValidationError
from .gpucluster import MAX_GPUS, MILLI, GpuCluster
from .simulate import _policy, replay_inputs
from .trace import Trace

__all__ = ["TimedResult", "replay_timed", "QOS_PRIORITY"]

QOS_PRIORITY = {"Guaranteed": 3, "LS": 2, "Burstable": 1, "BE": 0}
"""Queue priority of the trace's QoS classes (others: 0)."""


@dataclass(frozen=True, repr=False, eq=False)
class TimedResult:
    """A time-based replay. ``time`` (seconds, arrivals scaled by ``speedup``),
    ``gpu_util`` and ``cpu_util`` (% of the cluster allocated) and ``queue`` (tasks
    waiting) after each event;
    per task in arrival order (``order`` indexes the trace): ``node`` (-1: never
    ran), ``start`` and ``wait`` (seconds; -1 when it never ran)."""

    policy: str
    seed: int
    speedup: float
    total_gpus: int
    time: np.ndarray
    gpu_util: np.ndarray
    cpu_util: np.ndarray
    queue: np.ndarray
    order: np.ndarray
    node: np.ndarray
    start: np.ndarray
    wait: np.ndarray
    wall_s: float
    arrival_end: int = 0

    @property
    def ran(self) -> int:
        return int(np.count_nonzero(self.node >= 0))

    @property
    def never_ran(self) -> int:
        return len(self.node) - self.ran

    def wait_percentiles(self) -> dict[str, float]:
        """p50, p90, p99 and max of the wait of the tasks that ran (seconds)."""
        w = self.wait[self.node >= 0]
        if not len(w):
            return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
        p50, p90, p99 = np.percentile(w, [50, 90, 99])
        return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "max": float(w.max())}

    def mean_gpu_util(self) -> float:
        """GPU allocation averaged over time (%) while tasks arrive (from the first
        arrival to the last)."""
        inside = self.time <= self.arrival_end
        t, u = self.time[inside], self.gpu_util[inside]
        if len(t) < 2 or t[-1] == t[0]:
            return float(u[-1]) if len(u) else 0.0
        return float(np.sum(u[:-1] * np.diff(t)) / (t[-1] - t[0]))

    def summary(self) -> dict[str, Any]:
        return {"policy": self.policy, "seed": self.seed, "speedup": self.speedup,
                "total_gpus": self.total_gpus,
                "tasks": len(self.node), "ran": self.ran, "never_ran": self.never_ran,
                "wait_s": self.wait_percentiles(),
                "mean_gpu_util": round(self.mean_gpu_util(), 2),
                "peak_gpu_util": round(float(self.gpu_util.max(initial=0.0)), 2),
                "peak_queue": int(self.queue.max(initial=0)), "wall_s": self.wall_s}

    def __repr__(self) -> str:
        w = self.wait_percentiles()
        return (f"TimedResult({self.policy}: {self.ran:,} ran, {self.never_ran:,} never ran, "
                f"wait p50 {w['p50']:.0f} s, p99 {w['p99']:.0f} s, peak queue "
                f"{int(self.queue.max(initial=0))}, {self.wall_s:.2f} s)")


def replay_timed(cluster: GpuCluster, trace: Trace, policy: str = "FGD", seed: int = 42,
                 speedup: float = 1.0) -> TimedResult:
    """Replay ``trace`` in time on a copy of ``cluster`` (see the module's docstring).

    ``speedup`` divides the times between arrivals and keeps how long tasks run: the
    same tasks arriving ``speedup`` times as densely (the what-if of a busier month).
    Tasks without a creation time are refused (ValidationError naming the first)."""
    started = time.perf_counter()
    policy = _policy(policy)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValidationError(f"must be a non-negative integer, got {seed!r}", "seed")
    missing = np.flatnonzero(trace.creation < 0)
    if missing.size:
        raise ValidationError(f"task {trace.names[int(missing[0])]!r} has no creation_time",
                              "trace.creation")
    if isinstance(speedup, bool) or not isinstance(speedup, (int, float)) or not (
            1e-6 <= speedup <= 1e9):
        raise ValidationError(f"must be a number in [1e-6, 1e9], got {speedup!r}", "speedup")
    state = cluster.copy()
    rng = np.random.default_rng(seed)
    order = np.lexsort((np.array(trace.names), trace.creation))   # by time, then name
    rank, shapes, shape, nshapes = replay_inputs(state, trace, order, rng)
    created = trace.creation[order]
    began = np.where(trace.scheduled >= 0, trace.scheduled, trace.creation)[order]
    deletion = trace.deletion[order]
    runtime = np.ascontiguousarray(np.where(deletion >= 0, np.maximum(deletion - began, 0), -1))
    base = int(created[0]) if len(created) else 0
    arrival = np.ascontiguousarray(base + np.floor((created - base) / speedup).astype(np.int64))
    # a waiting task gives up as late after its arrival as the trace's deletion was
    deadline = np.ascontiguousarray(np.where(deletion >= 0, arrival + (deletion - created), -1))
    prio = np.array([QOS_PRIORITY.get(trace.qos[i], 0) for i in order.tolist()], dtype=np.int32)
    m = len(order)
    cpu_left = np.ascontiguousarray(state.cpu - state.cpu_used)
    mem_left = np.ascontiguousarray(state.memory - state.memory_used)
    node = np.empty(m, dtype=np.int32)
    start = np.empty(m, dtype=np.int64)
    cap = 3 * m + 1
    ev_time, ev_gpu, ev_cpu = (np.empty(cap, dtype=np.int64) for _ in range(3))
    ev_queue = np.empty(cap, dtype=np.int32)
    ne = gpusim.replay_timed(
        gpusim.POLICIES[policy], int(rng.integers(1 << 63)), state.cpu, state.gpus, state.model,
        rank, cpu_left, mem_left, state.gpu_free, np.zeros((len(state), MAX_GPUS + 1), np.int32),
        np.ascontiguousarray(trace.cpu[order]), np.ascontiguousarray(trace.memory[order]),
        np.ascontiguousarray(trace.num_gpu[order]), np.ascontiguousarray(trace.gpu_milli[order]),
        np.ascontiguousarray(trace.gpu_spec[order]), shape, nshapes, shapes.cpu,
        shapes.num_gpu, shapes.gpu_milli, shapes.gpu_spec, shapes.p, arrival, runtime, deadline,
        prio, node, start, ev_time, ev_gpu, ev_cpu, ev_queue)
    total_gpu = state.total_gpus * MILLI
    total_cpu = int(state.cpu.sum())
    wait = np.where(node >= 0, start - arrival, -1)
    return TimedResult(policy, int(seed), float(speedup), state.total_gpus, ev_time[:ne].copy(),
                       100.0 * ev_gpu[:ne] / max(total_gpu, 1),
                       100.0 * ev_cpu[:ne] / max(total_cpu, 1), ev_queue[:ne].copy(),
                       order, node, start, wait, round(time.perf_counter() - started, 4),
                       int(arrival[-1]) if m else 0)
