"""InterPodAffinity: required pod affinity and anti-affinity, and existing pods'
anti-affinity, per topology domain (filter, spec §3.9); preferred terms both ways,
and existing pods' required affinity weighted by ``hardPodAffinityWeight`` (score,
§5.5). Compiled into topology counters with PodTopologySpread
(``fastsched.plugins.topology``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._kernels.common import FilterCode, ReasonCode, ScoreRow
from .._validation import check_int
from ..errors import ValidationError
from . import topology
from .base import Plugin

NAME = "InterPodAffinity"


def read_args(args: Mapping[str, Any], path: str) -> dict[str, Any]:
    weight = check_int(args.get("hardPodAffinityWeight", 1), f"{path}.hardPodAffinityWeight",
                       lo=0, hi=100)
    ignore = args.get("ignorePreferredTermsOfExistingPods", False)
    if not isinstance(ignore, bool):
        raise ValidationError(f"expected a bool, got {ignore!r}",
                              f"{path}.ignorePreferredTermsOfExistingPods")
    return {"hard_pod_affinity_weight": weight,
            "ignore_preferred_terms_of_existing_pods": ignore}


PLUGIN = Plugin(
    NAME, filter=FilterCode.F_INTERPOD, score=ScoreRow.SC_INTERPOD, weight=2,
    weight_field="w_ipa",
    reasons={ReasonCode.R_POD_AFFINITY: "node(s) didn't match pod affinity rules",
             ReasonCode.R_POD_ANTI: "node(s) didn't match pod anti-affinity rules",
             ReasonCode.R_EXISTING_ANTI: "node(s) didn't satisfy existing pods anti-affinity "
                                         "rules"},
    args=(("hardPodAffinityWeight", "ignorePreferredTermsOfExistingPods"), read_args),
    configure=topology.configure)
