"""``fastsched simulate``: replay a GPU trace (openb CSV files) under a policy.

Runs one experiment of Weng et al. (ATC'23) with :func:`fastsched.sim.simulate`
and reports the GPU allocation curve and the final ratios.

Wired in ``fastsched/cli/__init__.py`` with ``add_simulate_parser(subparsers)``;
the parser sets ``run=cmd_simulate``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import REPORT_API, emit, integer_arg, number_arg, print_error
from ._progress import count_progress

__all__ = ["add_simulate_parser", "cmd_simulate"]

_EPILOG = """\
The experiment: tasks arrive in a seeded random order, the workload is tuned (by
copying random tasks) to INFLATE x the cluster's GPUs, each task is scheduled once as
it arrives, and the share of GPU allocated is recorded at every 1% of GPU demand
arrived (0 ... 130% for --inflate 1.3).

output (-o): table (default) for a person; json and yaml write one object:
apiVersion fastsched.io/v1, kind SimulateReport, version 1, policy, seed, inflate,
total_gpus, gpu_alloc_curve (the allocation ratio in % at 0 ... 130% arrived),
gpu_alloc_ratio (its last value), frag_ratio (% of idle GPU fragmented, final),
cpu_alloc_ratio, placed, failed, wall_s; with --bound also alloc_bound (the most GPU
any placement of the same arrivals could allocate, %), alloc_bound_status (lp,
milp-optimal or milp-bound), headroom (alloc_bound - gpu_alloc_ratio) and
alloc_bound_curve (the bound at 0 ... 130% arrived).

exit status:
  0    the experiment ran (tasks that found no node are counted in 'failed')
  2    usage error, or a CSV file that cannot be read (FILE: row R, column 'C': why)
