"""fastsched.consensus: messages, durable log, Multi-Paxos, simulator, replicated scheduler."""

import json
import os
import subprocess
import sys
import time
from collections import deque

import pytest

from fastsched import Pod, ValidationError
from fastsched.consensus import (
    NOOP,
    Accept,
    Accepted,
    Ballot,
    CatchupReply,
    CatchupRequest,
    Command,
    Decision,
    Entry,
    FileStorage,
    Heartbeat,
    LogCorruptError,
    LogMachine,
    MemoryStorage,
    MessageError,
    Prepare,
    Promise,
    Reject,
    Replica,
    ReplicaConfig,
    ReplicatedScheduler,
    Reply,
    Request,
    SchedulerMachine,
    SimConfig,
    Simulation,
    SimulationFailure,
    UnknownPeerError,
    Vote,
    decode,
    encode,
    run_seed,
)
from fastsched.consensus import paxos as paxos_module
from fastsched.consensus.codec import pod_from_json, pod_to_json
from fastsched.consensus.messages import canonical_json

B = Ballot(3, 1)
CMD = Command.make("c1:1", "put", {"k": 1})

ALL_MESSAGES = [
    Prepare(1, 0, B, 4),
    Promise(0, 1, B, 2, (Vote(4, Ballot(2, 0), CMD), Vote(5, Ballot(1, 2), NOOP))),
    Accept(1, 2, B, 7, CMD),
    Accepted(2, 1, B, 7),
    Reject(0, 1, B, Ballot(4, 2)),
    Decision(1, 0, 7, CMD),
    Heartbeat(1, 2, B, 9),
    CatchupRequest(2, 1, 3),
    CatchupReply(1, 2, 5, '{"machine":[],"results":{}}', (Entry(5, CMD), Entry(6, NOOP))),
    CatchupReply(1, 2, 0, None, ()),
    Request("client-a", 1, CMD),
    Reply(1, "client-a", "c1:1", True, "3"),
    Reply(1, "client-a", "c1:1", False, leader=2, error="not leader"),
]


# -- messages -----------------------------------------------------------------------


@pytest.mark.parametrize("msg", ALL_MESSAGES, ids=lambda m: type(m).__name__)
def test_message_round_trip(msg):
    data = encode(msg)
    assert isinstance(data, bytes) and b" " not in data.replace(b"not leader", b"")
    assert decode(data, peers={0, 1, 2}) == msg


def _tweak(msg, **changes):
    obj = json.loads(encode(msg))
    for key, value in changes.items():
        if value is KeyError:
            del obj[key]
        else:
            obj[key] = value
    return json.dumps(obj).encode()


@pytest.mark.parametrize("data, field", [
    (b"not json", "message"),
    (b"[1, 2]", "message"),
    (_tweak(Accept(1, 2, B, 7, CMD), v=2), "v"),
    (_tweak(Accept(1, 2, B, 7, CMD), v=True), "v"),
    (_tweak(Accept(1, 2, B, 7, CMD), t="bogus"), "t"),
    (_tweak(Accept(1, 2, B, 7, CMD), slot=KeyError), "slot"),
    (_tweak(Accept(1, 2, B, 7, CMD), extra=1), "extra"),
    (_tweak(Accept(1, 2, B, 7, CMD), slot=-1), "slot"),
    (_tweak(Accept(1, 2, B, 7, CMD), slot=True), "slot"),
    (_tweak(Accept(1, 2, B, 7, CMD), slot="7"), "slot"),
    (_tweak(Accept(1, 2, B, 7, CMD), ballot=[0, 1]), "ballot[0]"),
    (_tweak(Accept(1, 2, B, 7, CMD), ballot=[1]), "ballot"),
    (_tweak(Accept(1, 2, B, 7, CMD), command=["x", "put", "{not json"]), "command.body"),
    (_tweak(Accept(1, 2, B, 7, CMD), command=["", "put", "1"]), "command.id"),
    (_tweak(Accept(1, 2, B, 7, CMD), command=["x", "", "1"]), "command.op"),
    (_tweak(Promise(0, 1, B, 0, (Vote(4, B, CMD),)), accepted=[[4, [3, 1]]]), "accepted[0]"),
    (_tweak(Reply(1, "a", "c", True), ok=1), "ok"),
    (_tweak(Request("a", 1, CMD), client=""), "client"),
])
def test_malformed_messages_are_rejected_naming_the_field(data, field):
    with pytest.raises(MessageError) as info:
        decode(data, peers={0, 1, 2})
    assert isinstance(info.value, ValidationError)
    assert info.value.field == field
    assert field in str(info.value)


