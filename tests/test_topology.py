"""PodTopologySpread and InterPodAffinity: the kernels equal the reference on random
clusters, pods, services and placement sequences; invariants of placements."""

import collections

import _reference as ref
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastsched import Cluster, FitArgs, Pod, Profile, Scheduler, Service, Unschedulable

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
APPS = ["a", "b", "c"]
NAMESPACES = ["default", "team"]

RANDOM = settings(max_examples=120, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def selector(draw):
    if draw(st.integers(0, 6)) == 0:
        return {}                                   # empty: every pod (counts none in spread)
    return {"matchLabels": {"app": draw(st.sampled_from(APPS))}}


def term(draw):
    t = {"topologyKey": draw(st.sampled_from([ZONE, HOST, ZONE])),
         "labelSelector": selector(draw)}
    if draw(st.integers(0, 5)) == 0:
        t["namespaces"] = [draw(st.sampled_from(NAMESPACES))]
    if draw(st.integers(0, 7)) == 0:
        t["namespaceSelector"] = {}
    return t


@st.composite
def topo_pods(draw, name="p", carriers=True):
    kw = {"namespace": draw(st.sampled_from(NAMESPACES + ["default"])),
          "labels": {"app": draw(st.sampled_from(APPS))},
          "requests": {"cpu": draw(st.sampled_from([100, 500, 1000])), "memory": 1 << 28}}
    spread = []
    for _ in range(draw(st.integers(0, 2))):
        c = {"maxSkew": draw(st.integers(1, 3)), "topologyKey": draw(st.sampled_from([ZONE, HOST])),
             "whenUnsatisfiable": draw(st.sampled_from(["DoNotSchedule", "ScheduleAnyway"])),
             "labelSelector": selector(draw)}
        if c["whenUnsatisfiable"] == "DoNotSchedule" and draw(st.integers(0, 4)) == 0:
            c["minDomains"] = draw(st.integers(1, 4))
        if draw(st.integers(0, 4)) == 0:
            c["nodeAffinityPolicy"] = "Ignore"
        if draw(st.integers(0, 4)) == 0:
            c["nodeTaintsPolicy"] = "Honor"
        if draw(st.integers(0, 5)) == 0:
            c["matchLabelKeys"] = ["app"]
        spread.append(c)
    kw["topology_spread_constraints"] = spread
    for field in ("pod_affinity", "pod_anti_affinity"):
        if draw(st.integers(0, 2)) == 0:
            kw[field] = {
                "requiredDuringSchedulingIgnoredDuringExecution":
                    [term(draw) for _ in range(draw(st.integers(0, 1)))],
                "preferredDuringSchedulingIgnoredDuringExecution":
                    [{"weight": draw(st.integers(1, 100)), "podAffinityTerm": term(draw)}
                     for _ in range(draw(st.integers(0, 2)))]}
    if draw(st.integers(0, 3)) == 0:
        kw["owner_selector"] = {"matchLabels": {"app": kw["labels"]["app"]}}
    if draw(st.integers(0, 4)) == 0:
        kw["node_selector"] = {ZONE: draw(st.sampled_from(["z0", "z1"]))}
    if draw(st.integers(0, 4)) == 0:
        kw["tolerations"] = [{"key": "spot", "operator": "Exists"}]
    return Pod(name, **kw)


@st.composite
def clusters(draw):
    c = Cluster()
    for i in range(draw(st.integers(1, 9))):
        labels = {} if draw(st.integers(0, 7)) == 0 else {ZONE: f"z{draw(st.integers(0, 2))}"}
        taints = [{"key": "spot", "value": "1", "effect": "NoSchedule"}] \
            if draw(st.integers(0, 5)) == 0 else []
        c.add_node(f"n{i}", {"cpu": 4000, "memory": 8 << 30, "pods": draw(st.integers(2, 8))},
                   labels=labels, taints=taints)
    for k in range(draw(st.integers(0, 8))):
        pod = draw(topo_pods(f"e{k}"))
        node = f"n{draw(st.integers(0, len(c) - 1))}"
        c.bind(pod.replica(pod.name, node_selector={}, topology_spread_constraints=()), node,
               force=True)
    return c


def services(draw):
    return [Service(name=f"s{i}", namespace=draw(st.sampled_from(NAMESPACES)),
                    selector={"app": draw(st.sampled_from(APPS))})
            for i in range(draw(st.integers(0, 2)))]


PROFILES = [Profile(), Profile(hard_pod_affinity_weight=5,
                               ignore_preferred_terms_of_existing_pods=True)]
NS_LABELS = {"team": {"tier": "x"}}


@RANDOM
@given(clusters(), st.sampled_from(PROFILES), st.data())
def test_filter_and_scores_equal_reference(cluster, profile, data):
    svc = services(data.draw)
    pod = data.draw(topo_pods("incoming"))
    kw = {"services": svc, "namespace_labels": NS_LABELS}
    s = Scheduler(cluster, profile, **kw)
    result = s.filter(pod)
    names = cluster.node_names
    want = ref.feasible(cluster, pod, profile, **kw)
    assert [names[i] for i in np.flatnonzero(result.feasible)] == want
    for name in names:
        assert result.reasons(name) == ref.filter_node(cluster, pod, name, profile, **kw), name
    if not want:
        assert result.message == ref.fit_error_message(cluster, pod, profile, **kw)
        return
    scores = s.score(pod)
    expected = ref.score_plugins(cluster, pod, profile, want, **kw)
    got = {k: [int(x) for x in v] for k, v in scores.plugins.items()}
    assert got == expected


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(clusters(), st.lists(topo_pods(), min_size=1, max_size=4), st.integers(3, 25),
       st.data())
def test_sequences_equal_reference(cluster, shapes, count, data):
    svc = services(data.draw)
    kw = {"services": svc, "namespace_labels": NS_LABELS}
    order = [data.draw(st.integers(0, len(shapes) - 1)) for _ in range(count)]
    sequence = [shapes[k].replica(f"p{t}") for t, k in enumerate(order)]
    mirror = cluster.copy()
    result = Scheduler(cluster, Profile(), **kw).schedule_many(sequence)
    expected = [ref.schedule(mirror, pod, Profile(), **kw) for pod in sequence]
    assert result.nodes == expected


def test_hard_zone_spread_keeps_skew_within_max():
    c = Cluster()
    for i in range(7):
        c.add_node(f"n{i}", {"cpu": "16", "memory": "64Gi"}, labels={ZONE: f"z{i % 3}"})
    web = Pod("web", labels={"app": "web"}, requests={"cpu": "100m"},
              topology_spread_constraints=[{"maxSkew": 1, "topologyKey": ZONE,
                                            "labelSelector": {"matchLabels": {"app": "web"}}}])
    result = Scheduler(c, incremental=False).schedule_many([web] * 40)
    zones = collections.Counter()
    for node in result.nodes:
        zones[c.node_labels(node)[ZONE]] += 1
        assert max(zones.values()) - min(zones.get(z, 0) for z in ("z0", "z1", "z2")) <= 1


def test_hostname_anti_affinity_one_per_node():
    c = Cluster()
    for i in range(5):
        c.add_node(f"n{i}", {"cpu": "16", "memory": "64Gi"})
    db = Pod("db", labels={"app": "db"}, requests={"cpu": "100m"}, pod_anti_affinity={
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": HOST, "labelSelector": {"matchLabels": {"app": "db"}}}]})
    result = Scheduler(c).schedule_many([db] * 7)
    placed = [n for n in result.nodes if n]
    assert len(placed) == 5 == len(set(placed))
    last = result[6]
    assert isinstance(last, Unschedulable)
    assert last.message == "0/5 nodes are available: 5 node(s) didn't match pod anti-affinity rules."


def test_default_spreading_from_services():
    c = Cluster()
    for i in range(3):
        c.add_node(f"n{i}", {"cpu": "16", "memory": "64Gi"}, labels={ZONE: f"z{i}"})
    api = Pod("api", labels={"app": "api"}, requests={"cpu": "100m", "memory": "128Mi"})
    svc = Service(name="api", selector={"app": "api"})
    with_service = Scheduler(c.copy(), services=[svc]).schedule_many([api] * 3).nodes
    assert sorted(with_service) == ["n0", "n1", "n2"]          # spread by default
    packing = Profile(scores=(("NodeResourcesFit", 1),), fit=FitArgs(strategy="MostAllocated"))
    packed = Scheduler(c.copy(), packing, services=[svc]).schedule_many([api] * 3).nodes
    assert len(set(packed)) == 1


def test_many_distinct_specs_run_in_chunks_that_see_each_other():
    """Beyond 256 distinct specs a call runs in chunks; each chunk's placements must
    count for the next chunk's spread counters."""
    c = Cluster()
    for i in range(9):
        c.add_node(f"n{i}", {"cpu": "64", "memory": "256Gi", "pods": 500}, labels={ZONE: f"z{i % 3}"})
    pods = [Pod(f"p{k}", labels={"app": "x"}, requests={"cpu": 10 + k, "memory": "1Mi"},
                topology_spread_constraints=[{"maxSkew": 1, "topologyKey": ZONE,
                                              "labelSelector": {"matchLabels": {"app": "x"}}}])
            for k in range(600)]
    result = Scheduler(c).schedule_many(pods)
    zones = collections.Counter(c.node_labels(n)[ZONE] for n in result.nodes)
    assert result.placed == 600 and sorted(zones.values()) == [200, 200, 200]
