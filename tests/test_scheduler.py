"""The compiled scheduler against the spec's worked examples and the plain reference.

The plugins' worked-example tables (tests/plugins/test_<plugin>.py, and the filter
order case of test_reference.py) run here against the kernels; then hypothesis builds
random clusters and pods and checks that the kernels and ``_reference`` agree on
feasibility, reasons, messages, every plugin's scores and whole placement sequences.
"""

import random

import _reference as ref
import numpy as np
import pytest
from _helpers import existing, expr, make_cluster, soft
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_balanced_allocation import BALANCED_CASES
from test_node_affinity import AFFINITY_CASES, NODE_LABELS, NODE_SELECTOR_FILTER_CASES
from test_node_name import NODE_NAME_FILTER_CASES
from test_node_ports import PORT_FILTER_CASES
from test_node_unschedulable import UNSCHEDULABLE_FILTER_CASES
from test_noderesources_fit import FIT_FILTER_CASES, FIT_SCORE_CASES, IGNORED_CASES
from test_reference import FILTER_ORDER_CASES
from test_taint_toleration import TAINT_FILTER_CASES

from fastsched import (
    Cluster,
    DuplicateError,
    FitArgs,
    NodeAffinity,
    Placement,
    Pod,
    Profile,
    Scheduler,
    Taint,
    Unschedulable,
    ValidationError,
)
from fastsched._kernels import placement
from fastsched.scheduler.scheduler import num_nodes_to_find

# The plugins' filter tables in the profile's filter order, then test_reference.py's
# first-failing-plugin case (the rows, ids and order of the former single table).
FILTER_CASES = (UNSCHEDULABLE_FILTER_CASES + NODE_NAME_FILTER_CASES + TAINT_FILTER_CASES
                + NODE_SELECTOR_FILTER_CASES + PORT_FILTER_CASES + FILTER_ORDER_CASES)


def kernel_scores(cluster, pod, profile):
    result = Scheduler(cluster, profile).score(pod)
    return {name: [int(v) for v in values] for name, values in result.plugins.items()}


def kernel_reasons(cluster, pod, node, profile):
    return Scheduler(cluster, profile).filter(pod).reasons(node)


# -- the spec's worked examples, through the kernels ---------------------------------

@pytest.mark.parametrize("args, alloc, others, wanted, expected",
                         [c[1:] for c in FIT_SCORE_CASES],
                         ids=[c[0] for c in FIT_SCORE_CASES])
def test_fit_scores(args, alloc, others, wanted, expected):
    c = make_cluster(("n1", alloc), pods=[("n1", existing(i, requests=r))
                                          for i, r in enumerate(others)])
    pod = Pod("p") if wanted is None else Pod("p", requests=wanted)
    profile = Profile(filters=(), scores=(("NodeResourcesFit", 1),), fit=args)
    assert kernel_scores(c, pod, profile) == {"NodeResourcesFit": [expected]}


@pytest.mark.parametrize("resources, alloc, wanted, expected",
                         [c[1:] for c in BALANCED_CASES],
                         ids=[c[0] for c in BALANCED_CASES])
def test_balanced_allocation(resources, alloc, wanted, expected):
    c = make_cluster(("n1", alloc))
    profile = Profile(filters=(), scores=(("NodeResourcesBalancedAllocation", 1),),
                      balanced_resources=resources)
    assert kernel_scores(c, Pod("p", requests=wanted), profile) == {
        "NodeResourcesBalancedAllocation": [expected]}


@pytest.mark.parametrize("affinity, expected", [c[1:] for c in AFFINITY_CASES],
                         ids=[c[0] for c in AFFINITY_CASES])
def test_node_affinity_filter(affinity, expected):
    c = make_cluster(("n1", {"cpu": 1000}, {"labels": NODE_LABELS}))
    assert kernel_reasons(c, Pod("p", node_affinity=affinity), "n1", Profile()) == expected


@pytest.mark.parametrize("node_kw, pod_kw, expected", [c[1:] for c in FILTER_CASES],
                         ids=[c[0] for c in FILTER_CASES])
