"""The compile step PodTopologySpread and InterPodAffinity share: topology counters.

A *counter* counts pods per topology domain (the values of one node label): either
the pods that match a label selector in a set of namespaces ("match"; "spread" for
PodTopologySpread, which skips terminating pods as upstream's
countPodsMatchSelector does; "all" for the pods matching every one of a pod's
required affinity terms), or the pods that carry a given affinity term
("carry", for existing pods' terms). Only pods on
the counter's *eligible* nodes count. Each pod spec then reads counters through
checks (spread skew, required affinity and anti-affinity) and score terms; the
kernel adds to the counters as it places pods, so no pass over all pods is needed
per pod (spec §3.8, §3.9, §5.4, §5.5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .._kernels.common import CheckKind
from ..model.labels import LabelSelector, LabelSelectorRequirement
from ..model.pod import Pod, PodAffinityTerm, TopologySpreadConstraint
from ._arrays import i64, u8
from .node_affinity import node_match
from .taint_toleration import tolerated_nodes

__all__ = ["TopologyCompiler", "configure", "default_selector", "with_label_keys", "HOSTNAME",
           "ZONE"]

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
T_SPREAD, T_AFFINITY, T_ANTI, T_EXISTING = (int(k) for k in (
    CheckKind.T_SPREAD, CheckKind.T_AFFINITY, CheckKind.T_ANTI, CheckKind.T_EXISTING))
ALL = None          # a namespace set meaning every namespace


def default_selector(pod: Pod, services: Iterable[Any]) -> LabelSelector | None:
    """The selector of PodTopologySpread's default constraints: the selectors of the
    Services that select the pod, and its owner's; None when that is empty."""
    labels: dict[str, str] = {}
    for service in services:
        if service.matches(pod):
            labels.update(service.selector)
    expressions: tuple = ()
    if pod.owner_selector is not None:
        labels.update(pod.owner_selector.match_labels)
        expressions = pod.owner_selector.match_expressions
    if not labels and not expressions:
        return None
    return LabelSelector(labels, expressions)


def with_label_keys(selector: LabelSelector, pod: Pod, match: Sequence[str],
                     mismatch: Sequence[str] = ()) -> LabelSelector:
    """``selector`` plus matchLabelKeys (key In [pod's value]) and mismatchLabelKeys
    (key NotIn [pod's value]) for keys the pod has."""
    extra = [LabelSelectorRequirement(k, "In", (pod.labels[k],)) for k in match
             if k in pod.labels]
    extra += [LabelSelectorRequirement(k, "NotIn", (pod.labels[k],)) for k in mismatch
              if k in pod.labels]
    if not extra:
        return selector
    return LabelSelector(selector.match_labels, (*selector.match_expressions, *extra))


