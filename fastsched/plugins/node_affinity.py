"""NodeAffinity: ``nodeSelector`` and required node affinity terms, the profile's
``addedAffinity`` and the PreFilter on ``metadata.name`` fields (filter, spec §3.5);
the weights of matching preferred terms (score, §5.2, normalized by the kernel)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._kernels.common import FilterCode, ReasonCode, ScoreRow, StaticBit
from .._validation import coerce
from ..cluster.labeltable import selector_mask, term_mask
from ..errors import ValidationError
from ..model.pod import NodeAffinity, Pod
from .base import Plugin

NAME = "NodeAffinity"
# PreFilter's status when every term's metadata.name requirements contradict each
# other (upstream errReasonConflict): the pod's message, and every node's reason.
REASON_CONFLICT = "pod affinity terms conflict"


def added(ctx: Any) -> tuple[np.ndarray | None, np.ndarray]:
    """The profile's addedAffinity: (nodes its required terms reject, or None;
    preferred weights per node), kept across calls while the nodes stay the same."""
    found = ctx.cache.get("added")
    if found is None:
        extra, n = ctx.profile.added_affinity, ctx.n
        table, rows = ctx.cluster.label_table, ctx.cluster.columns.rows
        rejected = None
        if extra is not None and extra.required is not None:
            match = np.zeros(n, np.bool_)
            for term in extra.required:
                match |= term_mask(term, table, ctx.codes, rows)
            rejected = ~match
        preferred = np.zeros(n, np.int64)
        for pref in extra.preferred if extra is not None else ():
            preferred += pref.weight * term_mask(pref.preference, table, ctx.codes, rows)
        found = ctx.cache["added"] = (rejected, preferred)
    return found


def prefilter(ctx: Any, pod: Pod) -> frozenset[str] | None:
    """NodeAffinity's PreFilter (spec §3.5): the node names that ``metadata.name In``
    field requirements allow, or None when some term leaves all nodes open. An
    empty set means the terms contradict each other."""
    affinity = pod.node_affinity
    if not ctx.filter_on(NAME) or affinity is None or not affinity.required:
        return None
    allowed: set[str] = set()
    for term in affinity.required:
        names = None
        for req in term.match_fields:
            if req.operator == "In":
                names = set(req.values) if names is None else names & set(req.values)
        if names is None:
            return None
        allowed |= names
    return frozenset(allowed)


def _selected(ctx: Any, pod: Pod) -> np.ndarray | None:
    """Nodes passing the pod's nodeSelector and required terms (None: no such rule)."""
    table, rows = ctx.cluster.label_table, ctx.cluster.columns.rows
    match = None
    if pod.node_selector:
        match = selector_mask(pod.node_selector, table, ctx.codes)
    affinity = pod.node_affinity
    if affinity is not None and affinity.required is not None:
        terms = np.zeros(ctx.n, np.bool_)
        for term in affinity.required:
            terms |= term_mask(term, table, ctx.codes, rows)
        match = terms if match is None else match & terms
    return match


def node_match(ctx: Any, pod: Pod) -> np.ndarray:
    """Nodes that pass the pod's nodeSelector and required node affinity."""
    match = _selected(ctx, pod)
    return np.ones(ctx.n, np.bool_) if match is None else match


def static(ctx: Any, pod: Pod) -> np.ndarray | None:
    if not ctx.filter_on(NAME):
        return None
    parts = []           # only the rules the pod has: most pods have none
    rejected = added(ctx)[0]
    if rejected is not None:
        parts.append(rejected.astype(np.uint8) * np.uint8(StaticBit.S_ADDED_AFFINITY))
    match = _selected(ctx, pod)
    if match is not None:
        parts.append((~match).astype(np.uint8) * np.uint8(StaticBit.S_AFFINITY))
    allowed = prefilter(ctx, pod)
    if allowed is not None:
        rows = ctx.cluster.columns.rows
        outside = np.ones(ctx.n, np.bool_)
        outside[[rows[name] for name in allowed if name in rows]] = False
        parts.append(outside.astype(np.uint8) * np.uint8(StaticBit.S_PREFILTER))
    if not parts:
        return None
    bits = parts[0]
    for part in parts[1:]:
        bits |= part
    return bits


def spec(ctx: Any, pod: Pod) -> None:
    if prefilter(ctx, pod) == frozenset():
        ctx.conflict[-1] = True        # REASON_CONFLICT: no node at all


def raw(ctx: Any, pod: Pod) -> tuple[Any, Any] | None:
    """The weights of the preferred terms (the pod's and the profile's) each node
    matches."""
    if not ctx.weight(NAME):
        return None
    preferred = pod.node_affinity.preferred if pod.node_affinity is not None else ()

    def total() -> np.ndarray:
        out = added(ctx)[1].copy()
        for pref in preferred:
            out += pref.weight * term_mask(pref.preference, ctx.cluster.label_table,
                                           ctx.codes, ctx.cluster.columns.rows)
        return out

    return preferred, total


def check_added(extra: NodeAffinity | None, path: str) -> None:
    """addedAffinity's required terms must parse: upstream's ValidateNodeAffinityArgs
    refuses the configuration otherwise (a pod's unparsable term just matches nothing)."""
    for i, term in enumerate(extra.required or () if extra is not None else ()):
        if term.parse_error:
            raise ValidationError(term.parse_error, f"{path}.requiredDuringScheduling"
                                  f"IgnoredDuringExecution.nodeSelectorTerms[{i}]")


def read_args(args: Mapping[str, Any], path: str) -> dict[str, Any]:
    extra = args.get("addedAffinity")
    if extra is None:
        return {"added_affinity": None}
    added = coerce(NodeAffinity, extra, f"{path}.addedAffinity")
    check_added(added, f"{path}.addedAffinity")
    return {"added_affinity": added}


PLUGIN = Plugin(
    NAME, filter=FilterCode.F_AFFINITY, score=ScoreRow.SC_AFFINITY, weight=2,
    weight_field="w_na",
    reasons={ReasonCode.R_ADDED_AFFINITY: "node(s) didn't match scheduler-enforced node affinity",
             ReasonCode.R_AFFINITY: "node(s) didn't match Pod's node affinity/selector",
             ReasonCode.R_PREFILTER: "node(s) didn't satisfy plugin(s) [NodeAffinity]"},
    args=(("addedAffinity",), read_args),
    static=static, static_key=lambda pod: (pod.node_selector, pod.node_affinity),
    spec=spec, row=("na", "spec_na", "na_raw"), raw=raw)
