"""Builders shared by the reference tests of the node-level plugins
(tests/plugins/test_*.py), the framework tests of tests/test_reference.py and
tests/test_scheduler.py, which runs the plugins' tables through the kernels; and
``free_ports`` for the tests that start replica processes.

The topology plugins' builders (stand-in profiles, zoned clusters, constraints and
affinity terms) are in ``_topology_helpers``.
"""

import socket

import pytest

from fastsched import Cluster, NodeAffinity, Pod, Taint
from fastsched.profile.profile import FitArgs, Profile

MI = 1 << 20

# NodeResourcesFit's scoring strategies (§4.1–4.3), also used by whole runs.
LA = FitArgs()
MA = FitArgs(strategy="MostAllocated")
RISING = FitArgs(strategy="RequestedToCapacityRatio", shape=((0, 0), (100, 10)))
FALLING = FitArgs(strategy="RequestedToCapacityRatio", shape=((0, 10), (100, 0)))


def make_cluster(*nodes, pods=()):
    """``nodes``: (name, allocatable[, add_node keywords]); ``pods``: (node, Pod) bound
    with force (existing pods may overcommit)."""
    c = Cluster()
    for name, alloc, *extra in nodes:
        c.add_node(name, alloc, **(extra[0] if extra else {}))
    for node, pod in pods:
        c.bind(pod, node, force=True)
    return c


def existing(i, **kw):
    return Pod(f"existing-{i}", **kw)


def only(plugin, weight=1, **profile_kw):
    return Profile(scores=((plugin, weight),), **profile_kw)


def soft(key, value=""):
    """A PreferNoSchedule taint (TaintToleration scores count these, §5.2)."""
    return Taint(key, value, "PreferNoSchedule")


def expr(key, op, *values):
    return {"key": key, "operator": op, "values": list(values)}


def required(*terms):
    """Required node affinity: the node selector terms ``terms``."""
    return NodeAffinity(required=list(terms))


def filter_cluster(node_kw):
    """The cluster of the filter tables (§3.2–3.7): n1 (4000m cpu, 10000 memory,
    ``node_kw`` as add_node keywords) runs a pod holding host port 80 on 10.0.0.1 TCP;
    n2 (1000m cpu) is empty."""
    return make_cluster(("n1", {"cpu": 4000, "memory": 10000}, node_kw), ("n2", {"cpu": 1000}),
                        pods=[("n1", Pod("web", containers=[
                            {"ports": [{"hostPort": 80, "hostIP": "10.0.0.1"}]}]))])


def free_ports(n: int) -> list[int]:
    """n free TCP ports on 127.0.0.1 (skips the test when loopback sockets fail)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    except OSError as err:
        pytest.skip(f"cannot open loopback sockets: {err}")
    finally:
        for s in socks:
            s.close()
