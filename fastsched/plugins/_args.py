"""Helpers for reading plugin arguments out of a ``KubeSchedulerConfiguration``:
errors name the path inside the document, as upstream validation does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._validation import check_int, check_label_key, check_str
from ..errors import ValidationError

__all__ = ["check_fields", "as_list", "resource_specs", "resource_name"]


def check_fields(data: Any, fields: tuple[str, ...], path: str) -> None:
    """``data`` is a mapping whose keys are all among ``fields``."""
    if not isinstance(data, Mapping):
        raise ValidationError(f"expected a mapping, got {type(data).__name__}", path)
    for key in data:
        if key not in fields:
            raise ValidationError(f"unknown field (expected one of {', '.join(fields)})",
                                  f"{path}.{key}" if path else str(key))


def as_list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"expected a list, got {type(value).__name__}", path)
    return value


def resource_specs(items: Any, path: str) -> tuple[tuple[str, int], ...]:
    """``[{name, weight}]`` as ``(name, weight)`` pairs, a missing or 0 weight
    defaulted to 1. The range check is left to the caller (after defaulting)."""
    out = []
    for i, item in enumerate(as_list(items, path)):
        at = f"{path}[{i}]"
        check_fields(item, ("name", "weight"), at)
        if item.get("name") in (None, ""):
            raise ValidationError("required", f"{at}.name")
        name = check_str(item.get("name"), f"{at}.name")
        weight = check_int(item.get("weight", 0), f"{at}.weight", allow_none=True)
        out.append((name, weight or 1))
    return tuple(out)


def resource_name(value: Any, path: str) -> str:
    try:
        return check_label_key(value, path)
    except ValidationError:
        raise ValidationError(f"invalid resource name {value!r}: a name of at most 63 "
                              "alphanumerics, '-', '_' or '.', optionally behind a DNS "
                              "prefix and '/'", path) from None
