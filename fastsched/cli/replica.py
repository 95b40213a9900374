"""``fastsched replica``: run one member of a replicated scheduler group.

::

    fastsched replica --id 1 --peers 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 --data DIR

``--peers`` lists every member (this one included) in the same order on every
member; ``--id`` is this member's 1-based position in it. The acceptor log and
snapshots live in ``--data``; restarting with the same directory resumes. Runs
until SIGINT or SIGTERM. ``add_replica_parser(commands)`` declares the command
and sets ``run=cmd_replica``; ``cmd_replica(args) -> int`` returns the exit
status: 0 after a clean stop, 1 after a fatal consensus error, 2 on bad input.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from ..consensus.server import parse_peers, run_replica
from ..errors import FastschedError

__all__ = ["add_replica_parser", "cmd_replica", "main"]


def add_replica_parser(commands: Any) -> argparse.ArgumentParser:
    """Declare ``fastsched replica`` on a subparsers object."""
    parser = commands.add_parser(
        "replica", help="run one replica of a Multi-Paxos replicated scheduler",
        description="Serve one member of a replica group over TCP: peers and clients use "
                    "the address this member has in --peers. Commands (add a node, bind, "
                    "schedule, read) are chosen by Multi-Paxos and applied on every member; "
                    "the acceptor log in --data is fsynced once per batch.",
        epilog="Exit status: 0 after SIGINT/SIGTERM, 1 after a fatal consensus error, "
               "2 on bad input.")
    _arguments(parser)
    parser.set_defaults(run=cmd_replica)
    return parser


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--id", type=int, required=True, metavar="N",
                        help="this replica's 1-based position in --peers")
    parser.add_argument("--peers", required=True, metavar="HOST:PORT,...",
                        help="every replica's address, in the same order everywhere")
    parser.add_argument("--data", required=True, metavar="DIR",
                        help="directory of the durable log and snapshots (created if missing)")
    parser.add_argument("--no-fsync", dest="fsync", action="store_false",
                        help="skip fsync (throwaway tests only: a crash can lose votes)")
    parser.add_argument("--log-level", default="WARNING",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="logging level (default: WARNING)")


def cmd_replica(args: argparse.Namespace) -> int:
    """Run the replica until stopped; 2 on bad input."""
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format=f"replica {args.id}: %(levelname)s %(message)s")
    try:
        peers = parse_peers(args.peers)
        if not 1 <= args.id <= len(peers):
            raise FastschedError(f"--id: expected 1..{len(peers)}, got {args.id}")

        def ready(server: Any) -> None:
            host, port = server.addresses[server.id]
            print(f"replica {server.id} listening on {host}:{port}", file=sys.stderr,
                  flush=True)

        return run_replica(args.id, peers, args.data, fsync=args.fsync, ready=ready)
    except (FastschedError, OSError) as err:
        print(f"fastsched: error: {err}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fastsched.consensus.server``: the same arguments as ``fastsched replica``."""
    parser = argparse.ArgumentParser(prog="fastsched replica")
    _arguments(parser)
    return cmd_replica(parser.parse_args(argv))
