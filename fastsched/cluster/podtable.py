"""Bound pods as columns: node row, namespace and label codes per pod.

PodTopologySpread and InterPodAffinity count the pods that match a label selector
per topology domain. With the pods' labels encoded like the nodes' (a
``LabelTable`` and an ``int32[pods, keys]`` code matrix), a selector is matched over
all bound pods with a few NumPy operations per distinct label value, and the
matches are counted per node with ``bincount``: no Python per pod.

Slots are reused: a removed pod's slot is marked free (node -1) and recycled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .labeltable import LabelTable

__all__ = ["PodTable"]


class PodTable:
    """Columns of the bound pods; rows are slots, ``node[slot] == -1`` when free."""

    def __init__(self) -> None:
        self.labels = LabelTable()
        self.namespaces: dict[str, int] = {}
        self.node = np.full(0, -1, np.int32)
        self.ns = np.zeros(0, np.int32)
        self.codes = np.full((0, 0), -1, np.int32)
        self.priority = np.zeros(0, np.int32)
        self.seq = np.zeros(0, np.int64)          # binding order (a pod's "start time")
        self.req = np.zeros((0, 0), np.int64)     # request vector, cluster columns
        self.next_seq = 0
        self.size = 0                    # slots ever used (high-water mark)
        self.free: list[int] = []

    def copy(self) -> "PodTable":
        other = PodTable.__new__(PodTable)
        t = self.labels
        other.labels = LabelTable(list(t.keys), dict(t.key_index), [list(v) for v in t.values],
                                  [dict(v) for v in t.value_index])
        other.namespaces = dict(self.namespaces)
        other.node, other.ns, other.codes = self.node.copy(), self.ns.copy(), self.codes.copy()
        other.priority, other.seq, other.req = self.priority.copy(), self.seq.copy(), self.req.copy()
        other.size, other.free, other.next_seq = self.size, list(self.free), self.next_seq
        return other

    def namespace_code(self, namespace: str) -> int:
        return self.namespaces.setdefault(namespace, len(self.namespaces))

    def encode(self, labels: Mapping[str, str]) -> np.ndarray:
        """The code row of a label map (growing the vocabulary and the matrix)."""
        keys, values = self.labels.encode(labels)
        width = len(self.labels.keys)
        if width > self.codes.shape[1]:
            wider = np.full((self.codes.shape[0], max(width, 2 * self.codes.shape[1], 8)), -1,
                            np.int32)
            wider[:, : self.codes.shape[1]] = self.codes
            self.codes = wider
        row = np.full(self.codes.shape[1], -1, np.int32)
        row[keys] = values
        return row

    def add(self, labels: Mapping[str, str], namespace: str, node: int, priority: int = 0,
            request: np.ndarray | None = None) -> int:
        """Record one bound pod; returns its slot."""
        return int(self.add_many(self.encode(labels), self.namespace_code(namespace),
                                 np.array([node], np.int32), priority,
                                 None if request is None else request[None, :])[0])

    def add_many(self, codes: np.ndarray, namespace: int | np.ndarray, nodes: np.ndarray,
                 priority: int | np.ndarray = 0, requests: np.ndarray | None = None) -> np.ndarray:
        """Record pods sharing label codes ``codes`` (a row, or one row per pod) on
        ``nodes``, with their priorities and request vectors; returns their slots."""
        count = len(nodes)
        reuse = [self.free.pop() for _ in range(min(count, len(self.free)))]
        fresh = count - len(reuse)
        if self.size + fresh > len(self.node):
            self._grow(self.size + fresh)
        slots = np.concatenate([np.array(reuse, np.int64),
                                np.arange(self.size, self.size + fresh, dtype=np.int64)])
        self.size += fresh
        width = len(codes) if codes.ndim == 1 else codes.shape[1]
        self.codes[slots] = -1
        self.codes[slots, :width] = codes
        self.ns[slots] = namespace
        self.node[slots] = nodes
        self.priority[slots] = priority
        self.seq[slots] = np.arange(self.next_seq, self.next_seq + count)
        self.next_seq += count
        self.req[slots] = 0
        if requests is not None:
            self.widen(requests.shape[1])
            self.req[slots, : requests.shape[1]] = requests
        return slots

    def widen(self, columns: int) -> None:
        """Room for ``columns`` resource columns in the request vectors."""
        if columns > self.req.shape[1]:
            wider = np.zeros((self.req.shape[0], columns), np.int64)
            wider[:, : self.req.shape[1]] = self.req
            self.req = wider

    def remove(self, slot: int) -> None:
        self.node[slot] = -1
        self.free.append(slot)

    def remove_node(self, row: int) -> None:
        """Forget the pods of node ``row`` and shift the rows after it down by one."""
        live = self.node[: self.size]
        gone = np.flatnonzero(live == row)
        live[gone] = -1
        self.free.extend(gone.tolist())
        live[live > row] -= 1

    def live(self) -> np.ndarray:
        """Slots of the bound pods."""
        return np.flatnonzero(self.node[: self.size] >= 0)

    def selector_mask(self, slots: np.ndarray, match_labels: Mapping[str, str],
                      expressions: Sequence) -> np.ndarray:
        """``bool[len(slots)]``: pods whose labels match a label selector."""
        from ..model.labels import NodeSelectorRequirement
        from .labeltable import requirement_mask
        codes = self.codes[slots]
        mask = np.ones(len(slots), np.bool_)
        for key, value in match_labels.items():
            mask &= requirement_mask(NodeSelectorRequirement(key, "In", (value,)),
                                     self.labels, codes)
        for req in expressions:
            mask &= requirement_mask(req, self.labels, codes)
        return mask

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * len(self.node), 64)
        node = np.full(cap, -1, np.int32)
        node[: len(self.node)] = self.node
        ns = np.zeros(cap, np.int32)
        ns[: len(self.ns)] = self.ns
        codes = np.full((cap, self.codes.shape[1]), -1, np.int32)
        codes[: len(self.codes)] = self.codes
        priority = np.zeros(cap, np.int32)
        priority[: len(self.priority)] = self.priority
        seq = np.zeros(cap, np.int64)
        seq[: len(self.seq)] = self.seq
        req = np.zeros((cap, self.req.shape[1]), np.int64)
        req[: len(self.req)] = self.req
        self.node, self.ns, self.codes = node, ns, codes
        self.priority, self.seq, self.req = priority, seq, req
