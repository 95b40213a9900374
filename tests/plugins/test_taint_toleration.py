"""TaintToleration: spec/kube-scheduler.md §3.4 (filter) and §5.2 (score).

The plugin is fastsched/plugins/taint_toleration.py. These cases check the plain reference
scheduler (tests/_reference.py); tests/test_scheduler.py runs their tables through
the kernels. Case labels (such as LA-02) are those of the spec; where the spec only
states a rule, the example is built here and computed by hand in a comment.
"""

import _reference as ref
import pytest
from _helpers import filter_cluster, make_cluster, only, soft

from fastsched import Pod, Taint
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
    ("Gt tolerated", {"taints": [Taint("k", "10", "NoSchedule")]},
     {"tolerations": [{"key": "k", "operator": "Gt", "value": "5"}]}, ()),
    ("Lt not tolerated", {"taints": [Taint("k", "10", "NoSchedule")]},
     {"tolerations": [{"key": "k", "operator": "Lt", "value": "5"}]}, untolerated()),
]


@pytest.mark.parametrize("node_kw, pod_kw, expected", [c[1:] for c in TAINT_FILTER_CASES],
                         ids=[c[0] for c in TAINT_FILTER_CASES])
def test_taint_toleration_filter(node_kw, pod_kw, expected):
    # The filter tables' cluster: n1 runs a pod holding 10.0.0.1 TCP 80 (_helpers).
    c = filter_cluster(node_kw)
    assert ref.filter_node(c, Pod("p", **pod_kw), "n1", Profile()) == expected


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
