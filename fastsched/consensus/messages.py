"""Multi-Paxos messages and their wire encoding.

Every message is a frozen dataclass. Peer messages carry ``src`` and ``dst``
(replica ids); client messages carry the client's name instead. The names follow
"Paxos Made Moderately Complex": ``Prepare`` is P1a, ``Promise`` P1b, ``Accept``
P2a, ``Accepted`` P2b, ``Decision`` the learners' notice that a slot is chosen.

The encoding is compact JSON, one object per message::

    {"v":1,"t":"accept","src":0,"dst":2,"ballot":[3,0],"slot":17,"command":["c1:4","bind","{...}"]}

``decode`` checks everything before it builds a message: the version, the type,
that exactly the expected fields are present, every field's type and range, and
(when told the group) that the sender is a known peer and the message is addressed
to this replica. Anything else raises :class:`MessageError` (or
:class:`UnknownPeerError`) naming the field, so a bad message is never applied.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Union

from ..errors import MessageError, UnknownPeerError

__all__ = ["VERSION", "MAX_MESSAGE_BYTES", "Ballot", "Command", "NOOP", "Vote", "Entry",
           "Prepare", "Promise", "Accept", "Accepted", "Reject", "Decision", "Heartbeat",
           "CatchupRequest", "CatchupReply", "Request", "Reply", "Message", "PeerMessage",
           "encode", "decode", "canonical_json"]

VERSION = 1
MAX_MESSAGE_BYTES = 64 << 20    # a catch-up reply with a snapshot is the largest message
MAX_ID = 256                    # characters in a command id or client name
MAX_OP = 64


def canonical_json(value: Any) -> str:
    """``value`` as JSON with sorted keys and no spaces: equal values, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


@dataclass(frozen=True, order=True)
class Ballot:
    """A ballot number: ``(round, replica)``, ordered by round, then replica id.

    Rounds start at 1; a replica only ever leads with ballots carrying its own id,
    so no two replicas share a ballot.
    """

    round: int
    replica: int

    def __str__(self) -> str:
        return f"{self.round}.{self.replica}"


@dataclass(frozen=True)
class Command:
    """A command for the replicated state machine.

    ``id`` is unique per client command and is what de-duplication keys on (a
    retried command keeps its id); ``op`` names the operation and ``body`` holds its
    argument as canonical JSON text, so commands compare and hash by value. The
    no-op that fills gaps has ``id == ""``.
    """

    id: str
    op: str
    body: str = "null"

    @classmethod
    def make(cls, id: str, op: str, data: Any = None) -> "Command":
        """A command whose body is ``data`` (any JSON value)."""
        return cls(id, op, canonical_json(data))

    @property
    def data(self) -> Any:
        return json.loads(self.body)

    @property
    def is_noop(self) -> bool:
        return self.op == "noop"


NOOP = Command("", "noop", "null")


@dataclass(frozen=True)
class Vote:
    """An acceptor's accepted value for a slot, with the ballot it was accepted in."""

    slot: int
    ballot: Ballot
    command: Command


@dataclass(frozen=True)
class Entry:
    """A chosen value for a slot (catch-up)."""

    slot: int
    command: Command


@dataclass(frozen=True)
class Prepare:
    """P1a: a candidate asks for promises for ``ballot``, for every slot from
    ``from_slot`` on (phase 1 runs once for all future slots)."""

    src: int
    dst: int
    ballot: Ballot
    from_slot: int


@dataclass(frozen=True)
class Promise:
    """P1b: the acceptor promised ``ballot``; ``accepted`` are its votes from the
    prepare's ``from_slot`` on. ``log_start`` is where its log begins: slots below
    it were chosen and compacted into a snapshot, so they must not be proposed."""

    src: int
    dst: int
    ballot: Ballot
    log_start: int
    accepted: tuple[Vote, ...] = ()


@dataclass(frozen=True)
class Accept:
    """P2a: the leader of ``ballot`` proposes ``command`` for ``slot``."""

    src: int
    dst: int
    ballot: Ballot
    slot: int
    command: Command


@dataclass(frozen=True)
class Accepted:
    """P2b: the acceptor accepted the leader's value for ``slot`` in ``ballot``."""

    src: int
    dst: int
    ballot: Ballot
    slot: int


@dataclass(frozen=True)
class Reject:
    """The acceptor refused ``ballot`` because it promised the higher ``promised``;
    the sender steps down."""

    src: int
    dst: int
    ballot: Ballot
    promised: Ballot


@dataclass(frozen=True)
class Decision:
    """``command`` is chosen for ``slot``."""

    src: int
    dst: int
    slot: int
    command: Command


