"""The label vocabulary that encodes node labels as integer columns, and label
matching vectorized over those columns (tested equal to the ``matches`` methods
of ``fastsched.model.labels``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .._validation import FrozenMap
from ..model.labels import (
    LabelSelectorRequirement,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    parse_int64_label,
)

__all__ = ["LabelTable", "requirement_mask", "term_mask", "selector_mask"]


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


def requirement_mask(req: NodeSelectorRequirement | LabelSelectorRequirement, table: LabelTable,
                     codes: np.ndarray) -> np.ndarray:
    """``bool[nodes]``: where ``req`` holds, from the ``int32[nodes, keys]`` label codes.

    The work is per distinct label value, never per node. A node selector
    requirement upstream cannot parse matches nothing (its term fails); label selector
    requirements (also matched here) are refused at construction instead.
    """
    if getattr(req, "parse_error", ""):
        return np.zeros(codes.shape[0], np.bool_)
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
