"""The network side of :mod:`fastsched.consensus`: replicas over TCP, and a client.

The state machine (:mod:`~fastsched.consensus.paxos`, the messages, the storage,
the replicated scheduler) knows nothing of sockets; this package drives it:

* :mod:`~fastsched.consensus.net.transport` -- the wire format (length-prefixed
  frames) and :class:`ReplicaServer`, the asyncio server around one
  :class:`~fastsched.consensus.Replica` that batches fsyncs per event-loop turn;
* :mod:`~fastsched.consensus.net.server` -- the replica process:
  ``run_replica``/``serve_replica`` and ``python -m
  fastsched.consensus.net.server`` (the arguments of ``fastsched replica``);
* :mod:`~fastsched.consensus.net.client` -- :class:`Client`, a blocking client
  that finds the leader, pipelines and retries;
* :mod:`~fastsched.consensus.net.peers` -- ``--peers`` as address pairs;
* :mod:`~fastsched.consensus.net.auth` -- the shared-secret handshake every
  connection starts with and the MAC on every frame after it;
* :mod:`~fastsched.consensus.net.tls` -- mutual TLS, the alternative to the secret;
* :mod:`~fastsched.consensus.net.frames` -- length-prefixed frames.

Imports go one way: this package imports the state machine, never the reverse,
and :mod:`fastsched.cli.replica` imports :mod:`.server`, never the reverse.
"""

from .auth import SECRET_ENV, resolve_secret
from .client import Client, ClientTimeout, authenticate
from .peers import parse_peers
from .tls import TLSConfig
from .transport import (
    NETWORK_CONFIG,
    STATE_OP,
    BatchedStorage,
    FrameError,
    FrameReader,
    ReplicaServer,
    ServerStats,
    frame,
    state_summary,
)

_SERVER = ("run_replica", "serve_replica")


def __getattr__(name: str):
    # The replica process is imported on first use, so that
    # ``python -m fastsched.consensus.net.server`` runs it as a fresh module.
    if name in _SERVER:
        from . import server
        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Client", "ClientTimeout", "authenticate", "resolve_secret", "SECRET_ENV", "parse_peers",
    "run_replica", "serve_replica", "TLSConfig",
    "ReplicaServer", "ServerStats", "BatchedStorage", "FrameReader", "FrameError", "frame",
    "state_summary", "STATE_OP", "NETWORK_CONFIG",
]
