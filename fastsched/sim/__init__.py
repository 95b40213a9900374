"""Trace-driven simulation of GPU clusters: the openb trace and the policies of
"Beware of Fragmentation" (Weng et al., USENIX ATC'23)."""

from .gpucluster import MAX_GPUS, MILLI, GpuCluster
from .plugins.fgd import cluster_fragmentation, node_fragmentation
from .simulate import POLICIES, SimResult, allocation_curve, simulate
from .trace import Trace, TraceError, load_openb, read_nodes, read_pods
from .workload import TargetShapes, arrival_order, target_shapes, tune

__all__ = ["GpuCluster", "MILLI", "MAX_GPUS", "Trace", "TraceError", "load_openb",
           "read_nodes", "read_pods", "POLICIES", "SimResult", "simulate", "allocation_curve",
           "TargetShapes", "target_shapes", "arrival_order", "tune", "node_fragmentation",
           "cluster_fragmentation"]
