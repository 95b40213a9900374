"""The topology benchmarks' NumPy baseline places exactly like the scheduler.

bench/bench_topology.py compares fastsched with bench/_numpy_topology.py on
PodTopologySpread and InterPodAffinity workloads; that comparison means
something only if both compute the same thing. So on small versions of the
three benchmark workloads and on random variants (maxSkew 1–4, one to five
zones, nodes without a zone, hostname spreading, empty and missing selectors,
pods that match their own selector or not, other namespaces, bound pods with
anti-affinity, cordoned and tainted nodes, pods that do not fit), every pod must
land on the same node with the same total score as with ``Scheduler`` —
incremental or not — and short runs are checked against the plain reference.
"""

import random

import _reference as ref
import numpy as np
import pytest
from _numpy_topology import numpy_schedule_topology

from fastsched import Cluster, Pod, Profile, Scheduler, Service, Taint

ZONE, HOST = "topology.kubernetes.io/zone", "kubernetes.io/hostname"
MI = 1 << 20
NODE = {"cpu": 4000, "memory": 32 << 30, "pods": 110}


def zone_cluster(nodes=60, zones=3, running=0, labels=None, seed=0):
    """``nodes`` nodes over ``zones`` zones and ``running`` pods with ``labels``,
    most of them in the first zone (an uneven start)."""
    cluster = Cluster()
    for i in range(nodes):
        cluster.add_node(f"node-{i}", NODE, labels={ZONE: f"zone-{i % zones}"})
    rng = random.Random(seed)
    template = Pod("running", labels=labels or {}, requests={"cpu": 100, "memory": 500 * MI})
    for k in range(running):
        row = rng.randrange(nodes) if rng.random() < 0.4 else rng.randrange(0, nodes, zones)
        cluster.bind(template.replica(f"running-{k}"), f"node-{row}")
    return cluster


