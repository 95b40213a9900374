"""The plain reference scheduler (tests/_reference.py) against the spec's worked examples:
the framework (normalization, the first failing filter, the FitError message, sampling,
host selection, totals, whole runs, Go arithmetic). Each plugin's own cases are in
tests/plugins/test_<plugin>.py.

Case labels (LA-02, BA-01, NORM, …) are those of spec/kube-scheduler.md; where the
spec only states a rule, the example is built here and computed by hand in a comment.
"""

import random

import _reference as ref
import pytest
from _helpers import FALLING, LA, MA, MI, RISING, existing, expr, filter_cluster, make_cluster, required, soft

from fastsched import Cluster, Pod, Taint
from fastsched.profile.profile import Profile

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


# -- filters (§3.2–3.7): the first failing plugin -------------------------------------------

# The plugins' own filter cases are in tests/plugins/test_<plugin>.py.
FILTER_ORDER_CASES = [
    # First failing plugin only: unschedulable (first) wins over the taint.
    ("first plugin wins", {"unschedulable": True, "taints": [Taint("k", "v", "NoSchedule")]},
     {}, ("node(s) were unschedulable",)),
]


@pytest.mark.parametrize("node_kw, pod_kw, expected", [c[1:] for c in FILTER_ORDER_CASES],
                         ids=[c[0] for c in FILTER_ORDER_CASES])
def test_filters(node_kw, pod_kw, expected):
    # The filter tables' cluster: n1 runs a pod holding 10.0.0.1 TCP 80 (_helpers).
    c = filter_cluster(node_kw)
    assert ref.filter_node(c, Pod("p", **pod_kw), "n1", Profile()) == expected


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
