"""kube-scheduler's plugins as fastsched runs them: one module per plugin, and the
registry that maps names to them.

Each module holds one plugin's rule in one place: its name, kind, reason strings,
arguments and default weight, and the compile steps that turn a pod spec and the
cluster's columns into the arrays its kernel code reads (``base.Plugin``). The
kernel side of each rule is in ``fastsched/_kernels/place_*.pxi``, and every code
the two sides share is numbered once, in ``_kernels/common.pxd``.

The registry lists the plugins in kube-scheduler's default order (v1.35): the
filters in the order the default profile runs them, and the scoring plugins in
the order of its score list.
"""

from __future__ import annotations

from .._kernels.common import ReasonCode
from . import (
    balanced_allocation,
    image_locality,
    inter_pod_affinity,
    node_affinity,
    node_name,
    node_ports,
    node_unschedulable,
    noderesources_fit,
    pod_topology_spread,
    taint_toleration,
)
from .base import Plugin

__all__ = ["Plugin", "REGISTRY", "PLUGINS", "FILTER_PLUGINS", "SCORE_PLUGINS", "NOOP_PLUGINS",
           "DEFAULT_FILTERS", "DEFAULT_SCORES", "FILTER_CODES", "SCORE_ROWS", "REASONS", "RESOURCE0"]

# Filters in the default profile's order, then the score-only plugins.
PLUGINS: tuple[Plugin, ...] = (
    node_unschedulable.PLUGIN, node_name.PLUGIN, taint_toleration.PLUGIN,
    node_affinity.PLUGIN, node_ports.PLUGIN, noderesources_fit.PLUGIN,
    pod_topology_spread.PLUGIN, inter_pod_affinity.PLUGIN,
    balanced_allocation.PLUGIN, image_locality.PLUGIN,
)
REGISTRY: dict[str, Plugin] = {p.name: p for p in PLUGINS}

FILTER_PLUGINS = tuple(p.name for p in PLUGINS if p.filter is not None)
# The default profile's score list, in its order (the same sequence).
SCORE_PLUGINS = tuple(p.name for p in PLUGINS if p.score is not None)
# Plugins of the default profile that have nothing to do without volumes, claims,
# queues or binding (or that a later release of fastsched will implement): accepted
# in configurations, ignored when run.
NOOP_PLUGINS = ("SchedulingGates", "PrioritySort", "VolumeRestrictions", "NodeVolumeLimits",
                "VolumeBinding", "VolumeZone", "DefaultPreemption", "DynamicResources",
                "DefaultBinder")
DEFAULT_FILTERS = FILTER_PLUGINS
DEFAULT_SCORES = tuple((name, REGISTRY[name].weight) for name in SCORE_PLUGINS)
# Plugin name -> its FilterCode / its row of the kernel's score explanation.
FILTER_CODES = {p.name: int(p.filter) for p in PLUGINS if p.filter is not None}
SCORE_ROWS = {p.name: int(p.score) for p in PLUGINS if p.score is not None}

# The reason of every non-resource bucket, by ReasonCode; resource buckets follow
# from RESOURCE0 on (one per resource column: NodeResourcesFit's reasons).
RESOURCE0 = int(ReasonCode.R_RESOURCE0)
_reasons = {int(code): text for p in PLUGINS for code, text in p.reasons.items()}
assert sorted(_reasons) == list(range(RESOURCE0)), "every reason code needs one plugin"
REASONS: tuple[str, ...] = tuple(_reasons[code] for code in range(RESOURCE0))
