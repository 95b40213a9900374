"""Batch placement (fastsched.solver.batch): hand-checked optima, brute force on
random tiny instances, groups, limits, bad input and atomic apply.

Every check is structural: statuses, objective values, bounds and the validity of
the returned plans, never timings. The plain checker ``violations`` below reads
the cluster through its public API and the value types' own matching rules, not
through the solver's arrays or the filter kernel.
"""

import itertools
import math
import random

import numpy as np
import pytest

pytest.importorskip("ortools")

from fastsched import Cluster, DoesNotFitError, Pod, Taint, ValidationError
from fastsched.model.taints import UNSCHEDULABLE_TAINT, tolerated
from fastsched.solver.batch import AntiAffinity, BatchResult, Gang, Spread, solve_batch
from fastsched.solver.status import Status, gap

ZONE = "topology.kubernetes.io/zone"
GI = 1 << 30


# -- a plain checker ------------------------------------------------------------------


def static_ok(cluster, pod, node):
    """NodeUnschedulable, NodeName, TaintToleration and NodeAffinity, plainly."""
    info = cluster.node(node)
    if info.unschedulable and not tolerated(UNSCHEDULABLE_TAINT, pod.tolerations):
        return False
    if pod.node_name and pod.node_name != node:
        return False
    if any(t.effect in ("NoSchedule", "NoExecute") and not tolerated(t, pod.tolerations)
           for t in info.taints):
        return False
    if any(info.labels.get(k) != v for k, v in pod.node_selector.items()):
        return False
    return pod.node_affinity is None or pod.node_affinity.required_matches(info.labels, node)


def members(group, pods):
    """Positions of the batch a group covers (groups here list Pod objects)."""
    ids = {id(p) for p in group.pods}
    return [t for t, pod in enumerate(pods) if id(pod) in ids]


def zone_of(cluster, node):
    return cluster.node_labels(node).get(ZONE)


def domain(cluster, node, key):
    return node if key == "kubernetes.io/hostname" else cluster.node_labels(node).get(key)


def violations(cluster, pods, nodes, gangs=(), anti=(), spread=(), given=None):
    """Every way the plan ``nodes`` (aligned with ``pods``) breaks a rule; groups name
    the pods as ``given`` to the solver (replicas are renamed copies)."""
    given = pods if given is None else given
    out = []
    names = cluster.node_names
    for node in names:
        row = cluster.row(node)
        total = np.array(cluster.requested[row], np.int64)
        for pod, where in zip(pods, nodes):
            if where == node:
                total = total + cluster.request_vector(pod)
        over = [r for r, a, t in zip(cluster.resources, cluster.allocatable[row], total)
                if t > a and t > cluster.requested[row][cluster.resources.index(r)]]
        if over:
            out.append(f"{node} over {over}")
    for pod, where in zip(pods, nodes):
        if where is not None and not static_ok(cluster, pod, where):
            out.append(f"{pod.key} fails the static filters of {where}")
        if where is not None and cluster.missing_resources(pod):
            out.append(f"{pod.key} asks for a resource no node has")
    for gang in gangs:
        ts = members(gang, given)
        placed = sum(nodes[t] is not None for t in ts)
        need = len(ts) if gang.min_member is None else gang.min_member
        if 0 < placed < need:
            out.append(f"gang {gang.name}: {placed} of {len(ts)} placed")
    for a in anti:
        counts = {}
        for t in members(a, given):
            if nodes[t] is not None:
                d = domain(cluster, nodes[t], a.topology_key)
                if d is not None:
                    counts[d] = counts.get(d, 0) + 1
        if counts and max(counts.values()) > a.max_per_domain:
            out.append(f"anti-affinity {counts}")
    for s in spread:
        ts = members(s, given)
        eligible = {domain(cluster, n, s.topology_key) for n in names
                    if domain(cluster, n, s.topology_key) is not None
                    and any(static_ok(cluster, pods[t], n) for t in ts)}
        counts = {d: 0 for d in eligible}
        for t in ts:
            if nodes[t] is not None:
                d = domain(cluster, nodes[t], s.topology_key)
                if d is None:
                    out.append(f"spread pod on {nodes[t]} without {s.topology_key}")
                    continue
                counts[d] = counts.get(d, 0) + 1     # outside: a static failure
        if counts and max(counts.values()) - min(counts.values()) > s.max_skew:
            out.append(f"spread {counts}")
    return out


def weights(pods):
    levels = sorted({p.priority for p in pods})
    return [1 + levels.index(p.priority) for p in pods]


