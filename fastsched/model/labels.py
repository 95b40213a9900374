"""Labels: selectors and requirements, with their matching rules.

Matching follows Kubernetes (spec §3.5): In needs the key with a listed value;
NotIn and DoesNotExist also match when the key is absent; Gt/Lt need the key and
a value that parses as a decimal int64. The ``matches`` methods are the plain
reference the compiled kernels are tested against.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._validation import (
    EMPTY,
    check_choice,
    check_label_key,
    check_label_value,
    check_str,
    coerce,
    coerce_list,
    join,
    label_map,
    set_field,
)
from ..errors import ValidationError

__all__ = ["LabelSelectorRequirement", "LabelSelector", "NodeSelectorRequirement",
           "NodeSelectorTerm", "parse_int64_label", "parse_label_selector"]

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
    """What the API server's validation rejects: value counts per operator."""
    if op in ("In", "NotIn") and not values:
        raise ValidationError(f"must be non-empty when operator is {op}", join(path, "values"))
    if op in ("Exists", "DoesNotExist") and values:
        raise ValidationError(f"must be empty when operator is {op}", join(path, "values"))
    if op in ("Gt", "Lt") and len(values) != 1:
        raise ValidationError(f"must be a single integer when operator is {op}",
                              join(path, "values"))


def _parse_error(op: str, values: tuple[str, ...]) -> str:
    """Why ``labels.NewRequirement`` would refuse these values ("" when it accepts them):
    each must be a valid label value, and a Gt/Lt value must parse as an int64. The API
    server admits such a pod; the scheduler's node selector then fails the whole term."""
    for value in values:
        try:
            check_label_value(value, "values")
        except ValidationError:
            return f"invalid label value {value!r}"
    if op in ("Gt", "Lt") and parse_int64_label(values[0]) is None:
        return f"for 'Gt', 'Lt' operators, the value must be an integer, got {values[0]!r}"
    return ""


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

    @property
    def parse_error(self) -> str:
        """Why upstream cannot parse this label requirement ("" when it can): a value
        that is not a valid label value, or a Gt/Lt value that is not an int64. A term
        holding such a requirement matches no node (``NodeSelectorTerm.matches``)."""
        found = self.__dict__.get("_parse_error")
        if found is None:
            found = self.__dict__["_parse_error"] = _parse_error(self.operator, self.values)
        return found

    def matches(self, labels: Mapping[str, str]) -> bool:
        # An unparsable requirement fails its term: False here ANDs to exactly that.
        if self.parse_error:
            return False
        return _set_match(self.operator, self.values, labels, self.key)


def _field_requirement(value: Any, path: str) -> NodeSelectorRequirement:
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

    A term with neither expressions nor fields matches no node, nor does a term
    with an expression upstream cannot parse (``parse_error``: an invalid label
    value, a non-integer Gt/Lt value), as ``nodeaffinity.LazyErrorNodeSelector``
    fails such a term.
    """

    match_expressions: tuple[NodeSelectorRequirement, ...] = ()
    match_fields: tuple[NodeSelectorRequirement, ...] = ()

    def __post_init__(self) -> None:
        set_field(self, "match_expressions", coerce_list(
            NodeSelectorRequirement, self.match_expressions, "matchExpressions"))
        set_field(self, "match_fields", coerce_list(
            NodeSelectorRequirement, self.match_fields, "matchFields",
            convert=_field_requirement))

    @property
    def parse_error(self) -> str:
        """The first of its expressions' parse errors ("" when there is none)."""
        return next((r.parse_error for r in self.match_expressions if r.parse_error), "")

    def matches(self, labels: Mapping[str, str], node_name: str) -> bool:
        if not self.match_expressions and not self.match_fields:
            return False
        name = {"metadata.name": node_name}
        return (all(r.matches(labels) for r in self.match_expressions)
                and all(r.matches(name) for r in self.match_fields))


# kubectl's selector syntax: key=value, key==value, key!=value, key in (a,b),
# key notin (a,b), key, !key; requirements joined by commas.
_SELECTOR_TERM = re.compile(
    r"\s*(?:(?P<not>!)\s*(?P<absent>[^\s,=!()]+)"
    r"|(?P<key>[^\s,=!()]+)\s*(?:(?P<op>==|=|!=)\s*(?P<value>[^\s,=!()]*)"
    r"|\s+(?P<set>in|notin)\s*\((?P<values>[^()]*)\))?)\s*(?:,|$)")


def parse_label_selector(text: str, field: str = "selector") -> LabelSelector:
    """A label selector written as kubectl's ``-l`` takes it
    (``zone=b,tier!=db,app in (web,api),gpu,!spot``); ``field`` names the argument in
    the error a malformed selector raises."""
    text = check_str(text, field).strip()
    if not text:
        raise ValidationError("empty selector", field)
    labels: dict[str, str] = {}
    exprs: list[LabelSelectorRequirement] = []
    pos = 0
    try:
        while pos < len(text):
            m = _SELECTOR_TERM.match(text, pos)
            if m is None or m.end() == pos:
                raise ValidationError(f"cannot parse selector {text!r} at {text[pos:]!r}",
                                      field)
            pos = m.end()
            if m["absent"]:
                exprs.append(LabelSelectorRequirement(m["absent"], "DoesNotExist"))
            elif m["op"] in ("=", "=="):
                check_label_key(m["key"], field)
                labels[m["key"]] = check_label_value(m["value"], field)
            elif m["op"] == "!=":
                exprs.append(LabelSelectorRequirement(m["key"], "NotIn", (m["value"],)))
            elif m["set"]:
                values = tuple(v.strip() for v in m["values"].split(",") if v.strip())
                exprs.append(LabelSelectorRequirement(m["key"], "In" if m["set"] == "in"
                                                      else "NotIn", values))
            else:
                exprs.append(LabelSelectorRequirement(m["key"], "Exists"))
    except ValidationError as err:
        if err.field == field:
            raise
        raise ValidationError(f"{err.message} in selector {text!r}", field) from None
    return LabelSelector(labels, tuple(exprs))
