"""A blocking client of a replica group: :class:`Client`.

It finds the leader (following ``not leader`` replies), pipelines many commands on
one connection, and retries a command under the same id after a timeout or a
lost connection, so a command is applied at most once (the log de-duplicates
by id) and every acknowledged command was chosen. The replicas it talks to run
:func:`~fastsched.consensus.net.server.run_replica` (``python -m
fastsched.consensus.net.server`` or ``fastsched replica``). Every connection it
opens authenticates first with the group's shared secret (role "client", see
:mod:`.auth`; :func:`authenticate` is that handshake on a blocking socket) or by
mutual TLS (:mod:`.tls`).
"""

from __future__ import annotations

import json
import os
import secrets
import select
import socket
import ssl
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...cluster.cluster import Cluster
from ...errors import AuthenticationError, ClientTimeout, FrameError, MessageError, ValidationError
from ...model.pod import Pod, pod_from_dict
from ..codec import node_to_json, pod_to_json
from ..messages import Command, Reply, Request, canonical_json, decode, encode
from ..paxos import NOT_LEADER
from ..replicated import MAX_BATCH
from .auth import CLIENT, HANDSHAKE_LIMIT, HANDSHAKE_TIMEOUT, MAX_SEALED, Initiator, Session, resolve_secret
from .frames import FrameReader
from .peers import parse_peers
from .tls import PlainSession, TLSConfig, peer_identity
from .transport import MAX_CLIENT_FRAME, STATE_OP

__all__ = ["Client", "ClientTimeout", "authenticate"]

_REPLY_LIMIT = MAX_SEALED


def authenticate(sock: socket.socket, secret: bytes, replica_id: int,
                 me: int = CLIENT) -> Session:
    """Run the handshake as ``me`` (a client unless told a replica id) with replica
    ``replica_id`` on the connected, blocking ``sock``; returns the session that
    seals and opens its frames. Raises :class:`AuthenticationError` if the replica
    does not prove the secret, ``OSError`` if the connection fails."""
    handshake = Initiator(secret, me, replica_id)
    sock.sendall(handshake.hello())
    reader = FrameReader(HANDSHAKE_LIMIT)
    try:
        while (payload := reader.pop()) is None:
            data = sock.recv(HANDSHAKE_LIMIT)
            if not data:
                raise ConnectionError(f"replica {replica_id} closed the connection in the "
                                      f"handshake")
            reader.push(data)
    except FrameError:
        raise AuthenticationError(f"replica {replica_id} did not answer the handshake",
                                  "handshake") from None
    sock.sendall(handshake.on_frame(payload))
    assert handshake.session is not None        # on_frame raises otherwise
    return handshake.session


