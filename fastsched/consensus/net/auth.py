"""Who is on the other end of a connection: a shared-secret handshake and MACed frames.

Every replica and client of a group holds the same secret (a file of at least 16
bytes: ``--secret-file PATH``, or the path in ``FASTSCHED_SECRET_FILE``). Making one
takes one step, e.g. ``python -c "import secrets; print(secrets.token_hex(32))" >
cluster.secret``; copy it to every member and keep it private (mode 0600). Without
a secret a replica refuses to start and a :class:`Client` refuses to connect,
unless told ``--insecure`` (``insecure=True``): then the handshake runs with an
empty key, which proves nothing -- for a single trusted host only.

The handshake (all frames are length-prefixed, see :mod:`.frames`)::

    initiator -> responder   HELLO    magic, initiator id, responder id, nonce_i
    responder -> initiator   WELCOME  magic, responder id, nonce_r, proof_r
    initiator -> responder   PROOF    magic, proof_i

Ids are replica ids (1..n) or 0 for a client. With the transcript ``T`` = the
version tag, both ids and both 32-byte random nonces, ``proof_r`` = HMAC-SHA256
(secret, "responder" + T) and ``proof_i`` = HMAC-SHA256(secret, "initiator" + T).
Each proof covers a nonce the verifier just drew, so a recorded handshake cannot be
replayed, and the role label keeps one side's proof from being reflected back as
the other's. The responder proves itself first: a client with the wrong secret
finds out at once and says so, instead of timing out.

After it, each direction has its own key, HMAC-SHA256(secret, "key i->r" + T) and
"key r->i", and every frame carries a 16-byte MAC (truncated HMAC-SHA256) over an
implicit 64-bit sequence number and the frame's body. The sequence number is not
sent: each side counts the frames, so a frame replayed, reordered, dropped or
copied from another connection fails its MAC. A failed MAC closes the connection.
A frame's body is a batch of length-prefixed messages -- all that one side sends
on the connection in one event-loop turn, up to a size limit -- so the MAC costs
one HMAC per batch rather than per message (measured on small Accept messages, a
MAC per message added about a fifth to the cost of encoding and decoding them).

This authenticates the members of the group and protects each frame's integrity;
it does not encrypt (use a private network, or TLS, for confidentiality). One
secret for the whole group proves membership, not which member: whoever holds it
can claim any replica id, so a stolen secret (or a compromised member) is a
compromised group; per-member certificates (:mod:`.tls`) confine a leak to one
identity. All clients share the identity "client": any holder of the secret may
submit commands.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import struct
from collections.abc import Sequence
from typing import Any

from ...errors import AuthenticationError, ValidationError
from ..messages import MAX_MESSAGE_BYTES
from .frames import frame, split_frames

__all__ = ["SECRET_ENV", "CLIENT", "MIN_SECRET_BYTES", "MAC_BYTES", "HANDSHAKE_LIMIT",
           "HANDSHAKE_TIMEOUT", "MAX_SEALED", "resolve_secret", "load_secret", "Initiator",
           "Responder", "Session"]

SECRET_ENV = "FASTSCHED_SECRET_FILE"
CLIENT = 0                      # the id clients authenticate as
MIN_SECRET_BYTES = 16           # 128 bits: no less than the MAC keeps
MAX_SECRET_BYTES = 4096         # a secret file is read whole; anything longer is a mistake
MAC_BYTES = 16                  # truncated HMAC-SHA256 (RFC 2104 section 5: >= half)
NONCE_BYTES = 32
HANDSHAKE_TIMEOUT = 5.0         # seconds a connection may take to authenticate
_MAGIC = b"FSA1"
_HELLO = struct.Struct(f">4sII{NONCE_BYTES}s")
_WELCOME = struct.Struct(f">4sI{NONCE_BYTES}s32s")
_PROOF = struct.Struct(">4s32s")
HANDSHAKE_LIMIT = max(_HELLO.size, _WELCOME.size, _PROOF.size)   # frame limit until then
_SEQ = struct.Struct(">Q")
MAX_SEALED = MAX_MESSAGE_BYTES + 4 + MAC_BYTES  # the body of a frame holding the largest message


# -- the secret -------------------------------------------------------------------------


def load_secret(path: Any) -> bytes:
    """The secret in file ``path`` (surrounding whitespace stripped)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SECRET_BYTES + 1)
    except (OSError, TypeError, ValueError) as err:
        raise ValidationError(f"cannot read the secret file {path!r}: {err}",
                              "secret_file") from None
    if len(data) > MAX_SECRET_BYTES:
        raise ValidationError(f"{path}: a secret file holds at most {MAX_SECRET_BYTES} bytes",
                              "secret_file")
    secret = data.strip()
    if len(secret) < MIN_SECRET_BYTES:
        raise ValidationError(f"{path}: expected a secret of at least {MIN_SECRET_BYTES} "
                              f"bytes, got {len(secret)}", "secret_file")
    return secret


