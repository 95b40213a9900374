"""``fastsched replica``: run one member of a replicated scheduler group.

::

    fastsched replica --id 1 --peers 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 --data DIR \
        --secret-file cluster.secret

``--secret-file`` (or ``FASTSCHED_SECRET_FILE``) is the group's shared secret,
the same file on every member and client; connections prove it before anything
else is read (``--tls-cert/--tls-key/--tls-ca`` for mutual TLS instead,
``--insecure`` for neither). ``--peers`` lists every member (this one included) in the same order on every
member; ``--id`` is this member's 1-based position in it. The acceptor log and
snapshots live in ``--data``; restarting with the same directory resumes. Runs
until SIGINT or SIGTERM. ``add_replica_parser(commands)`` declares the command
and sets ``run=cmd_replica``; ``cmd_replica(args) -> int`` returns the exit
status: 0 after a clean stop, 1 after a fatal consensus error, 2 on bad input.

The arguments and the process itself live in :mod:`fastsched.consensus.net.server`
(``python -m fastsched.consensus.net.server`` takes the same ones): the CLI
imports the network layer, never the other way round.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ..consensus.net.server import add_arguments, run_from_args
from ..consensus.net.server import main as _server_main

__all__ = ["add_replica_parser", "cmd_replica", "main"]


def add_replica_parser(commands: Any) -> argparse.ArgumentParser:
    """Declare ``fastsched replica`` on a subparsers object."""
    parser = commands.add_parser(
        "replica", help="run one replica of a Multi-Paxos replicated scheduler",
        description="Serve one member of a replica group over TCP: peers and clients use "
                    "the address this member has in --peers. Commands (add a node, bind, "
                    "schedule, read) are chosen by Multi-Paxos and applied on every member; "
                    "the acceptor log in --data is fsynced once per batch. Every connection "
                    "authenticates with the shared secret (--secret-file) or mutual TLS.",
        epilog="Exit status: 0 after SIGINT/SIGTERM, 1 after a fatal consensus error, "
               "2 on bad input.")
    add_arguments(parser)
    parser.set_defaults(run=cmd_replica)
    return parser


def cmd_replica(args: argparse.Namespace) -> int:
    """Run the replica until stopped; 2 on bad input."""
    return run_from_args(args)


def main(argv: Sequence[str] | None = None) -> int:
    """``fastsched replica``'s arguments without the ``fastsched`` command (as
    ``python -m fastsched.consensus.net.server``)."""
    return _server_main(argv)
