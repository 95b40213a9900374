"""The benchmarks' baseline: kube-scheduler's default profile, vectorized with NumPy.

``numpy_schedule_many(cluster, pods)`` places pods one after another, each
placement visible to the next, exactly as ``Scheduler(cluster).schedule_many``
does with the default profile and ``tie_break="first"``: the same filters
(NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodeResourcesFit),
the same scores (TaintToleration ×3, NodeAffinity ×2, NodeResourcesFit
LeastAllocated ×1, NodeResourcesBalancedAllocation ×1, ImageLocality ×1) and the
highest total with the lowest row on ties. tests/test_numpy_baseline.py checks
that the two place every pod on the same node.

It is meant as the honest competitor, so it is written the way a careful NumPy
user would write it:

* every distinct pod spec is compiled once: the static filters (cordon, node name,
  taints, node selector and required affinity) become one ``bool[nodes]`` mask,
  and the scores that do not change when pods bind (the raw TaintToleration and
  NodeAffinity counts, ImageLocality) become arrays or constants;
* per pod, every step is a ufunc call over all nodes writing into a preallocated
  buffer (about 25 calls for a pod without preferred terms), with the cpu and
  memory columns of both resource scores held in one ``[4, nodes]`` array; no
  Python code runs per node;
* amounts are held as float64, which represents every integer below 2**53
  exactly. Go's integer ``(a - q) * 100 / a`` is computed as
  ``floor((a - q) * 100 / a)`` in float64, which equals the integer quotient while
  the quotient is at most 100 and ``a < 2**46`` (a float rounding up to the next
  integer would need ``1/a`` below half an ulp of 101), and every amount times
  100 stays below 2**53: ``numpy_schedule_many`` checks that bound.
  BalancedAllocation is computed in float64 in Go's order of operations, so it
  is bit-for-bit Go's result.

NodePorts is not implemented: pods with host ports are rejected. The cluster is
left unchanged; placements are only returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fastsched.cluster.cluster import Cluster
from fastsched.cluster.labeltable import selector_mask, term_mask
from fastsched.model.pod import Pod
from fastsched.model.resources import CPU, MEMORY, PODS
from fastsched.model.taints import UNSCHEDULABLE_TAINT, tolerated
from fastsched.plugins.image_locality import image_locality
from fastsched.profile.profile import Profile

__all__ = ["numpy_schedule_many", "NumpyScheduler"]

EXACT_LIMIT = 1 << 46                # float64 floor((a - q) * 100 / a) is exact below
W_TT, W_NA = 3, 2                    # default weights; the three others are 1


class _Spec:
    """What one distinct pod spec needs per pod, compiled once.

    ``mask``: nodes passing the static filters; ``need``: the request per resource
    column for the fit filter (-inf where the pod requests nothing, so any free
    amount passes); ``vec``: the request to commit; ``delta``: the change the pod
    makes to the score state (see ``numpy_schedule_many``): -100 × its scoring
    (non-zero) cpu and memory request, then its real cpu and memory request;
    ``balanced``: False when BalancedAllocation skips the pod; ``tt100``/``na100``:
    100 × the raw TaintToleration / NodeAffinity scores, None when zero on every
    node; ``static``: 1 + the scores that stay fixed (ImageLocality, and the
    TaintToleration constant when there is nothing to normalize); the 1 lets a
    total of 0 mark the infeasible nodes.
    """

    __slots__ = ("mask", "need", "vec", "delta", "balanced", "tt100", "na100", "static")


class _Compiler:
    """Compiles pod specs against the cluster's static columns."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.n = len(cluster)
        self.col = {r: i for i, r in enumerate(cluster.resources)}
        self.codes = cluster.label_codes
        self.taint_bits = cluster.taint_bits
        self.specs: dict[Any, _Spec] = {}

    def spec(self, pod: Pod) -> _Spec:
        if pod.host_ports:
            raise ValueError(f"pod {pod.key} has host ports: the NumPy baseline does not "
                             "implement NodePorts")
        key = (pod.requests, pod.scoring_requests, pod.node_name, pod.node_selector,
               pod.node_affinity, pod.tolerations, pod.images,
               len(pod.containers) + len(pod.init_containers))
        found = self.specs.get(key)
        if found is None:
            found = self.specs[key] = self._compile(pod)
        return found

    def _compile(self, pod: Pod) -> _Spec:
        s = _Spec()
        R = len(self.col)
        s.vec = np.zeros(R, np.float64)
        s.need = np.full((R, 1), -np.inf)
        missing = False
        for resource, amount in pod.requests.items():
            col = self.col.get(resource)
            if col is None:
                missing = missing or amount > 0     # no node offers it: fits nowhere
            else:
                s.vec[col] = amount
                if amount > 0:
                    s.need[col, 0] = amount
        s.vec[self.col[PODS]] = 1
        s.need[self.col[PODS], 0] = 1
        scoring, real = pod.scoring_requests, pod.requests
        s.delta = np.array([[-100.0 * scoring.get(CPU, 0)], [-100.0 * scoring.get(MEMORY, 0)],
                            [float(real.get(CPU, 0))], [float(real.get(MEMORY, 0))]])
        s.balanced = bool(real.get(CPU, 0) or real.get(MEMORY, 0))
        hard, soft = self._untolerated(pod.tolerations)
        s.mask = np.zeros(self.n, np.bool_) if missing else self._static_mask(pod, hard)
        s.tt100 = None
        static = np.ones(self.n, np.float64)
        if soft is not None:
            raw = np.bitwise_count(self.taint_bits & soft).sum(axis=1, dtype=np.int64)
            if raw.any():
                s.tt100 = 100.0 * raw
        if s.tt100 is None:
            static += W_TT * 100             # reverse normalization of all zeros
        s.na100 = None
        if pod.node_affinity is not None and pod.node_affinity.preferred:
            raw = np.zeros(self.n, np.int64)
            for pref in pod.node_affinity.preferred:
                raw += pref.weight * term_mask(pref.preference, self.cluster.label_table,
                                               self.codes, self.cluster._rows)
            if raw.any():
                s.na100 = 100.0 * raw
        static += self._image_locality(pod)
        s.static = static
        return s

    def _untolerated(self, tolerations: tuple) -> tuple[np.ndarray | None,
                                                        np.ndarray | None]:
        """Taint-bit words the pod does not tolerate: NoSchedule/NoExecute taints
        (filter) and PreferNoSchedule taints (score, spec §5.2); None when empty."""
        words = self.taint_bits.shape[1]
        hard = np.zeros(words, np.uint64)
        soft = np.zeros(words, np.uint64)
        preferring = [t for t in tolerations if t.effect in ("", "PreferNoSchedule")]
        for tid, taint in enumerate(self.cluster.taints):
            bit = np.uint64(1 << (tid & 63))
            if taint.effect == "PreferNoSchedule":
                if not tolerated(taint, preferring):
                    soft[tid >> 6] |= bit
            elif not tolerated(taint, tolerations):
                hard[tid >> 6] |= bit
        return (hard if hard.any() else None), (soft if soft.any() else None)

    def _static_mask(self, pod: Pod, hard: np.ndarray | None) -> np.ndarray:
        """Nodes passing NodeUnschedulable, NodeName, TaintToleration (``hard``: the
        untolerated taint bits) and NodeAffinity."""
        cluster, n = self.cluster, self.n
        mask = np.ones(n, np.bool_)
        if not tolerated(UNSCHEDULABLE_TAINT, pod.tolerations):
            mask &= ~cluster.unschedulable
        if pod.node_name:
            row = cluster._rows.get(pod.node_name)
            named = np.zeros(n, np.bool_)
            if row is not None:
                named[row] = True
            mask &= named
        if hard is not None:
            mask &= ~(self.taint_bits & hard).any(axis=1)
        table = cluster.label_table
        if pod.node_selector:
            mask &= selector_mask(pod.node_selector, table, self.codes)
        affinity = pod.node_affinity
        if affinity is not None and affinity.required is not None:
            # NodeAffinity's PreFilter narrows the candidates to the nodes named by
            # metadata.name In fields, but a node matching a term is always among
            # that term's names, so matching the terms is enough for feasibility.
            terms = np.zeros(n, np.bool_)
            for term in affinity.required:
                terms |= term_mask(term, table, self.codes, cluster._rows)
            mask &= terms
        return mask

    def _image_locality(self, pod: Pod) -> np.ndarray | float:
        containers = len(pod.containers) + len(pod.init_containers)
        if not pod.images or not self.n:
            return 0.0
        # Static per spec, like the kernel's compile step: the same function.
        return image_locality(self.cluster, pod.images, containers).astype(np.float64)


