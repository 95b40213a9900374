"""The single-pod path: a compiled plan and tournament trees kept across calls.

``Scheduler.schedule(pod)`` on the general path compiles the profile, the pod's
spec and a batch, scans every node and records the placement: a few hundred
microseconds, mostly the same work each time. A service or simulator calls it
pod after pod with a few repeated shapes, so the scheduler keeps, per shape, the
compiled spec and its tournament tree (the best node at the root) and brings the
tree up to date from the cluster's journal of rows whose requests changed: a
call costs a lookup, a few tree updates and the commit.

What the plan holds stays true while the nodes (``columns.version``) and the bound
pods with host ports or pod (anti-)affinity terms (``store.terms_epoch``) stay
the same; anything else changes only requested columns, which the journal names.
Specs the kept plan cannot serve (topology constraints or scores, requests for
resources no node offers, sampling, random ties) take the general path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import placement as _k
from ..cluster import bound
from ..model.pod import Pod, family
from .compiler import Compiler

__all__ = ["KeptPlan"]

KEPT_SPECS = 32           # shapes kept at once (a tree each: 16 bytes per node)
KEPT_FAMILIES = 4096      # pod families remembered (each maps to its compiled spec)


class KeptPlan:
    """Per-scheduler cache for ``schedule(pod)`` (see the module)."""

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.key: Any = None
        self.out = np.zeros(2, np.int64)

    def _reset(self, key: Any) -> None:
        self.key = key
        sched = self.scheduler
        self.compiler: Compiler = sched._compiler()
        self.compiler.simd_worth_it = False     # the kept batch must read live columns
        self.batch: Any = None
        self.spec_of: dict[Any, int] = {}       # (family, namespace) -> spec, -1: not here
        self.trees: dict[int, np.ndarray] = {}
        self.epochs: dict[int, int] = {}        # the journal epoch each tree is good at
        n = len(sched.cluster)
        self.leaves = 1 << max(n - 1, 0).bit_length()

    def place(self, pod: Pod) -> tuple[int, int] | None:
        """Place and bind ``pod``: ``(row, score)``, or None to take the general path
        (nothing changed then)."""
        sched = self.scheduler
        cluster = sched.cluster
        cols = cluster.columns
        store = cols.store
        # What the plan was compiled from: the scheduler's settings, the nodes, and the
        # bound pods with ports or affinity terms (the rest changes only requests).
        key = (id(cluster), id(sched.profile), sched.tie_break, sched.percentage,
               sched.incremental, id(sched.services), cols.version, cols.n, store.terms_epoch)
        if key != self.key:
            self._reset(key)
        fam = (family(pod), pod.namespace)
        s = self.spec_of.get(fam)
        if s is None:
            if len(self.spec_of) >= KEPT_FAMILIES:
                self.spec_of.clear()        # families come and go; specs stay compiled
            s = self.spec_of[fam] = self._compile(pod)
        if s < 0 or store.lookup(pod.key) >= 0:
            return None
        tree = self.trees.get(s)
        dirty = None
        if tree is None:
            if len(self.trees) >= KEPT_SPECS:
                self.trees.clear()
                self.epochs.clear()
            tree = self.trees[s] = np.empty(2 * self.leaves + 4, np.int64)
        else:
            dirty = cols.changed_since(self.epochs[s])
        compiler = self.compiler
        row = _k.place_kept(self.batch, s, tree, dirty is not None,
                            dirty if dirty is not None else _NONE, compiler.ports_on,
                            compiler.fit_on, self.out)
        if row < 0:
            self.epochs[s] = cols.epoch
            return None
        bound.record_one(cluster, pod, row)
        self.epochs[s] = cols.epoch          # our own commit is in the tree already
        return row, int(self.out[1])

    def _compile(self, pod: Pod) -> int:
        """The spec of a new shape in the kept compiler (-1: not for this path)."""
        sched = self.scheduler
        n = len(sched.cluster)
        if n < 2 or not sched._kept_trees_valid():
            return -1
        compiler = self.compiler
        before = compiler.num_specs
        s = compiler.spec(pod)
        if s >= before or self.batch is None:
            # A new spec: the arrays grew (and the topology plugins flag specs as
            # they configure the batch). The other specs' trees stay right.
            self.batch = compiler.batch()
        if compiler.topology[s] or compiler.extra[s] or compiler.missing[s] \
                or compiler.conflict[s]:
            return -1
        return s


_NONE = np.zeros(0, np.int64)