def test_unknown_peers_are_rejected():
    with pytest.raises(UnknownPeerError, match="replica 7 is not a member"):
        decode(encode(Accept(7, 1, B, 0, CMD)), peers={0, 1, 2})
    with pytest.raises(UnknownPeerError, match="addressed to replica 2, not to 1"):
        decode(encode(Accept(0, 2, B, 0, CMD)), peers={0, 1, 2}, me=1)
    r = Replica(1, [0, 1, 2], LogMachine())
    with pytest.raises(UnknownPeerError):
        r.on_message(Accept(9, 1, B, 0, CMD))
    with pytest.raises(MessageError):
        r.on_message(Reply(0, "x", "y", True))
    assert r.promised is None and r.accepted == {}       # nothing was applied


def test_oversized_message_is_rejected(monkeypatch):
    from fastsched.consensus import messages
    monkeypatch.setattr(messages, "MAX_MESSAGE_BYTES", 100)
    with pytest.raises(MessageError, match="limit"):
        decode(encode(CatchupReply(1, 2, 5, "x" * 200, ())))


# -- storage ------------------------------------------------------------------------


def _fill(storage):
    storage.promise(Ballot(1, 0))
    storage.accept(0, Ballot(1, 0), CMD)
    storage.accept(1, Ballot(1, 0), NOOP)
    storage.promise(Ballot(2, 1))
    storage.accept(1, Ballot(2, 1), Command.make("c2:1", "put", [1]))
    storage.sync()


def test_file_storage_reloads(tmp_path):
    s = FileStorage(tmp_path)
    s.load()
    _fill(s)
    s.close()
    rec = FileStorage(tmp_path).load()
    assert rec.promised == Ballot(2, 1)
    assert rec.accepted == {0: (Ballot(1, 0), CMD),
                            1: (Ballot(2, 1), Command.make("c2:1", "put", [1]))}
    assert rec.snapshot is None and rec.snapshot_slot == 0


@pytest.mark.parametrize("tail", [b"\x07\x00", b"\x00" * 40, b"cut"])
def test_torn_tail_is_dropped(tmp_path, tail):
    s = FileStorage(tmp_path, fsync=False)
    s.load()
    _fill(s)
    s.close()
    log, mark = tmp_path / "acceptor.log", tmp_path / "acceptor.mark"
    good, good_mark = log.read_bytes(), mark.read_bytes()
    # A partly written record: the full frame of one more vote, cut short.
    s2 = FileStorage(tmp_path / "other", fsync=False)
    s2.load()
    s2.accept(9, Ballot(5, 0), CMD)
    s2.close()
    frame = (tmp_path / "other" / "acceptor.log").read_bytes()
    for torn in (frame[:-3], frame[:5], tail):
        log.write_bytes(good + torn)
        s = FileStorage(tmp_path, fsync=False)
        rec = s.load()
        assert 9 not in rec.accepted and rec.promised == Ballot(2, 1)
        assert log.stat().st_size == len(good)           # truncated before appending
        s.accept(3, Ballot(2, 1), CMD)
        s.close()
        assert FileStorage(tmp_path).load().accepted[3] == (Ballot(2, 1), CMD)
        log.write_bytes(good)
        mark.write_bytes(good_mark)         # back to before the vote on slot 3


def test_corrupted_record_in_the_middle_names_its_offset(tmp_path):
    s = FileStorage(tmp_path, fsync=False)
    s.load()
    _fill(s)
    s.close()
    log = tmp_path / "acceptor.log"
    data = bytearray(log.read_bytes())
    first_len = int.from_bytes(data[0:4], "little")
    second = 12 + first_len
    data[second + 14] ^= 0x20                 # a payload byte of the second record
    log.write_bytes(bytes(data))
    with pytest.raises(LogCorruptError, match=f"offset {second}: payload checksum") as info:
        FileStorage(tmp_path).load()
    assert info.value.offset == second
    data[second + 14] ^= 0x20
    data[second + 1] ^= 0x01                  # its length field
    log.write_bytes(bytes(data))
    with pytest.raises(LogCorruptError, match="header checksum"):
        FileStorage(tmp_path).load()
    # A replica refuses to start on a corrupted log.
    with pytest.raises(LogCorruptError):
        Replica(0, [0, 1, 2], LogMachine(), FileStorage(tmp_path))


