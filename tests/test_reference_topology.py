"""PodTopologySpread and InterPodAffinity in the plain reference (tests/_reference.py).

Spec §3.8, §3.9, §5.4, §5.5, §7, §9. Every expectation is computed by hand in the
comment next to it. Scores use ln(k) = ln2 .693, ln3 1.099, ln4 1.386, ln5 1.609,
ln6 1.792 (the weight of a topology with k − 2 domains).

Profiles here are stand-ins (``SimpleNamespace``): the reference only reads attributes.
"""

from types import SimpleNamespace

import _reference as ref
import pytest

from fastsched import Cluster, Pod
from fastsched.model.labels import LabelSelector
from fastsched.model.pod import (
    PodAffinity,
    PodAffinityTerm,
    TopologySpreadConstraint,
    WeightedPodAffinityTerm,
)
from fastsched.model.service import Service
from fastsched.profile.profile import FitArgs

SPREAD, AFFINITY = "PodTopologySpread", "InterPodAffinity"
HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"

OK = None
SKEW = (ref.UNSCHEDULABLE, ref.REASON_SPREAD)
NO_LABEL = (ref.UNRESOLVABLE, ref.REASON_SPREAD_MISSING_LABEL)
NO_AFFINITY = (ref.UNRESOLVABLE, ref.REASON_POD_AFFINITY)
ANTI = (ref.UNSCHEDULABLE, ref.REASON_POD_ANTI_AFFINITY)
EXISTING_ANTI = (ref.UNSCHEDULABLE, ref.REASON_EXISTING_ANTI_AFFINITY)


def profile(filters=(), scores=(), **args):
    """A stand-in profile with the attributes the reference reads."""
    base = dict(filters=tuple(filters), scores=tuple(scores), fit=FitArgs(),
                balanced_resources=(("cpu", 1), ("memory", 1)), added_affinity=None,
                percentage_of_nodes_to_score=None, hard_pod_affinity_weight=1,
                ignore_preferred_terms_of_existing_pods=False, spread_defaulting="System",
                default_spread_constraints=())
    base.update(args)
    return SimpleNamespace(**base)


def cluster(nodes, running=()):
    """``nodes``: (name, labels[, add_node keywords]); ``running``: (node, labels[, Pod
    keywords]) bound as pods e0, e1, … (force: resources do not matter here)."""
    c = Cluster()
    for name, labels, *extra in nodes:
        c.add_node(name, {"cpu": 4000, "memory": 8 << 30}, labels=labels,
                   **(extra[0] if extra else {}))
    for i, (node, labels, *extra) in enumerate(running):
        c.bind(Pod(f"e{i}", labels=labels, **(extra[0] if extra else {})), node, force=True)
    return c


def sel(**labels):
    return LabelSelector(match_labels=labels)


def spread(max_skew=1, key="zone", when="DoNotSchedule", selector=None, **kw):
    """A constraint; selector app=web unless given (``{}`` for an empty one, ``"none"``
    for a missing one)."""
    if selector is None:
        selector = sel(app="web")
    elif selector == "none":
        selector = None
    elif isinstance(selector, dict):
        selector = sel(**selector)
    return TopologySpreadConstraint(max_skew, key, when, selector, **kw)


def term(key, **labels):
    """A pod affinity term on ``key`` selecting ``labels`` (keywords namespaces=,
    namespace_selector=, match_label_keys=, mismatch_label_keys= pass through)."""
    options = {k: labels.pop(k) for k in ("namespaces", "namespace_selector",
                                          "match_label_keys", "mismatch_label_keys")
               if k in labels}
    return PodAffinityTerm(key, sel(**labels), **options)


def required(*terms):
    return PodAffinity(required=terms)


def preferred(*weighted):
    return PodAffinity(preferred=tuple(WeightedPodAffinityTerm(w, t) for w, t in weighted))


def statuses(c, pod, prof, **kw):
    """node → (code, first reason) or None, for every node."""
    out = {}
    for name in c.node_names:
        status = ref.filter_status(c, pod, name, prof, **kw)
        out[name] = None if status is None else (status[1], status[2][0])
    return out


# Four nodes in three zones (label "zone"); hostname labels come from add_node.
ZONED = [("a1", {"zone": "a"}), ("a2", {"zone": "a"}), ("b1", {"zone": "b"}),
         ("c1", {"zone": "c"})]
WEB = {"app": "web"}
RACKED = [("a1", {"zone": "a", "rack": "r1"}), ("a3", {"zone": "a"}),
          ("b1", {"zone": "b", "rack": "r2"}), ("c1", {"zone": "c"})]


# -- PodTopologySpread filter (§3.8) -----------------------------------------------------

