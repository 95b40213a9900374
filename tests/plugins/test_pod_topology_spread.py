"""PodTopologySpread: spec/kube-scheduler.md §3.8 (filter) and §5.4 (score), with the
system and List default constraints.

The plugin is fastsched/plugins/pod_topology_spread.py (its compile step shared with
InterPodAffinity is fastsched/plugins/topology.py). These cases check the plain
reference scheduler (tests/_reference.py). Every expectation is computed by hand in
the comment next to it. Scores use ln(k) = ln2 .693, ln3 1.099, ln4 1.386, ln5 1.609,
ln6 1.792 (the weight of a topology with k − 2 domains).
"""

import _reference as ref
import pytest
from _topology_helpers import (
    HOST,
    NO_LABEL,
    OK,
    SCORED,
    SKEW,
    SPREAD,
    SYS_NODES,
    WEB,
    ZONE,
    ZONED,
    cluster,
    profile,
    sel,
    soft,
    spread,
    statuses,
)

from fastsched import Cluster, Pod, Scheduler
from fastsched.model.labels import LabelSelector
from fastsched.model.pod import TopologySpreadConstraint
from fastsched.model.service import Service
from fastsched.profile.profile import Profile

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


# -- terminating pods do not count -------------------------------------------------------

def _terminating_case():
    # node-a runs p-a (foo, terminating), node-b runs p-b (foo); label "node" per node.
    c = Cluster()
    for name in ("node-a", "node-b"):
        c.add_node(name, {"cpu": 4000, "memory": 8 << 30}, labels={"node": name})
    c.bind(Pod("p-a", labels={"foo": ""}, terminating=True), "node-a", force=True)
    c.bind(Pod("p-b", labels={"foo": ""}), "node-b", force=True)
    return c


FOO = LabelSelector(match_expressions=[{"key": "foo", "operator": "Exists"}])


def test_terminating_pods_do_not_count_in_filter():
    # Upstream podtopologyspread filtering_test.go TestSingleConstraint, "terminating
    # Pods should be excluded": maxSkew 1 on "node"; counts a 0 (p-a is terminating),
    # b 1 → node-a passes, node-b (1 + 1 - 0 = 2 > 1) fails.
    c = _terminating_case()
    pod = Pod("p", labels={"foo": ""}, topology_spread_constraints=[
        TopologySpreadConstraint(1, "node", "DoNotSchedule", FOO)])
    result = Scheduler(c).filter(pod)
    assert result.reasons("node-a") == ()
    assert result.reasons("node-b") == (ref.REASON_SPREAD,)
    assert ref.filter_node(c, pod, "node-a", Profile()) == ()
    assert ref.filter_node(c, pod, "node-b", Profile()) == (ref.REASON_SPREAD,)


def test_terminating_pods_do_not_count_in_score():
    # Upstream podtopologyspread scoring_test.go TestPodTopologySpreadScore, "terminating
    # Pods should be excluded": ScheduleAnyway on the hostname; counts a 0, b 1 →
    # node-a 100, node-b 0.
    c = _terminating_case()
    pod = Pod("p", labels={"foo": ""}, topology_spread_constraints=[
        TopologySpreadConstraint(1, "kubernetes.io/hostname", "ScheduleAnyway", FOO)])
    prof = Profile(scores=(("PodTopologySpread", 1),))
    got = Scheduler(c, prof).score(pod)
    assert [int(v) for v in got.plugins["PodTopologySpread"]] == [100, 0]
    assert ref.score_plugins(c, pod, prof, ["node-a", "node-b"]) == {"PodTopologySpread": [100, 0]}
