"""A deterministic, seeded simulator of a Multi-Paxos group, with faults.

One seed fixes everything: the fault rates, every message delay, loss,
duplication and partition, every crash and restart, and the replicas' election
jitter. Time is an integer (milliseconds); a *step* is one event taken from the
queue (a message delivered, a replica's tick, a client's timer).

Faults: messages are delayed by a random amount (so they arrive reordered), lost
or duplicated; replicas are split into partitions and healed; replicas crash and
restart, keeping only their durable storage (:class:`MemoryStorage` drops what was
not synced) and rebuilding everything else from it.

Checked after every step (a failure raises :class:`SimulationFailure`, whose
message ends with the command line that replays it):

* at most one value is chosen per slot, counting durable votes: a value is chosen
  when a quorum of acceptors has voted for it in one ballot;
* every value a replica learns for a slot is the value chosen for it;
* every replica's applied sequence of commands is a prefix of one common sequence,
  in which no command appears twice;
* a command acknowledged to a client is in that sequence (so it can never be lost);
* the caller's own invariant (``check``), e.g. no node overcommitted.

Then faults stop (partitions heal, crashed replicas restart, no more loss) and the
run continues until every client command is acknowledged and applied by every
replica; not getting there within ``settle_steps`` steps is a liveness failure.

Run one seed from a shell::

    python -m fastsched.consensus.simulator --seed 42
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import SimulationFailure
from .messages import Ballot, Command, Message, Reply, Request
from .paxos import LogMachine, Replica, ReplicaConfig
from .storage import MemoryStorage

__all__ = ["SimConfig", "Simulation", "SimulationFailure", "run_seed", "main"]

SIM_REPLICA = ReplicaConfig(heartbeat_interval=20, election_timeout=60, retransmit_interval=25,
                            window=4, snapshot_every=6, catchup_batch=16)


@dataclass(frozen=True)
class SimConfig:
    """The shape of one simulated run (``SimConfig.random`` draws one per seed)."""

    replicas: int = 3
    steps: int = 200                # steps with faults
    settle_steps: int = 20_000      # bound on the steps to finish once faults stop
    clients: int = 2
    commands: int = 4               # per client
    min_delay: int = 1
    max_delay: int = 10
    loss: float = 0.05
    duplicate: float = 0.05
    crash: float = 0.01             # per step: crash a running replica
    restart: float = 0.05           # per step: restart a crashed one
    partition: float = 0.01         # per step: split the replicas in two
    heal: float = 0.05              # per step: heal a partition
    tick_interval: int = 10
    client_timeout: int = 100
    replica: ReplicaConfig = field(default=SIM_REPLICA)

    @classmethod
    def random(cls, seed: int, *, replicas: int | None = None, steps: int = 200) -> "SimConfig":
        """Fault rates and sizes drawn from ``seed`` (a fifth of runs have 5 replicas)."""
        rng = random.Random(f"config:{seed}")
        n = replicas if replicas is not None else (5 if rng.random() < 0.2 else 3)
        return cls(
            replicas=n, steps=steps, clients=rng.choice((1, 2, 3)),
            commands=rng.randint(5, 20), max_delay=rng.choice((3, 10, 30)),
            loss=rng.choice((0.0, 0.02, 0.1, 0.25)),
            duplicate=rng.choice((0.0, 0.02, 0.1)),
            crash=rng.choice((0.0, 0.005, 0.02, 0.05)), restart=rng.choice((0.02, 0.1)),
            partition=rng.choice((0.0, 0.005, 0.02)), heal=rng.choice((0.005, 0.02, 0.1)),
            replica=replace(SIM_REPLICA, window=rng.choice((1, 4, 16)),
                            snapshot_every=rng.choice((0, 3, 8))))


@dataclass
class _Client:
    name: str
    commands: list[Command]
    next: int = 0
    target: int = 0
    timer: int = 0                  # bumped on each send; a timeout for an old one is ignored
    sent_at: int = 0

    @property
    def done(self) -> bool:
        return self.next >= len(self.commands)


def _default_commands(rng: random.Random, client: str, count: int) -> list[Command]:
    return [Command.make(f"{client}:{i}", "put", {"key": rng.randrange(4), "value": i})
            for i in range(count)]


def machine_log(machine: Any) -> list[str]:
    """The ids a state machine has applied, in order (machines in the simulator keep
    them in ``log``)."""
    return machine.log


class Simulation:
    """N replicas, some clients and a faulty network, all driven by one seed.

    ``make_machine()`` builds a replica's state machine (it must keep the applied
    ids in ``.log`` and bump ``.generation`` on restore, like :class:`LogMachine`);
    ``make_commands(rng, client, count)`` a client's commands; ``check(sim)`` runs
    after every step and raises ``AssertionError`` for a broken invariant.
    """

    def __init__(self, seed: int, config: SimConfig | None = None, *,
                 make_machine: Callable[[], Any] = LogMachine,
                 make_commands: Callable[[random.Random, str, int], list[Command]] | None = None,
                 check: Callable[["Simulation"], None] | None = None) -> None:
        self.seed = seed
        self.config = cfg = SimConfig.random(seed) if config is None else config
        self.rng = random.Random(seed)
        self.make_machine = make_machine
        self.check = check
        self.time = 0
        self.steps = 0
        self.faults = True
        self._queue: list[tuple[int, int, str, Any]] = []
        self._seq = 0
        n = cfg.replicas
        self.peers = tuple(range(n))
        self.quorum = n // 2 + 1
        self.storages = [MemoryStorage(on_sync=self._vote_observer(i)) for i in range(n)]
        self.replicas: list[Replica | None] = [None] * n
        self.incarnation = [0] * n
        self.group = [0] * n            # partition side of each replica
        # What the checks remember.
        self.votes: dict[tuple[int, Ballot], dict[int, Command]] = {}
        self.chosen: dict[int, Command] = {}
        self.common: list[str] = []
        self.common_set: set[str] = set()
        self.acked: set[str] = set()
        self._checked: list[tuple[int, int, int]] = [(0, 0, 0)] * n   # (id(machine), gen, len)
        self.stats = {"delivered": 0, "lost": 0, "duplicated": 0, "crashes": 0,
                      "partitions": 0, "elections": 0}
        for i in range(n):
            self._start(i)
            self._schedule(self.rng.randrange(cfg.tick_interval), "tick", i)
        make = make_commands or _default_commands
        self.clients = []
        for c in range(cfg.clients):
            name = f"c{c}"
            client = _Client(name, make(self.rng, name, cfg.commands),
                             target=self.rng.randrange(n))
            self.clients.append(client)
            self._schedule(self.rng.randrange(1, 50), "send", (c, 0))

    # -- running -----------------------------------------------------------------------

    def replay_hint(self) -> str:
        cfg = self.config
        return (f"replay: python -m fastsched.consensus.simulator --seed {self.seed} "
                f"--steps {cfg.steps} --replicas {cfg.replicas}")

    def fail(self, what: str) -> SimulationFailure:
        return SimulationFailure(f"seed {self.seed}, step {self.steps} (t={self.time}ms): "
                                 f"{what}\n{self.replay_hint()}")

    def run(self, steps: int | None = None) -> "Simulation":
        """``steps`` steps with faults (default: the config's), then settle without
        faults until every command is applied everywhere; raises
        :class:`SimulationFailure` on any broken check."""
        steps = self.config.steps if steps is None else steps
        for _ in range(steps):
            self.step()
        self.stop_faults()
        for _ in range(self.config.settle_steps):
            if self.finished():
                return self
            self.step()
        if self.finished():
            return self
        pending = [c.commands[c.next].id for c in self.clients if not c.done]
        lengths = [len(machine_log(r.machine)) if r else None for r in self.replicas]
        raise self.fail(f"liveness: {self.config.settle_steps} steps after faults stopped, "
                        f"commands not acknowledged: {pending}; applied per replica: "
                        f"{lengths} of {len(self.common)}; roles: "
                        f"{[r.role if r else 'down' for r in self.replicas]}")

    def finished(self) -> bool:
        if not all(c.done for c in self.clients):
            return False
        total = sum(len(c.commands) for c in self.clients)
        return len(self.common) == total and all(
            r is not None and len(machine_log(r.machine)) == total for r in self.replicas)

    def stop_faults(self) -> None:
        """Heal every partition, restart every crashed replica, stop losing messages."""
        self.faults = False
        self.group = [0] * len(self.group)
        for i, r in enumerate(self.replicas):
            if r is None:
                self._start(i)

    def step(self) -> None:
        """Take one event from the queue, then run every check."""
        if self.faults:
            self._inject_faults()
        when, _, kind, data = heapq.heappop(self._queue)
        self.time = when
        self.steps += 1
        touched = None
        if kind == "tick":
            touched = data
            self._schedule(self.config.tick_interval, "tick", data)
            r = self.replicas[data]
            if r is not None:
                was = r.role
                self._send(data, r.on_tick(self.time))
                if r.role == "candidate" and was != "candidate":
                    self.stats["elections"] += 1
        elif kind == "deliver":
            touched = self._deliver(data)
        else:
            self._client_timer(*data)
        if touched is not None:
            self._check_replica(touched)
        if self.check is not None:
            try:
                self.check(self)
            except AssertionError as err:
                raise self.fail(str(err)) from None

    # -- faults ------------------------------------------------------------------------

    def _inject_faults(self) -> None:
        cfg, rng = self.config, self.rng
        n = cfg.replicas
        # Half the crashes and partitions aim at a leader: that is where Paxos is subtle.
        leaders = [i for i, r in enumerate(self.replicas) if r is not None and r.is_leader]
        if rng.random() < cfg.crash:
            up = [i for i in range(n) if self.replicas[i] is not None]
            if up:
                self._crash(rng.choice(leaders if leaders and rng.random() < 0.5 else up))
        if rng.random() < cfg.restart:
            down = [i for i in range(n) if self.replicas[i] is None]
            if down:
                self._start(rng.choice(down))
        if rng.random() < cfg.partition:
            self.group = [rng.randrange(2) for _ in range(n)]
            if leaders and rng.random() < 0.5:      # cut a leader off with a minority
                leader = rng.choice(leaders)
                others = [i for i in range(n) if i != leader]
                self.group = [0] * n
                for i in [leader] + rng.sample(others, rng.randrange(n // 2)):
                    self.group[i] = 1
            self.stats["partitions"] += 1
        if any(self.group) and rng.random() < cfg.heal:
            self.group = [0] * n

    def _crash(self, i: int) -> None:
        self.replicas[i] = None
        self.storages[i].crash()
        self.stats["crashes"] += 1

    def _start(self, i: int) -> None:
        self.incarnation[i] += 1
        self.replicas[i] = Replica(
            i, self.peers, self.make_machine(), self.storages[i], config=self.config.replica,
            seed=self.seed * 7919 + self.incarnation[i], listener=self._on_learn)
        self._checked[i] = (0, 0, 0)
        self._check_replica(i)

    # -- network -----------------------------------------------------------------------

    def _schedule(self, delay: int, kind: str, data: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (self.time + delay, self._seq, kind, data))

    def _send(self, src: int | None, messages: Any) -> None:
        cfg, rng = self.config, self.rng
        for msg in messages:
            copies = 1
            if self.faults:
                if rng.random() < cfg.loss:
                    self.stats["lost"] += 1
                    continue
                if rng.random() < cfg.duplicate:
                    copies = 2
                    self.stats["duplicated"] += 1
            for _ in range(copies):
                self._schedule(rng.randint(cfg.min_delay, cfg.max_delay), "deliver", (src, msg))

    def _deliver(self, data: tuple[int | None, Message]) -> int | None:
        src, msg = data
        if isinstance(msg, Reply):
            self._client_reply(msg)
            return None
        dst = msg.dst
        r = self.replicas[dst]
        if r is None or (src is not None and self.group[src] != self.group[dst]):
            self.stats["lost"] += 1
            return None
        self.stats["delivered"] += 1
        self._send(dst, r.on_message(msg, self.time))
        return dst

    # -- clients -----------------------------------------------------------------------

    def _client_send(self, c: int) -> None:
        client = self.clients[c]
        if client.done:
            return
        client.timer += 1
        client.sent_at = self.time
        cmd = client.commands[client.next]
        self._send(None, [Request(client.name, client.target, cmd)])
        self._schedule(self.config.client_timeout, "timeout", (c, client.timer))

    def _client_timer(self, c: int, timer: int) -> None:
        client = self.clients[c]
        if timer == 0:                   # a scheduled (re)send
            self._client_send(c)
        elif timer == client.timer and not client.done:   # no answer: try someone else
            client.target = self.rng.randrange(self.config.replicas)
            self._client_send(c)

    def _schedule_client(self, c: int, delay: int) -> None:
        self._schedule(delay, "send", (c, 0))

    def _client_reply(self, reply: Reply) -> None:
        c = int(reply.client[1:])
        client = self.clients[c]
        if client.done or reply.command_id != client.commands[client.next].id:
            return                       # a late or duplicated reply
        if reply.ok:
            if reply.command_id not in self.common_set:
                raise self.fail(f"command {reply.command_id} acknowledged by replica "
                                f"{reply.src} but not in the applied sequence")
            self.acked.add(reply.command_id)
            client.next += 1
            client.timer += 1
            self._schedule_client(c, self.rng.randint(1, 20))
        else:
            client.target = (reply.leader if reply.leader >= 0
                             else self.rng.randrange(self.config.replicas))
            client.timer += 1
            self._schedule_client(c, self.rng.randint(1, 10))

    # -- checks ------------------------------------------------------------------------

    def _vote_observer(self, acceptor: int) -> Callable[[list[dict[str, Any]]], None]:
        def observe(records: list[dict[str, Any]]) -> None:
            for rec in records:
                if rec["k"] != "accept":
                    continue
                slot, ballot, command = rec["s"], Ballot(*rec["b"]), Command(*rec["c"])
                voters = self.votes.setdefault((slot, ballot), {})
                if voters.get(acceptor, command) != command:
                    raise self.fail(f"acceptor {acceptor} voted twice in ballot {ballot} "
                                    f"for slot {slot}: {voters[acceptor]} and {command}")
                voters[acceptor] = command
                values = set(voters.values())
                if len(values) > 1:
                    raise self.fail(f"ballot {ballot} proposed two values for slot {slot}")
                if len(voters) >= self.quorum:
                    known = self.chosen.setdefault(slot, command)
                    if known != command:
                        raise self.fail(f"two values chosen for slot {slot}: {known} and "
                                        f"{command} (ballot {ballot})")
        return observe

    def _on_learn(self, replica: int, slot: int, command: Command) -> None:
        chosen = self.chosen.get(slot)
        if chosen != command:
            raise self.fail(f"replica {replica} learned {command} for slot {slot}, but "
                            f"{'nothing' if chosen is None else chosen} was chosen there")

    def _check_replica(self, i: int) -> None:
        r = self.replicas[i]
        if r is None:
            return
        machine = r.machine
        log = machine_log(machine)
        key, gen, done = self._checked[i]
        start = done if (key == id(machine) and gen == machine.generation
                         and done <= len(log)) else 0
        common = self.common
        for k in range(start, len(log)):
            cid = log[k]
            if k < len(common):
                if common[k] != cid:
                    raise self.fail(f"replica {i} applied {cid} at position {k}, where "
                                    f"another applied {common[k]}")
            else:
                if cid in self.common_set:
                    raise self.fail(f"replica {i} applied command {cid} twice")
                common.append(cid)
                self.common_set.add(cid)
        self._checked[i] = (id(machine), machine.generation, len(log))


def run_seed(seed: int, *, steps: int = 200, replicas: int | None = None,
             **kwargs: Any) -> Simulation:
    """Run one random schedule (``SimConfig.random(seed)``); raises
    :class:`SimulationFailure` when a check fails."""
    config = SimConfig.random(seed, replicas=replicas, steps=steps)
    return Simulation(seed, config, **kwargs).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fastsched.consensus.simulator",
        description="Run seeded Multi-Paxos simulations with faults and check them.")
    parser.add_argument("--seed", type=int, required=True, help="the (first) seed")
    parser.add_argument("--steps", type=int, default=200, help="steps with faults")
    parser.add_argument("--replicas", type=int, default=None,
                        help="group size (default: drawn from the seed, 3 or 5)")
    parser.add_argument("--count", type=int, default=1, help="run this many seeds from --seed")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    for seed in range(args.seed, args.seed + args.count):
        try:
            sim = run_seed(seed, steps=args.steps, replicas=args.replicas)
        except SimulationFailure as err:
            print(f"FAIL {err}", file=sys.stderr)
            return 1
        if args.count == 1:
            cfg = sim.config
            print(f"seed {seed}: ok after {sim.steps} steps (t={sim.time}ms): "
                  f"{cfg.replicas} replicas, {len(sim.common)} commands applied, "
                  f"stats {sim.stats}")
    if args.count > 1:
        print(f"{args.count} seeds ok in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