SPREAD_FILTER_CASES = [
    # Counts a 2, b 1, c 0 → globalMin 0. selfMatch 1. maxSkew 1: a 2+1-0 = 3, b 1+1 = 2
    # fail; c 0+1 = 1 passes.
    ("skew 1", ZONED, [("a1", WEB), ("a2", WEB), ("b1", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1)]),
     {"a1": SKEW, "a2": SKEW, "b1": SKEW, "c1": OK}),
    # Same counts, maxSkew 2: a 3 > 2 fails; b 2 == maxSkew passes (the boundary).
    ("skew 2 boundary", ZONED, [("a1", WEB), ("a2", WEB), ("b1", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(2)]),
     {"a1": SKEW, "a2": SKEW, "b1": OK, "c1": OK}),
    # selfMatch 0 (the pod is app=api): a 2 - 0 = 2 > 1 fails; b 1 passes.
    ("selfMatch 0", ZONED, [("a1", WEB), ("a2", WEB), ("b1", WEB)],
     dict(labels={"app": "api"}, topology_spread_constraints=[spread(1)]),
     {"a1": SKEW, "a2": SKEW, "b1": OK, "c1": OK}),
    # Counts a 2, b 1, c 1 → globalMin 1: a 2+1-1 = 2 fails, b and c 1+1-1 = 1 pass.
    ("globalMin 1", ZONED, [("a1", WEB), ("a2", WEB), ("b1", WEB), ("c1", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1)]),
     {"a1": SKEW, "a2": SKEW, "b1": OK, "c1": OK}),
    # minDomains 3 = the 3 domains: globalMin stays 1, as above.
    ("minDomains met", ZONED, [("a1", WEB), ("a2", WEB), ("b1", WEB), ("c1", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1, min_domains=3)]),
     {"a1": SKEW, "a2": SKEW, "b1": OK, "c1": OK}),
    # minDomains 4 > 3 domains: globalMin 0, so b and c give 1+1-0 = 2 > 1 too.
    ("minDomains unmet", ZONED, [("a1", WEB), ("a2", WEB), ("b1", WEB), ("c1", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1, min_domains=4)]),
     {"a1": SKEW, "a2": SKEW, "b1": SKEW, "c1": SKEW}),
    # x1 has no zone: U&U missing label, and its 3 web pods are not counted (a node must
    # carry the keys to be eligible): a 1, b 1, c 1 → min 1 → everyone else 1+1-1 = 1.
    ("missing label", ZONED + [("x1", {})],
     [("a1", WEB), ("b1", WEB), ("c1", WEB), ("x1", WEB), ("x1", WEB), ("x1", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1)]),
     {"a1": OK, "a2": OK, "b1": OK, "c1": OK, "x1": NO_LABEL}),
    # No node has "rack", so no node is eligible and there are no domains: globalMin 0
    # (minDomains defaults to 1), zone gives 0+1-0 = 1 everywhere, then rack is missing.
    ("no eligible node", ZONED, [("a1", WEB), ("a2", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1), spread(1, key="rack")]),
     dict.fromkeys(["a1", "a2", "b1", "c1"], NO_LABEL)),
    # Constraints in order, the first failure wins. Eligible (zone and rack): a1, b1.
    # zone a 2, b 0 → min 0; rack r1 2, r2 0 → min 0. a3 (zone a, no rack) fails zone by
    # skew (2+1 = 3) before its missing rack is looked at; c1 passes zone (c is no
    # domain: 0+1-0 = 1) and then lacks rack.
    ("first failure wins", RACKED, [("a1", WEB), ("a1", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1), spread(1, key="rack")]),
     {"a1": SKEW, "a3": SKEW, "b1": OK, "c1": NO_LABEL}),
    # The other order: a3 now stops at the missing rack.
    ("first failure wins, reversed", RACKED, [("a1", WEB), ("a1", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1, key="rack"), spread(1)]),
     {"a1": SKEW, "a3": NO_LABEL, "b1": OK, "c1": NO_LABEL}),
    # Pods in another namespace do not count: a 0 (the web pods are in "other"), min 0,
    # everything 0+1 = 1.
    ("other namespace", ZONED, [("a1", WEB, {"namespace": "other"}),
                                ("a2", WEB, {"namespace": "other"})],
     dict(labels=WEB, topology_spread_constraints=[spread(1)]),
     {"a1": OK, "a2": OK, "b1": OK, "c1": OK}),
    # nodeAffinityPolicy Honor (default): the pod wants disk=ssd; a2 is hdd, so its pod is
    # not counted: a 1, b 1, c 1 → min 1 → a 1+1-1 = 1 passes. (a2 itself passes this
    # filter: NodeAffinity is not in the profile.)
    ("affinity policy Honor", [("a1", {"zone": "a", "disk": "ssd"}),
                               ("a2", {"zone": "a", "disk": "hdd"}),
                               ("b1", {"zone": "b", "disk": "ssd"}),
                               ("c1", {"zone": "c", "disk": "ssd"})],
     [("a1", WEB), ("a2", WEB), ("b1", WEB), ("c1", WEB)],
     dict(labels=WEB, node_selector={"disk": "ssd"}, topology_spread_constraints=[spread(1)]),
     {"a1": OK, "a2": OK, "b1": OK, "c1": OK}),
    # nodeAffinityPolicy Ignore: a2 counts, a 2 → 2+1-1 = 2 fails on both a nodes.
    ("affinity policy Ignore", [("a1", {"zone": "a", "disk": "ssd"}),
                                ("a2", {"zone": "a", "disk": "hdd"}),
                                ("b1", {"zone": "b", "disk": "ssd"}),
                                ("c1", {"zone": "c", "disk": "ssd"})],
     [("a1", WEB), ("a2", WEB), ("b1", WEB), ("c1", WEB)],
     dict(labels=WEB, node_selector={"disk": "ssd"},
          topology_spread_constraints=[spread(1, node_affinity_policy="Ignore")]),
     {"a1": SKEW, "a2": SKEW, "b1": OK, "c1": OK}),
    # Honor drops a whole domain: c1 is hdd, so zone c (0 pods) is no domain; a 1, b 1 →
    # min 1 → a and b pass with 1+1-1 = 1; c1's own domain counts 0 → 0+1-1 = 0.
    ("Honor drops a domain", [("a1", {"zone": "a", "disk": "ssd"}),
                              ("b1", {"zone": "b", "disk": "ssd"}),
                              ("c1", {"zone": "c", "disk": "hdd"})],
     [("a1", WEB), ("b1", WEB)],
     dict(labels=WEB, node_selector={"disk": "ssd"}, topology_spread_constraints=[spread(1)]),
     {"a1": OK, "b1": OK, "c1": OK}),
    # ... while with Ignore zone c (0) is the minimum: a and b 1+1-0 = 2 fail.
    ("Ignore keeps the domain", [("a1", {"zone": "a", "disk": "ssd"}),
                                 ("b1", {"zone": "b", "disk": "ssd"}),
                                 ("c1", {"zone": "c", "disk": "hdd"})],
     [("a1", WEB), ("b1", WEB)],
     dict(labels=WEB, node_selector={"disk": "ssd"},
          topology_spread_constraints=[spread(1, node_affinity_policy="Ignore")]),
     {"a1": SKEW, "b1": SKEW, "c1": OK}),
    # nodeTaintsPolicy Ignore (default): b1's NoSchedule taint is ignored, zone b (0) is
    # the minimum: a 1+1-0 = 2 fails, c 1+1-0 = 2 fails.
    ("taints policy Ignore", [("a1", {"zone": "a"}),
                              ("b1", {"zone": "b"}, {"taints": [{"key": "gpu"}]}),
                              ("c1", {"zone": "c"})],
     [("a1", WEB), ("c1", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1)]),
     {"a1": SKEW, "b1": OK, "c1": SKEW}),
    # nodeTaintsPolicy Honor: the pod does not tolerate gpu, b is no domain; a 1, c 1 →
    # min 1 → 1+1-1 = 1 passes; b1 (no domain, count 0) 0+1-1 = 0.
    ("taints policy Honor", [("a1", {"zone": "a"}),
                             ("b1", {"zone": "b"}, {"taints": [{"key": "gpu"}]}),
                             ("c1", {"zone": "c"})],
     [("a1", WEB), ("c1", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1, node_taints_policy="Honor")]),
     {"a1": OK, "b1": OK, "c1": OK}),
    # Honor with a toleration: b counts again → as with Ignore.
    ("taints policy Honor, tolerated", [("a1", {"zone": "a"}),
                                        ("b1", {"zone": "b"}, {"taints": [{"key": "gpu"}]}),
                                        ("c1", {"zone": "c"})],
     [("a1", WEB), ("c1", WEB)],
     dict(labels=WEB, tolerations=[{"key": "gpu", "operator": "Exists"}],
          topology_spread_constraints=[spread(1, node_taints_policy="Honor")]),
     {"a1": SKEW, "b1": OK, "c1": SKEW}),
    # matchLabelKeys [version]: the selector becomes app=web AND version In [v2]. a has two
    # v1 pods → 0, b one v2 pod → 1, c 0: a 0+1 = 1 passes, b 1+1 = 2 fails.
    ("matchLabelKeys", ZONED,
     [("a1", {"app": "web", "version": "v1"}), ("a2", {"app": "web", "version": "v1"}),
      ("b1", {"app": "web", "version": "v2"})],
     dict(labels={"app": "web", "version": "v2"},
          topology_spread_constraints=[spread(1, match_label_keys=("version",))]),
     {"a1": OK, "a2": OK, "b1": SKEW, "c1": OK}),
    # A key the pod lacks is skipped: plain app=web → a 2, b 1, c 0 as in "skew 1".
    ("matchLabelKeys absent key", ZONED,
     [("a1", {"app": "web", "version": "v1"}), ("a2", {"app": "web", "version": "v1"}),
      ("b1", {"app": "web", "version": "v2"})],
     dict(labels=WEB, topology_spread_constraints=[spread(1, match_label_keys=("version",))]),
     {"a1": SKEW, "a2": SKEW, "b1": SKEW, "c1": OK}),
    # No labelSelector: matches nothing (counts 0, selfMatch 0), matchLabelKeys ignored.
    ("no selector", ZONED, [("a1", WEB), ("a2", WEB)],
     dict(labels=WEB, topology_spread_constraints=[
         spread(1, selector="none", match_label_keys=("app",))]),
     {"a1": OK, "a2": OK, "b1": OK, "c1": OK}),
    # An empty labelSelector {}: upstream counts nothing (countPodsMatchSelector returns 0
    # for an empty selector) yet selfMatch is 1: skew 0+1-0 = 1 everywhere.
    ("empty selector counts nothing", ZONED, [("a1", WEB), ("a2", WEB), ("a2", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1, selector={})]),
     {"a1": OK, "a2": OK, "b1": OK, "c1": OK}),
    # Only DoNotSchedule constraints filter.
    ("soft constraints do not filter", ZONED + [("x1", {})], [("a1", WEB), ("a2", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1, when="ScheduleAnyway")]),
     {"a1": OK, "a2": OK, "b1": OK, "c1": OK, "x1": OK}),
    # Hostname: per-node domains a1 2, a2 0, b1 1, c1 0 → min 0: a1 3 and b1 2 fail.
    ("hostname", ZONED, [("a1", WEB), ("a1", WEB), ("b1", WEB)],
     dict(labels=WEB, topology_spread_constraints=[spread(1, key=HOST)]),
     {"a1": SKEW, "a2": OK, "b1": SKEW, "c1": OK}),
]


