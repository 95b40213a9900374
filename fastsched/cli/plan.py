"""``fastsched plan``: what-if edits to a cluster's manifests, kube-scheduler's answer,
and the cheapest nodes to add for what does not fit.

::

    fastsched plan FILES... [--drain NODE|SELECTOR]... [--remove-nodes NODE|SELECTOR]...
                            [--scale NS/NAME=N]... [--add-nodes TYPE|NODE=N]...
                            [--catalog FILE] [--profile CONFIG] [--no-preemption]
                            [--time-limit S] [-o table|wide|json|yaml]
                            [--bindings FILE|-] [--allow-unschedulable]

The edits are those of :func:`fastsched.plan.whatif`. Exit status: 0 when everything
fits (or, with ``--catalog``, when the planned nodes hold what does not), 3 when pods
remain unschedulable or are lost or evicted (0 with ``--allow-unschedulable``), 2 on a
usage or input error. ``-o json|yaml`` write a ``fastsched.io/v1 PlanReport``.
``--bindings`` writes the new nodes (added and planned) as v1 Node manifests and a
v1 Binding for each pod placed on the way.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from ..errors import FastschedError
from ..kube.bindings import dump_bindings, to_bindings
from ..plan.whatif import HOURS_PER_MONTH, WhatIf, whatif
from ._common import (
    REPORT_API,
    add_manifest_args,
    emit,
    integer_arg,
    manifest_files,
    number_arg,
    output_arg,
    read_manifests,
)
from ._text import plural, table_lines
from .schedule import EXIT_UNSCHEDULABLE, MAX_UNSCHEDULABLE, _profiles

__all__ = ["add_plan_parser", "cmd_plan"]

REPORT_VERSION = 1


def _assignment(text: str) -> tuple[str, int]:
    """``KEY=N`` for --scale and --add-nodes."""
    key, sep, count = text.rpartition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=COUNT, got {text!r}")
    return key, integer_arg(0, 1_000_000)(count)


def add_plan_parser(commands: Any) -> None:
    """Declare ``fastsched plan`` on a subparsers object."""
    parser = commands.add_parser(
        "plan", help="what-if: drain, remove, add nodes or scale workloads, then schedule",
        description="Load a cluster's manifests, apply what-if edits as a user means them "
                    "(drained or removed nodes' pods pending again, DaemonSet pods going "
                    "with their node and coming with new ones, scaled workloads' new "
                    "replicas free of any node pin, new nodes from a catalog or like an "
                    "existing node), schedule what is pending as kube-scheduler would "
                    "(queue order, profiles, preemption), and report whether everything "
                    "fits, utilization before and after per node type, and with --catalog "
                    "the cheapest nodes to add for what does not.",
        epilog=f"Exit status: 0 when everything fits (with --catalog: when the planned "
               f"nodes hold the rest); {EXIT_UNSCHEDULABLE} when pods stay unschedulable, "
               "are lost or evicted (0 with --allow-unschedulable); 2 on a usage or input "
               f"error. -o json/yaml write a fastsched.io/v1 PlanReport (version "
               f"{REPORT_VERSION}).")
    add_manifest_args(parser)
    parser.add_argument("--drain", action="append", default=[], metavar="NODE|SELECTOR",
                        help="cordon and evict, as kubectl drain --ignore-daemonsets: a node "
                             "name or a label selector (topology.kubernetes.io/zone=b); "
                             "repeatable")
    parser.add_argument("--remove-nodes", action="append", default=[],
                        metavar="NODE|SELECTOR", help="delete nodes; repeatable")
    parser.add_argument("--scale", action="append", default=[], type=_assignment,
                        metavar="NS/NAME=N",
                        help="set a Deployment, ReplicaSet, StatefulSet or Job to N replicas; "
                             "repeatable")
    parser.add_argument("--add-nodes", action="append", default=[], type=_assignment,
                        metavar="TYPE|NODE=N",
                        help="add N nodes of a catalog type (TYPE@ZONE for one zone) or like "
                             "an existing node; repeatable")
    parser.add_argument("--catalog", metavar="FILE",
                        help="a NodeCatalog (YAML or CSV): prices, node types for --add-nodes, "
                             "and the cheapest new nodes for what does not fit")
    parser.add_argument("--consolidate", action="store_true",
                        help="also plan consolidation (needs --catalog): which nodes to remove "
                             "and which cheaper ones to add so that every pod still fits, "
                             "never moving DaemonSet, static, do-not-disrupt or uncontrolled "
                             "pods, within the PodDisruptionBudgets")
    parser.add_argument("--max-disrupted", type=integer_arg(0), metavar="N",
                        help="with --consolidate: move at most N pods")
    parser.add_argument("--profile", metavar="CONFIG",
                        help="a KubeSchedulerConfiguration file (default: kube-scheduler's "
                             "default profile)")
    parser.add_argument("--no-preemption", dest="preempt", action="store_false",
                        help="never evict pods to make room")
    parser.add_argument("--time-limit", type=number_arg(0.1, 86400), default=30.0,
                        metavar="S", help="seconds for planning new nodes (default: 30)")
    parser.add_argument("-o", "--output", type=output_arg, default="table", metavar="FORMAT",
                        help="table (default), wide (also every pod placed or planned), "
                             "json or yaml (the PlanReport)")
    parser.add_argument("--bindings", metavar="FILE",
                        help="write the new nodes as v1 Node manifests and a v1 Binding per "
                             "pod placed or planned (JSON List if FILE ends in .json, else "
                             "YAML); - for stdout")
    parser.add_argument("--allow-unschedulable", action="store_true",
                        help=f"exit 0 even when not everything fits (default: "
                             f"{EXIT_UNSCHEDULABLE})")
    parser.set_defaults(run=cmd_plan, scheduler_name=None, percentage=None)


def cmd_plan(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``fastsched plan``: apply the edits, schedule, plan, report."""
    out = out or sys.stdout
    if args.output == "name":
        raise FastschedError("-o name is not a plan's output (choose table, wide, json, yaml)")
    if args.bindings == "-" and args.output != "table":
        raise FastschedError(f"--bindings - and -o {args.output} would both write to stdout")
    profiles = _profiles(args)
    catalog = None
    if args.catalog is not None:
        from ..plan.catalog import Catalog
        catalog = Catalog.load(args.catalog)
    if args.consolidate and catalog is None:
        raise FastschedError("--consolidate needs --catalog FILE (the prices)")
    manifests = read_manifests(manifest_files(args))
    for flag, pairs in (("--scale", args.scale), ("--add-nodes", args.add_nodes)):
        keys = [k for k, _ in pairs]
        if len(set(keys)) < len(keys):
            raise FastschedError(f"{flag} names {sorted(k for k in keys if keys.count(k) > 1)[0]}"
                                 " twice")
    w = whatif(manifests, drain=args.drain, remove_nodes=args.remove_nodes,
               scale=dict(args.scale), add_nodes=dict(args.add_nodes), catalog=catalog,
               profiles=profiles, preempt=args.preempt, time_limit=args.time_limit)
    merged = None
    if args.consolidate and w.state is not None:
        from ..plan.consolidate import consolidate
        merged = consolidate(w.state, catalog, time_limit=args.time_limit,
                             max_disrupted=args.max_disrupted)
    if args.bindings:
        _write_bindings(args.bindings, w, catalog)
    if args.output in ("json", "yaml"):
        emit(report_document(w, merged), args.output, out)
    elif args.bindings != "-":
        sections = _sections(w, args.output == "wide", catalog) + [_consolidation_lines(merged)]
        print("\n\n".join("\n".join(s) for s in sections if s), file=out)
        if args.bindings:
            print(f"\nNodes and Bindings written to {args.bindings}", file=out)
    settled = w.fits or (w.provision is not None and not w.provision.unplaceable
                         and w.provision.status != "INFEASIBLE" and not w.lost
                         and not w.result.preempted)
    return 0 if settled or args.allow_unschedulable else EXIT_UNSCHEDULABLE


