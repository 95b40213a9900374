"""The plain reference scheduler (tests/_reference.py) against the spec's worked examples.

Case labels (LA-02, BA-01, NORM, …) are those of spec/kube-scheduler.md; where the
spec only states a rule, the example is built here and computed by hand in a comment.
"""

import random

import _reference as ref
import pytest

from fastsched import Cluster, NodeAffinity, Pod, Taint
from fastsched.profile.profile import FitArgs, Profile

MI = 1 << 20


def make_cluster(*nodes, pods=()):
    """``nodes``: (name, allocatable[, add_node keywords]); ``pods``: (node, Pod) bound
    with force (existing pods may overcommit)."""
    c = Cluster()
    for name, alloc, *extra in nodes:
        c.add_node(name, alloc, **(extra[0] if extra else {}))
    for node, pod in pods:
        c.bind(pod, node, force=True)
    return c


def existing(i, **kw):
    return Pod(f"existing-{i}", **kw)


def only(plugin, weight=1, **profile_kw):
    return Profile(scores=((plugin, weight),), **profile_kw)


# -- NodeResourcesFit scores (§4.1–4.3) ----------------------------------------------------

LA = FitArgs()
LA_MEM2 = FitArgs(resources=(("memory", 2), ("cpu", 1)))
LA_GPU_ONLY = FitArgs(resources=(("example.com/foo", 1),))
MA = FitArgs(strategy="MostAllocated")
MA_GPU = FitArgs(strategy="MostAllocated",
                 resources=(("cpu", 1), ("memory", 1), ("nvidia.com/gpu", 2)))
RISING = FitArgs(strategy="RequestedToCapacityRatio", shape=((0, 0), (100, 10)))
RISING_35 = FitArgs(strategy="RequestedToCapacityRatio", shape=((0, 0), (100, 10)),
                    resources=(("cpu", 3), ("memory", 5)))
FALLING = FitArgs(strategy="RequestedToCapacityRatio", shape=((0, 10), (100, 0)))

FIT_SCORE_CASES = [
    # LA-02 node1: cpu (4000-3000)*100/4000 = 25, memory (10000-5000)*100/10000 = 50,
    # (25+50)/2 = 37.
    ("LA-02 node1", LA, {"cpu": 4000, "memory": 10000}, [], {"cpu": 3000, "memory": 5000}, 37),
    # LA-02 node2: cpu 3000/6000 → 50, memory → 50.
    ("LA-02 node2", LA, {"cpu": 6000, "memory": 10000}, [], {"cpu": 3000, "memory": 5000}, 50),
    # LA-10: memory weight 2, cpu weight 1: (50·2 + 25·1) / 3 = 41.
    ("LA-10", LA_MEM2, {"cpu": 4000, "memory": 10000}, [], {"cpu": 3000, "memory": 5000}, 41),
    # LA-09: the node has neither resource: both skipped → 0.
    ("LA-09 no allocatable", LA, {"cpu": 0, "memory": 0}, [], {"cpu": 3000, "memory": 5000}, 0),
    # LA-14/16 style: a scalar resource the pod does not request is skipped → all skipped → 0.
    ("LA scalar unrequested", LA_GPU_ONLY, {"cpu": 4000, "memory": 10000, "example.com/foo": 4},
     [], {"cpu": 3000, "memory": 5000}, 0),
    # Over-commit: cpu 5000 > 4000 → 0, memory 50 → 25.
    ("LA overcommit", LA, {"cpu": 4000, "memory": 10000}, [], {"cpu": 5000, "memory": 5000}, 25),
    # LA-01: a pod with no containers requests 0/0 → 100 on an empty node.
    ("LA-01 no containers", LA, {"cpu": 4000, "memory": 10000}, [], None, 100),
    # LA-05/08: explicit memory 0 stays 0 → memory 100; cpu 3000/4000 used → 75; 87.
    ("LA-05 explicit zero", LA, {"cpu": 4000, "memory": 10000}, [],
     {"cpu": 1000, "memory": 0}, 87),
    # §1.3: the container does not mention memory → 200Mi of 1000Mi → 80; cpu 75;
    # (75+80)/2 = 77.
    ("LA default memory", LA, {"cpu": 4000, "memory": 1000 * MI}, [], {"cpu": 1000}, 77),
    # Existing pods count (non-zero variant): 2000 + 1000 cpu of 4000 → 25; 6000 of 10000 → 40.
    ("LA existing pods", LA, {"cpu": 4000, "memory": 10000}, [{"cpu": 2000, "memory": 1000}],
     {"cpu": 1000, "memory": 5000}, 32),
    # MA-06: cpu 3000+2000 of 5000 → 100, memory 5000+4000 of 10000 → 90; 95.
    ("MA-06", MA, {"cpu": 5000, "memory": 10000}, [{"cpu": 3000, "memory": 5000}],
     {"cpu": 2000, "memory": 4000}, 95),
    # MA-08: two empty pods use 200m/400Mi; the empty incoming pod adds 100m/200Mi:
    # cpu 300m of 250m clamps to 100, memory 600Mi of 1000Mi → 60; (100+60)/2 = 80.
    ("MA-08 clamp", MA, {"cpu": 250, "memory": 1000 * MI}, [{}, {}], {}, 80),
    # MA with a requested extended resource of weight 2: cpu 50, memory 50, gpu 1/4 → 25:
    # (50 + 50 + 25·2) / 4 = 37.
    ("MA extended", MA_GPU, {"cpu": 4000, "memory": 10000, "nvidia.com/gpu": 4}, [],
     {"cpu": 2000, "memory": 5000, "nvidia.com/gpu": 1}, 37),
    # RTCR-02 rounding: shape 0→0, 100→10 (scaled ×10: f(p) = p); cpu util 25, memory 50:
    # 75/2 = 37.5 → 38.
    ("RTCR-02 37.5", RISING, {"cpu": 4000, "memory": 10000}, [], {"cpu": 1000, "memory": 5000}, 38),
    # RTCR-09 style: utils 2 (w3) and 5 (w5): 31/8 = 3.875 → 4.
    ("RTCR-09 31/8", RISING_35, {"cpu": 100, "memory": 100}, [], {"cpu": 2, "memory": 5}, 4),
    # RTCR-10 style: utils 5 (w3) and 8 (w5): 55/8 = 6.875 → 7.
    ("RTCR-10 55/8", RISING_35, {"cpu": 100, "memory": 100}, [], {"cpu": 5, "memory": 8}, 7),
    # RTCR-12: shape 0→10, 100→0. cpu over-committed → util 100 → 0, excluded from the
    # weights; memory util 90 → 100 − 90 = 10; score 10 (not 5).
    ("RTCR-12", FALLING, {"cpu": 4000, "memory": 10000}, [], {"cpu": 5000, "memory": 9000}, 10),
    # Every resource scores 0 → 0.
    ("RTCR all zero", RISING, {"cpu": 4000, "memory": 10000}, [], None, 0),
]