def nodes_in_use(cluster, nodes):
    busy = {n for n in cluster.node_names if cluster.pod_counts[cluster.row(n)] > 0}
    return len(busy | {n for n in nodes if n is not None})


def peak(cluster, pods, nodes):
    """Peak utilization in permille (rounded up) over the nodes some pod of the batch
    passes the static filters of and fits alone, and the resources of the batch."""
    cols = {cluster.resources.index(r) for r in ("cpu", "memory")}
    for pod in pods:
        vec = cluster.request_vector(pod)
        cols |= {c for c in np.flatnonzero(vec).tolist() if cluster.resources[c] != "pods"}
    best = 0
    for node in cluster.node_names:
        row = cluster.row(node)
        if not any(static_ok(cluster, p, node) and not cluster.misfit_reasons(p, node)
                   for p in pods):
            continue
        total = np.array(cluster.requested[row], np.int64)
        for pod, where in zip(pods, nodes):
            if where == node:
                total = total + cluster.request_vector(pod)
        for c in cols:
            alloc = int(cluster.allocatable[row][c])
            if alloc > 0:
                best = max(best, -(-1000 * int(total[c]) // alloc))
    return best


def brute_force(cluster, pods, given, objective, **groups):
    """The best objective over every plan, by enumeration: (weight placed, second
    level) with the second level None for max_placed."""
    names = list(cluster.node_names)
    w = weights(pods)
    best = None
    for combo in itertools.product([None] + names, repeat=len(pods)):
        nodes = list(combo)
        if violations(cluster, pods, nodes, groups.get("gangs", ()),
                      groups.get("anti", ()), groups.get("spread", ()), given):
            continue
        placed = sum(wt for wt, n in zip(w, nodes) if n is not None)
        if objective == "max_placed":
            key = (placed, 0)
        elif objective == "min_nodes":
            key = (placed, -nodes_in_use(cluster, nodes))
        else:
            key = (placed, -peak(cluster, pods, nodes))
        if best is None or key > best:
            best = key
    return best


def final_nodes(result):
    return list(result.nodes)


# -- hand-checked cases ---------------------------------------------------------------


def small_cluster():
    c = Cluster()
    c.add_node("a", {"cpu": "4", "memory": "8Gi"}, labels={ZONE: "z1"})
    c.add_node("b", {"cpu": "4", "memory": "8Gi"}, labels={ZONE: "z1"})
    c.add_node("c", {"cpu": "8", "memory": "16Gi"}, labels={ZONE: "z2"})
    return c


def test_min_nodes_uses_the_big_node_first():
    c = small_cluster()
    pods = [Pod("p", requests={"cpu": "1", "memory": "1Gi"})] * 10
    r = solve_batch(c, pods, objective="min_nodes", time_limit=5)
    assert r.status == "OPTIMAL"
    assert (r.objective_value, r.best_bound, r.gap) == (2, 2, 0.0)
    assert r.placed == 10 and r.nodes_before == 0 and r.nodes_after == 2
    assert r.nodes.count("c") == 8
    assert not violations(c, r.pods, r.nodes)


def test_min_nodes_consolidates_onto_running_nodes():
    c = small_cluster()
    c.bind(Pod("running", requests={"cpu": "1"}), "b")
    pods = [Pod("p", requests={"cpu": "1", "memory": "1Gi"})] * 3
    r = solve_batch(c, pods, objective="min_nodes", time_limit=5)
    assert r.status == "OPTIMAL"
    assert r.nodes == ("b", "b", "b")
    assert r.nodes_before == 1 and r.nodes_after == 1 and r.objective_value == 1


def test_max_placed_prefers_priority():
    c = Cluster()
    c.add_node("n", {"cpu": "2", "memory": "8Gi"})
    low = Pod("low", requests={"cpu": "1"})
    high = Pod("high", requests={"cpu": "2"}, priority=100)
    r = solve_batch(c, [low, high], objective="max_placed", time_limit=5)
    # the high-priority pod weighs 2, the low one 1: the node takes the high one
    assert r.status == "OPTIMAL"
    assert r.assignment == {"default/low": None, "default/high": "n"}
    assert (r.objective_value, r.placed_weight, r.placed_bound) == (2, 2, 2)


def test_balance_spreads_to_the_lowest_peak():
    c = small_cluster()
    pods = [Pod("p", requests={"cpu": "1", "memory": "1Gi"})] * 10
    r = solve_batch(c, pods, objective="balance", time_limit=5)
    # peak <= 625 would need a, b <= 2 and c <= 5: only 9 pods; so 750 is optimal
    assert r.status == "OPTIMAL"
    assert r.objective_value == 750 and r.best_bound == 750
    assert not violations(c, r.pods, r.nodes)


def test_extended_resources_and_static_filters():
    c = Cluster()
    c.add_node("gpu", {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": 2},
               taints=[Taint("gpu", "yes", "NoSchedule")])
    c.add_node("plain", {"cpu": "8", "memory": "32Gi"}, labels={"disk": "ssd"})
    c.add_node("off", {"cpu": "8", "memory": "32Gi"}, unschedulable=True)
    job = Pod("job", requests={"cpu": "1", "nvidia.com/gpu": 1},
              tolerations=[{"key": "gpu", "operator": "Exists"}])
    web = Pod("web", requests={"cpu": "1"}, node_selector={"disk": "ssd"})
    r = solve_batch(c, [job] * 3 + [web] * 2, objective="max_placed", time_limit=5)
    assert r.status == "OPTIMAL"
    assert r.nodes == ("gpu", "gpu", None, "plain", "plain")
    assert r.placed == 4 and r.objective_value == 4 and r.best_bound == 4
    assert not violations(c, r.pods, r.nodes)


def test_pod_count_is_a_resource():
    c = Cluster()
    c.add_node("n", {"cpu": "8", "memory": "8Gi", "pods": 3})
    c.bind(Pod("running"), "n")
    r = solve_batch(c, [Pod("p", requests={"cpu": "10m"})] * 5, objective="max_placed",
                    time_limit=5)
    assert r.placed == 2 and r.status == "OPTIMAL"


def test_replicas_are_named_by_position():
    c = small_cluster()
    t = Pod("web", requests={"cpu": "1"})
    other = Pod("db", requests={"cpu": "1"})
    r = solve_batch(c, [t, other, t], time_limit=5)
    assert [p.name for p in r.pods] == ["web-0", "db", "web-2"]
    assert set(r.assignment) == {"default/web-0", "default/db", "default/web-2"}


def test_host_ports_never_share_a_node():
    c = small_cluster()
    pod = Pod("proxy", containers=[{"name": "p", "resources": {"requests": {"cpu": "100m"}},
                                    "ports": [{"containerPort": 80, "hostPort": 8080}]}])
    c.bind(pod.replica("running"), "a")
    r = solve_batch(c, [pod] * 3, objective="max_placed", time_limit=5)
    assert r.status == "OPTIMAL" and r.placed == 2
    assert sorted(n for n in r.nodes if n) == ["b", "c"]


def test_progress_reports_incumbent_and_bound():
    c = small_cluster()
    seen = []
    r = solve_batch(c, [Pod("p", requests={"cpu": "1", "memory": "1Gi"})] * 10,
                    objective="balance", time_limit=5,
                    progress=lambda inc, bound: seen.append((inc, bound)))
    assert seen and all(isinstance(i, int) and isinstance(b, int) for i, b in seen)
    assert all(b <= i for i, b in seen)
    assert seen[-1][0] == r.objective_value


def test_workers_and_stats_are_recorded():
    c = small_cluster()
    r = solve_batch(c, [Pod("p", requests={"cpu": "1"})] * 3, workers=1, seed=7,
                    objective="balance", time_limit=5)
    assert r.workers == 1 and r.options.seed == 7
    assert r.stats["shapes"] == 1 and r.stats["num_variables"] > 0
    assert {"conflicts", "branches", "phases"} <= set(r.stats)


def test_empty_batch_and_empty_cluster():
    r = solve_batch(small_cluster(), [], time_limit=1)
    assert r.status == "OPTIMAL" and r.placed == 0 and r.objective_value == 0
    r = solve_batch(Cluster(), [Pod("p")], objective="max_placed", time_limit=1)
    assert r.status == "OPTIMAL" and r.nodes == (None,) and r.objective_value == 0


# -- groups ---------------------------------------------------------------------------


def test_gang_is_all_or_nothing():
    c = small_cluster()           # 4 + 4 + 8 cpu: room for two 3-cpu pods... and more
    big = Pod("big", requests={"cpu": "5"})
    gang = Gang([big], name="train")
    r = solve_batch(c, [big] * 3, objective="max_placed", gangs=[gang], time_limit=5)
    assert r.status == "OPTIMAL" and r.placed == 0 and r.placed_bound == 0
    r = solve_batch(c, [big] * 3, objective="max_placed",
                    gangs={"train": ([big], 1)}, time_limit=5)
    assert r.placed == 1


def test_gang_with_min_member():
    c = Cluster()
    c.add_node("n", {"cpu": "4", "memory": "8Gi"})
    w = Pod("w", requests={"cpu": "1"})
    other = Pod("o", requests={"cpu": "3"}, priority=10)
    # `other` weighs 2 (the higher priority) and leaves 1 cpu: one gang pod, less than
    # min_member. Three gang pods weigh 3 and take 3 cpu: `other` no longer fits.
    r = solve_batch(c, [other] + [w] * 3, objective="max_placed",
                    gangs=Gang([w], min_member=2), time_limit=5)
    assert r.status == "OPTIMAL"
    assert r.nodes == (None, "n", "n", "n") and r.objective_value == 3
    assert not violations(c, r.pods, r.nodes, gangs=[Gang([w], min_member=2)],
                          given=[other] + [w] * 3)


def test_anti_affinity_per_node_and_per_zone():
    c = small_cluster()
    db = Pod("db", requests={"cpu": "100m"})
    per_node = AntiAffinity([db])
    r = solve_batch(c, [db] * 4, objective="max_placed", anti_affinity=per_node,
                    time_limit=5)
    assert r.placed == 3 and len({n for n in r.nodes if n}) == 3
    per_zone = AntiAffinity([db], max_per_domain=2, topology_key=ZONE)
    r = solve_batch(c, [db] * 5, objective="min_nodes", anti_affinity=[per_zone],
                    time_limit=5)
    assert r.placed == 4 and r.status == "OPTIMAL"
    assert not violations(c, r.pods, r.nodes, anti=[per_zone], given=[db] * 5)


def test_anti_affinity_selector_counts_running_pods():
    c = small_cluster()
    c.bind(Pod("old", labels={"app": "db"}, requests={"cpu": "100m"}), "a")
    db = Pod("db", labels={"app": "db"}, requests={"cpu": "100m"})
    r = solve_batch(c, [db] * 3, objective="max_placed",
                    anti_affinity={"db": {"pods": {"matchLabels": {"app": "db"}}}},
                    time_limit=5)
    assert r.placed == 2 and "a" not in r.nodes


def test_spread_is_honoured():
    c = small_cluster()
    c.add_node("d", {"cpu": "64", "memory": "64Gi"}, labels={ZONE: "z3"})
    c.add_node("nokey", {"cpu": "64", "memory": "64Gi"})
    web = Pod("web", requests={"cpu": "500m"})
    s = Spread([web], ZONE, max_skew=1)
    r = solve_batch(c, [web] * 7, objective="min_nodes", spread=[s], time_limit=5)
    assert r.placed == 7 and r.status == "OPTIMAL"
    assert "nokey" not in r.nodes
    assert not violations(c, r.pods, r.nodes, spread=[s], given=[web] * 7)
    zones = sorted(zone_of(c, n) for n in r.nodes)
    assert max(zones.count(z) for z in ("z1", "z2", "z3")) == 3


def test_spread_broken_by_running_pods_is_infeasible():
    c = Cluster()
    c.add_node("a", {"cpu": "8", "memory": "8Gi"}, labels={ZONE: "z1"})
    c.add_node("b", {"cpu": "8", "memory": "8Gi", "pods": 0}, labels={ZONE: "z2"})
    for i in range(3):
        c.bind(Pod(f"old-{i}", labels={"app": "web"}, requests={"cpu": "1"}), "a")
    web = Pod("web", labels={"app": "web"}, requests={"cpu": "1"})
    r = solve_batch(c, [web], objective="max_placed", time_limit=5,
                    spread=Spread({"matchLabels": {"app": "web"}}, ZONE))
    assert r.status == "INFEASIBLE" and r.nodes == (None,)
    assert r.objective_value is None and r.gap is None
    assert r.apply(c) == 0


# -- brute force on random tiny instances ---------------------------------------------


def random_instance(seed):
    rng = random.Random(seed)
    c = Cluster()
    for i in range(rng.randint(1, 3)):
        alloc = {"cpu": rng.choice([2000, 4000]), "memory": rng.choice([4, 8]) * GI,
                 "pods": rng.choice([2, 3, 110])}
        if rng.random() < 0.3:
            alloc["example.com/gpu"] = rng.randint(0, 2)
        c.add_node(f"n{i}", alloc, labels={ZONE: rng.choice("ab")},
                   taints=[Taint("spot", "1", "NoSchedule")] if rng.random() < 0.2 else (),
                   unschedulable=rng.random() < 0.1)
        if rng.random() < 0.3:
            run = Pod(f"run-{i}", requests={"cpu": rng.choice([500, 1000])})
            if not c.misfit_reasons(run, f"n{i}"):
                c.bind(run, f"n{i}")
    templates = []
    for k in range(rng.randint(1, 3)):
        req = {"cpu": rng.choice([500, 1000, 1500, 2500]),
               "memory": rng.choice([1, 2, 3]) * GI}
        if rng.random() < 0.2:
            req["example.com/gpu"] = 1
        kw = {}
        if rng.random() < 0.3:
            kw["node_selector"] = {ZONE: rng.choice("ab")}
        if rng.random() < 0.3:
            kw["tolerations"] = [{"key": "spot", "operator": "Exists"}]
        templates.append(Pod(f"t{k}", requests=req, priority=rng.choice([0, 0, 10]), **kw))
    pods = [rng.choice(templates) for _ in range(rng.randint(1, 5))]
    used = sorted({id(p) for p in pods})
    objs = [t for t in templates if id(t) in used]
    groups = {"gangs": (), "anti": (), "spread": ()}
    pick = rng.random()
    if pick < 0.25:
        groups["gangs"] = (Gang([objs[0]], min_member=rng.choice([None, 1, 2])
                                if pods.count(objs[0]) >= 2 else None, name="g"),)
    elif pick < 0.5:
        groups["anti"] = (AntiAffinity(objs[: rng.randint(1, len(objs))],
                                       rng.choice([1, 2]),
                                       rng.choice(["kubernetes.io/hostname", ZONE])),)
    elif pick < 0.7:
        groups["spread"] = (Spread([objs[0]], ZONE, max_skew=1),)
    return c, pods, groups


def solve(c, pods, objective, groups, **kw):
    return solve_batch(c, pods, objective=objective, time_limit=10,
                       gangs=list(groups["gangs"]) or None,
                       anti_affinity=list(groups["anti"]) or None,
                       spread=list(groups["spread"]) or None, **kw)


@pytest.mark.parametrize("seed", range(40))
def test_brute_force(seed):
    c, pods, groups = random_instance(seed)
    before = c.snapshot()
    for objective in ("max_placed", "min_nodes", "balance"):
        r = solve(c, pods, objective, groups)
        assert r.status in ("OPTIMAL", "FEASIBLE", "INFEASIBLE")
        best = brute_force(c, r.pods, pods, objective, **groups)
        if best is None:
            assert r.status == "INFEASIBLE"
            continue
        assert not violations(c, r.pods, r.nodes, groups["gangs"], groups["anti"],
                              groups["spread"], pods), (objective, r.nodes)
        w = weights(r.pods)
        placed = sum(wt for wt, n in zip(w, r.nodes) if n is not None)
        assert placed == r.placed_weight and r.placed_bound >= best[0]
        if objective == "max_placed":
            assert r.objective_value == placed and r.best_bound >= best[0]
        elif objective == "min_nodes":
            assert r.objective_value == nodes_in_use(c, r.nodes) == r.nodes_after
        else:
            assert r.objective_value == peak(c, r.pods, r.nodes)
        if r.status == "OPTIMAL":
            assert placed == best[0]
            if objective != "max_placed":
                assert r.objective_value == -best[1], (objective, r.nodes)
            assert r.gap == 0 and r.best_bound == r.objective_value
        elif objective != "max_placed" and placed == best[0]:
            assert r.best_bound <= -best[1]            # a lower bound never passes it
    assert c.snapshot() == before                      # solving commits nothing


# -- limits and fallbacks -------------------------------------------------------------


def bigger_instance():
    from fastsched.datasets.synthetic import mixed_cluster, mixed_pods
    return mixed_cluster(300, running=60, seed=3), mixed_pods(1500, seed=4)


def test_time_limit_returns_a_valid_plan():
    c, pods = bigger_instance()
    r = solve_batch(c, pods, objective="min_nodes", time_limit=0.3)
    assert r.status in ("FEASIBLE", "OPTIMAL")
    assert r.placed > 0 and r.best_bound <= r.objective_value
    assert not violations(c, r.pods, r.nodes)
    assert r.gap == abs(r.objective_value - r.best_bound) / r.objective_value
    assert isinstance(r.status, Status) and r.gap == gap(r.objective_value, r.best_bound)


def test_zero_time_limit_is_the_greedy_plan():
    c, pods = bigger_instance()
    r = solve_batch(c, pods, objective="min_nodes", time_limit=0)
    assert r.status in ("FEASIBLE", "OPTIMAL") and r.stats["phases"] == []
    assert r.objective_value == r.stats["greedy"]["nodes"]
    r = solve_batch(c, pods, objective="min_nodes", time_limit=0, hint=None)
    assert r.status == "UNKNOWN" and r.placed == 0 and set(r.nodes) == {None}
    assert r.objective_value is None and r.gap is None


# -- large-neighbourhood search -------------------------------------------------------


def grouped_instance(nodes, count, seed):
    """A mixed cluster with running pods and a batch under every kind of group: a gang,
    one-per-node and two-per-zone anti-affinity, and a zone spread."""
    from fastsched.datasets.synthetic import mixed_cluster, mixed_shapes
    c = mixed_cluster(nodes, running=nodes // 4, seed=seed)
    shapes = mixed_shapes()
    gang = Pod("gang", labels={"app": "gang"}, requests={"cpu": "1", "memory": "2Gi"})
    one = Pod("one", labels={"app": "one"}, requests={"cpu": "500m", "memory": "1Gi"})
    zk = Pod("zk", labels={"app": "zk"}, requests={"cpu": "1", "memory": "2Gi"})
    spread = Pod("spread", labels={"app": "spread"}, requests={"cpu": "250m", "memory": "1Gi"})
    rng = random.Random(seed)
    pods = rng.choices(shapes[:4] + shapes[11:13], k=count)
    pods += [gang] * 6 + [one] * 8 + [zk] * 6 + [spread] * 7
    groups = {"gangs": (Gang([gang], name="g"),),
              "anti": (AntiAffinity([one]), AntiAffinity([zk], 2, ZONE)),
              "spread": (Spread([spread], ZONE, max_skew=1),)}
    return c, pods, groups


@pytest.mark.parametrize("seed", range(3))
def test_lns_keeps_every_rule(monkeypatch, seed):
    from fastsched.solver.batch import solve as batch_solve
    monkeypatch.setattr(batch_solve, "_WHOLE_SHARE", 0.0)  # LNS from the greedy plan
    c, pods, groups = grouped_instance(60, 300, seed)
    r = solve_batch(c, pods, objective="min_nodes", time_limit=2, workers=2, seed=seed,
                    gangs=list(groups["gangs"]), anti_affinity=list(groups["anti"]),
                    spread=list(groups["spread"]))
    lns = [ph for ph in r.stats["phases"] if ph["objective"] == "lns"]
    assert lns and lns[0]["steps"] > 0
    # the patched share is the one the search reads: no time for the whole model
    assert not [ph for ph in r.stats["phases"] if ph["objective"] == "min_nodes"]
    assert r.status in ("OPTIMAL", "FEASIBLE") and r.placed == len(pods)
    assert not violations(c, r.pods, r.nodes, groups["gangs"], groups["anti"],
                          groups["spread"], pods)
    assert r.objective_value == nodes_in_use(c, r.nodes) <= r.stats["greedy"]["nodes"]
    assert r.best_bound <= r.objective_value


def test_lns_keeps_the_weight_placed_when_not_everything_fits(monkeypatch):
    from fastsched.solver.batch import solve as batch_solve
    monkeypatch.setattr(batch_solve, "_WHOLE_SHARE", 0.0)
    c, pods, groups = grouped_instance(16, 400, 7)
    r = solve_batch(c, pods, objective="min_nodes", time_limit=2, workers=2,
                    gangs=list(groups["gangs"]), anti_affinity=list(groups["anti"]),
                    spread=list(groups["spread"]))
    assert r.placed < len(pods) and r.status in ("OPTIMAL", "FEASIBLE")
    assert r.placed_weight >= r.stats["greedy"]["placed_weight"]
    assert not [ph for ph in r.stats["phases"] if ph["objective"] == "min_nodes"]
    assert not violations(c, r.pods, r.nodes, groups["gangs"], groups["anti"],
                          groups["spread"], pods)
    assert r.objective_value == nodes_in_use(c, r.nodes)


# -- apply ----------------------------------------------------------------------------


def test_apply_binds_everything():
    c = small_cluster()
    r = solve_batch(c, [Pod("p", requests={"cpu": "1"})] * 5, time_limit=5)
    assert r.apply(c) == 5
    assert {c.node_of(p) for p in r.pods} == {n for n in r.nodes}
    assert int(c.pod_counts.sum()) == 5


def test_apply_is_atomic():
    c = small_cluster()
    r = solve_batch(c, [Pod("p", requests={"cpu": "1", "memory": "1Gi"})] * 10,
                    time_limit=5)
    target = r.nodes[-1]
    c.bind(Pod("intruder", requests={"cpu": "7"}), target)
    before = c.snapshot()
    with pytest.raises(DoesNotFitError, match=target):
        r.apply(c)
    assert c.snapshot() == before
    c.unbind("intruder")
    c.bind(r.pods[0], "a")                 # one pod got bound elsewhere meanwhile
    before = c.snapshot()
    with pytest.raises(ValidationError):
        r.apply(c)
    assert c.snapshot() == before


def test_apply_rolls_back_when_a_bind_fails(monkeypatch):
    c = small_cluster()
    r = solve_batch(c, [Pod("p", requests={"cpu": "1"})] * 4, objective="balance",
                    time_limit=5)
    before = c.snapshot()
    real, calls = Cluster.bind, []

    def flaky(self, pod, node, **kw):
        calls.append(pod)
        if len(calls) == 3:
            raise RuntimeError("lost the API server")
        return real(self, pod, node, **kw)

    monkeypatch.setattr(Cluster, "bind", flaky)
    with pytest.raises(RuntimeError):
        r.apply(c)
    monkeypatch.undo()
    assert c.snapshot() == before


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, field", [
    ({"objective": "fastest"}, "objective"),
    ({"time_limit": -1}, "time_limit"),
    ({"time_limit": float("nan")}, "time_limit"),
    ({"workers": 0}, "workers"),
    ({"seed": -1}, "seed"),
    ({"hint": "magic"}, "hint"),
    ({"progress": 3}, "progress"),
])
def test_bad_options(kwargs, field):
    with pytest.raises(ValidationError) as err:
        solve_batch(small_cluster(), [Pod("p")], **kwargs)
    assert err.value.field == field and field in str(err.value)


def test_bad_groups():
    c = small_cluster()
    a, b = Pod("a"), Pod("b")
    with pytest.raises(ValidationError) as err:
        solve_batch(c, [a, b], gangs={"g": ([a, b], 3)})
    assert err.value.field == "gangs[g].min_member" and "more than" in str(err.value)
    with pytest.raises(ValidationError) as err:
        solve_batch(c, [a, b], gangs=[Gang([a, b]), Gang(["default/a"])])
    assert err.value.field == "gangs[1].pods" and "two gangs" in str(err.value)
    with pytest.raises(ValidationError) as err:
        solve_batch(c, [a, b], anti_affinity=[AntiAffinity(["default/zz"])])
    assert err.value.field == "anti_affinity[0].pods[0]" and "zz" in str(err.value)
    with pytest.raises(ValidationError) as err:
        solve_batch(c, [a], spread=[{"pods": [a], "topology_key": ZONE, "max_skew": 0}])
    assert err.value.field == "spread[0].max_skew"
    with pytest.raises(ValidationError) as err:
        solve_batch(c, [a], gangs=[Gang({"matchLabels": {"app": "none"}})])
    assert err.value.field == "gangs[0].pods"
    with pytest.raises(ValidationError) as err:
        Gang("default/a")
    assert err.value.field == "pods"
    with pytest.raises(ValidationError):
        AntiAffinity([a], max_per_domain=0)


def test_bad_pods_and_cluster():
    c = small_cluster()
    with pytest.raises(ValidationError) as err:
        solve_batch(c, [Pod("a"), "b"])
    assert err.value.field == "pods[1]"
    with pytest.raises(ValidationError) as err:
        solve_batch("cluster", [Pod("a")])
    assert err.value.field == "cluster"
    with pytest.raises(ValidationError) as err:
        solve_batch(c, [Pod("a"), Pod("a")])
    assert err.value.field == "pods"
    c.bind(Pod("a"), "a")
    with pytest.raises(ValidationError):
        solve_batch(c, [Pod("a")])


def test_result_is_a_frozen_value():
    r = solve_batch(small_cluster(), [Pod("p")], time_limit=1)
    assert isinstance(r, BatchResult)
    with pytest.raises(AttributeError):
        r.status = "OPTIMAL"
    assert math.isfinite(r.wall_time)


# -- the command line -----------------------------------------------------------------


class FakeTTY:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass

    def isatty(self):
        return True


def solve_args(*argv):
    import argparse

    from fastsched.cli.solve import add_solve_parser
    parser = argparse.ArgumentParser(prog="fastsched")
    add_solve_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["solve", *argv])


MANIFEST = """
apiVersion: v1
kind: Node
metadata: {name: small}
status: {allocatable: {cpu: "2", memory: 4Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: big}
status: {allocatable: {cpu: "8", memory: 16Gi, pods: "110"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        resources: {requests: {cpu: "1", memory: 1Gi}}
"""


def test_cli_solve_writes_bindings_and_a_summary(tmp_path):
    import io

    import yaml
    path = tmp_path / "cluster.yaml"
    path.write_text(MANIFEST)
    out, err = io.StringIO(), FakeTTY()
    args = solve_args(str(path), "--time-limit", "5", "--objective", "balance",
                      "--bindings", str(tmp_path / "b.yaml"))
    from fastsched.cli.solve import cmd_solve
    assert cmd_solve(args, out=out, err=err) == 0
    text = out.getvalue()
    assert "OPTIMAL" in text and "placed          5 of 5" in text
    assert "nodes in use    0 before, 2 after" in text and "gap 0.00%" in text
    assert "incumbent" in err.text and "bound" in err.text and err.text.endswith("\r")
    docs = list(yaml.safe_load_all((tmp_path / "b.yaml").read_text()))
    assert len(docs) == 5 and {d["target"]["name"] for d in docs} <= {"small", "big"}


def test_cli_solve_reports_json_and_exit_status(tmp_path):
    import io
    import json
    path = tmp_path / "cluster.yaml"
    path.write_text(MANIFEST)
    from fastsched.cli.solve import cmd_solve
    out = io.StringIO()
    args = solve_args("-f", str(path), "--time-limit", "5", "-o", "json", "-q")
    assert cmd_solve(args, out=out, err=io.StringIO()) == 0
    doc = json.loads(out.getvalue())
    assert (doc["apiVersion"], doc["kind"], doc["version"]) == ("fastsched.io/v1",
                                                                "SolveReport", 1)
    assert doc["summary"]["placed"] == 5 and doc["unplaced"] == [] and doc["status"] == "OPTIMAL"
    assert {p["node"] for p in doc["placements"]} <= {"small", "big"}
    # a pod too big for any node: exit 3, unless allowed
    big = tmp_path / "big.yaml"
    big.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: huge}\nspec:\n  containers:\n"
                   "  - name: c\n    resources: {requests: {cpu: '100'}}\n")
    args = solve_args(str(path), str(big), "--time-limit", "5", "-o", "name", "-q")
    out = io.StringIO()
    assert cmd_solve(args, out=out, err=io.StringIO()) == 3
    assert len(out.getvalue().split()) == 5
    args = solve_args(str(path), str(big), "--time-limit", "5", "--allow-unschedulable", "-q")
    assert cmd_solve(args, out=io.StringIO(), err=io.StringIO()) == 0


