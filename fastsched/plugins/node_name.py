"""NodeName: a pod whose ``spec.nodeName`` is set fits only that node (spec §3.2)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels.common import FilterCode, ReasonCode, StaticBit
from ..model.pod import Pod
from .base import Plugin

NAME = "NodeName"


def static(ctx: Any, pod: Pod) -> np.ndarray | None:
    if not ctx.filter_on(NAME) or not pod.node_name:
        return None
    wrong = np.ones(ctx.n, np.bool_)
    row = ctx.cluster.columns.rows.get(pod.node_name)
    if row is not None:
        wrong[row] = False
    return wrong.astype(np.uint8) * np.uint8(StaticBit.S_NODE_NAME)


PLUGIN = Plugin(
    NAME, filter=FilterCode.F_NODE_NAME,
    reasons={ReasonCode.R_NODE_NAME: "node(s) didn't match the requested node name"},
    static=static, static_key=lambda pod: pod.node_name)
