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

from .._validation import check_int, coerce, set_field
from ..errors import ValidationError
from ..model.pod import NodeAffinity
from ..plugins import DEFAULT_FILTERS, DEFAULT_SCORES, FILTER_PLUGINS, NOOP_PLUGINS, SCORE_PLUGINS
from ..plugins.node_affinity import check_added
from ..plugins.noderesources_fit import (
    DEFAULT_RESOURCES,
    STRATEGIES,
    FitArgs,
    check_scoring,
    weighted,
)
from ..plugins.pod_topology_spread import default_constraints
from .config import choose, profile_arguments
from .gates import feature_gates

__all__ = ["Profile", "FitArgs", "FILTER_PLUGINS", "SCORE_PLUGINS", "NOOP_PLUGINS",
           "DEFAULT_FILTERS", "DEFAULT_SCORES", "DEFAULT_RESOURCES", "STRATEGIES"]

@dataclass(frozen=True)
class Profile:
    """A scheduling profile: enabled filters (in order), scores with weights, and
    plugin arguments. ``percentage_of_nodes_to_score`` None means "not set here".
    The last four are InterPodAffinity's and PodTopologySpread's arguments:
    ``spread_defaulting`` "System" gives pods without spread constraints
    kube-scheduler's defaults (hostname maxSkew 3, zone maxSkew 5, both soft), "List"
    the ``default_spread_constraints``. ``feature_gates`` maps gate names to bools
    over v1.35's defaults (``fastsched.profile.gates``); it is kept as every known
    gate's ``(name, value)``, sorted."""

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
    feature_gates: Any = None

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
        check_scoring(self.fit, self.weight("NodeResourcesFit"))
        set_field(self, "balanced_resources",
                  weighted(self.balanced_resources, "resources"))
        if self.added_affinity is not None and not isinstance(self.added_affinity, NodeAffinity):
            set_field(self, "added_affinity",
                      coerce(NodeAffinity, self.added_affinity, "addedAffinity"))
        check_added(self.added_affinity, "addedAffinity")
        check_int(self.percentage_of_nodes_to_score, "percentageOfNodesToScore", lo=0, hi=100,
                  allow_none=True)
        set_field(self, "hard_pod_affinity_weight", check_int(
            self.hard_pod_affinity_weight, "hardPodAffinityWeight", lo=0, hi=100))
        constraints = default_constraints(self.spread_defaulting,
                                          self.default_spread_constraints)
        set_field(self, "default_spread_constraints", constraints)
        gates = self.feature_gates       # a mapping, or the (name, value) pairs kept
        set_field(self, "feature_gates",
                  feature_gates(dict(gates) if isinstance(gates, tuple) else gates))

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
        return choose(cls.all_from_config(config), profile)

    @classmethod
    def all_from_config(cls, config: str | PathLike | Mapping[str, Any]) -> dict[str, "Profile"]:
        """Every profile of a ``KubeSchedulerConfiguration``, by ``schedulerName``, in
        document order (see ``from_config``)."""
        built = {}
        for name, (path, kwargs) in profile_arguments(config).items():
            try:
                built[name] = cls(**kwargs)
            except ValidationError as err:  # the reader checked everything: a safety net
                raise err.prefixed(path) from None
        return built

    def gate(self, name: str) -> bool:
        """Whether feature gate ``name`` is on (KeyError for a gate fastsched does not
        know)."""
        return dict(self.feature_gates)[name]

    def with_gates(self, gates: Mapping[str, bool] | None) -> "Profile":
        """A copy with the feature gates in ``gates`` set (None: unchanged)."""
        if not gates:
            return self
        return replace(self, feature_gates={**dict(self.feature_gates), **gates})

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