def test_filters(node_kw, pod_kw, expected):
    c = make_cluster(("n1", {"cpu": 4000, "memory": 10000}, node_kw), ("n2", {"cpu": 1000}),
                     pods=[("n1", Pod("web", containers=[
                         {"ports": [{"hostPort": 80, "hostIP": "10.0.0.1"}]}]))])
    assert kernel_reasons(c, Pod("p", **pod_kw), "n1", Profile()) == expected


@pytest.mark.parametrize("alloc, others, wanted, reasons, code",
                         [c[1:] for c in FIT_FILTER_CASES],
                         ids=[c[0] for c in FIT_FILTER_CASES])
def test_fit_filter(alloc, others, wanted, reasons, code):
    c = make_cluster(("n1", alloc), pods=[("n1", existing(i, requests=r))
                                          for i, r in enumerate(others)])
    assert kernel_reasons(c, Pod("p", requests=wanted), "n1", Profile()) == reasons


@pytest.mark.parametrize("args, resource, expected", IGNORED_CASES)
def test_fit_filter_ignored_resources(args, resource, expected):
    c = make_cluster(("n1", {"cpu": 4000}))
    pod = Pod("p", requests={resource: 1})
    assert kernel_reasons(c, pod, "n1", Profile(fit=args)) == expected


def test_taint_toleration_and_affinity_scores_normalize_over_feasible_nodes():
    c = make_cluster(("n1", {"cpu": 1000}, {"taints": [soft("a"), soft("b")]}),
                     ("n2", {"cpu": 1000}, {"taints": [soft("a")]}),
                     ("n3", {"cpu": 1000}),
                     ("n4", {"cpu": 1000}, {"labels": {"zone": "x"}}))
    pod = Pod("p", tolerations=[{"key": "b", "operator": "Exists"}], node_affinity={
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 2, "preference": {"matchExpressions": [expr("zone", "In", "x")]}},
            {"weight": 9, "preference": {"matchExpressions": [expr("zone", "Exists")]}}]})
    scores = kernel_scores(c, pod, Profile())
    # raw untolerated counts 1, 1, 0, 0 → reverse-normalized 0, 0, 100, 100
    assert scores["TaintToleration"] == [0, 0, 100, 100]
    assert scores["NodeAffinity"] == [0, 0, 0, 100]
    assert scores == ref.score_plugins(c, pod, Profile(), ["n1", "n2", "n3", "n4"])


def test_fit_error_messages():
    c = make_cluster(("n1", {"cpu": 1000}, {"unschedulable": True}),
                     ("n2", {"cpu": 1000, "memory": 100}),
                     ("n3", {"cpu": 500, "memory": 100}))
    pod = Pod("p", requests={"cpu": 800, "memory": 200})
    result = Scheduler(c).schedule(pod)
    assert isinstance(result, Unschedulable)
    expected = ("0/3 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable, "
                "2 Insufficient memory.")
    assert result.message == expected == ref.fit_error_message(c, pod, Profile())
    assert result.reasons == {"node(s) were unschedulable": 1, "Insufficient cpu": 1,
                              "Insufficient memory": 2}
    assert Scheduler(c).filter(pod).message == expected
    assert len(c.pods) == 0


def test_prefilter_result_and_conflict():
    c = make_cluster(("n1", {"cpu": 1000}), ("n2", {"cpu": 1000}), ("n3", {"cpu": 10}))
    named = NodeAffinity(required=[{"matchFields": [expr("metadata.name", "In", "n3")]}])
    pod = Pod("p", requests={"cpu": 100}, node_affinity=named)
    result = Scheduler(c).schedule(pod)
    assert result.message == ref.fit_error_message(c, pod, Profile()) == (
        "0/3 nodes are available: 1 Insufficient cpu, "
        "2 node(s) didn't satisfy plugin(s) [NodeAffinity].")
    conflict = NodeAffinity(required=[{"matchFields": [
        expr("metadata.name", "In", "n1")]}]).__class__.from_dict(
        {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [expr("metadata.name", "In", "n1"),
                             expr("metadata.name", "In", "n2")]}]}})
    pod = Pod("q", node_affinity=conflict)
    assert Scheduler(c).schedule(pod).message == ref.fit_error_message(c, pod, Profile()) == (
        "0/3 nodes are available: pod affinity terms conflict.")