def resolve_secret(secret: bytes | str | None = None, secret_file: Any = None,
                   insecure: bool = False) -> bytes:
    """The key a replica or client authenticates with.

    ``secret`` (bytes, or text as UTF-8) or ``secret_file`` (a path); with neither,
    the file named by ``FASTSCHED_SECRET_FILE``. ``insecure=True`` (and no secret)
    gives the empty key. Anything else raises :class:`ValidationError`.
    """
    if insecure is not True and insecure is not False:
        raise ValidationError(f"expected true or false, got {insecure!r}", "insecure")
    if secret is not None and secret_file is not None:
        raise ValidationError("expected a secret or a secret file, not both", "secret")
    if insecure:
        if secret is not None or secret_file is not None:
            raise ValidationError("insecure mode takes no secret", "insecure")
        return b""
    if secret is None and secret_file is None:
        secret_file = os.environ.get(SECRET_ENV) or None
        if secret_file is None:
            raise ValidationError(f"a shared secret is required: a secret file (--secret-file "
                                  f"or {SECRET_ENV}), or insecure mode on a trusted host",
                                  "secret")
    if secret_file is not None:
        return load_secret(secret_file)
    if isinstance(secret, str):
        secret = secret.encode()
    if not isinstance(secret, (bytes, bytearray)):
        raise ValidationError(f"expected bytes or text, got {type(secret).__name__}", "secret")
    if not MIN_SECRET_BYTES <= len(secret) <= MAX_SECRET_BYTES:
        raise ValidationError(f"expected {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, got "
                              f"{len(secret)}", "secret")
    return bytes(secret)


# -- the handshake ----------------------------------------------------------------------


def _who(peer: int) -> str:
    return "a client" if peer == CLIENT else f"replica {peer}"


def _transcript(initiator: int, responder: int, nonce_i: bytes, nonce_r: bytes) -> bytes:
    return b"fastsched-auth-v1\0" + struct.pack(">II", initiator, responder) + nonce_i + nonce_r


def _mac(key: bytes, label: bytes, transcript: bytes) -> bytes:
    return hmac.digest(key, label + transcript, "sha256")


def _unpack(layout: struct.Struct, payload: bytes, what: str) -> tuple[Any, ...]:
    if len(payload) != layout.size or payload[:4] != _MAGIC:
        raise AuthenticationError(f"expected a {what} of the handshake, got {len(payload)} "
                                  f"other bytes", "handshake")
    return layout.unpack(payload)


class Initiator:
    """The dialling side: ``hello()`` is its first frame, ``on_frame(welcome)``
    checks the responder and returns the last one; then ``session`` is set and
    ``peer`` is the authenticated responder."""

    def __init__(self, secret: bytes, me: int, peer: int) -> None:
        self.secret, self.me, self.peer = secret, me, peer
        self.nonce = secrets.token_bytes(NONCE_BYTES)
        self.session: Session | None = None

    def hello(self) -> bytes:
        return frame(_HELLO.pack(_MAGIC, self.me, self.peer, self.nonce))

    def on_frame(self, payload: bytes) -> bytes:
        if self.session is not None:
            raise AuthenticationError("the handshake is over", "handshake")
        _, peer, nonce_r, proof = _unpack(_WELCOME, payload, "welcome")
        if peer != self.peer:
            raise AuthenticationError(f"dialled replica {self.peer}, answered by {_who(peer)}",
                                      "handshake")
        t = _transcript(self.me, self.peer, self.nonce, nonce_r)
        if not hmac.compare_digest(proof, _mac(self.secret, b"responder", t)):
            raise AuthenticationError(f"replica {peer} did not prove the shared secret (do "
                                      f"all members use the same one?)", "handshake")
        self.session = Session(_mac(self.secret, b"key i->r", t),
                               _mac(self.secret, b"key r->i", t))
        return frame(_PROOF.pack(_MAGIC, _mac(self.secret, b"initiator", t)))


