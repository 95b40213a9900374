"""Multi-Paxos as a transport-agnostic state machine.

A :class:`Replica` is proposer, acceptor and learner at once (Lamport, "Paxos
Made Simple" §3; van Renesse and Altinbuken, "Paxos Made Moderately Complex").
It never touches a clock or a socket: the caller feeds it messages
(``on_message``), the time (``on_tick``) and client commands (``submit``), and
sends whatever messages each call returns. The same code runs under the
deterministic simulator and under a real transport.

The protocol, in short:

* **Ballots** are ``(round, replica_id)``. A replica that has not heard from a
  leader for an election timeout (randomized from a seeded RNG, doubled after
  each failed attempt) picks a round above every round it has seen and sends
  ``Prepare`` for all slots from its first unapplied slot on: phase 1 runs once
  for all future slots.
* **Acceptors** promise a ballot at least as high as any they promised, answering
  with their votes; they accept a value in a ballot they have not promised to
  refuse. Every promise and vote is written to :class:`Storage` and synced before
  the reply leaves (one sync per call, covering all of its records).
* **A new leader** re-proposes, for every slot a promise mentions, the value with
  the highest ballot, and fills slots nobody voted in with no-ops; then it
  proposes client commands in the next free slots, at most ``window`` of them
  outstanding at once (pipelining). A value accepted by a quorum is chosen, and
  ``Decision`` messages tell the learners.
* **Stepping down**: a leader or candidate that sees a higher ballot (a
  ``Reject``, a ``Prepare``, an ``Accept`` or a heartbeat) becomes a follower.
* **Learners** apply chosen slots strictly in order. De-duplication is by command
  id: the table of applied ids and their results is part of the replicated state
  (it is in every snapshot), so a command chosen in two slots (a retry that
  raced a leader change) is applied once, identically everywhere.
* **Catch-up**: a leader's heartbeat says how far it has applied; a replica
  behind asks for the chosen values, or, below the sender's log start, gets its
  snapshot. Every ``snapshot_every`` applied slots, and whenever its log has grown
  by ``snapshot_records`` records or ``snapshot_bytes`` bytes, a replica snapshots
  its state machine and truncates its log (so a restart replays a bounded log
  whatever the history); an acceptor then answers anything about a
  compacted slot with its snapshot, and a new leader never proposes below the
  highest log start among its promises (those slots are chosen).
"""

from __future__ import annotations

import json
import math
import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ConsensusError, MessageError
from .messages import (
    NOOP,
    Accept,
    Accepted,
    Ballot,
    CatchupReply,
    CatchupRequest,
    Command,
    Decision,
    Entry,
    Heartbeat,
    Message,
    Prepare,
    Promise,
    Reject,
    Reply,
    Request,
    Vote,
    canonical_json,
    check_peer_message,
)
from .storage import MemoryStorage, Storage

__all__ = ["Replica", "ReplicaConfig", "Submission", "StateMachine", "LogMachine",
           "FOLLOWER", "CANDIDATE", "LEADER", "NOT_LEADER"]

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"
NOT_LEADER = "not leader"