@pytest.mark.parametrize("n, pct, expected", [(1000, 0, 420), (6000, 0, 300), (6000, 40, 2400),
                                              (50, 10, 50), (5000, 100, 5000), (200, 10, 100)])
def test_num_nodes_to_find(n, pct, expected):
    assert num_nodes_to_find(n, pct) == expected == (ref.num_nodes_to_find(n, pct)
                                                     if pct < 100 else n)


# -- API behaviour -------------------------------------------------------------------

def three_nodes():
    return make_cluster(("a", {"cpu": 4000, "memory": 8 << 30}),
                        ("b", {"cpu": 4000, "memory": 8 << 30}),
                        ("c", {"cpu": 8000, "memory": 8 << 30}))


def test_schedule_binds_and_failed_schedule_changes_nothing():
    c = three_nodes()
    s = Scheduler(c)
    placed = s.schedule(Pod("web", requests={"cpu": "1", "memory": "1Gi"}))
    assert isinstance(placed, Placement) and placed.node == "c"
    assert c.node_of("web") == "c" and c.node("c").requested["cpu"] == 1000
    before = c.snapshot()
    assert isinstance(s.schedule(Pod("huge", requests={"cpu": "64"})), Unschedulable)
    assert c.snapshot() == before
    s.filter(Pod("x", requests={"cpu": "1"}))
    s.score(Pod("x", requests={"cpu": "1"}))
    assert c.snapshot() == before


def test_schedule_many_templates_become_replicas():
    c = three_nodes()
    template = Pod("web", requests={"cpu": "500m", "memory": "256Mi"})
    result = Scheduler(c).schedule_many([template] * 40)
    assert len(result) == 40 and result.placed == 32 and result.unschedulable == 8
    assert (result.rows[:32] >= 0).all() and (result.rows[32:] == -1).all()
    names = [p.pod.name for p in result if isinstance(p, Placement)]
    assert len(set(names)) == 32 and all(n.startswith("web-") for n in names)
    assert set(c.pods) == {f"default/{n}" for n in names}
    assert c.requested[:, 0].sum() == 32 * 500
    again = Scheduler(c).schedule_many([template] * 2)      # fresh names on a later call
    assert again.unschedulable == 2
    message = again[0].message
    assert message == "0/3 nodes are available: 3 Insufficient cpu."


def test_schedule_many_rejects_duplicate_keys_before_doing_anything():
    c = three_nodes()
    Scheduler(c).schedule(Pod("web", requests={"cpu": "1"}))
    before = c.snapshot()
    with pytest.raises(DuplicateError, match="already bound"):
        Scheduler(c).schedule_many([Pod("new"), Pod("web")])
    with pytest.raises(DuplicateError, match="two different pods"):
        Scheduler(c).schedule_many([Pod("x"), Pod("x")])
    with pytest.raises(ValidationError, match="expected a Pod"):
        Scheduler(c).schedule_many([Pod("y"), "z"])
    assert c.snapshot() == before


def test_scheduler_arguments_are_checked():
    c = three_nodes()
    with pytest.raises(ValidationError, match="tie_break"):
        Scheduler(c, tie_break="best")
    with pytest.raises(ValidationError, match="percentage_of_nodes_to_score"):
        Scheduler(c, percentage_of_nodes_to_score=101)
    with pytest.raises(ValidationError, match="profile"):
        Scheduler(c, profile="default")


def test_empty_cluster():
    result = Scheduler(Cluster()).schedule(Pod("p"))
    assert isinstance(result, Unschedulable)
    assert result.message == "no nodes available to schedule pods"


def test_random_tie_break_is_seeded_and_uniform():
    def run(seed):
        c = Cluster()
        for i in range(4):
            c.add_node(f"n{i}", {"cpu": 100_000, "memory": 1 << 40, "pods": 10_000})
        s = Scheduler(c, tie_break="random", seed=seed)
        # Each pod goes to an empty node while one is left: ties among the empty ones.
        return [s.schedule(Pod(f"p{k}", requests={"cpu": 1000})).node for k in range(4)]
    assert run(1) == run(1)
    firsts = {run(seed)[0] for seed in range(40)}
    assert firsts == {"n0", "n1", "n2", "n3"}
    assert all(sorted(run(seed)) == ["n0", "n1", "n2", "n3"] for seed in range(5))