@pytest.mark.parametrize("args, alloc, others, wanted, expected",
                         [c[1:] for c in FIT_SCORE_CASES], ids=[c[0] for c in FIT_SCORE_CASES])
def test_fit_scores(args, alloc, others, wanted, expected):
    c = make_cluster(("n1", alloc), pods=[("n1", existing(i, requests=r))
                                          for i, r in enumerate(others)])
    pod = Pod("p") if wanted is None else Pod("p", requests=wanted)
    profile = only("NodeResourcesFit", fit=args)
    assert ref.score_plugins(c, pod, profile, ["n1"]) == {"NodeResourcesFit": [expected]}


BROKEN_LINEAR_CASES = [
    # BROKENLINEAR-01 style: points (10,10), (90,90) after scaling.
    ([(10, 10), (90, 90)], [(0, 10), (10, 10), (15, 15), (50, 50), (90, 90), (100, 90)]),
    # Falling slope truncates toward zero: 10 + (−10·10)/30 = 10 − 3 = 7 (floor would say 6).
    ([(0, 10), (30, 0)], [(0, 10), (10, 7), (30, 0), (31, 0)]),
    # Three points: (0,0), (50,100), (100,0).
    ([(0, 0), (50, 100), (100, 0)], [(25, 50), (50, 100), (75, 50), (99, 2)]),
]


@pytest.mark.parametrize("shape, points", BROKEN_LINEAR_CASES)
def test_broken_linear(shape, points):
    assert [(p, ref.broken_linear(shape, p)) for p, _ in points] == points


def test_shape_scores_are_scaled_by_ten():
    assert ref.scaled_shape([(0, 0), (50, 7), (100, 10)]) == [(0, 0), (50, 70), (100, 100)]


# -- BalancedAllocation (§4.4) -------------------------------------------------------------

BALANCED_CASES = [
    # BA-02: cpu 3000/4000 = .75, memory 5000/10000 = .5 → std .125 → trunc(87.5) = 87.
    ("BA-02", (("cpu", 1), ("memory", 1)), {"cpu": 4000, "memory": 10000},
     {"cpu": 3000, "memory": 5000}, 87),
    # Real requests, no defaults: cpu .25, memory 0 → std .125 → 87.
    ("BA real requests", (("cpu", 1), ("memory", 1)), {"cpu": 4000, "memory": 10000},
     {"cpu": 1000}, 87),
    # Fractions cap at 1: cpu 1.0 (5000 of 4000), memory .5 → std .25 → 75.
    ("BA capped", (("cpu", 1), ("memory", 1)), {"cpu": 4000, "memory": 10000},
     {"cpu": 5000, "memory": 5000}, 75),
    # One resource left (the node has no memory) → std 0 → 100.
    ("BA one resource", (("cpu", 1), ("memory", 1)), {"cpu": 4000, "memory": 0},
     {"cpu": 3000, "memory": 5000}, 100),
    # Three resources: .5, .5, 1.0; mean 2/3; Σ(d²) = 1/36 + 1/36 + 4/36 = 1/6;
    # std = sqrt(1/18) = .2357 → trunc(76.43) = 76.
    ("BA three", (("cpu", 1), ("memory", 1), ("nvidia.com/gpu", 1)),
     {"cpu": 4000, "memory": 10000, "nvidia.com/gpu": 2},
     {"cpu": 2000, "memory": 5000, "nvidia.com/gpu": 2}, 76),
    # An unrequested scalar resource is skipped: back to BA-02's two fractions.
    ("BA scalar unrequested", (("cpu", 1), ("memory", 1), ("nvidia.com/gpu", 1)),
     {"cpu": 4000, "memory": 10000, "nvidia.com/gpu": 2}, {"cpu": 3000, "memory": 5000}, 87),
    # BA-01: the pod requests 0 of every configured resource → PreScore Skip → 0.
    ("BA-01 skip", (("cpu", 1), ("memory", 1)), {"cpu": 4000, "memory": 10000}, {}, 0),
]


@pytest.mark.parametrize("resources, alloc, wanted, expected",
                         [c[1:] for c in BALANCED_CASES], ids=[c[0] for c in BALANCED_CASES])
def test_balanced_allocation(resources, alloc, wanted, expected):
    c = make_cluster(("n1", alloc))
    profile = only("NodeResourcesBalancedAllocation", balanced_resources=resources)
    scores = ref.score_plugins(c, Pod("p", requests=wanted), profile, ["n1"])
    assert scores == {"NodeResourcesBalancedAllocation": [expected]}


def test_balanced_allocation_counts_existing_pods():
    # Existing 1000m/1000 + pod 2000m/4000 on 4000m/10000: .75 and .5 → 87.
    c = make_cluster(("n1", {"cpu": 4000, "memory": 10000}),
                     pods=[("n1", existing(0, requests={"cpu": 1000, "memory": 1000}))])
    profile = only("NodeResourcesBalancedAllocation")
    pod = Pod("p", requests={"cpu": 2000, "memory": 4000})
    assert ref.score_plugins(c, pod, profile, ["n1"]) == {"NodeResourcesBalancedAllocation": [87]}