def test_snapshot_truncates_the_log(tmp_path):
    s = FileStorage(tmp_path, fsync=False)
    s.load()
    for slot in range(20):
        s.accept(slot, Ballot(1, 0), Command.make(f"c:{slot}", "put", slot))
    s.promise(Ballot(2, 0))
    s.sync()
    before = (tmp_path / "acceptor.log").stat().st_size
    s.install_snapshot(15, '{"machine":[],"results":{}}')
    after = (tmp_path / "acceptor.log").stat().st_size
    assert after < before / 3
    s.accept(20, Ballot(2, 0), CMD)
    s.close()
    rec = FileStorage(tmp_path).load()
    assert rec.snapshot_slot == 15 and rec.snapshot == '{"machine":[],"results":{}}'
    assert sorted(rec.accepted) == [15, 16, 17, 18, 19, 20]
    assert rec.promised == Ballot(2, 0)


def test_memory_storage_crash_loses_only_unsynced_records():
    seen = []
    s = MemoryStorage(on_sync=seen.extend)
    s.load()
    s.promise(Ballot(1, 0))
    s.sync()
    s.accept(0, Ballot(1, 0), CMD)            # not synced
    s.crash()
    rec = s.load()
    assert rec.promised == Ballot(1, 0) and rec.accepted == {}
    assert [r["k"] for r in seen] == ["promise"]


def test_replica_syncs_before_it_replies():
    s = MemoryStorage()
    r = Replica(0, [0, 1, 2], LogMachine(), s)
    out = r.on_message(Prepare(1, 0, Ballot(1, 1), 0))
    assert out == [Promise(0, 1, Ballot(1, 1), 0, ())]
    assert not s.dirty and s.durable_records == 1
    out = r.on_message(Accept(1, 0, Ballot(1, 1), 0, CMD))
    assert out == [Accepted(0, 1, Ballot(1, 1), 0)]
    s.crash()
    again = Replica(0, [0, 1, 2], LogMachine(), s)   # restart: the promise and vote survive
    assert again.promised == Ballot(1, 1) and again.accepted == {0: (Ballot(1, 1), CMD)}
    assert again.on_message(Accept(2, 0, Ballot(1, 0), 1, CMD)) == [
        Reject(0, 2, Ballot(1, 0), Ballot(1, 1))]


# -- Paxos with a hand-driven network -------------------------------------------------------

FAST = ReplicaConfig(heartbeat_interval=1, election_timeout=10, retransmit_interval=2,
                     window=8, snapshot_every=0)