@pytest.mark.parametrize("nodes, running, pod_kw, expected",
                         [c[1:] for c in SPREAD_FILTER_CASES],
                         ids=[c[0] for c in SPREAD_FILTER_CASES])
def test_spread_filter(nodes, running, pod_kw, expected):
    c = cluster(nodes, running)
    assert statuses(c, Pod("p", **pod_kw), profile([SPREAD])) == expected


def test_spread_filter_list_defaults_use_the_service_selector():
    # List defaulting with a hard default constraint: a pod without constraints gets
    # zone maxSkew 1 with the selector of the Service selecting it (app=web). Counts
    # a 2, b 0, c 0 → a fails. No Service → the selector is empty → no constraint.
    c = cluster(ZONED, [("a1", WEB), ("a2", WEB)])
    prof = profile([SPREAD], spread_defaulting="List",
                   default_spread_constraints=(TopologySpreadConstraint(1, "zone"),))
    pod = Pod("p", labels=WEB)
    web = Service("web", selector=WEB)
    assert statuses(c, pod, prof, services=[web]) == {"a1": SKEW, "a2": SKEW, "b1": OK,
                                                       "c1": OK}
    assert statuses(c, pod, prof) == dict.fromkeys(c.node_names, OK)
    assert ref.feasible(c, pod, prof, services=[web]) == ["b1", "c1"]
    # System defaults are all ScheduleAnyway: they never filter.
    assert ref.feasible(c, pod, profile([SPREAD]), services=[web]) == list(c.node_names)


# -- PodTopologySpread score (§5.4) ------------------------------------------------------

def soft(max_skew=1, key="zone", **kw):
    return spread(max_skew, key, "ScheduleAnyway", **kw)


# Pods: a1 2 web, a2 1, b1 1, c1 0 → zone counts a 3, b 1, c 0.
SCORED = [("a1", WEB), ("a1", WEB), ("a2", WEB), ("b1", WEB)]

SPREAD_SCORE_CASES = [
    # Zone, maxSkew 1, 3 zones → w = ln5 = 1.609. raw a 3w = 4.83 → 5, b w → 2, c 0.
    # min 0, max 5: 100(5+0-5)/5 = 0, 100(5-2)/5 = 60, 100(5-0)/5 = 100.
    ("zone", ZONED, SCORED, [soft(1)], None, [0, 0, 60, 100]),
    # maxSkew 3 adds 2 to every raw: a 6.83 → 7, b 3.61 → 4, c 2. min 2, max 7:
    # 100(9-7)/7 = 28, 100(9-4)/7 = 71, 100(9-2)/7 = 100.
    ("zone maxSkew 3", ZONED, SCORED, [soft(3)], None, [28, 28, 71, 100]),
    # Hostname, maxSkew 2, 4 scored nodes → w = ln6 = 1.792: a1 2w+1 = 4.58 → 5,
    # a2 w+1 = 2.79 → 3, b1 3, c1 1. min 1, max 5: 100·1/5 = 20, 100·3/5 = 60, 60, 100.
    ("hostname", ZONED, SCORED, [soft(2, key=HOST)], None, [20, 60, 60, 100]),
    # Both, summed before rounding: a1 4.83+4.58 = 9.41 → 9, a2 4.83+2.79 = 7.62 → 8,
    # b1 1.61+2.79 = 4.40 → 4, c1 0+1 = 1. min 1, max 9: 100(10-9)/9 = 11,
    # 100·2/9 = 22, 100·6/9 = 66, 100.
    ("zone and hostname", ZONED, SCORED, [soft(1), soft(2, key=HOST)], None,
     [11, 22, 66, 100]),
    # Size counts the feasible nodes only (a1, b1: 2 zones → ln4 = 1.386) while counts
    # come from every node: a 3·1.386 = 4.16 → 4, b 1.39 → 1. min 1, max 4:
    # 100(5-4)/4 = 25, 100(5-1)/4 = 100.
    ("size from feasible nodes", ZONED, SCORED, [soft(1)], ["a1", "b1"], [25, 100]),
    # x1 (no zone) is ignored → 0, and neither sizes nor counts see it (its 5 pods
    # change nothing): as in "zone".
    ("ignored node", ZONED + [("x1", {})], SCORED + [("x1", WEB)] * 5, [soft(1)], None,
     [0, 0, 60, 100, 0]),
    # Ignored nodes leave the hostname size too: 5 scored nodes, x1 ignored → size 4,
    # w = ln6, so the numbers of "zone and hostname" (ln7 would give a1 9.72 → 10).
    ("hostname size without ignored", ZONED + [("x1", {})], SCORED + [("x1", WEB)] * 5,
     [soft(1), soft(2, key=HOST)], None, [11, 22, 66, 100, 0]),
    # No matching pod anywhere: every raw is maxSkew-1 = 0 → max 0 → 100 for all
    # non-ignored nodes, 0 for the ignored x1.
    ("max 0", ZONED + [("x1", {})], [("a1", {"app": "db"})], [soft(1)], None,
     [100, 100, 100, 100, 0]),
    # Hard constraints only → PreScore Skip → 0 everywhere (no system defaults either:
    # the pod has constraints).
    ("no soft constraint", ZONED, SCORED, [spread(1)], None, [0, 0, 0, 0]),
]


