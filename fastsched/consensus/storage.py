"""The acceptor's durable state: promised ballot, accepted values, snapshot.

Paxos is only safe if an acceptor never forgets a promise or a vote it has
replied with, so :class:`~fastsched.consensus.paxos.Replica` appends a record for
every promise and vote, then calls :meth:`Storage.sync` before it releases the
replies of that round (one fsync covers a whole batch of records).

:class:`FileStorage` keeps an append-only log file of records framed as::

    <u32 length> <u32 crc32 of the length bytes> <u32 crc32 of the payload> <payload>

(little-endian). A payload is binary: ``P <u64 round> <u64 replica>`` for a
promise, ``A <u64 slot> <u64 round> <u64 replica> <u32 len id> <u32 len op>`` then
the command's id, op and body (UTF-8) for a vote; the body is stored as is, not
escaped inside another JSON text. Loading reads the file once and walks it with
offsets into that one buffer, so a restart costs O(records). A record cut
short at the end of the file, a last record that fails its checksum, or an
all-zero tail is the torn write a crash can leave: it is dropped and the file
truncated before anything new is appended -- provided it lies beyond what was
made durable. A record that fails its checks anywhere else is corruption and
raises :class:`LogCorruptError` with its offset (recovering, the log is cut
there instead). A snapshot (the state machine after every slot below ``slot``)
goes to its own file, written to a temporary name, fsynced and renamed; the log
is then rewritten without the votes it covers.

No silent amnesia: the marker (:mod:`fastsched.consensus.marker`) records how
many bytes of the log were made durable and the slot of the latest snapshot. A
data directory whose log or snapshot is missing, shorter than the marker says,
or damaged (or whose marker is missing beside a log, or damaged) raises
:class:`LostStateError` naming the file, unless the storage is opened with
``recover=True`` (``--recover``): the operator then accepts the loss, the
readable state is kept (a damaged snapshot is renamed ``snapshot.damaged``, the
log's bytes from a damaged record on are saved to ``acceptor.log.damaged``) and
the marker rewritten to match. A fresh replica has an empty or missing
directory. Two losses cannot be seen from inside the directory: a directory
deleted or replaced as a whole, marker and all (it looks fresh), and a cut
covering only the last few seconds before a power failure (the marker itself
is fsynced at the first vote, at snapshots and at close, not per batch).

:class:`MemoryStorage` is the simulator's stand-in: records are "written" at once
but only become durable at ``sync()``, and ``crash()`` loses what was not synced.
"""

from __future__ import annotations

import gc
import logging
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import LogCorruptError, LostStateError
from .marker import Marker, MarkerFile, fsync_directory
from .messages import Ballot, Command

__all__ = ["Recovered", "Storage", "FileStorage", "MemoryStorage", "read_records"]

log = logging.getLogger("fastsched.consensus")

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
    lost: tuple[str, ...] = ()          # the losses a recovering load accepted


class Storage:
    """The interface :class:`Replica` writes its acceptor state through.

    ``promise`` and ``accept`` record a change (not yet durable); ``sync`` makes
    every recorded change durable; ``install_snapshot`` durably stores a snapshot
    and drops the votes below its slot; ``load`` returns the durable state.
    ``log_records`` and ``log_bytes`` count what was appended since the log was
    last compacted (a replica snapshots when they pass its limits).
    """

    log_records: int = 0
    log_bytes: int = 0

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

    # MemoryStorage keeps records as plain dicts and rebuilds the state from them.
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

_PROMISE = struct.Struct("<cQQ")        # b"P", round, replica
_ACCEPT = struct.Struct("<cQQQII")      # b"A", slot, round, replica, bytes of id, of op
_SNAPSHOT = struct.Struct("<cQ")        # b"S", slot; the state's UTF-8 follows
_LIMIT = 1 << 63                        # slots, rounds and replica ids are int64 on the wire
_TEXT = ("utf-8", "surrogatepass")      # JSON can carry lone surrogates; keep them


def _frame(payload: bytes) -> bytes:
    length = struct.pack("<I", len(payload))
    return _HEADER.pack(len(payload), zlib.crc32(length), zlib.crc32(payload)) + payload


def _promise_record(ballot: Ballot) -> bytes:
    return _frame(_PROMISE.pack(b"P", ballot.round, ballot.replica))


def _accept_record(slot: int, ballot: Ballot, command: Command) -> bytes:
    cid, op = command.id.encode(*_TEXT), command.op.encode(*_TEXT)
    return _frame(_ACCEPT.pack(b"A", slot, ballot.round, ballot.replica, len(cid), len(op))
                  + cid + op + command.body.encode(*_TEXT))


# A decoded record: (None, ballot, None) for a promise, (slot, ballot, command) for a vote.
Record = tuple[int | None, Ballot, Command | None]


