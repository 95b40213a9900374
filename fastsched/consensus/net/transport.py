"""Multi-Paxos over TCP: an asyncio server that drives one :class:`Replica`.

Wire format: frames, a 4-byte big-endian length followed by the body. With the
shared secret, a body is a batch of messages (each a frame holding the bytes of
:func:`~fastsched.consensus.messages.encode`: everything one side sends on the
connection in one event-loop turn) followed by a 16-byte MAC; under TLS, a body
is one message. Peers and clients use the same port. Each replica dials every other replica and
sends its peer messages on that outbound connection (reconnecting with
exponential backoff).

Authentication (:mod:`.auth`): every connection starts with a challenge-response
handshake on the group's shared secret that proves which replica (or that a
client) is at the other end; nothing else is read until it succeeds, and every
frame after it carries a MAC over a per-direction sequence number. A failed
handshake or MAC is counted (``auth_failures``, ``bad_macs`` in
:attr:`ReplicaServer.stats`), logged and closes the connection. A message whose
``src`` is not the authenticated replica, or a peer message on a client's
connection, or a request on a replica's, is counted (``forged``), logged and
dropped. What arrives is then decoded with the group's ``peers`` and this
replica's id, so a frame that is malformed or addressed to another replica is
counted (``bad_frames``), logged and dropped, never applied. An over-long frame
closes the connection (the stream cannot be re-synchronised); the caps on
buffered input (per connection, before authentication, and in total) are listed
at :data:`MAX_BUFFERED`.

Batching: the replica's storage is wrapped so that ``Replica`` does not fsync
per call. Everything produced in one event-loop turn (all frames that arrived
together, a tick) is collected; then, once per turn, the storage is synced and
only after that are the messages written, one ``write`` per connection. A burst
of client requests therefore costs one fsync, and Paxos' rule (durable before
the reply leaves) still holds.

Client requests are ``Request`` messages; the ``Reply`` goes back on the
connection the request came from. Two operations are served by the server
itself and never enter the log: ``state`` answers with this replica's applied
state (a local, possibly stale read), and the result of a ``read`` (which goes
through the log, hence linearizable) is replaced, on the leader that applied it,
by the state at that point. See :mod:`fastsched.consensus.net.server` for
``run_replica`` and :mod:`fastsched.consensus.net.client` for the
:class:`~fastsched.consensus.net.client.Client`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ...errors import AuthenticationError, ConsensusError, FrameError, MessageError
from ...profile.profile import Profile
from ..messages import (
    Accept,
    CatchupRequest,
    Command,
    Heartbeat,
    Message,
    Prepare,
    Reply,
    Request,
    canonical_json,
    decode,
    encode,
)
from ..paxos import Replica, ReplicaConfig
from ..replicated import OPS, SchedulerMachine
from ..storage import FileStorage, Recovered, Storage
from .auth import (
    CLIENT,
    HANDSHAKE_LIMIT,
    HANDSHAKE_TIMEOUT,
    MAX_SEALED,
    Initiator,
    Responder,
    Session,
    resolve_secret,
)
from .frames import FrameReader, frame
from .tls import PlainSession, TLSConfig, peer_identity

__all__ = ["ReplicaServer", "ServerStats", "BatchedStorage", "FrameReader", "FrameError",
           "frame", "state_summary", "STATE_OP", "NETWORK_CONFIG"]

log = logging.getLogger("fastsched.consensus")

STATE_OP = "state"                  # answered locally by the contacted replica
MAX_WRITE_BUFFER = 64 << 20         # a peer this far behind is dropped (Paxos resends)

# Timing for real networks. TCP does not lose messages on a live connection, and a
# loaded replica answers thousands of proposals hundreds of ms late, so resending
# them after 100 ms (the simulator's setting) only feeds a retransmission storm
# (measured on loopback: about a third less throughput at 0.5 s than at 1 s).
# Catch-up requests share that interval, hence larger catch-up batches. A deep
# window keeps the pipeline full across the fsync of each round.
NETWORK_CONFIG = ReplicaConfig(heartbeat_interval=0.05, election_timeout=0.4,
                               retransmit_interval=1.0, window=4096,
                               snapshot_every=20_000, catchup_batch=4096)


# What may leave before the sender's log is synced: these carry no vote or promise
# of the sender (a Promise, Accepted or Reject does; a Decision, Reply or catch-up
# reply may rest on this replica's own vote).
_UNHELD = frozenset({Accept, Prepare, Heartbeat, CatchupRequest})


class BatchedStorage(Storage):
    """A storage whose syncs the transport batches.

    :class:`Replica` syncs at the end of every call when ``storage.dirty``; this
    wrapper reports itself clean, so those syncs do nothing, and the transport
    makes the records durable once per event-loop turn, before any message of
    that turn is sent: :meth:`commit` syncs at once; :meth:`begin_commit` hands
    the fsync of a :class:`FileStorage` to a thread (it releases the GIL), so the
    loop keeps handling messages while the disk works (group commit).
    """

    def __init__(self, inner: Storage) -> None:
        super().__init__()
        self.inner = inner
        self.syncs = 0
        self._syncing: Any = None           # the concurrent future of a threaded fsync

    def load(self) -> Recovered:
        return self.inner.load()

    @property
    def log_records(self) -> int:       # type: ignore[override]
        return self.inner.log_records

    @property
    def log_bytes(self) -> int:         # type: ignore[override]
        return self.inner.log_bytes

    def promise(self, ballot: Any) -> None:
        self.inner.promise(ballot)

    def accept(self, slot: int, ballot: Any, command: Command) -> None:
        self.inner.accept(slot, ballot, command)

    def sync(self) -> None:
        pass                            # deferred to commit()

    @property
    def pending(self) -> bool:
        """Whether records were written since the last commit began."""
        return self.inner.dirty

    def commit(self) -> None:
        """Make every record so far durable (one fsync), here and now."""
        self._wait()
        if self.inner.dirty:
            self.inner.sync()
            self.syncs += 1

    def begin_commit(self, executor: Any) -> Any:
        """Start making every record so far durable; returns a concurrent future
        (None when there was nothing to sync or it was done at once). Records
        written meanwhile are left for the next commit."""
        inner = self.inner
        if not inner.dirty:
            return None
        if not isinstance(inner, FileStorage) or inner._fd is None or not inner.fsync:
            self.commit()
            return None
        self._wait()
        self.syncs += 1
        self._syncing = executor.submit(inner.sync_job())   # fsync, then the marker
        return self._syncing

    def end_commit(self) -> None:
        """Collect a threaded fsync that has finished (raises its error)."""
        self._wait()

    def _wait(self) -> None:
        if self._syncing is not None:
            self._syncing.result()          # an fsync error is fatal: raise it here
            self._syncing = None

    def install_snapshot(self, slot: int, snapshot: str) -> None:
        self._wait()                        # the log file is about to be replaced
        self.inner.install_snapshot(slot, snapshot)

    def close(self) -> None:
        self._wait()
        self.inner.close()


class ServedMachine(SchedulerMachine):
    """The scheduler state machine, also capturing :func:`state_summary` when a
    ``read`` this replica was asked for is applied (the replicated result stays
    ``{"ok": true}`` on every replica)."""

    def __init__(self, profile: Profile | None = None) -> None:
        super().__init__(profile, keep_log=False)
        self.summaries: dict[str, dict[str, Any]] = {}

    def apply(self, command: Command) -> Any:
        capture = command.id in self.pending_reads
        result = super().apply(command)
        if capture:
            self.reads.pop(command.id, None)
            self.summaries[command.id] = state_summary(self)
        return result


def state_summary(machine: SchedulerMachine, replica: Replica | None = None) -> dict[str, Any]:
    """What a client sees of a replica: ``bindings`` as {pod key: node}, ``nodes``
    (sorted names), ``commands`` (applied to the cluster), ``digest`` (SHA-256 of
    the canonical cluster state) and, with the replica, ``slots`` applied and its
    ``role``."""
    cluster = machine.cluster
    bindings = cluster.pod_nodes()
    nodes = sorted(cluster.node_names)
    digest = hashlib.sha256(canonical_json([nodes, sorted(bindings.items())]).encode())
    out: dict[str, Any] = {"bindings": bindings, "nodes": nodes, "commands": machine.applied,
                           "digest": digest.hexdigest()}
    if replica is not None:
        out["slots"] = replica.applied
        out["role"] = replica.role
        out["id"] = replica.id
    return out


@dataclass
class ServerStats:
    """Counters of one server (exposed in the ``state`` reply)."""

    frames_in: int = 0
    frames_out: int = 0
    bad_frames: int = 0         # malformed messages, dropped (the connection stays)
    dropped: int = 0            # messages not sent: no connection, or it was too far behind
    turns: int = 0              # flushes (event-loop turns with something to send)
    syncs: int = 0
    auth_failures: int = 0      # handshakes refused or timed out (connection closed)
    bad_macs: int = 0           # frames failing their MAC or sequence (connection closed)
    forged: int = 0             # messages whose sender is not the authenticated peer (dropped)
    overloaded: int = 0         # connections closed for buffering over a cap


# Input caps. A frame's length is checked before its body is buffered, so one
# connection holds at most its frame limit plus one read (asyncio reads <= 256 KiB).
# Before authentication that limit is a handshake frame (76 bytes), at most
# MAX_HANDSHAKING connections may be in the handshake and each has HANDSHAKE_TIMEOUT
# seconds; after it, a client's frames are capped lower than a replica's (a
# ``bind_many`` of 1,024 pods is about 1 MB; a catch-up reply with a snapshot is the
# largest replica message). Over MAX_BUFFERED bytes held by all connections at once,
# the connection that crossed the line is closed (a replica redials, Paxos resends).
MAX_HANDSHAKING = 64
MAX_CLIENT_FRAME = 16 << 20
MAX_REPLICA_FRAME = MAX_SEALED
MAX_BUFFERED = 3 * MAX_REPLICA_FRAME
_REPLY_FRAME = MAX_SEALED           # what a Client reads (a state reply can be large)


class _Connection(asyncio.Protocol):
    """One TCP connection: the handshake, then MACed frames from one known peer.

    ``dialled`` is the replica this side dialled (None for an accepted connection);
    ``peer`` is who the other end proved to be (a replica id, or ``CLIENT``), set
    once ``session`` is.
    """

    def __init__(self, server: "ReplicaServer", dialled: int | None = None) -> None:
        self.server = server
        self.dialled = dialled
        self.handshake: Initiator | Responder | None = (
            None if server.tls is not None       # TLS did the handshake before connection_made
            else Responder(server.secret, server.id, server._id_set) if dialled is None
            else Initiator(server.secret, server.id, dialled))
        self.peer: int | None = None
        self.session: Session | PlainSession | None = None
        self.reader = FrameReader(HANDSHAKE_LIMIT)
        self.buffered = 0                   # this connection's share of server._buffered
        self.transport: asyncio.Transport | None = None
        self.clients: set[str] = set()     # client names whose replies go here
        self._timer: asyncio.TimerHandle | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        server = self.server
        server._connections.add(self)
        if self.handshake is None:
            self._tls_identify()
            return
        if len(server._handshaking) >= MAX_HANDSHAKING:
            server.stats.overloaded += 1
            log.warning("replica %d: refusing a connection: %d others are in the handshake",
                        server.id, MAX_HANDSHAKING)
            transport.close()
            return
        server._handshaking.add(self)
        self._timer = server._loop.call_later(HANDSHAKE_TIMEOUT, self._timed_out)
        if isinstance(self.handshake, Initiator):
            transport.write(self.handshake.hello())

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        assert transport is not None        # set by connection_made
        if transport.is_closing():
            return
        server = self.server
        self.reader.push(data)
        try:
            while (payload := self.reader.pop()) is not None:
                if self.session is None:
                    self._handshake_step(payload)
                else:
                    for message in self.session.open(payload):
                        server._on_frame(self, message)
                        if transport.is_closing():
                            return
                if transport.is_closing():
                    return
        except AuthenticationError as err:
            if self.session is None:
                server.stats.auth_failures += 1
                what = "refused a handshake"
            else:
                server.stats.bad_macs += 1
                what = f"closing the connection of {self._who()}"
            log.warning("replica %d: %s: %s", server.id, what, err)
            transport.close()
            return
        except FrameError as err:
            if self.session is None:        # not even a handshake message
                server.stats.auth_failures += 1
            else:
                server.stats.bad_frames += 1
            log.warning("replica %d: closing a connection: %s", server.id, err)
            transport.close()
            return
        finally:
            self._account()
        if server._buffered > MAX_BUFFERED:
            server.stats.overloaded += 1
            log.warning("replica %d: closing the connection of %s: %d bytes buffered by all "
                        "connections is over the cap of %d", server.id, self._who(),
                        server._buffered, MAX_BUFFERED)
            transport.close()

    def _handshake_step(self, payload: bytes) -> None:
        assert self.transport is not None and self.handshake is not None
        reply = self.handshake.on_frame(payload)
        if reply:
            self.transport.write(reply)
        session = self.handshake.session
        if session is not None:
            assert self.handshake.peer is not None
            self._authenticated(self.handshake.peer, session)

    def _tls_identify(self) -> None:
        """A TLS connection: the verified certificate's name is the peer."""
        assert self.transport is not None
        try:
            peer = peer_identity(self.transport.get_extra_info("peercert"),
                                 self.server._id_set - {self.server.id})
            if self.dialled is not None and peer != self.dialled:
                raise AuthenticationError(f"dialled replica {self.dialled}, answered by "
                                          f"{'a client' if peer == CLIENT else peer}", "tls")
        except AuthenticationError as err:
            self.server.stats.auth_failures += 1
            log.warning("replica %d: refused a TLS connection: %s", self.server.id, err)
            self.transport.close()
            return
        self._authenticated(peer, PlainSession())

    def _authenticated(self, peer: int, session: Session | PlainSession) -> None:
        server = self.server
        self.session, self.peer = session, peer
        self.reader.limit = MAX_CLIENT_FRAME if peer == CLIENT else MAX_REPLICA_FRAME
        self._end_handshake()
        if self.dialled is not None:
            server._links[self.dialled] = self
        log.info("replica %d: %s authenticated", server.id, self._who())

    def _timed_out(self) -> None:
        self._timer = None
        if self.session is None and self.transport is not None \
                and not self.transport.is_closing():
            self.server.stats.auth_failures += 1
            log.warning("replica %d: closing a connection that did not authenticate within "
                        "%g s", self.server.id, HANDSHAKE_TIMEOUT)
            self.transport.close()

    def _end_handshake(self) -> None:
        self.server._handshaking.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _account(self) -> None:
        now = self.reader.buffered
        self.server._buffered += now - self.buffered
        self.buffered = now

    def _who(self) -> str:
        return "a client" if self.peer == CLIENT else f"replica {self.peer}"

    def connection_lost(self, exc: Exception | None) -> None:
        server = self.server
        server._connections.discard(self)
        self._end_handshake()
        server._buffered -= self.buffered
        self.buffered = 0
        self.reader = FrameReader(0)        # free the partial frame now
        if self.dialled is not None and server._links.get(self.dialled) is self:
            del server._links[self.dialled]
        for name in self.clients:
            if server._clients.get(name) is self:
                del server._clients[name]
        if not self.closed.done():
            self.closed.set_result(None)

    @property
    def writable(self) -> bool:
        return (self.session is not None and self.transport is not None
                and not self.transport.is_closing())