class Net:
    """Delivers messages in order; ``cut`` drops messages between replica pairs."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.queue = deque()
        self.down = set()
        self.cut = set()
        self.replies = []
        self.now = 0

    def send(self, messages):
        for m in messages:
            (self.replies if isinstance(m, Reply) else self.queue).append(m)

    def pump(self, limit=100_000):
        while self.queue and limit:
            limit -= 1
            m = self.queue.popleft()
            src = getattr(m, "src", None)
            if m.dst in self.down or src in self.down or (src, m.dst) in self.cut \
                    or (m.dst, src) in self.cut:
                continue
            self.send(self.nodes[m.dst].on_message(m, self.now))

    def tick(self, dt=1, ids=None):
        self.now += dt
        for i, node in self.nodes.items():
            if i not in self.down and (ids is None or i in ids):
                self.send(node.on_tick(self.now))
        self.pump()

    def elect(self, leader):
        replica = getattr(self.nodes[leader], "replica", self.nodes[leader])
        for _ in range(200):
            self.tick(ids={leader})
            if replica.is_leader:
                self.tick(dt=0)
                return
        raise AssertionError(f"replica {leader} did not become leader")


def group(n=3, config=FAST, storages=None):
    storages = storages or [MemoryStorage() for _ in range(n)]
    return {i: Replica(i, range(n), LogMachine(), storages[i], config=config, seed=i)
            for i in range(n)}, storages


def test_single_leader_chooses_in_order():
    nodes, _ = group()
    net = Net(nodes)
    net.elect(0)
    for k in range(20):                                   # pipelined: window 8
        sub = nodes[0].submit(Command.make(f"c:{k}", "put", k), client="c")
        assert sub.accepted
        net.send(sub.messages)
    net.pump()
    for _ in range(5):
        net.tick()
    expected = [f"c:{k}" for k in range(20)]
    assert all(n.machine.log == expected for n in nodes.values())
    assert sorted(int(r.result) for r in net.replies) == list(range(1, 21))
    follower = nodes[1].submit(Command.make("c:x", "put", 0), client="c")
    assert not follower.accepted and follower.leader_hint == 0


def test_new_leader_reproposes_accepted_values_and_fills_gaps():
    nodes, storages = group()
    net = Net(nodes)
    net.elect(0)
    net.send(nodes[0].submit(Command.make("a", "put", 1)).messages)
    net.pump()                                            # slot 0: "a", chosen
    nodes[0].submit(Command.make("b", "put", 2))          # slot 1: only 0 votes
    sub = nodes[0].submit(Command.make("c", "put", 3))    # slot 2: 0 and 1 vote...
    nodes[1].on_message(next(m for m in sub.messages if m.dst == 1))
    assert nodes[1].accepted[2][1].id == "c" and 1 not in nodes[1].accepted
    net.down = {0}                                        # ...and 0 crashes unaware
    storages[0].crash()
    net.elect(2)
    for _ in range(5):
        net.tick(ids={1, 2})
    # "c" was accepted by a live acceptor: re-proposed in its slot; slot 1 is a gap
    # nobody live voted in: filled with a no-op.
    assert nodes[2].chosen[1] == NOOP and nodes[2].chosen[2].id == "c"
    assert nodes[2].machine.log == ["a", "c"] == nodes[1].machine.log
    # Replica 0 restarts from its durable log and catches up.
    nodes[0] = Replica(0, range(3), LogMachine(), storages[0], config=FAST)
    assert nodes[0].accepted[1][1].id == "b"              # its stale vote survived...
    net.nodes = nodes
    net.down = set()
    for _ in range(10):
        net.tick()
    assert nodes[0].machine.log == ["a", "c"]             # ...and lost to the no-op
    assert nodes[0].applied == nodes[2].applied == 3


def test_stale_leader_steps_down_on_a_higher_ballot():
    nodes, _ = group()
    net = Net(nodes)
    net.elect(0)
    net.elect(1)
    assert nodes[1].is_leader and nodes[1].ballot > nodes[0].ballot
    net.tick()
    assert not nodes[0].is_leader and nodes[0].leader_hint == 1
    sub = nodes[0].submit(Command.make("z", "put", 0), client="c")
    assert not sub.accepted
    assert sub.messages == (Reply(0, "c", "z", False, leader=1, error="not leader"),)


def test_duplicate_request_is_applied_once():
    nodes, _ = group()
    net = Net(nodes)
    net.elect(0)
    cmd = Command.make("dup", "put", 1)
    for _ in range(3):
        net.send(nodes[0].submit(cmd, client="c").messages)
    net.pump()
    net.send(nodes[0].submit(cmd, client="c").messages)    # after it was applied
    # The same command chosen in two slots (a retry racing a leader change):
    net.elect(1)
    net.send(nodes[1].submit(Command.make("other", "put", 2)).messages)
    net.pump()
    nodes[1]._propose(nodes[1].next_slot, cmd)
    nodes[1].next_slot += 1
    net.send(nodes[1]._out)
    net.send(nodes[1].on_tick(net.now + 100))
    net.pump()
    for _ in range(5):
        net.tick()
    assert all(n.machine.log == ["dup", "other"] for n in nodes.values())
    assert all(n.applied == 3 for n in nodes.values())     # three slots, "dup" in two
    ok = [r for r in net.replies if r.command_id == "dup"]
    assert ok and all(r.ok and r.result == "1" for r in ok)


def test_lagging_replica_catches_up_from_a_snapshot():
    config = ReplicaConfig(heartbeat_interval=1, election_timeout=10, retransmit_interval=2,
                           window=4, snapshot_every=5, catchup_batch=3)
    nodes, storages = group(config=config)
    net = Net(nodes)
    net.elect(0)
    net.down = {2}
    for k in range(23):
        net.send(nodes[0].submit(Command.make(f"c:{k}", "put", k)).messages)
        net.pump()
    assert nodes[0].log_start == 20 and nodes[2].applied == 0
    assert storages[0].durable_records < 10                 # truncated
    net.down = set()
    for _ in range(10):
        net.tick()
    assert nodes[2].machine.log == nodes[0].machine.log == [f"c:{k}" for k in range(23)]
    assert nodes[2].log_start >= 20


def test_replica_over_file_storage_restarts(tmp_path):
    storages = [FileStorage(tmp_path / str(i), fsync=False) for i in range(3)]
    config = ReplicaConfig(heartbeat_interval=1, election_timeout=10, retransmit_interval=2,
                           snapshot_every=4)
    nodes, _ = group(config=config, storages=storages)
    net = Net(nodes)
    net.elect(1)
    for k in range(10):
        net.send(nodes[1].submit(Command.make(f"c:{k}", "put", k)).messages)
        net.pump()
    for s in storages:
        s.close()
    storages = [FileStorage(tmp_path / str(i), fsync=False) for i in range(3)]
    nodes, _ = group(config=config, storages=storages)
    assert all(n.log_start == 8 and n.machine.log == [f"c:{k}" for k in range(8)]
               for n in nodes.values())
    net = Net(nodes)
    net.elect(2)                         # re-proposes slots 8 and 9 from the votes
    assert all(n.machine.log == [f"c:{k}" for k in range(10)] for n in nodes.values())


def test_config_is_checked():
    with pytest.raises(ValidationError, match="window"):
        ReplicaConfig(window=0)
    with pytest.raises(ValidationError, match="peers"):
        Replica(0, [0, 0], LogMachine())
    with pytest.raises(ValidationError, match="replica_id"):
        Replica(5, [0, 1], LogMachine())
    with pytest.raises(ValidationError, match="non-empty id"):
        Replica(0, [0], LogMachine()).submit(NOOP)


# -- simulator ------------------------------------------------------------------------------

SIM_EXTRA_SECONDS = float(os.environ.get("FASTSCHED_SIM_SECONDS", "5"))
SIM_MIN = 1000


def test_simulated_schedules_are_safe_and_live():
    """At least 1,000 seeded random schedules with faults (bounded in time)."""
    base = int(os.environ.get("FASTSCHED_SIM_SEED", "0"))
    started = time.perf_counter()
    count, steps, sizes = 0, 0, {3: 0, 5: 0}
    # Every run checks SIM_MIN schedules; a fast machine uses spare seconds for more.
    while count < SIM_MIN or time.perf_counter() - started < SIM_EXTRA_SECONDS:
        sim = run_seed(base + count, steps=200)          # raises SimulationFailure
        count += 1
        steps += sim.steps
        sizes[sim.config.replicas] += 1
        assert sim.finished()
    elapsed = time.perf_counter() - started
    print(f"\n{count} simulated schedules ({sizes[3]} of 3 replicas, {sizes[5]} of 5), "
          f"{steps} steps, in {elapsed:.1f}s")


def test_simulator_failure_names_the_replay_command(monkeypatch):
    original = paxos_module.Replica._adopt

    def forgetful(self):                    # a broken leader: ignores the promises' votes
        self._promises = {k: Promise(p.src, p.dst, p.ballot, p.log_start, ())
                          for k, p in self._promises.items()}
        original(self)

    monkeypatch.setattr(paxos_module.Replica, "_adopt", forgetful)
    with pytest.raises(SimulationFailure) as info:
        for seed in range(500):
            run_seed(seed, steps=300)
    assert "replay: python -m fastsched.consensus.simulator --seed" in str(info.value)


def test_simulation_is_deterministic():
    a = run_seed(11, steps=200)
    b = run_seed(11, steps=200)
    assert (a.steps, a.time, a.common, a.stats) == (b.steps, b.time, b.common, b.stats)


def test_simulator_command_line():
    out = subprocess.run([sys.executable, "-m", "fastsched.consensus.simulator", "--seed", "7",
                          "--replicas", "5"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("seed 7: ok") and "5 replicas" in out.stdout


# -- replicated scheduler ------------------------------------------------------------------


def test_pod_codec_round_trips():
    pod = Pod("web", namespace="ns", labels={"app": "w"}, priority=7,
              containers=[{"name": "a", "image": "nginx",
                           "requests": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": 1},
                           "ports": [{"containerPort": 80, "hostPort": 8080}]}],
              init_containers=[{"name": "i", "requests": {"cpu": "1"},
                                "restart_policy": "Always"}],
              overhead={"cpu": "10m"}, node_selector={"zone": "a"},
              node_affinity={"required": [{"matchExpressions": [
                  {"key": "zone", "operator": "In", "values": ["a", "b"]}]}]},
              pod_anti_affinity={"required": [{"topologyKey": "kubernetes.io/hostname",
                                               "labelSelector": {"matchLabels": {"app": "w"}}}]},
              tolerations=[{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}],
              topology_spread_constraints=[{"max_skew": 1, "topology_key": "zone"}],
              owner_selector={"matchLabels": {"app": "w"}})
    assert pod_from_json(json.loads(canonical_json(pod_to_json(pod)))) == pod
    with pytest.raises(ValidationError):
        pod_from_json({"manifest": {"metadata": {}}})


def test_pod_codec_keeps_pod_level_requests():
    # Replicas must agree on the effective request, which pod-level requests change.
    pod = Pod("web", containers=[{"requests": {"cpu": "100m"}}, {}],
              pod_requests={"cpu": "2", "memory": "1Gi", "hugepages-2Mi": "4Mi"})
    back = pod_from_json(json.loads(canonical_json(pod_to_json(pod))))
    assert back == pod
    assert back.pod_requests == {"cpu": 2000, "memory": 1 << 30, "hugepages-2Mi": 4 << 20}
    assert back.requests == pod.requests and back.scoring_requests == pod.scoring_requests


def scheduler_group(n=3):
    return {i: ReplicatedScheduler(i, range(n), config=FAST, seed=i, id_prefix=f"r{i}")
            for i in range(n)}


def test_replicated_scheduler_keeps_replicas_identical():
    nodes = scheduler_group()
    net = Net(nodes)
    net.elect(0)
    rs = nodes[0]
    ids = [rs.add_node("n1", {"cpu": "2", "memory": "4Gi"}, labels={"zone": "a"}),
           rs.add_node("n2", {"cpu": "1", "memory": "4Gi"},
                       taints=[{"key": "gpu", "effect": "NoSchedule"}])]
    for k in range(4):
        ids.append(rs.schedule(Pod(f"p{k}", requests={"cpu": "500m"})))
    ids.append(rs.bind(Pod("big", requests={"cpu": "1"}), "n2"))
    ids.append(rs.schedule(Pod("huge", requests={"cpu": "8"})))
    for sub in ids:
        net.send(sub.messages)
    net.pump()
    for _ in range(3):
        net.tick()
    outcomes = [rs.outcome(s.command_id) for s in ids]
    assert [o["ok"] for o in outcomes] == [True] * 7 + [False]
    assert {outcomes[k]["node"] for k in range(2, 6)} == {"n1"}     # n2 is tainted
    assert outcomes[7]["error"] == "Unschedulable" and "0/2 nodes" in outcomes[7]["message"]
    snaps = [n.cluster.snapshot() for n in nodes.values()]
    assert snaps[0] == snaps[1] == snaps[2]
    assert len(snaps[0].pods) == 5
    # Every replica recorded the same result for every command.
    results = [n.replica.results for n in nodes.values()]
    assert results[0] == results[1] == results[2]


def test_binding_that_no_longer_fits_is_rejected_everywhere():
    nodes = scheduler_group()
    net = Net(nodes)
    net.elect(1)
    rs = nodes[1]
    net.send(rs.add_node("n1", {"cpu": "1", "memory": "1Gi"}).messages)
    net.pump()
    # Both fit on their own; pipelined together, the second no longer does.
    a = rs.bind(Pod("a", requests={"cpu": "700m"}), "n1")
    b = rs.bind(Pod("b", requests={"cpu": "700m"}), "n1")
    c = rs.bind(Pod("c", requests={"cpu": "100m"}), "gone")
    net.send(a.messages + b.messages + c.messages)
    net.pump()
    net.tick()
    for node in nodes.values():
        assert json.loads(node.replica.results[a.command_id]) == {"ok": True, "node": "n1"}
        rejected = json.loads(node.replica.results[b.command_id])
        assert rejected["ok"] is False and rejected["error"] == "DoesNotFitError"
        assert rejected["reasons"] == ["Insufficient cpu"]
        assert json.loads(node.replica.results[c.command_id])["error"] == "NodeNotFoundError"
        assert dict(node.cluster.snapshot().pods) == {"default/a": "n1"}
        assert (node.cluster.requested <= node.cluster.allocatable).all()


def test_reads_local_and_linearizable():
    nodes = scheduler_group()
    net = Net(nodes)
    net.elect(0)
    net.send(nodes[0].add_node("n1", {"cpu": "1"}).messages)
    net.pump()                                  # chosen; followers learn on the next round
    local = nodes[2].read()
    assert not local.linearizable
    sub = nodes[0].read(linearizable=True)
    assert sub.accepted and nodes[0].read_result(sub.command_id) is None
    net.send(sub.messages)
    net.pump()
    read = nodes[0].read_result(sub.command_id)
    assert read.linearizable and read.snapshot.node_names == ("n1",)
    assert not nodes[2].read(linearizable=True).accepted      # not the leader


def test_remove_node_and_machine_snapshot_restore():
    nodes = scheduler_group()
    net = Net(nodes)
    net.elect(0)
    rs = nodes[0]
    for sub in (rs.add_node("a", {"cpu": "2", "example.com/foo": 3}),
                rs.add_node("b", {"cpu": "2"}, labels={"x": "y"}),
                rs.bind(Pod("p", requests={"cpu": "1", "example.com/foo": 1}), "a"),
                rs.bind(Pod("q", requests={"cpu": "1"}), "b"),
                rs.remove_node("a")):
        net.send(sub.messages)
    net.pump()
    assert rs.outcome(sub.command_id) == {"ok": True, "evicted": ["default/p"]}
    machine = SchedulerMachine()
    machine.restore(json.loads(canonical_json(rs.machine.snapshot())))
    assert machine.cluster.snapshot() == rs.cluster.snapshot()
    assert "example.com/foo" in machine.cluster.resources


def test_machine_snapshot_writes_each_distinct_pod_once():
    machine = SchedulerMachine()
    cluster = machine.cluster
    cluster.add_node("n1", {"cpu": "100", "memory": "100Gi", "pods": "1000"})
    cluster.add_node("n2", {"cpu": "100", "memory": "100Gi", "pods": "1000"})
    web = Pod("web", labels={"app": "web"}, requests={"cpu": "1"})
    for i in range(40):
        cluster.bind(web.replica(f"web-{i}"), f"n{1 + i % 2}")
    cluster.bind(Pod("db", requests={"cpu": "2"}), "n2")
    cluster.bind(web.replica("web-late"), "n1")
    snap = json.loads(canonical_json(machine.snapshot()))
    assert len(snap["templates"]) == 2 and len(snap["placed"]) == 42
    restored = SchedulerMachine()
    restored.restore(snap)
    assert restored.cluster.snapshot() == cluster.snapshot()    # order and all
    assert restored.cluster.node_of("default/web-late") == "n1"
    snap["placed"][0][0] = 7
    with pytest.raises(MessageError, match="template"):
        SchedulerMachine().restore(snap)


def test_replicated_scheduler_rejects_bad_input():
    nodes = scheduler_group()
    net = Net(nodes)
    net.elect(0)
    rs = nodes[0]
    with pytest.raises(ValidationError):
        rs.add_node("Bad_Name", {"cpu": "1"})
    with pytest.raises(ValidationError):
        rs.bind("not a pod", "n1")
    # A malformed command from a client reaches the log but is never applied to the cluster.
    net.send([Request("cli", 0, Command.make("bad1", "bind", {"pod": {"x": 1}, "node": "n"})),
              Request("cli", 0, Command.make("bad2", "frobnicate", {})),
              Request("cli", 0, Command.make("bad3", "schedule", "nonsense"))])
    net.pump()
    net.tick()
    for node in nodes.values():
        for cid in ("bad1", "bad2", "bad3"):
            assert json.loads(node.replica.results[cid])["ok"] is False
        assert len(node.cluster) == 0 and not node.cluster.snapshot().pods


def _scheduler_commands(rng, client, count):
    out = []
    for i in range(count):
        cid = f"{client}:{i}"
        roll = rng.random()
        if i < 2 or roll < 0.15:
            node = {"name": f"{client}-n{i}", "allocatable": {"cpu": rng.choice([1000, 2000]),
                                                              "memory": 4 << 30, "pods": 4}}
            out.append(Command.make(cid, "add_node", {"node": node}))
        elif roll < 0.25:
            out.append(Command.make(cid, "remove_node", {"name": f"{client}-n{rng.randrange(i)}"}))
        elif roll < 0.6:
            pod = Pod(f"{client}-p{i}", requests={"cpu": rng.choice(["300m", "700m"])})
            out.append(Command.make(cid, "schedule", {"pod": pod_to_json(pod)}))
        else:
            pod = Pod(f"{client}-p{i}", requests={"cpu": rng.choice(["300m", "900m"])})
            out.append(Command.make(cid, "bind", {"pod": pod_to_json(pod),
                                                  "node": f"{client}-n{rng.randrange(i)}"}))
    return out


def _no_overcommit(sim):
    for r in sim.replicas:
        if r is not None:
            c = r.machine.cluster
            assert (c.requested <= c.allocatable).all(), f"replica {r.id} overcommitted"


def test_simulated_replicated_scheduler():
    started = time.perf_counter()
    count = 0
    for seed in range(1000):
        if count >= 60 and time.perf_counter() - started > 5:
            break
        config = SimConfig.random(seed, steps=150)
        sim = Simulation(seed, config, make_machine=SchedulerMachine,
                         make_commands=_scheduler_commands, check=_no_overcommit).run()
        count += 1
        snaps = [r.machine.cluster.snapshot() for r in sim.replicas]
        assert all(s == snaps[0] for s in snaps), f"seed {seed}: replicas differ"
        results = [r.results for r in sim.replicas]
        assert all(res == results[0] for res in results)
    print(f"\n{count} simulated replicated-scheduler schedules")
    assert count >= 60


def test_bind_many_applies_each_bind_on_its_own():
    machine = SchedulerMachine()
    machine.apply(Command.make("n", "add_node",
                               {"node": {"name": "n1", "allocatable": {"cpu": "1"}}}))
    binds = [{"pod": pod_to_json(Pod("a", requests={"cpu": "700m"})), "node": "n1"},
             {"pod": pod_to_json(Pod("b", requests={"cpu": "700m"})), "node": "n1"},
             {"pod": pod_to_json(Pod("c", requests={"cpu": "300m"})), "node": "n1"},
             "not a bind"]
    out = machine.apply(Command.make("m", "bind_many", {"binds": binds}))
    assert out["ok"] is True
    first, second, third, fourth = out["results"]
    assert first == {"ok": True, "node": "n1"} and third == {"ok": True, "node": "n1"}
    assert second["error"] == "DoesNotFitError" and second["reasons"] == ["Insufficient cpu"]
    assert fourth["ok"] is False and fourth["error"] == "ValidationError"
    assert dict(machine.cluster.snapshot().pods) == {"default/a": "n1", "default/c": "n1"}
    for bad in ([], "x", [binds[0]] * 1025):
        rejected = machine.apply(Command.make("x", "bind_many", {"binds": bad}))
        assert rejected["ok"] is False and "binds" in rejected["message"]
    assert dict(machine.cluster.snapshot().pods) == {"default/a": "n1", "default/c": "n1"}


def test_a_heard_leader_is_not_deposed_by_another_candidate():
    follower = Replica(0, range(3), LogMachine(), config=FAST)
    follower.on_tick(0.0)
    follower.on_message(Heartbeat(1, 0, Ballot(1, 1), 0), now=1.0)
    # A candidate (a replica that restarted, say) is ignored while the leader is heard...
    assert follower.on_message(Prepare(2, 0, Ballot(2, 2), 0), now=2.0) == []
    assert follower.promised is None and follower.leader_hint == 1
    # ...and answered once the leader has been silent for an election timeout.
    out = follower.on_message(Prepare(2, 0, Ballot(2, 2), 0), now=1.0 + FAST.election_timeout)
    assert [type(m) for m in out] == [Promise] and follower.promised == Ballot(2, 2)


def test_a_leader_ignores_other_candidates():
    nodes, _ = group()
    net = Net(nodes)
    net.elect(0)
    assert nodes[0].is_leader
    assert nodes[0].on_message(Prepare(2, 0, Ballot(99, 2), 0)) == []
    assert nodes[0].is_leader and nodes[0].promised < Ballot(99, 2)


def test_a_stalled_follower_reads_its_input_before_calling_an_election():
    follower = Replica(0, range(3), LogMachine(), config=FAST)
    follower.on_tick(0.0)
    follower.on_message(Heartbeat(1, 0, Ballot(1, 1), 0), now=1.0)
    # Its loop was stuck for many timeouts (a long catch-up): no election at once.
    assert not any(isinstance(m, Prepare) for m in follower.on_tick(1.0 + 10 * FAST.election_timeout))
    assert follower.role == "follower"