@pytest.mark.parametrize("nodes, running, constraints, scored, expected",
                         [c[1:] for c in SPREAD_SCORE_CASES],
                         ids=[c[0] for c in SPREAD_SCORE_CASES])
def test_spread_score(nodes, running, constraints, scored, expected):
    c = cluster(nodes, running)
    pod = Pod("p", labels=WEB, topology_spread_constraints=constraints)
    names = list(c.node_names) if scored is None else scored
    assert ref.score_plugins(c, pod, profile(scores=[(SPREAD, 2)]), names) == {SPREAD: expected}


def test_spread_score_inclusion_policy_applies_to_domain_counts():
    # The pod wants disk=ssd; a2 is hdd. Honor: zone a counts only a1's 2 pods:
    # a 2w = 3.22 → 3 (w = ln5), b 1.61 → 2, c 0. min 0, max 3: 100(3-3)/3 = 0,
    # 100(3-2)/3 = 33, 100. (Scored: a1, b1, c1; a2 is not feasible in practice.)
    nodes = [("a1", {"zone": "a", "disk": "ssd"}), ("a2", {"zone": "a", "disk": "hdd"}),
             ("b1", {"zone": "b", "disk": "ssd"}), ("c1", {"zone": "c", "disk": "ssd"})]
    c = cluster(nodes, SCORED)
    pod = Pod("p", labels=WEB, node_selector={"disk": "ssd"},
              topology_spread_constraints=[soft(1)])
    prof = profile(scores=[(SPREAD, 2)])
    assert ref.score_plugins(c, pod, prof, ["a1", "b1", "c1"]) == {SPREAD: [0, 33, 100]}
    # Ignore: a counts 3 → 4.83 → 5: 100(5-5)/5 = 0, 100(5-2)/5 = 60, 100.
    pod = Pod("p", labels=WEB, node_selector={"disk": "ssd"},
              topology_spread_constraints=[soft(1, node_affinity_policy="Ignore")])
    assert ref.score_plugins(c, pod, prof, ["a1", "b1", "c1"]) == {SPREAD: [0, 60, 100]}


# System defaults: hostname maxSkew 3 and topology.kubernetes.io/zone maxSkew 5.
SYS_NODES = [("a1", {ZONE: "a"}), ("a2", {ZONE: "a"}), ("b1", {ZONE: "b"})]


def test_spread_system_defaults_with_a_service():
    # One web pod on a1. hostname: 3 nodes → w_h = ln5 = 1.609; zone: 2 values →
    # w_z = ln4 = 1.386.
    #   a1: (1·w_h + 2) + (1·w_z + 4) = 3.609 + 5.386 = 8.996 → 9
    #   a2: (0 + 2) + (1·w_z + 4) = 7.386 → 7
    #   b1: 2 + 4 = 6
    # min 6, max 9: 100(15-9)/9 = 66, 100(15-7)/9 = 88, 100(15-6)/9 = 100.
    c = cluster(SYS_NODES, [("a1", WEB)])
    pod = Pod("p", labels=WEB)
    prof = profile(scores=[(SPREAD, 2)])
    web = Service("web", selector=WEB)
    assert ref.score_plugins(c, pod, prof, list(c.node_names), services=[web]) == \
        {SPREAD: [66, 88, 100]}
    # The owner's selector gives the same default selector.
    owned = Pod("p", labels=WEB, owner_selector=sel(app="web"))
    assert ref.score_plugins(c, owned, prof, list(c.node_names)) == {SPREAD: [66, 88, 100]}
    # No Service, no owner → empty selector → no constraints → PreScore Skip → 0.
    assert ref.score_plugins(c, pod, prof, list(c.node_names)) == {SPREAD: [0, 0, 0]}
    # A Service of another namespace, or one that does not select the pod: also 0.
    others = [Service("web", namespace="other", selector=WEB),
              Service("db", selector={"app": "db"})]
    assert ref.score_plugins(c, pod, prof, list(c.node_names), services=others) == \
        {SPREAD: [0, 0, 0]}
    # Owner ANDed with the Service: app=web AND tier In [front]; the pod on a1 lacks
    # tier → counts 0 → every raw 2 + 4 = 6 → 100.
    both = Pod("p", labels={"app": "web", "tier": "front"}, owner_selector=sel(tier="front"))
    assert ref.score_plugins(c, both, prof, list(c.node_names), services=[web]) == \
        {SPREAD: [100, 100, 100]}


def test_spread_system_defaults_do_not_ignore_nodes_without_zone():
    # x1 has no zone: not ignored; it reads zone as "", which is a domain of its own
    # for the size (2 values: "a" and "") — w_z = ln4 = 1.386, w_h = ln4 (2 nodes).
    #   a1: (1·1.386 + 2) + (1·1.386 + 4) = 8.773 → 9
    #   x1: (1·1.386 + 2), no zone term     = 3.386 → 3
    # min 3, max 9: 100(12-9)/9 = 33, 100(12-3)/9 = 100. (Without the "" domain w_z
    # would be ln3 and a1 8.485 → 8, giving 37.)
    c = cluster([("a1", {ZONE: "a"}), ("x1", {})], [("a1", WEB), ("x1", WEB)])
    prof = profile(scores=[(SPREAD, 2)])
    assert ref.score_plugins(c, Pod("p", labels=WEB), prof, ["a1", "x1"],
                             services=[Service("web", selector=WEB)]) == {SPREAD: [33, 100]}


