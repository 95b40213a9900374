"""The cluster as columns: nodes' allocatable and requested resources, labels,
taints and images, and the table of bound pods.

Other layers read the columns through :attr:`Cluster.columns`, a read-only view
(``fastsched.cluster.columns``), never through the cluster's private fields.
"""

from .cluster import HOSTNAME_LABEL, Cluster, ClusterSnapshot, NodeInfo, normalize_image
from .labeltable import LabelTable

__all__ = ["Cluster", "ClusterSnapshot", "NodeInfo", "LabelTable", "HOSTNAME_LABEL",
           "normalize_image"]
