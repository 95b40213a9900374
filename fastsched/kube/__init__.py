"""Kubernetes objects in (manifests into a cluster and pending pods), Bindings out."""

from .bindings import dump_bindings, to_bindings
from .manifests import MAX_REPLICAS, Manifests, ManifestWarning, Workload, load_manifests

__all__ = ["Manifests", "Workload", "ManifestWarning", "load_manifests", "MAX_REPLICAS",
           "to_bindings", "dump_bindings"]