@dataclass
class Scan:
    """What :func:`read_records` found: ``records`` as ``(offset, record)``,
    ``good`` the length of the intact prefix, ``torn`` why the bytes after it were
    dropped ("" when none were), ``damage`` the corruption it stopped at when
    told not to raise (None otherwise)."""

    records: list[tuple[int, Record]]
    good: int
    torn: str = ""
    damage: LogCorruptError | None = None


def read_records(data: bytes, path: str = "", *, strict: bool = True) -> Scan:
    """Decode the framed records of a log in one pass over ``data``, reading at
    offsets into it (nothing but each record's own strings is copied). A torn
    tail ends the scan; corruption elsewhere raises :class:`LogCorruptError`, or,
    with ``strict=False``, ends the scan with the error in ``Scan.damage``."""
    view = memoryview(data)
    records: list[tuple[int, Record]] = []
    ballots: dict[tuple[int, int], Ballot] = {}     # a log holds few distinct ballots
    length_crcs: dict[int, int] = {}
    crc32, unpack_header, unpack_accept = zlib.crc32, _HEADER.unpack_from, _ACCEPT.unpack_from
    head, accept_size = _HEADER.size, _ACCEPT.size
    offset, size, torn = 0, len(data), ""
    damage: LogCorruptError | None = None
    while offset < size:
        if size - offset < head:
            torn = "a cut record header"
            break
        length, length_crc, crc = unpack_header(data, offset)
        # Records of a log have few distinct lengths: remember each one's CRC.
        expect = length_crcs.get(length)
        if expect is None:
            expect = length_crcs[length] = crc32(length.to_bytes(4, "little"))
        if expect != length_crc:
            if view[offset:].tobytes().count(0) == size - offset:
                torn = "a zero-filled tail"
                break
            damage = LogCorruptError("bad header checksum", path, offset)
            break
        if length > MAX_RECORD:
            damage = LogCorruptError(f"record length {length} is over the limit", path, offset)
            break
        start = offset + head
        end = start + length
        if end > size:
            torn = "a record cut short"
            break
        if crc32(view[start:end]) != crc:
            if end == size:
                torn = "a last record that fails its checksum"
                break
            damage = LogCorruptError("payload checksum mismatch", path, offset)
            break
        kind = data[start] if length else 0
        rec: Record | None = None
        try:
            if kind == 0x41 and length >= accept_size:          # "A": a vote
                _, slot, rnd, replica, n_id, n_op = unpack_accept(data, start)
                a = start + accept_size
                b = a + n_id
                c = b + n_op
                if c <= end and 1 <= rnd < _LIMIT and replica < _LIMIT and slot < _LIMIT:
                    ballot = ballots.get((rnd, replica))
                    if ballot is None:
                        ballot = ballots[rnd, replica] = Ballot(rnd, replica)
                    rec = (slot, ballot, Command(str(view[a:b], "utf-8", "surrogatepass"),
                                                 str(view[b:c], "utf-8", "surrogatepass"),
                                                 str(view[c:end], "utf-8", "surrogatepass")))
            elif kind == 0x50 and length == _PROMISE.size:      # "P": a promise
                _, rnd, replica = _PROMISE.unpack_from(data, start)
                if 1 <= rnd < _LIMIT and replica < _LIMIT:
                    rec = (None, Ballot(rnd, replica), None)
        except UnicodeDecodeError:
            rec = None
        if rec is None:
            damage = LogCorruptError("not a promise or accept record", path, offset)
            break
        records.append((offset, rec))
        offset = end
    if damage is not None and strict:
        raise damage
    return Scan(records, offset, torn, damage)


