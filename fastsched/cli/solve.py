"""``fastsched solve``: batch placement of the pending pods of manifests with CP-SAT.

::

    fastsched solve FILES... [--objective min_nodes] [--time-limit 10]
                             [-o table|json|yaml|name] [--bindings FILE|-]

While the solver runs, a live line on stderr (a terminal only; not with
``--quiet``) shows the elapsed time against the limit, the incumbent, the bound and
the gap, redrawn at least once a second; then a summary goes to stdout: pods placed,
nodes in use before and after, the objective with its bound and gap. ``-o json|yaml``
write a ``fastsched.io/v1 SolveReport``; ``--bindings`` writes the new placements as
v1 Bindings. ``-`` reads stdin. Exit status 0 when every pod was placed, 3 when some
stay unplaced or no plan was found in time (0 with ``--allow-unschedulable``), 2 on
a usage or input error.

Wiring (in ``fastsched/cli/__init__.py``): ``add_solve_parser(commands)`` in
``build_parser``; it sets ``run=cmd_solve``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any, TextIO

import numpy as np

from ..errors import FastschedError
from ._common import (
    REPORT_API,
    add_manifest_args,
    emit,
    integer_arg,
    manifest_files,
    output_arg,
    read_manifests,
    write_bindings,
)
from ._progress import SearchProgress

__all__ = ["add_solve_parser", "cmd_solve"]

UNPLACED_SHOWN = 5      # pod names listed per reason in the table summary

OBJECTIVE_UNITS = {"max_placed": "weighted pods placed", "min_nodes": "nodes in use",
                   "balance": "permille peak utilization"}


def _seconds_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def add_solve_parser(commands: Any) -> argparse.ArgumentParser:
    """Declare ``fastsched solve`` on the subparsers ``commands``."""
    from ..solver.batch import OBJECTIVES
    parser = commands.add_parser(
        "solve", help="place all pending pods of manifests at once, with CP-SAT",
        description="Load Kubernetes manifests and place their pending pods in one batch "
                    "with OR-Tools CP-SAT, respecting every resource and the static "
                    "filters (selectors, node affinity, taints, cordons, host ports). "
                    "Objectives: max_placed (the most pods, weighted by priority), "
                    "min_nodes (every pod if possible, then the fewest nodes in use) and "
                    "balance (every pod if possible, then the lowest peak utilization). "
                    "Shows the incumbent, bound and gap while solving (on a terminal), "
                    "then a summary; -o writes the new placements as v1 Bindings.",
        epilog="Exit status: 0 when every pod was placed; 3 when some stay unplaced or no "
               "plan was found in time (0 with --allow-unschedulable); 2 on a usage or "
               "input error. -o json/yaml write a fastsched.io/v1 SolveReport (version 1).")
    add_manifest_args(parser)
    parser.add_argument("--objective", choices=OBJECTIVES, default="min_nodes",
                        help="what to optimize (default: min_nodes)")
    parser.add_argument("--time-limit", type=_seconds_arg, default=10.0, metavar="SECONDS",
                        help="wall-clock limit for the whole solve (default: 10)")
    parser.add_argument("--workers", type=integer_arg(1, 256), metavar="N",
                        help="CP-SAT search workers (default: the number of CPUs)")
    parser.add_argument("--seed", type=integer_arg(0, (1 << 31) - 1), default=0, metavar="N",
                        help="CP-SAT random seed (default: 0)")
    parser.add_argument("--no-hint", action="store_true",
                        help="search from scratch instead of from the greedy plan")
    parser.add_argument("-o", "--output", type=output_arg, default="table", metavar="FORMAT",
                        help="table (default; wide is the same), json, yaml (the "
                             "SolveReport) or name (pod/NAMESPACE/NAME of each pod placed)")
    parser.add_argument("--bindings", metavar="FILE",
                        help="write a v1 Binding for each newly placed pod: a JSON v1 List "
                             "if FILE ends in .json, else multi-document YAML; - for stdout")
    parser.add_argument("--allow-unschedulable", action="store_true",
                        help="exit 0 even when pods stay unplaced (default: 3)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no live line")
    parser.set_defaults(run=cmd_solve)
    return parser


def cmd_solve(args: argparse.Namespace, out: TextIO | None = None,
              err: TextIO | None = None) -> int:
    """``fastsched solve``: place the pending pods in one batch, report, write Bindings."""
    try:
        import ortools  # noqa: F401

        from ..solver.batch import solve_batch
    except ImportError as missing:
        raise FastschedError(f"fastsched solve needs OR-Tools: pip install ortools "
                             f"({missing})") from None
    out = out or sys.stdout
    err = err or sys.stderr

    # data
    files = manifest_files(args)
    if args.bindings == "-" and args.output not in ("table", "wide"):
        raise FastschedError(f"--bindings - and -o {args.output} would both write to stdout")
    manifests = read_manifests(files)
    cluster, pending = manifests.cluster, list(manifests.pending)

    # solve, with the live line
    with SearchProgress(err, args.time_limit, quiet=args.quiet) as live:
        result = solve_batch(cluster, pending, objective=args.objective,
                             time_limit=args.time_limit, workers=args.workers,
                             seed=args.seed, hint=None if args.no_hint else "greedy",
                             progress=live)

    # beside it: the online scheduler's answer, and why the unplaced pods fit nowhere
    online = online_answer(cluster, pending)
    why = unplaced_reasons(cluster, result)

    # bindings before the report: if the file cannot be written, that error is final
    if args.bindings and args.bindings != "-":
        write_bindings(args.bindings, result.bindings)

    # report
    if args.output in ("json", "yaml"):
        emit(report_document(result, len(pending), online, why), args.output, out)
    elif args.output == "name":
        for pod, _ in result.bindings:
            print(f"pod/{pod.namespace}/{pod.name}", file=out)
    elif args.bindings == "-":
        write_bindings("-", result.bindings)
    else:
        print("\n".join(_summary(cluster, pending, result, online, why)), file=out)
        if args.bindings:
            print(f"\nBindings: {len(result.bindings):,} written to {args.bindings}",
                  file=out)
    if result.placed < len(pending) and not args.allow_unschedulable:
        return 3
    return 0


def online_answer(cluster: Any, pending: list) -> dict[str, Any]:
    """What kube-scheduler's default profile does with the same pods, one after
    another on a copy of the cluster: pods placed, nodes in use (counted as the
    solver counts them), seconds."""
    from ..scheduler.scheduler import Scheduler
    from ..solver.batch.problem import uncounted_nodes
    copy = cluster.copy()
    tick = time.perf_counter()
    placed = int(np.count_nonzero(Scheduler(copy).schedule_many(pending).rows >= 0))
    seconds = time.perf_counter() - tick
    in_use = (np.asarray(copy.pod_counts) > 0) & ~uncounted_nodes(copy)
    return {"placed": placed, "nodesAfter": int(np.count_nonzero(in_use)),
            "seconds": round(seconds, 6)}


def unplaced_reasons(cluster: Any, result: Any) -> list[tuple[str, str]]:
    """``(pod key, reason)`` for each pod the plan leaves out: kube-scheduler's
    ``0/N nodes are available: …`` on the cluster as the plan leaves it, or, for a
    pod that would still fit alone, that the batch's rules or time left it out."""
    unplaced = list(result.unplaced)
    if not unplaced:
        return []
    from ..scheduler.scheduler import Scheduler, Unschedulable
    after = cluster.copy()
    pairs = result.bindings
    after.bind_many([p for p, _ in pairs], [n for _, n in pairs], force=True)
    tried = Scheduler(after).schedule_many(unplaced)
    out = []
    for t, pod in enumerate(unplaced):
        answer = tried[t]
        if isinstance(answer, Unschedulable):
            out.append((pod.key, answer.message))
        else:
            out.append((pod.key, "fits on a node after the plan alone; left out by the "
                                  "batch's rules (gang, spread, priority) or the time limit"))
    return out


