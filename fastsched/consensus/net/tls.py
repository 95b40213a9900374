"""Mutual TLS for the replica transport: the alternative to the shared secret.

Every member has a certificate signed by the group's CA, with the subject common
name ``replica-<id>`` (its 1-based position in ``--peers``); clients have one with
``client``. Both ends of every connection present theirs and check the other's
against the CA (``--tls-cert``, ``--tls-key``, ``--tls-ca``; for a
:class:`~fastsched.consensus.net.client.Client`, ``tls=TLSConfig(cert, key, ca)``).
The common name is the connection's identity, as the secret handshake's proven id
is: a dialled replica must present its own, and a message's ``src`` must match it.
TLS also encrypts, which the shared-secret mode does not; the price is a CA and a
certificate per member. For example, with the ``openssl`` command::

    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \\
        -keyout ca.key -out ca.pem -days 365 -subj /CN=fastsched-ca
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \\
        -keyout replica-1.key -out replica-1.csr -subj /CN=replica-1
    openssl x509 -req -in replica-1.csr -CA ca.pem -CAkey ca.key -out replica-1.pem -days 365

TLS 1.2 is the oldest version accepted. Frames inside TLS carry no MAC of their
own (TLS protects them); everything else -- frame limits, the sender check, the
caps -- is as with the secret.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import AuthenticationError, ValidationError
from .auth import CLIENT
from .frames import frame

__all__ = ["TLSConfig", "PlainSession", "peer_identity", "CLIENT_NAME", "replica_name"]

CLIENT_NAME = "client"


def replica_name(replica_id: int) -> str:
    """The common name replica ``replica_id``'s certificate carries."""
    return f"replica-{replica_id}"


@dataclass(frozen=True)
class TLSConfig:
    """Paths of this member's certificate chain and key and of the group's CA
    bundle (PEM). The files are read when a context is made."""

    cert: str
    key: str
    ca: str

    def _context(self, protocol: int) -> ssl.SSLContext:
        ctx = ssl.SSLContext(protocol)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as err:
            raise ValidationError(f"cannot load the certificate {self.cert!r} with key "
                                  f"{self.key!r}: {err}", "tls_cert") from None
        try:
            ctx.load_verify_locations(cafile=self.ca)
        except (OSError, ssl.SSLError) as err:
            raise ValidationError(f"cannot load the CA bundle {self.ca!r}: {err}",
                                  "tls_ca") from None
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def server_context(self) -> ssl.SSLContext:
        """For accepting: the peer must present a certificate of the CA."""
        return self._context(ssl.PROTOCOL_TLS_SERVER)

    def client_context(self) -> ssl.SSLContext:
        """For dialling: the replica's certificate is checked against the CA and
        then by :func:`peer_identity` (its name, not the host, is what counts)."""
        ctx = self._context(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        return ctx


def peer_identity(cert: Any, ids: frozenset[int]) -> int:
    """The id a verified peer certificate (``getpeercert()``'s dict) names: a replica
    id in ``ids`` or :data:`~fastsched.consensus.net.auth.CLIENT`."""
    names = [value for rdn in (cert or {}).get("subject", ()) for key, value in rdn
             if key == "commonName"]
    if len(names) != 1:
        raise AuthenticationError(f"expected one common name in the peer certificate, got "
                                  f"{names}", "tls")
    name = names[0]
    if name == CLIENT_NAME:
        return CLIENT
    prefix, _, number = name.partition("-")
    if prefix == "replica" and number.isdigit() and number == str(int(number)) \
            and int(number) in ids:
        return int(number)
    raise AuthenticationError(f"the peer certificate names {name!r}, not a member of the "
                              f"group {sorted(ids)} or {CLIENT_NAME!r}", "tls")


class PlainSession:
    """The session of a TLS connection: a frame per message, as it is (TLS
    authenticates the stream); the same calls as :class:`~.auth.Session`."""

    sent = received = 0

    @staticmethod
    def seal(payload: bytes) -> bytes:
        return frame(payload)

    @staticmethod
    def seal_many(payloads: Sequence[bytes], limit: int = 0) -> bytes:
        return b"".join([frame(p) for p in payloads])

    @staticmethod
    def open(body: bytes) -> list[bytes]:
        return [body]
