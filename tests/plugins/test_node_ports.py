"""NodePorts: spec/kube-scheduler.md §3.6 (filter).

The plugin is fastsched/plugins/node_ports.py. These cases check the plain reference
scheduler (tests/_reference.py); tests/test_scheduler.py runs their tables through
the kernels. Case labels (such as LA-02) are those of the spec; where the spec only
states a rule, the example is built here and computed by hand in a comment.
"""

import _reference as ref
import pytest
from _helpers import filter_cluster, make_cluster

from fastsched import Pod, Scheduler
from fastsched.profile.profile import Profile

PORT_FILTER_CASES = [
    # §3.6 NodePorts: the node's pod holds 10.0.0.1 TCP 80.
    ("port same ip", {}, {"containers": [{"ports": [{"hostPort": 80, "hostIP": "10.0.0.1"}]}]},
     ("node(s) didn't have free ports for the requested pod ports",)),
    ("port any ip", {}, {"containers": [{"ports": [{"hostPort": 80}]}]},
     ("node(s) didn't have free ports for the requested pod ports",)),
    ("port other ip", {}, {"containers": [{"ports": [{"hostPort": 80, "hostIP": "10.0.0.2"}]}]},
     ()),
    ("port other protocol", {}, {"containers": [{"ports": [{"hostPort": 80,
                                                            "protocol": "UDP"}]}]}, ()),
    ("port other port", {}, {"containers": [{"ports": [{"hostPort": 81}]}]}, ()),
    # upstream: TestNodePorts "non-sidecar initContainer using hostPort": an init container
    # that runs to completion holds no port while the pod runs (schedutil.GetHostPorts).
    ("port regular init container", {}, {"init_containers": [{"ports": [{"hostPort": 80}]}]},
     ()),
    # upstream: TestNodePorts "TCP hostPort conflict from sidecar initContainer".
    ("port sidecar init container", {},
     {"init_containers": [{"restartPolicy": "Always", "ports": [{"hostPort": 80}]}]},
     ("node(s) didn't have free ports for the requested pod ports",)),
]


@pytest.mark.parametrize("node_kw, pod_kw, expected", [c[1:] for c in PORT_FILTER_CASES],
                         ids=[c[0] for c in PORT_FILTER_CASES])
def test_node_ports_filter(node_kw, pod_kw, expected):
    # The filter tables' cluster: n1 runs a pod holding 10.0.0.1 TCP 80 (_helpers).
    c = filter_cluster(node_kw)
    assert ref.filter_node(c, Pod("p", **pod_kw), "n1", Profile()) == expected


def test_port_held_on_any_ip_blocks_every_ip():
    c = make_cluster(("n1", {"cpu": 1000}),
                     pods=[("n1", Pod("web", containers=[{"ports": [{"hostPort": 80}]}]))])
    pod = Pod("p", containers=[{"ports": [{"hostPort": 80, "hostIP": "10.0.0.9"}]}])
    assert ref.filter_node(c, pod, "n1", Profile()) == (
        "node(s) didn't have free ports for the requested pod ports",)


@pytest.mark.parametrize("restart_policy, blocked", [("", False), ("Always", True)])
def test_existing_pods_hold_ports_of_sidecars_only(restart_policy, blocked):
    # The node side of upstream's rule: NodeInfo.updateUsedPorts counts the same ports
    # (schedutil.GetHostPorts), so a bound pod's regular init container frees its port.
    holder = Pod("web", init_containers=[{"restartPolicy": restart_policy,
                                          "ports": [{"hostPort": 8001}]}],
                 containers=[{}])
    c = make_cluster(("n1", {"cpu": 1000}), pods=[("n1", holder)])
    pod = Pod("p", containers=[{"ports": [{"hostPort": 8001}]}])
    expected = ("node(s) didn't have free ports for the requested pod ports",) if blocked else ()
    assert ref.filter_node(c, pod, "n1", Profile()) == expected
    assert Scheduler(c, Profile()).filter(pod).reasons("n1") == expected
