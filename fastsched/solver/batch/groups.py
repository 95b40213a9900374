"""Groups of pods passed to ``solve_batch``: ``Gang``, ``AntiAffinity``, ``Spread``,
and how their arguments are read (a group, a list, a mapping, dicts or tuples).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..._validation import check_int, check_label_key, check_str, from_k8s
from ...cluster.cluster import HOSTNAME_LABEL
from ...errors import ValidationError
from ...model.labels import LabelSelector
from ...model.pod import Pod


def _members(value: Any, path: str) -> LabelSelector | tuple[Pod | str, ...]:
    """A group's pods: a label selector, or a tuple of Pods and pod keys."""
    if isinstance(value, LabelSelector):
        return value
    if isinstance(value, Mapping):
        try:
            return from_k8s(LabelSelector, value)
        except ValidationError as err:
            raise err.prefixed(path) from None
    if isinstance(value, (str, bytes, Pod)) or not isinstance(value, Iterable):
        raise ValidationError("expected a list of pods or 'namespace/name' keys, or a label "
                              f"selector, got {type(value).__name__}", path)
    out: list[Pod | str] = []
    for i, ref in enumerate(value):
        if isinstance(ref, Pod):
            out.append(ref)
        elif isinstance(ref, str) and ref:
            out.append(ref if "/" in ref else f"default/{ref}")
        else:
            raise ValidationError(f"expected a Pod or a 'namespace/name' key, got {ref!r}",
                                  f"{path}[{i}]")
    return tuple(out)


@dataclass(frozen=True)
class Gang:
    """All or none: either no pod of ``pods`` is placed, or at least ``min_member``
    of them (every one when ``min_member`` is None)."""

    pods: Any
    min_member: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pods", _members(self.pods, "pods"))
        object.__setattr__(self, "min_member",
                           check_int(self.min_member, "min_member", lo=1, allow_none=True))
        object.__setattr__(self, "name", check_str(self.name, "name"))


@dataclass(frozen=True)
class AntiAffinity:
    """At most ``max_per_domain`` pods of ``pods`` per value of ``topology_key``
    (per node with the default ``kubernetes.io/hostname``)."""

    pods: Any
    max_per_domain: int = 1
    topology_key: str = HOSTNAME_LABEL
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pods", _members(self.pods, "pods"))
        object.__setattr__(self, "max_per_domain",
                           check_int(self.max_per_domain, "max_per_domain", lo=1))
        object.__setattr__(self, "topology_key",
                           check_label_key(self.topology_key, "topology_key"))
        object.__setattr__(self, "name", check_str(self.name, "name"))


@dataclass(frozen=True)
class Spread:
    """The pods of ``pods`` per value of ``topology_key`` differ by at most
    ``max_skew`` between any two domains (final counts, running pods included when
    the group is a selector)."""

    pods: Any
    topology_key: str
    max_skew: int = 1
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pods", _members(self.pods, "pods"))
        object.__setattr__(self, "topology_key",
                           check_label_key(self.topology_key, "topology_key"))
        object.__setattr__(self, "max_skew", check_int(self.max_skew, "max_skew", lo=1))
        object.__setattr__(self, "name", check_str(self.name, "name"))


def _group_list(value: Any, cls: type, path: str) -> list[tuple[str, Any]]:
    """``(path, group)`` pairs from None, one group, a list of groups, or a mapping of
    name to group; a group is a ``cls``, a dict of its fields or a tuple of them."""
    if value is None:
        return []

    def one(item: Any, where: str, name: str = "") -> Any:
        try:
            if isinstance(item, cls):
                return item
            if isinstance(item, Mapping):
                data = dict(item)
                if name:
                    data.setdefault("name", name)
                return from_k8s(cls, data)
            if isinstance(item, tuple):
                return cls(*item, **({"name": name} if name else {}))
        except ValidationError as err:
            raise err.prefixed(where) from None
        except TypeError as err:
            raise ValidationError(str(err), where) from None
        raise ValidationError(f"expected a {cls.__name__}, a mapping or a tuple, got "
                              f"{type(item).__name__}", where)

    if isinstance(value, cls) or (isinstance(value, Mapping) and "pods" in value):
        return [(f"{path}[0]", one(value, f"{path}[0]"))]
    if isinstance(value, Mapping):
        return [(f"{path}[{key}]", one(item, f"{path}[{key}]", str(key)))
                for key, item in value.items()]
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(f"expected a list of {cls.__name__}, got "
                              f"{type(value).__name__}", path)
    return [(f"{path}[{i}]", one(item, f"{path}[{i}]")) for i, item in enumerate(value)]
