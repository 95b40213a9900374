"""Provisioning beside the greedy tools' rules, on generated pending sets.

Scenarios: 2,000 and 20,000 pending pods of 20 shapes (a tenth with a zone selector,
a few needing a GPU with a toleration) on an empty cluster, the shipped AWS catalog.

- Karpenter-style: pods by decreasing size, first fit into the nodes opened so far;
  a pod that fits none opens a node of the type that holds the most pending pods (by
  first fit) at the lowest price per pod (designs/bin-packing.md).
- cluster-autoscaler's estimator: for every node type, first-fit decreasing of the
  pending pods it can hold; the least-waste expander picks the type whose new nodes
  leave the smallest share of cpu and memory unused; repeat for what is left.
- fastsched: ``provision`` (column generation, HiGHS).

    python bench/bench_planning.py [--sizes 2000,20000]

Each row: cost per hour, nodes, seconds; fastsched also its proven gap.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import fastsched as fs
from fastsched.scheduler.scheduler import Scheduler

CATALOG = Path(__file__).resolve().parents[1] / "examples" / "catalog-aws.yaml"


def synthetic_pending(n: int, seed: int = 0) -> list[fs.Pod]:
    """``n`` pending pods of 20 shapes: sizes from 100m/128Mi to 8 cpu/32Gi, a tenth
    pinned to us-east-1a, about 1% GPU jobs tolerating the GPU taint."""
    rng = np.random.default_rng(seed)
    shapes = []
    for k in range(20):
        cpu = int(rng.choice([100, 250, 500, 1000, 2000, 4000, 8000]))
        mem = int(cpu * rng.choice([0.5, 1, 2, 4, 8]) * 2**20 * 1.024)
        extra: dict = {}
        if k % 10 == 3:
            extra["node_selector"] = {"topology.kubernetes.io/zone": "us-east-1a"}
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


def _model(pods, catalog):
    """Request vectors and type compatibility (Scheduler.filter on one empty node per
    type and zone), per pod."""
    probe = fs.Cluster()
    offers = []
    for t in catalog:
        for z in t.zones or ("",):
            probe.add_node(f"offer-{len(offers)}", t.allocatable,
                           labels=t.node_labels(z or None), taints=t.taints)
            offers.append((t, z))
    res = ["cpu", "memory", "nvidia.com/gpu", "pods"]
    cache: dict = {}
    compat = []
    for p in pods:
        key = id(fs.model.pod.family(p))
        if key not in cache:
            cache[key] = np.asarray(Scheduler(probe).filter(p).feasible, bool)
        compat.append(cache[key])
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    args = parser.parse_args()
    catalog = fs.Catalog.load(CATALOG)
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
        row.append(f"{plan.cost:.2f} ({sum(plan.new_nodes.values())}, "
                   f"{time.perf_counter() - t0:.1f} s, {plan.gap:.2%})")
        print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