def test_spread_list_defaults_require_the_keys():
    # List defaulting: soft zone maxSkew 1 from the profile, keys required: x1 is
    # ignored (0). a 1 pod → w = ln3 = 1.099 (1 zone) → 1; min 1 = max 1 →
    # 100(1+1-1)/1 = 100.
    c = cluster([("a1", {"zone": "a"}), ("x1", {})], [("a1", WEB)])
    prof = profile(scores=[(SPREAD, 2)], spread_defaulting="List",
                   default_spread_constraints=(TopologySpreadConstraint(
                       1, "zone", "ScheduleAnyway"),))
    assert ref.score_plugins(c, Pod("p", labels=WEB), prof, ["a1", "x1"],
                             services=[Service("web", selector=WEB)]) == {SPREAD: [100, 0]}


# -- InterPodAffinity filter (§3.9) ------------------------------------------------------

DB = {"app": "db"}
CACHE = {"app": "cache"}

AFFINITY_FILTER_CASES = [
    # A db pod on a1; affinity to app=db per zone: zone a passes, b and c are U&U.
    ("affinity zone", ZONED, [("a1", DB)],
     dict(labels=WEB, pod_affinity=required(term("zone", app="db"))),
     {"a1": OK, "a2": OK, "b1": NO_AFFINITY, "c1": NO_AFFINITY}),
    # Per hostname: only a1.
    ("affinity hostname", ZONED, [("a1", DB)],
     dict(labels=WEB, pod_affinity=required(term(HOST, app="db"))),
     {"a1": OK, "a2": NO_AFFINITY, "b1": NO_AFFINITY, "c1": NO_AFFINITY}),
    # No pod matches and the pod (app=web) does not match its own term: U&U everywhere.
    ("affinity unsatisfied", ZONED, [("a1", DB)],
     dict(labels=WEB, pod_affinity=required(term("zone", app="cache"))),
     dict.fromkeys(["a1", "a2", "b1", "c1"], NO_AFFINITY)),
    # The first cache pod has affinity to cache pods: none exist and it matches its own
    # term → allowed on every node that has the key; x1 (no zone) still fails.
    ("first of its group", ZONED + [("x1", {})], [("a1", DB)],
     dict(labels=CACHE, pod_affinity=required(term("zone", app="cache"))),
     {"a1": OK, "a2": OK, "b1": OK, "c1": OK, "x1": NO_AFFINITY}),
    # Once a cache pod runs in zone b, the rule no longer applies: only zone b.
    ("second of its group", ZONED, [("b1", CACHE)],
     dict(labels=CACHE, pod_affinity=required(term("zone", app="cache"))),
     {"a1": NO_AFFINITY, "a2": NO_AFFINITY, "b1": OK, "c1": NO_AFFINITY}),
    # The only cache pod is on x1, which has no zone: it adds nothing to the counts,
    # which stay empty, so the first-of-group rule still lets every zoned node pass.
    ("match on a keyless node", ZONED + [("x1", {})], [("x1", CACHE)],
     dict(labels=CACHE, pod_affinity=required(term("zone", app="cache"))),
     {"a1": OK, "a2": OK, "b1": OK, "c1": OK, "x1": NO_AFFINITY}),
    # Two terms must be matched by the same pod: db on a1 (no tier) and a tier=backend
    # pod on b1 match one term each → no count; the pod is web → fails everywhere.
    ("all terms by one pod", ZONED, [("a1", DB), ("b1", {"tier": "backend"})],
     dict(labels=WEB, pod_affinity=required(term("zone", app="db"),
                                            term("zone", tier="backend"))),
     dict.fromkeys(["a1", "a2", "b1", "c1"], NO_AFFINITY)),
    # ... a pod with both labels in zone b satisfies both terms there.
    ("all terms, satisfied", ZONED, [("a1", DB), ("b1", {"app": "db", "tier": "backend"})],
     dict(labels=WEB, pod_affinity=required(term("zone", app="db"),
                                            term("zone", tier="backend"))),
     {"a1": NO_AFFINITY, "a2": NO_AFFINITY, "b1": OK, "c1": NO_AFFINITY}),
    # Anti-affinity to web per hostname: a web pod on a1 → a1 Unsched.
    ("anti hostname", ZONED, [("a1", WEB)],
     dict(labels=WEB, pod_anti_affinity=required(term(HOST, app="web"))),
     {"a1": ANTI, "a2": OK, "b1": OK, "c1": OK}),
    # Per zone: a1 and a2 fail; x1 lacks the key → passes.
    ("anti zone", ZONED + [("x1", {})], [("a1", WEB)],
     dict(labels=WEB, pod_anti_affinity=required(term("zone", app="web"))),
     {"a1": ANTI, "a2": ANTI, "b1": OK, "c1": OK, "x1": OK}),
    # An existing pod on b1 (app=guard) refuses web pods in its zone: b1 fails for a
    # web pod; x1 has no zone → passes.
    ("existing anti", ZONED + [("x1", {})],
     [("b1", {"app": "guard"}, {"pod_anti_affinity": required(term("zone", app="web"))})],
     dict(labels=WEB),
     {"a1": OK, "a2": OK, "b1": EXISTING_ANTI, "c1": OK, "x1": OK}),
    # ... and does not mind an api pod.
    ("existing anti, no match", ZONED,
     [("b1", {"app": "guard"}, {"pod_anti_affinity": required(term("zone", app="web"))})],
     dict(labels={"app": "api"}), dict.fromkeys(["a1", "a2", "b1", "c1"], OK)),
    # An existing pod's term on a key its node lacks records nothing: passes everywhere.
    ("existing anti, keyless node", ZONED + [("x1", {})],
     [("x1", {"app": "guard"}, {"pod_anti_affinity": required(term("zone", app="web"))})],
     dict(labels=WEB), dict.fromkeys(["a1", "a2", "b1", "c1", "x1"], OK)),
    # Order: c1 fails affinity (U&U) before anti-affinity; a1 passes affinity (db in zone
    # a) and fails anti-affinity (web on a1); a2 passes both.
    ("affinity before anti-affinity", ZONED, [("a1", DB), ("a1", WEB), ("c1", WEB)],
     dict(labels=WEB, pod_affinity=required(term("zone", app="db")),
          pod_anti_affinity=required(term(HOST, app="web"))),
     {"a1": ANTI, "a2": OK, "b1": NO_AFFINITY, "c1": NO_AFFINITY}),
    # matchLabelKeys [version] on the incoming pod's anti-affinity (selector app=web AND
    # version In [v2]): the v1 pod on a1 does not count, the v2 pod on b1 does.
    ("anti matchLabelKeys", ZONED,
     [("a1", {"app": "web", "version": "v1"}), ("b1", {"app": "web", "version": "v2"})],
     dict(labels={"app": "web", "version": "v2"},
          pod_anti_affinity=required(term(HOST, app="web", match_label_keys=("version",)))),
     {"a1": OK, "a2": OK, "b1": ANTI, "c1": OK}),
    # mismatchLabelKeys [tenant]: affinity to db pods of another tenant (tenant NotIn [x]).
    # a1's db is tenant x → no; b1's is tenant y → zone b only.
    ("affinity mismatchLabelKeys", ZONED,
     [("a1", {"app": "db", "tenant": "x"}), ("b1", {"app": "db", "tenant": "y"})],
     dict(labels={"app": "web", "tenant": "x"},
          pod_affinity=required(term("zone", app="db", mismatch_label_keys=("tenant",)))),
     {"a1": NO_AFFINITY, "a2": NO_AFFINITY, "b1": OK, "c1": NO_AFFINITY}),
    # An existing pod's matchLabelKeys read its own labels (version v1): it refuses
    # web pods of version v1 only, so a v2 pod is fine on b1.
    ("existing matchLabelKeys", ZONED,
     [("b1", {"app": "guard", "version": "v1"}, {"pod_anti_affinity": required(
         term("zone", app="web", match_label_keys=("version",)))})],
     dict(labels={"app": "web", "version": "v2"}), dict.fromkeys(["a1", "a2", "b1", "c1"], OK)),
]


