"""What every Kubernetes object reader shares: the default namespace, name rules,
and field helpers whose errors name the path inside the object."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._validation import EMPTY, check_str
from ..errors import ValidationError

DEFAULT_NAMESPACE = "default"

# metadata.name of most objects is a DNS-1123 subdomain; namespaces and Service
# names are DNS labels (a Service name must also start with a letter).
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_PORT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_HEAD = re.compile(r"[^.\[]*")


def _at(prefix: str, field: str) -> str:
    if not prefix or not field:
        return prefix or field
    return prefix + field if field.startswith("[") else f"{prefix}.{field}"


def _mapping_at(data: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return EMPTY
    if not isinstance(value, Mapping):
        raise ValidationError(f"expected a mapping, got {type(value).__name__}",
                              _at(path, key))
    return value


def _list_at(data: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"expected a list, got {type(value).__name__}", _at(path, key))
    return value


def _required_name(meta: Mapping[str, Any]) -> str:
    name = meta.get("name")
    if name is None or name == "":
        raise ValidationError("missing: every object needs a name", "metadata.name")
    if not isinstance(name, str):
        raise ValidationError(f"expected a string, got {type(name).__name__}", "metadata.name")
    return name


def _check_object_name(name: str, field: str) -> str:
    if len(name) > 253 or not _SUBDOMAIN.fullmatch(name):
        raise ValidationError(f"invalid name {name!r}: lowercase alphanumerics, '-' and '.', "
                              "starting and ending alphanumeric, at most 253 characters", field)
    return name


def _check_namespace(namespace: Any, field: str) -> str:
    namespace = check_str(namespace, field, allow_empty=False)
    if len(namespace) > 63 or not _DNS_LABEL.fullmatch(namespace):
        raise ValidationError(f"invalid namespace {namespace!r}: at most 63 lowercase "
                              "alphanumerics and '-'", field)
    return namespace


def _remap(field: str, table: Mapping[str, str]) -> str:
    """``field`` with its first segment replaced by where it sits in the object."""
    head = _HEAD.match(field).group()  # type: ignore[union-attr]  # matches every string
    return table[head] + field[len(head):] if head in table else field


def _moved(err: ValidationError, field: str) -> ValidationError:
    return ValidationError(err.message, field)