def test_sampling_rotates_and_matches_reference():
    c = Cluster()
    for i in range(300):
        c.add_node(f"n{i}", {"cpu": 4000 + 10 * (i % 7), "memory": 8 << 30})
    d = c.copy()
    profile = Profile(percentage_of_nodes_to_score=10)
    s = Scheduler(c, profile)
    start = 0
    for k in range(20):       # two full rotations of the 10% window and a bit
        pod = Pod(f"p{k}", requests={"cpu": 300 + 20 * (k % 5), "memory": 1 << 28})
        got = s.schedule(pod)
        # The reference keeps ties in visiting order; the kernel takes the lowest row.
        found, start_next = _sampled_candidates(d, pod, profile, start)
        totals = ref.total_scores(d, pod, profile, found)
        best = max(totals)
        want = min((d.row(n), n) for n, t in zip(found, totals) if t == best)[1]
        d.bind(pod, want)
        start = start_next
        assert got.node == want


def _sampled_candidates(cluster, pod, profile, start):
    names = cluster.node_names
    n = len(names)
    to_find = ref.num_nodes_to_find(n, profile.percentage_of_nodes_to_score)
    found, visited = [], 0
    for i in range(n):
        name = names[(start + i) % n]
        visited += 1
        if ref.filter_status(cluster, pod, name, profile) is None:
            found.append(name)
            if len(found) == to_find:
                break
    return found, (start + visited) % n


# -- random clusters: kernels equal the reference ------------------------------------

ZONES = ["a", "b", "c"]
TAINTS = [Taint("spot", "true", "NoSchedule"), Taint("gpu", "yes", "NoSchedule"),
          Taint("old", "", "PreferNoSchedule"), Taint("noisy", "1", "PreferNoSchedule"),
          Taint("drain", "", "NoExecute")]
IMAGES = ["nginx:1", "redis:7", "busybox"]


@st.composite
def clusters(draw, max_nodes=12):
    c = Cluster()
    for i in range(draw(st.integers(1, max_nodes))):
        alloc = {"cpu": draw(st.sampled_from([0, 500, 1000, 2000, 4000, 8000])),
                 "memory": draw(st.sampled_from([0, 1 << 30, 4 << 30, 16 << 30])),
                 "pods": draw(st.integers(0, 6))}
        if draw(st.booleans()):
            alloc["example.com/gpu"] = draw(st.integers(0, 4))
        if draw(st.integers(0, 4)) == 0:
            alloc["ephemeral-storage"] = draw(st.sampled_from([0, 10 << 30]))
        labels = {"zone": draw(st.sampled_from(ZONES))}
        if draw(st.booleans()):
            labels["disk"] = draw(st.sampled_from(["ssd", "hdd"]))
        if draw(st.booleans()):
            labels["gen"] = draw(st.sampled_from(["1", "2", "3", "x"]))
        taints = draw(st.lists(st.sampled_from(TAINTS), max_size=2, unique=True))
        images = {im: draw(st.sampled_from([10 << 20, 300 << 20, 900 << 20]))
                  for im in draw(st.lists(st.sampled_from(IMAGES), max_size=2, unique=True))}
        c.add_node(f"n{i}", alloc, labels=labels, taints=taints,
                   unschedulable=draw(st.integers(0, 5)) == 0, images=images)
    return c


def requirement(draw):
    key = draw(st.sampled_from(["zone", "disk", "gen"]))
    op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]))
    if op in ("Exists", "DoesNotExist"):
        values = []
    elif op in ("Gt", "Lt"):
        values = [draw(st.sampled_from(["0", "1", "2", "3"]))]
    else:
        values = draw(st.lists(st.sampled_from(ZONES + ["ssd", "hdd", "1", "2"]),
                               min_size=1, max_size=2))
    return {"key": key, "operator": op, "values": values}


