"""TaintToleration: a node's NoSchedule/NoExecute taints must be tolerated (filter,
spec §3.3); untolerated PreferNoSchedule taints count against a node (score, §5.3:
the count, normalized and reversed over the feasible nodes by the kernel)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels.common import FilterCode, ReasonCode, ScoreRow, StaticBit
from ..model.pod import Pod
from ..model.taints import tolerated
from .base import Plugin

NAME = "TaintToleration"
# Gt/Lt tolerations count only with this gate on (alpha, off in v1.35).
GATE = "TaintTolerationComparisonOperators"


def taint_masks(ctx: Any, tolerations: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Taint-bit words a pod does not tolerate: (NoSchedule/NoExecute, PreferNoSchedule)."""
    memo = ctx.memo.setdefault(NAME, {})
    found = memo.get(tolerations)
    if found is None:
        taints = ctx.cluster.taints
        words = ctx.taint_bits.shape[1]
        hard = np.zeros(max(words, 1), np.uint64)
        soft = np.zeros(max(words, 1), np.uint64)
        prefer = [t for t in tolerations if t.effect in ("", "PreferNoSchedule")]
        comparison = ctx.gate(GATE)
        for tid, taint in enumerate(taints):
            bit = np.uint64(1 << (tid & 63))
            if taint.effect == "PreferNoSchedule":
                if not tolerated(taint, prefer, comparison):
                    soft[tid >> 6] |= bit
            elif not tolerated(taint, tolerations, comparison):
                hard[tid >> 6] |= bit
        found = memo[tolerations] = (hard[:words], soft[:words])
    return found


def tolerated_nodes(ctx: Any, pod: Pod) -> np.ndarray:
    """Nodes whose NoSchedule/NoExecute taints the pod tolerates."""
    if not ctx.taint_bits.shape[1]:
        return np.ones(ctx.n, np.bool_)
    hard, _ = taint_masks(ctx, pod.tolerations)
    return ~(ctx.taint_bits & hard).any(axis=1)


def static(ctx: Any, pod: Pod) -> np.ndarray | None:
    if not ctx.filter_on(NAME) or not ctx.taint_bits.shape[1]:
        return None
    hard, _ = taint_masks(ctx, pod.tolerations)
    if not hard.any():
        return None
    return (ctx.taint_bits & hard).any(axis=1).astype(np.uint8) * np.uint8(StaticBit.S_TAINTS)


def raw(ctx: Any, pod: Pod) -> tuple[Any, Any] | None:
    """The untolerated PreferNoSchedule taints per node."""
    if not ctx.weight(NAME) or not ctx.taint_bits.shape[1]:
        return None

    def count() -> np.ndarray:
        _, soft = taint_masks(ctx, pod.tolerations)
        return np.bitwise_count(ctx.taint_bits & soft).sum(axis=1, dtype=np.int64)

    return pod.tolerations, count


PLUGIN = Plugin(
    NAME, filter=FilterCode.F_TAINTS, score=ScoreRow.SC_TAINTS, weight=3, weight_field="w_tt",
    reasons={ReasonCode.R_TAINTS: "node(s) had untolerated taint(s)"},
    static=static, static_key=lambda pod: pod.tolerations,
    row=("tt", "spec_tt", "tt_raw"), raw=raw)