@dataclass(frozen=True)
class ReplicaConfig:
    """Timing and sizes. Times are in whatever unit ``on_tick``'s ``now`` uses
    (seconds with a real clock; the simulator uses milliseconds)."""

    heartbeat_interval: float = 0.05
    election_timeout: float = 0.3       # plus a random jitter of up to the same again
    max_backoff: int = 8                # cap of the timeout multiplier after failed elections
    retransmit_interval: float = 0.1    # resend unanswered accepts / catch-up requests
    window: int = 64                    # proposals outstanding at once
    snapshot_every: int = 10_000        # applied slots between snapshots (0: no such limit)
    catchup_batch: int = 256            # chosen values per catch-up reply
    # Also snapshot once the log has grown by this many records or bytes since the
    # last snapshot (0: no such limit): slots say nothing of a log's size (a slot
    # may hold a batch of binds, a replica that lags votes ahead of what it
    # applies), and a restart replays the whole log. 50,000 records load in
    # 0.25-0.5 s on a shared 2-vCPU machine (bench/bench_recovery.py).
    snapshot_records: int = 50_000
    snapshot_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        for name in ("heartbeat_interval", "election_timeout", "retransmit_interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    value > 0 and math.isfinite(value)):
                raise MessageError(f"must be a positive number, got {value!r}", name)
        for name, lo in (("max_backoff", 1), ("window", 1), ("snapshot_every", 0),
                         ("catchup_batch", 1), ("snapshot_records", 0), ("snapshot_bytes", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise MessageError(f"must be an integer >= {lo}, got {value!r}", name)


class StateMachine(Protocol):
    """What a replica applies the chosen log to.

    ``apply`` must be deterministic and must not raise for a command it rejects
    (return the rejection as a value: it is the command's result on every
    replica). Results, snapshots and restored states are JSON values. A machine
    may also define ``prepare(command, unapplied) -> command | None``, which the
    leader calls before it first proposes a client command (e.g. to choose a node
    for "schedule"); ``unapplied`` counts the slots proposed but not yet applied
    here, and returning None holds the command (and those queued after it) until
    it is called again with the log applied further.
    """

    def apply(self, command: Command) -> Any: ...

    def snapshot(self) -> Any: ...

    def restore(self, state: Any) -> None: ...


class LogMachine:
    """The simplest state machine: the list of applied command ids (tests, simulator)."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.generation = 0             # bumped by restore (the simulator re-checks then)

    def apply(self, command: Command) -> int:
        self.log.append(command.id)
        return len(self.log)

    def snapshot(self) -> list[str]:
        return list(self.log)

    def restore(self, state: Any) -> None:
        if not isinstance(state, list) or not all(isinstance(x, str) for x in state):
            raise MessageError("expected a list of command ids", "snapshot.machine")
        self.log = list(state)
        self.generation += 1


@dataclass(frozen=True)
class Submission:
    """What ``submit`` did: ``accepted`` when this replica leads and took the
    command (or had already applied it: then ``result`` is its JSON result), else
    ``leader_hint`` is where to retry (None when unknown). ``messages`` are to be
    sent."""

    command_id: str
    accepted: bool
    leader_hint: int | None
    messages: tuple[Message, ...]
    result: str | None = None


class _Proposal:
    __slots__ = ("command", "acks", "sent_at")

    def __init__(self, command: Command, now: float) -> None:
        self.command = command
        self.acks: set[int] = set()
        self.sent_at = now


class Replica:
    """One member of a Multi-Paxos group (see the module docstring).

    ``peers`` are all members' ids, this one's included. ``storage`` holds the
    durable acceptor state (a fresh :class:`MemoryStorage` if None); the replica
    reloads it, and the snapshot in it, at construction. ``seed`` seeds the
    election jitter. ``listener(replica_id, slot, command)``, if given, is called
    whenever this replica learns that a slot is chosen.
    """

    def __init__(self, replica_id: int, peers: Iterable[int], machine: Any,
                 storage: Storage | None = None, *, config: ReplicaConfig | None = None,
                 seed: int = 0,
                 listener: Callable[[int, int, Command], None] | None = None) -> None:
        peers = tuple(peers)
        if not peers or any(type(p) is not int or p < 0 for p in peers) \
                or len(set(peers)) != len(peers):
            raise MessageError(f"expected distinct non-negative replica ids, got {peers!r}",
                               "peers")
        if replica_id not in peers:
            raise MessageError(f"replica {replica_id!r} is not among the peers {peers}",
                               "replica_id")
        self.id = replica_id
        self.peers = tuple(sorted(peers))
        self._peer_set = frozenset(peers)
        self.others = tuple(p for p in self.peers if p != replica_id)
        self.quorum = len(peers) // 2 + 1
        self.machine = machine
        self.storage = MemoryStorage() if storage is None else storage
        self.config = ReplicaConfig() if config is None else config
        self._rng = random.Random(seed * 1_000_003 + replica_id)
        self.listener = listener

        # Acceptor (reloaded from durable storage).
        rec = self.storage.load()
        self.promised: Ballot | None = rec.promised
        self.accepted: dict[int, tuple[Ballot, Command]] = dict(rec.accepted)
        self.log_start = rec.snapshot_slot      # slots below are compacted into the snapshot
        # Learner.
        self.applied = 0                        # every slot below is applied
        self.chosen: dict[int, Command] = {}    # known chosen values, slots >= log_start
        self.results: dict[str, str] = {}       # applied command id -> JSON result
        self._snapshot_text: str | None = None
        if rec.snapshot is not None:
            self._restore(rec.snapshot_slot, rec.snapshot)
        rounds = [b.round for b, _ in self.accepted.values()]
        if self.promised is not None:
            rounds.append(self.promised.round)
        self._max_round = max(rounds, default=0)
        # Proposer.
        self.role = FOLLOWER
        self.ballot: Ballot | None = None
        self.leader_hint: int | None = None
        self._promises: dict[int, Promise] = {}
        self._prepare_from = 0
        self.proposals: dict[int, _Proposal] = {}
        self._inflight: dict[str, int] = {}     # command id -> slot proposed in
        self.next_slot = 0
        self.queue: deque[Command] = deque()
        self._queued: set[str] = set()
        self._waiters: dict[str, list[str]] = {}
        self._behind: tuple[int, int] | None = None     # as leader: (peer, slot) to catch up to
        self._heard_upto = 0                    # the highest applied slot a leader announced
        # Time.
        self.now = 0.0
        self._deadline: float | None = None
        self._backoff = 1
        self._last_heartbeat = -math.inf
        self._last_catchup = -math.inf
        self._last_leader = -math.inf           # when a leader's heartbeat or accept last came
        self._last_tick = -math.inf
        self._restarted = self.promised is not None or bool(self.accepted) \
            or self.log_start > 0               # durable state: this is a restart
        self._out: list[Message] = []
        self._local: deque[Message] = deque()

    # -- public API ----------------------------------------------------------------

    def __repr__(self) -> str:
        return (f"Replica({self.id}, {self.role}, ballot={self.ballot}, "
                f"applied={self.applied}, log_start={self.log_start})")

    @property
    def is_leader(self) -> bool:
        return self.role == LEADER

    def on_message(self, msg: Message, now: float | None = None) -> list[Message]:
        """Handle one message; returns the messages to send. A message from an
        unknown peer, or not addressed to this replica, raises
        :class:`UnknownPeerError` and changes nothing."""
        check_peer_message(msg, self._peer_set, self.id)
        if now is not None:
            self.now = now
        return self._run(self._handle, msg)[1]

    def on_tick(self, now: float) -> list[Message]:
        """Advance the clock: heartbeats, retransmissions, elections."""
        self.now = now
        return self._run(self._tick)[1]

    def submit(self, command: Command, client: str | None = None) -> Submission:
        """Propose a client command here (``client`` names who gets a ``Reply``;
        None for a caller that reads ``result`` itself)."""
        if not isinstance(command, Command):
            raise MessageError(f"expected a Command, got {type(command).__name__}", "command")
        if command.is_noop or not command.id:
            raise MessageError("a client command needs a non-empty id and an op other "
                               "than noop", "command")
        accepted, out = self._run(self._client_request, command, client)
        return Submission(command.id, accepted, self.leader_hint, tuple(out),
                          self.results.get(command.id))

    def result(self, command_id: str) -> str | None:
        """The JSON result of an applied command, or None if it is not applied here."""
        return self.results.get(command_id)

    # -- plumbing ------------------------------------------------------------------

    def _run(self, fn: Callable[..., Any], *args: Any) -> tuple[Any, list[Message]]:
        out = self._out = []
        value = fn(*args)
        while self._local:
            self._handle(self._local.popleft())
        # Durability before any reply: one sync covers every record of this call.
        if self.storage.dirty:
            self.storage.sync()
        self._out = []
        return value, out

    def _send(self, msg: Message) -> None:
        if not isinstance(msg, Reply) and msg.dst == self.id:
            self._local.append(msg)
        else:
            self._out.append(msg)

    def _handle(self, msg: Message) -> None:
        handler = _HANDLERS[type(msg)]
        handler(self, msg)

    def _see(self, ballot: Ballot) -> None:
        if ballot.round > self._max_round:
            self._max_round = ballot.round

    def _timeout(self) -> float:
        t = self.config.election_timeout
        return t * self._backoff + self._rng.uniform(0, t)

    # -- time ------------------------------------------------------------------------

    def _tick(self) -> None:
        now = self.now
        if self.role != LEADER and self._deadline is not None \
                and now - self._last_tick > self.config.election_timeout:
            # This replica stalled (a long catch-up, a snapshot restore): the
            # leader's heartbeats are waiting in its input, unread. Read them
            # before blaming the leader.
            self._deadline = max(self._deadline, now + self._timeout())
        self._last_tick = now
        if self._deadline is None:
            # A restarted replica first waits out a few timeouts: the leader redials
            # it with a backoff, and an election called before its heartbeats
            # arrive would depose a healthy leader -- and, if this replica won,
            # make it re-propose everything it missed while down.
            grace = 2 * self.config.election_timeout if self._restarted else 0.0
            self._deadline = now + grace + self._timeout()
        cfg = self.config
        if self.role == LEADER:
            assert self.ballot is not None          # set by the election that made us leader
            if now - self._last_heartbeat >= cfg.heartbeat_interval:
                self._heartbeat()
            for slot, p in list(self.proposals.items()):
                if now - p.sent_at >= cfg.retransmit_interval:
                    p.sent_at = now
                    for peer in self.peers:
                        if peer not in p.acks:
                            self._send(Accept(self.id, peer, self.ballot, slot, p.command))
                    if self.role != LEADER:
                        break
            if self._behind is not None:
                peer, target = self._behind
                if self.applied >= target:
                    self._behind = None
                else:
                    self._request_catchup(peer)
        elif now >= self._deadline:
            self._start_election()

    def _heartbeat(self) -> None:
        self._last_heartbeat = self.now
        assert self.ballot is not None          # only the leader sends heartbeats
        for peer in self.others:
            self._send(Heartbeat(self.id, peer, self.ballot, self.applied))

    def _heard_leader(self, leader: int) -> None:
        self.leader_hint = leader
        self._last_leader = self.now
        self._backoff = 1
        self._deadline = self.now + self._timeout()

    def _request_catchup(self, peer: int, force: bool = False) -> None:
        if peer == self.id:
            return
        if force or self.now - self._last_catchup >= self.config.retransmit_interval:
            self._last_catchup = self.now
            self._send(CatchupRequest(self.id, peer, self.applied))

    # -- proposer --------------------------------------------------------------------

    def _start_election(self) -> None:
        self._clear_leadership()
        self._max_round += 1
        self.ballot = Ballot(self._max_round, self.id)
        self.role = CANDIDATE
        self._prepare_from = self.applied
        self._deadline = self.now + self._timeout()
        self._backoff = min(self._backoff * 2, self.config.max_backoff)
        for peer in self.peers:
            self._send(Prepare(self.id, peer, self.ballot, self.applied))

    def _clear_leadership(self) -> None:
        self._promises = {}
        self.proposals = {}
        self._inflight = {}
        self._behind = None
        for cmd in self.queue:                  # not proposed: tell the clients to go elsewhere
            for client in self._waiters.pop(cmd.id, ()):
                self._send(Reply(self.id, client, cmd.id, False, leader=-1
                                 if self.leader_hint is None else self.leader_hint,
                                 error=NOT_LEADER))
        self.queue.clear()
        self._queued.clear()

    def _step_down(self, leader: int | None) -> None:
        self.leader_hint = leader
        self._clear_leadership()
        self.role = FOLLOWER
        self._deadline = self.now + self._timeout()

    def _check_preempted(self, ballot: Ballot) -> None:
        if self.role != FOLLOWER and self.ballot is not None and ballot > self.ballot:
            self._step_down(ballot.replica)

    def _adopt(self) -> None:
        """A quorum promised: become leader, re-propose what the promises hold."""
        promises = list(self._promises.values())
        self._promises = {}
        self.role = LEADER
        self.leader_hint = self.id
        self._backoff = 1
        start = self._prepare_from
        floor = max(p.log_start for p in promises)
        best: dict[int, tuple[Ballot, Command]] = {}
        for p in promises:
            for v in p.accepted:
                if v.slot >= start and (v.slot not in best or v.ballot > best[v.slot][0]):
                    best[v.slot] = (v.ballot, v.command)
        if floor > self.applied:
            # Slots below `floor` are chosen and compacted at that acceptor: never
            # propose them (a no-op there could overwrite a chosen value); fetch them.
            peer = max(promises, key=lambda p: p.log_start).src
            self._behind = (peer, floor)
            self._request_catchup(peer, force=True)
        first = max(start, floor, self.applied)
        self.next_slot = max(first, max(best, default=-1) + 1, max(self.chosen, default=-1) + 1)
        for slot in range(first, self.next_slot):
            if slot not in self.chosen:
                self._propose(slot, best[slot][1] if slot in best else NOOP)
                if self.role != LEADER:
                    return
        self._heartbeat()
        self._fill_window()

    def _propose(self, slot: int, command: Command) -> None:
        self.proposals[slot] = _Proposal(command, self.now)
        if command.id:
            self._inflight[command.id] = slot
        assert self.ballot is not None          # only the leader proposes
        for peer in self.peers:
            self._send(Accept(self.id, peer, self.ballot, slot, command))

    def _fill_window(self) -> None:
        prepare = getattr(self.machine, "prepare", None)
        while self.role == LEADER and self.queue and len(self.proposals) < self.config.window:
            cmd = self.queue.popleft()
            self._queued.discard(cmd.id)
            if cmd.id in self.results:
                self._reply_waiters(cmd.id)
                continue
            if cmd.id in self._inflight:
                continue
            if prepare is not None:
                prepared = prepare(cmd, self.next_slot - self.applied)
                if prepared is None:            # it needs every earlier slot applied first
                    self.queue.appendleft(cmd)
                    self._queued.add(cmd.id)
                    break
                cmd = prepared
            slot = self.next_slot
            self.next_slot += 1
            self._propose(slot, cmd)

    def _client_request(self, command: Command, client: str | None) -> bool:
        if command.id in self.results:
            if client is not None:
                self._send(Reply(self.id, client, command.id, True, self.results[command.id]))
            return True
        if self.role != LEADER:
            if client is not None:
                self._send(Reply(self.id, client, command.id, False,
                                 leader=-1 if self.leader_hint is None else self.leader_hint,
                                 error=NOT_LEADER))
            return False
        if client is not None:
            waiting = self._waiters.setdefault(command.id, [])
            if client not in waiting:
                waiting.append(client)
        if command.id not in self._inflight and command.id not in self._queued:
            self.queue.append(command)
            self._queued.add(command.id)
            self._fill_window()
        return True

    def _drop_proposal(self, slot: int, chosen: Command | None) -> None:
        """Forget our proposal for a slot decided otherwise; a client command that
        lost its slot goes back in the queue."""
        p = self.proposals.pop(slot, None)
        if p is None:
            return
        cmd = p.command
        if cmd.id and self._inflight.get(cmd.id) == slot:
            del self._inflight[cmd.id]
        if chosen != cmd and cmd.id and cmd.id not in self.results \
                and cmd.id not in self._queued and cmd.id not in self._inflight:
            self.queue.append(cmd)
            self._queued.add(cmd.id)

    # -- message handlers --------------------------------------------------------------

    def _on_prepare(self, m: Prepare) -> None:
        self._see(m.ballot)
        if m.src != self.id and (self.role == LEADER or (
                self.role == FOLLOWER and m.src != self.leader_hint
                and self.now - self._last_leader < self.config.election_timeout)):
            # Leader stickiness (Ongaro, "Consensus: Bridging Theory and Practice"
            # §4.2.3): while a leader is heard from, a candidate is ignored, so a
            # replica that restarts or reconnects cannot depose it. Not answering
            # is always safe in Paxos; once the leader falls silent, it is heard.
            return
        if self.promised is not None and m.ballot < self.promised:
            self._send(Reject(self.id, m.src, m.ballot, self.promised))
            return
        if self.promised != m.ballot:
            self.promised = m.ballot
            self.storage.promise(m.ballot)
        self._check_preempted(m.ballot)
        if m.src != self.id:
            self._deadline = self.now + self._timeout()     # give the candidate time
        votes = tuple(Vote(s, b, c) for s, (b, c) in sorted(self.accepted.items())
                      if s >= m.from_slot)
        self._send(Promise(self.id, m.src, m.ballot, self.log_start, votes))

    def _on_promise(self, m: Promise) -> None:
        self._see(m.ballot)
        if self.role == CANDIDATE and m.ballot == self.ballot:
            self._promises[m.src] = m
            if len(self._promises) >= self.quorum:
                self._adopt()

    def _on_accept(self, m: Accept) -> None:
        self._see(m.ballot)
        if self.promised is not None and m.ballot < self.promised:
            self._send(Reject(self.id, m.src, m.ballot, self.promised))
            return
        if m.slot < self.log_start:
            self._send_snapshot(m.src)          # chosen and compacted: share the state
            return
        if self.promised != m.ballot:
            self.promised = m.ballot
            self.storage.promise(m.ballot)
        if self.accepted.get(m.slot) != (m.ballot, m.command):
            self.accepted[m.slot] = (m.ballot, m.command)
            self.storage.accept(m.slot, m.ballot, m.command)
        self._check_preempted(m.ballot)
        if m.src != self.id:
            self._heard_leader(m.src)
        self._send(Accepted(self.id, m.src, m.ballot, m.slot))

    def _on_accepted(self, m: Accepted) -> None:
        if self.role != LEADER or m.ballot != self.ballot:
            return
        p = self.proposals.get(m.slot)
        if p is None:
            return
        p.acks.add(m.src)
        if len(p.acks) >= self.quorum:
            for peer in self.others:
                self._send(Decision(self.id, peer, m.slot, p.command))
            self._learn(m.slot, p.command)
            self._fill_window()

    def _on_reject(self, m: Reject) -> None:
        self._see(m.promised)
        self._check_preempted(m.promised)

    def _on_heartbeat(self, m: Heartbeat) -> None:
        self._see(m.ballot)
        if self.promised is not None and m.ballot < self.promised:
            self._send(Reject(self.id, m.src, m.ballot, self.promised))
            return
        self._check_preempted(m.ballot)
        if self.role == FOLLOWER:
            self._heard_leader(m.src)
            self._heard_upto = max(self._heard_upto, m.chosen_upto)
            if m.chosen_upto > self.applied:
                self._request_catchup(m.src)

    def _on_decision(self, m: Decision) -> None:
        self._learn(m.slot, m.command)

    def _on_catchup(self, m: CatchupRequest) -> None:
        self._send_catchup(m.src, m.from_slot)

    def _on_catchup_reply(self, m: CatchupReply) -> None:
        before = self.applied
        if m.snapshot is not None and m.snapshot_slot > self.applied:
            self._install_snapshot(m.snapshot_slot, m.snapshot)
        for entry in m.decisions:
            self._learn(entry.slot, entry.command)
        # A full batch (or a snapshot) that helped, and still behind: there is more,
        # so ask for the next batch now rather than a retransmit interval later (a
        # restarted replica, or a new leader that must apply what it re-proposes,
        # would otherwise crawl at one batch per interval). A short batch means we
        # are merely a round trip behind, which decisions will close.
        goal = self._behind[1] if self._behind is not None else self._heard_upto
        full = m.snapshot is not None or len(m.decisions) >= self.config.catchup_batch
        if full and before < self.applied < goal:
            self._request_catchup(m.src, force=True)

    def _on_request(self, m: Request) -> None:
        self._client_request(m.command, m.client)

    # -- catch-up and snapshots ------------------------------------------------------------

    def _send_snapshot(self, peer: int) -> None:
        self._send_catchup(peer, 0)

    def _send_catchup(self, peer: int, from_slot: int) -> None:
        snap_slot, snap = 0, None
        if from_slot < self.log_start and self._snapshot_text is not None:
            snap_slot, snap = self.log_start, self._snapshot_text
            from_slot = self.log_start
        entries = tuple(Entry(s, self.chosen[s])
                        for s in range(from_slot, from_slot + self.config.catchup_batch)
                        if s in self.chosen)
        if snap is not None or entries:
            self._send(CatchupReply(self.id, peer, snap_slot, snap, entries))

    def _snapshot_state(self) -> str:
        return canonical_json({"machine": self.machine.snapshot(), "results": self.results})

    @staticmethod
    def _parse_snapshot(text: str) -> tuple[Any, dict[str, str]]:
        try:
            state = json.loads(text)
        except ValueError:
            raise MessageError("not valid JSON", "snapshot") from None
        if not (isinstance(state, dict) and set(state) == {"machine", "results"}
                and isinstance(state["results"], dict)
                and all(isinstance(v, str) for v in state["results"].values())):
            raise MessageError("expected an object with 'machine' and 'results'", "snapshot")
        return state["machine"], state["results"]

    def _restore(self, slot: int, text: str) -> None:
        machine_state, results = self._parse_snapshot(text)
        self.machine.restore(machine_state)
        self.results = dict(results)
        self.applied = slot
        self._compact(slot, text)

    def _compact(self, slot: int, text: str) -> None:
        self.log_start = slot
        self._snapshot_text = text
        for s in [s for s in self.accepted if s < slot]:
            del self.accepted[s]
        for s in [s for s in self.chosen if s < slot]:
            del self.chosen[s]

    def _take_snapshot(self) -> None:
        text = self._snapshot_state()
        self.storage.install_snapshot(self.applied, text)
        self._compact(self.applied, text)

    def _install_snapshot(self, slot: int, text: str) -> None:
        self._parse_snapshot(text)              # check before anything changes
        self._restore(slot, text)
        self.storage.install_snapshot(slot, text)
        for s in [s for s in self.proposals if s < slot]:
            self._drop_proposal(s, None)
        for cid in [c for c in self._waiters if c in self.results]:
            self._reply_waiters(cid)
        if self.role == LEADER:
            self.next_slot = max(self.next_slot, slot)
        self._apply_ready()
        if self.role == LEADER:
            self._fill_window()

    # -- learner ------------------------------------------------------------------------

    def _learn(self, slot: int, command: Command) -> None:
        if slot < self.applied:
            return
        known = self.chosen.get(slot)
        if known is not None:
            if known != command:    # would mean Paxos itself is broken: stop loudly
                raise ConsensusError(f"slot {slot}: learned {command} but {known} was chosen")
            return
        self.chosen[slot] = command
        if self.listener is not None:
            self.listener(self.id, slot, command)
        if slot in self.proposals:
            self._drop_proposal(slot, command)
        self._apply_ready()
        if self.role == LEADER and self.queue:
            self._fill_window()

    def _apply_ready(self) -> None:
        applied_before = self.applied
        while self.applied in self.chosen:
            cmd = self.chosen[self.applied]
            self.applied += 1
            if cmd.is_noop:
                continue
            if cmd.id not in self.results:      # de-duplication: applied once
                self.results[cmd.id] = canonical_json(self.machine.apply(cmd))
            self._reply_waiters(cmd.id)
        if self.applied == applied_before:
            return
        if self.role == LEADER and self.next_slot < self.applied:
            self.next_slot = self.applied
        if self._snapshot_due():
            self._take_snapshot()

    def _snapshot_due(self) -> bool:
        """Whether the applied slots since the last snapshot, or the log records or
        bytes written since, have passed their limit."""
        cfg, storage = self.config, self.storage
        return (bool(cfg.snapshot_every) and self.applied - self.log_start >= cfg.snapshot_every
                or bool(cfg.snapshot_records) and storage.log_records >= cfg.snapshot_records
                or bool(cfg.snapshot_bytes) and storage.log_bytes >= cfg.snapshot_bytes)

    def _reply_waiters(self, command_id: str) -> None:
        for client in self._waiters.pop(command_id, ()):
            self._send(Reply(self.id, client, command_id, True, self.results[command_id]))


_HANDLERS: dict[type, Callable[[Replica, Any], None]] = {
    Prepare: Replica._on_prepare, Promise: Replica._on_promise, Accept: Replica._on_accept,
    Accepted: Replica._on_accepted, Reject: Replica._on_reject,
    Heartbeat: Replica._on_heartbeat, Decision: Replica._on_decision,
    CatchupRequest: Replica._on_catchup, CatchupReply: Replica._on_catchup_reply,
    Request: Replica._on_request,
}
