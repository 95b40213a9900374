"""Selector, node affinity and toleration matching (spec §3.4, §3.5)."""

import pytest

from fastsched import (
    LabelSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Taint,
    Toleration,
    ValidationError,
)
from fastsched.cluster.labeltable import LabelTable
from fastsched.model.labels import parse_int64_label

NODE = {"zone": "a", "disk": "ssd", "gen": "0206", "weird": "x1"}

REQUIREMENTS = [
    ("zone", "In", ["a", "b"], True),
    ("zone", "In", ["b"], False),
    ("missing", "In", ["a"], False),
    ("zone", "NotIn", ["b"], True),
    ("zone", "NotIn", ["a"], False),
    ("missing", "NotIn", ["a"], True),          # absent key satisfies NotIn
    ("disk", "Exists", [], True),
    ("missing", "Exists", [], False),
    ("missing", "DoesNotExist", [], True),
    ("disk", "DoesNotExist", [], False),
    ("gen", "Gt", ["0204"], True),              # leading zeros parse: 206 > 204
    ("gen", "Gt", ["206"], False),
    ("gen", "Lt", ["207"], True),
    ("gen", "Lt", ["-5"], False),
    ("weird", "Gt", ["0"], False),              # unparsable label value never matches
    ("missing", "Lt", ["10"], False),
]


@pytest.mark.parametrize("key,op,values,expected", REQUIREMENTS)
def test_node_selector_requirement(key, op, values, expected):
    assert NodeSelectorRequirement(key, op, values).matches(NODE) is expected


def test_term_semantics():
    zone_a = NodeSelectorRequirement("zone", "In", ["a"])
    ssd = NodeSelectorRequirement("disk", "In", ["ssd"])
    assert NodeSelectorTerm([zone_a, ssd]).matches(NODE, "n1")
    assert not NodeSelectorTerm([zone_a, NodeSelectorRequirement("disk", "In", ["hdd"])]).matches(
        NODE, "n1")
    assert not NodeSelectorTerm().matches(NODE, "n1")            # empty term matches nothing
    by_name = NodeSelectorTerm(match_fields=[{"key": "metadata.name", "operator": "In",
                                              "values": ["n1"]}])
    assert by_name.matches({}, "n1") and not by_name.matches({}, "n2")
    not_name = NodeSelectorTerm(match_fields=[{"key": "metadata.name", "operator": "NotIn",
                                               "values": ["n1"]}])
    assert not not_name.matches({}, "n1") and not_name.matches({}, "n2")


def test_label_selector():
    assert LabelSelector().matches({})                       # empty selector matches all
    sel = LabelSelector({"app": "web"}, [{"key": "tier", "operator": "NotIn",
                                          "values": ["db"]}])
    assert sel.matches({"app": "web"})
    assert sel.matches({"app": "web", "tier": "front"})
    assert not sel.matches({"app": "web", "tier": "db"})
    assert not sel.matches({"app": "api"})
    with pytest.raises(ValidationError, match="matchExpressions\\[0\\].operator"):
        LabelSelector(match_expressions=[{"key": "a", "operator": "Gt", "values": ["1"]}])


@pytest.mark.parametrize("text,value", [("0206", 206), ("-3", -3), ("+4", 4), ("x", None),
                                        ("1.5", None), ("", None),
                                        ("9223372036854775807", (1 << 63) - 1),
                                        ("9223372036854775808", None)])
def test_parse_int64_label(text, value):
    assert parse_int64_label(text) == value


TAINT = Taint("dedicated", "user1", "NoSchedule")

TOLERATIONS = [
    (dict(key="dedicated", value="user1"), True),                        # Equal is the default
    (dict(key="dedicated", operator="Equal", value="user2"), False),
    (dict(key="dedicated", operator="Exists"), True),
    (dict(key="dedicated", operator="Exists", effect="NoSchedule"), True),
    (dict(key="dedicated", operator="Exists", effect="NoExecute"), False),
    (dict(key="other", operator="Exists"), False),
    (dict(operator="Exists"), True),                                     # wildcard
    (dict(operator="Exists", effect="PreferNoSchedule"), False),
    (dict(key="dedicated", operator="Equal", value="user1", effect="NoSchedule"), True),
]


@pytest.mark.parametrize("toleration,expected", TOLERATIONS)
def test_toleration_rule(toleration, expected):
    assert Toleration(**toleration).tolerates(TAINT) is expected


@pytest.mark.parametrize("op,bound,taint_value,expected", [
    ("Gt", "5", "7", True), ("Gt", "7", "7", False), ("Lt", "5", "3", True),
    ("Lt", "5", "5", False), ("Gt", "1", "abc", False), ("Gt", "1", "07", False)])
def test_numeric_tolerations(op, bound, taint_value, expected):
    # With TaintTolerationComparisonOperators on; off (v1.35's default) nothing matches.
    toleration = Toleration("level", op, bound)
    assert toleration.tolerates(Taint("level", taint_value), comparison=True) is expected
    assert toleration.tolerates(Taint("level", taint_value)) is False


def test_taint_validation():
    with pytest.raises(ValidationError, match="effect"):
        Taint("a", "b", "Sometimes")
    with pytest.raises(ValidationError, match="key"):
        Taint("", "b")
    assert Taint.from_dict({"key": "a", "effect": "NoExecute",
                            "timeAdded": "2024-01-01T00:00:00Z"}) == Taint("a", "", "NoExecute")


def test_label_table_codes_are_stable():
    table = LabelTable()
    keys1, codes1 = table.encode({"zone": "a", "disk": "ssd"})
    keys2, codes2 = table.encode({"disk": "hdd", "zone": "a"})
    assert keys1 == [0, 1] and codes1 == [0, 0]
    assert keys2 == [1, 0] and codes2 == [1, 0]
    import numpy as np
    assert table.decode(np.array([0, 1], np.int32)) == {"zone": "a", "disk": "hdd"}
    assert table.decode(np.array([-1, 0], np.int32)) == {"disk": "ssd"}
