"""``fastsched inspect``: a summary of the cluster that manifests describe.

::

    fastsched inspect FILES... [--nodes] [-o table|wide|json|yaml|name]

Prints sections for the nodes (zones, instance types, taints; every node with
``--nodes``), the resources (allocatable, requested, pending), the pods (bound
and pending, by namespace and workload) and the services, then the documents
that were skipped; ``-o wide`` is ``--nodes``, ``-o json|yaml`` a ``fastsched.io/v1
InspectReport`` (see ``report_document``), ``-o name`` the ``node/NAME`` and
``pod/NAMESPACE/NAME`` of everything read. ``-`` reads stdin. Exit status 0, or 2 on a
usage or input error. ``add_inspect_parser(commands)`` declares the command and
sets ``run=cmd_inspect``; errors propagate to ``fastsched.cli.main``.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any, TextIO, cast

from ..kube.manifests import Manifests
from ..plot import INSTANCE_TYPE_LABELS, ZONE_LABELS
from ._common import REPORT_API, add_manifest_args, emit, manifest_files, output_arg, read_manifests
from ._text import first_label, human_amount, table_lines

__all__ = ["add_inspect_parser", "cmd_inspect", "report_document"]

REPORT_VERSION = 1


def add_inspect_parser(commands: Any) -> None:
    """Declare ``fastsched inspect`` on a subparsers object."""
    parser = commands.add_parser(
        "inspect", help="summarize the cluster that manifests describe",
        description="Load Kubernetes manifests (Nodes, Pods, Deployments, ReplicaSets, "
                    "StatefulSets, Jobs, Services) and summarize the cluster: nodes, "
                    "allocatable and requested resources, bound and pending pods, services.",
        epilog="Exit status: 0, or 2 on a usage or input error. -o json/yaml write a "
               f"fastsched.io/v1 InspectReport (version {REPORT_VERSION}): nodes, pods "
               "(bound with their node, pending), services, skipped.")
    add_manifest_args(parser)
    parser.add_argument("--nodes", action="store_true", help="also list every node")
    parser.add_argument("-o", "--output", type=output_arg, default="table", metavar="FORMAT",
                        help="table (default), wide (with every node), json, yaml or name")
    parser.set_defaults(run=cmd_inspect)


def cmd_inspect(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``fastsched inspect``: print a summary of the manifests."""
    out = out or sys.stdout
    files = manifest_files(args)
    manifests = read_manifests(files)
    if args.output in ("json", "yaml"):
        emit(report_document(manifests), args.output, out)
        return 0
    if args.output == "name":
        for name in manifests.cluster.node_names:
            print(f"node/{name}", file=out)
        for pod in (*manifests.bound, *manifests.pending):
            print(f"pod/{pod.namespace}/{pod.name}", file=out)
        return 0
    args.nodes = args.nodes or args.output == "wide"
    for section in (_nodes_section, _resources_section, _pods_section, _services_section):
        lines = section(manifests, args)
        if lines:
            print("\n".join(lines), file=out)
            print(file=out)
    if manifests.skipped:
        print(f"Skipped: {len(manifests.skipped)} ({', '.join(manifests.skipped)})", file=out)
    return 0


def report_document(m: Manifests) -> dict[str, Any]:
    """The ``-o json|yaml`` report: ``apiVersion``/``kind``/``version``, then every
    node (allocatable and requested in scheduler units: millicores, bytes, counts),
    the bound pods with their node, the pending pods, the Services and what was
    skipped. Fields are only ever added; ``version`` changes if one changes meaning."""
    cluster = m.cluster
    nodes = []
    for name in cluster.node_names:
        n = cluster.node(name)
        nodes.append({"name": name, "allocatable": dict(n.allocatable),
                      "requested": dict(n.requested), "labels": dict(n.labels),
                      "taints": [{"key": t.key, "value": t.value, "effect": t.effect}
                                 for t in n.taints],
                      "unschedulable": n.unschedulable})
    return {"apiVersion": REPORT_API, "kind": "InspectReport", "version": REPORT_VERSION,
            "nodes": nodes,
            "pods": {"bound": [{"pod": key, "node": node}
                               for key, node in cluster.pod_nodes().items()],
                     "pending": [p.key for p in m.pending]},
            "services": [s.key for s in m.services], "skipped": list(m.skipped)}


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counter.items()))


def _nodes_section(m: Manifests, args: argparse.Namespace) -> list[str]:
    cluster = m.cluster
    nodes = [cluster.node(name) for name in cluster.node_names]
    zones = Counter(first_label(n.labels, ZONE_LABELS) or "(no zone)" for n in nodes)
    types = Counter(first_label(n.labels, INSTANCE_TYPE_LABELS) for n in nodes)
    types.pop(None, None)
    taints = Counter(str(t) for n in nodes for t in n.taints)
    cordoned = sum(n.unschedulable for n in nodes)
    tainted = sum(bool(n.taints) for n in nodes)
    zone_text = "" if set(zones) <= {"(no zone)"} else \
        f" in {len(zones)} zones ({_counts(zones)})"
    lines = [f"Nodes: {len(nodes)}{zone_text}; {cordoned} unschedulable, {tainted} tainted"]
    if types:
        lines.append(f"  instance types: {_counts(cast('Counter[str]', types))}")  # None popped
    if taints:
        lines.append(f"  taints: {_counts(taints)}")
    if args.nodes and nodes:
        rows = [("NAME", "ZONE", "TYPE", "CPU", "MEMORY", "PODS", "NOTES")]
        for n in nodes:
            notes = ["unschedulable"] if n.unschedulable else []
            notes += [str(t) for t in n.taints]
            rows.append((n.name, first_label(n.labels, ZONE_LABELS) or "-",
                         first_label(n.labels, INSTANCE_TYPE_LABELS) or "-",
                         human_amount(n.allocatable.get("cpu", 0), "cpu"),
                         human_amount(n.allocatable.get("memory", 0), "memory"),
                         f"{len(n.pods)}/{n.allocatable.get('pods', 0)}", ", ".join(notes)))
        lines += table_lines(rows, right=(3, 4, 5))
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
        rows.append((resource, human_amount(alloc, resource), human_amount(req, resource), used,
                     human_amount(pending[resource], resource)))
    if len(rows) == 1:
        return []
    unit = " (cpu in cores)" if any(r[0] == "cpu" for r in rows) else ""
    return [f"Resources{unit}:"] + table_lines(rows, right=(1, 2, 3, 4))


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
    return [f"Services: {len(m.services)}"] + table_lines(rows)

