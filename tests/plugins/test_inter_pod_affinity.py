"""InterPodAffinity: spec/kube-scheduler.md §3.9 (filter) and §5.5 (score), namespaces
and namespace selectors included.

The plugin is fastsched/plugins/inter_pod_affinity.py (its compile step shared with
PodTopologySpread is fastsched/plugins/topology.py). These cases check the plain
reference scheduler (tests/_reference.py). Every expectation is computed by hand in
the comment next to it.
"""

import _reference as ref
import pytest
from _topology_helpers import (
    AFFINITY,
    ANTI,
    CACHE,
    DB,
    EXISTING_ANTI,
    HOST,
    NO_AFFINITY,
    OK,
    PREFERS_DB_ZONE,
    WEB,
    ZONED,
    cluster,
    preferred,
    profile,
    required,
    sel,
    statuses,
    term,
)

from fastsched import Cluster, Pod, Scheduler
from fastsched.model.labels import LabelSelector
from fastsched.model.pod import PodAffinity, PodAffinityTerm, WeightedPodAffinityTerm
from fastsched.profile.profile import Profile

# -- InterPodAffinity filter (§3.9) ------------------------------------------------------
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


# -- a pod counts for required affinity only if it matches every term ---------------------

def _in(key, *values):
    return LabelSelector(match_expressions=[{"key": key, "operator": "In", "values": list(values)}])


def test_required_affinity_counts_pods_matching_all_terms():
    # Upstream interpodaffinity filtering_test.go TestRequiredAffinityMultipleNodes, "The
    # affinity rule is to schedule all of the pods of this collection to the same zone.
    # The first pod of the collection should not be blocked from being scheduled onto any
    # node, even there's no existing pod that matches the rule anywhere.": the pod
    # (foo=bar, service=securityscan) needs foo In [bar] and service In [securityscan]
    # per zone; p1 on nodeA has only foo=bar, so it matches one term, not both: no pod
    # counts (affinityCounts empty), the pod matches its own terms → both nodes pass.
    # (nodeA/nodeB are node-a/node-b here: node names are lowercase.)
    c = Cluster()
    c.add_node("node-a", {"cpu": 4000}, labels={"zone": "az1", "hostname": "h1"})
    c.add_node("node-b", {"cpu": 4000}, labels={"zone": "az2", "hostname": "h2"})
    c.bind(Pod("p1", labels={"foo": "bar"}), "node-a", force=True)
    terms = (PodAffinityTerm("zone", _in("foo", "bar")),
             PodAffinityTerm("zone", _in("service", "securityscan")))
    pod = Pod("p", labels={"foo": "bar", "service": "securityscan"},
              pod_affinity=PodAffinity(required=terms))
    result = Scheduler(c).filter(pod)
    assert result.reasons("node-a") == result.reasons("node-b") == ()
    assert ref.filter_node(c, pod, "node-a", Profile()) == ref.filter_node(
        c, pod, "node-b", Profile()) == ()
    # Once a pod matching both terms runs on nodeA, only zone az1 passes.
    c.bind(Pod("p2", labels={"foo": "bar", "service": "securityscan"}), "node-a", force=True)
    result = Scheduler(c).filter(pod)
    assert result.reasons("node-a") == ()
    assert result.reasons("node-b") == (ref.REASON_POD_AFFINITY,)


# -- a symmetric preferred term counts once ------------------------------------------------

def test_symmetric_preferred_terms_count_once():
    # Upstream interpodaffinity scoring_test.go TestPreferredAffinity, "Affinity and Anti
    # Affinity and symmetry: considered only preferredDuringSchedulingIgnoredDuringExecution
    # in both pod affinity & anti affinity & symmetry". The pod (security=S1) carries
    # stayWithS1InRegionAwayFromS2InAz (affinity S1 per region, weight 8; anti-affinity
    # S2 per az, weight 5), as does the (unlabelled) pod on node3. Raw scores: node1
    # (region China, an S1 pod) +8; node2 (az1, an S2 pod) -5; node3 (region India): the
    # existing pod's term matches the pod, +8 once; node4 (az2): awayFromS1InAz -5 →
    # 100, 0, 100, 0.
    def weighted(weight, key, value):
        return PodAffinity(preferred=[
            WeightedPodAffinityTerm(weight, PodAffinityTerm(key, _in("security", value)))])

    stay, away_s2, away_s1 = weighted(8, "region", "S1"), weighted(5, "az", "S2"), \
        weighted(5, "az", "S1")
    c = Cluster()
    for name, labels in [("node1", {"region": "China"}), ("node2", {"az": "az1"}),
                         ("node3", {"region": "India"}), ("node4", {"az": "az2"})]:
        c.add_node(name, {"cpu": 4000}, labels=labels)
    c.bind(Pod("e1", labels={"security": "S1"}), "node1", force=True)
    c.bind(Pod("e2", labels={"security": "S2"}), "node2", force=True)
    c.bind(Pod("e3", pod_affinity=stay, pod_anti_affinity=away_s2), "node3", force=True)
    c.bind(Pod("e4", pod_anti_affinity=away_s1), "node4", force=True)
    pod = Pod("p", labels={"security": "S1"}, pod_affinity=stay, pod_anti_affinity=away_s2)
    prof = Profile(scores=((AFFINITY, 1),))
    nodes = ["node1", "node2", "node3", "node4"]
    assert ref.score_plugins(c, pod, prof, nodes) == {AFFINITY: [100, 0, 100, 0]}
    got = Scheduler(c, prof).score(pod)
    assert [int(v) for v in got.plugins[AFFINITY]] == [100, 0, 100, 0]
