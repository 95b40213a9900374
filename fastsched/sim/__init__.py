"""Trace-driven simulation of GPU clusters (the openb trace, ATC'23's policies)."""

from .gpucluster import MAX_GPUS, MILLI, GpuCluster
from .trace import Trace, TraceError, load_openb, read_nodes, read_pods

__all__ = ["GpuCluster", "MILLI", "MAX_GPUS", "Trace", "TraceError", "load_openb",
           "read_nodes", "read_pods"]
