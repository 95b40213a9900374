"""The topology benchmarks' baseline: the default profile with PodTopologySpread
and InterPodAffinity, vectorized with NumPy.

``numpy_schedule_topology(cluster, pods)`` places pods one after another, each
placement visible to the next, exactly as ``Scheduler(cluster).schedule_many``
does with the default profile and ``tie_break="first"``. It covers what
bench/bench_topology.py needs and raises ``NotImplementedError`` for the rest:

* at most one topology spread constraint per pod, hard (``DoNotSchedule``) or
  soft (``ScheduleAnyway``), on any key, with a matchLabels selector and the
  default minDomains and inclusion policies; a pod without constraints gets no
  default ones (no Service selects it, no owner selector);
* required pod anti-affinity terms on ``kubernetes.io/hostname`` with matchLabels
  selectors in the pod's own namespace, on incoming and on bound pods; no pod
  affinity and no preferred anti-affinity anywhere, so InterPodAffinity scores 0
  on every node (spec §5.5: its table is empty);
* no nodeSelector or node affinity (they would narrow which nodes count for
  spreading); taints, cordoned nodes, tolerations, node names and images go
  through bench/_numpy_baseline.py's compiler, as there.

How it works, the way a careful NumPy user would write it:

* resources, the static filters and the other scores are bench/_numpy_baseline.py's
  (its ``_Compiler``, one ufunc call per step over all nodes);
* a spread constraint reads a *counter*: per topology value (a *domain*), the
  matching pods on nodes carrying the key, as a small ``int64[domains]`` array,
  and each node's domain as ``intp[nodes]`` (nodes lacking the key point at one
  extra slot). The filter and the score are computed per domain and gathered to
  the nodes with one ``np.take``; placing a pod adds 1 to each counter it matches;
* InterPodAffinity's filter, with hostname terms only, is per spec a
  ``bool[nodes]`` of the nodes it may use: placing a pod clears its node in the
  array of every spec it blocks (its terms match the spec's pod, or the spec's
  terms match it), as the bound pods did once at the start.

PodTopologySpread's score follows upstream's float order (spec §5.4): raw =
round half away from zero of ``float(count) × ln(size + 2) + float(maxSkew − 1)``,
``size`` the number of domains holding a feasible node, ``ln`` the C library's
(``math.log``); normalized ``100 × (max + min − raw) ÷ max`` over the feasible
nodes with the key (100 when max is 0), 0 for feasible nodes lacking the key.
The cluster is left unchanged; placements are only returned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from _numpy_baseline import _Compiler, _Resources, select

from fastsched.cluster.cluster import Cluster
from fastsched.model.pod import Pod
from fastsched.profile.profile import Profile

__all__ = ["numpy_schedule_topology"]

HOSTNAME = "kubernetes.io/hostname"
W_PTS = 2                 # PodTopologySpread's default weight

# A selector is None (missing: matches no pod) or a tuple of (key, value) pairs,
# all required (the empty tuple matches every pod). A pod's identity for
# InterPodAffinity is (namespace, frozenset of its labels, its anti-affinity
# selectors): pods with equal identities block the same nodes.


def _selector(label_selector: Any, field: str) -> tuple | None:
    if label_selector is None:
        return None
    if label_selector.match_expressions:
        raise NotImplementedError(f"{field}: matchExpressions are not implemented by the "
                                  "NumPy topology baseline (matchLabels only)")
    return tuple(sorted(label_selector.match_labels.items()))


def _matches(selector: tuple | None, labels: frozenset) -> bool:
    return selector is not None and all(pair in labels for pair in selector)


def _anti_terms(pod: Pod) -> tuple:
    """The pod's required anti-affinity selectors; NotImplementedError for any pod
    (anti-)affinity this baseline does not model."""
    affinity = pod.pod_affinity
    if affinity is not None and (affinity.required or affinity.preferred):
        raise NotImplementedError(f"pod {pod.key}: pod affinity is not implemented by the "
                                  "NumPy topology baseline")
    anti = pod.pod_anti_affinity
    if anti is None:
        return ()
    if anti.preferred:
        raise NotImplementedError(f"pod {pod.key}: preferred pod anti-affinity is not "
                                  "implemented by the NumPy topology baseline")
    terms = []
    for i, term in enumerate(anti.required):
        field = f"pod {pod.key}: podAntiAffinity.required[{i}]"
        if term.topology_key != HOSTNAME:
            raise NotImplementedError(f"{field}: topologyKey {term.topology_key!r}; only "
                                      f"{HOSTNAME} is implemented")
        if (term.namespaces or term.namespace_selector is not None or term.match_label_keys
                or term.mismatch_label_keys):
            raise NotImplementedError(f"{field}: namespaces, namespaceSelector and "
                                      "(mis)matchLabelKeys are not implemented")
        terms.append(_selector(term.label_selector, f"{field}.labelSelector"))
    return tuple(terms)


def _identity(pod: Pod) -> tuple:
    return pod.namespace, frozenset(pod.labels.items()), _anti_terms(pod)


def _blocks(existing: tuple, incoming: tuple) -> bool:
    """Whether a pod with identity ``existing`` on a node makes that node infeasible
    for a pod with identity ``incoming`` (spec §3.9 steps 2 and 3, hostname terms)."""
    namespace, labels, terms = existing
    own_namespace, own_labels, own_terms = incoming
    if namespace != own_namespace:
        return False
    return (any(_matches(s, labels) for s in own_terms)
            or any(_matches(s, own_labels) for s in terms))


def _spread_constraint(pod: Pod, services: Sequence[Any]) -> Any:
    """The pod's one constraint, or None; NotImplementedError beyond that."""
    constraints = pod.topology_spread_constraints
    if not constraints:
        if pod.owner_selector is not None or any(s.matches(pod) for s in services):
            raise NotImplementedError(f"pod {pod.key}: default spread constraints (a Service "
                                      "or owner selects the pod) are not implemented")
        return None
    if len(constraints) > 1:
        raise NotImplementedError(f"pod {pod.key}: more than one topology spread constraint")
    c = constraints[0]
    if (c.min_domains is not None or c.node_affinity_policy != "Honor"
            or c.node_taints_policy != "Ignore" or c.match_label_keys):
        raise NotImplementedError(f"pod {pod.key}: minDomains, matchLabelKeys and "
                                  "non-default inclusion policies are not implemented")
    return c


