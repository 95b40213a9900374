"""Labels: selectors and requirements (with their matching rules), and the label
vocabulary that encodes node labels as integer columns.

Matching follows Kubernetes (spec §3.5): In needs the key with a listed value;
NotIn and DoesNotExist also match when the key is absent; Gt/Lt need the key and
a value that parses as a decimal int64. The ``matches`` methods are the plain
reference the compiled kernels are tested against.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._model import (EMPTY, FrozenMap, check_choice, check_label_key, check_label_value,
                     check_str, coerce_list, join, label_map, set_field)
from .errors import ValidationError

__all__ = ["LabelSelectorRequirement", "LabelSelector", "NodeSelectorRequirement",
           "NodeSelectorTerm", "LabelTable", "parse_int64_label"]

_INT_RE = re.compile(r"[+-]?[0-9]+")
_INT64 = (-(1 << 63), (1 << 63) - 1)


def parse_int64_label(value: str) -> int | None:
    """A label value as Gt/Lt read it (decimal int64, sign and leading zeros allowed)."""
    if not _INT_RE.fullmatch(value):
        return None
    number = int(value)
    return number if _INT64[0] <= number <= _INT64[1] else None


SET_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
NODE_OPERATORS = SET_OPERATORS + ("Gt", "Lt")


def _check_values(op: str, values: tuple[str, ...], path: str) -> None:
    if op in ("In", "NotIn") and not values:
        raise ValidationError(f"must be non-empty when operator is {op}", join(path, "values"))
    if op in ("Exists", "DoesNotExist") and values:
        raise ValidationError(f"must be empty when operator is {op}", join(path, "values"))
    if op in ("Gt", "Lt"):
        if len(values) != 1 or parse_int64_label(values[0]) is None:
            raise ValidationError(f"must be a single integer when operator is {op}",
                                  join(path, "values"))


def _set_match(op: str, values: tuple[str, ...], labels: Mapping[str, str], key: str) -> bool:
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    number = parse_int64_label(labels[key]) if present else None
    if number is None:
        return False
    bound = int(values[0])
    return number > bound if op == "Gt" else number < bound


@dataclass(frozen=True)
class LabelSelectorRequirement:
    """One ``matchExpressions`` entry of a label selector (In, NotIn, Exists, DoesNotExist)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        set_field(self, "key", check_label_key(self.key, "key"))
        check_choice(self.operator, "operator", SET_OPERATORS)
        set_field(self, "values", tuple(sorted(set(coerce_list(
            str, self.values, "values", convert=check_label_value)))))
        _check_values(self.operator, self.values, "")

    def matches(self, labels: Mapping[str, str]) -> bool:
        return _set_match(self.operator, self.values, labels, self.key)


@dataclass(frozen=True)
class LabelSelector:
    """A ``metav1.LabelSelector``: matchLabels and matchExpressions, all ANDed.

    An empty selector matches every object; a missing one (``None`` where a
    selector is optional) matches none.
    """

    match_labels: Mapping[str, str] = EMPTY
    match_expressions: tuple[LabelSelectorRequirement, ...] = ()

    def __post_init__(self) -> None:
        set_field(self, "match_labels", label_map(self.match_labels, "matchLabels"))
        set_field(self, "match_expressions", coerce_list(
            LabelSelectorRequirement, self.match_expressions, "matchExpressions"))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return (all(labels.get(k) == v for k, v in self.match_labels.items())
                and all(r.matches(labels) for r in self.match_expressions))