def test_cli_solve_rejects_bad_arguments(tmp_path):
    for argv in (["x.yaml", "--time-limit", "-1"], ["x.yaml", "--objective", "fast"],
                 ["x.yaml", "--workers", "0"]):
        with pytest.raises(SystemExit):
            solve_args(*argv)


def test_a_late_greedy_plan_falls_back_to_first_fit_and_stays_valid():
    # Past its deadline the greedy plan's node-by-node pass gives way to first fit per
    # shape: still every pod placed, within capacity (checked against the cluster).
    import time as _time

    from fastsched.solver.batch.greedy import _greedy
    from fastsched.solver.batch.problem import _names, _problem
    cluster = Cluster()
    for i in range(6):
        cluster.add_node(f"n{i}", {"cpu": "4", "memory": "8Gi"})
    shapes = [Pod(f"s{k}", requests={"cpu": f"{300 * (k + 1)}m", "memory": f"{k + 1}Gi"})
              for k in range(3)]
    pods = [shapes[i % 3] for i in range(18)]
    objects, of = _names(cluster, pods)
    p = _problem(cluster, pods, objects, of, [], [], [], objective="min_nodes")
    for deadline in (float("inf"), _time.perf_counter() - 1):
        X = _greedy(p, "min_nodes", deadline)
        assert (X.sum(axis=1) == p.count).all()
        used = (X[:, :, None] * p.A[:, None, :]).sum(axis=0) + p.req
        assert (used <= p.alloc).all()
