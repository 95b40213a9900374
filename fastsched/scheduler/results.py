"""What the scheduler returns: placements, unschedulable pods with kube-scheduler's
messages, and the filter and score explanations of one pod."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from .._kernels.common import PASSES
from ..model.pod import Pod, replica_name
from ..plugins import REASONS, RESOURCE0
from ..plugins.node_affinity import REASON_CONFLICT
from ..plugins.noderesources_fit import reason as fit_reason
from ..plugins.noderesources_fit import resource_reasons

__all__ = ["Placement", "Unschedulable", "FilterResult", "ScoreResult", "ScheduleResult",
           "Reasons", "BatchNames", "bucket_names",
           "fit_error_message", "hist_counts", "filter_counts", "NO_NODES",
           "AFFINITY_CONFLICT"]

NO_NODES = "no nodes available to schedule pods"
AFFINITY_CONFLICT = REASON_CONFLICT


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
    _conflict: bool = False

    def __repr__(self) -> str:
        return f"FilterResult({int(self.feasible.sum())}/{len(self.feasible)} feasible)"

    def reasons(self, node_name: str) -> tuple[str, ...]:
        """The reasons of the first filter that rejects ``node_name`` (empty if none).
        When NodeAffinity's PreFilter rejected the pod, every node has its status."""
        row = self._rows(node_name)
        if self._conflict:
            return (AFFINITY_CONFLICT,)
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

    def __repr__(self) -> str:
        best = self.best()
        top = "" if best is None else f", best {best!r} ({int(self.total.max())})"
        return f"ScoreResult({len(self.nodes)} nodes{top})"

    def best(self) -> str | None:
        """The node with the highest total (lowest row on ties)."""
        return self.nodes[int(np.argmax(self.total))] if self.nodes else None


