"""fastsched: where should this work run?

A scheduling core with Kubernetes semantics: a cluster model laid out as arrays,
pods and their specs, an online scheduler whose filters and scores run in Cython
kernels, batch placement with OR-Tools CP-SAT, consistent hashing (ketama-compatible
rings, jump, rendezvous, Maglev) for routing, Kubernetes manifests in and Bindings out.
"""

from .cluster.cluster import Cluster, ClusterSnapshot, NodeInfo
from .errors import (
                     DoesNotFitError,
                     DuplicateError,
                     FastschedError,
                     ManifestError,
                     NodeNotFoundError,
                     NotFoundError,
                     PodNotFoundError,
                     QuantityError,
                     ValidationError,
)
from .hashing import BoundedLoads, HashRing, KeyTypeError, Maglev, Rendezvous, fast_hash, jump_hash
from .kube.bindings import to_bindings
from .kube.manifests import Manifests, load_manifests
from .model.labels import (
                     LabelSelector,
                     LabelSelectorRequirement,
                     NodeSelectorRequirement,
                     NodeSelectorTerm,
)
from .model.pod import (
                     Container,
                     ContainerPort,
                     NodeAffinity,
                     Pod,
                     PodAffinity,
                     PodAffinityTerm,
                     PreferredSchedulingTerm,
                     TopologySpreadConstraint,
                     WeightedPodAffinityTerm,
)
from .model.quantity import format_quantity, parse_quantity
from .model.service import Service
from .model.taints import Taint, Toleration
from .plan.catalog import Catalog, NodeType
from .plan.consolidate import ConsolidationPlan, consolidate
from .plan.provision import ProvisionPlan, provision
from .plan.whatif import WhatIf, whatif
from .profile.profile import FitArgs, Profile
from .routing import Endpoint, Rebalance, Routes, rebalance_report
from .scheduler.preemption import PodDisruptionBudget, Preemption
from .scheduler.queue import QueueResult
from .scheduler.scheduler import (
                     FilterResult,
                     Placement,
                     Scheduler,
                     ScheduleResult,
                     ScoreResult,
                     Unschedulable,
)
from .solver import (
                     AntiAffinity,
                     BatchOptions,
                     BatchResult,
                     Gang,
                     PackResult,
                     Spread,
                     binpack,
                     binpack_vector,
                     solve_batch,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "Cluster", "ClusterSnapshot", "NodeInfo",
    "Pod", "Container", "ContainerPort", "NodeAffinity", "PreferredSchedulingTerm",
    "PodAffinity", "PodAffinityTerm", "WeightedPodAffinityTerm", "TopologySpreadConstraint",
    "LabelSelector", "LabelSelectorRequirement", "NodeSelectorRequirement", "NodeSelectorTerm",
    "Taint", "Toleration",
    "Scheduler", "Placement", "Unschedulable", "ScheduleResult", "FilterResult", "ScoreResult",
    "Preemption", "PodDisruptionBudget", "QueueResult",
    "solve_batch", "BatchResult", "BatchOptions", "Gang", "AntiAffinity", "Spread",
    "binpack", "binpack_vector", "PackResult",
    "Catalog", "NodeType", "provision", "ProvisionPlan", "consolidate", "ConsolidationPlan",
    "whatif", "WhatIf",
    "HashRing", "Rendezvous", "Maglev", "BoundedLoads", "jump_hash", "fast_hash",
    "KeyTypeError", "Endpoint", "Routes", "Rebalance", "rebalance_report",
    "Profile", "FitArgs",
    "parse_quantity", "format_quantity",
    "Manifests", "Service", "load_manifests", "to_bindings",
    "FastschedError", "ValidationError", "QuantityError", "ManifestError", "NotFoundError",
    "NodeNotFoundError", "PodNotFoundError", "DuplicateError", "DoesNotFitError",
    "__version__",
]