"""


def add_simulate_parser(commands: Any) -> argparse.ArgumentParser:
    """Declare ``fastsched simulate`` on the subparsers ``commands``."""
    from ..sim import POLICIES
    parser = commands.add_parser(
        "simulate", help="replay a GPU trace (openb CSV) under a placement policy",
        description="Replay the openb GPU trace (or one shaped like it) under one of the "
                    "policies of 'Beware of Fragmentation' (ATC'23).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", required=True, metavar="NODES.csv",
                        help="node list: sn, cpu_milli, memory_mib, gpu, model")
    parser.add_argument("--pods", required=True, metavar="PODS.csv",
                        help="task list: name, cpu_milli, memory_mib, num_gpu, gpu_milli "
                             "[, gpu_spec, qos, pod_phase, creation_time, ...]")
    parser.add_argument("--policy", default="FGD", metavar="NAME",
                        help=f"one of {', '.join(POLICIES)} (default: FGD; any case)")
    parser.add_argument("--seed", type=integer_arg(0, (1 << 63) - 1), default=42, metavar="N",
                        help="seed of the arrival order, the tuning and the ties (default 42)")
    parser.add_argument("--inflate", type=number_arg(0, 100), default=1.3, metavar="RATIO",
                        help="GPU demand to reach, as a multiple of the cluster's GPUs "
                             "(default 1.3; 0 keeps the trace as it is)")
    parser.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table",
                        metavar="FORMAT", help="table (default), json or yaml")
    parser.add_argument("--bound", action="store_true",
                        help="also compute the best allocation any placement of the same "
                             "arrivals could reach (an upper bound, fastsched.sim.bound)")
    parser.add_argument("--timed", action="store_true",
                        help="replay in time instead: tasks arrive at creation_time, run as "
                             "long as in the trace, wait in a queue when nothing fits")
    parser.add_argument("--speedup", type=number_arg(1e-6, 1e9), default=1.0, metavar="X",
                        help="with --timed: arrivals X times as dense (default 1)")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw the allocation curve (with --timed: utilization and queue "
                             "over time) to FILE (the plot extra)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar (there is none when stderr is not a terminal)")
    parser.set_defaults(run=cmd_simulate)
    return parser


def report_document(result: Any) -> dict[str, Any]:
    """The ``-o json|yaml`` document of a :class:`~fastsched.sim.SimResult`."""
    return {"apiVersion": REPORT_API, "kind": "SimulateReport", "version": 1,
            **result.to_dict()}


def _table(result: Any, out: Any) -> None:
    curve = result.gpu_alloc_curve
    marks = ", ".join(f"{k}%: {curve[k]:.2f}" for k in range(0, len(curve), 10)
                      if curve[k] == curve[k])
    print(f"policy:           {result.policy} (seed {result.seed}, inflate {result.inflate:g})",
          file=out)
    print(f"cluster:          {result.total_gpus:,} GPUs", file=out)
    print(f"tasks:            {result.placed:,} placed, {result.failed:,} failed", file=out)
    print(f"GPU allocated:    {result.gpu_alloc_ratio:.2f}% at the end", file=out)
    print(f"fragmentation:    {result.frag_ratio:.2f}% of idle GPU", file=out)
    print(f"cpu allocated:    {result.cpu_alloc_ratio:.2f}%", file=out)
    print(f"time:             {result.wall_s:.2f} s", file=out)
    print(f"allocation curve (GPU allocated % by GPU arrived %): {marks}", file=out)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run ``fastsched simulate``."""
    from ..sim import POLICIES, load_openb, simulate
    if args.policy.lower() not in {p.lower() for p in POLICIES}:
        return print_error(f"--policy: must be one of {', '.join(POLICIES)}, got {args.policy!r}")
    cluster, trace = load_openb(args.nodes, args.pods)
    if args.timed:
        return _timed(args, cluster, trace)
    bar = count_progress(sys.stderr, 1, label="simulating", unit="tasks", quiet=args.quiet)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        result = simulate(cluster, trace, args.policy, args.seed, args.inflate,
                          progress=None if bar.disable else progress)
    finally:
        bar.close()
    if args.plot:
        from ..sim.plots import plot_curve
        plot_curve(result, args.plot)
    document = report_document(result)
    if args.bound:
        from ..sim.bound import allocation_bound
        bound = allocation_bound(cluster, trace, args.seed, args.inflate)
        document.update(alloc_bound=bound.final, alloc_bound_status=bound.status,
                        headroom=round(bound.final - result.gpu_alloc_ratio, 2),
                        alloc_bound_curve=[v if v == v else None for v in bound.curve])
    if args.output == "table":
        _table(result, sys.stdout)
        if args.bound:
            print(f"best possible:    <= {bound.final:.2f}% ({bound.status}); "
                  f"{document['headroom']:.2f} points above this policy", file=sys.stdout)
    else:
        emit(document, args.output, sys.stdout)
    return 0


def _timed(args: argparse.Namespace, cluster: Any, trace: Any) -> int:
    from ..sim.timed import replay_timed
    result = replay_timed(cluster, trace, args.policy, args.seed, args.speedup)
    if args.plot:
        from ..sim.plots import plot_timed
        plot_timed([result], args.plot)
    summary = result.summary()
    if args.output != "table":
        step = max(1, len(result.time) // 1000)
        emit({"apiVersion": REPORT_API, "kind": "TimedReport", "version": 1, **summary,
              "timeline": {"time": result.time[::step].tolist(),
                           "gpu_util": [round(v, 2) for v in result.gpu_util[::step].tolist()],
                           "queue": result.queue[::step].tolist()}},
             args.output, sys.stdout)
        return 0
    w = summary["wait_s"]
    print(f"policy:           {result.policy} (seed {result.seed}, arrivals x{args.speedup:g})")
    print(f"tasks:            {summary['ran']:,} ran, {summary['never_ran']:,} never ran")
    print(f"GPU allocated:    mean {summary['mean_gpu_util']:.2f}% while tasks arrive, "
          f"peak {summary['peak_gpu_util']:.2f}%")
    print(f"queue:            peak {summary['peak_queue']:,} tasks")
    print(f"wait (ran):       p50 {w['p50']:.0f} s, p90 {w['p90']:.0f} s, p99 {w['p99']:.0f} s, "
          f"max {w['max']:.0f} s")
    print(f"time:             {result.wall_s:.2f} s")
    return 0
