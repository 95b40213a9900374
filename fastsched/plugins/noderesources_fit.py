"""NodeResourcesFit: the pod's requests must fit what is left of each resource
(filter, spec §3.7: "Insufficient cpu", "Too many pods"); LeastAllocated,
MostAllocated or RequestedToCapacityRatio over weighted resources (score, §5.1).

The filter's per-resource test is the kernels' shared ``lacks`` primitive
(``_kernels/resources.pxd``); the request vectors are compiled by the framework
(every placement commits them), with this plugin's ignored resources left out of
the filter's copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._kernels.common import FilterCode, ScoreRow, Strategy
from .._validation import check_choice, check_int, set_field
from ..errors import ValidationError
from ..model.resources import CPU, MEMORY, PODS, is_extended
from ._args import as_list, check_fields, resource_name, resource_specs
from ._arrays import i64 as _i64
from ._arrays import u8 as _u8
from .base import Plugin

__all__ = ["PLUGIN", "FitArgs", "STRATEGIES", "DEFAULT_RESOURCES", "resource_reasons",
           "weighted", "check_scoring"]

NAME = "NodeResourcesFit"
STRATEGIES = ("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio")
STRATEGY_CODES = {"LeastAllocated": Strategy.LEAST_ALLOCATED,
                  "MostAllocated": Strategy.MOST_ALLOCATED,
                  "RequestedToCapacityRatio": Strategy.REQUESTED_TO_CAPACITY_RATIO}
DEFAULT_RESOURCES = (("cpu", 1), ("memory", 1))
TOO_MANY_PODS = "Too many pods"


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
        set_field(self, "resources", weighted(self.resources, "scoringStrategy.resources"))
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

    def ignores(self, resource: str) -> bool:
        """Whether the filter skips ``resource`` (an ignored extended resource)."""
        return is_extended(resource) and (
            resource in self.ignored_resources
            or resource.split("/", 1)[0] in self.ignored_resource_groups)


def check_scoring(fit: FitArgs, weight: int) -> None:
    """NodeResourcesFit cannot score without resources: upstream's scorer returns an
    Error status ("resources not found") for every node, which fails every scheduling
    attempt. Through the v1 config API the list is defaulted to cpu and memory, so only
    ``FitArgs(resources=())`` gets here; fastsched refuses the profile once instead
    of failing each pod. Filtering alone (``weight`` 0) needs no resources."""
    if weight and not fit.resources:
        raise ValidationError("resources not found: NodeResourcesFit scores need at least "
                              "one resource", "scoringStrategy.resources")


def weighted(pairs: Any, path: str) -> tuple[tuple[str, int], ...]:
    """``(name, weight)`` pairs (or ``{name, weight}`` mappings), weights in [1, 100]."""
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


def scalar(resource: str) -> bool:
    """A scalar (extended) resource: scored only on nodes that have it."""
    return resource not in (CPU, MEMORY, "ephemeral-storage", PODS)


def resource_reasons(bits: int, resources: Sequence[str],
                     missing: Sequence[str]) -> tuple[str, ...]:
    """The reasons of one node from its failing-resource bits (bit 63: a requested
    resource no node has), in upstream's order."""
    pods_col = resources.index(PODS)
    out = [TOO_MANY_PODS] if bits >> pods_col & 1 else []
    native: list[str] = []
    extended: list[str] = []
    for col, name in enumerate(resources):
        if col != pods_col and bits >> col & 1:
            (native if col < 3 else extended).append(f"Insufficient {name}")
    if bits >> 63 & 1:
        extended.extend(f"Insufficient {name}" for name in missing)
    return tuple(out + native + sorted(extended))


def reason(resource: str) -> str:
    return TOO_MANY_PODS if resource == PODS else f"Insufficient {resource}"


def configure(ctx: Any, b: Any) -> None:
    fit = ctx.profile.fit
    col = ctx.col
    b.strategy = int(STRATEGY_CODES[fit.strategy])
    b.fit_col = _i64([col.get(r, -1) for r, _ in fit.resources])
    b.fit_w = _i64([w for _, w in fit.resources])
    b.fit_nz = _i64([{CPU: 0, MEMORY: 1}.get(r, -1) for r, _ in fit.resources])
    b.fit_scalar = _u8([scalar(r) for r, _ in fit.resources])
    b.shape_u = _i64([u for u, _ in fit.shape])
    b.shape_s = _i64([s * 10 for _, s in fit.shape])
    b.inv_den = 1.0 / np.maximum(np.arange(sum(w for _, w in fit.resources) + 1), 1)


def read_args(args: Mapping[str, Any], path: str) -> dict[str, Any]:
    ignored = [resource_name(v, f"{path}.ignoredResources[{i}]")
               for i, v in enumerate(as_list(args.get("ignoredResources"),
                                             f"{path}.ignoredResources"))]
    groups = []
    for i, group in enumerate(as_list(args.get("ignoredResourceGroups"),
                                      f"{path}.ignoredResourceGroups")):
        at = f"{path}.ignoredResourceGroups[{i}]"
        if isinstance(group, str) and "/" in group:
            raise ValidationError("resource group name can't contain '/'", at)
        groups.append(resource_name(group, at))

    strategy = args.get("scoringStrategy")
    resources: tuple[tuple[str, int], ...] = DEFAULT_RESOURCES
    shape: tuple[tuple[int, int], ...] = ()
    if strategy is None:  # v1 default
        kind = "LeastAllocated"
    else:
        at = f"{path}.scoringStrategy"
        check_fields(strategy, ("type", "resources", "requestedToCapacityRatio"), at)
        # A strategy without a type is not defaulted (kube-scheduler rejects it too).
        kind = check_choice(strategy.get("type", ""), f"{at}.type", STRATEGIES)
        resources = resource_specs(strategy.get("resources"), f"{at}.resources") \
            or DEFAULT_RESOURCES
        ratio = strategy.get("requestedToCapacityRatio")
        if kind == "RequestedToCapacityRatio":
            if ratio is None:
                raise ValidationError("must be specified when type is RequestedToCapacityRatio",
                                      f"{at}.requestedToCapacityRatio")
            shape = _shape(ratio, f"{at}.requestedToCapacityRatio")
        elif ratio is not None:
            raise ValidationError("must not be set when type is not RequestedToCapacityRatio",
                                  f"{at}.requestedToCapacityRatio")
    try:
        fit = FitArgs(strategy=kind, resources=resources, shape=shape,
                      ignored_resources=frozenset(ignored),
                      ignored_resource_groups=frozenset(groups))
    except ValidationError as err:
        raise err.prefixed(path) from None
    return {"fit": fit}


def _shape(ratio: Any, path: str) -> tuple[tuple[int, int], ...]:
    check_fields(ratio, ("shape",), path)
    points = []
    for i, point in enumerate(as_list(ratio.get("shape"), f"{path}.shape")):
        at = f"{path}.shape[{i}]"
        check_fields(point, ("utilization", "score"), at)
        # Both fields are required in the schema but decode to 0 when absent.
        points.append((check_int(point.get("utilization", 0), f"{at}.utilization"),
                       check_int(point.get("score", 0), f"{at}.score")))
    return tuple(points)


PLUGIN = Plugin(
    NAME, filter=FilterCode.F_FIT, score=ScoreRow.SC_FIT, weight=1, weight_field="w_fit",
    args=(("ignoredResources", "ignoredResourceGroups", "scoringStrategy"), read_args),
    configure=configure)