@pytest.mark.parametrize("nodes, running, pod_kw, expected",
                         [c[1:] for c in AFFINITY_FILTER_CASES],
                         ids=[c[0] for c in AFFINITY_FILTER_CASES])
def test_affinity_filter(nodes, running, pod_kw, expected):
    c = cluster(nodes, running)
    assert statuses(c, Pod("p", **pod_kw), profile([AFFINITY])) == expected


NS_RUNNING = [("a1", DB, {"namespace": "other"})]     # the only db pod is in "other"

NAMESPACE_CASES = [
    # No namespaces, no selector → the pod's own namespace (default): no db pod there.
    ("own namespace", term("zone", app="db"), None, NO_AFFINITY),
    # Listed namespace.
    ("listed", term("zone", app="db", namespaces=("other",)), None, OK),
    # Empty namespace selector → every namespace.
    ("empty selector", term("zone", app="db", namespace_selector=LabelSelector()), None, OK),
    # team=x selects "other" through its labels ...
    ("selector matches", term("zone", app="db", namespace_selector=sel(team="x")),
     {"other": {"team": "x"}}, OK),
    # ... and nothing when the namespace has no labels.
    ("selector, no labels", term("zone", app="db", namespace_selector=sel(team="x")),
     None, NO_AFFINITY),
    # Listed namespaces and selected ones are a union: "default" listed, "other" selected.
    ("union", term("zone", app="db", namespaces=("default",),
                   namespace_selector=sel(team="x")), {"other": {"team": "x"}}, OK),
]


@pytest.mark.parametrize("affinity_term, namespace_labels, on_a2",
                         [c[1:] for c in NAMESPACE_CASES], ids=[c[0] for c in NAMESPACE_CASES])
def test_affinity_namespaces(affinity_term, namespace_labels, on_a2):
    c = cluster(ZONED, NS_RUNNING)
    pod = Pod("p", labels=WEB, pod_affinity=required(affinity_term))
    got = statuses(c, pod, profile([AFFINITY]), namespace_labels=namespace_labels)
    assert got["a2"] == on_a2 and got["b1"] == NO_AFFINITY


def test_existing_pods_namespace_selector_reads_the_incoming_pods_namespace_labels():
    # The guard in namespace "ops" refuses web pods of namespaces labelled env=prod.
    guard = ("b1", {"app": "guard"}, {"namespace": "ops", "pod_anti_affinity": required(
        term("zone", app="web", namespace_selector=sel(env="prod")))})
    c = cluster(ZONED, [guard])
    pod = Pod("p", namespace="shop", labels=WEB)
    prod = {"shop": {"env": "prod"}}
    assert statuses(c, pod, profile([AFFINITY]), namespace_labels=prod)["b1"] == EXISTING_ANTI
    assert statuses(c, pod, profile([AFFINITY]))["b1"] == OK
    # Without a selector the term covers only the guard's own namespace "ops".
    guard_own = ("b1", {"app": "guard"}, {"namespace": "ops", "pod_anti_affinity": required(
        term("zone", app="web"))})
    c = cluster(ZONED, [guard_own])
    assert statuses(c, pod, profile([AFFINITY]))["b1"] == OK
    assert statuses(c, Pod("p", namespace="ops", labels=WEB),
                    profile([AFFINITY]))["b1"] == EXISTING_ANTI


# -- InterPodAffinity score (§5.5) -------------------------------------------------------

def affinity_scores(c, pod, **args):
    prof = profile(scores=[(AFFINITY, 2)], **args)
    return ref.score_plugins(c, pod, prof, list(c.node_names))[AFFINITY]


PREFERS_DB_ZONE = preferred((10, term("zone", app="db")))
# Existing pods with preferences about web pods: c1's likes them in its zone (+7),
# b1's dislikes them on its node (-4).
LIKES_WEB = ("c1", {"app": "fan"}, {"pod_affinity": preferred((7, term("zone", app="web")))})
DISLIKES_WEB = ("b1", {"app": "foe"},
                {"pod_anti_affinity": preferred((4, term(HOST, app="web")))})

