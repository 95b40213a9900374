"""The ``fastsched`` command.

::

    fastsched --version
    fastsched inspect FILES...      summary of the cluster the manifests describe
    fastsched schedule FILES...     schedule the pending pods of the manifests, write Bindings
    fastsched demo                  schedule 10,000 pods on a synthetic 5,000-node cluster
    fastsched solve FILES...        place all pending pods at once with CP-SAT (batch)
    fastsched route FILES... --service NAME --keys FILE|-   route client keys to endpoints
    fastsched binpack FILE          solve a BPPLIB bin-packing instance (bound, optimality)
    fastsched replica --id N --peers HOST:PORT,... --data DIR   run a Paxos replica

Each subcommand is a pair: ``_add_<name>(commands)`` declares its arguments and
sets ``run=cmd_<name>``; ``cmd_<name>(args) -> int`` does the work and returns
the exit status. Bad input (a manifest that cannot be read, a missing file)
prints ``fastsched: error: <message>`` on stderr and exits with status 2.
Unschedulable pods are not an error: as for kube-scheduler they are an outcome,
reported with their reasons, and ``schedule`` still exits with status 0.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import textwrap
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .. import __version__
from ..cluster.cluster import Cluster
from ..datasets.synthetic import mixed_cluster, mixed_shapes
from ..errors import FastschedError
from ..kube.bindings import dump_bindings, to_bindings
from ..kube.manifests import Manifests, ManifestWarning, load_manifests
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
from ..profile.profile import Profile
from ..scheduler.scheduler import Placement, Scheduler, Unschedulable
from .binpack import add_binpack_parser
from .replica import add_replica_parser
from .route import add_route_parser
from .solve import add_solve_parser

__all__ = ["main", "build_parser", "cmd_inspect", "cmd_schedule", "cmd_demo", "demo_workload"]

_BINARY = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
TOP_NODES = 10                    # placements table of ``schedule``: the busiest nodes
MAX_UNSCHEDULABLE = 20            # unschedulable pods listed one per line
TOP_REASONS = 5
PROGRESS_CHUNKS = 20              # the demo schedules in at most this many calls...
PROGRESS_SECONDS = 0.1            # ...each sized to take about this long


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="fastsched",
        description="A scheduling core with Kubernetes semantics.")
    parser.add_argument("--version", action="version", version=f"fastsched {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_inspect(commands)
    _add_schedule(commands)
    _add_demo(commands)
    add_solve_parser(commands)
    add_route_parser(commands)
    add_binpack_parser(commands)
    add_replica_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error (already printed)
        return done.code if isinstance(done.code, int) else 0
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("fastsched: error: a command is required (see fastsched --help)", file=sys.stderr)
        return 2
    try:
        return args.run(args)
    except BrokenPipeError:  # output piped into a reader that stopped (| head): not an error
        _silence_stdout()
        return 141           # 128 + SIGPIPE, as a shell reports it
    except (FastschedError, OSError) as err:
        print(f"fastsched: error: {_describe(err)}", file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):   # not a real file (e.g. under a test)
        pass


def _describe(err: Exception) -> str:
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.filename}: {err.strerror}"
    return str(err)


def _load(paths: Sequence[str]) -> Manifests:
    """Load manifests, printing skipped documents as warnings on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ManifestWarning)
        manifests = load_manifests(*paths)
    for warning in caught:
        if issubclass(warning.category, ManifestWarning):
            print(f"fastsched: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename,
                                 warning.lineno)
    return manifests


# -- inspect --------------------------------------------------------------------------


def _add_inspect(commands: Any) -> None:
    parser = commands.add_parser(
        "inspect", help="summarize the cluster that manifests describe",
        description="Load Kubernetes manifests (Nodes, Pods, Deployments, ReplicaSets, "
                    "StatefulSets, Jobs, Services) and summarize the cluster: nodes, "
                    "allocatable and requested resources, bound and pending pods, services.")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="YAML or JSON manifest files (or directories of them)")
    parser.add_argument("--nodes", action="store_true", help="also list every node")
    parser.set_defaults(run=cmd_inspect)


