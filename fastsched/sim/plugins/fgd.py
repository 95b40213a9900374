"""FGD (fragmentation gradient descent): the node whose fragmentation grows least.

A node's fragmentation against the target workload (``TargetShapes``: popular task
shapes m with frequencies p_m) is ``F = Σ_m p_m × f_m``, where ``f_m`` is the free
milli on the node's devices with less free than m's share when the node could host
m (enough cpu, an allowed model, ``num_gpu`` devices with the share free), and all
its free milli otherwise; CPU-only shapes count all free milli (``frag.go``,
``NodeGpuShareFragAmount``). The score is ``int(100 × sigmoid((F_before −
F_after) / 1000))``; a GPU share is tried on every fitting device and takes the
one scoring highest, the first on ties (``fgd_score.go``).

:func:`node_fragmentation` and :func:`cluster_fragmentation` are the measure
itself, per node and for the cluster (amount in milli-GPU and ratio of idle GPU).
"""

from __future__ import annotations

import numpy as np

from ..._kernels import gpusim
from ..gpucluster import GpuCluster
from ..workload import TargetShapes

NAME = "FGD"
KIND = "Score"
DEVICE = "FGD"

__all__ = ["NAME", "node_fragmentation", "cluster_fragmentation"]


def node_fragmentation(cluster: GpuCluster, shapes: TargetShapes) -> np.ndarray:
    """Each node's fragmentation (milli-GPU, ``float64[n]``) against ``shapes``."""
    out = np.zeros(len(cluster), dtype=np.float64)
    gpusim.node_frag(np.ascontiguousarray(cluster.cpu_free), cluster.gpus, cluster.model,
                     cluster.gpu_free, shapes.cpu, shapes.num_gpu, shapes.gpu_milli,
                     shapes.gpu_spec, shapes.p, out)
    return out


def cluster_fragmentation(cluster: GpuCluster, shapes: TargetShapes) -> tuple[float, float]:
    """The cluster's fragmentation: (amount in milli-GPU, % of its idle GPU milli)."""
    amount = float(node_fragmentation(cluster, shapes).sum())
    idle = float(cluster.gpu_free.sum(dtype=np.int64))
    return amount, (100.0 * amount / idle if idle else 0.0)