class TopologyCompiler:
    """Builds counters, per-spec checks and score terms for one kernel call."""

    def __init__(self, cluster: Any, profile: Any, services: Sequence[Any],
                 namespace_labels: Mapping[str, Mapping[str, str]]) -> None:
        self.cluster = cluster
        self.profile = profile
        self.services = services
        self.namespace_labels = namespace_labels
        self.n = len(cluster)
        self.codes = cluster.label_codes
        self.table = cluster.label_table
        self.counters: dict[Any, int] = {}
        self.counter_defs: list[tuple] = []     # (kind, what, namespaces, key, eligible)
        self.spread_on = "PodTopologySpread" in profile.filters
        self.interpod_on = "InterPodAffinity" in profile.filters
        self.w_pts = profile.weight("PodTopologySpread")
        self.w_ipa = profile.weight("InterPodAffinity")
        self._carriers: list[tuple[Pod, int]] | None = None

    # -- counters --------------------------------------------------------------------

    def _counter(self, kind: str, what: Any, namespaces: frozenset | None, key: str,
                 eligible: np.ndarray | None, eligible_key: Any = None) -> int:
        ident = (kind, what, namespaces, key, eligible_key)
        found = self.counters.get(ident)
        if found is None:
            found = self.counters[ident] = len(self.counter_defs)
            self.counter_defs.append((kind, what, namespaces, key, eligible))
        return found

    def _namespaces(self, term: PodAffinityTerm, own: str) -> frozenset | None:
        """The namespaces a pod affinity term reads (None: all of them)."""
        if not term.namespaces and term.namespace_selector is None:
            return frozenset((own,))
        names = set(term.namespaces)
        selector = term.namespace_selector
        if selector is not None:
            if not selector.match_labels and not selector.match_expressions:
                return ALL
            names |= {ns for ns, labels in self.namespace_labels.items()
                      if selector.matches(labels)}
        return frozenset(names)

    def _domains(self, key: str) -> np.ndarray:
        column = self.table.key_index.get(key)
        if column is None or column >= self.codes.shape[1]:
            return np.full(self.n, -1, np.int32)
        return np.ascontiguousarray(self.codes[:, column], np.int32)

    def _width(self, key: str) -> int:
        column = self.table.key_index.get(key)
        return 1 if column is None else max(len(self.table.values[column]), 1)

    def carriers(self) -> list[tuple[Pod, int]]:
        """Bound pods with affinity terms, with their node rows."""
        if self._carriers is None:
            self._carriers = self.cluster.columns.affine_pods()
        return self._carriers

    # -- per spec --------------------------------------------------------------------

    def spec(self, pod: Pod, node_match: Any, taint_ok: Any,
             spec_pods: Sequence[Pod]) -> tuple[list, list, list, bool]:
        """(checks, spread score entries, interpod score entries, pod matches its own
        affinity terms) of one spec. ``node_match()``: nodes passing the pod's
        nodeSelector and required node affinity; ``taint_ok()``: nodes whose
        NoSchedule/NoExecute taints the pod tolerates (both computed only if a spread
        constraint needs them); ``spec_pods`` every spec's pod in this call (batch
        pods carry terms too)."""
        checks: list[tuple] = []
        soft: list[tuple] = []
        terms: list[tuple] = []
        own = pod.topology_spread_constraints
        if not own:
            own = self._defaults(pod)
        hard = [c for c in own if c.when_unsatisfiable == "DoNotSchedule"]
        scored = [c for c in own if c.when_unsatisfiable == "ScheduleAnyway"]
        system = not pod.topology_spread_constraints and self.profile.spread_defaulting == "System"
        if self.spread_on and hard:
            keys = tuple(sorted({c.topology_key for c in hard}))
            has_keys = np.ones(self.n, np.bool_)
            for key in keys:
                has_keys &= self._domains(key) >= 0
            for c in hard:
                selector = self._spread_selector(c, pod)
                eligible, ekey = self._eligible(c, pod, has_keys, keys, node_match, taint_ok)
                counter = self._counter("spread", _counted(selector), frozenset((pod.namespace,)),
                                        c.topology_key, eligible, ekey)
                self_match = int(selector is not None and selector.matches(pod.labels))
                checks.append((T_SPREAD, counter, c.max_skew, c.min_domains or 0, self_match))
        if self.w_pts and scored:
            keys = tuple(sorted({c.topology_key for c in scored}))
            has_keys = np.ones(self.n, np.bool_)
            if not system:
                for key in keys:
                    has_keys &= self._domains(key) >= 0
            for c in scored:
                selector = self._spread_selector(c, pod)
                eligible_soft: np.ndarray | None
                if c.topology_key == HOSTNAME:
                    # per node: the node's own pods, whatever the inclusion policies
                    eligible_soft, ekey = None, "node"
                else:
                    eligible_soft, ekey = self._eligible(c, pod, has_keys,
                                                         ("soft", system, keys),
                                                         node_match, taint_ok)
                counter = self._counter("spread", _counted(selector), frozenset((pod.namespace,)),
                                        c.topology_key, eligible_soft, ekey)
                soft.append((counter, c.max_skew, int(not system),
                             int(c.topology_key == HOSTNAME)))
        aff_self = True
        if self.interpod_on:
            if pod.pod_affinity is not None and pod.pod_affinity.required:
                # An existing pod counts for the pod's affinity only when it matches
                # every required term (upstream's updateWithAffinityTerms): one
                # conjunction, counted per term's topology key.
                parts = tuple(self._term(term, pod) for term in pod.pod_affinity.required)
                for term in pod.pod_affinity.required:
                    checks.append((T_AFFINITY, self._counter(
                        "all", parts, ALL, term.topology_key, None), 0, 0, 0))
                aff_self = _matches_all(parts, pod)
            if pod.pod_anti_affinity is not None:
                for term in pod.pod_anti_affinity.required:
                    selector, spaces = self._term(term, pod)
                    checks.append((T_ANTI, self._counter(
                        "match", selector, spaces, term.topology_key, None), 0, 0, 0))
            for carrier, kind, term, _ in self._carried(spec_pods):
                if kind == "anti" and self._term_matches(term, carrier, pod):
                    checks.append((T_EXISTING, self._counter(
                        "carry", ("anti", term, 0), frozenset((carrier.namespace,)),
                        term.topology_key, None), 0, 0, 0))
        if self.w_ipa:
            terms = self._interpod_terms(pod, spec_pods)
        return checks, soft, terms, aff_self

    def _defaults(self, pod: Pod) -> tuple[TopologySpreadConstraint, ...]:
        if not (self.spread_on or self.w_pts):
            return ()
        selector = default_selector(pod, self.services)
        if selector is None:
            return ()
        if self.profile.spread_defaulting == "System":
            defaults = (TopologySpreadConstraint(3, HOSTNAME, "ScheduleAnyway"),
                        TopologySpreadConstraint(5, ZONE, "ScheduleAnyway"))
        else:
            defaults = self.profile.default_spread_constraints
        return tuple(replace(c, label_selector=selector) for c in defaults)

    def _spread_selector(self, c: TopologySpreadConstraint, pod: Pod) -> LabelSelector | None:
        if c.label_selector is None:
            return None
        return with_label_keys(c.label_selector, pod, c.match_label_keys)

    def _eligible(self, c: TopologySpreadConstraint, pod: Pod, has_keys: np.ndarray,
                  keys: Any, node_match: Any, taint_ok: Any) -> tuple[np.ndarray, Any]:
        """Nodes whose pods count for a spread constraint (its inclusion policies)."""
        eligible = has_keys.copy()
        ekey: list[Any] = [keys]
        if c.node_affinity_policy == "Honor":
            eligible &= node_match()
            ekey.append((pod.node_selector, pod.node_affinity))
        if c.node_taints_policy == "Honor":
            eligible &= taint_ok()
            ekey.append(pod.tolerations)
        return eligible, tuple(ekey)

    def _term(self, term: PodAffinityTerm, pod: Pod) -> tuple[LabelSelector | None, Any]:
        selector = term.label_selector
        if selector is not None:
            selector = with_label_keys(selector, pod, term.match_label_keys,
                                        term.mismatch_label_keys)
        return selector, self._namespaces(term, pod.namespace)

    def _term_matches(self, term: PodAffinityTerm, carrier: Pod, pod: Pod) -> bool:
        """Whether ``pod`` matches a term that ``carrier`` (an existing pod) holds."""
        selector, spaces = self._term(term, carrier)
        return _matches(selector, spaces, pod)

    def _carried(self, spec_pods: Sequence[Pod]) -> list[tuple[Pod, str, PodAffinityTerm, int]]:
        """(carrier, kind, term, weight) for every term held by a bound pod or by a
        pod of this call: kinds "affinity", "anti", "pref-affinity", "pref-anti"."""
        found = getattr(self, "_carried_cache", None)
        if found is None:
            seen: dict[tuple, tuple] = {}
            holders = [pod for pod, _ in self.carriers()] + list(spec_pods)
            for pod in holders:
                for kind, term, weight in _terms_of(pod):
                    seen.setdefault((pod.namespace, pod.labels, kind, term, weight),
                                    (pod, kind, term, weight))
            found = self._carried_cache = list(seen.values())
        return found

    def _interpod_terms(self, pod: Pod, spec_pods: Sequence[Pod]) -> list[tuple[int, int]]:
        terms: list[tuple[int, int]] = []
        own_preferred = any(a is not None and a.preferred
                            for a in (pod.pod_affinity, pod.pod_anti_affinity))
        if self.profile.ignore_preferred_terms_of_existing_pods and not own_preferred:
            return terms        # upstream skips the plugin for such pods
        for affinity, sign in ((pod.pod_affinity, 1), (pod.pod_anti_affinity, -1)):
            for weighted in affinity.preferred if affinity is not None else ():
                term = weighted.pod_affinity_term
                selector, spaces = self._term(term, pod)
                terms.append((self._counter("match", selector, spaces, term.topology_key,
                                            None), sign * weighted.weight))
        hard = self.profile.hard_pod_affinity_weight
        seen: set[int] = set()
        for carrier, kind, term, weight in self._carried(spec_pods):
            if kind == "anti" or not self._term_matches(term, carrier, pod):
                continue
            if kind == "affinity":
                coefficient = hard
            else:
                coefficient = weight if kind == "pref-affinity" else -weight
            counter = self._counter("carry", (kind, term, weight),
                                    frozenset((carrier.namespace,)), term.topology_key, None)
            # A counter already counts every carrier of its term: holders that differ
            # only in their labels (the incoming pod carrying an existing pod's term)
            # must not add it twice.
            if coefficient and counter not in seen:
                seen.add(counter)
                terms.append((counter, coefficient))
        return terms

    # -- arrays ----------------------------------------------------------------------

    def arrays(self, spec_pods: Sequence[Pod]) -> dict[str, np.ndarray]:
        """Counter arrays: domains, eligibility, initial counts from the bound pods,
        and which spec adds to which counter when the kernel places it."""
        n, C, S = self.n, len(self.counter_defs), len(spec_pods)
        if C == 0:          # no topology terms in this call: placeholders only
            return {"ctr_dom": np.full((1, max(n, 1)), -1, np.int32),
                    "ctr_elig": np.zeros((1, max(n, 1)), np.uint8),
                    "ctr_off": np.zeros(2, np.int64), "ctr_counts": np.zeros(1, np.int64),
                    "ctr_total": np.zeros(1, np.int64), "ctr_dmask": np.zeros(1, np.uint8),
                    "ctr_inc": np.zeros((max(S, 1), 1), np.uint8)}
        dom = np.full((max(C, 1), max(n, 1)), -1, np.int32)
        elig = np.zeros((max(C, 1), max(n, 1)), np.uint8)
        widths = [self._width(d[3]) for d in self.counter_defs]
        off = np.zeros(C + 1, np.int64)
        off[1:] = np.cumsum(widths)
        counts = np.zeros(max(int(off[-1]), 1), np.int64)
        dmask = np.zeros(max(int(off[-1]), 1), np.uint8)
        inc = np.zeros((max(S, 1), max(C, 1)), np.uint8)
        table = self.cluster.columns.store
        live = table.live()
        pod_nodes = table.node[live]
        ns_codes = table.ns_of(live)
        for c, (kind, what, spaces, key, eligible) in enumerate(self.counter_defs):
            d = self._domains(key)
            e = np.ones(n, np.bool_) if eligible is None else eligible
            dom[c, :n] = d
            elig[c, :n] = e
            lo = int(off[c])
            valid = (d >= 0) & e
            dmask[lo + d[valid]] = 1
            if kind in ("match", "spread", "all"):
                spread = kind == "spread"
                parts = what if kind == "all" else ((what, spaces),)
                if any(p[0] is None for p in parts) or n == 0 or not len(live):
                    matched = np.zeros(0, np.int64)
                else:
                    mask = np.ones(len(live), np.bool_)
                    for selector, names in parts:
                        mask &= table.selector_mask(live, selector.match_labels,
                                                    selector.match_expressions)
                        if names is not ALL:
                            codes = [table.namespaces[s] for s in names if s in table.namespaces]
                            mask &= np.isin(ns_codes, codes)
                    if spread:
                        mask &= ~table.terminating_of(live)
                    matched = pod_nodes[mask]
                rows = matched[valid[matched]] if len(matched) else matched
                np.add.at(counts, lo + d[rows], 1)
                for s, pod in enumerate(spec_pods):
                    inc[s, c] = _matches_all(parts, pod) and not (spread and pod.terminating)
            else:
                held = (what[0], what[1], what[2] if len(what) > 2 else 0)
                for carrier, row in self.carriers():
                    if (carrier.namespace in spaces and held in _terms_of(carrier)
                            and valid[row]):
                        counts[lo + d[row]] += 1
                for s, pod in enumerate(spec_pods):
                    inc[s, c] = pod.namespace in spaces and held in _terms_of(pod)
        total = np.array([counts[off[c]:off[c + 1]].sum() for c in range(C)] or [0], np.int64)
        return {"ctr_dom": dom, "ctr_elig": elig, "ctr_off": off if C else np.zeros(2, np.int64),
                "ctr_counts": counts, "ctr_total": total, "ctr_dmask": dmask, "ctr_inc": inc}