def _read_snapshot(path: str) -> tuple[int, str]:
    """The snapshot file's ``(slot, state)``; a file that is short or fails its
    checksum raises :class:`LostStateError` saying which (it was written under a
    temporary name and renamed, so neither is a torn write)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < _HEADER.size:
        raise LostStateError(f"the snapshot file is incomplete ({len(data)} bytes, "
                             f"shorter than a record header)", path)
    length, length_crc, crc = _HEADER.unpack_from(data, 0)
    if zlib.crc32(data[:4]) != length_crc:
        raise LostStateError("the snapshot file is damaged (bad header checksum)", path)
    whole = _HEADER.size + length
    if len(data) < whole:
        raise LostStateError(f"the snapshot file is incomplete ({len(data)} of {whole} bytes)",
                             path)
    if len(data) > whole:
        raise LostStateError(f"the snapshot file is damaged ({len(data) - whole} bytes after "
                             f"its record)", path)
    view = memoryview(data)[_HEADER.size:]
    if zlib.crc32(view) != crc:
        raise LostStateError("the snapshot file is damaged (checksum mismatch)", path)
    if length < _SNAPSHOT.size or view[0] != 0x53:
        raise LostStateError("the snapshot file is damaged (not a snapshot record)", path)
    _, slot = _SNAPSHOT.unpack_from(view)
    try:
        text = str(view[_SNAPSHOT.size:], *_TEXT)
    except UnicodeDecodeError:
        raise LostStateError("the snapshot file is damaged (its state is not UTF-8)",
                             path) from None
    if slot >= _LIMIT:
        raise LostStateError("the snapshot file is damaged (slot out of range)", path)
    return slot, text


_RECOVER_HINT = ("; this replica may have forgotten promises or votes and must not vote: "
                 "restart it with --recover (recover=True) to accept the loss")


class FileStorage(Storage):
    """Acceptor state in ``directory``: ``acceptor.log``, ``snapshot`` and the
    marker ``acceptor.mark``.

    ``fsync=False`` skips the fsyncs (tests on tmpfs; never in production).
    ``recover=True`` accepts lost or damaged state at ``load`` (logged, and listed
    in :attr:`Recovered.lost`) instead of raising :class:`LostStateError`.
    """

    def __init__(self, directory: str | os.PathLike[str], *, fsync: bool = True,
                 recover: bool = False) -> None:
        super().__init__()
        self.directory = os.fspath(directory)
        self.fsync = fsync
        self.recover = recover
        os.makedirs(self.directory, exist_ok=True)
        self.log_path = os.path.join(self.directory, LOG_NAME)
        self.snapshot_path = os.path.join(self.directory, SNAPSHOT_NAME)
        self.marker = MarkerFile(self.directory, fsync=fsync)
        self._fd: int | None = None
        self._size = 0                  # bytes in the log file (written, maybe not synced)
        self._lost: list[str] = []

    def _loss(self, err: LostStateError | LogCorruptError) -> None:
        """A loss found while loading: raise it, or, recovering, note and log it."""
        if not self.recover:
            if isinstance(err, LostStateError):
                raise LostStateError(str(err).removeprefix(f"{err.path}: ") + _RECOVER_HINT,
                                     err.path)
            raise err
        log.warning("recovering: %s", err)
        self._lost.append(str(err))

    def load(self) -> Recovered:
        """Read the marker, the snapshot and the log (dropping a torn tail past the
        durable length); raises :class:`LogCorruptError` for corruption and
        :class:`LostStateError` for lost state, unless recovering."""
        self.state = Recovered()
        self._lost = []
        self.marker.close()
        has_log = os.path.exists(self.log_path)
        has_snapshot = os.path.exists(self.snapshot_path)
        marker: Marker | None = None
        if self.marker.exists():
            try:
                marker = self.marker.read()
            except LostStateError as err:
                self._loss(err)
        elif (has_log and os.path.getsize(self.log_path) > 0) or has_snapshot:
            self._loss(LostStateError("the acceptor marker is missing beside an existing "
                                      "log or snapshot", self.marker.path))
        expected = marker or Marker()
        floor = self._load_snapshot(has_snapshot, expected)
        data = b""
        if has_log:
            with open(self.log_path, "rb") as f:
                data = f.read()
        elif expected.log_bytes:
            self._loss(LostStateError(f"the log is missing, but {expected.log_bytes} bytes "
                                      f"of it were made durable", self.log_path))
        # The records become long-lived acyclic objects: the cyclic collector would
        # trace them over and over while they are made (half the load time at 100k).
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._load_log(data, has_log, expected, floor)
        finally:
            if collecting:
                gc.enable()
        if marker is None or self._lost:
            # Fresh, or recovered: the marker now vouches for what is here, no more.
            self.marker.create(Marker(self._size, self.state.snapshot_slot))
        self.state.lost = tuple(self._lost)
        return self.state

    def _load_log(self, data: bytes, has_log: bool, expected: Marker, floor: int) -> None:
        scan = read_records(data, self.log_path, strict=False)
        if scan.damage is not None:
            self._loss(scan.damage)
            with open(self.log_path + ".damaged", "wb") as f:     # what recovering drops
                f.write(memoryview(data)[scan.good:])
        elif has_log and scan.good < expected.log_bytes:
            why = f"{scan.torn} at offset {scan.good}" if scan.torn else "its end"
            self._loss(LostStateError(
                f"the log is cut short: {len(data)} bytes ({why}), but {expected.log_bytes} "
                f"bytes were made durable", self.log_path))
        state = self.state
        for _, (slot, ballot, command) in scan.records:
            if slot is None:
                if state.promised is None or ballot > state.promised:
                    state.promised = ballot
            elif slot >= floor:
                assert command is not None              # votes carry their command
                state.accepted[slot] = (ballot, command)
        self.log_records, self.log_bytes = len(scan.records), scan.good
        self._open(truncate_to=scan.good)

    def _load_snapshot(self, exists: bool, expected: Marker) -> int:
        """Load the snapshot into the state; returns its slot (0 without one)."""
        if not exists:
            if expected.snapshot_slot:
                self._loss(LostStateError(f"the snapshot is missing, but one of slot "
                                          f"{expected.snapshot_slot} was made durable",
                                          self.snapshot_path))
            return 0
        try:
            slot, text = _read_snapshot(self.snapshot_path)
        except LostStateError as err:
            self._loss(err)
            # Recovering: keep the damaged file for a post-mortem, out of the way.
            os.replace(self.snapshot_path, self.snapshot_path + ".damaged")
            return 0
        if slot < expected.snapshot_slot:
            self._loss(LostStateError(f"the snapshot is of slot {slot}, older than the one "
                                      f"of slot {expected.snapshot_slot} made durable",
                                      self.snapshot_path))
        self.state.snapshot_slot, self.state.snapshot = slot, text
        return slot

    def _open(self, truncate_to: int | None = None) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.log_path, os.O_RDWR | os.O_CREAT, 0o644)
        if truncate_to is not None and os.fstat(self._fd).st_size != truncate_to:
            os.ftruncate(self._fd, truncate_to)     # drop the torn tail before appending
            self._sync_fd(self._fd)
        self._size = os.lseek(self._fd, 0, os.SEEK_END)
        self._sync_dir()

    def promise(self, ballot: Ballot) -> None:
        self.state.promised = ballot
        self._write(_promise_record(ballot))

    def accept(self, slot: int, ballot: Ballot, command: Command) -> None:
        self.state.accepted[slot] = (ballot, command)
        self._write(_accept_record(slot, ballot, command))

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            self._open()
        assert self._fd is not None
        os.write(self._fd, data)
        self._size += len(data)
        self.log_records += 1
        self.log_bytes += len(data)
        self.dirty = True

    def sync(self) -> None:
        if self.dirty and self._fd is not None:
            self._sync_fd(self._fd)
            self._mark(self._size)
        self.dirty = False

    def sync_job(self) -> Callable[[], None]:
        """Mark the records so far as being synced and return the work that syncs
        them (for a thread: the fsync releases the GIL). Records written
        meanwhile are left for the next sync."""
        fd, size = self._fd, self._size
        self.dirty = False

        def job() -> None:
            if fd is not None:
                self._sync_fd(fd)
                self._mark(size)
        return job

    def _mark(self, size: int) -> None:
        """The log is durable up to ``size``: say so in the marker (after the fsync,
        before any reply that rests on it leaves)."""
        current = self.marker.current
        if size > current.log_bytes:
            self.marker.write(Marker(size, current.snapshot_slot))

    def install_snapshot(self, slot: int, snapshot: str) -> None:
        """Store the snapshot durably, then rewrite the log without the votes below
        ``slot``. A crash in between leaves the old log beside the new snapshot,
        which ``load`` handles (votes below the snapshot's slot are skipped).

        The marker moves between the two: the compacted log is made only of
        records the old one holds, so it is no longer than the old one, and a
        marker naming its length is true of whichever log a crash leaves."""
        self.sync()
        payload = _SNAPSHOT.pack(b"S", slot) + snapshot.encode(*_TEXT)
        self._write_atomically(self.snapshot_path, _frame(payload))
        self.state.snapshot_slot, self.state.snapshot = slot, snapshot
        self._drop_below(slot)
        state = self.state
        body = b"".join(
            ([_promise_record(state.promised)] if state.promised is not None else [])
            + [_accept_record(s, *state.accepted[s]) for s in sorted(state.accepted)])
        self.marker.write(Marker(min(len(body), self._size), slot), sync=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._write_atomically(self.log_path, body)
        self._open()
        self._mark(self._size)
        self.log_records, self.log_bytes = 0, 0

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
            fsync_directory(self.directory)

    def close(self) -> None:
        if self._fd is not None:
            self.sync()
            os.close(self._fd)
            self._fd = None
        if self.marker.current != self.marker.synced:
            self.marker.write(self.marker.current, sync=True)
        self.marker.close()


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
        self.log_records = len(self._durable)
        return self.state

    def _append(self, record: dict[str, Any]) -> None:
        self._pending.append(record)
        self.log_records += 1
        self.log_bytes += 64 + sum(map(len, record.get("c", ())))   # about a file's record
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
        self.log_records, self.log_bytes = 0, 0

    def crash(self) -> None:
        """Lose everything not yet synced (the process died)."""
        self._pending = []
        self.dirty = False

    @property
    def durable_records(self) -> int:
        return len(self._durable)
