"""PodTopologySpread: hard constraints bound the skew of matching pods across
topology domains (filter, spec §3.8); soft ones favour the emptier domains (score,
§5.4). Pods without constraints get the cluster-level defaults (``System``:
hostname maxSkew 3 and zone maxSkew 5, both soft) with selectors from their
Services and owner. Compiled into topology counters with InterPodAffinity
(``fastsched.plugins.topology``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._kernels.common import FilterCode, ReasonCode, ScoreRow
from .._validation import check_choice, coerce_list
from ..errors import ValidationError
from ..model.pod import TopologySpreadConstraint
from . import topology
from .base import Plugin

NAME = "PodTopologySpread"
DEFAULTING = ("System", "List")


def default_constraints(kind: str, constraints: Any) -> tuple[TopologySpreadConstraint, ...]:
    """The profile's ``defaultConstraints``, checked against ``defaultingType``."""
    check_choice(kind, "defaultingType", DEFAULTING)
    out = coerce_list(TopologySpreadConstraint, constraints, "defaultConstraints")
    for i, c in enumerate(out):
        if c.label_selector is not None:
            raise ValidationError("must not be set: default constraints take each "
                                  "pod's selector from its Services and owner",
                                  f"defaultConstraints[{i}].labelSelector")
    if out and kind != "List":
        raise ValidationError("default constraints need defaultingType List",
                              "defaultConstraints")
    return out


def read_args(args: Mapping[str, Any], path: str) -> dict[str, Any]:
    kind = check_choice(args.get("defaultingType", "System"), f"{path}.defaultingType",
                        DEFAULTING)
    constraints = args.get("defaultConstraints") or ()
    if constraints and kind != "List":
        raise ValidationError("when .defaultConstraints are not empty, defaultingType must "
                              "be List", f"{path}.defaultingType")
    try:
        default_constraints(kind, constraints)
    except ValidationError as err:
        raise err.prefixed(path) from None
    return {"spread_defaulting": kind, "default_spread_constraints": constraints}


PLUGIN = Plugin(
    NAME, filter=FilterCode.F_SPREAD, score=ScoreRow.SC_SPREAD, weight=2, weight_field="w_pts",
    reasons={ReasonCode.R_SPREAD_LABEL: "node(s) didn't match pod topology spread constraints "
                                        "(missing required label)",
             ReasonCode.R_SPREAD: "node(s) didn't match pod topology spread constraints"},
    args=(("defaultConstraints", "defaultingType"), read_args),
    configure=topology.configure)
