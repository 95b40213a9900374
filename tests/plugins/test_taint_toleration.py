"""TaintToleration: spec/kube-scheduler.md §3.4 (filter) and §5.2 (score).

The plugin is fastsched/plugins/taint_toleration.py. These cases check the plain reference
scheduler (tests/_reference.py); tests/test_scheduler.py runs their tables through
the kernels. Case labels (such as LA-02) are those of the spec; where the spec only
states a rule, the example is built here and computed by hand in a comment.
"""

import _reference as ref
import pytest
from _helpers import filter_cluster, make_cluster, only, soft

from fastsched import Pod, Scheduler, Taint
from fastsched.profile.profile import Profile

# -- filter (§3.4) -------------------------------------------------------------------------

def untolerated():
    return ("node(s) had untolerated taint(s)",)


TAINT_FILTER_CASES = [
    # §3.4 TaintToleration: NoSchedule and NoExecute fail, PreferNoSchedule never does.
    ("NoSchedule", {"taints": [Taint("k", "v", "NoSchedule")]}, {}, untolerated()),
    ("NoExecute", {"taints": [Taint("k", "v", "NoExecute")]}, {}, untolerated()),
    ("PreferNoSchedule", {"taints": [Taint("k", "v", "PreferNoSchedule")]}, {}, ()),
    ("Equal tolerated", {"taints": [Taint("k", "v", "NoSchedule")]},
     {"tolerations": [{"key": "k", "value": "v"}]}, ()),
    ("Equal other value", {"taints": [Taint("k", "v", "NoSchedule")]},
     {"tolerations": [{"key": "k", "value": "w"}]}, untolerated()),
    ("wrong effect", {"taints": [Taint("k", "v", "NoSchedule")]},
     {"tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute"}]},
     untolerated()),
    ("one of two tolerated", {"taints": [Taint("k", "v", "NoSchedule"),
                                         Taint("j", "", "NoExecute")]},
     {"tolerations": [{"key": "k", "operator": "Exists"}]}, untolerated()),
    # TaintTolerationComparisonOperators is alpha and off in v1.35: a Gt/Lt toleration
    # tolerates nothing (upstream component-helpers TestTolerationsTolerateTaint... and
    # v1 Toleration.ToleratesTaint: "If comparison operators are disabled, this
    # toleration doesn't match").
    ("Gt gate off", {"taints": [Taint("k", "10", "NoSchedule")]},
     {"tolerations": [{"key": "k", "operator": "Gt", "value": "5"}]}, untolerated()),
    ("Lt not tolerated", {"taints": [Taint("k", "10", "NoSchedule")]},
     {"tolerations": [{"key": "k", "operator": "Lt", "value": "5"}]}, untolerated()),
]


@pytest.mark.parametrize("node_kw, pod_kw, expected", [c[1:] for c in TAINT_FILTER_CASES],
                         ids=[c[0] for c in TAINT_FILTER_CASES])
def test_taint_toleration_filter(node_kw, pod_kw, expected):
    # The filter tables' cluster: n1 runs a pod holding 10.0.0.1 TCP 80 (_helpers).
    c = filter_cluster(node_kw)
    assert ref.filter_node(c, Pod("p", **pod_kw), "n1", Profile()) == expected


# -- Gt/Lt with TaintTolerationComparisonOperators on ---------------------------------------

GATE_ON = {"TaintTolerationComparisonOperators": True}

# Upstream staging/src/k8s.io/api/core/v1/toleration_test.go, TestTolerationToleratesTaint
# (the cases with enableTaintTolerationComparisonOperatorsFG) and TestCompareNumericValues:
# (case, operator, toleration value, taint value, tolerated with the gate on).
COMPARISON_CASES = [
    ("Gt operator - taint value less than toleration value, expect not tolerated",
     "Gt", "950", "800", False),
    ("Gt operator - taint value greater than toleration value, expect tolerated",
     "Gt", "750", "950", True),
    ("Lt operator - taint value greater than toleration value, expect not tolerated",
     "Lt", "800", "950", False),
    ("Lt operator - taint value less than toleration value, expect tolerated",
     "Lt", "950", "800", True),
    ("Gt operator and taint with equal numeric value, expect not tolerated",
     "Gt", "950", "950", False),
    ("Gt operator and taint with non-numeric value, expect not tolerated",
     "Gt", "950", "high", False),
    ("Gt operator and negative numeric values", "Gt", "-100", "-200", False),
    ("Gt operator and large int64 values", "Gt", "9223372036854775806", "100", False),
    ("Gt operator - large int64 values, taint greater, expect true",
     "Gt", "9223372036854775806", "9223372036854775807", True),
    ("Gt operator - invalid taint value (leading zero), expect false", "Gt", "100", "0200", False),
    ("Lt operator - invalid taint value (plus sign), expect false", "Lt", "100", "+200", False),
    ("Lt operator - min int64 as taint, expect true", "Lt", "0", "-9223372036854775808", True),
]