AFFINITY_SCORE_CASES = [
    # Preferred affinity w10 to db per zone, db on a1: T[zone][a] = 10. raws 10,10,0,0;
    # min 0, max 10 → 100,100,0,0.
    ("preferred affinity", [("a1", DB)], dict(labels=WEB, pod_affinity=PREFERS_DB_ZONE),
     {}, [100, 100, 0, 0]),
    # Preferred anti-affinity w10 per hostname: T[host][a1] = -10. raws -10,0,0,0:
    # min -10, max 0 → 0, 100·10/10 = 100, 100, 100.
    ("preferred anti-affinity", [("a1", DB)],
     dict(labels=WEB, pod_anti_affinity=preferred((10, term(HOST, app="db")))),
     {}, [0, 100, 100, 100]),
    # Both, db on a1 and b1: T[zone] a 10, b 10; T[host] a1 -5, b1 -5. raws a1 5, a2 10,
    # b1 5, c1 0 → 50, 100, 50, 0.
    ("both", [("a1", DB), ("b1", DB)],
     dict(labels=WEB, pod_affinity=PREFERS_DB_ZONE,
          pod_anti_affinity=preferred((5, term(HOST, app="db")))),
     {}, [50, 100, 50, 0]),
    # Existing pod on b1 requires web pods in its zone: +hardPodAffinityWeight (1) to
    # T[zone][b]; with the pod's own w3 preference for db (db on a1): raws 3,3,1,0 →
    # 100, 100, 100·1/3 = 33, 0.
    ("hard weight 1", [("a1", DB),
                       ("b1", {"app": "x"}, {"pod_affinity": required(term("zone", app="web"))})],
     dict(labels=WEB, pod_affinity=preferred((3, term("zone", app="db")))),
     {}, [100, 100, 33, 0]),
    # hardPodAffinityWeight 5: raws 3,3,5,0 → 60, 60, 100, 0.
    ("hard weight 5", [("a1", DB),
                       ("b1", {"app": "x"}, {"pod_affinity": required(term("zone", app="web"))})],
     dict(labels=WEB, pod_affinity=preferred((3, term("zone", app="db")))),
     {"hard_pod_affinity_weight": 5}, [60, 60, 100, 0]),
    # hardPodAffinityWeight 0 disables it: raws 3,3,0,0 → 100,100,0,0.
    ("hard weight 0", [("a1", DB),
                       ("b1", {"app": "x"}, {"pod_affinity": required(term("zone", app="web"))})],
     dict(labels=WEB, pod_affinity=preferred((3, term("zone", app="db")))),
     {"hard_pod_affinity_weight": 0}, [100, 100, 0, 0]),
    # Existing pods' preferences: T[zone][c] = 7, T[host][b1] = -4. raws 0,0,-4,7;
    # min -4, max 7, diff 11: 100·(4/11) = 36.4 → 36, 36, 0, 100.
    ("existing preferences", [LIKES_WEB, DISLIKES_WEB], dict(labels=WEB), {},
     [36, 36, 0, 100]),
    # ignorePreferredTermsOfExistingPods and the pod has no preferred terms → Skip → 0.
    ("ignore flag", [LIKES_WEB, DISLIKES_WEB], dict(labels=WEB),
     {"ignore_preferred_terms_of_existing_pods": True}, [0, 0, 0, 0]),
    # With a preferred term of its own (matching nothing), existing pods' preferences
    # count again, as without the flag.
    ("ignore flag, pod has preferences", [LIKES_WEB, DISLIKES_WEB],
     dict(labels=WEB, pod_anti_affinity=preferred((1, term(HOST, app="none")))),
     {"ignore_preferred_terms_of_existing_pods": True}, [36, 36, 0, 100]),
    # Float order of the normalization: w100 per hostname to db (on a1) and w29 per zone
    # to cache (on b1): raws 100, 0, 29, 0; min 0, max 100. 100.0 · (29/100) =
    # 28.999999999999996 → 28 (not 29).
    ("29/100 truncates to 28", [("a1", DB), ("b1", CACHE)],
     dict(labels=WEB, pod_affinity=preferred((100, term(HOST, app="db")),
                                             (29, term("zone", app="cache")))),
     {}, [100, 0, 28, 0]),
    # +5 and -5 in the same domain: T is not empty but every raw is 0 → max = min → 0.
    ("cancelling terms", [("a1", DB)],
     dict(labels=WEB, pod_affinity=preferred((5, term("zone", app="db"))),
          pod_anti_affinity=preferred((5, term("zone", app="db")))),
     {}, [0, 0, 0, 0]),
    # No terms anywhere → 0.
    ("nothing", [("a1", DB)], dict(labels=WEB), {}, [0, 0, 0, 0]),
]


@pytest.mark.parametrize("running, pod_kw, args, expected",
                         [c[1:] for c in AFFINITY_SCORE_CASES],
                         ids=[c[0] for c in AFFINITY_SCORE_CASES])
def test_affinity_score(running, pod_kw, args, expected):
    assert affinity_scores(cluster(ZONED, running), Pod("p", **pod_kw), **args) == expected


def test_affinity_score_min_and_max_over_the_scored_nodes_only():
    # db on a1, w10 per zone: T[zone][a] = 10. Scoring only b1 and c1: raws 0, 0 →
    # max = min → 0, 0; scoring a2 and b1: 10, 0 → 100, 0.
    c = cluster(ZONED, [("a1", DB)])
    pod = Pod("p", labels=WEB, pod_affinity=PREFERS_DB_ZONE)
    prof = profile(scores=[(AFFINITY, 2)])
    assert ref.score_plugins(c, pod, prof, ["b1", "c1"]) == {AFFINITY: [0, 0]}
    assert ref.score_plugins(c, pod, prof, ["a2", "b1"]) == {AFFINITY: [100, 0]}


def test_affinity_score_existing_term_namespace_selector():
    # c1's fan prefers web pods of env=prod namespaces: +7 on zone c only with labels.
    fan = ("c1", {"app": "fan"}, {"namespace": "ops", "pod_affinity": preferred(
        (7, term("zone", app="web", namespace_selector=sel(env="prod"))))})
    c = cluster(ZONED, [fan])
    pod = Pod("p", namespace="shop", labels=WEB)
    prof = profile(scores=[(AFFINITY, 2)])
    names = list(c.node_names)
    assert ref.score_plugins(c, pod, prof, names, namespace_labels={"shop": {"env": "prod"}}) \
        == {AFFINITY: [0, 0, 0, 100]}
    assert ref.score_plugins(c, pod, prof, names) == {AFFINITY: [0, 0, 0, 0]}


# -- FitError (§9) and totals (§7) -------------------------------------------------------

