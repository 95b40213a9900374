"""Values only: quantities, resources, labels, taints, pods and Services.

Nothing here knows about a cluster or a scheduler; every type validates itself at
construction and accepts the Kubernetes API's dict shapes.
"""

from .labels import (
                  LabelSelector,
                  LabelSelectorRequirement,
                  NodeSelectorRequirement,
                  NodeSelectorTerm,
)
from .pod import (
                  Container,
                  ContainerPort,
                  NodeAffinity,
                  Pod,
                  PodAffinity,
                  PodAffinityTerm,
                  PreferredSchedulingTerm,
                  TopologySpreadConstraint,
                  WeightedPodAffinityTerm,
                  pod_from_dict,
)
from .quantity import format_quantity, parse_quantity
from .service import Service, ServicePort
from .taints import Taint, Toleration

__all__ = ["Pod", "Container", "ContainerPort", "NodeAffinity", "PreferredSchedulingTerm",
           "PodAffinity", "PodAffinityTerm", "WeightedPodAffinityTerm",
           "TopologySpreadConstraint", "LabelSelector", "LabelSelectorRequirement",
           "NodeSelectorRequirement", "NodeSelectorTerm", "Taint", "Toleration", "Service",
           "ServicePort", "parse_quantity", "format_quantity", "pod_from_dict"]
