"""Node taints and pod tolerations, with the toleration rule of spec §3.4."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .._validation import check_choice, check_int, check_label_key, check_str, from_k8s, set_field
from ..errors import ValidationError
from .labels import parse_int64_label

__all__ = ["Taint", "Toleration", "EFFECTS", "UNSCHEDULABLE_TAINT"]

EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
OPERATORS = ("Equal", "Exists", "Gt", "Lt")
# Gt/Lt read both values as content.IsDecimalInteger does: no sign but a leading
# minus, no leading zeros, no "-0"; then they must fit int64.
_DECIMAL = re.compile(r"0|-?[1-9][0-9]*")
_INT64 = (-(1 << 63), (1 << 63) - 1)


def _decimal_int64(text: str) -> int | None:
    if not _DECIMAL.fullmatch(text):
        return None
    number = int(text)
    return number if _INT64[0] <= number <= _INT64[1] else None


@dataclass(frozen=True)
class Taint:
    """A node taint: ``key=value:effect``."""

    key: str
    value: str = ""
    effect: str = "NoSchedule"

    def __post_init__(self) -> None:
        set_field(self, "key", check_label_key(self.key, "key"))
        set_field(self, "value", check_str(self.value, "value"))
        check_choice(self.effect, "effect", EFFECTS)

    @classmethod
    def from_dict(cls, data: dict) -> "Taint":
        # timeAdded is set by the node controller and plays no part in scheduling.
        return from_k8s(cls, {k: v for k, v in data.items() if k != "timeAdded"})

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value \
            else f"{self.key}:{self.effect}"


@dataclass(frozen=True)
class Toleration:
    """A pod toleration. ``key=""`` with ``operator="Exists"`` tolerates every taint
    (of ``effect``, or of any effect when ``effect`` is empty)."""

    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""
    toleration_seconds: int | None = None

    def __post_init__(self) -> None:
        if self.operator in (None, ""):
            set_field(self, "operator", "Equal")
        check_choice(self.operator, "operator", OPERATORS)
        set_field(self, "key", check_str(self.key, "key"))
        if self.key:
            check_label_key(self.key, "key")
        elif self.operator != "Exists":
            raise ValidationError("an empty key needs operator 'Exists'", "operator")
        set_field(self, "value", check_str(self.value, "value"))
        if self.operator == "Exists" and self.value:
            raise ValidationError("must be empty when operator is 'Exists'", "value")
        if self.operator in ("Gt", "Lt") and parse_int64_label(self.value) is None:
            raise ValidationError(f"must be an integer when operator is {self.operator!r}",
                                  "value")
        set_field(self, "effect", check_str(self.effect, "effect"))
        if self.effect:
            check_choice(self.effect, "effect", EFFECTS)
        set_field(self, "toleration_seconds",
                  check_int(self.toleration_seconds, "tolerationSeconds", allow_none=True))

    def tolerates(self, taint: Taint, comparison: bool = False) -> bool:
        """Whether this toleration tolerates ``taint`` (spec §3.4).

        ``comparison`` is the TaintTolerationComparisonOperators feature gate (alpha
        and off in v1.35): off, a Gt/Lt toleration tolerates nothing; on, it compares
        the two values as int64, and a value that is not a canonical decimal integer
        tolerates nothing (upstream's ``Toleration.ToleratesTaint``)."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key != taint.key and not (not self.key and self.operator == "Exists"):
            return False
        if self.operator == "Exists":
            return True
        if self.operator == "Equal":
            return self.value == taint.value
        if not comparison:
            return False
        number, bound = _decimal_int64(taint.value), _decimal_int64(self.value)
        if number is None or bound is None:
            return False
        return number > bound if self.operator == "Gt" else number < bound


def tolerated(taint: Taint, tolerations: Iterable[Toleration], comparison: bool = False) -> bool:
    """Whether one of ``tolerations`` tolerates ``taint`` (``comparison``: the
    TaintTolerationComparisonOperators gate)."""
    return any(t.tolerates(taint, comparison) for t in tolerations)


UNSCHEDULABLE_TAINT = Taint("node.kubernetes.io/unschedulable", "", "NoSchedule")