def report_document(result: Any, pending: int, online: dict[str, Any] | None = None,
                    reasons: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The ``-o json|yaml`` report: ``apiVersion``/``kind``/``version``, the status,
    objective, value, bound and gap, counts (nodes in use exclude control-plane and
    cordoned nodes), the placements, the unplaced pods and why (``unplacedReasons``),
    and the online scheduler's answer (``online``). Fields are only ever added;
    ``version`` changes if one changes meaning."""
    return {
        "apiVersion": REPORT_API, "kind": "SolveReport", "version": 1,
        "status": str(result.status.value), "objective": result.objective,
        "objectiveValue": result.objective_value, "bound": result.best_bound,
        "gap": result.gap, "seconds": round(result.wall_time, 6), "workers": result.workers,
        "summary": {"pending": pending, "placed": result.placed,
                    "unplaced": pending - result.placed, "nodesBefore": result.nodes_before,
                    "nodesAfter": result.nodes_after},
        "placements": [{"pod": p.key, "node": n} for p, n in result.bindings],
        "unplaced": [p.key for p in result.unplaced],
        "unplacedReasons": [{"pod": key, "reason": why} for key, why in reasons or ()],
        "online": online,
    }


def _summary(cluster: Any, pending: list, result: Any, online: dict[str, Any],
             reasons: list[tuple[str, str]]) -> list[str]:
    if not pending:
        return ["Nothing to solve: the manifests have no pending pods."]
    total = len(pending)
    lines = [f"Solved {total:,} pending pod{'s' if total != 1 else ''} onto "
             f"{len(cluster):,} node{'s' if len(cluster) != 1 else ''} "
             f"(objective {result.objective}) in {result.wall_time:.2f} s: {result.status}"]
    width = len(f"{total:,}")
    lines.append(f"  placed          {result.placed:>{width},} of {total:,}")
    lines.append(f"  unplaced        {total - result.placed:>{width},}")
    lines.append(f"  nodes in use    {result.nodes_before:,} before, {result.nodes_after:,} after "
                 "(control-plane and cordoned nodes not counted)")
    unit = OBJECTIVE_UNITS[result.objective]
    if result.objective_value is None:
        lines.append("  objective       none: no plan "
                     + ("exists" if result.status == "INFEASIBLE" else "was found in time"))
    else:
        bound = "-" if result.best_bound is None else f"{result.best_bound:,}"
        gap = "-" if result.gap is None else f"{result.gap:.2%}"
        lines.append(f"  objective       {result.objective_value:,} {unit} "
                     f"(bound {bound}, gap {gap})")
    if result.objective != "max_placed":
        lines.append(f"  weight placed   {result.placed_weight:,} "
                     f"(bound {result.placed_bound:,})")
    stats = result.stats
    lines.append(f"  model           {stats.get('shapes', 0):,} pod shapes, "
                 f"{stats.get('num_variables', 0):,} variables, {result.workers} workers")
    lines.append(f"  online          kube-scheduler's default profile, pod by pod: "
                 f"{online['placed']:,} placed, {online['nodesAfter']:,} nodes in use "
                 f"({online['seconds']:.3f} s)")
    if reasons:
        lines += ["", "Unplaced pods:"]
        by_reason: dict[str, list[str]] = {}
        for key, why in reasons:            # one pass: pods grouped by their reason
            by_reason.setdefault(why, []).append(key)
        for why, pods in sorted(by_reason.items(), key=lambda item: (-len(item[1]), item[0])):
            count = len(pods)
            shown = ", ".join(pods[:UNPLACED_SHOWN])
            more = f" and {count - UNPLACED_SHOWN:,} more" if count > UNPLACED_SHOWN else ""
            lines.append(f"  {count:,} pod{'s' if count != 1 else ''} ({shown}{more}): {why}")
    return lines
