"""Feature gates: the kube-scheduler feature gates that change what fastsched's
plugins do, with their v1.35 defaults, and a reader for the ``--feature-gates``
flag's ``Name=true,Name=false`` syntax.

Only gates whose switch fastsched can honour are listed; any other name is an error,
as upstream rejects an unrecognized gate.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ValidationError

__all__ = ["DEFAULT_GATES", "feature_gates", "parse_feature_gates"]

# name -> v1.35 default (k8s.io/kubernetes/pkg/features). Only
# TaintTolerationComparisonOperators (alpha) changes a rule today; the others are
# accepted so that a kube-scheduler command line carrying them reads unchanged.
DEFAULT_GATES: Mapping[str, bool] = {
    "TaintTolerationComparisonOperators": False,   # alpha in 1.35: Gt/Lt tolerations
    "PodLevelResources": True,                      # beta since 1.34
    "SidecarContainers": True,
    "NodeInclusionPolicyInPodTopologySpread": True,
    "MatchLabelKeysInPodTopologySpread": True,
    "MatchLabelKeysInPodAffinity": True,
    "SchedulerQueueingHints": True,
    "SchedulerAsyncPreemption": True,
    "InPlacePodVerticalScaling": True,
    "DynamicResourceAllocation": True,
}

# strconv.ParseBool's spellings, which the flag accepts.
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def feature_gates(gates: Mapping[str, bool] | None = None,
                  path: str = "featureGates") -> tuple[tuple[str, bool], ...]:
    """Every known gate with its value: ``gates`` over the v1.35 defaults, sorted by
    name. An unknown name or a value that is not a bool is a ``ValidationError``."""
    merged = dict(DEFAULT_GATES)
    if gates is not None:
        if not isinstance(gates, Mapping):
            raise ValidationError(f"expected a mapping of gate names to bools, got "
                                  f"{type(gates).__name__}", path)
        for name, value in gates.items():
            if name not in DEFAULT_GATES:
                raise ValidationError(f"unrecognized feature gate: {name}", f"{path}.{name}")
            if not isinstance(value, bool):
                raise ValidationError(f"expected a bool, got {value!r}", f"{path}.{name}")
            merged[name] = value
    return tuple(sorted(merged.items()))


def parse_feature_gates(text: str) -> dict[str, bool]:
    """Read kube-scheduler's ``--feature-gates`` value (``A=true,B=false``), as
    component-base's flag does: empty items are skipped, spaces around names and
    values trimmed, values read as Go's ``strconv.ParseBool``. Raises
    ``ValidationError`` (field ``--feature-gates``) naming the bad item."""
    out: dict[str, bool] = {}
    for item in text.split(","):
        if not item:
            continue
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep:
            raise ValidationError(f"missing bool value for {name}", "--feature-gates")
        if value in _TRUE:
            out[name] = True
        elif value in _FALSE:
            out[name] = False
        else:
            raise ValidationError(f"invalid value of {name}={value}", "--feature-gates")
        if name not in DEFAULT_GATES:
            raise ValidationError(f"unrecognized feature gate: {name}", "--feature-gates")
    return out