@st.composite
def pods(draw, name="p"):
    kw = {}
    requests = {"cpu": draw(st.sampled_from([0, 100, 250, 1000, 3000])),
                "memory": draw(st.sampled_from([0, 64 << 20, 1 << 30, 3 << 30]))}
    if draw(st.integers(0, 3)) == 0:
        requests["example.com/gpu"] = draw(st.integers(1, 2))
    if draw(st.integers(0, 5)) == 0:
        del requests[draw(st.sampled_from(["cpu", "memory"]))]   # §1.3 defaults apply
    container = {"resources": {"requests": requests}}
    if draw(st.booleans()):
        container["image"] = draw(st.sampled_from(IMAGES + ["nginx"]))
    if draw(st.integers(0, 5)) == 0:
        container["ports"] = [{"containerPort": 80, "hostPort": draw(st.sampled_from([80, 81]))}]
    kw["containers"] = [container]
    if draw(st.integers(0, 3)) == 0:
        kw["node_selector"] = {"zone": draw(st.sampled_from(ZONES))}
    tolerations = []
    for taint in draw(st.lists(st.sampled_from(TAINTS), max_size=3, unique=True)):
        tolerations.append({"key": taint.key, "operator": "Exists"})
    if draw(st.integers(0, 6)) == 0:
        tolerations.append({"operator": "Exists"})
    kw["tolerations"] = tolerations
    if draw(st.integers(0, 2)) == 0:
        affinity = {}
        if draw(st.booleans()):
            affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
                {"matchExpressions": [requirement(draw) for _ in range(draw(st.integers(1, 2)))]}
                for _ in range(draw(st.integers(1, 2)))]}
        if draw(st.booleans()):
            affinity["preferredDuringSchedulingIgnoredDuringExecution"] = [
                {"weight": draw(st.integers(1, 100)),
                 "preference": {"matchExpressions": [requirement(draw)]}}
                for _ in range(draw(st.integers(1, 3)))]
        kw["node_affinity"] = affinity
    if draw(st.integers(0, 9)) == 0:
        kw["node_name"] = f"n{draw(st.integers(0, 12))}"
    return Pod(name, **kw)


