"""Node taints and pod tolerations, with the toleration rule of spec §3.4."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .._validation import check_choice, check_int, check_label_key, check_str, from_k8s, set_field
from ..errors import ValidationError
from .labels import parse_int64_label

__all__ = ["Taint", "Toleration", "EFFECTS", "UNSCHEDULABLE_TAINT"]

EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
OPERATORS = ("Equal", "Exists", "Gt", "Lt")


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

    def tolerates(self, taint: Taint) -> bool:
        """Whether this toleration tolerates ``taint`` (spec §3.4)."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key != taint.key and not (not self.key and self.operator == "Exists"):
            return False
        if self.operator == "Exists":
            return True
        if self.operator == "Equal":
            return self.value == taint.value
        number = parse_int64_label(taint.value)
        if number is None:
            return False
        bound = int(self.value)
        return number > bound if self.operator == "Gt" else number < bound


def tolerated(taint: Taint, tolerations: Iterable[Toleration]) -> bool:
    return any(t.tolerates(taint) for t in tolerations)


UNSCHEDULABLE_TAINT = Taint("node.kubernetes.io/unschedulable", "", "NoSchedule")
