"""The planning bench's baselines are real plans: a cost the bench prints for a
greedy rule must be that of a feasible packing, so it can never be below
fastsched's proven lower bound, and the Karpenter-style consolidation keeps every
pod on a node with room for it. Small inputs; the bench runs the large ones."""

from __future__ import annotations

import collections

import bench_planning as bp
import pytest

import fastsched as fs

AWS = fs.Catalog.load(bp.CATALOG)


def test_provisioning_baselines_cost_at_least_the_proven_bound():
    pods = bp.synthetic_pending(200, seed=3)
    plan = fs.provision(fs.Cluster(), pods, AWS, time_limit=2)
    bp.verify(plan, pods, AWS)
    for rule in (bp.karpenter, bp.autoscaler):
        cost, nodes = rule(pods, AWS)
        assert nodes > 0 and cost + 1e-6 >= plan.lower_bound, rule.__name__


def test_the_baselines_deal_spread_pods_evenly_over_the_zones():
    pods = bp.synthetic_pending(300, seed=3)
    compat, *_ = bp._model(pods, AWS)
    offers = bp.offer_list(AWS)
    per_kind: dict[str, collections.Counter] = {}
    for i, p in enumerate(pods):
        if p.topology_spread_constraints:
            zones = {z for (_, z), ok in zip(offers, compat[i]) if ok}
            assert len(zones) == 1              # each spread pod is left one zone
            per_kind.setdefault(p.labels["app"], collections.Counter())[zones.pop()] += 1
    assert per_kind
    for counts in per_kind.values():
        assert len(counts) == 3 or sum(counts.values()) < 3
        assert max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.parametrize("scenario", ["split", "fragmented"])
def test_karpenter_consolidation_keeps_every_pod_on_a_node_with_room(scenario):
    cluster = bp.synthetic_cluster(scenario, AWS)
    plan = fs.consolidate(cluster, AWS, time_limit=2)
    for rule in (bp.karpenter_single, bp.karpenter_multi):
        fleet = bp._Fleet(cluster, AWS)
        rule(fleet)
        placed = sorted(p.key for pods in fleet.pods.values() for p in pods)
        assert placed == sorted(cluster.pods)
        assert all((room >= 0).all() for room in fleet.room.values())
        assert all(fleet.ok[p.key, n] for n, pods in fleet.pods.items() for p in pods)
        # the greedy fleet is a feasible cluster: at least the proven bound
        assert fleet.cost + 1e-6 >= plan.lower_bound
        assert plan.cost_after <= fleet.cost + 1e-6
