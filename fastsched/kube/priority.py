"""PriorityClasses, and a pod's priority resolved as the Priority admission plugin
does.

A pod read from a real cluster carries ``spec.priority`` already (admission wrote
it); one written by hand names a ``priorityClassName`` or nothing. Then:

* a named class gives its ``value`` (and its ``preemptionPolicy`` when the pod sets
  none); a name no class has is an error, as admission rejects such a pod;
* no name: the global default class (``globalDefault: true``; with several, the one
  of smallest value, as the API documents), else priority 0;
* the two system classes always exist: ``system-cluster-critical`` (2,000,000,000)
  and ``system-node-critical`` (2,000,001,000).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._validation import check_int, check_str
from ..errors import ValidationError
from ..model.pod import PREEMPTION_POLICIES, Pod

__all__ = ["PriorityClass", "SYSTEM_CLASSES", "priority_class_from_k8s", "resolve_priority"]

_HIGHEST_USER = 1_000_000_000        # user classes go up to 1e9; the system ones above


@dataclass(frozen=True)
class PriorityClass:
    """``scheduling.k8s.io/v1 PriorityClass``: the priority a class name stands for."""

    name: str
    value: int
    global_default: bool = False
    preemption_policy: str = "PreemptLowerPriority"


SYSTEM_CLASSES = {c.name: c for c in (PriorityClass("system-cluster-critical", 2_000_000_000),
                                      PriorityClass("system-node-critical", 2_000_001_000))}


def priority_class_from_k8s(data: Mapping[str, Any]) -> PriorityClass:
    """A PriorityClass from its manifest; a ``ValidationError`` names the field."""
    meta = data.get("metadata")
    if not isinstance(meta, Mapping):
        raise ValidationError("missing: a PriorityClass needs metadata.name", "metadata")
    name = check_str(meta.get("name"), "metadata.name", allow_empty=False)
    system = name in SYSTEM_CLASSES
    value = check_int(data.get("value"), "value", lo=-(1 << 31),
                      hi=(1 << 31) - 1 if system else _HIGHEST_USER)
    default = data.get("globalDefault", False)
    if not isinstance(default, bool):
        raise ValidationError(f"expected a bool, got {default!r}", "globalDefault")
    policy = data.get("preemptionPolicy") or "PreemptLowerPriority"
    if policy not in PREEMPTION_POLICIES:
        raise ValidationError(f"must be one of {', '.join(PREEMPTION_POLICIES)}, got "
                              f"{policy!r}", "preemptionPolicy")
    return PriorityClass(name, value, default, policy)


def resolve_priority(pod: Pod, spec: Mapping[str, Any],
                     classes: Mapping[str, PriorityClass]) -> Pod:
    """``pod`` with the priority admission would give it (``spec``: the pod's
    manifest spec, to tell an unset priority and policy from defaults)."""
    if spec.get("priority") is not None:
        return pod                       # resolved by admission already
    name = pod.priority_class_name
    if name:
        found = classes.get(name) or SYSTEM_CLASSES.get(name)
        if found is None:
            raise ValidationError(f"no PriorityClass named {name!r}", "spec.priorityClassName")
    else:
        defaults = [c for c in classes.values() if c.global_default]
        if not defaults:
            return pod
        found = min(defaults, key=lambda c: c.value)
    policy = pod.preemption_policy if spec.get("preemptionPolicy") else found.preemption_policy
    if (found.value, policy, found.name) == (pod.priority, pod.preemption_policy,
                                              pod.priority_class_name):
        return pod
    return pod.replica(pod.name, priority=found.value, preemption_policy=policy,
                       priority_class_name=name or found.name)
