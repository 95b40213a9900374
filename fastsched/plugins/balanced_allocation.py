"""NodeResourcesBalancedAllocation: favour nodes whose requested fractions of the
chosen resources stay close to each other after placing the pod (score, spec §5.1:
100 × (1 − standard deviation), as upstream computes it in float64)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._kernels.common import ScoreRow
from ..errors import ValidationError
from ..model.pod import Pod
from ._args import resource_specs
from ._arrays import i64, u8
from .base import Plugin
from .noderesources_fit import DEFAULT_RESOURCES, scalar

NAME = "NodeResourcesBalancedAllocation"


def spec(ctx: Any, pod: Pod) -> None:
    # A pod requesting none of the resources is not scored (upstream skips it).
    ctx.memo.setdefault(NAME, []).append(int(all(
        pod.requests.get(r, 0) == 0 for r, _ in ctx.profile.balanced_resources)))


def configure(ctx: Any, b: Any) -> None:
    resources = ctx.profile.balanced_resources
    b.ba_col = i64([ctx.col.get(r, -1) for r, _ in resources])
    b.ba_scalar = u8([scalar(r) for r, _ in resources])
    b.spec_ba_skip = u8(ctx.memo.get(NAME) or [0])


def read_args(args: Mapping[str, Any], path: str) -> dict[str, Any]:
    resources = resource_specs(args.get("resources"), f"{path}.resources")
    seen = set()
    for i, (name, weight) in enumerate(resources):
        if name in seen:
            raise ValidationError(f"duplicate resource {name!r}", f"{path}.resources[{i}].name")
        seen.add(name)
        # The balance formula ignores weights; kube-scheduler insists they stay 1.
        if weight != 1:
            raise ValidationError(f"must be 1, got {weight}", f"{path}.resources[{i}].weight")
    return {"balanced_resources": resources or DEFAULT_RESOURCES}


PLUGIN = Plugin(NAME, score=ScoreRow.SC_BALANCED, weight=1, weight_field="w_ba",
                args=(("resources",), read_args), spec=spec, configure=configure)
