"""NodeUnschedulable: spec/kube-scheduler.md §3.2 (filter).

The plugin is fastsched/plugins/node_unschedulable.py. These cases check the plain reference
scheduler (tests/_reference.py); tests/test_scheduler.py runs their tables through
the kernels. Case labels (such as LA-02) are those of the spec; where the spec only
states a rule, the example is built here and computed by hand in a comment.
"""

import _reference as ref
import pytest
from _helpers import filter_cluster

from fastsched import Pod
from fastsched.profile.profile import Profile

UNSCHEDULABLE_FILTER_CASES = [
    # §3.2 NodeUnschedulable.
    ("unschedulable", {"unschedulable": True}, {}, ("node(s) were unschedulable",)),
    ("unschedulable tolerated", {"unschedulable": True},
     {"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                       "effect": "NoSchedule"}]}, ()),
    ("unschedulable wildcard", {"unschedulable": True},
     {"tolerations": [{"operator": "Exists"}]}, ()),
    ("unschedulable NoExecute only", {"unschedulable": True},
     {"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                       "effect": "NoExecute"}]}, ("node(s) were unschedulable",)),
]


@pytest.mark.parametrize("node_kw, pod_kw, expected", [c[1:] for c in UNSCHEDULABLE_FILTER_CASES],
                         ids=[c[0] for c in UNSCHEDULABLE_FILTER_CASES])
def test_node_unschedulable_filter(node_kw, pod_kw, expected):
    # The filter tables' cluster: n1 runs a pod holding 10.0.0.1 TCP 80 (_helpers).
    c = filter_cluster(node_kw)
    assert ref.filter_node(c, Pod("p", **pod_kw), "n1", Profile()) == expected
