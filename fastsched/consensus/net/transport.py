"""Multi-Paxos over TCP: an asyncio server that drives one :class:`Replica`.

Wire format: every message is one frame, a 4-byte big-endian length followed by
the bytes of :func:`~fastsched.consensus.messages.encode`. Peers and clients use
the same port. Each replica dials every other replica and sends its peer
messages on that outbound connection (reconnecting with exponential backoff);
whatever arrives on any connection is decoded with the group's ``peers`` and this
replica's id, so a frame that is malformed, from a stranger or addressed to
another replica is counted in :attr:`ReplicaServer.stats`, logged and dropped,
never applied. An over-long frame closes the connection (the stream cannot be
re-synchronised).

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
import struct
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ...errors import ConsensusError, FrameError, MessageError
from ...profile.profile import Profile
from ..messages import (
    MAX_MESSAGE_BYTES,
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

__all__ = ["ReplicaServer", "ServerStats", "BatchedStorage", "FrameReader", "FrameError",
           "frame", "state_summary", "STATE_OP", "NETWORK_CONFIG"]

log = logging.getLogger("fastsched.consensus")

_LENGTH = struct.Struct(">I")
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


def frame(payload: bytes) -> bytes:
    """``payload`` with its 4-byte big-endian length in front."""
    return _LENGTH.pack(len(payload)) + payload


class FrameReader:
    """Splits a byte stream into frames; ``feed`` returns the complete ones."""

    def __init__(self, limit: int = MAX_MESSAGE_BYTES) -> None:
        self.limit = limit
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        frames = []
        pos, size = 0, len(buf)
        while size - pos >= 4:
            (length,) = _LENGTH.unpack_from(buf, pos)
            if length > self.limit:
                raise FrameError(f"frame of {length} bytes is over the limit of "
                                 f"{self.limit}", "frame")
            end = pos + 4 + length
            if end > size:
                break
            frames.append(bytes(buf[pos + 4:end]))
            pos = end
        if pos:
            del buf[:pos]
        return frames


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
    bindings = {pod.key: node for pod, node in cluster.bindings()}
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
    bad_frames: int = 0
    dropped: int = 0            # messages not sent: no connection, or it was too far behind
    turns: int = 0              # flushes (event-loop turns with something to send)
    syncs: int = 0


class _Connection(asyncio.Protocol):
    def __init__(self, server: "ReplicaServer", peer: int | None = None) -> None:
        self.server = server
        self.peer = peer
        self.reader = FrameReader()
        self.transport: asyncio.Transport | None = None
        self.clients: set[str] = set()     # client names whose replies go here
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.server._connections.add(self)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.reader.feed(data)
        except FrameError as err:
            self.server.stats.bad_frames += 1
            log.warning("replica %d: closing a connection: %s", self.server.id, err)
            assert self.transport is not None   # set by connection_made
            self.transport.close()
            return
        for payload in frames:
            self.server._on_frame(self, payload)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)
        for name in self.clients:
            if self.server._clients.get(name) is self:
                del self.server._clients[name]
        if not self.closed.done():
            self.closed.set_result(None)

    @property
    def writable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()


class ReplicaServer:
    """One replica of the group on asyncio TCP.

    ``addresses`` are every replica's ``(host, port)``; replica ids are their
    1-based positions, and this one is ``replica_id``. Its acceptor log and
    snapshots live in ``data_dir`` (:class:`FileStorage`; ``fsync=False`` only for
    throwaway tests; ``recover=True`` starts over lost or damaged acceptor state).
    ``start()`` listens and dials the peers; ``stop()`` closes everything. Must be
    created and used inside a running event loop.
    """

    def __init__(self, replica_id: int, addresses: Sequence[tuple[str, int]], data_dir: Any, *,
                 fsync: bool = True, config: ReplicaConfig | None = None,
                 profile: Profile | None = None, seed: int = 0,
                 tick_interval: float | None = None, recover: bool = False) -> None:
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
                                                      reuse_address=True)
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
        """Keep an outbound connection to ``peer``, redialling with backoff."""
        host, port = self.addresses[peer]
        delay = 0.02
        while True:
            try:
                _, conn = await self._loop.create_connection(
                    lambda: _Connection(self, peer), host, port)
            except OSError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            delay = 0.02
            self._links[peer] = conn
            await conn.closed
            if self._links.get(peer) is conn:
                del self._links[peer]

    # -- input -----------------------------------------------------------------------

    def _tick(self) -> None:
        self._queue(self._call(self.replica.on_tick, self._loop.time()))
        self._tick_handle = self._loop.call_later(self.tick_interval, self._tick)

    def _on_frame(self, conn: _Connection, payload: bytes) -> None:
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
            batches.setdefault(conn, []).append(frame(encode(msg)))
        for conn, frames in batches.items():
            assert conn.transport is not None   # conn.writable checked it
            if conn.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
                self.stats.dropped += len(frames)
                conn.transport.close()      # far behind: redial, let Paxos resend
                continue
            conn.transport.write(b"".join(frames))
            self.stats.frames_out += len(frames)

    def _with_read_state(self, reply: Reply) -> Reply:
        state = self.machine.summaries.pop(reply.command_id, None)
        if state is None:
            if not reply.ok:
                self.machine.pending_reads.discard(reply.command_id)
            return reply
        return Reply(reply.src, reply.client, reply.command_id, True,
                     canonical_json({"ok": True, "state": state}))