def report_document(w: WhatIf, merged: Any = None) -> dict[str, Any]:
    """The ``-o json|yaml`` report (fields are only ever added); ``merged``: the
    ConsolidationPlan of ``--consolidate``."""
    plan = w.provision
    doc: dict[str, Any] = {
        "apiVersion": REPORT_API, "kind": "PlanReport", "version": REPORT_VERSION,
        "seconds": w.stats["seconds"], "fits": w.fits,
        "edits": {"drained": list(w.drained), "removed": list(w.removed),
                  "added": list(w.added),
                  "scaled": {k: {"from": a, "to": b} for k, (a, b) in w.scaled.items()}},
        "summary": {"pending": w.stats["pending"], "placed": len(w.result.placed),
                    "unschedulable": len(w.unschedulable), "evicted": len(w.result.preempted),
                    "lost": len(w.lost), "notOurs": len(w.result.not_ours)},
        "before": w.before, "after": w.after,
        "placements": [{"pod": o.pod.key, "node": o.node} for o in w.result.placed],
        "unschedulable": [{"pod": k, "message": v} for k, v in w.unschedulable.items()],
        "evictions": [{"pod": p.key, "node": n} for p, n in w.result.preempted],
        "lost": [{"pod": k, "reason": v} for k, v in w.lost.items()],
        "gone": list(w.gone), "displaced": list(w.evicted),
        "provision": None,
    }
    if plan is not None:
        doc["provision"] = {
            "status": plan.status, "newNodes": dict(plan.new_nodes),
            "costPerHour": plan.cost, "costPerMonth": round(plan.cost * HOURS_PER_MONTH, 2),
            "lowerBound": plan.lower_bound, "gap": round(plan.gap, 6),
            "nodes": [{"name": n, "type": t, "zone": z} for n, t, z in plan.nodes],
            "assignment": dict(plan.assignment),
            "unplaceable": [{"pod": k, "message": v} for k, v in plan.unplaceable.items()]}
    if merged is not None:
        doc["consolidation"] = {
            "status": merged.status, "removed": list(merged.removed),
            "added": [{"name": n, "type": t, "zone": z} for n, t, z in merged.added],
            "moved": [{"pod": k, "from": a, "to": b} for k, (a, b) in merged.moved.items()],
            "costBefore": merged.cost_before, "costAfter": merged.cost_after,
            "savingPerHour": merged.saving,
            "savingPerMonth": round(merged.saving * HOURS_PER_MONTH, 2),
            "lowerBound": merged.lower_bound, "gap": round(merged.gap, 6)}
    return doc


