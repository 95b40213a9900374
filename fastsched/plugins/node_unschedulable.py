"""NodeUnschedulable: a cordoned node (``spec.unschedulable``) takes only pods that
tolerate the ``node.kubernetes.io/unschedulable:NoSchedule`` taint (spec §3.1)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels.common import FilterCode, ReasonCode, StaticBit
from ..model.pod import Pod
from ..model.taints import UNSCHEDULABLE_TAINT, tolerated
from .base import Plugin

NAME = "NodeUnschedulable"


def static(ctx: Any, pod: Pod) -> np.ndarray | None:
    if not ctx.filter_on(NAME) or not ctx.unsched_any or tolerated(UNSCHEDULABLE_TAINT,
                                                                   pod.tolerations):
        return None
    return ctx.cluster.unschedulable.astype(np.uint8) * np.uint8(StaticBit.S_UNSCHEDULABLE)


PLUGIN = Plugin(
    NAME, filter=FilterCode.F_UNSCHEDULABLE,
    reasons={ReasonCode.R_UNSCHEDULABLE: "node(s) were unschedulable"},
    static=static, static_key=lambda pod: pod.tolerations)
