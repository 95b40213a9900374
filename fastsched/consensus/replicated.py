"""Replicated scheduling: every replica owns a Cluster and applies the chosen log.

A command is one of

* ``add_node`` / ``remove_node`` / ``unbind``;
* ``bind``: pod P to node N. On apply every replica re-checks the fit with
  ``cluster.bind(pod, node, force=False)``; a binding that no longer fits (an
  earlier command in the log took the room) is rejected, identically everywhere,
  and the rejection is the command's result;
* ``schedule``: pod P. The leader, just before it proposes the command (once
  every earlier slot is applied), runs its own :class:`~fastsched.Scheduler` over
  its applied cluster to choose the node and turns the command into a ``bind``
  carrying pod and node (or into a recorded "unschedulable"), so every replica
  applies the same decision;
* ``read``: changes nothing; a replica that asked for it captures its cluster at
  the moment the read is applied, which makes the read linearizable.

Results are JSON values: ``{"ok": true, ...}`` or ``{"ok": false, "error":
<exception class>, "message": ..., "reasons": [...]}``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from ..cluster.cluster import Cluster, ClusterSnapshot
from ..errors import DoesNotFitError, FastschedError, MessageError, ValidationError
from ..model.pod import Pod
from ..profile.profile import Profile
from ..scheduler.scheduler import Scheduler
from .codec import add_node_from_json, node_to_json, pod_from_json, pod_to_json
from .messages import Command, Message
from .paxos import Replica, ReplicaConfig, Submission
from .storage import Storage

__all__ = ["ReplicatedScheduler", "SchedulerMachine", "Read", "OPS"]

OPS = ("add_node", "remove_node", "bind", "bind_many", "unbind", "schedule", "read")
MAX_BATCH = 1024                # binds in one bind_many command


@dataclass(frozen=True)
class Read:
    """A view of the cluster: ``linearizable`` when it was taken as a command of
    the log was applied (it reflects every command chosen before the read was
    submitted); otherwise the replica's local state, possibly stale. ``applied``
    is the number of commands applied to the cluster behind the view."""

    snapshot: ClusterSnapshot
    linearizable: bool
    applied: int


def _rejected(err: FastschedError) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": False, "error": type(err).__name__, "message": str(err)}
    if isinstance(err, DoesNotFitError):
        out["reasons"] = list(err.reasons)
    return out


class SchedulerMachine:
    """The state machine of a :class:`ReplicatedScheduler`: a Cluster.

    ``keep_log`` keeps the ids of applied commands in ``log`` (the simulator's
    checks read it; it grows with the log, like the replica's de-duplication table).
    """

    def __init__(self, profile: Profile | None = None, *, keep_log: bool = True) -> None:
        self.profile = profile
        self.keep_log = keep_log
        self.cluster = Cluster()
        self.log: list[str] = []
        self.generation = 0
        self._scheduler: Scheduler | None = None
        self.pending_reads: set[str] = set()
        self.reads: dict[str, tuple[ClusterSnapshot, int]] = {}
        self.applied = 0

    @property
    def scheduler(self) -> Scheduler:
        if self._scheduler is None or self._scheduler.cluster is not self.cluster:
            self._scheduler = Scheduler(self.cluster, self.profile)
        return self._scheduler

    # -- proposer side ---------------------------------------------------------------

    def prepare(self, command: Command, unapplied: int = 0) -> Command | None:
        """Turn "schedule pod P" into "bind P to the node this replica's scheduler
        picks" (or an unschedulable record); other commands pass unchanged.

        The choice is made on the applied cluster, so it waits (returns None) until
        every command proposed before it is applied: scheduling then sees the
        nodes and bindings ahead of it in the log. (Schedules are therefore not
        pipelined; binds and node changes are.)
        """
        if command.op != "schedule":
            return command
        if unapplied:
            return None
        try:
            data = command.data
            pod = pod_from_json(data.get("pod") if isinstance(data, dict) else None)
            found = self.scheduler.filter(pod)
            if not found.feasible.any():
                return Command.make(command.id, "bind", {"pod": data["pod"], "node": None,
                                                         "unschedulable": found.message})
            node = self.scheduler.score(pod).best()
        except FastschedError:
            return command          # apply rejects it, the same way on every replica
        return Command.make(command.id, "bind", {"pod": data["pod"], "node": node,
                                                 "scheduled": True})

    # -- every replica ---------------------------------------------------------------

    def apply(self, command: Command) -> Any:
        if self.keep_log:
            self.log.append(command.id)
        self.applied += 1
        try:
            result = self._apply(command.op, command.data)
        except FastschedError as err:
            result = _rejected(err)
        if command.id in self.pending_reads:
            self.pending_reads.discard(command.id)
            self.reads[command.id] = (self.cluster.snapshot(), self.applied)
        return result

    def _apply(self, op: str, data: Any) -> dict[str, Any]:
        cluster = self.cluster
        if not isinstance(data, dict):
            raise ValidationError(f"expected an object, got {type(data).__name__}", "body")
        if op == "add_node":
            add_node_from_json(cluster, data.get("node"))
            return {"ok": True}
        if op == "remove_node":
            evicted = cluster.remove_node(_name(data, "name"))
            return {"ok": True, "evicted": [p.key for p in evicted]}
        if op == "bind":
            pod = pod_from_json(data.get("pod"))
            node = data.get("node")
            if node is None:
                return {"ok": False, "error": "Unschedulable",
                        "message": str(data.get("unschedulable", ""))}
            cluster.bind(pod, _name(data, "node"), force=False)
            return {"ok": True, "node": node}
        if op == "bind_many":
            # Many binds in one log entry: each applied (or rejected) on its own, in
            # order, with one result each; the entry amortizes the agreement.
            items = data.get("binds")
            if not isinstance(items, list) or not 0 < len(items) <= MAX_BATCH:
                raise ValidationError(f"expected a list of 1 to {MAX_BATCH} binds", "binds")
            results = []
            for item in items:
                try:
                    if not isinstance(item, dict):
                        raise ValidationError("expected {pod, node}", "binds[]")
                    results.append(self._apply("bind", item))
                except FastschedError as err:
                    results.append(_rejected(err))
            return {"ok": True, "results": results}
        if op == "unbind":
            pod = cluster.unbind(_name(data, "pod"))
            return {"ok": True, "pod": pod.key}
        if op == "read":
            return {"ok": True}
        if op == "schedule":        # only reaches here if the leader could not prepare it
            raise ValidationError("the pod could not be read", "pod")
        raise ValidationError(f"unknown operation {op!r}", "op")

    def snapshot(self) -> Any:
        """The cluster as JSON. Bound pods are written as ``templates`` (each
        distinct pod once, nameless) and ``placed`` ``[template, name, node]`` rows
        in binding order: replicas of one pod share every field but their name, so
        a snapshot costs one encoding per distinct pod, not one per pod."""
        cluster = self.cluster
        cols = cluster.columns
        store = cols.store
        templates: list[Any] = []
        index: dict[int, int] = {}
        placed: list[list[Any]] = []
        # The store keeps one template per family (pods that differ only in their
        # name): each is encoded once, and no Pod object is made per pod.
        order = store.ordered()
        for t, name, node in zip(store.tid[order].tolist(), store.keys_of(order, names=True),
                                 cols.name_array()[store.node[order]].tolist()):
            j = index.get(t)
            if j is None:
                j = index[t] = len(templates)
                templates.append(pod_to_json(store.tmpl[t]))
            placed.append([j, name, node])
        return {
            "resources": list(cluster.resources),
            "nodes": [node_to_json(cluster.node(name)) for name in cluster.node_names],
            "templates": templates, "placed": placed,
            "log": list(self.log), "applied": self.applied,
        }

    def restore(self, state: Any) -> None:
        try:
            cluster = Cluster()
            # Column order is part of a cluster's state (ClusterSnapshot compares it),
            # and a removed node's resources keep their columns: recreate them first.
            for resource in state["resources"]:
                cluster.ensure_resource(resource)
            for node in state["nodes"]:
                add_node_from_json(cluster, node)
            templates = [pod_from_json(t) for t in state["templates"]]
            pods, nodes = [], []
            for t, name, node in state["placed"]:
                if type(t) is not int or not 0 <= t < len(templates):
                    raise ValidationError(f"no template {t!r}", "placed")
                pods.append(templates[t].replica(name))
                nodes.append(node)
            cluster.bind_many(pods, nodes, force=True)
            log, applied = list(state["log"]), int(state["applied"])
        except (FastschedError, KeyError, TypeError, ValueError) as err:
            raise MessageError(f"cannot restore the cluster: {err}", "snapshot.machine") from None
        self.cluster, self.log, self.applied = cluster, log, applied
        self._scheduler = None
        self.generation += 1


def _name(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValidationError(f"expected a name, got {type(value).__name__}", key)
    return value


class ReplicatedScheduler:
    """A :class:`Replica` whose state machine is a Cluster, with scheduling commands.

    Transport-agnostic like the replica: feed it messages and time
    (``on_message``, ``on_tick``) and send what they return. Each command method
    returns the replica's :class:`Submission` (``accepted`` is False when this
    replica does not lead: resubmit at ``leader_hint``); the command's result is
    ``outcome(command_id)`` once this replica has applied it.

    Inputs are validated here, before anything is proposed, so a malformed
    command never enters the log; a command that is valid but does not apply (the
    node is gone, the pod no longer fits) is rejected when applied, identically on
    every replica.
    """

    def __init__(self, replica_id: int, peers: Any, storage: Storage | None = None, *,
                 profile: Profile | None = None, config: ReplicaConfig | None = None,
                 seed: int = 0, id_prefix: str | None = None) -> None:
        self.machine = SchedulerMachine(profile, keep_log=False)
        self.replica = Replica(replica_id, peers, self.machine, storage, config=config,
                               seed=seed)
        # Command ids must never repeat, also across restarts: a random prefix.
        self._prefix = id_prefix if id_prefix is not None else \
            f"r{replica_id}-{secrets.token_hex(6)}"
        self._seq = 0

    @property
    def cluster(self) -> Cluster:
        """The applied cluster (read it, never change it directly)."""
        return self.machine.cluster

    def on_message(self, msg: Message, now: float | None = None) -> list[Message]:
        return self.replica.on_message(msg, now)

    def on_tick(self, now: float) -> list[Message]:
        return self.replica.on_tick(now)

    # -- commands ------------------------------------------------------------------

    def _submit(self, op: str, data: Any) -> Submission:
        self._seq += 1
        return self.replica.submit(Command.make(f"{self._prefix}:{self._seq}", op, data))

    def add_node(self, name: str, allocatable: Any, labels: Any = None, taints: Any = (),
                 unschedulable: bool = False, images: Any = None) -> Submission:
        """Propose adding a node (arguments as for ``Cluster.add_node``)."""
        scratch = Cluster()      # validates every argument the way the cluster will
        scratch.add_node(name, allocatable, labels=labels, taints=taints,
                         unschedulable=unschedulable, images=images)
        return self._submit("add_node", {"node": node_to_json(scratch.node(name))})

    def remove_node(self, name: str) -> Submission:
        """Propose removing a node (its pods are unbound)."""
        if not isinstance(name, str) or not name:
            raise ValidationError("expected a node name", "name")
        return self._submit("remove_node", {"name": name})

    def bind(self, pod: Pod, node: str) -> Submission:
        """Propose binding ``pod`` to ``node``; rejected on apply if it does not fit."""
        if not isinstance(node, str) or not node:
            raise ValidationError("expected a node name", "node")
        return self._submit("bind", {"pod": pod_to_json(pod), "node": node})

    def unbind(self, pod: Pod | str) -> Submission:
        """Propose unbinding a pod (a Pod or ``namespace/name``)."""
        key = pod.key if isinstance(pod, Pod) else pod
        if not isinstance(key, str) or not key:
            raise ValidationError("expected a Pod or a pod name", "pod")
        return self._submit("unbind", {"pod": key})

    def schedule(self, pod: Pod) -> Submission:
        """Propose scheduling ``pod``: the leader's scheduler picks the node."""
        return self._submit("schedule", {"pod": pod_to_json(pod)})

    def read(self, linearizable: bool = False) -> Read | Submission:
        """The cluster now (``linearizable=False``: a :class:`Read` of the local,
        possibly stale state), or a read through the log (``True``: returns the
        :class:`Submission`; ``read_result(command_id)`` has the :class:`Read`
        once this replica has applied it)."""
        if not linearizable:
            return Read(self.cluster.snapshot(), False, self.machine.applied)
        self._seq += 1
        cid = f"{self._prefix}:{self._seq}"
        self.machine.pending_reads.add(cid)
        submission = self.replica.submit(Command.make(cid, "read", {}))
        if not submission.accepted:
            self.machine.pending_reads.discard(cid)
        return submission

    def read_result(self, command_id: str) -> Read | None:
        got = self.machine.reads.pop(command_id, None)
        return None if got is None else Read(got[0], True, got[1])

    def outcome(self, command_id: str) -> dict[str, Any] | None:
        """The result of an applied command (``{"ok": ..., ...}``), or None."""
        text = self.replica.result(command_id)
        return None if text is None else json.loads(text)