@pytest.mark.parametrize("op, bound, value, expected", [c[1:] for c in COMPARISON_CASES],
                         ids=[c[0] for c in COMPARISON_CASES])
def test_comparison_operators_with_gate_on(op, bound, value, expected):
    c = make_cluster(("n1", {"cpu": 1000}, {"taints": [Taint("node.kubernetes.io/sla", value)]}))
    pod = Pod("p", tolerations=[{"key": "node.kubernetes.io/sla", "operator": op, "value": bound,
                                 "effect": "NoSchedule"}])
    want = () if expected else untolerated()
    on, off = Profile(feature_gates=GATE_ON), Profile()
    assert ref.filter_node(c, pod, "n1", on) == want
    assert Scheduler(c, on).filter(pod).reasons("n1") == want
    assert Scheduler(c, feature_gates=GATE_ON).filter(pod).reasons("n1") == want
    # Gate off (v1.35's default): never tolerated, whatever the values.
    assert ref.filter_node(c, pod, "n1", off) == untolerated()
    assert Scheduler(c).filter(pod).reasons("n1") == untolerated()


def test_comparison_operators_score_with_gate():
    # A Gt toleration of a PreferNoSchedule taint counts only with the gate on. On: raw
    # n1 1 (100 is not > 500), n2 0 → reversed 0 / 100. Off: raw 1 / 1 → 0 / 0.
    c = make_cluster(("n1", {"cpu": 1000}, {"taints": [soft("sla", "100")]}),
                     ("n2", {"cpu": 1000}, {"taints": [soft("sla", "900")]}))
    pod = Pod("p", tolerations=[{"key": "sla", "operator": "Gt", "value": "500"}])
    nodes = ["n1", "n2"]
    on = only("TaintToleration", feature_gates=GATE_ON)
    assert ref.score_plugins(c, pod, on, nodes) == {"TaintToleration": [0, 100]}
    assert [int(v) for v in Scheduler(c, on).score(pod).plugins["TaintToleration"]] == [0, 100]
    off = only("TaintToleration")
    assert [int(v) for v in Scheduler(c, off).score(pod).plugins["TaintToleration"]] == [0, 0]


# -- score (§5.2) --------------------------------------------------------------------------

def test_taint_toleration_score():
    # Raw counts of intolerable PreferNoSchedule taints: n1 0, n2 1 (b), n3 2 (b, c) — a is
    # tolerated, the NoSchedule taint d does not count. Reverse normalize with max 2:
    # 100 − 0, 100 − 50, 100 − 100.
    c = make_cluster(
        ("n1", {"cpu": 1000}, {"taints": [soft("a"), Taint("d", "", "NoSchedule")]}),
        ("n2", {"cpu": 1000}, {"taints": [soft("b", "x")]}),
        ("n3", {"cpu": 1000}, {"taints": [soft("a"), soft("b"), soft("c")]}),
    )
    # A NoSchedule toleration for b does not count for scoring (§5.2 keeps "" and
    # PreferNoSchedule effects only).
    pod = Pod("p", tolerations=[{"key": "a", "operator": "Exists"},
                                {"key": "b", "operator": "Exists", "effect": "NoSchedule"}])
    nodes = ["n1", "n2", "n3"]
    assert [ref.taint_toleration_raw(c, pod, n) for n in nodes] == [0, 1, 2]
    assert ref.score_plugins(c, pod, only("TaintToleration"), nodes) == {
        "TaintToleration": [100, 50, 0]}
