"""NodeAffinity: spec/kube-scheduler.md §3.5 (PreFilter and filter, nodeSelector included) and §5.3
(score).

The plugin is fastsched/plugins/node_affinity.py. These cases check the plain reference
scheduler (tests/_reference.py); tests/test_scheduler.py runs their tables through
the kernels. Case labels (such as LA-02) are those of the spec; where the spec only
states a rule, the example is built here and computed by hand in a comment.
"""

import _reference as ref
import pytest
from _helpers import expr, filter_cluster, make_cluster, only, required

from fastsched import NodeAffinity, Pod, Scheduler, ValidationError
from fastsched.profile.profile import Profile

# -- filter (§3.5) -------------------------------------------------------------------------

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
    # upstream: TestNodeAffinity "Pod with an invalid value in Affinity term won't be
    # scheduled onto the node": NotIn would hold literally, but the value is no label value,
    # so the term fails (node labels here: zone=a, no "foo").
    ("invalid value fails term", required({"matchExpressions": [
        expr("foo", "NotIn", "invalid value: ___@#$%^")]}), AFFINITY_FAIL),
    # The failed term is only that term: the terms are still ORed.
    ("invalid term ORed", required({"matchExpressions": [expr("foo", "NotIn", "bad value!")]},
                                   {"matchExpressions": [expr("zone", "In", "a")]}), ()),
    # labels.NewRequirement: a Gt/Lt value must parse as an int64, and be a label value
    # (so "-1" fails the term though ParseInt reads it).
    ("Gt non-integer fails term", required({"matchExpressions": [expr("rank", "Gt", "abc")]}),
     AFFINITY_FAIL),
    ("Lt negative fails term", required({"matchExpressions": [expr("rank", "Lt", "-1")]},
                                        {"matchExpressions": [expr("zone", "In", "b")]}),
     AFFINITY_FAIL),
]


@pytest.mark.parametrize("affinity, expected", [c[1:] for c in AFFINITY_CASES],
                         ids=[c[0] for c in AFFINITY_CASES])
def test_node_affinity_filter(affinity, expected):
    c = make_cluster(("n1", {"cpu": 1000}, {"labels": NODE_LABELS}))
    pod = Pod("p", node_affinity=affinity)
    assert ref.filter_node(c, pod, "n1", Profile()) == expected


NODE_SELECTOR_FILTER_CASES = [
    # §3.5 nodeSelector.
    ("nodeSelector", {"labels": {"zone": "a"}}, {"node_selector": {"zone": "a"}}, ()),
    ("nodeSelector value", {"labels": {"zone": "a"}}, {"node_selector": {"zone": "b"}},
     AFFINITY_FAIL),
]


@pytest.mark.parametrize("node_kw, pod_kw, expected", [c[1:] for c in NODE_SELECTOR_FILTER_CASES],
                         ids=[c[0] for c in NODE_SELECTOR_FILTER_CASES])
def test_node_selector_filter(node_kw, pod_kw, expected):
    # The filter tables' cluster: n1 runs a pod holding 10.0.0.1 TCP 80 (_helpers).
    c = filter_cluster(node_kw)
    assert ref.filter_node(c, Pod("p", **pod_kw), "n1", Profile()) == expected


def test_scheduler_enforced_affinity_is_checked_first():
    # NA-FILTER-29: the added required terms fail first, with their own reason.
    c = make_cluster(("n1", {"cpu": 1000}, {"labels": {"zone": "a"}}))
    profile = Profile(added_affinity=required({"matchExpressions": [expr("zone", "In", "b")]}))
    pod = Pod("p", node_selector={"zone": "b"})
    assert ref.filter_node(c, pod, "n1", profile) == (
        "node(s) didn't match scheduler-enforced node affinity",)
    assert ref.filter_node(c, pod, "n1", Profile()) == AFFINITY_FAIL


# -- PreFilter (§3.5, §2) ------------------------------------------------------------------

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


# -- score (§5.3) --------------------------------------------------------------------------

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


def test_conflicting_name_terms_give_every_node_the_prefilter_status():
    # Upstream node_affinity_test.go TestNodeAffinity, "Pod with two conflicting mach
    # field requirements": metadata.name In [node1] and In [node2] in one term; node2
    # (labels foo=bar). PreFilter returns UnschedulableAndUnresolvable "pod affinity
    # terms conflict", which the framework gives every node (findNodesThatFitPod:
    # SetAbsentNodesStatus) — not the "didn't satisfy plugin(s)" of a PreFilterResult.
    c = make_cluster(("node1", {"cpu": 1000}), ("node2", {"cpu": 1000}, {"labels": {"foo": "bar"}}))
    pod = Pod("p", node_affinity=required({"matchFields": [
        expr("metadata.name", "In", "node1"), expr("metadata.name", "In", "node2")]}))
    assert ref.prefilter(c, pod, Profile()) == ((), "pod affinity terms conflict")
    result = Scheduler(c).filter(pod)
    assert result.reasons("node2") == result.reasons("node1") == ("pod affinity terms conflict",)
    assert result.message == "0/2 nodes are available: pod affinity terms conflict."
    # A PreFilterResult that merely excludes a node keeps the generic reason.
    named = Pod("q", node_affinity=required({"matchFields": [expr("metadata.name", "In", "node1")]}))
    assert Scheduler(c).filter(named).reasons("node2") == (
        "node(s) didn't satisfy plugin(s) [NodeAffinity]",)


def test_unparsable_preference_is_refused():
    # upstream's NewPreferredSchedulingTerms returns the parse error, which fails NodeAffinity's
    # PreScore on every attempt: fastsched refuses the pod when it is built instead.
    with pytest.raises(ValidationError, match="invalid label value") as info:
        NodeAffinity(preferred=[(1, {"matchExpressions": [expr("foo", "In", "a b")]})])
    assert info.value.field == "preferred[0].preference.matchExpressions[0].values"


def test_unparsable_added_affinity_is_refused():
    # upstream's ValidateNodeAffinityArgs parses addedAffinity with NewNodeSelector, which
    # reports every term's parse error: the configuration is invalid.
    with pytest.raises(ValidationError, match="must be an integer"):
        Profile(added_affinity=required({"matchExpressions": [expr("rank", "Gt", "x")]}))
