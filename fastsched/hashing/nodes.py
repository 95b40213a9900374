"""Node sets: names and weights and their checks, shared by every algorithm,
and the base class of the choosers that need no ring (:class:`~.rendezvous.Rendezvous`,
:class:`~.maglev.Maglev`).
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._kernels import hashpick as _pick
from ..errors import DuplicateError, NodeNotFoundError, ValidationError
from .keys import _HASH, _MODES, _NORM, _one_key, _positions


def _check_name(name: Any, field: str, *, c_string: bool = False) -> str:
    if not isinstance(name, str) or not name:
        raise ValidationError(f"expected a non-empty str node name, got {name!r}", field)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"node name {name!r} cannot be encoded as UTF-8", field) from None
    if c_string and "\0" in name:
        raise ValidationError(f"node name {name!r} contains a NUL character, which "
                              "libketama's C strings cannot hold", field)
    return name


MAX_INT_WEIGHT = 2**63 - 1
"""The largest integer weight (ketama, uhashring and libketama modes): int64, more
than libketama's C weights hold in practice and more than any share needs."""

MIN_WEIGHT, MAX_WEIGHT = 1e-300, 1e300
"""The range of a fractional weight (the fast ring, Rendezvous, Maglev): inside it
``1 / w`` and the scores ``-ln(u) / w`` of weighted rendezvous stay finite and
non-zero, so every weight still orders the nodes."""


def _check_weight(weight: Any, field: str, *, integer: bool) -> int | float:
    if integer:
        if isinstance(weight, (bool, np.bool_)) or not isinstance(weight, numbers.Integral):
            raise ValidationError(f"expected a positive int weight, got {weight!r}", field)
        value: int | float = operator.index(weight)
        if not 1 <= value <= MAX_INT_WEIGHT:
            raise ValidationError(f"weight must be in [1, 2**63 - 1], got {value}", field)
        return value
    if isinstance(weight, (bool, np.bool_)) or not isinstance(weight, numbers.Real):
        raise ValidationError(f"expected a positive number as weight, got {weight!r}", field)
    if isinstance(weight, numbers.Integral) and not 0 < operator.index(weight) <= MAX_WEIGHT:
        raise ValidationError(f"weight must be a number in [1e-300, 1e300], got {weight!r}",
                              field)      # before float(): a huge int does not convert
    value = float(weight)
    if not MIN_WEIGHT <= value <= MAX_WEIGHT:   # NaN fails both comparisons
        raise ValidationError(f"weight must be a number in [1e-300, 1e300], got {weight!r}",
                              field)
    return operator.index(weight) if isinstance(weight, numbers.Integral) else value


def _check_nodes(nodes: Any, weights: Any, *, integer: bool, c_string: bool = False,
                 ) -> tuple[list[str], list[Any]]:
    """Names and weights from ``nodes`` (names, or a mapping name -> weight) and
    ``weights`` (None, a sequence aligned with the names, or a mapping)."""
    if isinstance(nodes, Mapping):
        if weights is not None:
            raise ValidationError("give weights either in nodes (a mapping of name to "
                                  "weight) or in weights, not both", "weights")
        weights = dict(nodes)
        nodes = list(nodes)
    elif isinstance(nodes, (str, bytes)) or not isinstance(nodes, Iterable):
        raise ValidationError("expected a sequence of node names or a mapping of name to "
                              f"weight, got {type(nodes).__name__}", "nodes")
    names = list(nodes)
    if not names:
        raise ValidationError("needs at least one node", "nodes")
    seen: set[str] = set()
    for i, name in enumerate(names):
        _check_name(name, f"nodes[{i}]", c_string=c_string)
        if name in seen:
            raise DuplicateError(f"duplicate node name {name!r}", f"nodes[{i}]")
        seen.add(name)
    if weights is None:
        return names, [1] * len(names)
    if isinstance(weights, Mapping):
        unknown = [k for k in weights if k not in seen]
        if unknown:
            raise ValidationError(f"weight for unknown node {unknown[0]!r}", "weights")
        return names, [_check_weight(weights.get(n, 1), f"weights[{n!r}]", integer=integer)
                       for n in names]
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Iterable):
        raise ValidationError("expected a sequence of weights or a mapping of node name to "
                              f"weight, got {type(weights).__name__}", "weights")
    weights = list(weights)
    if len(weights) != len(names):
        raise ValidationError(f"expected {len(names)} weights (one per node), got "
                              f"{len(weights)}", "weights")
    return names, [_check_weight(w, f"weights[{i}]", integer=integer)
                   for i, w in enumerate(weights)]


