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

from .labels import LabelTable

__all__ = ["PodTable"]


class PodTable:
    """Columns of the bound pods; rows are slots, ``node[slot] == -1`` when free."""

    def __init__(self) -> None:
        self.labels = LabelTable()
        self.namespaces: dict[str, int] = {}
        self.node = np.full(0, -1, np.int32)
        self.ns = np.zeros(0, np.int32)
        self.codes = np.full((0, 0), -1, np.int32)
        self.size = 0                    # slots ever used (high-water mark)
        self.free: list[int] = []

    def copy(self) -> "PodTable":
        other = PodTable.__new__(PodTable)
        t = self.labels
        other.labels = LabelTable(list(t.keys), dict(t.key_index), [list(v) for v in t.values],
                                  [dict(v) for v in t.value_index])
        other.namespaces = dict(self.namespaces)
        other.node, other.ns, other.codes = self.node.copy(), self.ns.copy(), self.codes.copy()
        other.size, other.free = self.size, list(self.free)
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

    def add(self, labels: Mapping[str, str], namespace: str, node: int) -> int:
        """Record one bound pod; returns its slot."""
        return int(self.add_many(self.encode(labels), self.namespace_code(namespace),
                                 np.array([node], np.int32))[0])

    def add_many(self, codes: np.ndarray, namespace: int | np.ndarray,
                 nodes: np.ndarray) -> np.ndarray:
        """Record pods sharing label codes ``codes`` (a row, or one row per pod) on
        ``nodes``; returns their slots."""
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
        return slots

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
        from .labels import NodeSelectorRequirement, requirement_mask
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
        self.node, self.ns, self.codes = node, ns, codes
