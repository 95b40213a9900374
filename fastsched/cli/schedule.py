"""``fastsched schedule``: the pending pods of manifests placed one at a time, as
kube-scheduler would, and Bindings written for them.

::

    fastsched schedule FILES... [--profile CONFIG] [-o bindings.yaml] [--tie-break random]

Unschedulable pods are an outcome, not an error: they are listed with their
reasons and the status stays 0. ``add_schedule_parser(commands)`` declares the
command and sets ``run=cmd_schedule``; errors propagate to ``fastsched.cli.main``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from ..cluster.cluster import Cluster
from ..errors import FastschedError
from ..plot import INSTANCE_TYPE_LABELS, ZONE_LABELS
from ..profile.profile import Profile
from ..scheduler.scheduler import Placement, Scheduler, Unschedulable
from ._common import integer_arg, read_manifests, write_bindings
from ._text import column_share, duration, first_label, plural, pod_rate, table_lines

__all__ = ["add_schedule_parser", "cmd_schedule"]

TOP_NODES = 10                    # placements table of ``schedule``: the busiest nodes
MAX_UNSCHEDULABLE = 20            # unschedulable pods listed one per line


def add_schedule_parser(commands: Any) -> None:
    """Declare ``fastsched schedule`` on a subparsers object."""
    parser = commands.add_parser(
        "schedule", help="schedule the pending pods of manifests and write Bindings",
        description="Load Kubernetes manifests and schedule their pending pods (Pods "
                    "without spec.nodeName and the pods of Deployments, ReplicaSets, "
                    "StatefulSets and Jobs), in document order, with kube-scheduler's "
                    "filters and scores. Prints how many were placed, the busiest nodes "
                    f"and the unschedulable pods with their reasons (the first "
                    f"{MAX_UNSCHEDULABLE}); -o writes the new placements as v1 Bindings.",
        epilog="Exit status: 0 when the pods were scheduled, also if some of them are "
               "unschedulable (as for kube-scheduler that is an outcome, not an error); "
               "2 on bad input.")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="YAML or JSON manifest files (or directories of them)")
    parser.add_argument("--profile", metavar="CONFIG",
                        help="a KubeSchedulerConfiguration file "
                             "(kubescheduler.config.k8s.io/v1); default: kube-scheduler's "
                             "default profile")
    parser.add_argument("--scheduler-name", metavar="NAME",
                        help="the profile of CONFIG to use, by schedulerName "
                             "(default: the first)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write a v1 Binding for each newly placed pod: a JSON v1 List "
                             "if FILE ends in .json, else multi-document YAML")
    parser.add_argument("--tie-break", choices=("first", "random"), default="first",
                        help="among the best-scoring nodes take the first (reproducible) "
                             "or a random one, as kube-scheduler does (default: first)")
    parser.add_argument("--seed", type=integer_arg(), default=0, metavar="N",
                        help="seed for --tie-break random (default: 0)")
    parser.add_argument("--percentage", type=integer_arg(0, 100), metavar="N",
                        help="percentageOfNodesToScore: stop filtering once this percentage "
                             "of the nodes (at least 100 nodes) is found feasible, 0 for "
                             "kube-scheduler's adaptive rule; overrides CONFIG (default: 100, "
                             "every node)")
    parser.set_defaults(run=cmd_schedule)


def cmd_schedule(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``fastsched schedule``: place the pending pods, report, write Bindings."""
    out = out or sys.stdout
    # data: the profile first (a bad one fails before the manifests are read)
    profile = _profile(args)
    manifests = read_manifests(args.files)
    cluster, pending = manifests.cluster, list(manifests.pending)

    # solve: one call, each placement visible to the next pod
    # Services give PodTopologySpread's default constraints their selectors.
    scheduler = Scheduler(cluster, profile, tie_break=args.tie_break, seed=args.seed,
                          services=manifests.services)
    start = time.perf_counter()
    result = scheduler.schedule_many(pending)
    elapsed = time.perf_counter() - start
    outcomes = list(result)
    placements = [o for o in outcomes if isinstance(o, Placement)]
    failures = [o for o in outcomes if isinstance(o, Unschedulable)]

    # bindings before the report: if the file cannot be written, that error is final
    if args.output:
        write_bindings(args.output, ((p.pod, p.node) for p in placements))

    # report
    if not pending:
        print("Nothing to schedule: the manifests have no pending pods.", file=out)
    else:
        sections = [_outcome_lines(cluster, profile, len(pending), len(placements), elapsed),
                    _placement_lines(cluster, placements),
                    _unschedulable_lines(failures)]
        print("\n\n".join("\n".join(lines) for lines in sections if lines), file=out)
    if args.output:
        print(f"\nBindings: {len(placements)} written to {args.output}", file=out)
    return 0