def test_fit_error_combines_spread_and_affinity_reasons_with_others():
    # Pod: cpu 1000, hard zone spread maxSkew 2 on app=web, anti-affinity to web per host.
    # Zone counts (nodes with a zone): a 2 (a1, a2), b 0, c 1 (c2) → min 0.
    #   s1: cpu 500 < 1000                       → Insufficient cpu (Fit runs first)
    #   a1, a2: 2+1-0 = 3 > 2                     → spread
    #   x1: no zone                               → spread, missing label (U&U)
    #   c2: 1+1-0 = 2 passes spread; web on c2    → pod anti-affinity
    #   b1: 0+1 = 1 passes; the guard refuses web → existing pods anti-affinity
    # Parts sorted byte-wise ("1 I" < "1 n"; "didn't m" < "didn't s"; "pod a" < "pod t").
    c = cluster([("a1", {"zone": "a"}), ("a2", {"zone": "a"}), ("b1", {"zone": "b"}),
                 ("c2", {"zone": "c"}), ("x1", {}),
                 ("s1", {"zone": "c"})],
                [("a1", WEB), ("a2", WEB), ("c2", WEB),
                 ("b1", {"app": "guard"}, {"pod_anti_affinity": required(term(HOST, app="web"))})])
    c.update_node("s1", allocatable={"cpu": 500, "memory": 8 << 30})
    pod = Pod("p", labels=WEB, requests={"cpu": 1000},
              topology_spread_constraints=[spread(2)],
              pod_anti_affinity=required(term(HOST, app="web")))
    prof = profile(["NodeResourcesFit", SPREAD, AFFINITY])
    assert ref.feasible(c, pod, prof) == []
    assert ref.fit_error_message(c, pod, prof) == (
        "0/6 nodes are available: 1 Insufficient cpu, "
        "1 node(s) didn't match pod anti-affinity rules, "
        "1 node(s) didn't match pod topology spread constraints (missing required label), "
        "1 node(s) didn't satisfy existing pods anti-affinity rules, "
        "2 node(s) didn't match pod topology spread constraints.")
    assert ref.filter_status(c, pod, "x1", prof) == (SPREAD, ref.UNRESOLVABLE,
                                                     (ref.REASON_SPREAD_MISSING_LABEL,))
    assert ref.filter_status(c, pod, "b1", prof) == (AFFINITY, ref.UNSCHEDULABLE,
                                                     (ref.REASON_EXISTING_ANTI_AFFINITY,))
    assert ref.filter_node(c, pod, "c2", prof) == (ref.REASON_POD_ANTI_AFFINITY,)


def test_total_scores_weigh_both_plugins():
    # Soft zone spread (SCORED counts: [0, 0, 60, 100], as in the "zone" case) and a
    # preference w10 for db per zone with db on b1 (raws 0, 0, 10, 0 → 0, 0, 100, 0).
    # Totals with weights 2 and 2: 0, 0, 320, 200.
    c = cluster(ZONED, SCORED + [("b1", DB)])
    pod = Pod("p", labels=WEB, topology_spread_constraints=[soft(1)],
              pod_affinity=PREFERS_DB_ZONE)
    prof = profile(scores=[(SPREAD, 2), (AFFINITY, 2)])
    assert ref.score_plugins(c, pod, prof, list(c.node_names)) == {
        SPREAD: [0, 0, 60, 100], AFFINITY: [0, 0, 100, 0]}
    assert ref.total_scores(c, pod, prof, list(c.node_names)) == [0, 0, 320, 200]


# -- whole runs (schedule_all) -----------------------------------------------------------

SIX = [(f"{z}{i}", {"zone": z}) for z in "abc" for i in (1, 2)] + [("x1", {})]


def test_hard_zone_spread_places_replicas_round_robin_over_zones():
    # maxSkew 1 over zones a, b, c: after each replica the zone counts may differ by one
    # at most, so zones fill 1-1-1, 2-2-2, 3-3-3. Within a zone LeastAllocated picks the
    # emptier node (first by position on ties); x1 (no zone) is never eligible.
    c = cluster(SIX)
    replica = Pod("r", labels=WEB, requests={"cpu": 1000, "memory": 1 << 30},
                  topology_spread_constraints=[spread(1)])
    prof = profile(["NodeResourcesFit", SPREAD], [("NodeResourcesFit", 1), (SPREAD, 2)])
    placed = ref.schedule_all(c, [replica.replica(f"r{i}") for i in range(9)], prof)
    assert placed == ["a1", "b1", "c1", "a2", "b2", "c2", "a1", "b1", "c1"]
    zones = [c.node_labels(n)["zone"] for n in placed]
    for k in range(1, 10):
        counts = [zones[:k].count(z) for z in "abc"]
        assert max(counts) - min(counts) <= 1


def test_hostname_anti_affinity_places_at_most_one_per_node():
    c = cluster([(f"n{i}", {}) for i in range(1, 5)])
    db = Pod("db", labels=DB, pod_anti_affinity=required(term(HOST, app="db")))
    prof = profile([AFFINITY])
    placed = ref.schedule_all(c, [db.replica(f"db{i}") for i in range(6)], prof)
    assert placed == ["n1", "n2", "n3", "n4", None, None]
    # The pod's own anti-affinity is checked before the existing pods' (which also match).
    assert ref.fit_error_message(c, db.replica("db9"), prof) == \
        "0/4 nodes are available: 4 node(s) didn't match pod anti-affinity rules."


def test_self_affinity_keeps_a_group_in_the_first_zone():
    # The first cache pod may go anywhere (first of its group) → a1; the others must
    # share zone a with it; LeastAllocated alternates a2, a1, ...
    c = cluster(ZONED)
    cache = Pod("c", labels=CACHE, requests={"cpu": 1000, "memory": 1 << 30},
                pod_affinity=required(term("zone", app="cache")))
    prof = profile([AFFINITY], [("NodeResourcesFit", 1)])
    placed = ref.schedule_all(c, [cache.replica(f"c{i}") for i in range(4)], prof)
    assert placed == ["a1", "a2", "a1", "a2"]


def test_system_default_spreading_needs_the_service():
    # Web replicas without constraints, scored by PodTopologySpread alone.
    # r0: every raw (0+2) + (0+4) = 6 → all 100 → a1 (first).
    # r1: a1 9, a2 7, b1 6 (see test_spread_system_defaults_with_a_service) → b1 (100).
    # r2: a1 3.609 + 5.386 → 9, a2 2 + 5.386 → 7, b1 3.609 + 5.386 → 9 → a2 (100).
    # Without the Service PreScore skips, all totals tie → a1 every time.
    replicas = [Pod(f"r{i}", labels=WEB) for i in range(3)]
    prof = profile(scores=[(SPREAD, 2)])
    web = Service("web", selector=WEB)
    assert ref.schedule_all(cluster(SYS_NODES), replicas, prof, services=[web]) == \
        ["a1", "b1", "a2"]
    assert ref.schedule_all(cluster(SYS_NODES), replicas, prof) == ["a1", "a1", "a1"]


def test_schedule_sampled_threads_the_keywords():
    # Same as above through the sampled path (3 nodes < 100: every node is examined).
    c = cluster(SYS_NODES, [("a1", WEB)])
    prof = profile(scores=[(SPREAD, 2)])
    chosen, start = ref.schedule_sampled(c, Pod("p", labels=WEB), prof, 0,
                                         services=[Service("web", selector=WEB)])
    assert (chosen, start) == ("b1", 0)
