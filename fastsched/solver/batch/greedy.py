"""The greedy plan: the solver's hint, and its fallback when the search finds
nothing better in time.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .problem import _Problem


def _node_order(p: _Problem) -> np.ndarray:
    """Nodes in use first (row order), then empty nodes from the largest: free room
    per requested resource relative to the largest node, weighted by how scarce the
    resource is (the batch's demand over the free room of all nodes)."""
    cols = p.cols.tolist()
    if not p.n or not cols:
        return np.lexsort((np.arange(p.n), ~p.fixed_used))
    room = p.rem[:, cols].astype(np.float64)
    demand = (p.count[:, None] * p.A[:, cols]).sum(axis=0)
    scarcity = demand / np.maximum(room[p.eligible].sum(axis=0), 1.0)
    size = (room / np.maximum(room.max(axis=0), 1.0)) @ scarcity
    return np.lexsort((np.arange(p.n), -size, ~p.fixed_used))


class _Greedy:
    """A plan that respects everything, built without search: the solver's hint.

    Pods go in priority tiers (highest first). In a tier, gangs and shapes bound by
    a per-domain limit or a spread go first, one shape at a time (a gang that cannot
    reach min_member is rolled back). The other shapes are packed node by node in
    a fixed order (nodes in use, then empty nodes from the largest): each node takes
    the pod that best matches its free room (largest dot product of the request
    and the free room, both relative to the largest node) until nothing fits.
    Then, for "min_nodes", opened nodes are emptied into the other nodes in use when
    they can be. For "balance" every pod goes where the resulting peak is lowest.

    Past ``deadline`` (a ``time.perf_counter()`` value) the passes that take time
    per node or per pod give way: the shapes left are placed first fit, a whole
    shape at a time, and consolidation stops, so a large batch keeps its time limit.
    """

    def __init__(self, p: _Problem, objective: str, deadline: float = math.inf) -> None:
        self.p = p
        self.objective = objective
        self.deadline = deadline
        self.X = np.zeros((p.S, p.n), np.int64)
        self.rem = p.rem.copy()
        self.load = p.req.copy()
        self.left = [lim.left.copy() for lim in p.limits]
        self.counts = [g.existing.copy() for g in p.spreads]
        self.order = _node_order(p)
        self.position = np.empty(p.n, np.int64)
        self.position[self.order] = np.arange(p.n)
        cols = p.cols
        self.scale = np.maximum(p.rem[:, cols].max(axis=0), 1).astype(np.float64) \
            if p.n else np.ones(len(cols))
        self.gang_of = {s: g for g, gang in enumerate(p.gangs) for s in gang.shapes}
        self.node_limits = [[i for i, lim in enumerate(p.limits)
                             if s in lim.shapes and lim.dom is None] for s in range(p.S)]
        self.domain_bound = [any(s in lim.shapes and lim.dom is not None for lim in p.limits)
                             or any(s in g.shapes for g in p.spreads) for s in range(p.S)]

    # -- state --------------------------------------------------------------------------

    def room(self, s: int, rows: Any) -> np.ndarray:
        """How many more pods of shape s each of ``rows`` takes (ignoring domains)."""
        p = self.p
        need = np.flatnonzero(p.A[s] > 0)
        k = (self.rem[rows][:, need] // p.A[s, need]).min(axis=1)
        k = np.minimum(k, p.cap[s, rows])
        for i in self.node_limits[s]:
            k = np.minimum(k, self.left[i][rows])
        return k

    def place(self, s: int, rows: np.ndarray, take: np.ndarray) -> None:
        p = self.p
        self.X[s, rows] += take
        self.rem[rows] -= take[:, None] * p.A[s]
        self.load[rows] += take[:, None] * p.A[s]
        for lim, left in zip(p.limits, self.left):
            if s in lim.shapes:
                if lim.dom is None:
                    np.subtract.at(left, rows, take)
                else:
                    keyed = lim.dom[rows] >= 0
                    np.subtract.at(left, lim.dom[rows][keyed], take[keyed])
        for g, cnt in zip(p.spreads, self.counts):
            if s in g.shapes:
                np.add.at(cnt, g.dom[rows], take)

    def save(self) -> tuple:
        return (self.X.copy(), self.rem.copy(), self.load.copy(),
                [a.copy() for a in self.left], [c.copy() for c in self.counts])

    def restore(self, saved: tuple) -> None:
        self.X, self.rem, self.load, self.left, self.counts = saved

    # -- passes -------------------------------------------------------------------------

    def run(self) -> np.ndarray:
        p = self.p
        if not p.S or not p.n:
            return self.X
        for level in sorted(set(p.priority.tolist()), reverse=True):
            tier = [s for s in range(p.S) if p.priority[s] == level]
            size = (p.A[:, p.cols] / self.scale).max(axis=1)
            for g, gang in enumerate(p.gangs):
                if gang.shapes[0] in tier:
                    saved = self.save()
                    placed = sum(self.shape_fill(s) for s in
                                 sorted(gang.shapes, key=lambda s: (-size[s], s)))
                    if placed < gang.min_member:
                        self.restore(saved)          # all or none
            free = [s for s in tier if s not in self.gang_of]
            for s in sorted((s for s in free if self.domain_bound[s]),
                            key=lambda s: (-size[s], s)):
                self.shape_fill(s)
            rest = [s for s in free if not self.domain_bound[s]]
            if self.objective == "balance":
                for s in sorted(rest, key=lambda s: (-size[s], s)):
                    self.shape_fill(s)
            elif rest:
                self.node_fill(rest)
        if self.objective == "min_nodes":
            self.consolidate()
        return self.X

    def late(self) -> bool:
        return time.perf_counter() > self.deadline

    def first_fit(self, s: int, todo: int) -> int:
        """Up to ``todo`` pods of shape s, first fit, the whole shape at once."""
        k = self.room(s, self.order)
        take = np.clip(todo - (np.cumsum(k) - k), 0, k)
        hit = take > 0
        self.place(s, self.order[hit], take[hit])
        return int(take.sum())

    def shape_fill(self, s: int) -> int:
        """All pods of shape s, one shape at a time; returns how many were placed."""
        p, n = self.p, self.p.n
        todo = int(p.count[s])
        if (self.objective != "balance" or self.late()) and not self.domain_bound[s]:
            return self.first_fit(s, todo)
        k = self.room(s, np.arange(n))
        bcols = p.balance_cols
        alloc = p.alloc[:, bcols].astype(np.float64)
        inv = np.where(alloc > 0, 1.0 / np.where(alloc > 0, alloc, 1.0), 0.0)
        placed = 0
        for _ in range(todo):
            if self.late():
                if not self.domain_bound[s]:
                    placed += self.first_fit(s, todo - placed)
                break
            mask = k > 0
            for lim, left in zip(p.limits, self.left):
                if s in lim.shapes and lim.dom is not None:
                    mask &= (lim.dom < 0) | (left[np.maximum(lim.dom, 0)] > 0)
            for g, cnt in zip(p.spreads, self.counts):
                if s in g.shapes:
                    low = int(cnt[g.eligible].min()) if g.eligible.any() else 0
                    ok = g.eligible & (cnt + 1 - low <= g.skew)
                    mask &= (g.dom >= 0) & ok[np.maximum(g.dom, 0)]
            if not mask.any():
                break
            if self.objective == "balance":
                after = ((self.load[:, bcols] + p.A[s, bcols]) * inv).max(axis=1)
                node = int(np.argmin(np.where(mask, after, np.inf)))
            else:
                node = int(np.argmin(np.where(mask, self.position, n)))
            one = np.array([node])
            self.place(s, one, np.ones(1, np.int64))
            k[node] = self.room(s, one)[0]
            placed += 1
        return placed

    def node_fill(self, shapes: list[int]) -> None:
        """Node by node, the pod that best matches the node's free room first."""
        p = self.p
        shapes_a = np.array(shapes, np.int64)
        todo = p.count[shapes_a] - self.X[shapes_a].sum(axis=1)
        A = p.A[shapes_a]
        need = [np.flatnonzero(A[i] > 0) for i in range(len(shapes))]
        direction = A[:, p.cols] / self.scale
        eligible = p.cap[shapes_a] > 0
        for node in self.order.tolist():
            if not todo.any():
                break
            if self.late():
                for i in np.flatnonzero(todo > 0).tolist():
                    todo[i] -= self.first_fit(shapes[i], int(todo[i]))
                break
            live = np.flatnonzero((todo > 0) & eligible[:, node])
            if not len(live):
                continue
            fits = np.array([self.room(shapes[i], [node])[0] for i in live])
            live, fits = live[fits > 0], fits[fits > 0]
            while len(live):
                score = direction[live] @ (self.rem[node, p.cols] / self.scale)
                best = int(np.argmax(score))
                i = int(live[best])
                step = max(1, min(int(fits[best]), int(todo[i])) // 4)
                self.place(shapes[i], np.array([node]), np.array([step], np.int64))
                todo[i] -= step
                rem = self.rem[node]
                fits = np.array([min(int((rem[need[j]] // A[j, need[j]]).min()), int(todo[j]))
                                 for j in live.tolist()], np.int64)
                for idx, j in enumerate(live.tolist()):
                    for lim_i in self.node_limits[shapes[j]]:
                        fits[idx] = min(fits[idx], int(self.left[lim_i][node]))
                    fits[idx] = min(fits[idx], int(p.cap[shapes[j], node]
                                                   - self.X[shapes[j], node]))
                keep = fits > 0
                live, fits = live[keep], fits[keep]

    def consolidate(self) -> None:
        """Empty opened nodes, least loaded first, into the other nodes in use."""
        p = self.p
        movable = [not self.domain_bound[s] for s in range(p.S)]
        opened = np.flatnonzero((self.X.sum(axis=0) > 0) & ~p.fixed_used)
        for node in opened[np.argsort(self.X[:, opened].sum(axis=0), kind="stable")].tolist():
            if self.late():
                break
            shapes = np.flatnonzero(self.X[:, node]).tolist()
            if not all(movable[s] for s in shapes):
                continue
            saved = self.save()
            others = np.flatnonzero((p.fixed_used | (self.X.sum(axis=0) > 0)))
            others = others[others != node]
            others = others[np.argsort(self.position[others], kind="stable")]
            ok = True
            for s in sorted(shapes, key=lambda s: -float((p.A[s, p.cols] / self.scale).max())):
                count = int(self.X[s, node])
                self.place(s, np.array([node]), np.array([-count], np.int64))
                k = self.room(s, others)
                take = np.clip(count - (np.cumsum(k) - k), 0, k)
                if take.sum() < count:
                    ok = False
                    break
                hit = take > 0
                self.place(s, others[hit], take[hit])
            if not ok:
                self.restore(saved)


def _greedy(p: _Problem, objective: str, deadline: float = math.inf) -> np.ndarray:
    """The greedy plan of ``_Greedy`` (see there for ``deadline``)."""
    return _Greedy(p, objective, deadline).run()
