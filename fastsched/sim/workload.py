"""The ATC'23 experiment's workload: shuffled arrivals, tuning to a target GPU
demand, and the target shapes FGD measures fragmentation against.

Each step follows the paper's simulator (hkust-adsl/kubernetes-scheduler-simulator,
``pkg/simulator``), with NumPy's seeded generator where it uses Go's ``math/rand``:

- ``arrival_order``: tasks sorted by name, then shuffled (``SortClusterPods`` with
  ``--shuffle-pod``).
- ``tune``: while the GPU demand is below ``ratio`` × the cluster's GPUs, append a
  copy of a task drawn uniformly from the name-sorted originals, stopping at the
  first draw whose *per-GPU* milli would pass the target (``tuneUpPods`` compares
  ``total + gpu_milli``, not ``num_gpu × gpu_milli``); above the target, remove
  random tasks until it is met (``tuneDownPods``). Copies arrive after the originals.
- ``target_shapes``: the distinct (cpu, gpu milli, GPU count, GPU models) of the
  original tasks by popularity, most frequent first (ties: larger cpu, milli, count,
  models text first, as ``TargetPodList`` sorts), the top ones covering 95% of the
  tasks, their frequencies renormalized to sum to 1 (``GetTypicalPods``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .trace import Trace

__all__ = ["TargetShapes", "arrival_order", "tune", "target_shapes"]

POPULARITY = 95
"""Per cent of tasks the target shapes cover (the simulator's default)."""


@dataclass(frozen=True, repr=False, eq=False)
class TargetShapes:
    """The workload FGD expects: shape ``m`` is a task of ``cpu[m]`` millicores and
    ``num_gpu[m]`` × ``gpu_milli[m]`` GPU on models ``gpu_spec[m]`` (0: any), seen
    with frequency ``p[m]`` (the ``p`` sum to 1)."""

    cpu: np.ndarray
    num_gpu: np.ndarray
    gpu_milli: np.ndarray
    gpu_spec: np.ndarray
    p: np.ndarray

    def __len__(self) -> int:
        return len(self.p)

    def __repr__(self) -> str:
        return f"TargetShapes({len(self)} shapes, top p={float(self.p[0]) if len(self) else 0:.3f})"


def _name_order(trace: Trace) -> np.ndarray:
    return np.argsort(np.array(trace.names), kind="stable")


def arrival_order(trace: Trace, rng: np.random.Generator) -> np.ndarray:
    """Task indices sorted by name, then shuffled by ``rng``."""
    order = _name_order(trace)
    rng.shuffle(order)
    return order


def tune(trace: Trace, order: np.ndarray, capacity_milli: int, ratio: float,
         rng: np.random.Generator) -> np.ndarray:
    """``order`` grown (or cut) until the GPU demand meets ``ratio`` × ``capacity_milli``
    (see the module's docstring); ``ratio <= 0`` leaves it as it is."""
    if ratio <= 0:
        return order
    target = ratio * capacity_milli
    demand = trace.num_gpu.astype(np.int64) * trace.gpu_milli
    total = int(demand[order].sum())
    if total == target:                      # tuneUpPods never runs (simulator.go)
        return order
    if total > target:
        keep = list(order.tolist())
        while total > target and keep:
            total -= int(demand[keep.pop(int(rng.integers(len(keep))))])
        return np.array(keep, dtype=np.int64)
    originals = _name_order(trace)
    milli = trace.gpu_milli
    # draw in blocks: every draw is kept until the first that would pass the target
    extra: list[np.ndarray] = []
    while True:
        draws = originals[rng.integers(len(originals), size=4096)]
        before = total + np.concatenate(([0], np.cumsum(demand[draws])[:-1]))
        over = np.flatnonzero(before + milli[draws] > target)
        if over.size:
            extra.append(draws[: over[0]])
            break
        extra.append(draws)
        total += int(demand[draws].sum())
    return np.concatenate([order, *extra]).astype(np.int64)


def target_shapes(trace: Trace, popularity: int = POPULARITY) -> TargetShapes:
    """The popular task shapes of ``trace`` and their frequencies."""
    keys = list(zip(trace.cpu.tolist(), trace.gpu_milli.tolist(), trace.num_gpu.tolist(),
                    trace.spec_text))
    counts: dict[tuple, int] = {}
    mask: dict[tuple, int] = {}
    for k, spec in zip(keys, trace.gpu_spec.tolist()):
        counts[k] = counts.get(k, 0) + 1
        mask[k] = spec
    ranked = sorted(counts, key=lambda k: (counts[k], k), reverse=True)
    total = len(keys)
    chosen, covered = [], 0
    for k in ranked:
        if covered >= popularity * total / 100.0:
            break
        chosen.append(k)
        covered += counts[k]
    p = np.array([counts[k] for k in chosen], dtype=np.float64) / covered
    return TargetShapes(np.array([k[0] for k in chosen], dtype=np.int64),
                        np.array([k[2] for k in chosen], dtype=np.int32),
                        np.array([k[1] for k in chosen], dtype=np.int32),
                        np.array([mask[k] for k in chosen], dtype=np.uint64), p)