@dataclass(frozen=True)
class NodeSelectorRequirement:
    """A node affinity requirement on a label (or, in matchFields, on ``metadata.name``)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        set_field(self, "key", check_label_key(self.key, "key"))
        check_choice(self.operator, "operator", NODE_OPERATORS)
        set_field(self, "values", tuple(coerce_list(str, self.values, "values",
                                                    convert=check_str)))
        _check_values(self.operator, self.values, "")

    def matches(self, labels: Mapping[str, str]) -> bool:
        return _set_match(self.operator, self.values, labels, self.key)


def _field_requirement(value: Any, path: str) -> NodeSelectorRequirement:
    from ._model import coerce
    req = coerce(NodeSelectorRequirement, value, path)
    if req.key != "metadata.name":
        raise ValidationError(f"unsupported field {req.key!r}: only metadata.name",
                              join(path, "key"))
    if req.operator not in ("In", "NotIn") or len(req.values) != 1:
        raise ValidationError("metadata.name takes In or NotIn with exactly one value",
                              join(path, "values"))
    return req


@dataclass(frozen=True)
class NodeSelectorTerm:
    """A node selector term: all its expressions and fields must hold.

    A term with neither expressions nor fields matches no node.
    """

    match_expressions: tuple[NodeSelectorRequirement, ...] = ()
    match_fields: tuple[NodeSelectorRequirement, ...] = ()

    def __post_init__(self) -> None:
        set_field(self, "match_expressions", coerce_list(
            NodeSelectorRequirement, self.match_expressions, "matchExpressions"))
        set_field(self, "match_fields", coerce_list(
            NodeSelectorRequirement, self.match_fields, "matchFields",
            convert=_field_requirement))

    def matches(self, labels: Mapping[str, str], node_name: str) -> bool:
        if not self.match_expressions and not self.match_fields:
            return False
        name = {"metadata.name": node_name}
        return (all(r.matches(labels) for r in self.match_expressions)
                and all(r.matches(name) for r in self.match_fields))


@dataclass
class LabelTable:
    """Vocabulary of label keys and, per key, of values: labels as integer codes.

    Node labels are stored as a ``int32[nodes, keys]`` matrix of value codes with
    -1 for an absent key. The vocabulary only grows, so codes stay valid.
    """

    keys: list[str] = field(default_factory=list)
    key_index: dict[str, int] = field(default_factory=dict)
    values: list[list[str]] = field(default_factory=list)
    value_index: list[dict[str, int]] = field(default_factory=list)

    def key_code(self, key: str) -> int:
        code = self.key_index.get(key)
        if code is None:
            code = self.key_index[key] = len(self.keys)
            self.keys.append(key)
            self.values.append([])
            self.value_index.append({})
        return code

    def value_code(self, key_code: int, value: str) -> int:
        index = self.value_index[key_code]
        code = index.get(value)
        if code is None:
            code = index[value] = len(index)
            self.values[key_code].append(value)
        return code

    def encode(self, labels: Mapping[str, str]) -> tuple[list[int], list[int]]:
        """Key codes and value codes of ``labels``, adding unseen ones."""
        keys, values = [], []
        for key, value in labels.items():
            k = self.key_code(key)
            keys.append(k)
            values.append(self.value_code(k, value))
        return keys, values

    def decode(self, row: np.ndarray) -> FrozenMap:
        """The labels of one row of codes."""
        return FrozenMap((self.keys[k], self.values[k][int(v)])
                         for k, v in enumerate(row[: len(self.keys)]) if v >= 0)


# -- vectorized matching over label codes ---------------------------------------------

def _value_table(table: LabelTable, key_code: int, predicate) -> np.ndarray:
    """bool[values + 1]: entry 0 for an absent key (code -1), then one per value code."""
    out = np.zeros(len(table.values[key_code]) + 1, np.bool_)
    for code, value in enumerate(table.values[key_code]):
        out[code + 1] = predicate(value)
    return out


def requirement_mask(req: NodeSelectorRequirement, table: LabelTable,
                     codes: np.ndarray) -> np.ndarray:
    """``bool[nodes]``: where ``req`` holds, from the ``int32[nodes, keys]`` label codes.

    The work is per distinct label value, never per node.
    """
    key = table.key_index.get(req.key)
    if key is None or key >= codes.shape[1]:
        absent = req.operator in ("NotIn", "DoesNotExist")
        return np.full(codes.shape[0], absent, np.bool_)
    column = codes[:, key]
    op = req.operator
    if op == "Exists":
        return column >= 0
    if op == "DoesNotExist":
        return column < 0
    if op in ("In", "NotIn"):
        wanted = set(req.values)
        lookup = _value_table(table, key, wanted.__contains__)
        if op == "NotIn":
            lookup = ~lookup       # absent keys (entry 0) match NotIn
        return lookup[column + 1]
    bound = int(req.values[0])
    if op == "Gt":
        def test(v: str) -> bool:
            number = parse_int64_label(v)
            return number is not None and number > bound
    else:
        def test(v: str) -> bool:
            number = parse_int64_label(v)
            return number is not None and number < bound
    return _value_table(table, key, test)[column + 1]


def term_mask(term: NodeSelectorTerm, table: LabelTable, codes: np.ndarray,
              rows: Mapping[str, int]) -> np.ndarray:
    """``bool[nodes]``: nodes matching a node selector term (``rows``: name → row)."""
    n = codes.shape[0]
    if not term.match_expressions and not term.match_fields:
        return np.zeros(n, np.bool_)
    mask = np.ones(n, np.bool_)
    for req in term.match_expressions:
        mask &= requirement_mask(req, table, codes)
    for req in term.match_fields:
        named = np.zeros(n, np.bool_)
        row = rows.get(req.values[0])
        if row is not None:
            named[row] = True
        mask &= named if req.operator == "In" else ~named
    return mask


def selector_mask(selector: Mapping[str, str], table: LabelTable,
                  codes: np.ndarray) -> np.ndarray:
    """``bool[nodes]``: nodes carrying every ``key: value`` of a nodeSelector."""
    mask = np.ones(codes.shape[0], np.bool_)
    for key, value in selector.items():
        mask &= requirement_mask(NodeSelectorRequirement(key, "In", (value,)), table, codes)
    return mask
