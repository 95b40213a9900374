"""PodTopologySpread and InterPodAffinity together in the plain reference
(tests/_reference.py): the FitError message, weighted totals and whole runs.

Spec §7, §9. Each plugin's own cases are in tests/plugins/test_pod_topology_spread.py
and tests/plugins/test_inter_pod_affinity.py; the builders shared with them are in
``_topology_helpers``. Every expectation is computed by hand in the comment next to
it. Scores use ln(k) = ln2 .693, ln3 1.099, ln4 1.386, ln5 1.609,
ln6 1.792 (the weight of a topology with k − 2 domains).
"""

import _reference as ref
from _topology_helpers import (
    AFFINITY,
    CACHE,
    DB,
    HOST,
    PREFERS_DB_ZONE,
    SCORED,
    SPREAD,
    SYS_NODES,
    WEB,
    ZONED,
    cluster,
    profile,
    required,
    soft,
    spread,
    term,
)

from fastsched import Pod
from fastsched.model.service import Service

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
    # r1: a1 9, a2 7, b1 6 (see test_pod_topology_spread.py::
    #     test_spread_system_defaults_with_a_service) → b1 (100).
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