# -- normalization (§5.1) ------------------------------------------------------------------

NORMALIZE_CASES = [
    # NORM: 100·10/1000 = 1 → 99, 2 → 98, 3 → 97.
    ([1000, 10, 20, 30], True, [0, 99, 98, 97]),
    ([1000, 10, 20, 30], False, [100, 1, 2, 3]),
    # NA-SCORE-04: 200/11 = 18, 1100/11 = 100, 400/11 = 36.
    ([2, 11, 4], False, [18, 100, 36]),
    ([0, 0, 0], True, [100, 100, 100]),
    ([0, 0, 0], False, [0, 0, 0]),
    ([], True, []),
]


@pytest.mark.parametrize("raw, reverse, expected", NORMALIZE_CASES)
def test_default_normalize(raw, reverse, expected):
    assert ref.default_normalize(raw, reverse) == expected


# -- TaintToleration and NodeAffinity scores (§5.2, §5.3) ----------------------------------

def soft(key, value=""):
    return Taint(key, value, "PreferNoSchedule")


def test_taint_toleration_score():
    # Raw counts of intolerable PreferNoSchedule taints: n1 0, n2 1 (b), n3 2 (b, c) — a is
    # tolerated, the NoSchedule taint d does not count. Reverse normalize with max 2:
    # 100 − 0, 100 − 50, 100 − 100.
    c = make_cluster(
        ("n1", {"cpu": 1000}, {"taints": [soft("a"), Taint("d", "", "NoSchedule")]}),
        ("n2", {"cpu": 1000}, {"taints": [soft("b", "x")]}),
        ("n3", {"cpu": 1000}, {"taints": [soft("a"), soft("b"), soft("c")]}),
    )
    # A NoSchedule toleration for b does not count for scoring (§5.2 keeps "" and
    # PreferNoSchedule effects only).
    pod = Pod("p", tolerations=[{"key": "a", "operator": "Exists"},
                                {"key": "b", "operator": "Exists", "effect": "NoSchedule"}])
    nodes = ["n1", "n2", "n3"]
    assert [ref.taint_toleration_raw(c, pod, n) for n in nodes] == [0, 1, 2]
    assert ref.score_plugins(c, pod, only("TaintToleration"), nodes) == {
        "TaintToleration": [100, 50, 0]}


def test_node_affinity_score_na_score_04():
    # NA-SCORE-04: raw 2 / 11 / 4 → 18 / 100 / 36.
    c = make_cluster(("n1", {"cpu": 1000}, {"labels": {"zone": "a"}}),
                     ("n2", {"cpu": 1000}, {"labels": {"zone": "a", "disk": "ssd"}}),
                     ("n3", {"cpu": 1000}, {"labels": {"gpu": "t4"}}))
    pod = Pod("p", node_affinity=NodeAffinity(preferred=[
        (2, {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}),
        (9, {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}),
        (4, {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}),
    ]))
    profile = only("NodeAffinity")
    nodes = ["n1", "n2", "n3"]
    assert [ref.node_affinity_raw(c, pod, n, profile) for n in nodes] == [2, 11, 4]
    assert ref.score_plugins(c, pod, profile, nodes) == {"NodeAffinity": [18, 100, 36]}


def test_node_affinity_score_adds_scheduler_preferences():
    # The added preferred term (weight 5, zone b) adds to the pod's (weight 5, zone a):
    # raw 5 / 5 / 0 → 100 / 100 / 0.
    c = make_cluster(("n1", {"cpu": 1000}, {"labels": {"zone": "a"}}),
                     ("n2", {"cpu": 1000}, {"labels": {"zone": "b"}}),
                     ("n3", {"cpu": 1000}, {"labels": {"zone": "c"}}))
    added = NodeAffinity(preferred=[
        (5, {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]})])
    pod = Pod("p", node_affinity=NodeAffinity(preferred=[
        (5, {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]})]))
    profile = only("NodeAffinity", added_affinity=added)
    assert ref.score_plugins(c, pod, profile, ["n1", "n2", "n3"]) == {
        "NodeAffinity": [100, 100, 0]}


# -- ImageLocality (§5.6) ------------------------------------------------------------------

def test_image_locality():
    # Three nodes. nginx:latest (300Mi) is on n1 and n2, "app:v2" (1500Mi) on n1 only.
    # Pod: init container "app:v2", container "nginx" (untagged → nginx:latest).
    # n1: 1500Mi·1/3 = 500Mi, plus 300Mi·2/3 = 200Mi → 700Mi; maxT = 2·1000Mi;
    #     100·(700 − 23)/(2000 − 23) = 67700/1977 = 34.
    # n2: 200Mi → 100·(200 − 23)/1977 = 17700/1977 = 8.
    # n3: nothing → clamped to 23Mi → 0.
    c = make_cluster(
        ("n1", {"cpu": 1000}, {"images": {"nginx": 300 * MI, "app:v2": 1500 * MI}}),
        ("n2", {"cpu": 1000}, {"images": {"nginx:latest": 300 * MI}}),
        ("n3", {"cpu": 1000}),
    )
    pod = Pod("p", init_containers=[{"image": "app:v2"}], containers=[{"image": "nginx"}])
    assert ref.score_plugins(c, pod, only("ImageLocality"), ["n1", "n2", "n3"]) == {
        "ImageLocality": [34, 8, 0]}


def test_image_locality_clamps_at_max():
    # One container, 2000Mi image on the only node: sum clamps to maxT = 1000Mi → 100.
    c = make_cluster(("n1", {"cpu": 1000}, {"images": {"big:1": 2000 * MI}}))
    pod = Pod("p", containers=[{"image": "big:1"}])
    assert ref.image_locality(c, pod, "n1") == 100


# -- filters (§3.2–3.7) --------------------------------------------------------------------

