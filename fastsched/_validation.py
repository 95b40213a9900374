"""Plumbing shared by the value types: an immutable mapping, and coercion of
Kubernetes-shaped dicts (camelCase keys) into frozen dataclasses with error paths.

Every value type is a frozen dataclass whose ``__post_init__`` checks and
normalizes its own fields (so ``Toleration(operator="Exists")`` and
``Toleration.coerce({"operator": "Exists"})`` give equal objects); nested values
are coerced with ``coerce_*`` helpers that prefix errors with their position.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from .errors import ValidationError

T = TypeVar("T")


class FrozenMap(Mapping[str, Any]):
    """A small immutable, hashable mapping (labels, selectors, requests)."""

    __slots__ = ("_d", "_h")

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        self._d = dict(items)
        self._h: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    # Delegate to the dict: the Mapping mixins go through __getitem__ and are slow.
    def __contains__(self, key: object) -> bool:
        return key in self._d

    def get(self, key: str, default: Any = None) -> Any:
        return self._d.get(key, default)

    def items(self):
        return self._d.items()

    def keys(self):
        return self._d.keys()

    def values(self):
        return self._d.values()

    def __hash__(self) -> int:
        if self._h is None:
            self._h = hash(frozenset(self._d.items()))
        return self._h

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._d == other._d
        return isinstance(other, Mapping) and self._d == dict(other)

    def __repr__(self) -> str:
        return f"{self._d!r}"


EMPTY = FrozenMap()


def set_field(obj: object, name: str, value: Any) -> None:
    """Assign to a frozen dataclass field during ``__post_init__``."""
    object.__setattr__(obj, name, value)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def rebase(err: ValidationError, path: str) -> ValidationError:
    return err.prefixed(path)


def from_k8s(cls: type[T], data: Mapping[str, Any], *, strict: bool = True,
             renames: Mapping[str, str] | None = None) -> T:
    """Build dataclass ``cls`` from a dict with camelCase (or snake_case) keys.

    Unknown keys are an error when ``strict``; ``renames`` maps extra API names to
    field names. Field validation happens in ``cls.__post_init__``.
    """
    names = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    lookup = {camel(n): n for n in names} | {n: n for n in names} | dict(renames or {})
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        target = lookup.get(key)
        if target is None:
            if strict:
                raise ValidationError(
                    f"unknown field (expected one of {', '.join(sorted(camel(n) for n in names))})",
                    str(key))
            continue
        kwargs[target] = value
    return cls(**kwargs)


def coerce(cls: type[T], value: Any, path: str, *, strict: bool = True) -> T:
    """``value`` as a ``cls``: instances pass through, mappings are converted."""
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        try:
            build = getattr(cls, "from_dict", None)
            return build(value) if build else from_k8s(cls, value, strict=strict)
        except ValidationError as err:
            raise err.prefixed(path) from None
        except TypeError as err:  # a required field is missing
            raise ValidationError(str(err).split(") ", 1)[-1], path) from None
    raise ValidationError(
        f"expected a {cls.__name__} or a mapping, got {type(value).__name__}", path)


def coerce_list(cls: type[T], values: Any, path: str, *, strict: bool = True,
                convert: Callable[[Any, str], T] | None = None) -> tuple[T, ...]:
    """A tuple of ``cls`` from None or any iterable that is not a str/mapping."""
    if values is None:
        return ()
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise ValidationError(f"expected a list, got {type(values).__name__}", path)
    one = convert or (lambda v, p: coerce(cls, v, p, strict=strict))
    return tuple(one(v, join(path, i)) for i, v in enumerate(values))


def check_str(value: Any, path: str, *, allow_empty: bool = True) -> str:
    if value is None and allow_empty:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"expected a string, got {type(value).__name__}", path)
    if not allow_empty and not value:
        raise ValidationError("must not be empty", path)
    return value


def check_int(value: Any, path: str, *, lo: int | None = None, hi: int | None = None,
              allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np
            if isinstance(value, np.integer):
                value = int(value)
        except ImportError:  # pragma: no cover
            pass
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"expected an integer, got {value!r}", path)
    if lo is not None and value < lo:
        raise ValidationError(f"must be >= {lo}, got {value}", path)
    if hi is not None and value > hi:
        raise ValidationError(f"must be <= {hi}, got {value}", path)
    return value


def check_choice(value: Any, path: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValidationError(
            f"must be one of {', '.join(repr(c) for c in choices)}, got {value!r}", path)
    return value


def str_tuple(values: Any, path: str) -> tuple[str, ...]:
    return coerce_list(str, values, path, convert=lambda v, p: check_str(v, p))


# Label keys are an optional DNS-subdomain prefix and a name of up to 63
# characters; label values are empty or a name of up to 63 characters.
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_KEY_RE = re.compile(rf"({_PREFIX}/)?{_NAME}")
_VALUE_RE = re.compile(rf"({_NAME})?")


# Keys and values already found valid; nodes and replicas repeat them a lot.
_valid_keys: set[str] = set()
_valid_values: set[str] = set()
_CACHE_LIMIT = 1 << 16


def check_label_key(key: Any, path: str) -> str:
    if key in _valid_keys:
        return key
    key = check_str(key, path, allow_empty=False)
    prefix, _, name = key.rpartition("/")
    if not _KEY_RE.fullmatch(key) or len(name) > 63 or len(prefix) > 253:
        raise ValidationError(f"invalid label key {key!r}: a name of at most 63 "
                              "alphanumerics, '-', '_' or '.', optionally behind a "
                              "DNS prefix and '/'", path)
    if len(_valid_keys) < _CACHE_LIMIT:
        _valid_keys.add(key)
    return key


def check_label_value(value: Any, path: str) -> str:
    if value in _valid_values:
        return value
    value = check_str(value, path)
    if len(value) > 63 or not _VALUE_RE.fullmatch(value):
        raise ValidationError(f"invalid label value {value!r}: at most 63 alphanumerics, "
                              "'-', '_' or '.', starting and ending alphanumeric", path)
    if len(_valid_values) < _CACHE_LIMIT:
        _valid_values.add(value)
    return value


def label_map(values: Any, path: str) -> FrozenMap:
    """A validated ``{key: value}`` label map (or nodeSelector / matchLabels)."""
    if isinstance(values, FrozenMap):
        return values
    return FrozenMap(label_dict(values, path)) if values else EMPTY


def label_dict(values: Any, path: str) -> dict[str, str]:
    """``label_map`` as a plain (new) dict."""
    if values is None:
        return {}
    if not isinstance(values, (dict, Mapping)):
        raise ValidationError(f"expected a mapping of label key to value, got "
                              f"{type(values).__name__}", path)
    for key, value in values.items():
        if key not in _valid_keys:
            check_label_key(key, join(path, str(key)))
        if value not in _valid_values:
            check_label_value(value, join(path, str(key)))
    return dict(values)
