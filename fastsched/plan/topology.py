"""Hard topology constraints between pending pods, as a packing sees them: caps per
node, kinds that may not share a node, and kinds split into per-zone shares (the
rules are in :mod:`fastsched.plan.provision`'s docstring, step 4)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cluster.cluster import Cluster
from ..model.labels import LabelSelector
from ..model.pod import Pod, PodAffinityTerm, TopologySpreadConstraint
from ..model.taints import tolerated
from ..plugins.topology import HOSTNAME, ZONE, with_label_keys
from .packing import Offer

__all__ = ["Topology"]


def _term_scope(term: PodAffinityTerm, pod: Pod) -> tuple[LabelSelector, frozenset | None] | None:
    """A required anti-affinity term's (selector, namespaces; None: all), or None when
    it selects nothing or needs namespace labels to resolve."""
    if term.label_selector is None:
        return None
    selector = with_label_keys(term.label_selector, pod, term.match_label_keys,
                      term.mismatch_label_keys)
    ns = term.namespace_selector
    if ns is not None and not ns.match_labels and not ns.match_expressions:
        return selector, None
    if ns is not None:
        return None
    return selector, frozenset(term.namespaces or (pod.namespace,))


def _selects(scope: tuple[LabelSelector, frozenset | None], pod: Pod) -> bool:
    selector, spaces = scope
    return (spaces is None or pod.namespace in spaces) and selector.matches(pod.labels)


def _includes(c: TopologySpreadConstraint, pod: Pod, labels: Any, taints: Any) -> bool:
    """Whether a node counts for ``pod``'s spread constraint ``c`` (its inclusion
    policies: node affinity and, when Honor, untolerated taints)."""
    if c.node_affinity_policy == "Honor":
        if any(labels.get(k) != v for k, v in pod.node_selector.items()):
            return False
        if pod.node_affinity is not None and not pod.node_affinity.required_matches(labels, ""):
            return False
    return c.node_taints_policy != "Honor" or all(
        t.effect == "PreferNoSchedule" or tolerated(t, pod.tolerations) for t in taints)


class Topology:
    """The packing's view of the kinds' hard topology constraints (see the module's
    docstring): ``groups`` (zone shares split off), their ``compat``, ``per_node``
    caps and ``conflicts``; ``kinds`` and the ``kind_*`` arrays, the relaxation the
    bound is taken on (``parents[group]``: its kind); ``restricted`` when the two
    differ."""

    def __init__(self, usable: list[list[Pod]], compat: np.ndarray, offers: list[Offer],
                 after: Cluster) -> None:
        self.offers, self.after = offers, after
        self.unplaceable: dict[str, str] = {}
        self.counts = {"anti_affinity": 0, "zone_spread": 0, "hostname_spread": 0,
                       "unmodelled": 0}
        samples = [g[0] for g in usable]
        anti = np.array([len(g) for g in usable], float)
        spread_cap = anti.copy()
        pairs: set[tuple[int, int]] = set()
        zone_rules: list[list[tuple[TopologySpreadConstraint, LabelSelector]]] = []
        for i, pod in enumerate(samples):
            others = [q for k, q in enumerate(samples) if k != i]
            loose = bool(pod.pod_affinity and pod.pod_affinity.required)
            aa = pod.pod_anti_affinity.required if pod.pod_anti_affinity else ()
            for term in aa:
                scope = _term_scope(term, pod)
                if term.topology_key != HOSTNAME or scope is None:
                    loose = True
                    continue
                if _selects(scope, pod):
                    anti[i] = 1
                # either pod's term keeps the other off its node: the pair is symmetric
                pairs.update((min(i, k), max(i, k)) for k, q in enumerate(samples)
                             if k != i and _selects(scope, q))
            rules = []
            for c in pod.topology_spread_constraints:
                if c.when_unsatisfiable != "DoNotSchedule" or c.label_selector is None:
                    continue
                selector = with_label_keys(c.label_selector, pod, c.match_label_keys)
                if not selector.match_labels and not selector.match_expressions:
                    continue        # an empty selector counts no pod: never violated
                scope = (selector, frozenset((pod.namespace,)))
                # another pending kind it counts would move the counts as it lands
                loose |= any(_selects(scope, q) for q in others)
                if c.topology_key == ZONE:
                    rules.append((c, selector))
                elif c.topology_key == HOSTNAME:
                    if _selects(scope, pod):
                        spread_cap[i] = min(spread_cap[i], c.max_skew)
                        self.counts["hostname_spread"] += len(usable[i])
                else:
                    loose = True
            zone_rules.append(rules)
            if anti[i] < len(usable[i]) or any(i in p for p in pairs):
                self.counts["anti_affinity"] += len(usable[i])
            if rules:
                self.counts["zone_spread"] += len(usable[i])
            if loose:
                self.counts["unmodelled"] += len(usable[i])
        # zone shares; a kind whose every pod breaks the skew leaves the packing
        groups, gcompat, parents, kinds, kept = [], [], [], [], []
        for i, kind in enumerate(usable):
            shares = self._deal(kind, compat[i], zone_rules[i]) if zone_rules[i] else [
                ("", kind)]
            placed = [p for _, share in shares for p in share]
            if not placed:
                continue
            kept.append(i)
            kinds.append(placed)
            for z, share in shares:
                groups.append(share)
                gcompat.append(compat[i] & np.array([o.zone == z for o in offers]) if z
                               else compat[i])
                parents.append(len(kinds) - 1)
        remap = {i: k for k, i in enumerate(kept)}
        self.groups, self.kinds, self.parents = groups, kinds, np.array(parents, int)
        self.compat = np.array(gcompat).reshape(len(groups), len(offers))
        self.kind_compat = compat[kept]
        self.kind_caps = anti[kept]
        self.kind_conflicts = sorted((remap[g], remap[h]) for g, h in pairs
                                     if g in remap and h in remap)
        self.per_node = np.minimum(self.kind_caps, spread_cap[kept])[self.parents] \
            if groups else np.zeros(0)
        # a conflict between kinds holds between all their zone shares
        enemy = set(self.kind_conflicts)
        self.conflicts = [(a, b) for a in range(len(groups)) for b in range(a + 1, len(groups))
                          if (self.parents[a], self.parents[b]) in enemy]
        self.restricted = any(zone_rules[i] for i in kept) or bool(
            (self.per_node < self.kind_caps[self.parents]).any())

    def _levels(self, pod: Pod, c: TopologySpreadConstraint,
                selector: LabelSelector) -> dict[str, int]:
        """Matching pods per zone over the constraint's domains: the zones of the
        existing nodes and of the offers its inclusion policies admit."""
        levels: dict[str, int] = {}
        for o in self.offers:
            if o.zone and _includes(c, pod, o.node_type.node_labels(o.zone), o.node_type.taints):
                levels.setdefault(o.zone, 0)
        for name in self.after.node_names:
            info = self.after.node(name)
            zone = info.labels.get(ZONE)
            if zone is None or not _includes(c, pod, info.labels, info.taints):
                continue
            levels[zone] = levels.get(zone, 0) + sum(
                1 for q in info.pods if q.namespace == pod.namespace and selector.matches(q.labels))
        return levels

    def _deal(self, kind: list[Pod], ok: np.ndarray,
              rules: list[tuple[TopologySpreadConstraint, LabelSelector]]) -> list:
        """The kind's pods dealt to zones one at a time (see the module's docstring):
        [(zone, pods)], zones by name; the pods left over are unplaceable."""
        pod = kind[0]
        existing_zones = {self.after.node_labels(n).get(ZONE) for n in self.after.node_names}
        existing_zones.discard(None)
        state = []
        for c, selector in rules:
            levels = self._levels(pod, c, selector)
            # below minDomains domains the minimum is 0; only the existing nodes'
            # zones are sure to be domains
            floor = c.min_domains is not None and len(existing_zones) < c.min_domains
            state.append((levels, int(selector.matches(pod.labels)), c.max_skew, floor))
        zones = sorted({self.offers[j].zone for j in np.flatnonzero(ok)} - {""})
        share = dict.fromkeys(zones, 0)
        dealt = 0
        for _ in range(len(kind)):
            best, best_key = None, None
            for z in zones:
                if all(z in lv and lv[z] + me - (0 if floor else min(lv.values())) <= skew
                       for lv, me, skew, floor in state):
                    key = sum(lv[z] for lv, *_ in state)
                    if best_key is None or key < best_key:
                        best, best_key = z, key
            if best is None:
                break
            share[best] += 1
            dealt += 1
            for lv, me, *_ in state:
                lv[best] += me
        for p in kind[dealt:]:
            self.unplaceable[p.key] = (
                "pod topology spread: every zone the catalog offers would exceed maxSkew "
                f"({dealt} of {len(kind)} pods of the kind placed)")
        out, at = [], 0
        for z in zones:
            if share[z]:
                out.append((z, kind[at:at + share[z]]))
                at += share[z]
        return out
