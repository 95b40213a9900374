"""What the scheduler returns: placements, unschedulable pods with kube-scheduler's
messages, and the filter and score explanations of one pod."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from .._kernels.common import PASSES
from ..model.pod import Pod
from ..plugins import REASONS, RESOURCE0
from ..plugins.noderesources_fit import reason as fit_reason
from ..plugins.noderesources_fit import resource_reasons

__all__ = ["Placement", "Unschedulable", "FilterResult", "ScoreResult", "ScheduleResult",
           "fit_error_message", "hist_counts", "filter_counts", "NO_NODES",
           "AFFINITY_CONFLICT"]

NO_NODES = "no nodes available to schedule pods"
AFFINITY_CONFLICT = "pod affinity terms conflict"


@dataclass(frozen=True)
class Placement:
    """A pod bound to ``node`` with total score ``score``."""

    pod: Pod
    node: str
    score: int


@dataclass(frozen=True)
class Unschedulable:
    """A pod no node accepts: ``message`` is kube-scheduler's ``0/N nodes are
    available: …`` text and ``reasons`` the count of nodes per reason."""

    pod: Pod
    message: str
    reasons: dict[str, int]


def fit_error_message(total_nodes: int, counts: dict[str, int]) -> str:
    """The FitError text of spec §9 from reason counts."""
    if total_nodes == 0:
        return NO_NODES
    parts = sorted(f"{count} {reason}" for reason, count in counts.items() if count)
    msg = f"0/{total_nodes} nodes are available:"
    return msg + (" " + ", ".join(parts) + "." if parts else "")


@dataclass(frozen=True, eq=False)
class FilterResult:
    """Which nodes pass the filters, and why the others do not."""

    feasible: np.ndarray
    counts: dict[str, int]
    message: str
    _names: tuple[str, ...]
    _rows: Any
    _codes: np.ndarray
    _bits: np.ndarray
    _resources: tuple[str, ...]
    _missing: tuple[str, ...]

    def reasons(self, node_name: str) -> tuple[str, ...]:
        """The reasons of the first filter that rejects ``node_name`` (empty if none)."""
        row = self._rows(node_name)
        code = int(self._codes[row])
        if code == PASSES:
            return ()
        if code < RESOURCE0:
            return (REASONS[code],)
        return resource_reasons(int(self._bits[row]), self._resources, self._missing)

    @property
    def nodes(self) -> tuple[str, ...]:
        """Names of the feasible nodes, in cluster order."""
        return tuple(self._names[i] for i in np.flatnonzero(self.feasible))


@dataclass(frozen=True, eq=False)
class ScoreResult:
    """Scores of the feasible nodes: per plugin (normalized, unweighted) and total."""

    nodes: tuple[str, ...]
    plugins: dict[str, np.ndarray]
    total: np.ndarray

    def best(self) -> str | None:
        """The node with the highest total (lowest row on ties)."""
        return self.nodes[int(np.argmax(self.total))] if self.nodes else None


class ScheduleResult(Sequence["Placement | Unschedulable"]):
    """The outcome of ``schedule_many``: arrays, with objects built on demand.

    ``rows[t]`` is pod t's node row (-1 unschedulable) and ``scores[t]`` its total
    score; iterating (or indexing) gives ``Placement``/``Unschedulable`` values.
    """

    def __init__(self, pods: Sequence[Pod], rows: np.ndarray, scores: np.ndarray,
                 node_names: tuple[str, ...], messages: dict[int, tuple[str, dict]],
                 replica_names: Any) -> None:
        self.pods = pods
        self.rows = rows
        self.scores = scores
        self._names = node_names
        self._messages = messages
        self._replica_names = replica_names

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, t: int) -> Placement | Unschedulable: ...

    @overload
    def __getitem__(self, t: slice) -> list[Placement | Unschedulable]: ...

    def __getitem__(self, t: int | slice) -> Any:
        if isinstance(t, slice):
            return [self[i] for i in range(*t.indices(len(self)))]
        if t < 0:
            t += len(self)
        pod = self._replica_names(t)
        row = int(self.rows[t])
        if row < 0:
            message, reasons = self._messages[t]
            return Unschedulable(pod, message, dict(reasons))
        return Placement(pod, self._names[row], int(self.scores[t]))

    def __iter__(self) -> Iterator[Placement | Unschedulable]:
        return (self[t] for t in range(len(self)))

    @property
    def placed(self) -> int:
        return int(np.count_nonzero(self.rows >= 0))

    @property
    def unschedulable(self) -> int:
        return len(self) - self.placed

    @property
    def nodes(self) -> list[str | None]:
        """The node name per pod (None where unschedulable)."""
        return [self._names[r] if r >= 0 else None for r in self.rows.tolist()]

    def reason_counts(self) -> dict[str, int]:
        """How many unschedulable pods each reason appeared for."""
        out: dict[str, int] = {}
        for _, reasons in self._messages.values():
            for reason in reasons:
                out[reason] = out.get(reason, 0) + 1
        return out


def hist_counts(hist: np.ndarray, resources: Sequence[str],
                 missing: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    values = hist.tolist()
    for code, reason in enumerate(REASONS):
        if values[code]:
            out[reason] = values[code]
    for col, name in enumerate(resources):
        c = values[RESOURCE0 + col]
        if c:
            out[fit_reason(name)] = c
    if values[-1]:
        for name in missing:
            out[f"Insufficient {name}"] = values[-1]
    return out


def filter_counts(codes: np.ndarray, bits: np.ndarray, resources: Sequence[str],
            missing: Sequence[str]) -> dict[str, int]:
    hist = np.zeros(RESOURCE0 + len(resources) + 1, np.int64)
    per_code = np.bincount(codes[codes != PASSES], minlength=RESOURCE0 + 1)
    hist[:RESOURCE0] = per_code[:RESOURCE0]
    fit = bits[codes == RESOURCE0]
    for col in range(len(resources)):
        hist[RESOURCE0 + col] = int(np.count_nonzero(fit & np.uint64(1 << col)))
    hist[-1] = int(np.count_nonzero(fit & np.uint64(1 << 63)))
    return hist_counts(hist, resources, missing)