def _consolidation_lines(merged: Any) -> list[str]:
    if merged is None:
        return []
    if merged.status == "INFEASIBLE":
        return ["Consolidation: no plan within the limits"]
    lines = [f"Consolidation ({merged.status}, proven bound ${merged.lower_bound:,.4f}/h, gap "
             f"{merged.gap:.2%}): ${merged.cost_before:,.4f}/h -> ${merged.cost_after:,.4f}/h, "
             f"saving ${merged.saving:,.4f}/h (${merged.saving * HOURS_PER_MONTH:,.2f}/month)"]
    if merged.removed:
        lines.append(f"  remove {plural(len(merged.removed), 'node')}: "
                     f"{', '.join(merged.removed)}")
    if merged.added:
        kinds: dict[str, int] = {}
        for _, t, _ in merged.added:
            kinds[t] = kinds.get(t, 0) + 1
        lines.append("  add " + ", ".join(f"{n} {t}" for t, n in sorted(kinds.items())))
    lines.append(f"  move {plural(len(merged.moved), 'pod')}")
    return lines


def _sections(w: WhatIf, wide: bool, catalog: Any) -> list[list[str]]:
    return [_edit_lines(w), _type_lines(w), _problem_lines(w),
            _provision_lines(w, wide, catalog),
            _placement_lines(w) if wide else []]


