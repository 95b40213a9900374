"""The ``fastsched`` command.

::

    fastsched --version
    fastsched inspect FILES...      summary of the cluster the manifests describe

Each subcommand is a pair: ``_add_<name>(commands)`` declares its arguments and
sets ``run=cmd_<name>``; ``cmd_<name>(args) -> int`` does the work and returns
the exit status. Bad input (a manifest that cannot be read, a missing file)
prints ``fastsched: error: <message>`` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

from . import __version__
from .errors import FastschedError
from .manifests import Manifests, ManifestWarning, load_manifests
from .quantity import format_quantity

__all__ = ["main", "build_parser", "cmd_inspect"]

ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
_BINARY = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="fastsched",
        description="A scheduling core with Kubernetes semantics.")
    parser.add_argument("--version", action="version", version=f"fastsched {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_inspect(commands)
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
    except (FastschedError, OSError) as err:
        print(f"fastsched: error: {_describe(err)}", file=sys.stderr)
        return 2


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
    if not binary or len(exact) <= 7:
        return exact
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


if __name__ == "__main__":
    sys.exit(main())