def _profile(args: argparse.Namespace) -> Profile:
    """The profile of --profile/--scheduler-name, with --percentage applied."""
    if args.profile is None:
        if args.scheduler_name is not None:
            raise FastschedError("--scheduler-name needs --profile CONFIG")
        profile = Profile.default()
    else:
        path = Path(args.profile)
        if not path.is_file():
            raise FastschedError(f"{path}: no such configuration file")
        try:
            profile = Profile.from_config(path, profile=args.scheduler_name)
        except FastschedError as err:
            raise FastschedError(f"{path}: {err}") from None
    if args.percentage is not None:
        profile = replace(profile, percentage_of_nodes_to_score=args.percentage)
    return profile


def _outcome_lines(cluster: Cluster, profile: Profile, pending: int, placed: int,
                   elapsed: float) -> list[str]:
    width = len(f"{pending:,}")
    return [f"Scheduled {plural(pending, 'pending pod')} onto "
            f"{plural(len(cluster), 'node')} with profile "
            f"{profile.name} in {duration(elapsed)} ({pod_rate(pending, elapsed)})",
            f"  placed         {placed:>{width},}",
            f"  unschedulable  {pending - placed:>{width},}"]


def _placement_lines(cluster: Cluster, placements: Sequence[Placement]) -> list[str]:
    """The nodes that received the most pods, with their utilization afterwards."""
    if not placements:
        return []
    per_node = Counter(p.node for p in placements)
    order = {name: row for row, name in enumerate(cluster.node_names)}
    busiest = sorted(per_node, key=lambda name: (-per_node[name], order[name]))
    shown = busiest[:TOP_NODES]
    rows = [("NODE", "ZONE", "TYPE", "PLACED", "CPU", "MEMORY")]
    for name in shown:
        labels = cluster.node_labels(name)
        row = order[name]
        rows.append((name, first_label(labels, ZONE_LABELS) or "-",
                     first_label(labels, INSTANCE_TYPE_LABELS) or "-", f"{per_node[name]:,}",
                     column_share(cluster, "cpu", [row]),
                     column_share(cluster, "memory", [row])))
    which = "" if len(shown) == len(busiest) else f", the {len(shown)} with the most"
    lines = [f"Placements: {plural(len(placements), 'pod')} on "
             f"{plural(len(busiest), 'node')}{which} "
             f"(CPU and MEMORY: requested / allocatable now)"]
    lines += table_lines(rows, right=(3, 4, 5))
    if len(busiest) > len(shown):
        lines.append(f"  ... and {plural(len(busiest) - len(shown), 'more node')}")
    return lines


def _unschedulable_lines(failures: Sequence[Unschedulable]) -> list[str]:
    if not failures:
        return []
    lines = [f"Unschedulable: {plural(len(failures), 'pod')}"]
    lines += [f"  {f.pod.key}: {f.message}" for f in failures[:MAX_UNSCHEDULABLE]]
    if len(failures) > MAX_UNSCHEDULABLE:
        lines.append(f"  ... and {len(failures) - MAX_UNSCHEDULABLE:,} more")
    return lines