@dataclass(frozen=True)
class Heartbeat:
    """The leader of ``ballot`` is alive; it has applied every slot below
    ``chosen_upto`` (a follower behind that asks to catch up)."""

    src: int
    dst: int
    ballot: Ballot
    chosen_upto: int


@dataclass(frozen=True)
class CatchupRequest:
    """Send me the chosen values from ``from_slot`` on."""

    src: int
    dst: int
    from_slot: int


@dataclass(frozen=True)
class CatchupReply:
    """Chosen values, and a snapshot when the asker is behind the sender's log
    start: ``snapshot`` (JSON text) is the state after applying every slot below
    ``snapshot_slot``; without one, ``snapshot`` is None and ``snapshot_slot`` 0."""

    src: int
    dst: int
    snapshot_slot: int
    snapshot: str | None
    decisions: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class Request:
    """A client asks replica ``dst`` to run ``command``."""

    client: str
    dst: int
    command: Command


@dataclass(frozen=True)
class Reply:
    """The outcome of a client's command: ``ok`` with ``result`` (JSON text) once it
    was applied, or not ``ok`` with ``error`` (``"not leader"``: retry at
    ``leader``, -1 when unknown)."""

    src: int
    client: str
    command_id: str
    ok: bool
    result: str = "null"
    leader: int = -1
    error: str = ""


PeerMessage = Union[Prepare, Promise, Accept, Accepted, Reject, Decision, Heartbeat,
                    CatchupRequest, CatchupReply]
Message = Union[PeerMessage, Request, Reply]

_TYPES: dict[str, type] = {
    "prepare": Prepare, "promise": Promise, "accept": Accept, "accepted": Accepted,
    "reject": Reject, "decision": Decision, "heartbeat": Heartbeat,
    "catchup": CatchupRequest, "catchup_reply": CatchupReply, "request": Request,
    "reply": Reply,
}
_TAGS = {cls: tag for tag, cls in _TYPES.items()}
_FIELDS = {cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in _TYPES.values()}

# How each field is written and checked, by field name (names mean one thing everywhere).
_KIND = {
    "src": "peer", "dst": "peer", "slot": "slot", "from_slot": "slot", "log_start": "slot",
    "chosen_upto": "slot", "snapshot_slot": "slot", "ballot": "ballot",
    "promised": "ballot", "command": "command", "accepted": "votes",
    "decisions": "entries", "snapshot": "text?", "client": "name", "command_id": "id",
    "ok": "bool", "result": "json", "leader": "leader", "error": "text",
}


# -- encoding ----------------------------------------------------------------------


def _ballot_out(b: Ballot) -> list[int]:
    return [b.round, b.replica]


def _command_out(c: Command) -> list[str]:
    return [c.id, c.op, c.body]


def _out(kind: str, value: Any) -> Any:
    if kind == "ballot":
        return _ballot_out(value)
    if kind == "command":
        return _command_out(value)
    if kind == "votes":
        return [[v.slot, _ballot_out(v.ballot), _command_out(v.command)] for v in value]
    if kind == "entries":
        return [[e.slot, _command_out(e.command)] for e in value]
    return value


def encode(msg: Message) -> bytes:
    """The message as compact JSON bytes (see the module docstring)."""
    cls = type(msg)
    tag = _TAGS.get(cls)
    if tag is None:
        raise MessageError(f"not a consensus message: {cls.__name__}", "message")
    obj: dict[str, Any] = {"v": VERSION, "t": tag}
    for name in _FIELDS[cls]:
        obj[name] = _out(_KIND[name], getattr(msg, name))
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


# -- decoding ----------------------------------------------------------------------


def _fail(message: str, field: str) -> MessageError:
    return MessageError(message, field)


def _int(value: Any, field: str, lo: int = 0) -> int:
    if type(value) is not int:
        raise _fail(f"expected an integer, got {type(value).__name__}", field)
    if value < lo or value >= 1 << 63:
        raise _fail(f"out of range: {value}", field)
    return value