class Client:
    """A blocking client of a replica group.

    ``peers`` as for ``fastsched replica --peers``; ``secret`` (bytes) or
    ``secret_file`` as the replicas' (default: the file ``FASTSCHED_SECRET_FILE``
    names), or ``insecure=True`` if they run ``--insecure``, or ``tls`` (this
    client's certificate, named ``client``, see :mod:`.tls`). ``timeout`` bounds
    every call; ``retry_after`` is how long a command may go unanswered before it is
    resent (under the same id) to another replica. Results are the replicated
    results: ``{"ok": true, ...}`` or ``{"ok": false, "error": ..., "message": ...}``.
    A replica that fails to prove the secret raises :class:`AuthenticationError`.
    """

    def __init__(self, peers: Any, *, timeout: float = 30.0, retry_after: float = 1.0,
                 window: int = 1024, name: str | None = None,
                 secret: bytes | str | None = None, secret_file: Any = None,
                 insecure: bool = False, tls: TLSConfig | None = None) -> None:
        self.addresses = parse_peers(peers)
        self._tls: ssl.SSLContext | None = None
        if tls is None:
            self._secret = resolve_secret(secret, secret_file, insecure)
        elif secret is not None or secret_file is not None or insecure:
            raise ValidationError("expected TLS or a secret (or insecure), not both", "tls")
        else:
            self._secret, self._tls = b"", tls.client_context()
        self.timeout = timeout
        self.retry_after = retry_after
        self.window = window
        self.name = name or f"c{os.getpid()}-{secrets.token_hex(4)}"
        self._seq = 0
        self._target = 1                   # replica id we believe leads
        self._sock: socket.socket | None = None
        self._session: Session | PlainSession | None = None
        self._reader = FrameReader(_REPLY_LIMIT)

    # -- commands ------------------------------------------------------------------

    def submit(self, op: str, data: Any) -> dict[str, Any]:
        """Run one command and return its result once it is chosen and applied."""
        return self.submit_many([(op, data)])[0]

    def submit_many(self, commands: Iterable[tuple[str, Any]],
                    latencies: list[float] | None = None) -> list[dict[str, Any]]:
        """Run many commands, pipelined (up to ``window`` outstanding); results in
        order. ``latencies``, if given, receives each command's seconds from first
        send to its reply."""
        cmds = [self._command(op, data) for op, data in commands]
        return self._run(cmds, latencies)

    def submit_bind(self, pod: Mapping[str, Any] | Pod, node: str) -> dict[str, Any]:
        """Bind a pod (a v1 Pod manifest dict or a :class:`Pod`) to ``node``."""
        return self.submit_binds([(pod, node)])[0]

    def submit_binds(self, pairs: Iterable[tuple[Mapping[str, Any] | Pod, str]],
                     latencies: list[float] | None = None,
                     per_command: int = 1) -> list[dict[str, Any]]:
        """Bind many pods, pipelined; one result per pod, in order. With
        ``per_command`` > 1, that many binds travel in each log entry (``bind_many``:
        each is still checked and applied on its own); ``latencies`` then has one
        entry per command."""
        if not isinstance(per_command, int) or not 1 <= per_command <= MAX_BATCH:
            raise ValidationError(f"expected 1 to {MAX_BATCH}", "per_command")
        bodies = [_bind_body(pod, node) for pod, node in pairs]
        if per_command == 1:
            return self.submit_many((("bind", body) for body in bodies), latencies)
        chunks = [bodies[i:i + per_command] for i in range(0, len(bodies), per_command)]
        replies = self.submit_many((("bind_many", {"binds": chunk}) for chunk in chunks),
                                   latencies)
        out: list[dict[str, Any]] = []
        for chunk, reply in zip(chunks, replies):
            out.extend(reply.get("results") or [reply] * len(chunk))
        return out

    def add_node(self, name: str, allocatable: Any, labels: Any = None, taints: Any = (),
                 unschedulable: bool = False, images: Any = None) -> dict[str, Any]:
        """Add a node (arguments as for ``Cluster.add_node``, checked here first)."""
        scratch = Cluster()
        scratch.add_node(name, allocatable, labels=labels, taints=taints,
                         unschedulable=unschedulable, images=images)
        return self.submit("add_node", {"node": node_to_json(scratch.node(name))})

    def state(self) -> dict[str, Any]:
        """A linearizable read (through the log) of the leader's applied state:
        ``bindings`` ({pod key: node}), ``nodes``, ``commands``, ``digest``."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            result = self.submit("read", {})
            if "state" in result:
                return result["state"]
            # A retried read answered from the de-duplication table: read again.
        raise ClientTimeout("no linearizable read completed in time")

    def local_state(self, replica_id: int) -> dict[str, Any]:
        """Replica ``replica_id``'s applied state, as it is now (not linearizable);
        also ``slots``, ``role`` and its transport ``stats``."""
        if replica_id not in range(1, len(self.addresses) + 1):
            raise ValidationError(f"expected 1..{len(self.addresses)}, got {replica_id!r}",
                                  "replica_id")
        cmd = self._command(STATE_OP, {})
        request = encode(Request(self.name, replica_id, cmd))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:         # the replica may be starting up
            try:
                sock, session = self._open(replica_id, self.timeout)
                with sock:
                    sock.sendall(session.seal(request))
                    reader = FrameReader(_REPLY_LIMIT)
                    while True:
                        data = sock.recv(1 << 16)
                        if not data:
                            break
                        for body in reader.feed(data):
                            for payload in session.open(body):
                                reply = decode(payload)
                                if isinstance(reply, Reply) and reply.command_id == cmd.id:
                                    return json.loads(reply.result)["state"]
            except OSError:
                pass
            time.sleep(0.05)
        raise ClientTimeout(f"replica {replica_id} did not answer")

    def close(self) -> None:
        self._disconnect()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------

    def _command(self, op: str, data: Any) -> Command:
        self._seq += 1
        return Command(f"{self.name}:{self._seq}", op, canonical_json(data))

    def _disconnect(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._session = None
        self._reader = FrameReader(_REPLY_LIMIT)

    def _rotate(self, hint: int = -1) -> None:
        self._disconnect()
        n = len(self.addresses)
        self._target = hint if 1 <= hint <= n and hint != self._target \
            else self._target % n + 1

    def _open(self, replica_id: int, connect_timeout: float
              ) -> tuple[socket.socket, Session | PlainSession]:
        """A blocking connection to ``replica_id``, authenticated: by the secret's
        handshake, or by TLS and the name in the replica's certificate."""
        sock = socket.create_connection(self.addresses[replica_id - 1], timeout=connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(min(self.timeout, HANDSHAKE_TIMEOUT))
            if self._tls is None:
                return sock, authenticate(sock, self._secret, replica_id)
            try:
                sock = self._tls.wrap_socket(sock)
            except ssl.SSLCertVerificationError as err:
                raise AuthenticationError(f"replica {replica_id}: {err}", "tls") from None
            peer = peer_identity(sock.getpeercert(), frozenset(range(1, len(self.addresses) + 1)))
            if peer != replica_id:
                raise AuthenticationError(f"dialled replica {replica_id}, whose certificate "
                                          f"names {peer}", "tls")
            return sock, PlainSession()
        except BaseException:
            sock.close()
            raise

    def _connect(self) -> socket.socket | None:
        """The connection to the target, opened and authenticated if need be (None
        if that failed; an :class:`AuthenticationError` is raised)."""
        if self._sock is None:
            try:
                sock, self._session = self._open(self._target, 0.5)
            except OSError:
                return None
            sock.setblocking(False)
            self._sock = sock
        return self._sock

    @staticmethod
    def _recv(sock: socket.socket) -> bytes | None:
        """What arrived on non-blocking ``sock`` within 50 ms (None: nothing yet)."""
        # TLS may hold a decrypted record that select() cannot see.
        pending = isinstance(sock, ssl.SSLSocket) and sock.pending()
        if not pending and not select.select([sock], [], [], 0.05)[0]:
            return None
        try:
            return sock.recv(1 << 20)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return None             # a partial TLS record

    def _run(self, cmds: Sequence[Command], latencies: list[float] | None) -> list[dict]:
        index = {c.id: i for i, c in enumerate(cmds)}
        results: list[Any] = [None] * len(cmds)
        first_sent: dict[str, float] = {}
        queue = deque(cmds)
        inflight: dict[str, Command] = {}
        done = 0
        deadline = time.monotonic() + self.timeout
        last_progress = time.monotonic()
        while done < len(cmds):
            now = time.monotonic()
            if now > deadline:
                raise ClientTimeout(f"{len(cmds) - done} of {len(cmds)} commands were not "
                                    f"answered within {self.timeout} s")
            if inflight and now - last_progress > self.retry_after:
                queue.extendleft(reversed(list(inflight.values())))   # resend elsewhere
                inflight.clear()
                self._rotate()
                last_progress = now
            sock = self._connect()
            if sock is None:
                queue.extendleft(reversed(list(inflight.values())))
                inflight.clear()
                self._rotate()
                time.sleep(0.05)
                continue
            out = []
            while queue and len(inflight) < self.window:
                cmd = queue.popleft()
                if results[index[cmd.id]] is not None:
                    continue
                inflight[cmd.id] = cmd
                first_sent.setdefault(cmd.id, now)
                out.append(encode(Request(self.name, self._target, cmd)))
            try:
                if out:
                    assert self._session is not None    # set with self._sock
                    sealed = self._session.seal_many(out, MAX_CLIENT_FRAME)
                    sock.setblocking(True)
                    sock.sendall(sealed)
                    sock.setblocking(False)
                data = self._recv(sock)
            except OSError:
                data = b""
            if data == b"":                 # connection lost: resend elsewhere
                queue.extendleft(reversed(list(inflight.values())))
                inflight.clear()
                self._rotate()
                continue
            if not data:
                continue
            try:
                frames = self._reader.feed(data)
            except MessageError:
                frames = []
                self._disconnect()
            redirect = None
            session = self._session
            try:
                assert session is not None
                replies = [decode(p) for body in frames for p in session.open(body)]
            except MessageError:            # the retry timer resends what is in flight
                replies = []
                self._disconnect()
            for reply in replies:
                if not isinstance(reply, Reply) or reply.command_id not in inflight:
                    continue
                cmd = inflight.pop(reply.command_id)
                if reply.ok:
                    i = index[cmd.id]
                    results[i] = json.loads(reply.result)
                    done += 1
                    last_progress = time.monotonic()
                    if latencies is not None:
                        latencies.append(last_progress - first_sent[cmd.id])
                elif reply.error == NOT_LEADER:
                    queue.appendleft(cmd)
                    redirect = reply.leader
                else:
                    raise ValidationError(reply.error, "command")
            if redirect is not None:
                queue.extendleft(reversed(list(inflight.values())))
                inflight.clear()
                if redirect < 1 or redirect == self._target:
                    time.sleep(0.05)        # no leader known yet: try the next one
                    redirect = -1
                self._rotate(redirect)
                last_progress = time.monotonic()
        return results


def _bind_body(pod: Mapping[str, Any] | Pod, node: str) -> dict[str, Any]:
    if not isinstance(pod, Pod):
        if not isinstance(pod, Mapping):
            raise ValidationError(f"expected a Pod or a v1 Pod dict, got "
                                  f"{type(pod).__name__}", "pod")
        pod = pod_from_dict(pod)
    if not isinstance(node, str) or not node:
        raise ValidationError("expected a node name", "node")
    return {"pod": pod_to_json(pod), "node": node}

