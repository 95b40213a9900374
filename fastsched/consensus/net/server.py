"""Run a replica as a process: serve one member of a group over TCP.

``run_replica(id, peers, data_dir)`` serves one replica until SIGINT/SIGTERM;
:func:`main` is the process around it, with the arguments of ``fastsched
replica``::

    python -m fastsched.consensus.net.server --id 1 --peers HOST:PORT,... --data DIR \
        --secret-file cluster.secret

Every member and client must hold the same secret file (see
:mod:`fastsched.consensus.net.auth`); without ``--secret-file`` the file named by
``FASTSCHED_SECRET_FILE`` is used, and with neither the replica refuses to start
unless given ``--insecure``. ``--tls-cert/--tls-key/--tls-ca`` use mutual TLS
instead (see :mod:`fastsched.consensus.net.tls`).

A replica whose acceptor state is missing, cut short or damaged refuses to start
(exit status 2, naming the file) unless ``--recover`` is given.

The argument parsing lives here rather than in :mod:`fastsched.cli.replica`, so
that the network layer never imports the CLI (the CLI imports this module).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from ...errors import FastschedError
from ..paxos import ReplicaConfig
from .auth import SECRET_ENV, resolve_secret
from .peers import parse_peers
from .tls import TLSConfig
from .transport import ReplicaServer

__all__ = ["run_replica", "serve_replica", "add_arguments", "run_from_args", "main"]


async def serve_replica(replica_id: int, peers: Any, data_dir: Any, *, fsync: bool = True,
                        config: ReplicaConfig | None = None, ready: Any = None,
                        secret: bytes | str | None = None, secret_file: Any = None,
                        insecure: bool = False, tls: TLSConfig | None = None,
                        recover: bool = False) -> int:
    """Serve until SIGINT/SIGTERM (or a fatal error); returns the exit status. The
    secret and TLS arguments are :class:`ReplicaServer`'s; ``recover`` accepts a lost
    or damaged acceptor state (see :class:`~fastsched.consensus.FileStorage`)."""
    server = ReplicaServer(replica_id, parse_peers(peers), data_dir, fsync=fsync, config=config,
                           secret=secret, secret_file=secret_file, insecure=insecure, tls=tls,
                           recover=recover)
    await server.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, server.stop)
        except (NotImplementedError, RuntimeError):     # not the main thread
            pass
    if ready is not None:
        ready(server)
    await server.stopped
    return 1 if server.fatal is not None else 0


def run_replica(replica_id: int, peers: Any, data_dir: Any, *, fsync: bool = True,
                config: ReplicaConfig | None = None, ready: Any = None,
                secret: bytes | str | None = None, secret_file: Any = None,
                insecure: bool = False, tls: TLSConfig | None = None,
                recover: bool = False) -> int:
    """Run one replica in this process (blocks; see :func:`serve_replica`)."""
    return asyncio.run(serve_replica(replica_id, peers, data_dir, fsync=fsync, config=config,
                                     ready=ready, secret=secret, secret_file=secret_file,
                                     insecure=insecure, tls=tls, recover=recover))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of a replica process (``fastsched replica`` and
    ``python -m fastsched.consensus.net.server`` take the same)."""
    parser.add_argument("--id", type=int, required=True, metavar="N",
                        help="this replica's 1-based position in --peers")
    parser.add_argument("--peers", required=True, metavar="HOST:PORT,...",
                        help="every replica's address, in the same order everywhere")
    parser.add_argument("--data", required=True, metavar="DIR",
                        help="directory of the durable log and snapshots (created if missing)")
    parser.add_argument("--secret-file", metavar="PATH",
                        help="the group's shared secret (>= 16 bytes, the same file on every "
                             f"member and client; default: ${SECRET_ENV}); connections "
                             "authenticate with it and every frame carries a MAC")
    parser.add_argument("--insecure", action="store_true",
                        help="run without a secret: connections are not authenticated "
                             "(a single trusted host only)")
    for name, what in (("cert", "this replica's certificate chain (PEM, common name "
                                 "replica-<id>)"),
                       ("key", "its private key (PEM)"),
                       ("ca", "the group's CA bundle (PEM)")):
        parser.add_argument(f"--tls-{name}", metavar="PATH",
                            help=f"mutual TLS instead of --secret-file: {what}")
    parser.add_argument("--no-fsync", dest="fsync", action="store_false",
                        help="skip fsync (throwaway tests only: a crash can lose votes)")
    parser.add_argument("--recover", action="store_true",
                        help="start even though the acceptor state in --data is missing, cut "
                             "short or damaged (the replica refuses otherwise: it may have "
                             "forgotten promises or votes, which Paxos' safety rests on)")
    parser.add_argument("--log-level", default="WARNING",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="logging level (default: WARNING)")


def run_from_args(args: argparse.Namespace) -> int:
    """Run the replica :func:`add_arguments` described until stopped; the exit
    status (0 after SIGINT/SIGTERM, 1 after a fatal consensus error, 2 on bad input)."""
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format=f"replica {args.id}: %(levelname)s %(message)s")
    try:
        peers = parse_peers(args.peers)
        if not 1 <= args.id <= len(peers):
            raise FastschedError(f"--id: expected 1..{len(peers)}, got {args.id}")
        if args.insecure and args.secret_file is not None:
            raise FastschedError("--insecure and --secret-file exclude each other")
        tls_paths = (args.tls_cert, args.tls_key, args.tls_ca)
        tls = None
        if any(p is not None for p in tls_paths):
            if None in tls_paths:
                raise FastschedError("--tls-cert, --tls-key and --tls-ca go together")
            if args.insecure or args.secret_file is not None:
                raise FastschedError("--tls-* exclude --secret-file and --insecure")
            tls = TLSConfig(*tls_paths)
            tls.server_context()            # unreadable files: a one-line error now
        secret = None if tls else resolve_secret(secret_file=args.secret_file,
                                                 insecure=args.insecure)
        if args.insecure:
            logging.getLogger("fastsched.consensus").warning(
                "--insecure: connections are not authenticated; anyone who can reach "
                "%s can act as a member of the group", peers[args.id - 1][0])

        def ready(server: Any) -> None:
            host, port = server.addresses[server.id]
            print(f"replica {server.id} listening on {host}:{port}", file=sys.stderr,
                  flush=True)

        return run_replica(args.id, peers, args.data, fsync=args.fsync, ready=ready,
                           secret=secret or None, insecure=args.insecure, tls=tls,
                           recover=args.recover)
    except (FastschedError, OSError) as err:
        print(f"fastsched: error: {err}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fastsched.consensus.net.server``: the same arguments as ``fastsched replica``."""
    parser = argparse.ArgumentParser(prog="fastsched replica")
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