def cmd_inspect(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``fastsched inspect``: print a summary of the manifests."""
    out = out or sys.stdout
    manifests = _load(args.files)
    for section in (_nodes_section, _resources_section, _pods_section, _services_section):
        lines = section(manifests, args)
        if lines:
            print("\n".join(lines), file=out)
            print(file=out)
    if manifests.skipped:
        print(f"Skipped: {len(manifests.skipped)} ({', '.join(manifests.skipped)})", file=out)
    return 0


def _label(labels: Any, keys: Sequence[str]) -> str | None:
    return next((labels[k] for k in keys if k in labels), None)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counter.items()))


def _nodes_section(m: Manifests, args: argparse.Namespace) -> list[str]:
    cluster = m.cluster
    nodes = [cluster.node(name) for name in cluster.node_names]
    zones = Counter(_label(n.labels, ZONE_LABELS) or "(no zone)" for n in nodes)
    types = Counter(_label(n.labels, INSTANCE_TYPE_LABELS) for n in nodes)
    types.pop(None, None)
    taints = Counter(str(t) for n in nodes for t in n.taints)
    cordoned = sum(n.unschedulable for n in nodes)
    tainted = sum(bool(n.taints) for n in nodes)
    zone_text = "" if set(zones) <= {"(no zone)"} else \
        f" in {len(zones)} zones ({_counts(zones)})"
    lines = [f"Nodes: {len(nodes)}{zone_text}; {cordoned} unschedulable, {tainted} tainted"]
    if types:
        lines.append(f"  instance types: {_counts(types)}")
    if taints:
        lines.append(f"  taints: {_counts(taints)}")
    if args.nodes and nodes:
        rows = [("NAME", "ZONE", "TYPE", "CPU", "MEMORY", "PODS", "NOTES")]
        for n in nodes:
            notes = ["unschedulable"] if n.unschedulable else []
            notes += [str(t) for t in n.taints]
            rows.append((n.name, _label(n.labels, ZONE_LABELS) or "-",
                         _label(n.labels, INSTANCE_TYPE_LABELS) or "-",
                         _amount(n.allocatable.get("cpu", 0), "cpu"),
                         _amount(n.allocatable.get("memory", 0), "memory"),
                         f"{len(n.pods)}/{n.allocatable.get('pods', 0)}", ", ".join(notes)))
        lines += _table(rows, right=(3, 4, 5))
    return lines


def _resources_section(m: Manifests, args: argparse.Namespace) -> list[str]:
    cluster = m.cluster
    allocatable = cluster.allocatable.sum(axis=0)
    requested = cluster.requested.sum(axis=0)
    pending: Counter[str] = Counter()
    for pod in m.pending:
        pending.update(pod.requests)
    pending["pods"] = len(m.pending)
    rows = [("RESOURCE", "ALLOCATABLE", "REQUESTED", "USED", "PENDING")]
    resources = list(cluster.resources) + [r for r in pending if r not in cluster.resources]
    for col, resource in enumerate(resources):
        alloc = int(allocatable[col]) if col < len(allocatable) else 0
        req = int(requested[col]) if col < len(requested) else 0
        if not (alloc or req or pending[resource]):
            continue
        used = f"{100 * req / alloc:.1f}%" if alloc else "-"
        rows.append((resource, _amount(alloc, resource), _amount(req, resource), used,
                     _amount(pending[resource], resource)))
    if len(rows) == 1:
        return []
    unit = " (cpu in cores)" if any(r[0] == "cpu" for r in rows) else ""
    return [f"Resources{unit}:"] + _table(rows, right=(1, 2, 3, 4))


def _pods_section(m: Manifests, args: argparse.Namespace) -> list[str]:
    bound = m.bound
    lines = [f"Pods: {len(bound)} bound, {len(m.pending)} pending"]
    if bound:
        lines.append(f"  bound by namespace: {_counts(Counter(p.namespace for p in bound))}")
    if m.pending:
        owner = {p.key: f"{w.kind} {w.namespace}/{w.name}" for w in m.workloads for p in w.pods}
        groups = Counter(owner.get(p.key, f"Pod {p.namespace}/{p.name}") for p in m.pending)
        lines.append(f"  pending by workload: {_counts(groups)}")
    return lines


def _services_section(m: Manifests, args: argparse.Namespace) -> list[str]:
    if not m.services:
        return []
    bound, pending = m.bound, m.pending
    rows = [("SERVICE", "TYPE", "PORTS", "SELECTOR", "PODS")]
    for service in m.services:
        selector = ",".join(f"{k}={v}" for k, v in service.selector.items()) or "(none)"
        n_bound = sum(service.matches(p) for p in bound)
        n_pending = sum(service.matches(p) for p in pending)
        rows.append((service.key, service.type,
                     ",".join(str(p) for p in service.ports) or "-", selector,
                     f"{n_bound + n_pending} ({n_bound} bound, {n_pending} pending)"))
    return [f"Services: {len(m.services)}"] + _table(rows)


def _amount(amount: int, resource: str) -> str:
    """An amount for people: cpu in cores, bytes in binary units, counts as they are."""
    if resource == "cpu":
        cores, millis = divmod(abs(amount), 1000)
        text = f"{cores}.{millis:03d}".rstrip("0").rstrip(".")
        return f"-{text}" if amount < 0 else text
    exact = format_quantity(amount, resource)
    binary = resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-")
    return exact if not binary or len(exact) <= 7 else _binary(amount)


def _binary(amount: int) -> str:
    """Bytes in the largest binary unit below 1024 of it, one decimal: ``170.2Ti``."""
    value, unit = float(amount), ""
    for prefix in _BINARY:
        if abs(value) < 1024:
            break
        value, unit = value / 1024, prefix
    return f"{value:.1f}{unit}"


def _table(rows: list[tuple[str, ...]], right: Sequence[int] = ()) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.rjust(w) if i in right else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


# -- shared by schedule and demo ------------------------------------------------------


def _integer(low: int | None = None, high: int | None = None) -> Any:
    """An argparse type: an integer in [low, high]."""
    def integer(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"in [{low}, {high}]" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value
    return integer


def _seconds(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _rate(pods: int, seconds: float) -> str:
    return f"{pods / seconds:,.0f} pods/s" if pods and seconds > 0 else "- pods/s"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _column_share(cluster: Cluster, resource: str, rows: Any = slice(None)) -> str:
    """Requested / allocatable of ``resource`` over ``rows`` of the cluster."""
    if resource not in cluster.resources:
        return "-"
    col = cluster.resources.index(resource)
    return _percent(int(cluster.requested[rows, col].sum()),
                    int(cluster.allocatable[rows, col].sum()))


def _total(amount: int, resource: str) -> str:
    """A cluster-wide amount for people: cores, binary bytes, or a count."""
    if resource == "cpu":
        return f"{amount / 1000:,.1f}"
    binary = resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-")
    return _binary(amount) if binary and abs(amount) >= 1024 else f"{amount:,}"


# -- schedule -------------------------------------------------------------------------


def _add_schedule(commands: Any) -> None:
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
    parser.add_argument("--seed", type=_integer(), default=0, metavar="N",
                        help="seed for --tie-break random (default: 0)")
    parser.add_argument("--percentage", type=_integer(0, 100), metavar="N",
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
    manifests = _load(args.files)
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
        _write_bindings(args.output, placements)

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


def _write_bindings(path: str, placements: Sequence[Placement]) -> None:
    bindings = to_bindings(((p.pod, p.node) for p in placements), new_only=True)
    fmt = "json" if path.lower().endswith(".json") else "yaml"
    Path(path).write_text(dump_bindings(bindings, fmt), encoding="utf-8")


def _outcome_lines(cluster: Cluster, profile: Profile, pending: int, placed: int,
                   elapsed: float) -> list[str]:
    width = len(f"{pending:,}")
    return [f"Scheduled {_plural(pending, 'pending pod')} onto "
            f"{_plural(len(cluster), 'node')} with profile "
            f"{profile.name} in {_seconds(elapsed)} ({_rate(pending, elapsed)})",
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
        rows.append((name, _label(labels, ZONE_LABELS) or "-",
                     _label(labels, INSTANCE_TYPE_LABELS) or "-", f"{per_node[name]:,}",
                     _column_share(cluster, "cpu", [row]),
                     _column_share(cluster, "memory", [row])))
    which = "" if len(shown) == len(busiest) else f", the {len(shown)} with the most"
    lines = [f"Placements: {_plural(len(placements), 'pod')} on "
             f"{_plural(len(busiest), 'node')}{which} "
             f"(CPU and MEMORY: requested / allocatable now)"]
    lines += _table(rows, right=(3, 4, 5))
    if len(busiest) > len(shown):
        lines.append(f"  ... and {_plural(len(busiest) - len(shown), 'more node')}")
    return lines


def _unschedulable_lines(failures: Sequence[Unschedulable]) -> list[str]:
    if not failures:
        return []
    lines = [f"Unschedulable: {_plural(len(failures), 'pod')}"]
    lines += [f"  {f.pod.key}: {f.message}" for f in failures[:MAX_UNSCHEDULABLE]]
    if len(failures) > MAX_UNSCHEDULABLE:
        lines.append(f"  ... and {len(failures) - MAX_UNSCHEDULABLE:,} more")
    return lines


# -- demo -----------------------------------------------------------------------------

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
    groups, pods = [], []
    for (kind, name, _), size in zip(DEMO_WORKLOAD, sizes):
        template = shapes[name]
        groups.append((kind, name, template, size))
        pods.extend(template.replica(f"{name}-{i}") for i in range(size))
    random.Random(seed).shuffle(pods)
    return groups, pods


def _group_of(pod: Pod) -> str:
    """The demo group a pod of ``demo_workload`` belongs to (its name without ``-<i>``)."""
    return pod.name.rsplit("-", 1)[0]


def _add_demo(commands: Any) -> None:
    parser = commands.add_parser(
        "demo", help="schedule 10,000 pods on a synthetic 5,000-node cluster",
        description="Build a synthetic cluster in memory (nodes of five shapes in three "
                    "zones, tainted spot and GPU nodes, a few cordoned ones, pods already "
                    "running), schedule a mixed workload (Deployments with zone affinity, "
                    "node selectors and tolerations, and a GPU Job) and report throughput, "
                    "utilization and why the unschedulable pods fit nowhere. The same "
                    "--seed gives the same cluster, workload and placements.")
    parser.add_argument("--nodes", type=_integer(1), default=5000, metavar="N",
                        help="nodes in the cluster (default: 5000)")
    parser.add_argument("--pods", type=_integer(0), default=10000, metavar="N",
                        help="pending pods to schedule (default: 10000)")
    parser.add_argument("--running", type=_integer(0), default=1000, metavar="N",
                        help="pods already running before scheduling (default: 1000)")
    parser.add_argument("--seed", type=_integer(), default=0, metavar="N",
                        help="seed of the cluster and of the workload (default: 0)")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="also draw per-node cpu and memory utilization by zone and "
                             f"node shape (needs matplotlib: {INSTALL_HINT})")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (there is none when stderr is not a terminal)")
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
    print(f"Cluster and workload built in {_seconds(built)}", file=out)
    print(file=out)
    out.flush()

    # solve: a few calls, sized for a progress bar that moves about ten times a second
    scheduler = Scheduler(cluster)
    progress = _Progress(err, len(pods), enabled=not args.no_progress)
    rows = np.full(len(pods), -1, np.int64)
    reasons: Counter[str] = Counter()      # reason -> unschedulable pods it applied to
    ruled_out: Counter[str] = Counter()    # reason -> nodes it ruled out, summed over pods
    examples: dict[str, Unschedulable] = {}
    elapsed, calls, done = 0.0, 0, 0
    step = max(1, math.ceil(len(pods) / PROGRESS_CHUNKS))
    progress.show(0)
    while done < len(pods):
        chunk = pods[done:done + step]
        tick = time.perf_counter()
        result = scheduler.schedule_many(chunk)
        spent = time.perf_counter() - tick
        elapsed, calls = elapsed + spent, calls + 1
        rows[done:done + len(chunk)] = result.rows
        reasons.update(result.reason_counts())
        for t in np.flatnonzero(result.rows < 0).tolist():
            failure = result[t]
            ruled_out.update(failure.reasons)
            examples.setdefault(_group_of(chunk[t]), failure)
        done += len(chunk)
        progress.show(done)
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
        print(f"\nPlot: {args.plot} ({_seconds(time.perf_counter() - tick)})", file=out)
    return 0


class _Progress:
    """A one-line text progress bar, redrawn in place on a terminal (else silent)."""

    WIDTH = 30

    def __init__(self, stream: TextIO, total: int, enabled: bool = True) -> None:
        isatty = getattr(stream, "isatty", None)
        self.stream = stream
        self.total = total
        self.enabled = enabled and isatty is not None and isatty()

    def show(self, done: int) -> None:
        if not self.enabled:
            return
        fraction = done / self.total if self.total else 1.0
        filled = int(fraction * self.WIDTH)
        self.stream.write(f"\rScheduling [{'#' * filled}{' ' * (self.WIDTH - filled)}] "
                          f"{fraction:4.0%}  {done:,}/{self.total:,} pods")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


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
    lines = [f"Cluster: {_plural(len(cluster), 'node')} in {_plural(len(zones), 'zone')} "
             f"({zone_text})",
             f"  shapes     {_by_count(shapes)}"]
    taints = _taint_counts(cluster)
    if taints:
        lines.append(f"  tainted    {_by_count(taints)}")
    lines.append(f"  cordoned   {int(cluster.unschedulable.sum()):,}")
    kept = len(cluster.pods)
    lines.append(f"  running    {_plural(kept, 'pod')}" + (
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
        rows.append((kind, name, f"{size:,}", format_quantity(req.get("cpu", 0), "cpu"),
                     format_quantity(req.get("memory", 0), "memory"),
                     format_quantity(req.get("nvidia.com/gpu", 0), "nvidia.com/gpu")
                     if req.get("nvidia.com/gpu") else "-",
                     _constraints(template)))
    if not total:
        return ["Workload: no pending pods"]
    return ([f"Workload: {_plural(total, 'pending pod')}, arriving shuffled (requests per pod)"]
            + _table(rows, right=(2, 3, 4, 5)))


def _demo_outcome_lines(total: int, placed: int, failed: Counter[str], kinds: dict[str, str],
                        elapsed: float, calls: int) -> list[str]:
    width = len(f"{total:,}")
    which = ", ".join(f"{kinds[g]} {g} {n:,}" for g, n in failed.most_common())
    return [f"Scheduled {_plural(total, 'pod')} in {_seconds(elapsed)}: "
            f"{_rate(total, elapsed)} ({_plural(calls, 'scheduler call')})",
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
        rows.append((name, _total(alloc, resource), _total(was, resource),
                     _percent(was, alloc), _total(now, resource), _percent(now, alloc)))
    return ["Utilization: requested / allocatable, every node"] + _table(
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
    lines += _table(rows, right=(0, 1))
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
                      _column_share(cluster, "cpu", members),
                      _column_share(cluster, "memory", members)))
    return (["Placements by zone (CPU and MEMORY: requested / allocatable now):"]
            + _table(table, right=(1, 2, 3, 4)))


if __name__ == "__main__":
    sys.exit(main())
