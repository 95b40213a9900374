"""Synthetic clusters and workloads for the demo and the benchmarks.

Everything is seeded, so the same arguments give the same cluster and pods.
``basic_cluster``/``basic_pods`` mirror upstream scheduler_perf's SchedulingBasic;
``mixed_cluster``/``mixed_pods`` are heterogeneous: node shapes over three zones,
spot nodes and GPU nodes with taints, disk labels, and 16 pod shapes with node
selectors, zone affinity, tolerations and a GPU job.
"""

from __future__ import annotations

import random
from typing import Any, cast

from ..cluster.cluster import Cluster
from ..model.pod import Pod
from ..model.taints import Taint

__all__ = ["basic_cluster", "basic_pods", "mixed_cluster", "mixed_pods", "ZONES",
           "NODE_SHAPES", "mixed_shapes"]

ZONES = ("zone-a", "zone-b", "zone-c")
ZONE = "topology.kubernetes.io/zone"
INSTANCE = "node.kubernetes.io/instance-type"
SPOT = Taint("cloud.example.com/spot", "true", "NoSchedule")
GPU_TAINT = Taint("nvidia.com/gpu", "present", "NoSchedule")
GI = 1 << 30
MI = 1 << 20

# name, cpu (millicores), memory (bytes), share of the nodes
NODE_SHAPES = (
    ("standard-4", 3920, 15 * GI, 0.40),
    ("standard-8", 7910, 30 * GI, 0.25),
    ("highmem-8", 7910, 61 * GI, 0.15),
    ("standard-16", 15890, 60 * GI, 0.12),
    ("gpu-8", 7910, 60 * GI, 0.08),
)


def basic_cluster(nodes: int = 5000, running: int = 1000, seed: int = 0) -> Cluster:
    """``nodes`` identical nodes of 4 CPU / 32Gi / 110 pods, with ``running`` pods of
    100m / 500Mi spread over them (scheduler_perf's SchedulingBasic)."""
    cluster = Cluster()
    for i in range(nodes):
        cluster.add_node(f"node-{i}", {"cpu": 4000, "memory": 32 * GI, "pods": 110},
                         labels={ZONE: ZONES[i % 3]})
    rng = random.Random(seed)
    existing = Pod("running", requests={"cpu": 100, "memory": 500 * MI})
    for i in range(running):
        cluster.bind(existing.replica(f"running-{i}"), f"node-{rng.randrange(nodes)}")
    return cluster


def basic_pods(count: int = 10000) -> list[Pod]:
    """``count`` identical pending pods of 100m / 500Mi (one template, repeated)."""
    return [Pod("pod", requests={"cpu": 100, "memory": 500 * MI})] * count


def mixed_cluster(nodes: int = 5000, running: int = 1000, seed: int = 0) -> Cluster:
    """Heterogeneous nodes: five shapes over three zones, 15% of the non-GPU nodes
    spot (tainted), GPU nodes with 4 GPUs and a GPU taint, ssd/hdd disk labels, a
    few cordoned nodes, and ``running`` pods already placed."""
    rng = random.Random(seed)
    cluster = Cluster()
    weights = [share for *_, share in NODE_SHAPES]
    for i in range(nodes):
        kind, cpu, memory, _ = rng.choices(NODE_SHAPES, weights)[0]
        alloc = {"cpu": cpu, "memory": memory, "ephemeral-storage": 100 * GI, "pods": 110}
        labels = {ZONE: ZONES[i % 3], INSTANCE: kind,
                  "disk": "ssd" if rng.random() < 0.6 else "hdd"}
        taints = []
        if kind == "gpu-8":
            alloc["nvidia.com/gpu"] = 4
            taints.append(GPU_TAINT)
        elif rng.random() < 0.15:
            labels["cloud.example.com/lifecycle"] = "spot"
            taints.append(SPOT)
        cluster.add_node(f"node-{i}", alloc, labels=labels, taints=taints,
                         unschedulable=rng.random() < 0.005)
    shapes = mixed_shapes()
    names = cluster.node_names
    for i in range(running):
        pod = shapes[rng.randrange(4)].replica(f"running-{i}")
        node = names[rng.randrange(nodes)]
        if not cluster.misfit_reasons(pod, node):
            cluster.bind(pod, node)
    return cluster


def _zone_affinity(zones: tuple[str, ...]) -> dict:
    return {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": ZONE, "operator": "In", "values": list(zones)}]}]}}


def _prefer(key: str, value: str, weight: int) -> dict:
    return {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": weight, "preference": {"matchExpressions": [
            {"key": key, "operator": "In", "values": [value]}]}}]}


def mixed_shapes() -> list[Pod]:
    """The 16 pod shapes of the mixed workload (templates; names are shape names)."""
    spot_ok = [{"key": SPOT.key, "operator": "Exists"}]
    gpu_ok = [{"key": GPU_TAINT.key, "operator": "Exists", "effect": "NoSchedule"}]

    def pod(name: str, cpu: int, memory: int, **kw) -> Pod:
        image = kw.pop("image", f"registry.example.com/{name}:1.0")
        extra = kw.pop("extra", {})
        # Pod coerces container mappings; its field annotation names only Container
        return Pod(name, labels={"app": name}, containers=cast(Any, [{
            "name": name, "image": image,
            "resources": {"requests": {"cpu": cpu, "memory": memory, **extra}}}]), **kw)

    return [
        pod("web", 100, 500 * MI),
        pod("api", 250, 512 * MI),
        pod("worker", 500, 1 * GI),
        pod("cache", 200, 4 * GI, node_selector={"disk": "ssd"}),
        pod("db", 2000, 8 * GI, node_selector={"disk": "ssd"},
            node_affinity=_zone_affinity(("zone-a",))),
        pod("batch", 1000, 2 * GI, tolerations=spot_ok),
        pod("batch-spot", 1500, 3 * GI, tolerations=spot_ok,
            node_affinity=_prefer("cloud.example.com/lifecycle", "spot", 50)),
        pod("frontend-a", 300, 256 * MI, node_affinity=_zone_affinity(("zone-a", "zone-b"))),
        pod("frontend-c", 300, 256 * MI, node_affinity=_zone_affinity(("zone-c",))),
        pod("ml-train", 1500, 12 * GI, tolerations=gpu_ok, extra={"nvidia.com/gpu": 1}),
        pod("analytics", 3000, 12 * GI, node_affinity=_prefer(INSTANCE, "highmem-8", 80)),
        pod("logger", 50, 64 * MI),
        pod("proxy", 150, 128 * MI, node_affinity=_prefer("disk", "ssd", 20)),
        pod("search", 1000, 6 * GI, node_selector={INSTANCE: "standard-16"}),
        pod("queue", 400, 1 * GI, tolerations=spot_ok + gpu_ok),
        pod("tiny", 10, 16 * MI, image="busybox"),
    ]


def mixed_pods(count: int = 10000, seed: int = 1) -> list[Pod]:
    """``count`` pods drawn at random from the 16 shapes (each shape a template,
    repeated, so the scheduler binds them as replicas)."""
    rng = random.Random(seed)
    shapes = mixed_shapes()
    weights = [10, 10, 8, 5, 2, 6, 4, 5, 5, 1, 2, 10, 8, 2, 4, 8]
    return rng.choices(shapes, weights, k=count)
