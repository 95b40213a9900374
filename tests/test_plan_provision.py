"""Provisioning: plans that the scheduler accepts, bounds that hold, optimum on small
cases found by enumeration."""

from __future__ import annotations

import collections
import itertools
from pathlib import Path

import pytest

import fastsched as fs
from fastsched.plan.provision import provision

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SMALL = fs.Catalog.load(EXAMPLES / "catalog-small.yaml")


def _pods(shapes):
    out = []
    for k, (req, n, extra) in enumerate(shapes):
        template = fs.Pod(name=f"s{k}", requests=req, **extra)
        out += [template.replica(f"s{k}-{i}") for i in range(n)]
    return out


def check_plan(plan, pods, catalog, cluster=None):
    """Bind the plan on the nodes it names, each pod after Scheduler.filter says its
    node passes: an independent check of feasibility. A pod the filter refuses for
    now (a spread constraint's skew depends on the order) waits for the next pass;
    a pass that binds nothing fails the check."""
    c = cluster.copy() if cluster is not None else fs.Cluster()
    for name, type_name, zone in plan.nodes:
        t = catalog[type_name]
        c.add_node(name, t.allocatable, labels=t.node_labels(zone or None), taints=t.taints)
    waiting = [p for p in pods if p.key not in plan.unplaceable]
    while waiting:
        deferred = []
        for pod in waiting:
            node = plan.assignment[pod.key]
            if fs.Scheduler(c).filter(pod).feasible[c.row(node)]:
                c.bind(pod, node)
            else:
                deferred.append(pod)
        assert len(deferred) < len(waiting), [(p.key, plan.assignment[p.key])
                                              for p in deferred]
        waiting = deferred
    assert plan.cost + 1e-9 >= plan.lower_bound
    assert plan.cost == pytest.approx(sum(catalog[t].price * n for t, n in plan.new_nodes.items()))
    return c


def test_a_mixed_workload_gets_a_checked_plan_with_a_small_gap():
    gpu = {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}
    zone_a = {"node_selector": {"topology.kubernetes.io/zone": "zone-a"}}
    pods = _pods([({"cpu": "500m", "memory": "1Gi"}, 40, {}),
                  ({"cpu": "2", "memory": "6Gi"}, 12, zone_a),
                  ({"cpu": "1", "memory": "16Gi", "nvidia.com/gpu": 1}, 3, gpu),
                  ({"cpu": "100", "memory": "1Gi"}, 2, {})])          # fits no type
    plan = provision(fs.Cluster(), pods, SMALL, time_limit=20)
    check_plan(plan, pods, SMALL)
    assert sorted(plan.unplaceable) == ["default/s3-0", "default/s3-1"]
    assert "Insufficient cpu" in plan.unplaceable["default/s3-0"]
    assert plan.new_nodes.get("gpu") == 2                 # 3 GPU pods, 2 GPUs per node
    assert plan.status in ("OPTIMAL", "FEASIBLE") and 0 <= plan.gap < 1
    zone_nodes = {n for n, t, z in plan.nodes if z == "zone-a"}
    assert all(plan.assignment[p.key] in zone_nodes for p in pods if p.name.startswith("s1-"))
    assert "ProvisionPlan(" in repr(plan) and len(repr(plan)) < 300


@pytest.mark.parametrize("n_small, n_big", [(1, 0), (3, 0), (0, 2), (5, 1), (9, 3)])
def test_small_cases_are_optimal_by_enumeration(n_small, n_big):
    catalog = fs.Catalog.from_dict({"types": [
        {"name": "a", "capacity": {"cpu": "2", "memory": "8Gi"}, "price": 0.10},
        {"name": "b", "capacity": {"cpu": "8", "memory": "32Gi"}, "price": 0.36}]})
    pods = _pods([({"cpu": "1", "memory": "1Gi"}, n_small, {}),
                  ({"cpu": "3", "memory": "2Gi"}, n_big, {})])
    plan = provision(fs.Cluster(), pods, catalog, time_limit=10)
    check_plan(plan, pods, catalog)
    best = min(0.10 * a + 0.36 * b for a, b in itertools.product(range(12), range(6))
               if _fits(a, b, n_small, n_big))
    assert plan.lower_bound <= best + 1e-9
    assert plan.cost == pytest.approx(best)


