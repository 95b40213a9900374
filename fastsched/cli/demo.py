"""``fastsched demo``: a synthetic cluster, a mixed workload, and what happened.

::

    fastsched demo [--nodes 5000] [--pods 10000] [--running 1000] [--seed 0] [--plot FILE.png]

Builds the cluster and the workload in memory (``demo_workload``), schedules
the pods in a few calls sized so that the progress bar on stderr moves about
ten times a second, then reports throughput, utilization, the most common
unschedulable reasons and the placements by zone. ``add_demo_parser(commands)``
declares the command and sets ``run=cmd_demo``.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO, cast

import numpy as np

from ..cluster.cluster import Cluster
from ..datasets.synthetic import mixed_cluster, mixed_shapes
from ..errors import FastschedError
from ..model.pod import Pod
from ..model.quantity import format_quantity
from ..plot import (
    INSTALL_HINT,
    INSTANCE_TYPE_LABELS,
    ZONE_LABELS,
    label_column,
    natural_key,
    plot_cluster,
)
from ..scheduler.scheduler import Scheduler, Unschedulable
from ._common import integer_arg
from ._progress import count_progress
from ._text import cluster_total, column_share, duration, percent, plural, pod_rate, table_lines

__all__ = ["DEMO_WORKLOAD", "DEMO_RESOURCES", "demo_workload", "add_demo_parser", "cmd_demo",
           "MAX_NODES", "MAX_PODS"]

TOP_REASONS = 5
# The demo builds everything in memory: about 0.5 KB per node and 0.4 KB per pod
# (measured at 100,000 nodes and 200,000 pods), so a million of each stays near 1 GB;
# an unbounded --nodes only ran out of memory.
MAX_NODES = 1_000_000
MAX_PODS = 1_000_000
PROGRESS_CHUNKS = 20              # the demo schedules in at most this many calls...
PROGRESS_SECONDS = 0.1            # ...each sized to take about this long

# The demo's pending pods: (kind, shape of synthetic.mixed_shapes(), share of the pods).
DEMO_WORKLOAD = (
    ("Deployment", "web", 0.40),          # plain 100m / 500Mi replicas
    ("Deployment", "api", 0.10),
    ("Deployment", "worker", 0.08),
    ("Deployment", "cache", 0.05),        # ssd nodes only
    ("Deployment", "frontend-a", 0.08),   # zone affinity: zone-a or zone-b
    ("Deployment", "frontend-c", 0.06),   # zone affinity: zone-c
    ("Deployment", "db", 0.02),           # ssd nodes in zone-a
    ("Deployment", "batch", 0.08),        # tolerates the spot taint
    ("Deployment", "batch-spot", 0.04),   # tolerates and prefers spot nodes
    ("Deployment", "analytics", 0.02),    # prefers highmem nodes
    ("Deployment", "search", 0.02),       # standard-16 nodes only
    ("Job", "ml-train", 0.05),            # one GPU each, tolerates the GPU taint
)
DEMO_RESOURCES = ("cpu", "memory", "pods", "nvidia.com/gpu")


def demo_workload(count: int, seed: int = 0) -> tuple[list[tuple[str, str, Pod, int]],
                                                      list[Pod]]:
    """The demo's ``count`` pending pods and the groups they come from.

    Groups are ``(kind, name, template, pods)`` after ``DEMO_WORKLOAD``: Deployments
    (a large share of plain 100m / 500Mi replicas, others with zone affinity, node
    selectors or spot tolerations) and a GPU Job. Each pod is its own object named
    ``<group>-<i>``, as a controller would create it; the arrival order is shuffled
    with ``seed``, as when the controllers scale up together.
    """
    shapes = {pod.name: pod for pod in mixed_shapes()}
    sizes = [int(share * count) for *_, share in DEMO_WORKLOAD]
    sizes[0] += count - sum(sizes)       # rounding leftovers go to the plain replicas
    groups: list[tuple[str, str, Pod, int]] = []
    pods: list[Pod] = []
    for (kind, name, _), size in zip(DEMO_WORKLOAD, sizes):
        template = shapes[name]
        groups.append((kind, name, template, size))
        pods.extend(template.replica(f"{name}-{i}") for i in range(size))
    random.Random(seed).shuffle(pods)
    return groups, pods


def _group_of(pod: Pod) -> str:
    """The demo group a pod of ``demo_workload`` belongs to (its name without ``-<i>``)."""
    return pod.name.rsplit("-", 1)[0]


def add_demo_parser(commands: Any) -> None:
    """Declare ``fastsched demo`` on a subparsers object."""
    parser = commands.add_parser(
        "demo", help="schedule 10,000 pods on a synthetic 5,000-node cluster",
        description="Build a synthetic cluster in memory (nodes of five shapes in three "
                    "zones, tainted spot and GPU nodes, a few cordoned ones, pods already "
                    "running), schedule a mixed workload (Deployments with zone affinity, "
                    "node selectors and tolerations, and a GPU Job) and report throughput, "
                    "utilization and why the unschedulable pods fit nowhere. The same "
                    "--seed gives the same cluster, workload and placements.")
    parser.add_argument("--nodes", type=integer_arg(1, MAX_NODES), default=5000, metavar="N",
                        help=f"nodes in the cluster, at most {MAX_NODES:,} (default: 5000)")
    parser.add_argument("--pods", type=integer_arg(0, MAX_PODS), default=10000, metavar="N",
                        help=f"pending pods to schedule, at most {MAX_PODS:,} (default: 10000)")
    parser.add_argument("--running", type=integer_arg(0, MAX_PODS), default=1000, metavar="N",
                        help="pods already running before scheduling, at most "
                             f"{MAX_PODS:,} (default: 1000)")
    parser.add_argument("--seed", type=integer_arg(), default=0, metavar="N",
                        help="seed of the cluster and of the workload (default: 0)")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="also draw per-node cpu and memory utilization by zone and "
                             f"node shape (needs matplotlib: {INSTALL_HINT})")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar (there is none when stderr is not a terminal)")
    parser.add_argument("--no-progress", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(run=cmd_demo)


def cmd_demo(args: argparse.Namespace, out: TextIO | None = None,
             err: TextIO | None = None) -> int:
    """``fastsched demo``: a synthetic cluster, a mixed workload, and what happened."""
    out = out or sys.stdout
    err = err or sys.stderr
    if args.plot:    # fail now, not after the work
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise FastschedError(f"--plot needs matplotlib: {INSTALL_HINT}") from None

    # data: the cluster and the workload
    start = time.perf_counter()
    cluster = mixed_cluster(args.nodes, args.running, args.seed)
    groups, pods = demo_workload(args.pods, args.seed)
    built = time.perf_counter() - start
    before = np.array(cluster.requested)
    print("\n".join(_demo_cluster_lines(cluster, args.running) + [""]
                    + _workload_lines(groups, len(pods))), file=out)
    print(f"Cluster and workload built in {duration(built)}", file=out)
    print(file=out)
    out.flush()

    # solve: a few calls, sized for a progress bar that moves about ten times a second
    scheduler = Scheduler(cluster)
    progress = count_progress(err, len(pods), label="Scheduling", unit="pods",
                              quiet=args.no_progress or args.quiet)
    rows = np.full(len(pods), -1, np.int64)
    reasons: Counter[str] = Counter()      # reason -> unschedulable pods it applied to
    ruled_out: Counter[str] = Counter()    # reason -> nodes it ruled out, summed over pods
    examples: dict[str, Unschedulable] = {}
    elapsed, calls, done = 0.0, 0, 0
    step = max(1, math.ceil(len(pods) / PROGRESS_CHUNKS))
    while done < len(pods):
        chunk = pods[done:done + step]
        tick = time.perf_counter()
        result = scheduler.schedule_many(chunk)
        spent = time.perf_counter() - tick
        elapsed, calls = elapsed + spent, calls + 1
        rows[done:done + len(chunk)] = result.rows
        reasons.update(result.reason_counts())
        for t in np.flatnonzero(result.rows < 0).tolist():
            failure = cast(Unschedulable, result[t])     # rows < 0: not placed
            ruled_out.update(failure.reasons)
            examples.setdefault(_group_of(chunk[t]), failure)
        done += len(chunk)
        progress.update(len(chunk))
        # the next call: about PROGRESS_SECONDS at the rate seen so far
        rate = done / elapsed if elapsed > 0 else float("inf")
        step = max(step, int(min(rate * PROGRESS_SECONDS, len(pods))))
    progress.close()

    # report
    placed = int(np.count_nonzero(rows >= 0))
    failed = Counter(_group_of(pods[t]) for t in np.flatnonzero(rows < 0).tolist())
    kinds = {name: kind for kind, name, _, _ in groups}
    sections = [
        _demo_outcome_lines(len(pods), placed, failed, kinds, elapsed, calls),
        _utilization_lines(cluster, before),
        _reason_lines(reasons, ruled_out, examples),
        _zone_lines(cluster, rows),
    ]
    print("\n\n".join("\n".join(lines) for lines in sections if lines), file=out)
    if args.plot:
        tick = time.perf_counter()
        plot_cluster(cluster, args.plot, title=(
            f"fastsched demo: requested / allocatable per node after placing "
            f"{placed:,} of {len(pods):,} pods on {len(cluster):,} nodes (seed {args.seed})"))
        print(f"\nPlot: {args.plot} ({duration(time.perf_counter() - tick)})", file=out)
    return 0


def _taint_counts(cluster: Cluster) -> Counter[str]:
    bits = cluster.taint_bits
    counts: Counter[str] = Counter()
    for t, taint in enumerate(cluster.taints):   # taint t is bit t % 64 of word t // 64
        has = (bits[:, t // 64] >> np.uint64(t % 64)) & np.uint64(1)
        counts[str(taint)] = int(np.count_nonzero(has))
    return counts


def _by_count(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {n:,}" for key, n in sorted(
        counter.items(), key=lambda item: (-item[1], natural_key(item[0]))))


def _demo_cluster_lines(cluster: Cluster, running: int) -> list[str]:
    zones = Counter(z or "(no zone)" for z in label_column(cluster, ZONE_LABELS).tolist())
    shapes = Counter(s or "(none)" for s in label_column(cluster, INSTANCE_TYPE_LABELS).tolist())
    zone_text = ", ".join(f"{z} {zones[z]:,}" for z in sorted(zones, key=natural_key))
    lines = [f"Cluster: {plural(len(cluster), 'node')} in {plural(len(zones), 'zone')} "
             f"({zone_text})",
             f"  shapes     {_by_count(shapes)}"]
    taints = _taint_counts(cluster)
    if taints:
        lines.append(f"  tainted    {_by_count(taints)}")
    lines.append(f"  cordoned   {int(cluster.unschedulable.sum()):,}")
    kept = len(cluster.pods)
    lines.append(f"  running    {plural(kept, 'pod')}" + (
        f" (of {running:,} drawn: the ones that fit their node)" if kept != running else ""))
    return lines


def _constraints(pod: Pod) -> str:
    """Where a pod may go, in a few words: selectors, affinity, tolerations."""
    def short(key: str) -> str:
        return key.rsplit("/", 1)[-1]

    def requirement(req: Any) -> str:
        if req.operator == "In" and len(req.values) == 1:
            return f"{short(req.key)}={req.values[0]}"
        if req.operator in ("In", "NotIn"):
            return f"{short(req.key)} {req.operator.lower()} {','.join(req.values)}"
        return f"{short(req.key)} {req.operator} {','.join(req.values)}".rstrip()

    parts = [f"{short(k)}={v}" for k, v in pod.node_selector.items()]
    affinity = pod.node_affinity
    if affinity is not None and affinity.required is not None:
        parts += [" or ".join(" and ".join(requirement(r) for r in term.match_expressions)
                              or "(fields)" for term in affinity.required)]
    if affinity is not None:
        parts += ["prefers " + " and ".join(map(requirement, p.preference.match_expressions))
                  for p in affinity.preferred]
    parts += [f"tolerates {short(t.key) if t.key else 'every taint'}" for t in pod.tolerations]
    return "; ".join(parts) or "-"


def _workload_lines(groups: Sequence[tuple[str, str, Pod, int]], total: int) -> list[str]:
    rows = [("KIND", "NAME", "PODS", "CPU", "MEMORY", "GPU", "PLACEMENT")]
    for kind, name, template, size in groups:
        if not size:
            continue
        req = template.requests
        assert req is not None      # Pod.__post_init__ sets the effective request
        rows.append((kind, name, f"{size:,}", format_quantity(req.get("cpu", 0), "cpu"),
                     format_quantity(req.get("memory", 0), "memory"),
                     format_quantity(req.get("nvidia.com/gpu", 0), "nvidia.com/gpu")
                     if req.get("nvidia.com/gpu") else "-",
                     _constraints(template)))
    if not total:
        return ["Workload: no pending pods"]
    return ([f"Workload: {plural(total, 'pending pod')}, arriving shuffled (requests per pod)"]
            + table_lines(rows, right=(2, 3, 4, 5)))


def _demo_outcome_lines(total: int, placed: int, failed: Counter[str], kinds: dict[str, str],
                        elapsed: float, calls: int) -> list[str]:
    width = len(f"{total:,}")
    which = ", ".join(f"{kinds[g]} {g} {n:,}" for g, n in failed.most_common())
    return [f"Scheduled {plural(total, 'pod')} in {duration(elapsed)}: "
            f"{pod_rate(total, elapsed)} ({plural(calls, 'scheduler call')})",
            f"  placed         {placed:>{width},}",
            f"  unschedulable  {total - placed:>{width},}" + (f"  ({which})" if which else "")]


def _utilization_lines(cluster: Cluster, before: np.ndarray) -> list[str]:
    """Requested / allocatable per resource, before and after scheduling."""
    after = cluster.requested
    allocatable = cluster.allocatable
    rows = [("RESOURCE", "ALLOCATABLE", "BEFORE", "", "AFTER", "")]
    for resource in DEMO_RESOURCES:
        if resource not in cluster.resources:
            continue
        col = cluster.resources.index(resource)
        alloc = int(allocatable[:, col].sum())
        was = int(before[:, col].sum()) if col < before.shape[1] else 0
        now = int(after[:, col].sum())
        name = "cpu (cores)" if resource == "cpu" else resource
        rows.append((name, cluster_total(alloc, resource), cluster_total(was, resource),
                     percent(was, alloc), cluster_total(now, resource), percent(now, alloc)))
    return ["Utilization: requested / allocatable, every node"] + table_lines(
        rows, right=(1, 2, 3, 4, 5))


def _reason_lines(reasons: Counter[str], ruled_out: Counter[str],
                  examples: dict[str, Unschedulable]) -> list[str]:
    """The most common reasons, with how many nodes each ruled out per pod, and the
    full message of one pod per failing group (the first three groups)."""
    if not reasons:
        return []
    top = sorted(reasons, key=lambda r: (-reasons[r], -ruled_out[r], r))[:TOP_REASONS]
    rows = [("PODS", "NODES/POD", "REASON")]
    rows += [(f"{reasons[r]:,}", f"{ruled_out[r] / reasons[r]:,.0f}", r) for r in top]
    lines = ["Top unschedulable reasons (NODES/POD: nodes each reason ruled out, on average):"]
    lines += table_lines(rows, right=(0, 1))
    for failure in list(examples.values())[:3]:
        lines += textwrap.wrap(f"e.g. {failure.pod.key}: {failure.message}", width=88,
                               initial_indent="  ", subsequent_indent="      ")
    return lines


def _zone_lines(cluster: Cluster, rows: np.ndarray) -> list[str]:
    """Where the placed pods went, and how full each zone is now."""
    zones = np.array([z or "(no zone)" for z in label_column(cluster, ZONE_LABELS)],
                     dtype=object)
    placed_rows = rows[rows >= 0]
    table = [("ZONE", "NODES", "PLACED", "CPU", "MEMORY")]
    for zone in sorted(set(zones.tolist()), key=natural_key):
        members = np.flatnonzero(zones == zone)
        placed = int(np.count_nonzero(zones[placed_rows] == zone))
        table.append((zone, f"{len(members):,}", f"{placed:,}",
                      column_share(cluster, "cpu", members),
                      column_share(cluster, "memory", members)))
    return (["Placements by zone (CPU and MEMORY: requested / allocatable now):"]
            + table_lines(table, right=(1, 2, 3, 4)))