def spread_pod(name="spread", when="DoNotSchedule", max_skew=1, key=ZONE,
               selector=None, labels=None, cpu=100, **kw):
    """A pod with one spread constraint; selector and labels app=spread unless given
    (``selector="missing"`` for none at all)."""
    selector = {"app": "spread"} if selector is None else selector
    constraint = {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": when}
    if selector != "missing":
        constraint["labelSelector"] = {"matchLabels": selector}
    return Pod(name, labels={"app": "spread"} if labels is None else labels,
               requests={"cpu": cpu, "memory": 500 * MI},
               topology_spread_constraints=[constraint], **kw)


def anti_pod(name="anti", selector=None, labels=None, cpu=100, **kw):
    """A pod anti-affine on hostname to ``selector`` (app=anti unless given)."""
    term = {"topologyKey": HOST,
            "labelSelector": {"matchLabels": {"app": "anti"} if selector is None else selector}}
    return Pod(name, labels={"app": "anti"} if labels is None else labels,
               requests={"cpu": cpu, "memory": 500 * MI},
               pod_anti_affinity={"requiredDuringSchedulingIgnoredDuringExecution": [term]},
               **kw)


def assert_places_like_fastsched(cluster, pods):
    before = cluster.snapshot()
    rows, totals = numpy_schedule_topology(cluster, pods, return_scores=True)
    assert cluster.snapshot() == before, "the baseline must not change the cluster"
    for incremental in (True, False):
        result = Scheduler(cluster.copy(), incremental=incremental).schedule_many(pods)
        differ = np.flatnonzero(rows != result.rows)
        assert not len(differ), (f"incremental={incremental}: pod {int(differ[0])} on row "
                                 f"{int(rows[differ[0]])}, fastsched row "
                                 f"{int(result.rows[differ[0]])}")
        placed = rows >= 0
        assert np.array_equal(totals[placed], result.scores[placed])
    return rows


def assert_places_like_reference(cluster, pods):
    """The baseline against tests/_reference.py (slow: keep the runs short)."""
    pods = [pod.replica(f"{pod.name}-{i}") for i, pod in enumerate(pods)]
    rows = numpy_schedule_topology(cluster, pods)
    names = ref.schedule_all(cluster.copy(), pods, Profile())
    expected = [-1 if name is None else cluster.row(name) for name in names]
    assert rows.tolist() == expected


# -- the benchmark workloads, small -------------------------------------------------------

def test_topology_spreading():
    cluster = zone_cluster(running=40, labels={"app": "spread"})
    rows = assert_places_like_fastsched(cluster, [spread_pod()] * 200)
    assert (rows >= 0).all()
    zones = np.bincount(rows % 3, minlength=3)
    before = np.bincount([cluster.row(n) % 3 for _, n in cluster.bindings()], minlength=3)
    after = zones + before
    assert after.max() - after.min() <= 1          # maxSkew 1 reached and kept


def test_preferred_topology_spreading():
    cluster = zone_cluster(running=40, labels={"app": "spread"})
    rows = assert_places_like_fastsched(cluster, [spread_pod(when="ScheduleAnyway")] * 200)
    assert (rows >= 0).all()


def test_pod_anti_affinity():
    cluster = zone_cluster(running=20, labels={"app": "other"})
    rows = assert_places_like_fastsched(cluster, [anti_pod()] * 80)
    # One pod per node: 60 placed, then no node is left.
    assert len(set(rows[:60].tolist())) == 60 and (rows[60:] == -1).all()


@pytest.mark.parametrize("make", [
    lambda: spread_pod(), lambda: spread_pod(when="ScheduleAnyway"), lambda: anti_pod()],
    ids=["hard", "soft", "anti"])
def test_workloads_against_the_reference(make):
    cluster = zone_cluster(nodes=24, running=10, labels={"app": "spread"})
    assert_places_like_reference(cluster, [make()] * 40)


def test_spread_pods_that_stop_fitting():
    # 12 nodes of 1 CPU hold 10 pods of 100m each; zone-0's nodes are full first.
    cluster = Cluster()
    for i in range(12):
        cluster.add_node(f"node-{i}", {"cpu": 1000, "memory": 8 << 30},
                         labels={ZONE: f"zone-{i % 3}"})
    for when in ("DoNotSchedule", "ScheduleAnyway"):
        rows = assert_places_like_fastsched(cluster, [spread_pod(when=when)] * 150)
        assert (rows >= 0).sum() == 120


def test_hard_spread_on_a_key_no_node_has():
    rows = assert_places_like_fastsched(zone_cluster(nodes=9),
                                        [spread_pod(key="example.com/rack")] * 5)
    assert (rows == -1).all()


# -- random variants -------------------------------------------------------------------

def random_cluster(rng, nodes, zones):
    cluster = Cluster()
    for i in range(nodes):
        labels = {"rack": f"r{i % 4}"}
        if rng.random() < 0.9:
            labels[ZONE] = f"zone-{rng.randrange(zones)}"
        taints = []
        if rng.random() < 0.1:
            taints.append(Taint("dedicated", "db", "NoSchedule"))
        if rng.random() < 0.1:
            taints.append(Taint("spot", "true", "PreferNoSchedule"))
        cluster.add_node(f"node-{i}", {"cpu": rng.choice([1000, 2000, 4000]),
                                       "memory": rng.choice([2, 8, 32]) << 30,
                                       "pods": rng.choice([5, 20, 110])},
                         labels=labels, taints=taints, unschedulable=rng.random() < 0.05)
    names = cluster.node_names
    for k in range(rng.randrange(3 * nodes)):
        labels = rng.choice([{"app": "spread"}, {"app": "anti"}, {"app": "web"}, {}])
        namespace = rng.choice(["default", "default", "team"])
        if rng.random() < 0.1:
            pod = anti_pod(f"e{k}", selector=rng.choice([{"app": "anti"}, {"app": "web"}]),
                           labels=labels, namespace=namespace)
        else:
            pod = Pod(f"e{k}", labels=labels, namespace=namespace,
                      requests={"cpu": rng.choice([0, 100, 500]), "memory": 200 * MI})
        node = rng.choice(names)
        if not cluster.misfit_reasons(pod, node):
            cluster.bind(pod, node)
    return cluster


def random_templates(rng):
    def spread(name, **kw):
        return spread_pod(name, when=rng.choice(["DoNotSchedule", "ScheduleAnyway"]),
                          max_skew=rng.randint(1, 4), cpu=rng.choice([0, 100, 300, 1500]),
                          **kw)

    return [
        spread("s1"),
        spread("s2", labels={"app": "web"}),                  # does not match itself
        spread("s3", key=HOST),
        spread("s4", selector={}),                            # counts no pod, matches itself
        spread("s5", selector="missing"),                     # matches nothing
        spread("s6", selector={"app": "web"}, labels={"app": "web"}),
        spread("s7", namespace="team"),
        anti_pod("a1", cpu=rng.choice([100, 300])),
        anti_pod("a2", selector={"app": "web"}, labels={"app": "web"}),
        anti_pod("a3", labels={"app": "spread"}),              # not anti-affine to itself
        anti_pod("a4", selector={}, labels={"app": "quiet"}),  # anti-affine to every pod
        Pod("plain", labels={"app": "anti"}, requests={"cpu": 200, "memory": 1 << 30}),
        Pod("big", labels={"app": "spread"}, requests={"cpu": 3000, "memory": 16 << 30}),
        Pod("tolerant", labels={"app": "web"}, requests={"cpu": 100},
            tolerations=[{"key": "dedicated", "operator": "Exists"}]),
    ]


@pytest.mark.parametrize("seed", range(30))
def test_random_variants(seed):
    rng = random.Random(seed)
    cluster = random_cluster(rng, nodes=rng.randint(5, 40), zones=rng.randint(1, 5))
    templates = random_templates(rng)
    chosen = rng.sample(templates, rng.randint(1, 5))
    pods = [rng.choice(chosen) for _ in range(150)]
    rows = assert_places_like_fastsched(cluster, pods)
    assert (rows >= 0).any()


@pytest.mark.parametrize("seed", range(5))
def test_random_variants_against_the_reference(seed):
    rng = random.Random(100 + seed)
    cluster = random_cluster(rng, nodes=rng.randint(5, 15), zones=rng.randint(1, 4))
    templates = random_templates(rng)
    pods = [rng.choice(templates) for _ in range(40)]
    assert_places_like_reference(cluster, pods)


# -- what the baseline refuses -----------------------------------------------------------

@pytest.mark.parametrize("pod", [
    Pod("two", requests={"cpu": 100}, topology_spread_constraints=[
        {"maxSkew": 1, "topologyKey": ZONE, "labelSelector": {"matchLabels": {"a": "b"}}},
        {"maxSkew": 1, "topologyKey": HOST, "labelSelector": {"matchLabels": {"a": "b"}}}]),
    Pod("expr", requests={"cpu": 100}, topology_spread_constraints=[
        {"maxSkew": 1, "topologyKey": ZONE, "labelSelector": {"matchExpressions": [
            {"key": "a", "operator": "Exists"}]}}]),
    Pod("domains", requests={"cpu": 100}, topology_spread_constraints=[
        {"maxSkew": 1, "topologyKey": ZONE, "minDomains": 3,
         "labelSelector": {"matchLabels": {"a": "b"}}}]),
    Pod("zone-anti", requests={"cpu": 100}, pod_anti_affinity={
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": ZONE, "labelSelector": {"matchLabels": {"app": "anti"}}}]}),
    Pod("affine", requests={"cpu": 100}, pod_affinity={
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": HOST, "labelSelector": {"matchLabels": {"app": "x"}}}]}),
    spread_pod("selector", node_selector={ZONE: "zone-0"}),
    Pod("owned", requests={"cpu": 100}, owner_selector={"matchLabels": {"app": "x"}}),
], ids=["two-constraints", "match-expressions", "min-domains", "zone-anti-affinity",
        "pod-affinity", "node-selector", "owner-selector"])
def test_refuses_what_it_does_not_model(pod):
    with pytest.raises(NotImplementedError):
        numpy_schedule_topology(zone_cluster(nodes=6), [pod])


def test_refuses_pods_a_service_selects_and_other_profiles():
    pod = Pod("web", labels={"app": "web"}, requests={"cpu": 100})
    with pytest.raises(NotImplementedError):
        numpy_schedule_topology(zone_cluster(nodes=6), [pod],
                                services=[Service("web", selector={"app": "web"})])
    with pytest.raises(NotImplementedError):
        numpy_schedule_topology(zone_cluster(nodes=6), [pod],
                                Profile(scores=(("ImageLocality", 1),)))