class ReplicaServer:
    """One replica of the group on asyncio TCP.

    ``addresses`` are every replica's ``(host, port)``; replica ids are their
    1-based positions, and this one is ``replica_id``. Its acceptor log and
    snapshots live in ``data_dir`` (:class:`FileStorage`; ``fsync=False`` only for
    throwaway tests; ``recover=True`` starts over lost or damaged acceptor state).
    Connections authenticate with the group's shared secret (``secret`` bytes or
    ``secret_file``, else ``FASTSCHED_SECRET_FILE``; or ``insecure=True``, see
    :mod:`.auth`), or with ``tls`` by mutual TLS (see :mod:`.tls`). ``start()``
    listens and dials the peers; ``stop()`` closes everything. Must be created and
    used inside a running event loop.
    """

    def __init__(self, replica_id: int, addresses: Sequence[tuple[str, int]], data_dir: Any, *,
                 fsync: bool = True, config: ReplicaConfig | None = None,
                 profile: Profile | None = None, seed: int = 0,
                 tick_interval: float | None = None, secret: bytes | str | None = None,
                 secret_file: Any = None, insecure: bool = False,
                 tls: TLSConfig | None = None, recover: bool = False) -> None:
        self.tls = tls
        self._ssl: dict[str, Any] = {}
        self._dial_ssl: dict[str, Any] = {}
        if tls is None:
            self.secret = resolve_secret(secret, secret_file, insecure)
        elif secret is not None or secret_file is not None or insecure:
            raise MessageError("expected TLS or a secret (or insecure), not both", "tls")
        else:
            self.secret = b""
            self._ssl = {"ssl": tls.server_context(), "ssl_handshake_timeout": HANDSHAKE_TIMEOUT}
            self._dial_ssl = {"ssl": tls.client_context(),
                              "ssl_handshake_timeout": HANDSHAKE_TIMEOUT}
        addresses = [(str(h), int(p)) for h, p in addresses]
        if not addresses:
            raise MessageError("expected at least one address", "peers")
        self.ids = tuple(range(1, len(addresses) + 1))
        if type(replica_id) is not int or replica_id not in self.ids:
            raise MessageError(f"expected a replica id in 1..{len(addresses)}, got "
                               f"{replica_id!r}", "id")
        self.id = replica_id
        self.addresses = dict(zip(self.ids, addresses))
        self.config = NETWORK_CONFIG if config is None else config
        self.tick_interval = (self.config.heartbeat_interval / 2 if tick_interval is None
                              else tick_interval)
        self.storage = BatchedStorage(FileStorage(data_dir, fsync=fsync, recover=recover))
        self.machine = ServedMachine(profile)
        self.replica = Replica(replica_id, self.ids, self.machine, self.storage,
                               config=self.config, seed=seed)
        self.stats = ServerStats()
        self.fatal: BaseException | None = None
        self._id_set = frozenset(self.ids)
        self._loop = asyncio.get_running_loop()
        self._pending: list[Message] = []
        self._flush_handle: asyncio.Handle | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._links: dict[int, _Connection] = {}
        self._clients: dict[str, _Connection] = {}
        self._connections: set[_Connection] = set()
        self._handshaking: set[_Connection] = set()
        self._buffered = 0                  # bytes of partial frames, all connections
        self._tasks: list[asyncio.Task[None]] = []
        self._server: asyncio.base_events.Server | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"fsync-{replica_id}")
        self._syncing = False
        self._held: list[Message] = []
        self.stopped: asyncio.Future[None] = self._loop.create_future()

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        host, port = self.addresses[self.id]
        self._server = await self._loop.create_server(lambda: _Connection(self), host, port,
                                                      reuse_address=True, **self._ssl)
        for peer in self.replica.others:
            self._tasks.append(self._loop.create_task(self._link(peer)))
        self._tick()

    def stop(self, error: BaseException | None = None) -> None:
        """Close the listener, every connection and the storage."""
        if self.stopped.done():
            return
        self.fatal = error
        for handle in (self._tick_handle, self._flush_handle):
            if handle is not None:
                handle.cancel()
        for task in self._tasks:
            task.cancel()
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            if conn.transport is not None:
                conn.transport.close()
        try:
            self.storage.close()
        except OSError as err:
            log.error("replica %d: closing the log: %s", self.id, err)
        self._executor.shutdown(wait=False)
        self.stopped.set_result(None)

    async def _link(self, peer: int) -> None:
        """Keep an outbound connection to ``peer``, redialling with backoff; it
        carries messages once the handshake has proved it reaches ``peer``."""
        host, port = self.addresses[peer]
        delay = 0.02
        while True:
            try:
                _, conn = await self._loop.create_connection(
                    lambda: _Connection(self, peer), host, port, **self._dial_ssl)
            except OSError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            await conn.closed
            if conn.session is None:        # refused or failed the handshake: back off
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
            else:
                delay = 0.02

    # -- input -----------------------------------------------------------------------

    def _tick(self) -> None:
        self._queue(self._call(self.replica.on_tick, self._loop.time()))
        self._tick_handle = self._loop.call_later(self.tick_interval, self._tick)

    def _on_frame(self, conn: _Connection, payload: bytes) -> None:
        """One authenticated frame's payload: decoded, its sender checked, handled."""
        if self.stopped.done():
            return
        self.stats.frames_in += 1
        try:
            msg = decode(payload, peers=self._id_set, me=self.id)
            if isinstance(msg, Reply):
                raise MessageError("a replica does not take replies", "t")
        except MessageError as err:
            self.stats.bad_frames += 1
            log.warning("replica %d: dropped a bad frame: %s", self.id, err)
            return
        # Clients send requests only; replicas send peer messages under their own id.
        if conn.peer == CLIENT:
            forged = not isinstance(msg, Request)
        else:
            forged = isinstance(msg, Request) or msg.src != conn.peer
        if forged:
            self.stats.forged += 1
            claimed = "" if isinstance(msg, Request) else f" from replica {msg.src}"
            log.warning("replica %d: dropped a %s%s sent by %s", self.id, type(msg).__name__,
                        claimed, conn._who())
            return
        if isinstance(msg, Request) and not self._on_request(conn, msg):
            return
        self._queue(self._call(self.replica.on_message, msg, self._loop.time()))
        if isinstance(msg, Request) and msg.command.op == "read" \
                and not self.replica.is_leader:
            self.machine.pending_reads.discard(msg.command.id)

    def _on_request(self, conn: _Connection, msg: Request) -> bool:
        """Client bookkeeping; False when the request was answered here."""
        self._clients[msg.client] = conn
        conn.clients.add(msg.client)
        cmd = msg.command
        if cmd.op == STATE_OP:
            state = state_summary(self.machine, self.replica)
            state["stats"] = vars(self.stats).copy()
            self._queue([Reply(self.id, msg.client, cmd.id, True,
                               canonical_json({"ok": True, "state": state}))])
            return False
        if cmd.op not in OPS:
            self._queue([Reply(self.id, msg.client, cmd.id, False,
                               error=f"unknown operation {cmd.op!r}")])
            return False
        if cmd.op == "read":
            self.machine.pending_reads.add(cmd.id)
        return True

    def _call(self, fn: Any, *args: Any) -> list[Message]:
        try:
            return fn(*args)
        except MessageError as err:
            self.stats.bad_frames += 1
            log.warning("replica %d: rejected a message: %s", self.id, err)
        except ConsensusError as err:       # Paxos itself is broken: stop loudly
            log.critical("replica %d: %s", self.id, err)
            self.stop(err)
        return []

    # -- output ----------------------------------------------------------------------

    def _queue(self, messages: Iterable[Message]) -> None:
        self._pending.extend(messages)
        if self._pending and self._flush_handle is None and not self.stopped.done():
            # call_soon runs after every callback already ready in this turn of the
            # loop: all frames that arrived together go out in one batch.
            self._flush_handle = self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        out, self._pending = self._pending, []
        # Messages that state none of our votes or promises go at once; the rest
        # (promises, votes, rejections, decisions, replies) wait until every record
        # written so far is durable. The loop goes on handling input meanwhile.
        self._send([m for m in out if type(m) in _UNHELD])
        self._held.extend(m for m in out if type(m) not in _UNHELD)
        if self._syncing or not self._held:
            return
        self.stats.turns += 1
        syncs = self.storage.syncs
        try:
            future = self.storage.begin_commit(self._executor)
        except OSError as err:
            log.critical("replica %d: cannot sync the log: %s", self.id, err)
            self.stop(err)
            return
        self.stats.syncs += self.storage.syncs - syncs
        batch, self._held = self._held, []
        if future is None:
            self._send(batch)
            return
        self._syncing = True
        future.add_done_callback(
            lambda f: self._loop.call_soon_threadsafe(self._synced, f, batch))

    def _synced(self, future: Any, batch: list[Message]) -> None:
        self._syncing = False
        if self.stopped.done():
            return
        err = future.exception()
        if err is not None:
            log.critical("replica %d: cannot sync the log: %s", self.id, err)
            self.stop(err)
            return
        self.storage.end_commit()
        self._send(batch)
        if self._held and self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def _send(self, out: list[Message]) -> None:
        batches: dict[_Connection, list[bytes]] = {}
        for msg in out:
            if isinstance(msg, Reply):
                conn = self._clients.get(msg.client)
                msg = self._with_read_state(msg)
            else:
                conn = self._links.get(msg.dst)
            if conn is None or not conn.writable:
                self.stats.dropped += 1
                continue
            batches.setdefault(conn, []).append(encode(msg))
        for conn, payloads in batches.items():
            assert conn.transport is not None and conn.session is not None  # conn.writable
            if conn.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
                self.stats.dropped += len(payloads)
                conn.transport.close()      # far behind: redial, let Paxos resend
                continue
            # One MACed frame per batch, sealed in the order written: the peer checks
            # each frame's sequence number.
            limit = _REPLY_FRAME if conn.peer == CLIENT else MAX_REPLICA_FRAME
            conn.transport.write(conn.session.seal_many(payloads, limit))
            self.stats.frames_out += len(payloads)

    def _with_read_state(self, reply: Reply) -> Reply:
        state = self.machine.summaries.pop(reply.command_id, None)
        if state is None:
            if not reply.ok:
                self.machine.pending_reads.discard(reply.command_id)
            return reply
        return Reply(reply.src, reply.client, reply.command_id, True,
                     canonical_json({"ok": True, "state": state}))
