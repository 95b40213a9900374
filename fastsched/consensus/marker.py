"""The acceptor's marker: how much durable state its data directory must hold.

A log that a crash cut short looks, on its own, like a log that was never
longer, and an emptied or deleted log like a fresh replica. Paxos is only safe
if an acceptor never forgets a promise or vote it replied with (Lamport, "Paxos
Made Simple" §2.3: the acceptor must remember, even across a failure), so
:class:`~fastsched.consensus.storage.FileStorage` keeps this small file beside
the log and checks the log against it on every load.

The marker is one fixed-size record::

    b"FSAM" <u32 version> <u64 log bytes made durable> <u64 snapshot slot> <u32 crc32>

(little-endian, 28 bytes, the CRC over the 24 bytes before it). It is created
before the log's first byte, rewritten in place (one sector, so the write is
never half done) after each fsync of the log, fsynced itself at the first vote,
at each snapshot and at close. The fsync order makes it an *underestimate*: the
log reached the length it names before the marker was written, so a marker never
accuses a good log; a power failure can at most leave it a little behind (the
kernel's writeback interval), which shortens what it can detect, never what it
allows.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass

from ..errors import LostStateError

__all__ = ["Marker", "MarkerFile", "MARKER_NAME", "fsync_directory"]

MARKER_NAME = "acceptor.mark"
_MAGIC = b"FSAM"
_VERSION = 1
_BODY = struct.Struct("<4sIQQ")
_SIZE = _BODY.size + 4


@dataclass(frozen=True)
class Marker:
    """``log_bytes``: the log's length that was durable (the log may be longer,
    never shorter); ``snapshot_slot``: the slot of the latest durable snapshot
    (0: none)."""

    log_bytes: int = 0
    snapshot_slot: int = 0

    def encode(self) -> bytes:
        body = _BODY.pack(_MAGIC, _VERSION, self.log_bytes, self.snapshot_slot)
        return body + struct.pack("<I", zlib.crc32(body))

    @classmethod
    def decode(cls, data: bytes, path: str) -> "Marker":
        """The marker in ``data``; raises :class:`LostStateError` when it is damaged."""
        if len(data) != _SIZE:
            raise LostStateError(f"the acceptor marker is damaged ({len(data)} bytes, "
                                 f"expected {_SIZE})", path)
        magic, version, log_bytes, snapshot_slot = _BODY.unpack_from(data)
        (crc,) = struct.unpack_from("<I", data, _BODY.size)
        if magic != _MAGIC or zlib.crc32(data[:_BODY.size]) != crc:
            raise LostStateError("the acceptor marker is damaged (checksum mismatch)", path)
        if version != _VERSION:
            raise LostStateError(f"the acceptor marker has version {version}, this "
                                 f"fastsched reads {_VERSION}", path)
        return cls(log_bytes, snapshot_slot)


class MarkerFile:
    """The marker of one data directory: ``read`` it, ``create`` it (atomically,
    for a fresh or recovered replica), ``write`` it in place."""

    def __init__(self, directory: str, *, fsync: bool = True) -> None:
        self.directory = directory
        self.path = os.path.join(directory, MARKER_NAME)
        self.fsync = fsync
        self.current = Marker()
        self.synced = Marker()          # the last marker fsynced
        self._fd: int | None = None

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def read(self) -> Marker:
        with open(self.path, "rb") as f:
            self.current = self.synced = Marker.decode(f.read(_SIZE + 1), self.path)
        return self.current

    def create(self, marker: Marker) -> None:
        """Write ``marker`` to a temporary file, fsync it and rename it into place:
        the directory never holds a partial marker."""
        self.close()
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, marker.encode())
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        if self.fsync:
            fsync_directory(self.directory)
        self.current = self.synced = marker

    def write(self, marker: Marker, *, sync: bool = False) -> None:
        """Overwrite the marker in place; ``sync`` also fsyncs it, and so does the
        first write that says the log holds anything (the first vote: from then on
        an emptied log is never mistaken for a fresh one)."""
        if marker == self.current and (not sync or marker == self.synced):
            return
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.pwrite(self._fd, marker.encode(), 0)
        self.current = marker
        if sync or (self.synced.log_bytes == 0 and marker.log_bytes > 0):
            if self.fsync:
                os.fsync(self._fd)
            self.synced = marker

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def fsync_directory(path: str) -> None:
    """Make a rename or a new file in ``path`` durable (fsync of the directory)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