def expr(key, op, *values):
    return {"key": key, "operator": op, "values": list(values)}


def required(*terms):
    return NodeAffinity(required=list(terms))


NODE_LABELS = {"zone": "a", "rank": "0206", "tier": "gold"}
AFFINITY_FAIL = ("node(s) didn't match Pod's node affinity/selector",)

AFFINITY_CASES = [
    ("In", required({"matchExpressions": [expr("zone", "In", "a", "b")]}), ()),
    ("In absent value", required({"matchExpressions": [expr("zone", "In", "b")]}), AFFINITY_FAIL),
    ("NotIn absent key", required({"matchExpressions": [expr("disk", "NotIn", "ssd")]}), ()),
    ("NotIn present", required({"matchExpressions": [expr("zone", "NotIn", "a")]}), AFFINITY_FAIL),
    ("Exists", required({"matchExpressions": [expr("tier", "Exists")]}), ()),
    ("DoesNotExist", required({"matchExpressions": [expr("tier", "DoesNotExist")]}),
     AFFINITY_FAIL),
    # "0206" > "0204" as int64.
    ("Gt leading zeros", required({"matchExpressions": [expr("rank", "Gt", "0204")]}), ()),
    ("Lt", required({"matchExpressions": [expr("rank", "Lt", "206")]}), AFFINITY_FAIL),
    # LABELSEL-18: a label value that is not an integer never matches Gt/Lt.
    ("Gt unparsable label", required({"matchExpressions": [expr("tier", "Gt", "1")]}),
     AFFINITY_FAIL),
    ("Gt absent key", required({"matchExpressions": [expr("disk", "Gt", "1")]}), AFFINITY_FAIL),
    # Expressions within a term are ANDed, terms are ORed.
    ("AND in term", required({"matchExpressions": [expr("zone", "In", "a"),
                                                  expr("tier", "In", "silver")]}), AFFINITY_FAIL),
    ("OR of terms", required({"matchExpressions": [expr("zone", "In", "b")]},
                             {"matchExpressions": [expr("tier", "In", "gold")]}), ()),
    # matchFields read the node name.
    ("matchFields In", required({"matchFields": [expr("metadata.name", "In", "n1")]}), ()),
    ("matchFields NotIn", required({"matchFields": [expr("metadata.name", "NotIn", "n1")]}),
     AFFINITY_FAIL),
    ("fields AND expressions", required({"matchFields": [expr("metadata.name", "In", "n1")],
                                         "matchExpressions": [expr("zone", "In", "b")]}),
     AFFINITY_FAIL),
    # NA-FILTER-10, NS-MATCH-04/05: an empty term, and an empty term list, match nothing.
    ("empty term", required({}), AFFINITY_FAIL),
    ("no terms", NodeAffinity(required=[]), AFFINITY_FAIL),
    ("nil required", NodeAffinity(required=None), ()),
]


@pytest.mark.parametrize("affinity, expected", [c[1:] for c in AFFINITY_CASES],
                         ids=[c[0] for c in AFFINITY_CASES])
def test_node_affinity_filter(affinity, expected):
    c = make_cluster(("n1", {"cpu": 1000}, {"labels": NODE_LABELS}))
    pod = Pod("p", node_affinity=affinity)
    assert ref.filter_node(c, pod, "n1", Profile()) == expected


def untolerated():
    return ("node(s) had untolerated taint(s)",)