def _edit_lines(w: WhatIf) -> list[str]:
    edits = []
    if w.drained:
        edits.append(f"drained {', '.join(w.drained)}")
    if w.removed:
        edits.append(f"removed {', '.join(w.removed)}")
    for key, (a, b) in w.scaled.items():
        edits.append(f"scaled {key} {a} -> {b}")
    if w.added:
        edits.append(f"added {plural(len(w.added), 'node')}")
    s = w.stats
    verdict = "everything fits" if w.fits else "does not fit"
    lines = [f"What-if: {'; '.join(edits) or 'no edits'} ({plural(s['pending'], 'pending pod')}, "
             f"{s['seconds']:.2f} s): {verdict}"]
    lines.append(f"  placed {len(w.result.placed):,}, unschedulable {len(w.unschedulable):,}, "
                 f"evicted {len(w.result.preempted):,}, lost {len(w.lost):,}, "
                 f"not ours {len(w.result.not_ours):,}")
    if w.gone:
        lines.append(f"  {plural(len(w.gone), 'DaemonSet or static pod')} left with "
                     "their node")
    return lines


def _share(entry: dict[str, Any] | None, resource: str) -> str:
    if not entry or resource not in entry or not entry[resource]["allocatable"]:
        return "-"
    return f"{100 * entry[resource]['share']:.0f}%"


def _type_lines(w: WhatIf) -> list[str]:
    """Nodes, utilization and cost per node type, before -> after."""
    priced = "pricePerHour" in w.after
    shown = ["cpu", "memory"] + [r for r in ("nvidia.com/gpu",) if r in w.before or r in w.after]
    head = ("TYPE", "NODES", "CPU", "MEMORY", "GPU")[: 2 + len(shown)] + \
        (("$/HOUR", "$/MONTH") if priced else ())
    rows = [head]
    names = sorted(set(w.before["types"]) | set(w.after["types"]))
    for t in [*names, "total"]:
        b = w.before if t == "total" else w.before["types"].get(t)
        a = w.after if t == "total" else w.after["types"].get(t)
        row = (t, f"{b['nodes'] if b else 0} -> {a['nodes'] if a else 0}",
               *(f"{_share(b, r)} -> {_share(a, r)}" for r in shown))
        if priced:
            pb, pa = (b or {}).get("pricePerHour", 0.0), (a or {}).get("pricePerHour", 0.0)
            row += (f"{pb:,.2f} -> {pa:,.2f}", f"{pb * HOURS_PER_MONTH:,.0f} -> "
                    f"{pa * HOURS_PER_MONTH:,.0f}")
        rows.append(row)
    lines = [f"Nodes by type, before -> after ({', '.join(head[2:2 + len(shown)])}: "
             "requested / allocatable):"]
    lines += table_lines(rows, right=(1, 2, 3, 4, 5, 6))
    unpriced = w.after.get("unpriced", 0)
    if priced and unpriced:
        lines.append(f"  ({plural(unpriced, 'node')} of a type the catalog does not price)")
    return lines


def _grouped(items: dict[str, str]) -> list[str]:
    """One line per distinct message: its first pod, how many more share it."""
    by_message: dict[str, list[str]] = {}
    for key, message in items.items():
        by_message.setdefault(message, []).append(key)
    lines = []
    for message, keys in list(by_message.items())[:MAX_UNSCHEDULABLE]:
        more = f" and {plural(len(keys) - 1, 'more pod')}" if len(keys) > 1 else ""
        lines.append(f"  {keys[0]}{more}: {message}")
    if len(by_message) > MAX_UNSCHEDULABLE:
        lines.append(f"  ... and {len(by_message) - MAX_UNSCHEDULABLE:,} more reasons")
    return lines


