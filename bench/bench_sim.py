"""How long one openb experiment takes, end to end, and against plain Python.

1. Per policy: ``load_openb`` of the two CSVs and ``simulate(..., inflate=1.3)``,
   call after call (median of ``--repeat`` runs, results read).
2. A 60-experiment grid (default trace x 6 policies x seeds 42-51) through ``sweep``
   on the embedded Dask cluster, beside the same grid run one after another in this
   process (the ratio is what Dask costs, or gains, on this machine).
3. The same replay written plainly (``tests/_gpu_reference.py``, the reference the
   kernel is tested equal to) on the first ``--tasks`` arrivals of seed 42, beside the
   kernel on exactly those arrivals (placements checked equal).

    python bench/bench_sim.py [--repeat 5] [--tasks 300] [--skip-grid]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import _gpu_reference as ref  # noqa: E402

from fastsched._kernels import gpusim  # noqa: E402
from fastsched.sim import POLICIES, load_openb, simulate  # noqa: E402
from fastsched.sim.workload import arrival_order, target_shapes, tune  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "openb"


def end_to_end(repeat: int) -> None:
    for policy in POLICIES:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            cluster, trace = load_openb(DATA / "openb_node_list_gpu_node.csv",
                                        DATA / "openb_pod_list_default.csv")
            result = simulate(cluster, trace, policy, 42, 1.3)
            assert result.placed > 0 and len(result.gpu_alloc_curve) == 131
            times.append(time.perf_counter() - t0)
        print(f"{policy:14s} load + simulate: median {statistics.median(times):.3f} s "
              f"(min {min(times):.3f}, max {max(times):.3f}); "
              f"final {result.gpu_alloc_ratio:.2f}%")


def grid_vs_sequential() -> None:
    from fastsched.sim.sweep import Grid, Workload, sweep
    cluster, trace = load_openb(DATA / "openb_node_list_gpu_node.csv",
                                DATA / "openb_pod_list_default.csv")
    grid = Grid((Workload("default", cluster, trace),))
    t0 = time.perf_counter()
    seq = {(e.policy, e.seed): simulate(cluster, trace, e.policy, e.seed, e.inflate)
           for e in grid.experiments()}
    sequential = time.perf_counter() - t0
    t0 = time.perf_counter()
    pairs = sweep(grid)
    on_dask = time.perf_counter() - t0
    assert all(seq[(e.policy, e.seed)].gpu_alloc_ratio == r.gpu_alloc_ratio for e, r in pairs)
    print(f"60-experiment grid: sequential {sequential:.1f} s, embedded Dask {on_dask:.1f} s "
          f"(cluster start included; {sequential / on_dask:.2f}x), same results")


def against_python(tasks: int) -> None:
    cluster, trace = load_openb(DATA / "openb_node_list_gpu_node.csv",
                                DATA / "openb_pod_list_default.csv")
    rng = np.random.default_rng(42)
    order = tune(trace, arrival_order(trace, rng), cluster.total_gpus * 1000, 1.3, rng)[:tasks]
    shapes = target_shapes(trace)
    rows = list(zip(shapes.cpu.tolist(), shapes.num_gpu.tolist(), shapes.gpu_milli.tolist(),
                    shapes.gpu_spec.tolist(), shapes.p.tolist()))
    todo = [(int(trace.cpu[i]), int(trace.memory[i]), int(trace.num_gpu[i]),
             int(trace.gpu_milli[i]), int(trace.gpu_spec[i])) for i in order]
    rank = list(range(len(cluster)))
    for policy in ("BestFit", "FGD"):
        nodes = [dict(cpu=int(cluster.cpu[i]), mem=int(cluster.memory[i]),
                      model=int(cluster.model[i]),
                      free=cluster.gpu_free[i, : cluster.gpus[i]].tolist())
                 for i in range(len(cluster))]
        t0 = time.perf_counter()
        want, _ = ref.replay(policy, nodes, todo, rows, rank)
        python_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        got = _kernel(policy, cluster, todo, shapes)
        kernel_s = time.perf_counter() - t0
        assert got == [w[0] for w in want]
        print(f"{policy:14s} {tasks} arrivals: plain Python {python_s:.2f} s, kernel "
              f"{kernel_s * 1000:.1f} ms ({python_s / kernel_s:,.0f}x), same placements")


def _kernel(policy, cluster, todo, shapes):
    t = np.array(todo, dtype=np.int64)
    uniq, inv = np.unique(t[:, [0, 2, 3, 4]], axis=0, return_inverse=True)
    m, n = len(t), len(cluster)
    nodes = np.empty(m, dtype=np.int32)
    gpusim.replay(gpusim.POLICIES[policy], 0, cluster.cpu, cluster.gpus, cluster.model,
                  np.arange(n, dtype=np.int64), cluster.cpu.copy(), cluster.memory.copy(),
                  cluster.gpu_free.copy(), np.zeros((n, 9), dtype=np.int32),
                  np.ascontiguousarray(t[:, 0]), np.ascontiguousarray(t[:, 1]),
                  t[:, 2].astype(np.int32), t[:, 3].astype(np.int32), t[:, 4].astype(np.uint64),
                  np.ascontiguousarray(inv.reshape(-1), dtype=np.int32), len(uniq),
                  shapes.cpu, shapes.num_gpu, shapes.gpu_milli, shapes.gpu_spec, shapes.p,
                  nodes, np.empty(m, dtype=np.uint64), np.empty(m, dtype=np.int64), np.empty(m),
                  0, m, 0, 1)
    return nodes.tolist()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--skip-grid", action="store_true")
    args = parser.parse_args()
    if not (DATA / "openb_pod_list_default.csv").exists():
        print(f"no openb trace in {DATA}", file=sys.stderr)
        return 2
    end_to_end(args.repeat)
    if not args.skip_grid:
        grid_vs_sequential()
    against_python(args.tasks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