PROFILES = [
    Profile(),
    Profile(fit=FitArgs(strategy="MostAllocated",
                        resources=(("cpu", 2), ("memory", 1), ("example.com/gpu", 3)))),
    Profile(fit=FitArgs(strategy="RequestedToCapacityRatio",
                        shape=((0, 10), (40, 4), (100, 0)),
                        resources=(("cpu", 1), ("memory", 3))),
            balanced_resources=(("cpu", 1), ("memory", 1), ("example.com/gpu", 1))),
    Profile(fit=FitArgs(ignored_resource_groups={"example.com"}),
            added_affinity={"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "zone", "operator": "NotIn", "values": ["c"]}]}]},
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 5, "preference": {"matchExpressions": [
                        {"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}),
    Profile(filters=("NodeResourcesFit", "TaintToleration", "NodeAffinity"),
            scores=(("ImageLocality", 4), ("TaintToleration", 1))),
]

RANDOM = settings(max_examples=120, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@RANDOM
@given(clusters(), st.lists(pods(), min_size=1, max_size=3), st.sampled_from(PROFILES),
       st.data())
def test_filter_and_score_equal_reference(cluster, existing_pods, profile, data):
    for i, pod in enumerate(existing_pods):      # some running pods, maybe overcommitted
        cluster.bind(pod.replica(f"e{i}", node_name=""), f"n{data.draw(st.integers(0, len(cluster) - 1))}",
                     force=True)
    pod = data.draw(pods("incoming"))
    s = Scheduler(cluster, profile)
    result = s.filter(pod)
    names = cluster.node_names
    want_feasible = ref.feasible(cluster, pod, profile)
    assert [names[i] for i in np.flatnonzero(result.feasible)] == want_feasible
    candidates, _ = ref.prefilter(cluster, pod, profile)
    for name in names:
        if candidates is None or name in candidates:
            assert result.reasons(name) == ref.filter_node(cluster, pod, name, profile)
    if not want_feasible:
        assert result.message == ref.fit_error_message(cluster, pod, profile)
    scores = s.score(pod)
    assert list(scores.nodes) == want_feasible
    want = ref.score_plugins(cluster, pod, profile, want_feasible)
    assert {k: [int(x) for x in v] for k, v in scores.plugins.items()} == want
    assert scores.total.tolist() == ref.total_scores(cluster, pod, profile, want_feasible)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(clusters(max_nodes=10), st.lists(pods(), min_size=1, max_size=6),
       st.sampled_from(PROFILES), st.integers(5, 40), st.booleans(), st.data())
def test_placement_sequences_equal_reference(cluster, shapes, profile, count, incremental,
                                             data):
    if "NodeName" not in profile.filters:       # bind refuses a pod on another node
        shapes = [shape.replica(shape.name, node_name="") for shape in shapes]
    order = [data.draw(st.integers(0, len(shapes) - 1)) for _ in range(count)]
    sequence = [shapes[k].replica(f"p{t}") for t, k in enumerate(order)]
    mirror = cluster.copy()
    result = Scheduler(cluster, profile, incremental=incremental).schedule_many(sequence)
    expected = [ref.schedule(mirror, pod, profile) for pod in sequence]
    assert result.nodes == expected
    assert cluster.snapshot() == mirror.snapshot()
    checked = "NodeResourcesFit" in profile.filters and not profile.fit.ignored_resource_groups
    if checked:                 # no placement overcommits a node

        over = (cluster.requested > cluster.allocatable) & (cluster.requested > 0)
        placed_rows = set(result.rows[result.rows >= 0].tolist())
        assert not over[list(placed_rows)].any() if placed_rows else True


def test_thousand_pod_sequence_with_templates_equals_reference():
    rng = random.Random(7)
    c = Cluster()
    for i in range(36):       # 36 nodes fill up within the 1,000 pods: late ones fail too
        c.add_node(f"n{i}", {"cpu": rng.choice([2000, 4000, 8000]),
                             "memory": rng.choice([4 << 30, 8 << 30, 16 << 30]),
                             "pods": 40},
                   labels={"zone": ZONES[i % 3], "disk": rng.choice(["ssd", "hdd"])},
                   taints=[TAINTS[2]] if i % 5 == 0 else [],
                   images={"nginx:1": 300 << 20} if i % 4 == 0 else None)
    shapes = [Pod(f"s{k}", containers=[{"image": rng.choice(IMAGES), "resources": {"requests": {
        "cpu": rng.choice([100, 250, 500]), "memory": rng.choice([128 << 20, 512 << 20])}}}],
        node_selector={"zone": ZONES[k % 3]} if k % 4 == 0 else {},
        tolerations=[{"key": "old", "operator": "Exists"}] if k % 3 == 0 else [])
        for k in range(6)]
    sequence = [shapes[rng.randrange(6)] for _ in range(1000)]      # templates: replicas
    mirror = c.copy()
    result = Scheduler(c).schedule_many(sequence)
    expected = [ref.schedule(mirror, pod.replica(f"r{t}"), Profile())
                for t, pod in enumerate(sequence)]
    assert result.nodes == expected
    assert np.array_equal(c.requested, mirror.requested)
    assert (c.requested <= np.maximum(c.allocatable, 0)).all()


@pytest.mark.skipif(not placement.SIMD, reason="no AVX2 on this CPU")
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.integers(0, 2**32 - 1))
def test_avx2_scan_equals_scalar_scan_and_reference(seed):
    """Zero allocatable, overcommitted nodes, cordons and ties through both scans."""
    import fastsched.scheduler.scheduler as sched_module
    rng = random.Random(seed)
    c = Cluster()
    n = rng.randrange(4, 23)
    for i in range(n):
        c.add_node(f"n{i}", {"cpu": rng.choice([0, 1000, 2000, 4000]),
                             "memory": rng.choice([0, 1 << 30, 4 << 30]),
                             "pods": rng.randrange(0, 8)},
                   labels={"zone": ZONES[i % 3]}, unschedulable=rng.random() < 0.1)
        if rng.random() < 0.3:
            c.bind(Pod(f"e{i}", requests={"cpu": rng.randrange(0, 5000),
                                          "memory": rng.randrange(0, 5 << 30)}), f"n{i}",
                   force=True)
    shapes = [Pod(f"s{k}", requests={"cpu": rng.choice([0, 100, 500]),
                                     "memory": rng.choice([0, 1 << 20, 1 << 29])},
                  node_selector={"zone": "a"} if k == 1 else {}) for k in range(3)]
    shapes.append(Pod("empty", containers=[{}]))
    sequence = [rng.choice(shapes).replica(f"p{t}") for t in range(40)]
    scalar, mirror = c.copy(), c.copy()
    vector = Scheduler(c, incremental=False).schedule_many(sequence)
    try:
        sched_module._k.SIMD = False
        plain = Scheduler(scalar, incremental=False).schedule_many(sequence)
    finally:
        sched_module._k.SIMD = True
    assert np.array_equal(vector.rows, plain.rows)
    assert np.array_equal(vector.scores, plain.scores)
    assert vector.nodes == [ref.schedule(mirror, pod, Profile()) for pod in sequence]


def test_compiled_rows_follow_node_changes():
    """The scheduler caches per-node rows between calls; node changes invalidate them."""
    c = make_cluster(("n1", {"cpu": 4000}, {"labels": {"zone": "a"}}),
                     ("n2", {"cpu": 4000}, {"labels": {"zone": "b"}}))
    s = Scheduler(c)
    pick = Pod("p", requests={"cpu": 100}, node_selector={"zone": "c"})
    assert isinstance(s.schedule(pick), Unschedulable)
    c.update_node("n2", labels={"zone": "c"})
    assert s.schedule(pick).node == "n2"
    c.update_node("n1", taints=[Taint("k", "v", "NoSchedule")], labels={"zone": "c"})
    assert s.schedule(Pod("q", requests={"cpu": 100}, node_selector={"zone": "c"})).node == "n2"
    c.add_node("n3", {"cpu": 8000}, labels={"zone": "c"})
    assert s.schedule(Pod("r", requests={"cpu": 100}, node_selector={"zone": "c"})).node == "n3"
    c.remove_node("n3")
    assert s.schedule(Pod("t", requests={"cpu": 100}, node_selector={"zone": "c"})).node == "n2"


def test_gang_all_or_nothing():
    c = make_cluster(("n1", {"cpu": 4000, "memory": 8 << 30}), ("n2", {"cpu": 2000, "memory": 8 << 30}))
    worker = Pod("w", requests={"cpu": 1500, "memory": 1 << 30})
    s = Scheduler(c)
    before = c.snapshot()
    failed = s.schedule_gang([worker] * 4)          # only 3 fit (2 + 1)
    assert failed.placed == 0 and len(failed) == 4
    assert failed[0].message.startswith("gang of 4 pods: only 3 can be placed together, 4 needed")
    assert "0/2 nodes are available" in failed[3].message
    assert c.snapshot() == before and len(c.pods) == 0
    assert int(c.columns.store.live().size) == 0
    partial = s.schedule_gang([worker] * 4, min_member=3)
    assert partial.placed == 3 and len(c.pods) == 3
    ok = s.schedule_gang([Pod("x", requests={"cpu": 100}), Pod("y", requests={"cpu": 100})])
    assert ok.placed == 2
    with pytest.raises(ValidationError, match="min_member"):
        s.schedule_gang([worker], min_member=2)


def test_repeated_failures_share_reasons_but_see_placements_in_between():
    # Pods of one spec that fail with nothing placed in between share one reason
    # histogram; a placement in between (here of a smaller pod) is seen.
    c = Cluster()
    c.add_node("n0", {"cpu": "1", "memory": "1Gi", "pods": 3})
    c.add_node("n1", {"cpu": "2", "memory": "1Gi", "pods": 3})
    big = Pod("big", requests={"cpu": "1500m"})
    small = Pod("small", requests={"cpu": "100m"})
    result = Scheduler(c).schedule_many([big, big, big, small, small, small, small, big])
    assert result.nodes == ["n1", None, None, "n0", "n0", "n0", "n1", None]
    first = "0/2 nodes are available: 2 Insufficient cpu."
    last = Scheduler(c).filter(big).message          # the state the last pod met
    assert last == "0/2 nodes are available: 1 Too many pods, 2 Insufficient cpu."
    assert [result[t].message for t in (1, 2, 7)] == [first, first, last]
    arrays = result.to_arrays()
    assert arrays["unschedulable"].tolist() == [1, 2, 7]
    assert arrays["reasons"][0].tolist() == arrays["reasons"][1].tolist()
    assert arrays["reasons"][2].tolist() != arrays["reasons"][0].tolist()
    assert result.scores[[1, 2, 7]].tolist() == [0, 0, 0]
