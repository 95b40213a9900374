"""``fastsched route``: the endpoint of a Service that each client key goes to.

::

    fastsched route FILES... --service my-service --keys FILE|- [--method maglev]
                    [-o table|wide|json|yaml|name]

Loads the manifests (``-`` or ``-f FILE`` as elsewhere), takes the Service's
endpoints (the bound pods it selects; with ``--schedule`` the pending pods are
scheduled first, with kube-scheduler's default profile) and prints one line per
key: the key, the pod and its node, separated by tabs (``wide`` adds a header and
the endpoint's index; ``json``/``yaml`` write a ``fastsched.io/v1 RouteReport``;
``name`` the ``pod/NAMESPACE/NAME`` of each key). ``add_route_parser(commands)``
declares the command and sets ``run=cmd_route``; ``cmd_route(args) -> int``
returns the exit status: 0, or 2 after printing ``fastsched: error: <message>``
on bad input.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from ..errors import FastschedError, ValidationError
from ..hashing import is_prime
from ..routing import METHODS, endpoints, route_to
from ..scheduler.scheduler import Scheduler
from ._common import (
    REPORT_API,
    add_manifest_args,
    describe_error,
    emit,
    integer_arg,
    manifest_files,
    output_arg,
    print_error,
    read_manifests,
)

__all__ = ["add_route_parser", "cmd_route", "MAX_TABLE_SIZE"]

MAX_TABLE_SIZE = 16_777_213
"""The largest ``--table-size``: the largest prime below 2**24, a 64 MB table of int32
slots, room for 167,000 endpoints at the Maglev paper's 100 slots each. (The
library's own limit is int32's 2**31 - 1, an 8 GB table.)"""


def add_route_parser(commands: Any) -> argparse.ArgumentParser:
    """Declare ``fastsched route`` on a subparsers object."""
    parser = commands.add_parser(
        "route", help="map client keys to a Service's endpoints by consistent hashing",
        description="Load Kubernetes manifests, find the endpoints of a Service (the bound "
                    "pods its selector matches, sorted by name) and print, for each client "
                    "key, the endpoint it is routed to: KEY, POD and NODE separated by tabs. "
                    "maglev builds a Maglev table as kube-proxy's IPVS mh scheduler does; "
                    "ketama a uhashring-compatible ketama ring; rendezvous uses highest "
                    "random weight. Endpoints are hashed by namespace/name.",
        epilog="Exit status: 0, or 2 on bad input (including a Service without endpoints). "
               "-o json/yaml write a fastsched.io/v1 RouteReport (version 1): service, "
               "method, tableSize, endpoints [{pod, node}] and routes [{key, pod, node, "
               "endpoint}].")
    add_manifest_args(parser)
    parser.add_argument("--service", required=True, metavar="NAME",
                        help="the Service: NAME, or NAMESPACE/NAME")
    parser.add_argument("-n", "--namespace", default="default",
                        help="the Service's namespace when NAME has none (default: default)")
    parser.add_argument("--keys", required=True, metavar="FILE",
                        help="client keys, one per line, '-' for standard input (blank "
                             "lines are skipped)")
    parser.add_argument("--method", choices=METHODS, default="maglev",
                        help="how keys are spread (default: maglev)")
    parser.add_argument("--table-size", type=_table_size, default=65537, metavar="M",
                        help="Maglev table size, a prime larger than the endpoint count, at "
                             f"most {MAX_TABLE_SIZE:,} (default: 65537)")
    parser.add_argument("--schedule", action="store_true",
                        help="schedule the pending pods first (kube-scheduler's default "
                             "profile), so that pods of Deployments become endpoints")
    parser.add_argument("-o", "--output", type=output_arg, default="table", metavar="FORMAT",
                        help="table (default: KEY, POD, NODE by tabs), wide (with a header "
                             "and the endpoint index), json, yaml (the RouteReport) or name")
    parser.set_defaults(run=cmd_route)
    return parser


def _table_size(text: str) -> int:
    value = integer_arg(2, MAX_TABLE_SIZE)(text)
    if not is_prime(value):
        raise argparse.ArgumentTypeError(f"must be a prime (for example 65537 or 655373), got "
                                         f"{value:,}")
    return value


def cmd_route(args: argparse.Namespace, out: TextIO | None = None,
              stdin: TextIO | None = None) -> int:
    """``fastsched route``: print each key's endpoint; 2 on bad input."""
    try:
        report = _route(args, stdin or sys.stdin)
    except KeyError as err:            # Manifests.service: no such Service
        return print_error(f"{err.args[0] if err.args else err}")
    except (FastschedError, OSError) as err:
        return print_error(describe_error(err))
    out = out or sys.stdout
    output = getattr(args, "output", "table")
    if output in ("json", "yaml"):
        emit(report, output, out)
        return 0
    routes = report["routes"]
    if output == "name":
        lines = [f"pod/{r['pod']}" for r in routes]
    elif output == "wide":
        lines = ["KEY\tPOD\tNODE\tENDPOINT"] + [
            f"{r['key']}\t{r['pod']}\t{r['node']}\t{r['endpoint']}" for r in routes]
    else:
        lines = [f"{r['key']}\t{r['pod']}\t{r['node']}" for r in routes]
    if lines:
        out.write("\n".join(lines) + "\n")
    return 0


def _route(args: argparse.Namespace, stdin: TextIO) -> dict[str, Any]:
    # data: the keys first (cheap to check), then the manifests
    files = manifest_files(args)
    if args.keys == "-" and "-" in files:
        raise FastschedError("stdin ('-') can hold the keys or the manifests, not both")
    keys = _read_keys(args.keys, stdin)
    manifests = read_manifests(files)
    name, namespace = args.service, args.namespace
    if "/" in name:
        namespace, name = name.split("/", 1)
    service = manifests.service(name, namespace)
    cluster = manifests.cluster
    pending = [p for p in manifests.pending if service.matches(p)]
    if args.schedule and manifests.pending:
        Scheduler(cluster).schedule_many(manifests.pending)

    # endpoints, then the routing
    found = endpoints(service, cluster)
    if not found:
        hint = ""
        if pending and not args.schedule:
            hint = (f" ({len(pending)} of its pods are pending: add --schedule to place "
                    "them first)")
        raise ValidationError(f"Service {service.key} has no endpoints{hint}")
    report: dict[str, Any] = {
        "apiVersion": REPORT_API, "kind": "RouteReport", "version": 1,
        "service": service.key, "method": args.method,
        "tableSize": args.table_size if args.method == "maglev" else None,
        "endpoints": [{"pod": e.pod, "node": e.node} for e in found], "routes": []}
    if keys:
        routes = route_to(found, keys, args.method, table_size=args.table_size)
        chosen = routes.endpoints
        report["endpoints"] = [{"pod": e.pod, "node": e.node} for e in chosen]
        report["routes"] = [{"key": key, "pod": chosen[j].pod, "node": chosen[j].node,
                             "endpoint": j} for key, j in zip(keys, routes.index.tolist())]
    return report


def _read_keys(path: str, stdin: TextIO) -> list[str]:
    """One key per line (\n or \r\n); blank lines are not keys."""
    try:
        if path == "-":
            text = stdin.read()
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
    except UnicodeDecodeError as err:
        raise ValidationError(f"{'standard input' if path == '-' else path} is not UTF-8 "
                              f"text (byte {err.start})", "keys") from None
    return [key for key in (line.rstrip("\r") for line in text.split("\n")) if key]