def _problem_lines(w: WhatIf) -> list[str]:
    lines = []
    for title, items in (("Unschedulable", w.unschedulable), ("Lost", w.lost)):
        if items:
            lines.append(f"{title}: {plural(len(items), 'pod')}")
            lines += _grouped(items)
    if w.result.preempted:
        lines.append(f"Evicted by preemption: {plural(len(w.result.preempted), 'pod')}")
        lines += [f"  {p.key} from {n}" for p, n in w.result.preempted[:MAX_UNSCHEDULABLE]]
    return ["\n".join(lines)] if lines else []


def _provision_lines(w: WhatIf, wide: bool, catalog: Any) -> list[str]:
    plan = w.provision
    if plan is None:
        return []
    lines = [f"To fit the unschedulable pods, add ({plan.status}, ${plan.cost:,.4f}/h, proven "
             f"bound ${plan.lower_bound:,.4f}/h, gap {plan.gap:.2%}):"]
    rows = [("TYPE", "COUNT", "$/HOUR", "$/MONTH")]
    for t, n in sorted(plan.new_nodes.items()):
        cost = catalog[t].price * n
        rows.append((t, f"{n:,}", f"{cost:,.4f}", f"{cost * HOURS_PER_MONTH:,.2f}"))
    rows.append(("total", f"{sum(plan.new_nodes.values()):,}", f"{plan.cost:,.4f}",
                 f"{plan.cost * HOURS_PER_MONTH:,.2f}"))
    lines += table_lines(rows, right=(1, 2, 3))
    if plan.unplaceable:
        lines.append(f"Unplaceable on any catalog type: {plural(len(plan.unplaceable), 'pod')}")
        lines += _grouped(plan.unplaceable)
    if wide:
        lines += [f"  {k} -> {n}" for k, n in plan.assignment.items()]
    return lines


def _placement_lines(w: WhatIf) -> list[str]:
    rows = [("POD", "NODE")] + [(o.pod.key, o.node) for o in w.result.placed]
    return ["Every placement, in queue order:"] + table_lines(rows) if len(rows) > 1 else []


def _write_bindings(path: str, w: WhatIf, catalog: Any) -> None:
    """New nodes as v1 Node manifests, then a Binding per pod placed or planned."""
    nodes = []
    planned = list(w.provision.nodes) if w.provision else []
    for name in w.added:
        nodes.append(_node_manifest(name, w.cluster))
    for name, type_name, zone in planned:
        t = catalog[type_name]
        nodes.append({"apiVersion": "v1", "kind": "Node",
                      "metadata": {"name": name, "labels": {
                          **t.node_labels(zone or None), "kubernetes.io/hostname": name}},
                      "spec": {"taints": [{"key": x.key, "value": x.value, "effect": x.effect}
                                          for x in t.taints]} if t.taints else {},
                      "status": {"allocatable": _amounts(t.allocatable)}})
    pairs: list[tuple[Any, str]] = [(o.pod, o.node) for o in w.result.placed]
    if w.provision:
        pairs += list(w.provision.assignment.items())
    items = nodes + to_bindings(pairs, new_only=True)
    text = dump_bindings(items, "json" if path.lower().endswith(".json") else "yaml")
    if path == "-":
        sys.stdout.write(text)
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def _node_manifest(name: str, cluster: Any) -> dict[str, Any]:
    row = cluster.row(name)
    alloc = {r: int(cluster.allocatable[row, j]) for j, r in enumerate(cluster.resources)}
    taints = [{"key": t.key, "value": t.value, "effect": t.effect}
              for t in cluster.node(name).taints]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": dict(cluster.node_labels(name))},
            "spec": {"taints": taints} if taints else {},
            "status": {"allocatable": _amounts(alloc)}}


def _amounts(alloc: Any) -> dict[str, str]:
    """Scheduler units as Kubernetes quantities (cpu in millicores)."""
    return {r: f"{v}m" if r == "cpu" else str(int(v)) for r, v in alloc.items() if v}

