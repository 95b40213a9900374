"""Provisioning and consolidation beside the greedy tools' rules, on generated inputs.

Provisioning scenarios: 2,000 and 20,000 pending pods of 20 shapes (a tenth with a
zone selector, a fifth spread over the zones with maxSkew 1, about 1% a GPU job with
a toleration) on an empty cluster, the shipped AWS catalog. Every fastsched plan is
checked by scheduling its pods onto its nodes, each pinned to its planned node, so
that every filter kube-scheduler runs must pass there (``verify``). The baselines
deal spread pods to zones in turn (the zone with the fewest, as kube-scheduler and
Karpenter's topology do on an empty cluster).

- Karpenter-style: pods by decreasing size, first fit into the nodes opened so far;
  a pod that fits none opens a node of the type that holds the most pending pods (by
  first fit) at the lowest price per pod (designs/bin-packing.md).
- cluster-autoscaler's estimator: for every node type, first-fit decreasing of the
  pending pods it can hold; the least-waste expander picks the type whose new nodes
  leave the smallest share of cpu and memory unused; repeat for what is left.
- fastsched: ``provision`` (column generation, HiGHS).

Consolidation scenarios (``--consolidation``): generated clusters of AWS nodes with
their pods bound — every node at 25-30% of its cpu, nodes that each hold a bit more
than half of a large node, and nodes fragmented by pods of awkward sizes.

- Karpenter-style single-node: candidates by disruption cost (pods on the node,
  fewest first); the first whose pods all fit the other nodes (first fit decreasing)
  plus at most one new node cheaper than it is removed (or replaced); repeat.
- Karpenter-style multi-node, then single-node: a binary search for the longest
  prefix of the candidates that can go with at most one new node cheaper than the
  prefix; repeat while it finds one; then single-node.
- fastsched: ``consolidate`` (column generation over the kept nodes and the catalog).

    python bench/bench_planning.py [--sizes 2000,20000] [--consolidation]

Each row: cost per hour, nodes, seconds; fastsched also its proven gap.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import fastsched as fs
from fastsched.scheduler.scheduler import Placement, Scheduler

CATALOG = Path(__file__).resolve().parents[1] / "examples" / "catalog-aws.yaml"
ZONE = "topology.kubernetes.io/zone"


def synthetic_pending(n: int, seed: int = 0) -> list[fs.Pod]:
    """``n`` pending pods of 20 shapes: sizes from 100m/128Mi to 8 cpu/32Gi, a tenth
    pinned to us-east-1a, a fifth spread over the zones (maxSkew 1, DoNotSchedule),
    about 1% GPU jobs tolerating the GPU taint."""
    rng = np.random.default_rng(seed)
    shapes = []
    for k in range(20):
        cpu = int(rng.choice([100, 250, 500, 1000, 2000, 4000, 8000]))
        mem = int(cpu * rng.choice([0.5, 1, 2, 4, 8]) * 2**20 * 1.024)
        extra: dict = {}
        if k % 10 == 3:
            extra["node_selector"] = {ZONE: "us-east-1a"}
        if k % 5 == 1:
            extra["labels"] = {"app": f"shape{k}"}
            extra["topology_spread_constraints"] = [{
                "maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": f"shape{k}"}}}]
        shapes.append(({"cpu": cpu, "memory": mem}, extra))
    gpu = ({"cpu": 4000, "memory": 16 * 2**30, "nvidia.com/gpu": 1},
           {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]})
    weights = rng.dirichlet(np.ones(20))
    counts = np.floor(weights * n * 0.99).astype(int)
    counts[0] += int(n * 0.99) - counts.sum()
    pods = []
    for k, ((req, extra), c) in enumerate(zip(shapes, counts)):
        t = fs.Pod(name=f"shape{k}", requests=req, **extra)
        pods += [t.replica(f"shape{k}-{i}") for i in range(int(c))]
    t = fs.Pod(name="train", requests=gpu[0], **gpu[1])
    pods += [t.replica(f"train-{i}") for i in range(n - len(pods))]
    return pods


def offer_list(catalog) -> list:
    """(type, zone) for every type and each of its zones, in catalog order."""
    return [(t, z) for t in catalog for z in t.zones or ("",)]


def _model(pods, catalog):
    """Request vectors and type compatibility (Scheduler.filter on one empty node per
    type and zone), per pod."""
    probe = fs.Cluster()
    offers = offer_list(catalog)
    for k, (t, z) in enumerate(offers):
        probe.add_node(f"offer-{k}", t.allocatable, labels=t.node_labels(z or None),
                       taints=t.taints)
    res = ["cpu", "memory", "nvidia.com/gpu", "pods"]
    cache: dict = {}
    dealt: dict = {}
    zone_of = np.array([z for _, z in offers])
    compat = []
    for p in pods:
        key = id(fs.model.pod.family(p))
        if key not in cache:
            cache[key] = np.asarray(Scheduler(probe).filter(p).feasible, bool)
        ok = cache[key]
        if any(c.topology_key == ZONE for c in p.topology_spread_constraints):
            # zones in turn: each pod to the zone with the fewest of its kind
            zones = sorted(set(zone_of[ok]))
            k = dealt.setdefault(key, 0)
            dealt[key] = k + 1
            ok = ok & (zone_of == zones[k % len(zones)])
        compat.append(ok)
    sizes = np.array([[p.requests.get(r, 0) for r in res[:3]] + [1] for p in pods], float)
    caps = np.array([[t.allocatable.get(r, 0) for r in res] for t, _ in offers], float)
    price = np.array([t.price for t, _ in offers])
    return np.array(compat), sizes, caps, price


def _first_fit(i, sizes, compat, node_offer, rooms, n_open):
    """Index of the first open node pod ``i`` fits, or -1 (one NumPy pass)."""
    if not n_open:
        return -1
    ok = compat[i, node_offer[:n_open]] & (rooms[:n_open] >= sizes[i]).all(axis=1)
    hit = np.flatnonzero(ok)
    return int(hit[0]) if hit.size else -1


def karpenter(pods, catalog):
    compat, sizes, caps, price = _model(pods, catalog)
    order = np.lexsort((-sizes[:, 1], -sizes[:, 0]))
    n = len(order)
    rooms = np.zeros((n, caps.shape[1]))
    node_offer = np.zeros(n, dtype=int)
    n_open = 0
    for pos, i in enumerate(order):
        k = _first_fit(i, sizes, compat, node_offer, rooms, n_open)
        if k < 0:
            # the type that holds the most of the next pending pods (up to 200, in
            # order, while they fit) at the lowest price per pod
            nxt = order[pos:pos + 200]
            best, best_ratio = -1, np.inf
            for o in np.flatnonzero(compat[i]):
                fits = compat[nxt, o]
                used = np.cumsum(sizes[nxt] * fits[:, None], axis=0)
                held = int(np.count_nonzero(fits & (used <= caps[o]).all(axis=1)))
                if held and price[o] / held < best_ratio:
                    best, best_ratio = int(o), price[o] / held
            node_offer[n_open], rooms[n_open] = best, caps[best]
            k, n_open = n_open, n_open + 1
        rooms[k] -= sizes[i]
    return float(price[node_offer[:n_open]].sum()), n_open


def autoscaler(pods, catalog):
    compat, sizes, caps, price = _model(pods, catalog)
    left = np.lexsort((-sizes[:, 1], -sizes[:, 0]))
    # one node group per type: zones of a type have the same shape
    groups = {}
    for o in range(len(caps)):
        groups.setdefault((tuple(caps[o]), price[o], tuple(compat[:, o])), o)
    cost, count = 0.0, 0
    while len(left):
        best = None
        for o in groups.values():
            fits = left[compat[left, o]]
            if not len(fits):
                continue
            rooms = np.zeros((len(fits), caps.shape[1]))
            node_offer = np.full(len(fits), o)
            n_open = 0
            for i in fits:                      # first-fit decreasing into this type
                k = _first_fit(i, sizes, compat, node_offer, rooms, n_open)
                if k < 0:
                    rooms[n_open] = caps[o]
                    k, n_open = n_open, n_open + 1
                rooms[k] -= sizes[i]
            waste = float(np.mean(rooms[:n_open, :2].sum(axis=0) / (caps[o][:2] * n_open)))
            key = (waste, price[o] * n_open)
            if best is None or key < best[0]:
                best = (key, o, n_open, set(fits.tolist()))
        if best is None:
            break
        _, o, n, placed = best
        cost += float(price[o]) * n
        count += n
        left = np.array([i for i in left if i not in placed], dtype=int)
    return cost, count


def verify(plan, pods, catalog) -> None:
    """Schedule the plan's pods onto its nodes, each pinned to its planned node (the
    NodeName filter beside every other filter, as ``Scheduler.filter`` runs them),
    in passes: a pod refused for now (a spread's skew depends on the order, as kube's
    backoff queue retries it) waits for the next pass; a pass that places nothing
    fails the check."""
    c = fs.Cluster()
    for name, type_name, zone in plan.nodes:
        t = catalog[type_name]
        c.add_node(name, t.allocatable, labels=t.node_labels(zone or None), taints=t.taints)
    sched = Scheduler(c)
    waiting = [p.replica(p.name, node_name=plan.assignment[p.key]) for p in pods
               if p.key not in plan.unplaceable]
    while waiting:
        result = sched.schedule_many(waiting)       # binds what it places
        left = [p for p, outcome in zip(waiting, result) if not isinstance(outcome, Placement)]
        if len(left) == len(waiting):
            raise AssertionError(f"plan refused: {left[0].key} on {left[0].node_name}")
        waiting = left
    assert len(c.pods) == len(pods) - len(plan.unplaceable)


def synthetic_cluster(scenario: str, catalog, seed: int = 0) -> fs.Cluster:
    """A cluster of AWS nodes (instance-type and zone labels) with bound pods, all
    free to move: ``low`` (40 nodes at 25-30% cpu), ``split`` (8 m5.4xlarge holding
    56-62% of their cpu), ``fragmented`` (30 m5.2xlarge about half full of 1.5-3 cpu
    pods)."""
    rng = np.random.default_rng(seed)
    c = fs.Cluster()
    zones = ("us-east-1a", "us-east-1b", "us-east-1c")
    plans = {"low": (40, ("m5.xlarge", "m5.2xlarge", "c5.2xlarge", "r5.xlarge"), (0.25, 0.30),
                     (100, 250, 500)),
             "split": (8, ("m5.4xlarge",), (0.56, 0.62), (500, 1000)),
             "fragmented": (30, ("m5.2xlarge",), (0.45, 0.55), (1500, 2000, 3000))}
    n_nodes, types, (lo, hi), sizes = plans[scenario]
    k = 0
    for i in range(n_nodes):
        t = catalog[types[i % len(types)]]
        name = f"{t.name}-{i}"
        c.add_node(name, t.allocatable, labels=t.node_labels(zones[i % 3]), taints=t.taints)
        target, used = rng.uniform(lo, hi) * t.allocatable["cpu"], 0
        while used < target - min(sizes):
            cpu = int(rng.choice(sizes))
            if used + cpu > target:
                continue
            mem = int(cpu * rng.choice([1, 2, 3]) * 2**20)
            c.bind(fs.Pod(f"p{k}", requests={"cpu": cpu, "memory": mem}), name)
            used, k = used + cpu, k + 1
    return c


class _Fleet:
    """The cluster as the greedy consolidators see it: free room per node, pods per
    node, and compatibility (``Scheduler.filter`` on empty copies) of every pod with
    every node and every catalog offer."""

    RES = ("cpu", "memory", "pods")

    def __init__(self, cluster: fs.Cluster, catalog) -> None:
        self.names = list(cluster.node_names)
        probe = fs.Cluster()
        for n in self.names:
            info = cluster.node(n)
            probe.add_node(n, info.allocatable, labels=info.labels, taints=info.taints)
        self.offers = []
        for t in catalog:
            for z in t.zones or ("",):
                probe.add_node(f"offer-{len(self.offers)}", t.allocatable,
                               labels=t.node_labels(z or None), taints=t.taints)
                self.offers.append(t)
        sched = Scheduler(probe)
        self.pods = {n: list(cluster.pods_on(n)) for n in self.names}
        everyone = [p for n in self.names for p in self.pods[n]]
        self.size = {p.key: np.array([p.requests.get("cpu", 0), p.requests.get("memory", 0), 1],
                                     float) for p in everyone}
        self.ok: dict[tuple[str, str], bool] = {}       # (pod, node) -> passes
        self.ok_offer: dict[str, np.ndarray] = {}       # pod -> passes, per offer
        for p in everyone:
            feasible = np.asarray(sched.filter(p.replica(p.name, node_name="")).feasible, bool)
            self.ok.update(((p.key, n), bool(feasible[i])) for i, n in enumerate(self.names))
            self.ok_offer[p.key] = feasible[len(self.names):]
        self.room = {n: np.array([float(cluster.node(n).allocatable.get(r, 0)) for r in self.RES])
                     - sum((self.size[p.key] for p in self.pods[n]), np.zeros(3))
                     for n in self.names}
        self.price = {n: catalog[cluster.node_labels(n)["node.kubernetes.io/instance-type"]].price
                      for n in self.names}
        self.caps = [np.array([float(t.allocatable.get(r, 0)) for r in self.RES])
                     for t in self.offers]
        self.opened = 0

    @property
    def cost(self) -> float:
        return sum(self.price.values())

    def candidates(self) -> list[str]:
        """Nodes by disruption cost: pods on them, fewest first."""
        return sorted(self.names, key=lambda n: (len(self.pods[n]), -self.price[n], n))

    def attempt(self, gone: list[str]):
        """Whether the pods of ``gone`` fit the other nodes (first fit decreasing)
        plus at most one new node cheaper than ``gone`` together: (saving, moves,
        new offer or None), or None."""
        keep = [n for n in self.names if n not in gone]
        room = {n: self.room[n].copy() for n in keep}
        moving = sorted((p for n in gone for p in self.pods[n]),
                        key=lambda p: -self.size[p.key][0])
        moves, left = {}, []
        for p in moving:
            for n in keep:
                if self.ok[p.key, n] and (room[n] >= self.size[p.key]).all():
                    room[n] -= self.size[p.key]
                    moves[p.key] = n
                    break
            else:
                left.append(p)
        before = sum(self.price[n] for n in gone)
        new = None
        if left:
            need = sum(self.size[p.key] for p in left)
            fits = [j for j in range(len(self.offers)) if (self.caps[j] >= need).all()
                    and all(self.ok_offer[p.key][j] for p in left)]
            if not fits:
                return None
            new = min(fits, key=lambda j: self.offers[j].price)
            if self.offers[new].price >= before:
                return None
        return before - (self.offers[new].price if new is not None else 0.0), moves, new

    def apply(self, gone: list[str], moves: dict, new) -> None:
        pods = [p for n in gone for p in self.pods[n]]
        target = None
        if new is not None:
            t = self.offers[new]
            self.opened += 1
            target = f"new-{self.opened}-{t.name}"
            self.names.append(target)
            self.price[target], self.pods[target] = t.price, []
            self.room[target] = self.caps[new].copy()
            for key in self.ok_offer:       # a new node passes what its offer passes
                self.ok[key, target] = bool(self.ok_offer[key][new])
        for p in pods:
            node = moves.get(p.key, target)
            self.pods[node].append(p)
            self.room[node] -= self.size[p.key]
        for n in gone:
            self.names.remove(n)
            del self.pods[n], self.room[n], self.price[n]


def karpenter_single(fleet: _Fleet) -> int:
    """Single-node consolidation until no candidate qualifies; the actions taken."""
    actions = 0
    while True:
        for n in fleet.candidates():
            found = fleet.attempt([n])
            if found is not None:
                fleet.apply([n], found[1], found[2])
                actions += 1
                break
        else:
            return actions


def karpenter_multi(fleet: _Fleet, limit: int = 100) -> int:
    """Multi-node consolidation (binary search over prefixes of the candidates, at
    most one replacement), repeated while it acts, then single-node."""
    actions = 0
    while True:
        order = fleet.candidates()[:limit]
        lo, hi, best = 2, len(order), None
        while lo <= hi:
            mid = (lo + hi) // 2
            found = fleet.attempt(order[:mid])
            if found is not None:
                best, lo = (order[:mid], found), mid + 1
            else:
                hi = mid - 1
        if best is None:
            return actions + karpenter_single(fleet)
        fleet.apply(best[0], best[1][1], best[1][2])
        actions += 1


def verify_consolidation(plan, cluster: fs.Cluster, catalog) -> None:
    """Apply the plan to a copy: moved pods off, removed nodes gone, new nodes added,
    each moved pod bound after ``Scheduler.filter`` passes its new node."""
    c = cluster.copy()
    pods = dict(c.pods)
    for key in plan.moved:
        c.unbind(key)
    for n in plan.removed:
        assert not c.remove_node(n), f"{n} still holds pods"
    for name, type_name, zone in plan.added:
        t = catalog[type_name]
        c.add_node(name, t.allocatable, labels=t.node_labels(zone or None), taints=t.taints)
    sched = Scheduler(c)
    for key, (_, node) in plan.moved.items():
        pod = pods[key].replica(pods[key].name, node_name="")
        assert sched.filter(pod).feasible[c.row(node)], (key, node)
        c.bind(pod, node)


def _price_of(cluster: fs.Cluster, catalog) -> float:
    return sum(catalog[cluster.node_labels(n)["node.kubernetes.io/instance-type"]].price
               for n in cluster.node_names)


def consolidation_table(catalog) -> None:
    print("| scenario (nodes, pods, cpu used) | before $/h | Karpenter single-node $/h "
          "(actions, s) | Karpenter multi-node $/h (actions, s) | fastsched $/h "
          "(removed, added, moved, s, proven gap) |\n|---|---|---|---|---|")
    for scenario in ("low", "split", "fragmented"):
        cluster = synthetic_cluster(scenario, catalog)
        used = sum(p.requests.get("cpu", 0) for p in cluster.pods.values())
        total = sum(cluster.node(n).allocatable["cpu"] for n in cluster.node_names)
        row = [f"{scenario} ({len(cluster)}, {len(cluster.pods)}, {used / total:.0%})",
               f"{_price_of(cluster, catalog):.3f}"]
        for fn in (karpenter_single, karpenter_multi):
            t0 = time.perf_counter()
            fleet = _Fleet(cluster, catalog)
            actions = fn(fleet)
            row.append(f"{fleet.cost:.3f} ({actions}, {time.perf_counter() - t0:.1f} s)")
        t0 = time.perf_counter()
        plan = fs.consolidate(cluster, catalog, time_limit=30)
        seconds = time.perf_counter() - t0
        verify_consolidation(plan, cluster, catalog)
        row.append(f"{plan.cost_after:.3f} ({len(plan.removed)}, {len(plan.added)}, "
                   f"{len(plan.moved)}, {seconds:.1f} s, {plan.gap:.2%}, verified)")
        print("| " + " | ".join(row) + " |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--consolidation", action="store_true",
                        help="the consolidation scenarios instead of provisioning")
    args = parser.parse_args()
    catalog = fs.Catalog.load(CATALOG)
    if args.consolidation:
        consolidation_table(catalog)
        return 0
    print("| pending pods | Karpenter-style $/h (nodes, s) | cluster-autoscaler $/h (nodes, s) "
          "| fastsched $/h (nodes, s, proven gap) |\n|---|---|---|---|")
    for n in (int(x) for x in args.sizes.split(",")):
        pods = synthetic_pending(n)
        row = [str(n)]
        for fn in (karpenter, autoscaler):
            t0 = time.perf_counter()
            cost, nodes = fn(pods, catalog)
            row.append(f"{cost:.2f} ({nodes}, {time.perf_counter() - t0:.1f} s)")
        t0 = time.perf_counter()
        plan = fs.provision(fs.Cluster(), pods, catalog, time_limit=30)
        seconds = time.perf_counter() - t0
        verify(plan, pods, catalog)
        assert not plan.unplaceable, plan.unplaceable
        row.append(f"{plan.cost:.2f} ({sum(plan.new_nodes.values())}, "
                   f"{seconds:.1f} s, {plan.gap:.2%}, verified)")
        print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
