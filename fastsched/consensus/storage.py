"""The acceptor's durable state: promised ballot, accepted values, snapshot.

Paxos is only safe if an acceptor never forgets a promise or a vote it has
replied with, so :class:`~fastsched.consensus.paxos.Replica` appends a record for
every promise and vote, then calls :meth:`Storage.sync` before it releases the
replies of that round (one fsync covers a whole batch of records).

:class:`FileStorage` keeps an append-only log file of records framed as::

    <u32 length> <u32 crc32 of the length bytes> <u32 crc32 of the payload> <payload>

(little-endian; the payload is compact JSON). On reload, a record cut short at
the end of the file, or an all-zero tail, is the torn write a crash can leave:
it is dropped and the file truncated before anything new is appended. A record
that fails its checks anywhere else is corruption and raises
:class:`LogCorruptError` with its offset. A snapshot (the state machine after
every slot below ``slot``) goes to its own file, written to a temporary name,
fsynced and renamed; the log is then rewritten without the votes it covers.

:class:`MemoryStorage` is the simulator's stand-in: records are "written" at once
but only become durable at ``sync()``, and ``crash()`` loses what was not synced.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import LogCorruptError
from .messages import Ballot, Command

__all__ = ["Recovered", "Storage", "FileStorage", "MemoryStorage"]

_HEADER = struct.Struct("<III")
MAX_RECORD = 1 << 30
LOG_NAME = "acceptor.log"
SNAPSHOT_NAME = "snapshot"


@dataclass
class Recovered:
    """What a replica reloads at start: its acceptor state and latest snapshot."""

    promised: Ballot | None = None
    accepted: dict[int, tuple[Ballot, Command]] = field(default_factory=dict)
    snapshot_slot: int = 0
    snapshot: str | None = None


class Storage:
    """The interface :class:`Replica` writes its acceptor state through.

    ``promise`` and ``accept`` record a change (not yet durable); ``sync`` makes
    every recorded change durable; ``install_snapshot`` durably stores a snapshot
    and drops the votes below its slot; ``load`` returns the durable state.
    """

    def __init__(self) -> None:
        self.state = Recovered()
        self.dirty = False

    def load(self) -> Recovered:
        raise NotImplementedError

    def promise(self, ballot: Ballot) -> None:
        self.state.promised = ballot
        self._append({"k": "promise", "b": [ballot.round, ballot.replica]})

    def accept(self, slot: int, ballot: Ballot, command: Command) -> None:
        self.state.accepted[slot] = (ballot, command)
        self._append({"k": "accept", "s": slot, "b": [ballot.round, ballot.replica],
                      "c": [command.id, command.op, command.body]})

    def sync(self) -> None:
        raise NotImplementedError

    def install_snapshot(self, slot: int, snapshot: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def _append(self, record: dict[str, Any]) -> None:
        raise NotImplementedError

    # Records are plain dicts; both storages rebuild the state from them the same way.
    def _replay(self, records: list[dict[str, Any]], floor: int) -> None:
        state = self.state
        for rec in records:
            ballot = Ballot(*rec["b"])
            if rec["k"] == "promise":
                if state.promised is None or ballot > state.promised:
                    state.promised = ballot
            elif rec["s"] >= floor:
                state.accepted[rec["s"]] = (ballot, Command(*rec["c"]))

    def _compacted(self) -> list[dict[str, Any]]:
        """Records that rebuild the current state and nothing more."""
        out: list[dict[str, Any]] = []
        p = self.state.promised
        if p is not None:
            out.append({"k": "promise", "b": [p.round, p.replica]})
        for slot in sorted(self.state.accepted):
            b, c = self.state.accepted[slot]
            out.append({"k": "accept", "s": slot, "b": [b.round, b.replica],
                        "c": [c.id, c.op, c.body]})
        return out

    def _drop_below(self, slot: int) -> None:
        accepted = self.state.accepted
        for s in [s for s in accepted if s < slot]:
            del accepted[s]


# -- files -------------------------------------------------------------------------


def _frame(payload: bytes) -> bytes:
    length = struct.pack("<I", len(payload))
    return _HEADER.pack(len(payload), zlib.crc32(length), zlib.crc32(payload)) + payload


def _record_payload(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def _check_record(rec: Any) -> bool:
    """Whether a decoded payload is a well-formed log record."""
    if not isinstance(rec, dict):
        return False
    b = rec.get("b")
    if not (isinstance(b, list) and len(b) == 2 and all(type(x) is int for x in b)
            and b[0] >= 1 and b[1] >= 0):
        return False
    if rec.get("k") == "promise":
        return set(rec) == {"k", "b"}
    c = rec.get("c")
    return (rec.get("k") == "accept" and set(rec) == {"k", "s", "b", "c"}
            and type(rec.get("s")) is int and rec["s"] >= 0 and isinstance(c, list)
            and len(c) == 3 and all(isinstance(x, str) for x in c))


def read_records(data: bytes, path: str = "") -> tuple[list[tuple[int, Any]], int]:
    """Decode framed records; returns ``(offset, record)`` pairs and the length of
    the good prefix (less than ``len(data)`` when a torn tail was dropped)."""
    records = []
    offset, size = 0, len(data)
    while offset < size:
        rest = data[offset:]
        if len(rest) < _HEADER.size or not any(rest):
            break                                   # torn header or zero-filled tail
        length, length_crc, crc = _HEADER.unpack_from(data, offset)
        if zlib.crc32(data[offset: offset + 4]) != length_crc:
            raise LogCorruptError("bad header checksum", path, offset)
        if length > MAX_RECORD:
            raise LogCorruptError(f"record length {length} is over the limit", path, offset)
        end = offset + _HEADER.size + length
        if end > size:
            break                                   # the payload was cut short
        payload = data[offset + _HEADER.size: end]
        if zlib.crc32(payload) != crc:
            if end == size:
                break                               # the last write was torn
            raise LogCorruptError("payload checksum mismatch", path, offset)
        try:
            rec = json.loads(payload)
        except ValueError:
            raise LogCorruptError("payload is not valid JSON", path, offset) from None
        records.append((offset, rec))
        offset = end
    return records, offset


class FileStorage(Storage):
    """Acceptor state in ``directory``: ``acceptor.log`` plus ``snapshot``.

    ``fsync=False`` skips the fsyncs (tests on tmpfs; never in production).
    """

    def __init__(self, directory: str | os.PathLike[str], *, fsync: bool = True) -> None:
        super().__init__()
        self.directory = os.fspath(directory)
        self.fsync = fsync
        os.makedirs(self.directory, exist_ok=True)
        self.log_path = os.path.join(self.directory, LOG_NAME)
        self.snapshot_path = os.path.join(self.directory, SNAPSHOT_NAME)
        self._fd: int | None = None

    def load(self) -> Recovered:
        """Read the snapshot and the log (dropping a torn tail); raises
        :class:`LogCorruptError` for corruption."""
        self.state = Recovered()
        floor = 0
        if os.path.exists(self.snapshot_path):
            with open(self.snapshot_path, "rb") as f:
                data = f.read()
            records, good = read_records(data, self.snapshot_path)
            if len(records) != 1 or good != len(data):
                raise LogCorruptError("the snapshot file is incomplete", self.snapshot_path, good)
            rec = records[0][1]
            if not (isinstance(rec, dict) and set(rec) == {"k", "slot", "state"}
                    and rec["k"] == "snapshot" and type(rec["slot"]) is int
                    and rec["slot"] >= 0 and isinstance(rec["state"], str)):
                raise LogCorruptError("not a snapshot record", self.snapshot_path, 0)
            floor = self.state.snapshot_slot = rec["slot"]
            self.state.snapshot = rec["state"]
        data = b""
        if os.path.exists(self.log_path):
            with open(self.log_path, "rb") as f:
                data = f.read()
        records, good = read_records(data, self.log_path)
        for offset, rec in records:
            if not _check_record(rec):
                raise LogCorruptError("not a promise or accept record", self.log_path, offset)
        self._replay([rec for _, rec in records], floor)
        self._open(truncate_to=good)
        return self.state

    def _open(self, truncate_to: int | None = None) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.log_path, os.O_RDWR | os.O_CREAT, 0o644)
        if truncate_to is not None and os.fstat(self._fd).st_size != truncate_to:
            os.ftruncate(self._fd, truncate_to)     # drop the torn tail before appending
            self._sync_fd(self._fd)
        os.lseek(self._fd, 0, os.SEEK_END)
        self._sync_dir()

    def _append(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            self._open()
        assert self._fd is not None
        os.write(self._fd, _frame(_record_payload(record)))
        self.dirty = True

    def sync(self) -> None:
        if self.dirty and self._fd is not None:
            self._sync_fd(self._fd)
        self.dirty = False

    def install_snapshot(self, slot: int, snapshot: str) -> None:
        """Store the snapshot durably, then rewrite the log without the votes below
        ``slot``. A crash in between leaves the old log beside the new snapshot,
        which ``load`` handles (votes below the snapshot's slot are skipped)."""
        self.sync()
        payload = _record_payload({"k": "snapshot", "slot": slot, "state": snapshot})
        self._write_atomically(self.snapshot_path, _frame(payload))
        self.state.snapshot_slot, self.state.snapshot = slot, snapshot
        self._drop_below(slot)
        body = b"".join(_frame(_record_payload(r)) for r in self._compacted())
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._write_atomically(self.log_path, body)
        self._open()

    def _write_atomically(self, path: str, data: bytes) -> None:
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            self._sync_fd(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        self._sync_dir()

    def _sync_fd(self, fd: int) -> None:
        if self.fsync:
            os.fsync(fd)

    def _sync_dir(self) -> None:
        if self.fsync:
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def close(self) -> None:
        if self._fd is not None:
            self.sync()
            os.close(self._fd)
            self._fd = None


# -- memory (simulator) --------------------------------------------------------------


class MemoryStorage(Storage):
    """Acceptor state in memory, with the durability of a disk that syncs.

    ``crash()`` drops the records recorded since the last ``sync()``; ``load()``
    then rebuilds the state from what was synced. ``on_sync(records)``, if given,
    sees each batch as it becomes durable (the simulator counts votes with it).
    """

    def __init__(self, on_sync: Callable[[list[dict[str, Any]]], None] | None = None) -> None:
        super().__init__()
        self.on_sync = on_sync
        self._durable: list[dict[str, Any]] = []
        self._pending: list[dict[str, Any]] = []
        self._snapshot: tuple[int, str] | None = None

    def load(self) -> Recovered:
        self._pending = []
        self.state = Recovered()
        floor = 0
        if self._snapshot is not None:
            floor, text = self._snapshot
            self.state.snapshot_slot, self.state.snapshot = floor, text
        self._replay(self._durable, floor)
        return self.state

    def _append(self, record: dict[str, Any]) -> None:
        self._pending.append(record)
        self.dirty = True

    def sync(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self._durable.extend(batch)
            if self.on_sync is not None:
                self.on_sync(batch)
        self.dirty = False

    def install_snapshot(self, slot: int, snapshot: str) -> None:
        self.sync()
        self._snapshot = (slot, snapshot)
        self.state.snapshot_slot, self.state.snapshot = slot, snapshot
        self._drop_below(slot)
        self._durable = self._compacted()

    def crash(self) -> None:
        """Lose everything not yet synced (the process died)."""
        self._pending = []
        self.dirty = False

    @property
    def durable_records(self) -> int:
        return len(self._durable)
