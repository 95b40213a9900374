"""ImageLocality: favour nodes that already hold the pod's container images, scaled
by how widely each image is spread over the cluster (score, spec §5.6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._kernels.common import ScoreRow
from ..cluster import Cluster, normalize_image
from ..model.pod import Pod
from .base import Plugin

__all__ = ["PLUGIN", "image_locality"]

NAME = "ImageLocality"
MIN_IMAGE = 23 << 20              # thresholds of spec §5.6
MAX_IMAGE_PER_CONTAINER = 1000 << 20


def image_locality(cluster: Cluster, images: Sequence[str], containers: int) -> np.ndarray:
    """ImageLocality's score per node (spec §5.6) for a pod with these container
    images (init and regular, repeats kept) and number of containers."""
    n = len(cluster)
    total = np.zeros(n, np.int64)
    rows = cluster.columns.rows
    for image in images:
        holders = cluster.image_nodes(normalize_image(image))
        spread = len(holders) / n          # Go's order: size * (nodes / total)
        for node, size in holders.items():
            total[rows[node]] += int(size * spread)
    top = MAX_IMAGE_PER_CONTAINER * max(containers, 1)
    clamped = np.clip(total, MIN_IMAGE, top)
    return (100 * (clamped - MIN_IMAGE)) // (top - MIN_IMAGE)


def raw(ctx: Any, pod: Pod) -> tuple[Any, Any] | None:
    if not ctx.weight(NAME) or not pod.images or not ctx.n:
        return None
    containers = len(pod.containers) + len(pod.init_containers)
    return (pod.images, containers), lambda: image_locality(ctx.cluster, pod.images, containers)


PLUGIN = Plugin(NAME, score=ScoreRow.SC_IMAGES, weight=1, weight_field="w_il",
                row=("il", "spec_il", "il_score"), raw=raw)
