"""High availability for the scheduling core: a Multi-Paxos replicated log.

``fastsched.consensus`` keeps several copies of a :class:`~fastsched.Cluster`
identical by applying one agreed sequence of commands (add/remove a node, bind,
schedule). It is meant for running fastsched itself as a small fault-tolerant
group (3 or 5 replicas) that keeps scheduling while a minority of machines is down,
with no external dependency:

* :class:`Replica` — Multi-Paxos (proposer, acceptor, learner) as a transport-agnostic
  state machine: messages and time in, messages out;
* :class:`FileStorage` / :class:`MemoryStorage` — the acceptor's durable log
  (CRC-checked records, fsync before replies, snapshots that truncate it, loaded
  in O(records); lost or damaged state raises :class:`LostStateError` unless
  recovering);
* :mod:`~fastsched.consensus.messages` — the message types and their strictly
  checked, versioned JSON encoding;
* :class:`Simulation` — a deterministic, seeded simulator with message loss,
  duplication, reordering, partitions and crash/restart, checking safety after
  every step and liveness once the faults stop;
* :class:`ReplicatedScheduler` — the replicated Cluster and scheduling commands.

When to use something else: if you already run etcd, ZooKeeper or Consul, or need
membership changes, leases, watches, multi-key transactions, authentication or
a tested operational story (backups, upgrades, metrics), keep the cluster state
in that store and run fastsched as a stateless scheduler in front of it (as
kube-scheduler does with the API server and etcd). This package does not change
membership at run time, has no leader leases (linearizable reads go through the
log).

The network side lives in :mod:`fastsched.consensus.net`: ``net.server`` runs a
replica over TCP (``fastsched replica``, ``python -m
fastsched.consensus.net.server``), ``net.client`` holds the ``Client`` that
submits commands and waits for them to be chosen. The modules here never import
it: the state machine stays transport-agnostic.
"""

from ..errors import (
    ConsensusError,
    LogCorruptError,
    LostStateError,
    MessageError,
    UnknownPeerError,
)
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
    Prepare,
    Promise,
    Reject,
    Reply,
    Request,
    Vote,
    decode,
    encode,
)
from .paxos import LogMachine, Replica, ReplicaConfig, StateMachine, Submission
from .replicated import Read, ReplicatedScheduler, SchedulerMachine
from .storage import FileStorage, MemoryStorage, Recovered, Storage

_SIMULATOR = ("SimConfig", "Simulation", "SimulationFailure", "run_seed")


def __getattr__(name: str):
    # The simulator is imported on first use, so that
    # ``python -m fastsched.consensus.simulator`` runs it as a fresh module.
    if name in _SIMULATOR:
        from . import simulator
        return getattr(simulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Replica", "ReplicaConfig", "Submission", "StateMachine", "LogMachine",
    "ReplicatedScheduler", "SchedulerMachine", "Read",
    "Storage", "FileStorage", "MemoryStorage", "Recovered",
    "Simulation", "SimConfig", "SimulationFailure", "run_seed",
    "Command", "NOOP", "Ballot", "Vote", "Entry", "Prepare", "Promise", "Accept",
    "Accepted", "Reject", "Decision", "Heartbeat", "CatchupRequest", "CatchupReply",
    "Request", "Reply", "encode", "decode",
    "ConsensusError", "MessageError", "UnknownPeerError", "LogCorruptError", "LostStateError",
]