class _Counter:
    """Pods matching ``selector`` in ``namespace``, per value of ``key``.

    ``dom``: each node's domain (``domains`` for nodes lacking the key); ``counts``:
    matching pods per domain, pods on nodes lacking the key left out.
    """

    __slots__ = ("selector", "namespace", "dom", "domains", "counts", "dom_list")

    def __init__(self, cluster: Cluster, selector: tuple | None, namespace: str,
                 key: str) -> None:
        self.selector, self.namespace = selector, namespace
        codes = cluster.label_codes
        column = cluster.label_table.key_index.get(key)
        if column is None or column >= codes.shape[1]:
            values, col = np.zeros(0, np.int32), np.full(len(cluster), -1, np.int32)
        else:
            col = codes[:, column]
            values = np.unique(col[col >= 0])
        self.domains = len(values)
        self.dom = np.searchsorted(values, col).astype(np.intp)
        self.dom[col < 0] = self.domains
        self.dom_list = self.dom.tolist()       # fast scalar reads when committing
        self.counts = np.zeros(self.domains, np.int64)

    def counts_pod(self, namespace: str, labels: frozenset) -> bool:
        # An empty selector counts no pod (upstream's countPodsMatchSelector).
        return bool(self.selector) and namespace == self.namespace and \
            _matches(self.selector, labels)

    def add(self, row: int) -> None:
        d = self.dom_list[row]
        if d < self.domains:
            self.counts[d] += 1