class _Resources:
    """The float64 working state of NodeResourcesFit, LeastAllocated,
    BalancedAllocation, TaintToleration and NodeAffinity over every node, with the
    buffers each pod reuses (shared by both NumPy baselines)."""

    def __init__(self, cluster: Cluster) -> None:
        alloc = cluster.allocatable
        if max(alloc[:, :2].max(), cluster.nonzero_requested.max()) >= EXACT_LIMIT:
            raise ValueError("cpu or memory amounts of 2**46 or more: float64 scores "
                             "would not be exact")
        n = len(cluster)
        # free[r]: allocatable - requested per resource column (the fit filter).
        # state: 100 × (allocatable - non-zero requested) of cpu and memory
        # (LeastAllocated), then the real requested cpu and memory (BalancedAllocation).
        # A pod adds its ``delta``, and dividing by ``divisor`` (allocatable, twice)
        # gives 100 × the free share and the requested share in one ufunc call.
        self.free = (alloc - cluster.requested).T.astype(np.float64)        # [R, n]
        alloc2 = alloc[:, :2].T.astype(np.float64)
        self.state = np.concatenate([100.0 * (alloc2 - cluster.nonzero_requested.T),
                                     cluster.requested[:, :2].T.astype(np.float64)])
        self.offered = alloc2 > 0         # a resource a node lacks is left out (§4)
        self.uniform = bool(self.offered.all())
        if not self.uniform:
            alloc2[~self.offered] = 1.0   # any non-zero divisor; the result is masked
            self.weight_sum = np.maximum(self.offered.sum(axis=0), 1).astype(np.float64)
            self.lacks_one = ~self.offered.all(axis=0)
        self.divisor = np.concatenate([alloc2, alloc2])
        self.ok_rows = np.empty(self.free.shape, np.bool_)
        self.shares = np.empty((4, n))
        self.zeros, self.ones = np.zeros((2, n)), np.ones((2, n))   # scalars are slower
        self.la, self.ba, self.norm = np.empty(n), np.empty(n), np.empty(n)

    def fit(self, s: _Spec, ok: np.ndarray) -> None:
        """``ok``: NodeResourcesFit on every resource column and the static mask."""
        np.greater_equal(self.free, s.need, out=self.ok_rows)
        np.logical_and.reduce(self.ok_rows, axis=0, out=ok)
        np.logical_and(ok, s.mask, out=ok)

    def score(self, s: _Spec, ok: np.ndarray, total: np.ndarray) -> None:
        """``total``: the weighted scores of these plugins (``ok``: feasible nodes)."""
        add, subtract, multiply = np.add, np.subtract, np.multiply
        divide, floor = np.divide, np.floor
        shares, la, ba, norm = self.shares, self.la, self.ba, self.norm
        least, balanced = shares[:2], shares[2:]
        add(self.state, s.delta, out=shares)
        divide(shares, self.divisor, out=shares)

        # NodeResourcesFit score, LeastAllocated on the non-zero cpu/memory requests:
        # max(floor((a - q) * 100 / a), 0) per resource, their mean truncated.
        floor(least, out=least)
        np.maximum(least, self.zeros, out=least)
        if self.uniform:
            add(least[0], least[1], out=la)
            multiply(la, 0.5, out=la)
        else:
            multiply(least, self.offered, out=least)
            add(least[0], least[1], out=la)
            divide(la, self.weight_sum, out=la)
        floor(la, out=la)
        add(la, s.static, out=total)

        # BalancedAllocation on the real requests: trunc((1 - |f_cpu - f_mem| / 2) * 100)
        # with f = min(q / a, 1), in Go's order of float operations.
        if s.balanced:
            np.minimum(balanced, self.ones, out=balanced)
            subtract(balanced[0], balanced[1], out=ba)
            multiply(ba, 0.5, out=ba)
            np.abs(ba, out=ba)
            subtract(1.0, ba, out=ba)
            multiply(ba, 100.0, out=ba)
            np.trunc(ba, out=ba)
            if not self.uniform:
                ba[self.lacks_one] = 100.0   # one fraction or none: standard deviation 0
            add(total, ba, out=total)

        # TaintToleration (reversed) and NodeAffinity: normalized over the feasible nodes.
        if s.tt100 is not None:
            top = np.max(s.tt100, where=ok, initial=0.0) / 100.0
            if top == 0:
                total += W_TT * 100
            else:
                divide(s.tt100, top, out=norm)
                floor(norm, out=norm)
                subtract(100.0, norm, out=norm)
                multiply(norm, W_TT, out=norm)
                add(total, norm, out=total)
        if s.na100 is not None:
            top = np.max(s.na100, where=ok, initial=0.0) / 100.0
            if top > 0:
                divide(s.na100, top, out=norm)
                floor(norm, out=norm)
                multiply(norm, W_NA, out=norm)
                add(total, norm, out=total)

    def commit(self, s: _Spec, row: int) -> None:
        """Add the pod's request to node ``row``."""
        self.free[:, row] -= s.vec
        self.state[:, row] += s.delta[:, 0]