def _str(value: Any, field: str, limit: int | None = None, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise _fail(f"expected a string, got {type(value).__name__}", field)
    if limit is not None and len(value) > limit:
        raise _fail(f"longer than {limit} characters", field)
    if not empty and not value:
        raise _fail("must not be empty", field)
    return value


def _list(value: Any, field: str, length: int | None = None) -> list:
    if not isinstance(value, list):
        raise _fail(f"expected a list, got {type(value).__name__}", field)
    if length is not None and len(value) != length:
        raise _fail(f"expected {length} items, got {len(value)}", field)
    return value


def _ballot_in(value: Any, field: str) -> Ballot:
    rnd, replica = _list(value, field, 2)
    return Ballot(_int(rnd, f"{field}[0]", 1), _int(replica, f"{field}[1]"))


def _json_text(value: Any, field: str) -> str:
    text = _str(value, field)
    try:
        json.loads(text)
    except ValueError:
        raise _fail("not valid JSON text", field) from None
    return text


def _command_in(value: Any, field: str) -> Command:
    cid, op, body = _list(value, field, 3)
    cid = _str(cid, f"{field}.id", MAX_ID)
    op = _str(op, f"{field}.op", MAX_OP, empty=False)
    body = _json_text(body, f"{field}.body")
    if (op == "noop") != (cid == ""):
        raise _fail("only the no-op has an empty id, and it must", f"{field}.id")
    return Command(cid, op, body)


def _in(kind: str, value: Any, field: str, peers: Collection[int] | None) -> Any:
    if kind == "peer":
        peer = _int(value, field)
        if peers is not None and peer not in peers:
            raise UnknownPeerError(f"replica {peer} is not a member of the group "
                                   f"{sorted(peers)}", field)
        return peer
    if kind == "slot":
        return _int(value, field)
    if kind == "leader":
        return _int(value, field, -1)
    if kind == "ballot":
        return _ballot_in(value, field)
    if kind == "command":
        return _command_in(value, field)
    if kind == "votes":
        votes = []
        for i, item in enumerate(_list(value, field)):
            at = f"{field}[{i}]"
            slot, ballot, command = _list(item, at, 3)
            votes.append(Vote(_int(slot, f"{at}.slot"), _ballot_in(ballot, f"{at}.ballot"),
                              _command_in(command, f"{at}.command")))
        return tuple(votes)
    if kind == "entries":
        entries = []
        for i, item in enumerate(_list(value, field)):
            at = f"{field}[{i}]"
            slot, command = _list(item, at, 2)
            entries.append(Entry(_int(slot, f"{at}.slot"), _command_in(command, f"{at}.command")))
        return tuple(entries)
    if kind == "text?":
        return None if value is None else _str(value, field)
    if kind == "text":
        return _str(value, field)
    if kind == "name":
        return _str(value, field, MAX_ID, empty=False)
    if kind == "id":
        return _str(value, field, MAX_ID)
    if kind == "json":
        return _json_text(value, field)
    if kind == "bool":
        if type(value) is not bool:
            raise _fail(f"expected true or false, got {type(value).__name__}", field)
        return value
    raise AssertionError(kind)  # pragma: no cover - every field has a kind


def decode(data: bytes | bytearray | memoryview | str, *, peers: Collection[int] | None = None,
           me: int | None = None) -> Message:
    """Parse and check one encoded message.

    ``peers``: the group's replica ids; a peer message from anyone else raises
    :class:`UnknownPeerError`. ``me``: this replica's id; a message addressed to
    another replica raises it too. Any malformed input raises :class:`MessageError`
    naming the field.
    """
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise _fail(f"expected bytes, got {type(data).__name__}", "message")
    if len(data) > MAX_MESSAGE_BYTES:
        raise _fail(f"{len(data)} bytes is more than the limit of {MAX_MESSAGE_BYTES}",
                    "message")
    try:
        obj = json.loads(bytes(data))
    except (ValueError, RecursionError) as err:
        raise _fail(f"not valid JSON ({err})", "message") from None
    if not isinstance(obj, dict):
        raise _fail(f"expected a JSON object, got {type(obj).__name__}", "message")
    if obj.get("v") != VERSION or type(obj.get("v")) is not int:
        raise _fail(f"unsupported version {obj.get('v')!r} (this build speaks {VERSION})", "v")
    tag = obj.get("t")
    cls = _TYPES.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise _fail(f"unknown message type {tag!r}", "t")
    names = _FIELDS[cls]
    extra = set(obj) - set(names) - {"v", "t"}
    if extra:
        raise _fail(f"unknown field in a {tag} message", sorted(extra)[0])
    values = {}
    for name in names:
        if name not in obj:
            raise _fail(f"missing from a {tag} message", name)
        values[name] = _in(_KIND[name], obj[name], name, peers)
    if me is not None and values.get("dst", me) != me:
        raise UnknownPeerError(f"addressed to replica {values['dst']}, not to {me}", "dst")
    return cls(**values)


def check_peer_message(msg: Any, peers: Collection[int], me: int) -> None:
    """Check a message object handed over in process (not decoded from bytes): a
    known type, a known sender and this replica as the addressee."""
    cls = type(msg)
    if cls not in _TAGS or cls is Reply:
        raise MessageError(f"not a message a replica accepts: {cls.__name__}", "message")
    if cls is not Request and msg.src not in peers:
        raise UnknownPeerError(f"replica {msg.src!r} is not a member of the group "
                               f"{sorted(peers)}", "src")
    if msg.dst != me:
        raise UnknownPeerError(f"addressed to replica {msg.dst!r}, not to {me}", "dst")