FILTER_CASES = [
    # §3.2 NodeUnschedulable.
    ("unschedulable", {"unschedulable": True}, {}, ("node(s) were unschedulable",)),
    ("unschedulable tolerated", {"unschedulable": True},
     {"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                       "effect": "NoSchedule"}]}, ()),
    ("unschedulable wildcard", {"unschedulable": True},
     {"tolerations": [{"operator": "Exists"}]}, ()),
    ("unschedulable NoExecute only", {"unschedulable": True},
     {"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                       "effect": "NoExecute"}]}, ("node(s) were unschedulable",)),
    # §3.3 NodeName.
    ("node name", {}, {"node_name": "n2"}, ("node(s) didn't match the requested node name",)),
    ("node name ok", {}, {"node_name": "n1"}, ()),
    # §3.4 TaintToleration: NoSchedule and NoExecute fail, PreferNoSchedule never does.
    ("NoSchedule", {"taints": [Taint("k", "v", "NoSchedule")]}, {}, untolerated()),
    ("NoExecute", {"taints": [Taint("k", "v", "NoExecute")]}, {}, untolerated()),
    ("PreferNoSchedule", {"taints": [Taint("k", "v", "PreferNoSchedule")]}, {}, ()),
    ("Equal tolerated", {"taints": [Taint("k", "v", "NoSchedule")]},
     {"tolerations": [{"key": "k", "value": "v"}]}, ()),
    ("Equal other value", {"taints": [Taint("k", "v", "NoSchedule")]},
     {"tolerations": [{"key": "k", "value": "w"}]}, untolerated()),
    ("wrong effect", {"taints": [Taint("k", "v", "NoSchedule")]},
     {"tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute"}]},
     untolerated()),
    ("one of two tolerated", {"taints": [Taint("k", "v", "NoSchedule"),
                                         Taint("j", "", "NoExecute")]},
     {"tolerations": [{"key": "k", "operator": "Exists"}]}, untolerated()),
    ("Gt tolerated", {"taints": [Taint("k", "10", "NoSchedule")]},
     {"tolerations": [{"key": "k", "operator": "Gt", "value": "5"}]}, ()),
    ("Lt not tolerated", {"taints": [Taint("k", "10", "NoSchedule")]},
     {"tolerations": [{"key": "k", "operator": "Lt", "value": "5"}]}, untolerated()),
    # §3.5 nodeSelector.
    ("nodeSelector", {"labels": {"zone": "a"}}, {"node_selector": {"zone": "a"}}, ()),
    ("nodeSelector value", {"labels": {"zone": "a"}}, {"node_selector": {"zone": "b"}},
     AFFINITY_FAIL),
    # §3.6 NodePorts: the node's pod holds 10.0.0.1 TCP 80.
    ("port same ip", {}, {"containers": [{"ports": [{"hostPort": 80, "hostIP": "10.0.0.1"}]}]},
     ("node(s) didn't have free ports for the requested pod ports",)),
    ("port any ip", {}, {"containers": [{"ports": [{"hostPort": 80}]}]},
     ("node(s) didn't have free ports for the requested pod ports",)),
    ("port other ip", {}, {"containers": [{"ports": [{"hostPort": 80, "hostIP": "10.0.0.2"}]}]},
     ()),
    ("port other protocol", {}, {"containers": [{"ports": [{"hostPort": 80,
                                                            "protocol": "UDP"}]}]}, ()),
    ("port other port", {}, {"containers": [{"ports": [{"hostPort": 81}]}]}, ()),
    # First failing plugin only: unschedulable (first) wins over the taint.
    ("first plugin wins", {"unschedulable": True, "taints": [Taint("k", "v", "NoSchedule")]},
     {}, ("node(s) were unschedulable",)),
]


@pytest.mark.parametrize("node_kw, pod_kw, expected", [c[1:] for c in FILTER_CASES],
                         ids=[c[0] for c in FILTER_CASES])
def test_filters(node_kw, pod_kw, expected):
    c = make_cluster(("n1", {"cpu": 4000, "memory": 10000}, node_kw), ("n2", {"cpu": 1000}),
                     pods=[("n1", Pod("web", containers=[
                         {"ports": [{"hostPort": 80, "hostIP": "10.0.0.1"}]}]))])
    assert ref.filter_node(c, Pod("p", **pod_kw), "n1", Profile()) == expected


def test_port_held_on_any_ip_blocks_every_ip():
    c = make_cluster(("n1", {"cpu": 1000}),
                     pods=[("n1", Pod("web", containers=[{"ports": [{"hostPort": 80}]}]))])
    pod = Pod("p", containers=[{"ports": [{"hostPort": 80, "hostIP": "10.0.0.9"}]}])
    assert ref.filter_node(c, pod, "n1", Profile()) == (
        "node(s) didn't have free ports for the requested pod ports",)


def test_scheduler_enforced_affinity_is_checked_first():
    # NA-FILTER-29: the added required terms fail first, with their own reason.
    c = make_cluster(("n1", {"cpu": 1000}, {"labels": {"zone": "a"}}))
    profile = Profile(added_affinity=required({"matchExpressions": [expr("zone", "In", "b")]}))
    pod = Pod("p", node_selector={"zone": "b"})
    assert ref.filter_node(c, pod, "n1", profile) == (
        "node(s) didn't match scheduler-enforced node affinity",)
    assert ref.filter_node(c, pod, "n1", Profile()) == AFFINITY_FAIL


FIT_FILTER_CASES = [
    # (allocatable, existing pod requests, pod request, reasons, status code)
    ("fits", {"cpu": 4000, "memory": 10000}, [{"cpu": 1000}], {"cpu": 3000}, (), None),
    ("cpu", {"cpu": 4000, "memory": 10000}, [{"cpu": 2000}], {"cpu": 3000},
     ("Insufficient cpu",), ref.UNSCHEDULABLE),
    # The pod alone exceeds the node → unresolvable.
    ("cpu alone", {"cpu": 4000, "memory": 10000}, [], {"cpu": 5000},
     ("Insufficient cpu",), ref.UNRESOLVABLE),
    ("cpu and memory", {"cpu": 4000, "memory": 10000}, [{"cpu": 2000, "memory": 8000}],
     {"cpu": 3000, "memory": 3000}, ("Insufficient cpu", "Insufficient memory"),
     ref.UNSCHEDULABLE),
    # Order: pods, cpu, memory, ephemeral-storage, then scalar resources by name.
    ("order", {"cpu": 1000, "memory": 1000, "ephemeral-storage": 1000, "pods": 1,
               "b.example/x": 1, "a.example/y": 1, "hugepages-2Mi": 1}, [{}],
     {"a.example/y": 2, "b.example/x": 2, "hugepages-2Mi": 2, "ephemeral-storage": 2000,
      "memory": 2000, "cpu": 2000},
     ("Too many pods", "Insufficient cpu", "Insufficient memory", "Insufficient ephemeral-storage",
      "Insufficient a.example/y", "Insufficient b.example/x", "Insufficient hugepages-2Mi"),
     ref.UNRESOLVABLE),
    # FIT-FILTER-01/43: a pod requesting nothing needs only a pod slot.
    ("empty pod", {"cpu": 0, "pods": 1}, [], {}, (), None),
    ("too many pods", {"cpu": 4000, "pods": 1}, [{}], {}, ("Too many pods",), ref.UNSCHEDULABLE),
    # An explicit 0 is not checked.
    ("zero request", {"cpu": 0}, [], {"cpu": 0, "memory": 0}, (), None),
    # A resource the node (and cluster) does not offer has allocatable 0.
    ("missing resource", {"cpu": 4000}, [], {"vendor.example/fpga": 1},
     ("Insufficient vendor.example/fpga",), ref.UNRESOLVABLE),
]


@pytest.mark.parametrize("alloc, others, wanted, reasons, code",
                         [c[1:] for c in FIT_FILTER_CASES], ids=[c[0] for c in FIT_FILTER_CASES])
def test_fit_filter(alloc, others, wanted, reasons, code):
    c = make_cluster(("n1", alloc), pods=[("n1", existing(i, requests=r))
                                          for i, r in enumerate(others)])
    status = ref.filter_status(c, Pod("p", requests=wanted), "n1", Profile())
    if code is None:
        assert status is None
    else:
        assert status == ("NodeResourcesFit", code, reasons)


IGNORED_CASES = [
    # FIT-FILTER-30: an ignored extended resource is not checked.
    (FitArgs(ignored_resources={"example.com/foo"}), "example.com/foo", ()),
    # FIT-FILTER-33: ignored by its group (the prefix before '/').
    (FitArgs(ignored_resource_groups={"example.com"}), "example.com/foo", ()),
    (FitArgs(ignored_resource_groups={"example.org"}), "example.com/foo",
     ("Insufficient example.com/foo",)),
    # Only extended resources can be ignored: kubernetes.io names and hugepages cannot.
    (FitArgs(ignored_resources={"kubernetes.io/foo"}), "kubernetes.io/foo",
     ("Insufficient kubernetes.io/foo",)),
    (FitArgs(ignored_resource_groups={"node.kubernetes.io"}), "node.kubernetes.io/foo",
     ("Insufficient node.kubernetes.io/foo",)),
    (FitArgs(ignored_resources={"hugepages-2Mi"}), "hugepages-2Mi",
     ("Insufficient hugepages-2Mi",)),
]


@pytest.mark.parametrize("args, resource, expected", IGNORED_CASES)
def test_fit_filter_ignored_resources(args, resource, expected):
    c = make_cluster(("n1", {"cpu": 4000}))
    pod = Pod("p", requests={resource: 1})
    assert ref.filter_node(c, pod, "n1", Profile(fit=args)) == expected


def test_resource_classes():
    assert ref.is_extended("nvidia.com/gpu")
    assert not ref.is_extended("kubernetes.io/x")
    assert not ref.is_extended("foo.kubernetes.io/x")
    assert not ref.is_extended("requests.example.com/x")
    assert not ref.is_extended("hugepages-1Gi")
    assert ref.is_scalar("hugepages-1Gi") and not ref.is_scalar("ephemeral-storage")


def test_feasible_keeps_cluster_order():
    c = make_cluster(("c", {"cpu": 4000}), ("a", {"cpu": 1000}), ("b", {"cpu": 4000}))
    assert ref.feasible(c, Pod("p", requests={"cpu": 2000}), Profile()) == ["c", "b"]


# -- the FitError message (§9) -------------------------------------------------------------

def test_fit_error_sorts_counts_as_strings():
    # 34 unschedulable nodes and 4 tainted ones: "34 …" sorts before "4 …".
    nodes = [(f"u{i}", {"cpu": 1000}, {"unschedulable": True}) for i in range(34)]
    nodes += [(f"t{i}", {"cpu": 1000}, {"taints": [Taint("k", "", "NoSchedule")]})
              for i in range(4)]
    c = make_cluster(*nodes)
    assert ref.fit_error_message(c, Pod("p"), Profile()) == (
        "0/38 nodes are available: 34 node(s) were unschedulable, "
        "4 node(s) had untolerated taint(s).")


def test_fit_error_counts_every_reason():
    # n1 lacks cpu and memory (counted once each), n2 lacks cpu, n3 is unschedulable:
    # "1 Insufficient memory" < "1 node(s)…" ('I' < 'n'), and "2 Insufficient cpu" last.
    c = make_cluster(("n1", {"cpu": 1000, "memory": 1000}),
                     ("n2", {"cpu": 1000, "memory": 10000}),
                     ("n3", {"cpu": 4000, "memory": 10000}, {"unschedulable": True}))
    pod = Pod("p", requests={"cpu": 2000, "memory": 5000})
    assert ref.fit_error_message(c, pod, Profile()) == (
        "0/3 nodes are available: 1 Insufficient memory, 1 node(s) were unschedulable, "
        "2 Insufficient cpu.")


def test_fit_error_single_insufficient_cpu_sorts_first():
    c = make_cluster(("n1", {"cpu": 1000}), ("n2", {"cpu": 4000}, {"unschedulable": True}))
    pod = Pod("p", requests={"cpu": 2000})
    assert ref.fit_error_message(c, pod, Profile()) == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable.")


def test_fit_error_with_prefilter_result():
    # §2/§3.5: terms "metadata.name In [n1]" OR "In [n9]" restrict the candidates to n1
    # (n9 does not exist); n2 and n3 are "absent" and reported with the plugin's reason
    # although n3 would have failed NodeUnschedulable first.
    c = make_cluster(("n1", {"cpu": 1000}), ("n2", {"cpu": 4000}),
                     ("n3", {"cpu": 4000}, {"unschedulable": True}))
    pod = Pod("p", requests={"cpu": 2000}, node_affinity=required(
        {"matchFields": [expr("metadata.name", "In", "n1")]},
        {"matchFields": [expr("metadata.name", "In", "n9")]}))
    assert ref.prefilter(c, pod, Profile()) == (("n1",), "")
    assert ref.feasible(c, pod, Profile()) == []
    assert ref.fit_error_message(c, pod, Profile()) == (
        "0/3 nodes are available: 1 Insufficient cpu, "
        "2 node(s) didn't satisfy plugin(s) [NodeAffinity].")


PREFILTER_CASES = [
    # A term without a name requirement lifts every restriction.
    ([{"matchFields": [expr("metadata.name", "In", "n1")]},
      {"matchExpressions": [expr("zone", "Exists")]}], (None, "")),
    # Union over terms, intersection within one; cluster order.
    ([{"matchFields": [expr("metadata.name", "In", "n3")]},
      {"matchFields": [expr("metadata.name", "In", "n1")]}], (("n1", "n3"), "")),
    # NotIn does not restrict.
    ([{"matchFields": [expr("metadata.name", "NotIn", "n1")]}], (None, "")),
    # NA-FILTER-19..26: every term contradicts itself → PreFilter rejects the pod.
    ([{"matchFields": [expr("metadata.name", "In", "n1"), expr("metadata.name", "In", "n2")]}],
     ((), "pod affinity terms conflict")),
]


@pytest.mark.parametrize("terms, expected", PREFILTER_CASES)
def test_prefilter(terms, expected):
    c = make_cluster(("n1", {"cpu": 1000}), ("n2", {"cpu": 1000}), ("n3", {"cpu": 1000}))
    pod = Pod("p", node_affinity=required(*terms))
    assert ref.prefilter(c, pod, Profile()) == expected


def test_fit_error_prefilter_conflict():
    c = make_cluster(("n1", {"cpu": 1000}), ("n2", {"cpu": 1000}))
    pod = Pod("p", node_affinity=required({"matchFields": [
        expr("metadata.name", "In", "n1"), expr("metadata.name", "In", "n2")]}))
    assert ref.fit_error_message(c, pod, Profile()) == (
        "0/2 nodes are available: pod affinity terms conflict.")
    assert ref.schedule(c, pod, Profile()) is None


# -- sampling (§8) and host selection (§7) -------------------------------------------------

@pytest.mark.parametrize("n, pct, expected", [
    (1000, 0, 420),      # NUMFEASIBLE: 50 − 1000/125 = 42 %
    (6000, 0, 300),      # 50 − 48 = 2 % → 5 % floor
    (6000, 40, 2400),
    (6000, None, 300),
    (50, 0, 50), (99, 10, 99),          # n < 100 → n
    (100, 0, 100), (150, 10, 100),      # at least 100
    (5000, 100, 5000),
    (0, 0, 0),
])
def test_num_nodes_to_find(n, pct, expected):
    assert ref.num_nodes_to_find(n, pct) == expected


def test_select_first_and_random():
    nodes = ["a", "b", "c", "d"]
    assert ref.select(nodes, [5, 9, 1, 9]) == "b"
    assert ref.select([], []) is None
    rng, twin = random.Random(7), random.Random(7)
    picks = [ref.select(nodes, [5, 9, 1, 9], "random", rng) for _ in range(50)]
    assert picks == [["b", "d"][twin.randrange(2)] for _ in range(50)]
    assert set(picks) == {"b", "d"}
    # A single maximum draws nothing from the generator.
    state = rng.getstate()
    assert ref.select(nodes, [1, 2, 3, 4], "random", rng) == "d"
    assert rng.getstate() == state


def test_total_scores_weigh_plugins():
    # n1 has an intolerable PreferNoSchedule taint: TaintToleration [0, 100] × 3;
    # LeastAllocated: n1 (75+50)/2 = 62, n2 (50+50)/2 = 50, × 1.
    c = make_cluster(("n1", {"cpu": 4000, "memory": 10000}, {"taints": [soft("a")]}),
                     ("n2", {"cpu": 2000, "memory": 10000}))
    pod = Pod("p", requests={"cpu": 1000, "memory": 5000})
    profile = Profile(scores=(("TaintToleration", 3), ("NodeResourcesFit", 1)))
    assert ref.score_plugins(c, pod, profile, ["n1", "n2"]) == {
        "TaintToleration": [0, 100], "NodeResourcesFit": [62, 50]}
    assert ref.total_scores(c, pod, profile, ["n1", "n2"]) == [62, 350]
    assert ref.total_scores(c, pod, Profile(scores=()), ["n1", "n2"]) == [1, 1]


def test_default_profile_scores():
    # Default weights TaintToleration 3, NodeAffinity 2, Fit 1, Balanced 1, ImageLocality 1.
    # n1: cpu 1000/4000, memory 5000/10000 → LA (75+50)/2 = 62, BA std .125 → 87.
    # n2: cpu 1000/2000, memory 5000/10000 → LA 50, BA 100.
    # No taints, no preferences, no images: 3·100 + 2·0 + LA + BA + 0.
    c = make_cluster(("n1", {"cpu": 4000, "memory": 10000}), ("n2", {"cpu": 2000, "memory": 10000}))
    pod = Pod("p", requests={"cpu": 1000, "memory": 5000})
    assert ref.total_scores(c, pod, Profile(), ["n1", "n2"]) == [300 + 62 + 87, 300 + 50 + 100]


def test_schedule_binds_and_spreads():
    # LeastAllocated spreads equal pods; ties go to the first node in cluster order.
    c = make_cluster(("n1", {"cpu": 4000, "memory": 10000}),
                     ("n2", {"cpu": 4000, "memory": 10000}))
    pods = [Pod(f"p{i}", requests={"cpu": 1000, "memory": 1000}) for i in range(5)]
    assert ref.schedule_all(c, pods, Profile()) == ["n1", "n2", "n1", "n2", "n1"]
    assert c.node_of("p4") == "n1"
    # cpu 3000/2000 used: n2 first, then the tie goes to n1, then n2; both are full.
    more = [Pod(f"q{i}", requests={"cpu": 1000}) for i in range(4)]
    assert ref.schedule_all(c, more, Profile()) == ["n2", "n1", "n2", None]


def test_schedule_single_feasible_node_is_not_scored(monkeypatch):
    # §7.1: with one feasible node nothing is scored.
    def no_scoring(*args):
        raise AssertionError("scored a single feasible node")

    monkeypatch.setattr(ref, "total_scores", no_scoring)
    c = make_cluster(("n1", {"cpu": 4000}), ("n2", {"cpu": 500}))
    assert ref.schedule(c, Pod("p", requests={"cpu": 1000}), Profile()) == "n1"
    assert c.node_of("p") == "n1"


def test_schedule_most_allocated_packs():
    c = make_cluster(("n1", {"cpu": 4000, "memory": 10000}),
                     ("n2", {"cpu": 4000, "memory": 10000}))
    profile = Profile(scores=(("NodeResourcesFit", 1),), fit=MA)
    pods = [Pod(f"p{i}", requests={"cpu": 1000, "memory": 1000}) for i in range(5)]
    assert ref.schedule_all(c, pods, profile) == ["n1", "n1", "n1", "n1", "n2"]


def test_schedule_sampled_rotates_start():
    # 200 identical nodes with 10 % to score: numToFind = max(20, 100) = 100. The first
    # cycle visits nodes 0..99 (ties → node 0) and moves the start to 100.
    c = make_cluster(*[(f"n{i:03d}", {"cpu": 4000, "memory": 10000}) for i in range(200)])
    profile = Profile(percentage_of_nodes_to_score=10)
    pod = Pod("p0", requests={"cpu": 1000, "memory": 1000})
    assert ref.schedule_sampled(c, pod, profile, 0) == ("n000", 100)
    assert ref.schedule_sampled(c, pod.replica("p1"), profile, 100) == ("n100", 0)
    # n000 and n100 are now the fullest: a start of 50 visits 50..149 and skips n100.
    assert ref.schedule_sampled(c, pod.replica("p2"), profile, 50) == ("n050", 150)


def test_schedule_sampled_counts_failed_nodes():
    # Nodes 0..149 are too small: from start 0 all 150 fail, then 100 feasible are found
    # among 150..249 → 250 visited, next start 250 % 300 = 250.
    nodes = [(f"n{i:03d}", {"cpu": 500}) for i in range(150)]
    nodes += [(f"n{i:03d}", {"cpu": 4000}) for i in range(150, 300)]
    c = make_cluster(*nodes)
    profile = Profile(percentage_of_nodes_to_score=10, scores=(("NodeResourcesFit", 1),))
    assert ref.schedule_sampled(c, Pod("p", requests={"cpu": 1000}), profile, 0) == ("n150", 250)


def test_schedule_sampled_without_scores_takes_first_feasible():
    # No score plugin: numToFind = 1, so the first feasible node from the start is taken.
    c = make_cluster(("n1", {"cpu": 500}), ("n2", {"cpu": 4000}), ("n3", {"cpu": 4000}))
    profile = Profile(scores=())
    assert ref.schedule_sampled(c, Pod("p", requests={"cpu": 1000}), profile, 2) == ("n3", 0)
    assert ref.schedule_sampled(c, Pod("q", requests={"cpu": 1000}), profile, 0) == ("n2", 2)


def test_schedule_sampled_at_100_percent_equals_schedule():
    def build():
        return make_cluster(*[(f"n{i}", {"cpu": 1000 * (1 + i % 4), "memory": 10000})
                              for i in range(12)])
    pods = [Pod(f"p{i}", requests={"cpu": 300 * (1 + i % 3), "memory": 700}) for i in range(30)]
    profile = Profile(percentage_of_nodes_to_score=100)
    plain, sampled = build(), build()
    expected = ref.schedule_all(plain, pods, profile)
    got = [ref.schedule_sampled(sampled, pod, profile, 0)[0] for pod in pods]
    assert got == expected
    assert plain.snapshot() == sampled.snapshot()


def test_node_requested_matches_cluster_columns():
    # §1.4 sums over the bound pods agree with the Cluster's aggregates, both variants.
    c = make_cluster(("n1", {"cpu": 4000, "memory": 10000, "nvidia.com/gpu": 2}),
                     ("n2", {"cpu": 4000, "memory": 10000}),
                     pods=[("n1", existing(0, requests={"cpu": 500})),
                           ("n1", existing(1, requests={"memory": 0, "nvidia.com/gpu": 1})),
                           ("n2", existing(2, containers=[
                               {}, {"resources": {"requests": {"cpu": "50m"}}}]))])
    for row, name in enumerate(c.node_names):
        real = ref.node_requested(c, name)
        assert [real.get(r, 0) for r in c.resources if r != "pods"] == \
            [int(v) for r, v in zip(c.resources, c.requested[row]) if r != "pods"]
        nonzero = ref.node_nonzero_requested(c, name)
        assert [nonzero["cpu"], nonzero["memory"]] == c.nonzero_requested[row].tolist()
    # n2: one empty container (100m, 200Mi) and one with 50m (and 200Mi).
    assert ref.node_nonzero_requested(c, "n2") == {"cpu": 150, "memory": 400 * MI}


@pytest.mark.parametrize("seed", range(5))
def test_random_schedules_never_overcommit(seed):
    # Invariant on random clusters: a chosen node passed every filter just before the
    # bind, no node ends up over its allocatable, and an unplaced pod has a FitError.
    rng = random.Random(seed)
    c = Cluster()
    for i in range(20):
        c.add_node(f"n{i}", {"cpu": rng.choice([1000, 2000, 4000]),
                             "memory": rng.choice([2000, 8000]), "pods": rng.randint(1, 6)},
                   labels={"zone": rng.choice("ab")}, unschedulable=rng.random() < 0.1,
                   taints=[Taint("gpu", "", "NoSchedule")] if rng.random() < 0.2 else ())
    profile = Profile(fit=rng.choice([LA, MA, RISING, FALLING]))
    for i in range(60):
        pod = Pod(f"p{i}", requests={"cpu": rng.choice([0, 100, 500, 1500]),
                                     "memory": rng.choice([0, 500, 3000])},
                  node_selector={"zone": "a"} if rng.random() < 0.3 else {})
        options = ref.feasible(c, pod, profile)
        chosen = ref.schedule(c, pod, profile, "random", rng)
        if chosen is None:
            assert options == []
            assert ref.fit_error_message(c, pod, profile).startswith("0/20 nodes are available: ")
        else:
            assert chosen in options
    for row, name in enumerate(c.node_names):
        assert (c.requested[row] <= c.allocatable[row]).all(), name


# -- Go arithmetic ------------------------------------------------------------------------

def test_go_arithmetic():
    assert [ref.go_div(a, b) for a, b in [(7, 2), (-7, 2), (7, -2), (-7, -2), (0, 5)]] == \
        [3, -3, -3, 3, 0]
    assert [ref.go_round(x) for x in [37.5, 3.875, 6.875, 2.5, 0.49999999999999994, -2.5]] == \
        [38, 4, 7, 3, 0, -3]
    assert ref.parse_int64("0206") == 206 and ref.parse_int64("+5") == 5
    assert ref.parse_int64("1_000") is None and ref.parse_int64(" 1") is None
    assert ref.parse_int64(str(1 << 63)) is None