def _check_count(n: Any, field: str, hi: int) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise ValidationError(f"expected an int, got {n!r}", field)
    n = operator.index(n)
    if not 1 <= n <= hi:
        raise ValidationError(f"must be in [1, {hi}], got {n}", field)
    return n


def _readonly(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


def _names_of(names: Sequence[str], index: np.ndarray) -> np.ndarray:
    return np.asarray(names, dtype=object)[index]


class _Named:
    """Names and weights of a node set, with the checks every chooser shares."""

    _names: list[str]
    _weights: list[float]
    _row: dict[str, int]

    def _set_nodes(self, names: list[str], weights: list[float]) -> None:
        self._names = names
        self._weights = weights
        self._row = {name: i for i, name in enumerate(names)}

    @property
    def nodes(self) -> tuple[str, ...]:
        """Node names; lookups return indices into this order."""
        return tuple(self._names)

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(self._weights)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._row

    def _row_of(self, name: Any) -> int:
        row = self._row.get(name) if isinstance(name, str) else None
        if row is None:
            raise NodeNotFoundError(f"no node named {name!r}")
        return row

    def _set(self, names: list[str], weights: list[float]) -> None:
        """Rebuild for these nodes (validating first: a failure changes nothing)."""
        raise NotImplementedError

    def add_node(self, name: str, weight: float = 1) -> None:
        """Add a node (see the class for which keys move)."""
        name = _check_name(name, "name")
        if name in self._row:
            raise DuplicateError(f"node {name!r} is already there", "name")
        self._set(self._names + [name],
                  self._weights + [_check_weight(weight, "weight", integer=False)])

    def remove_node(self, name: str) -> None:
        """Remove a node (see the class for which keys move)."""
        row = self._row_of(name)
        if len(self._names) == 1:
            raise ValidationError("cannot remove the last node", "name")
        self._set(self._names[:row] + self._names[row + 1:],
                  self._weights[:row] + self._weights[row + 1:])

    def set_weight(self, name: str, weight: float) -> None:
        """Change a node's weight (see the class for which keys move)."""
        row = self._row_of(name)
        weights = list(self._weights)
        weights[row] = _check_weight(weight, "weight", integer=False)
        self._set(list(self._names), weights)

    def hash_keys(self, keys: Any) -> np.ndarray:
        """The keys' :func:`fast_hash` (``uint64``), what the lookups compute."""
        return _positions(keys, _MODES["fast"])[0]

    def get_node(self, key: str | bytes | int) -> str:
        """The node a key belongs to."""
        hashed: tuple[int, ...] | None = _pick.hash_key(key, _HASH["fast"], _NORM["raw"])
        if hashed is None:  # a NumPy integer, or a bad key: the general path converts or raises
            hashed = (int(_one_key(key, _MODES["fast"])[0][0]),)
        return self._names[self._lookup_one(hashed[0])]

    def _lookup_one(self, hashed: int) -> int:
        return int(self._lookup(np.array([hashed], np.uint64))[0])

    def get_nodes(self, keys: Any, *, names: bool = False) -> np.ndarray:
        """The node of every key: ``int32`` indices into :attr:`nodes` (names with
        ``names=True``). ``keys``: str/bytes/int keys, or a ``uint64`` array of
        keys already hashed (e.g. by :func:`fast_hash`)."""
        out = self._lookup(_positions(keys, _MODES["fast"])[0])
        return _names_of(self._names, out) if names else out

    def _lookup(self, hashes: np.ndarray) -> np.ndarray:
        raise NotImplementedError