def configure(ctx: Any, b: Any) -> None:
    """PodTopologySpread and InterPodAffinity: counters, checks and score terms of
    every spec of the call (one set of counters serves both plugins). Sets
    ``ctx.topology[s]``: spec s has topology checks or scores (its scores move with
    every placement, so it gets no tournament tree)."""
    n, spec_pods = ctx.n, ctx.spec_pods
    topo = TopologyCompiler(ctx.cluster, ctx.profile, ctx.services, ctx.namespace_labels)
    checks, soft, terms, aff_self = [0], [0], [0], []
    rows_checks: list = []
    rows_soft: list = []
    rows_terms: list = []
    wanted = topo.spread_on or topo.interpod_on or topo.w_pts or topo.w_ipa
    ctx.topology = [False] * len(spec_pods)
    for s, pod in enumerate(spec_pods):
        if wanted and n:
            c, e, t, own = topo.spec(pod, lambda: node_match(ctx, pod),
                                     lambda: tolerated_nodes(ctx, pod), spec_pods)
        else:
            c, e, t, own = [], [], [], True
        rows_checks += c
        rows_soft += e
        rows_terms += t
        checks.append(len(rows_checks))
        soft.append(len(rows_soft))
        terms.append(len(rows_terms))
        aff_self.append(int(own))
        ctx.topology[s] = bool(c or e or t)
    for name, array in topo.arrays(spec_pods).items():
        setattr(b, name, array)
    b.tchk_off = i64(checks if len(checks) > 1 else [0, 0])
    b.tchk = np.ascontiguousarray(np.array(rows_checks or [[0] * 5], np.int64))
    b.aff_self = u8(aff_self or [0])
    b.tsoft_off = i64(soft if len(soft) > 1 else [0, 0])
    b.tsoft = np.ascontiguousarray(np.array(rows_soft or [[0] * 4], np.int64))
    b.taff_off = i64(terms if len(terms) > 1 else [0, 0])
    b.taff = np.ascontiguousarray(np.array(rows_terms or [[0] * 2], np.int64))
    b.gmin = np.zeros(max(len(rows_checks), 1), np.int64)


