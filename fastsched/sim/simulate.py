"""One trace experiment: tasks arrive one by one and are placed under a policy.

:func:`simulate` runs the protocol of Weng et al. (ATC'23) on a :class:`GpuCluster`
and a :class:`Trace`: shuffled arrivals, the workload tuned to ``inflate`` × the
cluster's GPUs (:mod:`fastsched.sim.workload`), every task scheduled once as it
arrives (no retry, no departure), and the GPU allocation ratio logged after each
task; the whole replay is one kernel call (``_kernels/gpusim.pyx``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._kernels import gpusim
from ..errors import ValidationError
from .gpucluster import MAX_GPUS, MILLI, GpuCluster
from .plugins.fgd import cluster_fragmentation
from .trace import Trace
from .workload import TargetShapes, arrival_order, target_shapes, tune

__all__ = ["POLICIES", "SimResult", "simulate", "allocation_curve", "bucket_curve"]

POLICIES = tuple(gpusim.POLICIES)
"""The placement policies, as the paper names them."""
CURVE_POINTS = 131
"""The curve has one point per 1% of arrived GPU demand, 0 … 130%."""
_CHUNKS = 50


@dataclass(frozen=True, repr=False, eq=False)
class SimResult:
    """What one experiment measured.

    ``gpu_alloc_curve``: allocated GPU as % of the cluster's at 0, 1, … 130% of its
    GPUs arrived (NaN past the demand that arrived; None in :meth:`to_dict`);
    ``gpu_alloc_ratio``: its last value that is not NaN; ``frag_ratio``: % of idle GPU
    that is fragmented for the target workload at the end (``frag_curve``: the same
    at each per cent arrived, as the paper's ``analysis_frag_ratio_discrete.csv``
    has it); ``cpu_alloc_ratio``: %
    of cpu allocated at the end. ``nodes``/``devices``: per arrived task, its node
    row (-1: it found none) and the bitmask of its GPU devices; ``order``: which
    task of the trace each arrival is.
    """

    policy: str
    seed: int
    inflate: float
    total_gpus: int
    gpu_alloc_curve: tuple[float, ...]
    gpu_alloc_ratio: float
    frag_ratio: float
    cpu_alloc_ratio: float
    placed: int
    failed: int
    wall_s: float
    frag_curve: tuple[float, ...] = ()
    order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    nodes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    devices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))

    def __repr__(self) -> str:
        return (f"SimResult({self.policy}, seed {self.seed}: {self.gpu_alloc_ratio:.2f}% GPU "
                f"allocated, {self.placed:,} placed, {self.failed:,} failed, "
                f"{self.wall_s:.2f} s)")

    def to_dict(self) -> dict[str, Any]:
        """The JSON fields of ``fastsched simulate -o json``."""
        return {"policy": self.policy, "seed": self.seed, "inflate": self.inflate,
                "total_gpus": self.total_gpus,
                "gpu_alloc_curve": [v if v == v else None for v in self.gpu_alloc_curve],
                "gpu_alloc_ratio": self.gpu_alloc_ratio, "frag_ratio": self.frag_ratio,
                "cpu_alloc_ratio": self.cpu_alloc_ratio, "placed": self.placed,
                "failed": self.failed, "wall_s": self.wall_s}


def _policy(name: str) -> str:
    for known in POLICIES:
        if name.lower() == known.lower():
            return known
    raise ValidationError(f"must be one of {', '.join(POLICIES)}, got {name!r}", "policy")


def allocation_curve(arrived: np.ndarray, used: np.ndarray, total_gpus: int) -> tuple[float, ...]:
    """The allocation ratio (%) at each whole per cent of arrived GPU, as the paper's
    analysis computes it (``merge_alloc_discrete.py``): each logged state is put in
    the bucket ``round(arrived %)``; a bucket's value is the mean of its states'
    ``round(allocated %, 2)`` (or of the neighbouring buckets' when empty), rounded to
    2 decimals; NaN when even those are empty."""
    return bucket_curve(arrived, np.round(used / total_gpus / 10.0, 2), total_gpus)


def bucket_curve(arrived: np.ndarray, values: np.ndarray, total_gpus: int) -> tuple[float, ...]:
    """``values`` (one per logged state) averaged per whole per cent of arrived GPU
    milli ``arrived``, as :func:`allocation_curve` does."""
    arrive = np.clip(np.rint(arrived / total_gpus / 10.0).astype(np.int64), 0, CURVE_POINTS + 1)
    counts = np.bincount(arrive, minlength=CURVE_POINTS + 2)
    sums = np.bincount(arrive, weights=values, minlength=CURVE_POINTS + 2)
    out = []
    for k in range(CURVE_POINTS):
        if counts[k]:
            out.append(round(float(sums[k] / counts[k]), 2))
        else:
            lo, hi = max(k - 1, 0), k + 2
            c = counts[lo:hi].sum()
            out.append(round(float(sums[lo:hi].sum() / c), 2) if c else float("nan"))
    return tuple(out)


def replay_inputs(state: GpuCluster, trace: Trace, order: np.ndarray, rng: np.random.Generator,
                  ) -> tuple[np.ndarray, TargetShapes, np.ndarray, int]:
    """What both replays give the kernel besides the columns: each node's tie-break
    rank (a seeded permutation over the name order: the simulator's node names carry a
    random prefix and the framework takes the smallest name), the target shapes, and
    each arriving task's shape id with their count (FGD caches scores per shape)."""
    names = np.argsort(np.array(state.names), kind="stable")
    rank = np.empty(len(state), dtype=np.int64)
    rank[names] = rng.permutation(len(state))
    keys = np.stack([trace.cpu, trace.num_gpu.astype(np.int64), trace.gpu_milli.astype(np.int64),
                     trace.gpu_spec.astype(np.int64)], axis=1)[order]
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    shape = np.ascontiguousarray(inverse.reshape(-1), dtype=np.int32)
    return rank, target_shapes(trace), shape, len(uniq)


def simulate(cluster: GpuCluster, trace: Trace, policy: str = "FGD", seed: int = 42,
             inflate: float = 1.3, *, progress: Callable[[int, int], None] | None = None,
             ) -> SimResult:
    """Replay ``trace`` on a copy of ``cluster`` under ``policy`` (see the module's
    docstring); ``seed`` drives the shuffle, the tuning, the tie-break order of the
    nodes and the Random policy. ``progress(done, total)`` is called as tasks are
    placed."""
    started = time.perf_counter()
    policy = _policy(policy)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValidationError(f"must be a non-negative integer, got {seed!r}", "seed")
    if isinstance(inflate, bool) or not isinstance(inflate, (int, float)) or not (
            0 <= inflate <= 100):
        raise ValidationError(f"must be a number in [0, 100], got {inflate!r}", "inflate")
    if len(cluster.models) > 64 or tuple(trace.models[: len(cluster.models)]) != cluster.models:
        raise ValidationError("the trace's GPU models must start with the cluster's "
                              "(load both with load_openb)", "trace")
    if cluster.total_gpus == 0:
        raise ValidationError("the cluster has no GPUs: GPU allocation is undefined", "cluster")
    if inflate > 0 and trace.gpu_total_milli() == 0:
        raise ValidationError(f"{trace.source}: no task asks for a GPU, so the workload cannot "
                              "be tuned to a GPU demand (use inflate 0)", "trace")
    state = cluster.copy()
    total_gpus = state.total_gpus
    rng = np.random.default_rng(seed)
    order = tune(trace, arrival_order(trace, rng), total_gpus * MILLI, float(inflate), rng)
    rank, shapes, shape, nshapes = replay_inputs(state, trace, order, rng)
    cpu = np.ascontiguousarray(trace.cpu[order])
    mem = np.ascontiguousarray(trace.memory[order])
    num = np.ascontiguousarray(trace.num_gpu[order])
    milli = np.ascontiguousarray(trace.gpu_milli[order])
    spec = np.ascontiguousarray(trace.gpu_spec[order])
    cpu_left = np.ascontiguousarray(state.cpu - state.cpu_used)
    mem_left = np.ascontiguousarray(state.memory - state.memory_used)
    tags = np.zeros((len(state), MAX_GPUS + 1), dtype=np.int32)
    m = len(order)
    nodes = np.empty(m, dtype=np.int32)
    devices = np.empty(m, dtype=np.uint64)
    used = np.empty(m, dtype=np.int64)
    frag = np.empty(m, dtype=np.float64)
    done, allocated, rng_state = 0, state.gpu_allocated_milli(), int(rng.integers(1 << 63))
    step = max(1, -(-m // _CHUNKS)) if progress is not None else max(m, 1)
    code = gpusim.POLICIES[policy]
    while done < m:
        stop = min(m, done + step)
        allocated, rng_state = gpusim.replay(
            code, rng_state, state.cpu, state.gpus, state.model, rank, cpu_left, mem_left,
            state.gpu_free, tags, cpu, mem, num, milli, spec, shape, nshapes,
            shapes.cpu, shapes.num_gpu, shapes.gpu_milli, shapes.gpu_spec, shapes.p,
            nodes, devices, used, frag, done, stop, allocated, rng_state)
        done = stop
        if progress is not None:
            progress(done, m)
    state.cpu_used[:] = state.cpu - cpu_left
    state.memory_used[:] = state.memory - mem_left
    demand = num.astype(np.int64) * milli
    # one logged state before the first task and one after each (failed ones too)
    arrived = np.concatenate(([0], np.cumsum(demand)))
    curve = allocation_curve(arrived, np.concatenate(([0], used)), total_gpus)
    _, frag_ratio = cluster_fragmentation(state, shapes)
    idle = total_gpus * MILLI - np.concatenate(([0], used))
    frags = np.concatenate(([cluster_fragmentation(cluster, shapes)[0]], frag))
    frag_curve = bucket_curve(arrived, np.round(100.0 * frags / np.maximum(idle, 1), 2),
                              total_gpus)
    placed = int(np.count_nonzero(nodes >= 0))
    total_cpu = int(state.cpu.sum())
    return SimResult(policy, int(seed), float(inflate), total_gpus, curve,
                     next((v for v in reversed(curve) if v == v), 0.0), round(frag_ratio, 2),
                     round(100.0 * int(state.cpu_used.sum()) / total_cpu, 2) if total_cpu else 0.0,
                     placed, m - placed, round(time.perf_counter() - started, 4),
                     frag_curve, order, nodes, devices)
