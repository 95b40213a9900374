"""The best GPU allocation any placement could reach: an upper bound no online policy
can beat, at every level of arrived demand.

For the tasks arrived so far, the most GPU milli that any assignment of them to the
cluster could allocate is bounded by a relaxation of the device-aware placement
problem. Nodes with the same (GPU model, GPU count, cpu, memory) form a class of
``n_c`` nodes; tasks with the same shape are counted together. ``x[j, c]``, the
number of tasks of shape ``j`` placed on class ``c`` (only where one node of the
class could host one such task), obeys

- ``Σ_c x[j, c] <= count[j]``;
- per class: cpu, memory and GPU milli summed at most ``n_c`` × a node's;
- per class: tasks needing a device of their own (whole GPUs, and shares above 500
  milli, two of which never fit one device) at most ``n_c`` × its GPUs, counting a
  k-GPU task k times;

and the bound is the largest ``Σ gpu[j] x[j, c]``. Every real placement satisfies
these constraints, so the optimum of the relaxation, or any upper bound on it, is a
bound on every policy. The linear relaxation is solved exactly (HiGHS); where
``exact=True`` the integer model is solved too, and its proven dual bound is used
(``status`` says which: ``"milp-optimal"``, ``"milp-bound"`` or ``"lp"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix

from ..errors import ValidationError
from .gpucluster import MILLI, GpuCluster
from .simulate import CURVE_POINTS
from .trace import Trace
from .workload import arrival_order, tune

__all__ = ["AllocationBound", "allocation_bound", "bound_of"]


@dataclass(frozen=True, repr=False, eq=False)
class AllocationBound:
    """``curve[k]``: the bound on allocated GPU (% of the cluster's) when k% of its
    GPUs have arrived (NaN past what arrives); ``final``: at the end;
    ``status``: how the final bound was proven."""

    seed: int
    inflate: float
    curve: tuple[float, ...]
    final: float
    status: str

    def __repr__(self) -> str:
        return f"AllocationBound(seed {self.seed}: <= {self.final:.2f}% at the end, {self.status})"


def _classes(cluster: GpuCluster) -> tuple[np.ndarray, np.ndarray]:
    keys = np.stack([cluster.model.astype(np.int64), cluster.gpus.astype(np.int64), cluster.cpu,
                     cluster.memory], axis=1)
    classes, counts = np.unique(keys, axis=0, return_counts=True)
    return classes, counts


def bound_of(cluster: GpuCluster, cpu: np.ndarray, memory: np.ndarray, num_gpu: np.ndarray,
             gpu_milli: np.ndarray, gpu_spec: np.ndarray, *, exact: bool = False,
             time_limit: float = 10.0) -> tuple[int, str]:
    """(bound in milli-GPU, status) for the tasks given as columns (see the module's
    docstring)."""
    demand = num_gpu.astype(np.int64) * gpu_milli
    capacity = cluster.total_gpus * MILLI
    if not len(cpu) or not demand.any():
        return 0, "trivial"
    keys = np.stack([cpu, memory, num_gpu.astype(np.int64), gpu_milli.astype(np.int64),
                     gpu_spec.astype(np.int64)], axis=1)
    shapes, count = np.unique(keys[demand > 0], axis=0, return_counts=True)
    classes, n_c = _classes(cluster)
    # which (shape, class) pairs one node can host
    model, gpus, ccpu, cmem = (classes[:, i] for i in range(4))
    s_cpu, s_mem, s_num, s_milli, s_spec = (shapes[:, i][:, None] for i in range(5))
    allowed = (s_spec == 0) | ((model[None, :] >= 0) & (
        (s_spec.astype(np.uint64) >> np.maximum(model, 0)[None, :].astype(np.uint64)) & 1).astype(bool))
    ok = (s_cpu <= ccpu) & (s_mem <= cmem) & (s_num <= gpus) & (gpus > 0) & allowed
    js, cs = np.nonzero(ok)
    if not len(js):
        return 0, "trivial"
    v = len(js)
    gain = (shapes[js, 2] * shapes[js, 3]).astype(np.float64)
    own = np.where(shapes[js, 3] > MILLI // 2, shapes[js, 2], 0).astype(np.float64)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    upper: list[float] = []

    def add(row_of: np.ndarray, coef: np.ndarray, cap: np.ndarray) -> None:
        base = len(upper)
        rows.append(base + row_of)
        cols.append(np.arange(v))
        vals.append(coef)
        upper.extend(cap.tolist())

    add(js, np.ones(v), count.astype(np.float64))                              # tasks of a shape
    add(cs, shapes[js, 0].astype(np.float64), (n_c * ccpu).astype(np.float64))  # cpu per class
    add(cs, shapes[js, 1].astype(np.float64), (n_c * cmem).astype(np.float64))  # memory
    add(cs, gain, (n_c * gpus * MILLI).astype(np.float64))                      # GPU milli
    add(cs, own, (n_c * gpus).astype(np.float64))                               # own devices
    a = csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(len(upper), v))
    ub = np.array(upper)
    lp = linprog(-gain, A_ub=a, b_ub=ub, bounds=(0, None), method="highs")
    best = -lp.fun if lp.status == 0 else float(capacity)
    status = "lp"
    if exact:
        res = milp(-gain, constraints=LinearConstraint(a, -np.inf, ub), integrality=np.ones(v),
                   bounds=Bounds(0, np.inf), options={"time_limit": time_limit})
        dual = getattr(res, "mip_dual_bound", None)
        if res.status == 0:
            best, status = -res.fun, "milp-optimal"
        elif dual is not None and np.isfinite(dual):
            best, status = min(best, -dual), "milp-bound"
    bound = int(np.floor(min(best, capacity, float(demand.sum())) + 1e-6))
    return bound, status


def allocation_bound(cluster: GpuCluster, trace: Trace, seed: int = 42, inflate: float = 1.3,
                     *, exact: bool = True, time_limit: float = 10.0) -> AllocationBound:
    """The bound at every per cent of arrived GPU for the arrivals that
    :func:`~fastsched.sim.simulate` replays with the same ``seed`` and ``inflate``
    (the order does not depend on the policy). Level k is the linear bound over the
    tasks arrived by k + 1.5% (so that it covers every state the curve averages
    there); the final one is over all arrivals, the integer model's when
    ``exact``."""
    if cluster.total_gpus == 0:
        raise ValidationError("the cluster has no GPUs: GPU allocation is undefined", "cluster")
    rng = np.random.default_rng(seed)
    order = tune(trace, arrival_order(trace, rng), cluster.total_gpus * MILLI, inflate, rng)
    cols = [np.ascontiguousarray(c[order]) for c in
            (trace.cpu, trace.memory, trace.num_gpu, trace.gpu_milli, trace.gpu_spec)]
    demand = cols[2].astype(np.int64) * cols[3]
    arrived = np.cumsum(demand)
    total = cluster.total_gpus * MILLI
    curve = []
    # level k bounds every logged state the policy's curve averages at k: those whose
    # arrived share rounds to k, or to k +- 1 where k's bucket is empty
    for k in range(CURVE_POINTS):
        upto = int(np.searchsorted(arrived, (k + 1.5) * total / 100.0, side="right"))
        if k and arrived[-1] < (k - 1.5) * total / 100.0:
            curve.append(float("nan"))
            continue
        b, _ = bound_of(cluster, *(c[:upto] for c in cols))
        curve.append(round(100.0 * b / total, 2))
    final, status = bound_of(cluster, *cols, exact=exact, time_limit=time_limit)
    final_pct = round(100.0 * final / total, 2)
    return AllocationBound(int(seed), float(inflate), tuple(curve), final_pct, status)