def _terms_of(pod: Pod) -> list[tuple[str, PodAffinityTerm, int]]:
    out: list[tuple[str, PodAffinityTerm, int]] = []
    if pod.pod_affinity is not None:
        out += [("affinity", t, 0) for t in pod.pod_affinity.required]
        out += [("pref-affinity", w.pod_affinity_term, w.weight)
                for w in pod.pod_affinity.preferred]
    if pod.pod_anti_affinity is not None:
        out += [("anti", t, 0) for t in pod.pod_anti_affinity.required]
        out += [("pref-anti", w.pod_affinity_term, w.weight)
                for w in pod.pod_anti_affinity.preferred]
    return out


def _counted(selector: LabelSelector | None) -> LabelSelector | None:
    """PodTopologySpread counts no pod for an empty selector (upstream's rule), though
    the incoming pod still matches it."""
    if selector is not None and not selector.match_labels and not selector.match_expressions:
        return None
    return selector


def _matches_all(parts: Sequence[tuple[LabelSelector | None, frozenset | None]],
                 pod: Pod) -> bool:
    """A pod matches every (selector, namespaces) of ``parts`` (none: False)."""
    return bool(parts) and all(_matches(selector, spaces, pod) for selector, spaces in parts)


def _matches(selector: LabelSelector | None, spaces: frozenset | None, pod: Pod) -> bool:
    """A pod counts for (selector, namespaces); a missing selector matches nothing."""
    if selector is None:
        return False
    return (spaces is ALL or pod.namespace in spaces) and selector.matches(pod.labels)