def select(total: np.ndarray, ok: np.ndarray) -> tuple[int, int]:
    """The node to bind to and its score, (-1, 0) when none is feasible. ``total``
    holds each node's score plus one (so a feasible node is at least 1): zeroed where
    infeasible, argmax takes the lowest row among equals. Overwrites ``total``."""
    np.multiply(total, ok, out=total)
    row = int(np.argmax(total))
    best = int(total[row])
    return (row, best - 1) if best else (-1, 0)


class NumpyScheduler:
    """The baseline with its working state kept from call to call, for sustained
    runs (bench/bench_sustained.py): ``schedule_many`` places like
    ``numpy_schedule_many`` and keeps its placements, ``unbind_many`` takes pods
    off again. The state is built from the cluster once; the cluster is never
    changed, so fastsched can run the same calls on it (or a copy) side by side.
    """

    def __init__(self, cluster: Cluster) -> None:
        self.n = len(cluster)
        self.node_names = cluster.node_names
        self._res = _Resources(cluster) if self.n else None
        self._compiler = _Compiler(cluster)
        self._ok, self._total = np.empty(self.n, np.bool_), np.empty(self.n)

    def _plan(self, pods: Sequence[Pod]) -> list[_Spec]:
        # By object within one call (the list keeps them alive), by content across calls.
        by_object: dict[int, _Spec] = {}
        plan = []
        for pod in pods:
            spec = by_object.get(id(pod))
            if spec is None:
                spec = by_object[id(pod)] = self._compiler.spec(pod)
            plan.append(spec)
        return plan

    def schedule_many(self, pods: Sequence[Pod], *, return_scores: bool = False) -> Any:
        """Node row per pod (-1 unschedulable), each placement kept for later calls;
        with ``return_scores``, ``(rows, totals)`` as ``numpy_schedule_many``."""
        pods = list(pods)
        rows = np.full(len(pods), -1, np.int64)
        totals = np.zeros(len(pods), np.int64)
        res = self._res
        if res is None or not pods:
            return (rows, totals) if return_scores else rows
        ok, total = self._ok, self._total
        for t, s in enumerate(self._plan(pods)):
            res.fit(s, ok)
            res.score(s, ok, total)
            row, best = select(total, ok)
            if row < 0:
                continue
            rows[t], totals[t] = row, best
            res.commit(s, row)
        return (rows, totals) if return_scores else rows

    def unbind_many(self, pods: Sequence[Pod], rows: np.ndarray) -> None:
        """Take ``pods[t]``, placed on node ``rows[t]``, off again: one unbuffered
        array update per distinct spec (a node may lose several pods at once)."""
        res = self._res
        if res is None or not len(pods):
            return
        rows = np.asarray(rows, np.int64)
        groups: dict[int, tuple[_Spec, list[int]]] = {}
        for t, s in enumerate(self._plan(pods)):
            groups.setdefault(id(s), (s, []))[1].append(t)
        for s, where in groups.values():
            at = rows[where]
            np.add.at(res.free.T, at, s.vec)
            np.subtract.at(res.state.T, at, s.delta[:, 0])


def numpy_schedule_many(cluster: Cluster, pods: Sequence[Pod],
                        profile: Profile | None = None, *,
                        return_scores: bool = False) -> Any:
    """Node row per pod (``int64``, -1 where unschedulable), placing pods in order.

    Only the default profile is implemented (``profile`` None or equal to
    ``Profile.default()``), with every node filtered and scored and ties broken
    by the lowest row. With ``return_scores``, returns ``(rows, totals)``, the
    total being the winning node's weighted score (0 where unschedulable).
    """
    if profile is not None and profile != Profile.default():
        raise ValueError("the NumPy baseline implements the default profile only")
    return NumpyScheduler(cluster).schedule_many(pods, return_scores=return_scores)
