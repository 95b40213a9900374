"""``fastsched solve``'s report: nodes in use exclude control-plane and cordoned
nodes, the unplaced pods come with kube-scheduler's reasons, and the online
scheduler's answer stands beside the solver's (hand-reasoned small cases)."""

from __future__ import annotations

import io
import json

import numpy as np

from fastsched import Cluster, Pod
from fastsched.cli import build_parser
from fastsched.cli.solve import cmd_solve, online_answer
from fastsched.solver.batch import solve_batch
from fastsched.solver.batch.problem import uncounted_nodes

MANIFESTS = """\
apiVersion: v1
kind: Node
metadata:
  name: cp-1
  labels: {node-role.kubernetes.io/control-plane: ""}
spec:
  taints: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]
status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: old-1}
spec: {unschedulable: true}
status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: w-1}
status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: w-2}
status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
---
apiVersion: v1
kind: Pod
metadata: {name: etcd, namespace: kube-system}
spec:
  nodeName: cp-1
  containers: [{name: c, resources: {requests: {cpu: "1"}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: legacy}
spec:
  nodeName: old-1
  containers: [{name: c, resources: {requests: {cpu: "1"}}}]
"""


def _pods(*cpus: str) -> str:
    return "".join(f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n"
                   f"  containers: [{{name: c, resources: {{requests: {{cpu: '{cpu}'}}}}}}]\n"
                   for i, cpu in enumerate(cpus))


def _run(tmp_path, text: str, *argv: str) -> tuple[int, str]:
    path = tmp_path / "all.yaml"
    path.write_text(text)
    args = build_parser().parse_args(["solve", str(path), "-q", "--time-limit", "5", *argv])
    out = io.StringIO()
    code = cmd_solve(args, out=out, err=io.StringIO())
    return code, out.getvalue()


def test_control_plane_and_cordoned_nodes_are_not_counted(tmp_path):
    code, text = _run(tmp_path, MANIFESTS + _pods("1", "1", "1"), "-o", "json")
    report = json.loads(text)
    assert code == 0
    # cp-1 and old-1 run pods, but neither counts; three 1-cpu pods fit on one worker
    assert report["summary"] == {"pending": 3, "placed": 3, "unplaced": 0,
                                 "nodesBefore": 0, "nodesAfter": 1}
    assert report["objectiveValue"] == 1 and report["bound"] == 1
    assert {p["node"] for p in report["placements"]} <= {"w-1", "w-2"}
    # kube-scheduler's default profile spreads them (LeastAllocated): two workers
    assert report["online"]["placed"] == 3 and report["online"]["nodesAfter"] == 2
    assert report["unplacedReasons"] == []


def test_unplaced_pods_are_listed_with_their_reasons(tmp_path):
    code, text = _run(tmp_path, MANIFESTS + _pods("3", "3", "3", "8"))
    assert code == 3
    # 8 cpus fit no node; two 3-cpu pods take both workers and the third has no room
    assert "placed          2 of 4" in text
    assert "Unplaced pods:" in text
    # the third 3-cpu pod and the 8-cpu one: the same reason, on the cluster as planned
    assert ("2 pods (default/p2, default/p3): 0/4 nodes are available: 1 node(s) had "
            "untolerated taint(s), 1 node(s) were unschedulable, 2 Insufficient cpu.") in text
    assert "online          kube-scheduler's default profile, pod by pod: 2 placed" in text
    code, text = _run(tmp_path, MANIFESTS + _pods("3", "3", "3", "8"), "-o", "json")
    reasons = json.loads(text)["unplacedReasons"]
    assert [r["pod"] for r in reasons] == ["default/p2", "default/p3"]
    assert all(r["reason"].startswith("0/4 nodes are available:") for r in reasons)


def test_uncounted_nodes_and_the_offset_in_solve_batch():
    cluster = Cluster()
    cluster.add_node("cp", {"cpu": "4"}, labels={"node-role.kubernetes.io/master": "true"})
    cluster.add_node("cordoned", {"cpu": "4"}, unschedulable=True)
    cluster.add_node("w", {"cpu": "4"})
    assert uncounted_nodes(cluster).tolist() == [True, True, False]
    # The master node is untainted here: pods may use it for free (it is there anyway).
    pods = [Pod(name=f"p{i}", requests={"cpu": "2"}) for i in range(2)]
    result = solve_batch(cluster, pods, objective="min_nodes", time_limit=5)
    assert result.placed == 2 and result.nodes_before == 0 and result.nodes_after == 0
    assert set(result.nodes) == {"cp"}
    # more than the master holds: one worker opens
    pods = [Pod(name=f"q{i}", requests={"cpu": "2"}) for i in range(4)]
    result = solve_batch(cluster, pods, objective="min_nodes", time_limit=5)
    assert result.placed == 4 and result.nodes_after == 1 and result.best_bound == 1
    online = online_answer(cluster, pods)
    assert online["placed"] == 4 and online["nodesAfter"] == 1
    assert np.asarray(cluster.pod_counts).sum() == 0          # the copy took the pods
