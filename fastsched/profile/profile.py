"""Scheduling profiles: which plugins run, with what weights and arguments.

``Profile.default()`` is kube-scheduler's default profile (v1.35) restricted to the
plugins fastsched implements; ``Profile.from_config`` reads a
``KubeSchedulerConfiguration`` (``kubescheduler.config.k8s.io/v1``). A profile is
immutable and checked once; the scheduler compiles it into a plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from os import PathLike
from typing import Any

from .._validation import check_choice, check_int, set_field
from ..errors import ValidationError
from ..model.pod import NodeAffinity

__all__ = ["Profile", "FitArgs", "FILTER_PLUGINS", "SCORE_PLUGINS", "NOOP_PLUGINS",
           "DEFAULT_FILTERS", "DEFAULT_SCORES", "STRATEGIES"]

# Plugins fastsched runs, in kube-scheduler's default order.
FILTER_PLUGINS = ("NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity",
                  "NodePorts", "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity")
SCORE_PLUGINS = ("TaintToleration", "NodeAffinity", "NodeResourcesFit", "PodTopologySpread",
                 "InterPodAffinity", "NodeResourcesBalancedAllocation", "ImageLocality")
# Plugins of the default profile that have nothing to do without volumes, claims,
# queues or binding (or that a later release of fastsched will implement): accepted
# in configurations, ignored when run.
NOOP_PLUGINS = ("SchedulingGates", "PrioritySort", "VolumeRestrictions", "NodeVolumeLimits",
                "VolumeBinding", "VolumeZone", "DefaultPreemption", "DynamicResources",
                "DefaultBinder")

DEFAULT_FILTERS = FILTER_PLUGINS
DEFAULT_SCORES = (("TaintToleration", 3), ("NodeAffinity", 2), ("NodeResourcesFit", 1),
                  ("PodTopologySpread", 2), ("InterPodAffinity", 2),
                  ("NodeResourcesBalancedAllocation", 1), ("ImageLocality", 1))
STRATEGIES = ("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio")
DEFAULT_RESOURCES = (("cpu", 1), ("memory", 1))


@dataclass(frozen=True)
class FitArgs:
    """NodeResourcesFit arguments (``NodeResourcesFitArgs``).

    ``resources`` are ``(name, weight)`` pairs with weights in [1, 100]; ``shape``
    is the RequestedToCapacityRatio function as ``(utilization, score)`` points with
    utilization strictly increasing in [0, 100] and score in [0, 10].
    """

    strategy: str = "LeastAllocated"
    resources: tuple[tuple[str, int], ...] = DEFAULT_RESOURCES
    shape: tuple[tuple[int, int], ...] = ()
    ignored_resources: frozenset[str] = frozenset()
    ignored_resource_groups: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        check_choice(self.strategy, "scoringStrategy.type", STRATEGIES)
        set_field(self, "resources", _weighted(self.resources, "scoringStrategy.resources"))
        points = tuple((check_int(u, f"scoringStrategy.requestedToCapacityRatio.shape[{i}]"
                                  ".utilization", lo=0, hi=100),
                        check_int(s, f"scoringStrategy.requestedToCapacityRatio.shape[{i}]"
                                  ".score", lo=0, hi=10))
                       for i, (u, s) in enumerate(self.shape))
        for i in range(1, len(points)):
            if points[i][0] <= points[i - 1][0]:
                raise ValidationError("utilization values must be sorted in increasing order",
                                      f"scoringStrategy.requestedToCapacityRatio.shape[{i}]"
                                      ".utilization")
        if self.strategy == "RequestedToCapacityRatio" and not points:
            raise ValidationError("at least one point is required",
                                  "scoringStrategy.requestedToCapacityRatio.shape")
        set_field(self, "shape", points)
        set_field(self, "ignored_resources", frozenset(self.ignored_resources))
        set_field(self, "ignored_resource_groups", frozenset(self.ignored_resource_groups))


def _weighted(pairs: Any, path: str) -> tuple[tuple[str, int], ...]:
    out = []
    for i, pair in enumerate(pairs):
        if isinstance(pair, Mapping):
            name, weight = pair.get("name"), pair.get("weight", 1)
        else:
            name, weight = pair
        if not isinstance(name, str) or not name:
            raise ValidationError("must be a resource name", f"{path}[{i}].name")
        out.append((name, check_int(weight, f"{path}[{i}].weight", lo=1, hi=100)))
    if len({n for n, _ in out}) != len(out):
        raise ValidationError("resource names must be unique", path)
    return tuple(out)


@dataclass(frozen=True)
class Profile:
    """A scheduling profile: enabled filters (in order), scores with weights, and
    plugin arguments. ``percentage_of_nodes_to_score`` None means "not set here".
    The last four are InterPodAffinity's and PodTopologySpread's arguments:
    ``spread_defaulting`` "System" gives pods without spread constraints
    kube-scheduler's defaults (hostname maxSkew 3, zone maxSkew 5, both soft), "List"
    the ``default_spread_constraints``."""

    name: str = "default-scheduler"
    filters: tuple[str, ...] = DEFAULT_FILTERS
    scores: tuple[tuple[str, int], ...] = DEFAULT_SCORES
    fit: FitArgs = field(default_factory=FitArgs)
    balanced_resources: tuple[tuple[str, int], ...] = DEFAULT_RESOURCES
    added_affinity: NodeAffinity | None = None
    percentage_of_nodes_to_score: int | None = None
    hard_pod_affinity_weight: int = 1
    ignore_preferred_terms_of_existing_pods: bool = False
    spread_defaulting: str = "System"
    default_spread_constraints: tuple = ()

    def __post_init__(self) -> None:
        for i, name in enumerate(self.filters):
            if name not in FILTER_PLUGINS:
                raise ValidationError(f"unknown filter plugin {name!r}", f"filters[{i}]")
        seen = set()
        for i, (name, weight) in enumerate(self.scores):
            if name not in SCORE_PLUGINS:
                raise ValidationError(f"unknown score plugin {name!r}", f"scores[{i}]")
            if name in seen:
                raise ValidationError(f"score plugin {name!r} is listed twice", f"scores[{i}]")
            seen.add(name)
            check_int(weight, f"scores[{i}].weight", lo=1, hi=100)
        set_field(self, "filters", tuple(self.filters))
        set_field(self, "scores", tuple((n, int(w)) for n, w in self.scores))
        set_field(self, "balanced_resources",
                  _weighted(self.balanced_resources, "resources"))
        if self.added_affinity is not None and not isinstance(self.added_affinity, NodeAffinity):
            from .._validation import coerce
            set_field(self, "added_affinity",
                      coerce(NodeAffinity, self.added_affinity, "addedAffinity"))
        check_int(self.percentage_of_nodes_to_score, "percentageOfNodesToScore", lo=0, hi=100,
                  allow_none=True)
        set_field(self, "hard_pod_affinity_weight", check_int(
            self.hard_pod_affinity_weight, "hardPodAffinityWeight", lo=0, hi=100))
        check_choice(self.spread_defaulting, "defaultingType", ("System", "List"))
        from .._validation import coerce_list
        from ..model.pod import TopologySpreadConstraint
        constraints = coerce_list(TopologySpreadConstraint, self.default_spread_constraints,
                                  "defaultConstraints")
        for i, c in enumerate(constraints):
            if c.label_selector is not None:
                raise ValidationError("must not be set: default constraints take each "
                                      "pod's selector from its Services and owner",
                                      f"defaultConstraints[{i}].labelSelector")
        if constraints and self.spread_defaulting != "List":
            raise ValidationError("default constraints need defaultingType List",
                                  "defaultConstraints")
        set_field(self, "default_spread_constraints", constraints)

    @classmethod
    def default(cls) -> "Profile":
        """kube-scheduler's default profile (the plugins fastsched implements)."""
        return cls()

    @classmethod
    def from_config(cls, config: str | PathLike | Mapping[str, Any], *,
                    profile: str | None = None) -> "Profile":
        """Read a ``KubeSchedulerConfiguration`` (a path, YAML text or a dict).

        With several profiles, ``profile`` picks one by ``schedulerName`` (default:
        the first). Invalid arguments raise ``ValidationError`` naming the field path
        as upstream validation does (e.g. ``profiles[0].pluginConfig[0].args
        .scoringStrategy.resources[0].weight``).
        """
        from .config import profile_from_config
        return profile_from_config(config, profile=profile)

    def weight(self, plugin: str) -> int:
        """The weight of a score plugin (0 when it is not enabled)."""
        return dict(self.scores).get(plugin, 0)

    def with_scores(self, **weights: int) -> "Profile":
        """A copy with score weights changed; weight 0 disables the plugin."""
        current = dict(self.scores)
        for name, weight in weights.items():
            if weight:
                current[name] = weight
            else:
                current.pop(name, None)
        order = [n for n in SCORE_PLUGINS if n in current]
        return replace(self, scores=tuple((n, current[n]) for n in order))