def _fits(a, b, small, big):
    """Whether ``a`` 2-cpu and ``b`` 8-cpu nodes hold the pods: big (3 cpu) ones go two
    to a b node at most; the small (1 cpu) ones fill what is left node by node."""
    if big > 2 * b:
        return False
    per_b = [2] * (big // 2) + [1] * (big % 2)
    room = sum(8 - 3 * k for k in per_b) + 8 * (b - len(per_b))
    return small <= 2 * a + room


def test_existing_capacity_is_used_first():
    cluster = fs.Cluster()
    cluster.add_node("old", {"cpu": "4", "memory": "16Gi"})
    pods = _pods([({"cpu": "1", "memory": "1Gi"}, 6, {})])
    plan = provision(cluster, pods, SMALL, time_limit=10)
    assert sum(1 for node in plan.assignment.values() if node == "old") == 4
    check_plan(plan, pods, SMALL, cluster)
    assert not cluster.pods                               # the input cluster is untouched


HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"
TWO = fs.Catalog.from_dict({"types": [
    {"name": "a", "capacity": {"cpu": "2", "memory": "8Gi"}, "price": 0.10,
     "zones": ["z1", "z2", "z3"]},
    {"name": "b", "capacity": {"cpu": "8", "memory": "32Gi"}, "price": 0.30,
     "zones": ["z1", "z2", "z3"]}]})


def _anti(app):
    return {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": HOST, "labelSelector": {"matchLabels": {"app": app}}}]}


def _spread(app, key=ZONE, skew=1):
    return [{"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": {"matchLabels": {"app": app}}}]


def test_hostname_anti_affinity_puts_one_pod_per_node():
    # 5 db pods of 1 cpu: one per node, so five small nodes (0.50), not one large
    # (0.30) holding all five; the web pods fill the db nodes' free cpu first
    pods = _pods([({"cpu": "1", "memory": "1Gi"}, 5,
                   {"labels": {"app": "db"}, "pod_anti_affinity": _anti("db")}),
                  ({"cpu": "1", "memory": "1Gi"}, 5, {"labels": {"app": "web"}})])
    plan = provision(fs.Cluster(), pods, TWO, time_limit=10)
    check_plan(plan, pods, TWO)
    db_nodes = [plan.assignment[p.key] for p in pods if p.labels["app"] == "db"]
    assert len(set(db_nodes)) == 5
    assert plan.cost == pytest.approx(0.50) and plan.status == "OPTIMAL"
    assert plan.stats["topology"]["anti_affinity"] == 5


def test_anti_affinity_between_kinds_keeps_them_apart():
    # cache pods refuse to share a node with db pods: 2+2 cpu on two a-nodes each side
    pods = _pods([({"cpu": "1", "memory": "1Gi"}, 4, {"labels": {"app": "db"}}),
                  ({"cpu": "1", "memory": "1Gi"}, 4,
                   {"labels": {"app": "cache"}, "pod_anti_affinity": _anti("db")})])
    plan = provision(fs.Cluster(), pods, TWO, time_limit=10)
    check_plan(plan, pods, TWO)
    db = {plan.assignment[p.key] for p in pods if p.labels["app"] == "db"}
    cache = {plan.assignment[p.key] for p in pods if p.labels["app"] == "cache"}
    assert not db & cache
    # alone each side packs into 4 cpu: two a nodes (0.20) each; b's 0.30 is dearer
    assert plan.cost == pytest.approx(0.40)


def test_zone_spread_deals_pods_evenly_and_the_scheduler_agrees():
    pods = _pods([({"cpu": "1", "memory": "1Gi"}, 7,
                   {"labels": {"app": "web"}, "topology_spread_constraints": _spread("web")})])
    plan = provision(fs.Cluster(), pods, TWO, time_limit=10)
    c = check_plan(plan, pods, TWO)
    zones = sorted(collections.Counter(c.node_labels(plan.assignment[p.key])[ZONE]
                                       for p in pods).values())
    assert zones == [2, 2, 3]
    assert plan.stats["topology"]["zone_spread"] == 7
    # without the constraint, 7 cpu go on one b node (0.30); with it each zone needs
    # its own node: 2, 2 and 3 cpu, so a, a and b (or a+a) per zone
    assert plan.cost == pytest.approx(0.10 + 0.10 + 0.20)
    assert plan.lower_bound <= plan.cost + 1e-9


def test_zone_spread_counts_the_pods_already_there():
    cluster = fs.Cluster()
    for z in ("z1", "z2", "z3"):
        cluster.add_node(f"old-{z}", {"cpu": "1", "memory": "4Gi"}, labels={ZONE: z})
    web = fs.Pod("web", labels={"app": "web"}, requests={"cpu": "1", "memory": "1Gi"},
                 topology_spread_constraints=_spread("web"))
    cluster.bind(web.replica("web-old-1"), "old-z1")
    cluster.bind(web.replica("web-old-2"), "old-z2")
    pods = [web.replica(f"web-{i}") for i in range(4)]
    plan = provision(cluster, pods, TWO, time_limit=10)
    c = check_plan(plan, pods, TWO, cluster)
    per_zone = collections.Counter(c.node_labels(n)[ZONE] for n in c.node_names
                                   for _ in c.node(n).pods)
    assert max(per_zone.values()) - min(per_zone.values()) <= 1
    assert sum(per_zone.values()) == 6


def test_hostname_spread_caps_pods_per_node():
    pods = _pods([({"cpu": "500m", "memory": "1Gi"}, 6,
                   {"labels": {"app": "w"}, "topology_spread_constraints": _spread("w", HOST, 2)})])
    plan = provision(fs.Cluster(), pods, TWO, time_limit=10)
    check_plan(plan, pods, TWO)
    per_node = collections.Counter(plan.assignment[p.key] for p in pods)
    assert max(per_node.values()) <= 2 and plan.cost == pytest.approx(0.30)


def test_bad_arguments():
    with pytest.raises(fs.ValidationError, match="objective"):
        provision(fs.Cluster(), [], SMALL, objective="speed")
    with pytest.raises(fs.ValidationError, match="time_limit"):
        provision(fs.Cluster(), [], SMALL, time_limit=0)