class Responder:
    """The listening side: ``on_frame(hello)`` returns the welcome,
    ``on_frame(proof)`` checks it and returns nothing; then ``session`` is set and
    ``peer`` is the authenticated initiator (a replica id, or :data:`CLIENT`).
    ``peers``: the ids a replica initiator may have (never ``me``)."""

    def __init__(self, secret: bytes, me: int, peers: frozenset[int]) -> None:
        self.secret, self.me, self.peers = secret, me, peers
        self.peer: int | None = None
        self.session: Session | None = None
        self._transcript = b""

    def on_frame(self, payload: bytes) -> bytes:
        if self.session is not None:
            raise AuthenticationError("the handshake is over", "handshake")
        if self.peer is None:
            _, peer, target, nonce_i = _unpack(_HELLO, payload, "hello")
            if peer != CLIENT and (peer not in self.peers or peer == self.me):
                raise AuthenticationError(f"replica {peer} is not a member of the group",
                                          "handshake")
            if target != self.me:
                raise AuthenticationError(f"addressed to replica {target}, not to {self.me}",
                                          "handshake")
            nonce_r = secrets.token_bytes(NONCE_BYTES)
            self.peer = peer
            self._transcript = _transcript(peer, self.me, nonce_i, nonce_r)
            return frame(_WELCOME.pack(_MAGIC, self.me, nonce_r,
                                       _mac(self.secret, b"responder", self._transcript)))
        _, proof = _unpack(_PROOF, payload, "proof")
        t = self._transcript
        if not hmac.compare_digest(proof, _mac(self.secret, b"initiator", t)):
            raise AuthenticationError(f"{_who(self.peer)} did not prove the shared secret",
                                      "handshake")
        self.session = Session(_mac(self.secret, b"key r->i", t),
                               _mac(self.secret, b"key i->r", t))
        return b""


# -- frames after it --------------------------------------------------------------------


class Session:
    """MACed frames of one authenticated connection: ``seal_many`` packs payloads
    into frames to send; ``open`` checks a received frame's MAC and sequence number
    and returns the payloads in it."""

    def __init__(self, send_key: bytes, recv_key: bytes) -> None:
        # Keyed once: HMAC's inner and outer pads are hashed here, and each frame
        # copies that state instead of re-deriving it.
        self._send = hmac.new(send_key, digestmod=hashlib.sha256)
        self._recv = hmac.new(recv_key, digestmod=hashlib.sha256)
        self.sent = 0
        self.received = 0

    @staticmethod
    def _tag(keyed: Any, seq: int, body: bytes | memoryview) -> bytes:
        h = keyed.copy()
        h.update(_SEQ.pack(seq))
        h.update(body)
        return h.digest()[:MAC_BYTES]

    def _seal(self, body: bytes) -> bytes:
        tag = self._tag(self._send, self.sent, body)
        self.sent += 1
        return frame(body + tag)

    def seal(self, payload: bytes) -> bytes:
        """The frame that carries ``payload`` alone."""
        return self._seal(frame(payload))

    def seal_many(self, payloads: Sequence[bytes], limit: int = MAX_SEALED) -> bytes:
        """Frames carrying ``payloads`` in order, as many to a frame as keep its
        body within ``limit`` bytes (the receiver's frame limit; a payload too big
        for it goes alone, for the receiver to refuse)."""
        out: list[bytes] = []
        batch: list[bytes] = []
        room = limit - MAC_BYTES
        size = 0
        for payload in payloads:
            framed = frame(payload)
            if batch and size + len(framed) > room:
                out.append(self._seal(b"".join(batch)))
                batch, size = [], 0
            batch.append(framed)
            size += len(framed)
        if batch:
            out.append(self._seal(b"".join(batch)))
        return b"".join(out)

    def open(self, body: bytes) -> list[bytes]:
        """The payloads in the next received frame's ``body``; raises
        :class:`AuthenticationError` if it is not the next frame the peer sealed
        (and :class:`FrameError` if its payloads do not add up, which only a holder
        of the key can send)."""
        if len(body) < MAC_BYTES:
            raise AuthenticationError(f"a frame of {len(body)} bytes has no MAC", "mac")
        view = memoryview(body)
        content, tag = view[:-MAC_BYTES], view[-MAC_BYTES:]
        if not hmac.compare_digest(tag, self._tag(self._recv, self.received, content)):
            raise AuthenticationError(f"frame {self.received} fails its MAC (tampered, "
                                      f"replayed or out of order)", "mac")
        self.received += 1
        return split_frames(content)