class _Spec:
    """One distinct pod spec: ``res`` (the resource spec of _numpy_baseline), its
    spread constraint as ``counter`` (-1: none), ``max_skew``, ``hard`` and
    ``self_match``; ``unblocked`` (None when nothing can block it), and what placing
    it changes: the counters it ``adds`` to and the specs it ``blocks``."""

    __slots__ = ("res", "identity", "counter", "max_skew", "hard", "self_match",
                 "unblocked", "adds", "blocks")


def numpy_schedule_topology(cluster: Cluster, pods: Sequence[Pod],
                            profile: Profile | None = None, services: Iterable[Any] = (), *,
                            return_scores: bool = False) -> Any:
    """Node row per pod (``int64``, -1 where unschedulable), placing pods in order.

    The default profile only (``profile`` None or equal to ``Profile.default()``),
    every node filtered and scored, ties to the lowest row. ``services`` are
    ``fastsched.Service`` values, checked only to refuse pods that would get default
    spread constraints. With ``return_scores``, returns ``(rows, totals)``, the total
    being the winning node's weighted score (0 where unschedulable).
    """
    if profile is not None and profile != Profile.default():
        raise NotImplementedError("the NumPy topology baseline implements the default "
                                  "profile only")
    services = tuple(services)
    pods = list(pods)
    rows = np.full(len(pods), -1, np.int64)
    totals = np.zeros(len(pods), np.int64)
    n = len(cluster)
    if n == 0 or not pods:
        return (rows, totals) if return_scores else rows
    res_state = _Resources(cluster)

    # -- compile the pod specs -----------------------------------------------------------
    resources = _Compiler(cluster)
    specs: list[_Spec] = []
    by_key: dict[tuple, int] = {}
    by_object: dict[int, int] = {}
    counters: list[_Counter] = []
    counter_of: dict[tuple, int] = {}
    plan = []
    for pod in pods:
        s = by_object.get(id(pod))
        if s is None:
            if not isinstance(pod, Pod):
                raise TypeError(f"pods: expected Pod objects, got {type(pod).__name__}")
            if pod.node_selector or pod.node_affinity is not None:
                raise NotImplementedError(f"pod {pod.key}: nodeSelector and node affinity are "
                                          "not implemented by the NumPy topology baseline")
            res = resources.spec(pod)
            identity = _identity(pod)
            constraint = _spread_constraint(pod, services)
            key = (id(res), identity, constraint)
            s = by_key.get(key)
            if s is None:
                spec = _Spec()
                spec.res, spec.identity = res, identity
                spec.counter, spec.max_skew, spec.hard, spec.self_match = -1, 0, False, 0
                if constraint is not None:
                    selector = _selector(constraint.label_selector,
                                         f"pod {pod.key}: topologySpreadConstraints[0]")
                    ident = (selector, pod.namespace, constraint.topology_key)
                    if ident not in counter_of:
                        counter_of[ident] = len(counters)
                        counters.append(_Counter(cluster, *ident))
                    spec.counter = counter_of[ident]
                    spec.max_skew = constraint.max_skew
                    spec.hard = constraint.when_unsatisfiable == "DoNotSchedule"
                    # An empty selector counts no pod but matches the pod itself.
                    spec.self_match = int(_matches(selector, identity[1]))
                s = by_key[key] = len(specs)
                specs.append(spec)
            by_object[id(pod)] = s
        plan.append(s)

    # -- the bound pods: spread counts, and the nodes they close to anti-affinity ---------
    bound = []
    for pod, node in cluster.bindings():
        bound.append((_identity(pod), cluster.row(node)))
    for spec in specs:
        spec.adds = [c for c, counter in enumerate(counters)
                     if counter.counts_pod(spec.identity[0], spec.identity[1])]
    for counter in counters:
        for (namespace, labels, _), row in bound:
            if counter.counts_pod(namespace, labels):
                counter.add(row)
    idents = {spec.identity for spec in specs} | {ident for ident, _ in bound}
    hostname_used = any(ident[2] for ident in idents) or any(
        c_key[2] == HOSTNAME for c_key in counter_of)
    if hostname_used and _Counter(cluster, None, "", HOSTNAME).domains != n:
        raise NotImplementedError("nodes without a unique kubernetes.io/hostname label")
    for spec in specs:
        spec.unblocked = None
        if any(_blocks(ident, spec.identity) for ident in idents):
            spec.unblocked = np.ones(n, np.bool_)
            for ident, row in bound:
                if _blocks(ident, spec.identity):
                    spec.unblocked[row] = False
    for spec in specs:
        spec.blocks = [other.unblocked for other in specs
                       if other.unblocked is not None and _blocks(spec.identity, other.identity)]

    # -- buffers reused by every pod -----------------------------------------------------
    ok, gathered_ok = np.empty(n, np.bool_), np.empty(n, np.bool_)
    total, gathered = np.empty(n), np.empty(n)
    allowed = [np.zeros(c.domains + 1, np.bool_) for c in counters]   # last slot: no key
    spread = [np.zeros(c.domains + 1) for c in counters]

    for t, s in enumerate(plan):
        spec = specs[s]
        r = spec.res
        # -- filters: NodeResourcesFit on every column, the static mask (as the base) ----
        res_state.fit(r, ok)
        # PodTopologySpread (§3.8): skew = count + selfMatch - globalMin <= maxSkew per
        # domain; nodes lacking the key fail. Every domain is eligible (no selectors).
        if spec.hard:
            counter = counters[spec.counter]
            counts, box = counter.counts, allowed[spec.counter]
            low = int(counts.min()) if counter.domains else 0
            np.less_equal(counts, spec.max_skew + low - spec.self_match, out=box[:-1])
            np.take(box, counter.dom, out=gathered_ok, mode="clip")
            np.logical_and(ok, gathered_ok, out=ok)
        # InterPodAffinity (§3.9): no blocking pod on the node.
        if spec.unblocked is not None:
            np.logical_and(ok, spec.unblocked, out=ok)

        # -- scores of _numpy_baseline ------------------------------------------------
        res_state.score(r, ok, total)

        # -- PodTopologySpread score (§5.4), per domain, then gathered to the nodes ------
        if spec.counter >= 0 and not spec.hard:
            counter = counters[spec.counter]
            present = np.bincount(counter.dom[ok], minlength=counter.domains + 1)
            present = present[:-1] > 0          # domains holding a feasible node
            size = int(np.count_nonzero(present))   # hostname: the feasible nodes
            if size:
                weight = math.log(float(size + 2))
                x = counter.counts * weight     # float(count) × w, then + (maxSkew - 1)
                x += float(spec.max_skew - 1)
                raw = np.floor(x)
                raw += (x - raw) >= 0.5         # round half away from zero (x >= 0)
                raw = raw.astype(np.int64)
                low = int(raw[present].min())
                high = max(int(raw[present].max()), 0)
                box = spread[spec.counter]
                if high == 0:
                    box[:-1] = W_PTS * 100
                else:
                    box[:-1] = W_PTS * ((100 * (high + low - raw)) // high)
                box[:-1][~present] = 0          # no feasible node there; keeps totals tidy
                np.take(box, counter.dom, out=gathered, mode="clip")
                np.add(total, gathered, out=total)
        # InterPodAffinity scores 0 everywhere: no pod has terms that score.

        # -- select: infeasible nodes total 0, feasible ones at least 1 -----------------
        row, best = select(total, ok)
        if row < 0:
            continue
        rows[t], totals[t] = row, best

        # -- commit: resources, spread counters, anti-affinity ---------------------------
        res_state.commit(r, row)
        for c in spec.adds:
            counters[c].add(row)
        for unblocked in spec.blocks:
            unblocked[row] = False
    return (rows, totals) if return_scores else rows