class Reasons(Mapping[int, tuple[str, dict[str, int]]]):
    """Why the unschedulable pods of a batch failed: the kernel's reason
    histograms (pods that failed alike share one), turned into kube-scheduler's
    message only when one is read.

    ``add`` records one kernel run; ``set(t, message, counts)`` a message made
    some other way.
    """

    def __init__(self) -> None:
        self._runs: list[tuple] = []
        self._where: dict[int, tuple[int, int]] = {}
        self._fixed: dict[int, tuple[str, dict[str, int]]] = {}
        self._made: dict[int, tuple[str, dict[str, int]]] = {}

    def add(self, positions: np.ndarray, hist: np.ndarray, which: np.ndarray, specs: np.ndarray,
            missing: Sequence, conflict: Sequence, nodes: int,
            resources: tuple[str, ...]) -> None:
        """Pods at ``positions`` failed with reason counts ``hist[which]``; ``specs``
        are their specs, whose ``missing`` resources and ``conflict`` flags are given
        per spec."""
        run = len(self._runs)
        self._runs.append((positions, hist, which, specs, missing, conflict, nodes, resources))
        self._where.update((t, (run, i)) for i, t in enumerate(positions.tolist()))

    def set(self, t: int, message: str, counts: dict[str, int]) -> None:
        self._fixed[t] = (message, counts)

    def __getitem__(self, t: int) -> tuple[str, dict[str, int]]:
        found = self._fixed.get(t) or self._made.get(t)
        if found is not None:
            return found
        run, i = self._where[t]
        _, hist, which, specs, missing, conflict, n, resources = self._runs[run]
        s = int(specs[i])
        if conflict[s]:
            found = (f"0/{n} nodes are available: {AFFINITY_CONFLICT}.", {})
        else:
            counts = hist_counts(hist[int(which[i])], resources, missing[s])
            found = (fit_error_message(n, counts), counts)
        self._made[t] = found
        return found

    def __contains__(self, t: object) -> bool:
        return t in self._fixed or t in self._where

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(set(self._fixed) | set(self._where)))

    def __len__(self) -> int:
        return len(set(self._fixed) | set(self._where))

    def histograms(self, resources: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, int64[len, buckets])`` of every unschedulable pod, sorted by
        position, buckets as in ``bucket_names(resources)`` (runs with fewer resource
        columns padded; a message made otherwise, such as a gang's or "no nodes", has
        a row of zeros)."""
        width = RESOURCE0 + len(resources) + 1
        pos, out = [], []
        for positions, hist, which, _, _, _, _, res in self._runs:
            wide = np.zeros((len(positions), width), np.int64)
            rows = hist[which]
            wide[:, : RESOURCE0 + len(res)] = rows[:, : RESOURCE0 + len(res)]
            wide[:, -1] = rows[:, -1]
            pos.append(positions)
            out.append(wide)
        others = sorted(set(self._fixed) - set(self._where))
        pos.append(np.array(others, np.int64))
        out.append(np.zeros((len(others), width), np.int64))
        positions, hist = np.concatenate(pos), np.concatenate(out)
        order = np.argsort(positions, kind="stable")
        return positions[order], hist[order]


class BatchNames:
    """The names a batch's pods are bound as: a pod object given once keeps its own;
    one given many times stands for replicas ``<name>-<base + t>`` (``base`` per
    chunk of ``step`` pods), ``renamed`` holding those whose generated name was
    taken. Calling it gives pod t as bound."""

    __slots__ = ("pods", "templates", "bases", "step", "renamed", "ids")

    def __init__(self, pods: Sequence[Pod], templates: frozenset[int], bases: list[int],
                 step: int, renamed: dict[int, str], ids: np.ndarray | None = None) -> None:
        self.pods, self.templates, self.bases = pods, templates, bases
        self.step, self.renamed, self.ids = step, renamed, ids

    def name(self, t: int) -> str:
        pod = self.pods[t]
        if id(pod) not in self.templates:
            return pod.name
        found = self.renamed.get(t)
        if found is not None:
            return found
        base = self.bases[0] if len(self.bases) == 1 else self.bases[t // self.step]
        return replica_name(pod.name, f"-{base + t}")

    def key(self, t: int) -> str:
        pod = self.pods[t]
        return pod.key if id(pod) not in self.templates else f"{pod.namespace}/{self.name(t)}"

    def keys(self, rows: np.ndarray) -> list[str | None]:
        """``key(t)`` where ``rows[t] >= 0``, else None."""
        out: list[str | None] = [None] * len(rows)
        pods, templates = self.pods, self.templates
        placed = rows >= 0
        fast = np.zeros(len(rows), np.bool_)
        if templates and self.ids is not None and len(self.bases) == 1:
            # Per template, its replicas' keys from one prefix (replica_name, not cut).
            base = self.bases[0]
            # The placed pods grouped by object (one sort), each template's group at once.
            at_all = np.flatnonzero(placed)
            at_all = at_all[np.argsort(self.ids[at_all], kind="stable")]
            ids = self.ids[at_all]
            cuts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True]) if len(ids) \
                else np.zeros(1, np.int64)
            for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
                at = at_all[lo:hi]
                if int(ids[lo]) not in templates or len(pods[int(at[0])].name) > 232:
                    continue
                pod = pods[int(at[0])]
                prefix = f"{pod.namespace}/{pod.name}-"
                for t, k in zip(at.tolist(), (at + base).tolist()):
                    out[t] = prefix + str(k)
                fast[at] = True
            for t in self.renamed:
                if placed[t]:
                    out[t] = self.key(t)
        for t in np.flatnonzero(placed & ~fast).tolist():
            pod = pods[t]
            out[t] = pod.key if id(pod) not in templates else self.key(t)
        return out

    def __call__(self, t: int) -> Pod:
        pod = self.pods[t]
        return pod if id(pod) not in self.templates else pod.replica(self.name(t))


def bucket_names(resources: Sequence[str]) -> list[str]:
    """The reason of each histogram bucket: the filters' reasons, one
    NodeResourcesFit reason per resource column, then resources no node offers."""
    return [*REASONS[:RESOURCE0], *(fit_reason(r) for r in resources), "Insufficient (no column)"]


class ScheduleResult(Sequence["Placement | Unschedulable"]):
    """The outcome of ``schedule_many``: arrays, with objects built on demand.

    ``rows[t]`` is pod t's node row (-1 unschedulable) and ``scores[t]`` its total
    score; iterating (or indexing) gives ``Placement``/``Unschedulable`` values, made
    when read. ``nodes``, ``keys()`` and ``to_arrays()`` read the arrays directly.
    """

    def __init__(self, pods: Sequence[Pod], rows: np.ndarray, scores: np.ndarray,
                 node_names: tuple[str, ...], messages: Mapping[int, tuple[str, dict]],
                 replica_names: Any, name_array: np.ndarray | None = None,
                 resources: tuple[str, ...] = ()) -> None:
        self.pods = pods
        self.rows = rows
        self.scores = scores
        self._names = node_names
        self._messages = messages
        self._replica_names = replica_names
        self._name_array = name_array
        self._resources = resources

    def __repr__(self) -> str:
        return f"ScheduleResult({len(self)} pods: {self.placed} placed, {self.unschedulable} unschedulable)"

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
        if self._name_array is None:
            self._name_array = np.array([*self._names, None], object)
        return self._name_array[self.rows].tolist()      # row -1 is the None at the end

    def keys(self) -> list[str | None]:
        """The ``namespace/name`` each pod was bound as (replicas ``<name>-<k>``),
        None where it is unschedulable."""
        return self._replica_names.keys(self.rows)

    def to_arrays(self) -> dict[str, Any]:
        """The result as arrays: ``rows``, ``scores`` (per pod), ``unschedulable``
        (positions) with ``reasons`` (``int64[len, buckets]``: per unschedulable pod,
        how many nodes each reason rejected) and ``reason_names`` (the buckets)."""
        resources = self._resources
        positions, hist = self._messages.histograms(resources) \
            if isinstance(self._messages, Reasons) else (np.zeros(0, np.int64), None)
        return {"rows": self.rows, "scores": self.scores, "unschedulable": positions,
                "reasons": hist, "reason_names": bucket_names(resources)}

    def reason_counts(self) -> dict[str, int]:
        """How many unschedulable pods each reason appeared for."""
        out: dict[str, int] = {}
        for t in self._messages:
            for reason in self._messages[t][1]:
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
