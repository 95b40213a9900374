"""``fastsched schedule``: the pending pods of manifests placed one at a time, as
kube-scheduler would, and Bindings written for them.

::

    fastsched schedule FILES... [--profile CONFIG] [-o table|wide|json|yaml|name]
                                [--bindings FILE|-] [--allow-unschedulable]

Pods are taken in the scheduling queue's order (priority, then creation time), each
by the profile of CONFIG its ``schedulerName`` names; pods for other schedulers are
left alone and listed. A pod that fits nowhere may preempt lower-priority pods: the
victims are listed. ``-`` as a file reads stdin; ``-f/--filename`` is accepted as
kubectl users type it. Exit status: 0 when every pod of ours was placed,
``EXIT_UNSCHEDULABLE`` (3) when some remain unschedulable (0 with
``--allow-unschedulable``), 2 on a usage or input error. ``-o json``/``yaml`` write
the report as a ``fastsched.io/v1 ScheduleReport`` (see ``report_document``).
``add_schedule_parser(commands)`` declares the command and sets
``run=cmd_schedule``; errors propagate to ``fastsched.cli.main``.
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
from ..errors import FastschedError, ValidationError
from ..plot import INSTANCE_TYPE_LABELS, ZONE_LABELS
from ..profile.gates import feature_gates, parse_feature_gates
from ..profile.profile import Profile
from ..scheduler.preemption import Preemption
from ..scheduler.queue import QueueResult
from ..scheduler.scheduler import Placement, Scheduler, Unschedulable
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
from ._text import column_share, duration, first_label, plural, pod_rate, table_lines

__all__ = ["add_schedule_parser", "cmd_schedule"]

EXIT_UNSCHEDULABLE = 3            # some pods remain unschedulable (documented in --help)
REPORT_VERSION = 1
TOP_NODES = 10                    # placements table of ``schedule``: the busiest nodes
MAX_UNSCHEDULABLE = 20            # unschedulable pods listed one per line


def add_schedule_parser(commands: Any) -> None:
    """Declare ``fastsched schedule`` on a subparsers object."""
    parser = commands.add_parser(
        "schedule", help="schedule the pending pods of manifests and write Bindings",
        description="Load Kubernetes manifests and schedule their pending pods (Pods "
                    "without spec.nodeName and the pods of Deployments, ReplicaSets, "
                    "StatefulSets and Jobs) as kube-scheduler would: in its queue's order "
                    "(priority, then creationTimestamp), each by the profile its "
                    "schedulerName names, preempting lower-priority pods when a pod fits "
                    "nowhere. Prints how many were placed, the busiest nodes, the evicted "
                    "pods, the pods left to other schedulers and the unschedulable pods "
                    f"with their reasons (the first {MAX_UNSCHEDULABLE}); -o writes the "
                    "new placements as v1 Bindings.",
        epilog=f"Exit status: 0 when every pod was placed; {EXIT_UNSCHEDULABLE} when some "
               "remain unschedulable (0 with --allow-unschedulable); 2 on a usage or "
               "input error. -o json/yaml write a fastsched.io/v1 ScheduleReport "
               f"(version {REPORT_VERSION}): summary, placements, unschedulable, "
               "evictions, notOurs.")
    add_manifest_args(parser)
    parser.add_argument("--profile", metavar="CONFIG",
                        help="a KubeSchedulerConfiguration file "
                             "(kubescheduler.config.k8s.io/v1); default: kube-scheduler's "
                             "default profile")
    parser.add_argument("--scheduler-name", metavar="NAME",
                        help="schedule every pending pod with this profile of CONFIG, "
                             "whatever schedulerName the pod names (a what-if; default: "
                             "each pod by its own schedulerName)")
    parser.add_argument("--feature-gates", metavar="GATES", type=_gates_arg, default={},
                        help="kube-scheduler's feature gates, as it takes them: "
                             "Name=true,Name=false (default: v1.35's defaults, e.g. "
                             "TaintTolerationComparisonOperators=false)")
    parser.add_argument("--no-preemption", dest="preempt", action="store_false",
                        help="never evict pods to make room (default: preempt as "
                             "kube-scheduler's DefaultPreemption does)")
    parser.add_argument("-o", "--output", type=output_arg, default="table",
                        metavar="FORMAT",
                        help="table (default), wide (every placement), json, yaml (the "
                             "ScheduleReport) or name (pod/NAMESPACE/NAME of each pod placed)")
    parser.add_argument("--bindings", metavar="FILE",
                        help="write a v1 Binding for each newly placed pod: a JSON v1 List "
                             "if FILE ends in .json, else multi-document YAML; - for stdout")
    parser.add_argument("--allow-unschedulable", action="store_true",
                        help=f"exit 0 even when pods remain unschedulable (default: "
                             f"{EXIT_UNSCHEDULABLE})")
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
    # data: the profiles first (a bad one fails before the manifests are read)
    profiles = _profiles(args)
    files = manifest_files(args)
    if args.bindings == "-" and args.output != "table":
        raise FastschedError(f"--bindings - and -o {args.output} would both write to stdout")
    manifests = read_manifests(files)
    cluster, pending = manifests.cluster, list(manifests.pending)

    # solve: the queue, one pod at a time, each placement visible to the next pod.
    # Services give PodTopologySpread's default constraints their selectors; the
    # PodDisruptionBudgets steer preemption's choice of victims.
    options = dict(tie_break=args.tie_break, seed=args.seed, services=manifests.services,
                   feature_gates=args.feature_gates, pdbs=manifests.pdbs)
    scheduler = Scheduler.for_profiles(cluster, profiles, **options)
    start = time.perf_counter()
    result = scheduler.schedule_queue(pending, preempt=args.preempt,
                                      any_scheduler=args.scheduler_name is not None)
    elapsed = time.perf_counter() - start
    bound = result.placed
    failures = result.unschedulable

    # bindings before the report: if the file cannot be written, that error is final
    if args.bindings and args.bindings != "-":
        write_bindings(args.bindings, result.bindings())

    # report
    names = [p.name for p in profiles]
    if args.output in ("json", "yaml"):
        emit(report_document(result, names, len(pending), elapsed), args.output, out)
    elif args.output == "name":
        for o in bound:
            print(f"pod/{o.pod.namespace}/{o.pod.name}", file=out)
    elif args.bindings == "-":
        write_bindings("-", result.bindings())      # the Bindings are the output
    elif not pending:
        print("Nothing to schedule: the manifests have no pending pods.", file=out)
    else:
        sections = [_outcome_lines(cluster, names, result, elapsed),
                    _placement_lines(cluster, bound),
                    _all_placements(result) if args.output == "wide" else [],
                    _preempted_lines(result),
                    _not_ours_lines(result, names),
                    _unschedulable_lines(failures)]
        print("\n\n".join("\n".join(lines) for lines in sections if lines), file=out)
    if args.bindings and args.bindings != "-" and args.output in ("table", "wide"):
        print(f"\nBindings: {len(bound)} written to {args.bindings}", file=out)
    if failures and not args.allow_unschedulable:
        return EXIT_UNSCHEDULABLE
    return 0


def report_document(result: QueueResult, profiles: list[str], pending: int,
                    elapsed: float) -> dict[str, Any]:
    """The ``-o json|yaml`` report: ``apiVersion``/``kind``/``version``, a summary,
    then one entry per pod (placements with node, score, profile and the pods they
    evicted; unschedulable pods with kube-scheduler's message and reason counts;
    evictions; pods for other schedulers). Stable: fields are only ever added, and
    ``version`` changes if one ever changes meaning."""
    placements, unschedulable = [], []
    for o, profile in zip(result, result.profile_of):
        if isinstance(o, Unschedulable):
            unschedulable.append({"pod": o.pod.key, "profile": profile, "message": o.message,
                                  "reasons": dict(o.reasons)})
            continue
        entry: dict[str, Any] = {"pod": o.pod.key, "node": o.node, "profile": profile,
                                 "score": getattr(o, "score", None)}
        if isinstance(o, Preemption):
            entry["preempted"] = [v.key for v in o.victims]
        placements.append(entry)
    return {
        "apiVersion": REPORT_API, "kind": "ScheduleReport", "version": REPORT_VERSION,
        "profiles": profiles, "seconds": round(elapsed, 6),
        "summary": {"pending": pending, "placed": len(placements),
                    "unschedulable": len(unschedulable), "evicted": len(result.preempted),
                    "notOurs": len(result.not_ours)},
        "placements": placements, "unschedulable": unschedulable,
        "evictions": [{"pod": v.key, "node": node} for v, node in result.preempted],
        "notOurs": [{"pod": p.key, "schedulerName": p.scheduler_name} for p in result.not_ours],
    }


def _all_placements(result: QueueResult) -> list[str]:
    """-o wide: every placement, in queue order."""
    rows = [("POD", "NODE", "SCORE", "PROFILE")]
    rows += [(o.pod.key, o.node, str(getattr(o, "score", "-")) if isinstance(o, Placement)
              else "preempted", p) for o, p in zip(result, result.profile_of)
             if not isinstance(o, Unschedulable)]
    if len(rows) == 1:
        return []
    return ["Every placement, in queue order:"] + table_lines(rows, right=(2,))


def _gates_arg(text: str) -> dict[str, bool]:
    try:
        gates = parse_feature_gates(text)
        feature_gates(gates)                # unknown names are refused here
    except ValidationError as err:
        raise argparse.ArgumentTypeError(err.message) from None
    return gates


def _profiles(args: argparse.Namespace) -> list[Profile]:
    """The profiles of --profile (only --scheduler-name's, if given), with --percentage
    applied."""
    if args.profile is None:
        if args.scheduler_name is not None:
            raise FastschedError("--scheduler-name needs --profile CONFIG")
        profiles = [Profile.default()]
    else:
        path = Path(args.profile)
        if not path.is_file():
            raise FastschedError(f"{path}: no such configuration file")
        try:
            if args.scheduler_name is not None:
                profiles = [Profile.from_config(path, profile=args.scheduler_name)]
            else:
                profiles = list(Profile.all_from_config(path).values())
        except FastschedError as err:
            raise FastschedError(f"{path}: {err}") from None
    if args.percentage is not None:
        profiles = [replace(p, percentage_of_nodes_to_score=args.percentage) for p in profiles]
    return profiles


def _outcome_lines(cluster: Cluster, names: list[str], result: QueueResult,
                   elapsed: float) -> list[str]:
    ours = len(result)
    rows = [("placed", len(result.placed)), ("unschedulable", len(result.unschedulable))]
    preemptions = sum(isinstance(o, Preemption) for o in result)
    if preemptions:
        rows.append(("by preemption", preemptions))
    if result.not_ours:
        rows.append(("not ours", len(result.not_ours)))
    width = max(len(f"{v:,}") for _, v in rows)
    which = "profile" if len(names) == 1 else "profiles"
    return [f"Scheduled {plural(ours, 'pending pod')} onto "
            f"{plural(len(cluster), 'node')} with {which} "
            f"{', '.join(names)} in {duration(elapsed)} ({pod_rate(ours, elapsed)})"] + \
        [f"  {label:<15}{value:>{width},}" for label, value in rows]


def _preempted_lines(result: QueueResult) -> list[str]:
    """The pods evicted to make room, by the pod they made room for."""
    shown = [o for o in result if isinstance(o, Preemption)]
    if not shown:
        return []
    lines = [f"Preempted: {plural(len(result.preempted), 'pod')} evicted for "
             f"{plural(len(shown), 'pod')}"]
    for o in shown[:MAX_UNSCHEDULABLE]:
        victims = ", ".join(f"{v.key} (priority {v.priority})" for v in o.victims)
        lines.append(f"  {o.pod.key} (priority {o.pod.priority}) on {o.node}: {victims}")
    if len(shown) > MAX_UNSCHEDULABLE:
        lines.append(f"  ... and {len(shown) - MAX_UNSCHEDULABLE:,} more")
    return lines


def _not_ours_lines(result: QueueResult, names: list[str]) -> list[str]:
    if not result.not_ours:
        return []
    lines = [f"Not ours: {plural(len(result.not_ours), 'pod')} for other schedulers (the "
             f"profiles here: {', '.join(names)}); left pending"]
    lines += [f"  {p.key}: schedulerName {p.scheduler_name}"
              for p in result.not_ours[:MAX_UNSCHEDULABLE]]
    if len(result.not_ours) > MAX_UNSCHEDULABLE:
        lines.append(f"  ... and {len(result.not_ours) - MAX_UNSCHEDULABLE:,} more")
    return lines


def _placement_lines(cluster: Cluster, placements: Sequence[Placement | Preemption]) -> list[str]:
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

