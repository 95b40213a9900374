"""The scheduling queue: pending pods in kube-scheduler's order, one at a time, each
by the profile its ``schedulerName`` names, with preemption as the PostFilter.

kube-scheduler's active queue (the PrioritySort plugin) pops the pod with the
highest priority first and, among equal priorities, the one that entered the queue
first; for a dump of a cluster that is the earlier ``creationTimestamp``. Pods
without a timestamp follow those with one, and ties keep the input order. A pod
that names a scheduler no profile has is not ours: kube-scheduler leaves it to that
scheduler, and so do we. A pod with a ``nominatedNodeName`` (a preemption already
decided, its victims gone) is placed there when that node still passes every filter,
as upstream's evaluateNominatedNode does, before any other node is looked at.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, overload

from ..model.pod import Pod
from .preemption import Preemption
from .results import Placement, Unschedulable

__all__ = ["QueueResult", "queue_order", "run_queue"]

Outcome = Placement | Unschedulable | Preemption


def queue_order(pods: Sequence[Pod]) -> list[int]:
    """Positions of ``pods`` in the order the queue pops them: higher priority first,
    then earlier ``creation_timestamp`` (none: last), then input order."""
    def key(t: int) -> tuple[int, float, int]:
        pod = pods[t]
        stamp = pod.creation_timestamp
        return (-pod.priority, math.inf if stamp is None else stamp, t)
    return sorted(range(len(pods)), key=key)


class QueueResult(Sequence[Outcome]):
    """What ``Scheduler.schedule_queue`` did, in queue order.

    Indexing and iterating give each of our pods' outcome (``Placement``,
    ``Unschedulable``, or ``Preemption`` with the victims evicted for it); ``pods``
    are those pods in queue order. ``placed`` holds the outcomes that bound a pod
    (placements and preemptions), ``unschedulable`` the others, ``preempted`` the
    evicted pods with the node each left, ``not_ours`` the pods for schedulers no
    profile is named after (never bound). ``profile_of[i]`` is the profile that
    scheduled outcome i.
    """

    def __init__(self, outcomes: list[Outcome], profiles: list[str], not_ours: list[Pod],
                 preempted: list[tuple[Pod, str]]) -> None:
        self._outcomes = outcomes
        self.profile_of = tuple(profiles)
        self.not_ours = tuple(not_ours)
        self.preempted = tuple(preempted)

    def __repr__(self) -> str:
        return (f"QueueResult({len(self)} pods: {len(self.placed)} placed, "
                f"{len(self.unschedulable)} unschedulable, {len(self.preempted)} evicted, "
                f"{len(self.not_ours)} not ours)")

    def __len__(self) -> int:
        return len(self._outcomes)

    @overload
    def __getitem__(self, i: int) -> Outcome: ...

    @overload
    def __getitem__(self, i: slice) -> list[Outcome]: ...

    def __getitem__(self, i: int | slice) -> Any:
        return self._outcomes[i]

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self._outcomes)

    @property
    def pods(self) -> tuple[Pod, ...]:
        return tuple(o.pod for o in self._outcomes)

    @property
    def placed(self) -> tuple[Placement | Preemption, ...]:
        return tuple(o for o in self._outcomes if not isinstance(o, Unschedulable))

    @property
    def unschedulable(self) -> tuple[Unschedulable, ...]:
        return tuple(o for o in self._outcomes if isinstance(o, Unschedulable))

    def bindings(self) -> list[tuple[Pod, str]]:
        """``(pod, node)`` of every pod this run bound, in queue order."""
        return [(o.pod, o.node) for o in self.placed]


def run_queue(schedulers: Any, pods: Sequence[Pod], preempt: bool) -> QueueResult:
    """Schedule ``pods`` in queue order; ``schedulers`` maps schedulerName to the
    Scheduler of that profile (all over one cluster)."""
    outcomes: list[Outcome] = []
    profiles: list[str] = []
    not_ours: list[Pod] = []
    preempted: list[tuple[Pod, str]] = []
    for t in queue_order(pods):
        pod = pods[t]
        scheduler = schedulers.get(pod.scheduler_name)
        if scheduler is None:
            not_ours.append(pod)
            continue
        outcome = _nominated(scheduler, pod)
        if outcome is None:
            outcome = scheduler.schedule(pod, preempt=preempt)
        if isinstance(outcome, Preemption):
            preempted.extend((victim, outcome.node) for victim in outcome.victims)
        outcomes.append(outcome)
        profiles.append(pod.scheduler_name)
    return QueueResult(outcomes, profiles, not_ours, preempted)


def _nominated(scheduler: Any, pod: Pod) -> Placement | None:
    """Bind ``pod`` to its nominated node if that node still passes the filters."""
    node = pod.nominated_node_name
    cluster = scheduler.cluster
    if not node or node not in cluster:
        return None
    if scheduler.filter(pod).reasons(node):
        return None
    scores = scheduler.score(pod)
    cluster.bind(pod, node)
    total = scores.total[list(scores.nodes).index(node)] if node in scores.nodes else 0
    return Placement(pod, node, int(total))
