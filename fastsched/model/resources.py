"""Resource names and resource lists (spec §1.1).

``cpu`` is counted in millicores, every other resource in bytes or units. The
native resources come first in every cluster, in this order; extended resources
(``vendor.example/gpu``), hugepages and the like are appended as they appear.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._validation import FrozenMap, join
from ..errors import QuantityError, ValidationError
from .quantity import parse_quantity

__all__ = ["CPU", "MEMORY", "EPHEMERAL_STORAGE", "PODS", "NATIVE_RESOURCES",
           "check_resource_name", "resource_map", "resource_dict", "is_extended"]

CPU, MEMORY, EPHEMERAL_STORAGE, PODS = "cpu", "memory", "ephemeral-storage", "pods"
NATIVE_RESOURCES = (CPU, MEMORY, EPHEMERAL_STORAGE, PODS)

# A qualified name: optional DNS-subdomain prefix and '/', then a name.
_QUALIFIED = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_PLAIN = ("hugepages-", "attachable-volumes-")
_checked: dict[tuple[str, bool], bool] = {}


def is_extended(name: str) -> bool:
    """Extended resources: domain-qualified, outside kubernetes.io, not ``requests.*``."""
    if "/" not in name or name.startswith("requests."):
        return False
    domain = name.split("/", 1)[0]
    return not (domain == "kubernetes.io" or domain.endswith(".kubernetes.io"))


def check_resource_name(name: Any, path: str, *, node: bool = False) -> str:
    """``name`` if it is a resource a pod may request (or, with ``node``, a node offer).

    Pods may not request ``pods``; unqualified names other than the native ones,
    ``hugepages-<size>`` and ``attachable-volumes-*`` are rejected, which catches
    typos such as ``cpus`` or ``gpu`` (extended resources need a domain).
    """
    ok = _checked.get((name, node)) if isinstance(name, str) else None
    if ok:
        return name
    if not isinstance(name, str):
        raise ValidationError(f"resource name must be a string, got {type(name).__name__}",
                              path)
    valid = (name in NATIVE_RESOURCES and (node or name != PODS)) or (
        bool(_QUALIFIED.fullmatch(name)) and ("/" in name or name.startswith(_PLAIN)))
    if not valid:
        hint = "" if node else " (a pod cannot request 'pods')" if name == PODS else ""
        raise ValidationError(
            f"unknown resource {name!r}{hint}: expected cpu, memory, ephemeral-storage"
            f"{', pods' if node else ''}, hugepages-<size> or a domain-qualified "
            "extended resource such as nvidia.com/gpu", path)
    if len(_checked) < 4096:
        _checked[(name, node)] = True
    return name


def resource_map(values: Any, path: str, *, node: bool = False) -> FrozenMap:
    """Validated ``{resource: int}`` from quantities; negative amounts are rejected."""
    return FrozenMap(resource_dict(values, path, node=node))


def resource_dict(values: Any, path: str, *, node: bool = False) -> dict[str, int]:
    """``resource_map`` as a plain (new) dict."""
    if values is None:
        return {}
    if not isinstance(values, (dict, Mapping)):
        raise ValidationError(
            f"expected a mapping of resource name to quantity, got {type(values).__name__}",
            path)
    out = {}
    for name, quantity in values.items():
        if (name, node) not in _checked:
            check_resource_name(name, join(path, str(name)), node=node)
        try:
            amount = parse_quantity(quantity, name)
        except QuantityError as err:
            raise err.prefixed(join(path, name)) from None
        if amount < 0:
            raise ValidationError(f"must not be negative, got {quantity!r}", join(path, name))
        out[name] = amount
    return out
